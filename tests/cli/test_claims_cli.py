"""`edi claims build`, `edi init`: encounters in every format to 837 files, checked, recorded, validated."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from edi.x837.reader import read_837
from mappings import build_claims, load_config, read_encounters

runner = CliRunner(env={"COLUMNS": "200"})
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CONFIG = str(SAMPLES / "edi.toml")


def build(tmp_path: Path, *inputs: str, extra: tuple[str, ...] = ()):
    return runner.invoke(app, ["claims", "build", *inputs, "--config", CONFIG, "--out", str(tmp_path / "out"),
                               "--db", f"sqlite:///{tmp_path / 'edi.db'}", "--json", *extra])


def test_sample_encounters_build_files_pyx12_accepts(tmp_path):
    result = build(tmp_path, str(SAMPLES / "encounters" / "encounters.json"), extra=("--validate", "deep"))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["encounters"] == 8 and doc["claims_written"] == 8 and doc["skipped"] == {}
    assert sorted(Path(f["path"]).name for f in doc["files"]) == ["synthhub-000000001.837",
                                                                  "testbridge-000000001.837"]
    assert [v["errors"] for v in doc["validation"]] == [0, 0]


@pytest.mark.parametrize("name", ["encounters.ndjson", "encounters.csv", "fhir-bundle.json"])
def test_every_source_format_builds_the_same_claims(tmp_path, name):
    result = build(tmp_path, str(SAMPLES / "encounters" / name))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["claims_written"] == 8


def test_worker_processes_write_the_same_claims(tmp_path):
    """`--jobs 2` (NDJSON checked and mapped by two worker processes) writes the claims one process writes."""
    claims = {}
    for jobs in ("1", "2"):
        (tmp_path / jobs).mkdir()
        result = build(tmp_path / jobs, str(SAMPLES / "encounters" / "encounters.ndjson"), extra=("--jobs", jobs))
        assert result.exit_code == 0, result.output
        files = sorted(f["path"] for f in json.loads(result.stdout)["files"])
        claims[jobs] = [ln for f in files for ln in Path(f).read_text().splitlines()
                        if not ln.startswith(("ISA*", "GS*", "BHT*"))]  # those carry the clock
    assert sum(ln.startswith("CLM*") for ln in claims["1"]) == 8
    assert claims["1"] == claims["2"]


def test_round_trip_the_built_files_read_back_to_the_mapped_claims(tmp_path):
    result = build(tmp_path, str(SAMPLES / "encounters" / "encounters.json"))
    assert result.exit_code == 0
    mapped, problems = build_claims(read_encounters(str(SAMPLES / "encounters" / "encounters.json")),
                                    load_config(CONFIG), today=date.today())
    read = {c.patient_control_number: c for f in json.loads(result.stdout)["files"] for c in read_837(f["path"])}
    assert set(read) == {c.patient_control_number for c in mapped}
    for c in mapped:
        r = read[c.patient_control_number]
        assert (r.total_charge, r.frequency, r.payer.payer_id, r.billing_provider.npi) == (
            c.total_charge, c.frequency, c.payer.payer_id, c.billing_provider.npi)
        # an 837I carries each kind of diagnosis in its own HI (principal, admitting, reasons, others)
        assert sorted((d.qualifier, d.code) for d in r.diagnoses) == sorted((d.qualifier, d.code)
                                                                           for d in c.diagnoses)
        assert (r.subscriber.member_id, r.patient) == (c.subscriber.member_id, c.patient)
        assert [(ln.procedure, ln.revenue_code, ln.modifiers, ln.charge, ln.line_control_number) for ln in r.lines] \
            == [(ln.procedure, ln.revenue_code, ln.modifiers, ln.charge, ln.line_control_number) for ln in c.lines]


def _bad_batch(tmp_path: Path) -> str:
    data = json.loads((SAMPLES / "encounters" / "encounters.json").read_text())
    data[0]["subscriber"]["last_name"] = "O*BRIEN~"  # a delimiter must never reach a file
    data[1]["diagnoses"] = ["Z99.999"]  # not an ICD-10-CM code
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_bad_encounters_are_skipped_and_the_others_written(tmp_path):
    result = build(tmp_path, _bad_batch(tmp_path))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["claims_written"] == 6 and sorted(doc["skipped"]) == ["ENC-P-0001", "ENC-P-0002"]
    codes = {p["code"] for p in doc["problems"] if p["severity"] == "error"}
    assert {"encounter.delimiter", "encounter.icd10.unknown"} <= codes
    for f in doc["files"]:
        assert b"O*BRIEN" not in Path(f["path"]).read_bytes()


def test_strict_writes_nothing(tmp_path):
    result = build(tmp_path, _bad_batch(tmp_path), extra=("--strict",))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["files"] == []
    assert not list((tmp_path / "out").glob("*.837"))


def test_control_numbers_never_repeat_across_runs_and_billed_ids_are_refused(tmp_path):
    first = json.loads(build(tmp_path, str(SAMPLES / "encounters" / "encounters.json")).stdout)
    data = json.loads((SAMPLES / "encounters" / "encounters.json").read_text())
    for i, e in enumerate(data):
        e["id"] = f"RUN2-{i}"
        e.pop("payer_claim_number", None)
        e["frequency"] = "1"
    second_input = tmp_path / "second.json"
    second_input.write_text(json.dumps(data))
    second = json.loads(build(tmp_path, str(second_input)).stdout)
    assert {f["interchange"] for f in first["files"]} == {"000000001"}
    assert {f["interchange"] for f in second["files"]} == {"000000002"}
    again = json.loads(build(tmp_path, str(second_input)).stdout)
    assert again["claims_written"] == 0
    assert {p["code"] for p in again["problems"]} >= {"encounter.id.billed"}


def test_init_writes_a_starter_configuration_that_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert load_config(tmp_path / "edi.toml").submitter.name
    assert runner.invoke(app, ["init"]).exit_code == 2  # never overwrites without --force


def test_missing_configuration_is_a_clear_usage_error(tmp_path):
    result = runner.invoke(app, ["claims", "build", str(SAMPLES / "encounters" / "encounters.json"),
                                 "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "edi init" in result.stderr


def test_brackets_in_data_file_names_and_messages_print_as_they_are(tmp_path):
    """Nothing printed is read as rich markup: a "[/x]" in an encounter or a file name once crashed the command
    after its files were written, and "[submitter]" vanished from a configuration error."""
    data = json.loads((SAMPLES / "encounters" / "encounters.json").read_text())
    data[0]["frequency"] = "[/x]"
    source = tmp_path / "[bold]visits.json"
    source.write_text(json.dumps(data))
    result = runner.invoke(app, ["claims", "build", str(source), "--config", CONFIG, "--out", str(tmp_path / "out"),
                                 "--db", f"sqlite:///{tmp_path / 'edi.db'}"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit | None)
    assert "8 encounters: 7 claims written, 1 skipped" in result.stdout
    assert 'frequency "[/x]" is not 1' in result.stderr

    missing = runner.invoke(app, ["claims", "build", str(tmp_path / "[/x].json"), "--config", CONFIG])
    assert missing.exit_code == 2 and "[/x].json" in missing.stderr

    (tmp_path / "empty.toml").write_text("")
    empty = runner.invoke(app, ["claims", "build", str(source), "--config", str(tmp_path / "empty.toml")])
    assert empty.exit_code == 2 and "[submitter] is missing" in empty.stderr


def test_usage_errors_are_clear_and_exit_2(tmp_path, monkeypatch):
    """What is wrong with the command line or the files named on it: one line on stderr, exit 2, no traceback."""
    source = str(SAMPLES / "encounters" / "encounters.json")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    for args, says in (
        ([source, "--out", str(not_a_folder)], "is not a folder"),
        ([source, "--out", str(not_a_folder / "sub")], "cannot be made"),
        (["-"], "needs --format"),
    ):
        result = runner.invoke(app, ["claims", "build", *args, "--config", CONFIG,
                                     "--db", f"sqlite:///{tmp_path / 'edi.db'}"])
        assert result.exit_code == 2 and says in result.stderr, (args, result.output)
    monkeypatch.chdir(tmp_path)
    for args, says in ((["--path", "no/such/folder/edi.toml"], "cannot be written"), (["--path", "."], "is a folder")):
        result = runner.invoke(app, ["init", *args])
        assert result.exit_code == 2 and says in result.stderr, (args, result.output)


def test_an_empty_input_file_is_no_encounters_whatever_its_format(tmp_path):
    for name in ("empty.json", "empty.ndjson", "empty.csv"):
        (tmp_path / name).write_text("")
        result = build(tmp_path, str(tmp_path / name))
        assert result.exit_code == 0, (name, result.output)
        assert json.loads(result.stdout)["encounters"] == 0


def test_two_bad_encounters_with_one_id_are_both_reported(tmp_path):
    data = json.loads((SAMPLES / "encounters" / "encounters.json").read_text())
    bad = [{**data[0], "diagnoses": ["E11.99"]}, {**data[0], "place_of_service": "98"}]
    source = tmp_path / "dup.json"
    source.write_text(json.dumps(bad))
    doc = json.loads(build(tmp_path, str(source)).stdout)
    assert doc["encounters"] == 2 and len(doc["skipped"]) == 2
    first, second = doc["skipped"].values()
    assert "encounter.icd10.unknown" in {p["code"] for p in first}
    assert {"encounter.id.duplicate", "encounter.pos.unknown"} <= {p["code"] for p in second}


def test_the_same_input_built_twice_bills_nothing_twice(tmp_path):
    """Originals are refused by their id; replacements and voids (which reuse the id of the claim they correct)
    by their id, frequency and charge: the second build of the same file writes nothing."""
    source = str(SAMPLES / "encounters" / "encounters.json")
    first = json.loads(build(tmp_path, source).stdout)
    assert first["claims_written"] == 8
    again = build(tmp_path, source)
    doc = json.loads(again.stdout)
    assert again.exit_code == 1 and doc["claims_written"] == 0 and doc["files"] == []
    assert len(doc["skipped"]) == 8
    assert {p["code"] for problems in doc["skipped"].values() for p in problems} == {"encounter.id.billed"}
    corrections = [i for i, e in enumerate(json.loads(Path(source).read_text())) if e.get("frequency") in ("7", "8")]
    assert corrections  # the sample holds replacements and a void


def test_a_named_pipe_is_read_once(tmp_path):
    """A FIFO given as input is not opened to see whether it can be read (its writer would get no reader and
    the build would wait for ever)."""
    import os
    import signal
    import threading

    fifo = tmp_path / "visits.csv"
    os.mkfifo(fifo)
    data = (SAMPLES / "encounters" / "encounters.csv").read_bytes()
    writer = threading.Thread(target=fifo.write_bytes, args=(data,), daemon=True)
    writer.start()

    def hung(*_):
        raise TimeoutError("the build waited for ever on the pipe")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        result = build(tmp_path, str(fifo), extra=("--format", "csv"))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    writer.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["claims_written"] == 8


def test_a_pipe_without_format_and_a_socket_are_usage_errors(tmp_path):
    """Detecting the format would read the start of a pipe, which can be read only once; a socket is no file."""
    import os
    import socket

    fifo = tmp_path / "visits.json"
    os.mkfifo(fifo)
    result = build(tmp_path, str(fifo))
    assert result.exit_code == 2 and "give --format" in result.stderr
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        for args in (["claims", "record", str(tmp_path / "sock")], ["remit", "import", str(tmp_path / "sock")]):
            result = runner.invoke(app, [*args, "--db", f"sqlite:///{tmp_path / 'edi.db'}"])
            assert result.exit_code == 2 and "is a socket" in result.stderr, (args, result.output)
