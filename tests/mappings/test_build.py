"""The claims build (``mappings.build``) records what it writes without reading the file back: the ledger must then
hold exactly what recording the written file (``Ledger.record_837``, which reads it) would have given."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from edi.ledger import Ledger
from edi.ledger.schema import claim_lines, claims, files, journal_entries, postings, transactions
from mappings import load_config
from mappings.build import build_files

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def recorded_from_copies(result, tmp_path: Path) -> str:
    """A second ledger (its URL) that recorded copies of the files a build wrote, read back as any 837 is."""
    read_db = f"sqlite:///{tmp_path / 'read.db'}"
    reader = Ledger(read_db)
    for f in result.files:
        copy = tmp_path / "copies" / Path(f.path).name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(f.path, copy)
        assert reader.record_837(str(copy), status="built").outcome == "imported"
    reader.close()
    return read_db


def ledger_contents(url: str) -> dict:
    """Everything recorded, without ids, file ids and timestamps (which differ between two ledgers)."""
    led = Ledger(url)
    with led.engine.connect() as conn:
        tx = {r.id: (r.interchange, r.group_control, r.control_number, r.batch_id, r.version, r.claims)
              for r in conn.execute(select(transactions))}
        rows = {r.id: r for r in conn.execute(select(claims))}
        out = {
            "files": [(r.sha256, r.kind, r.size) for r in conn.execute(select(files))],
            "transactions": sorted(tx.values()),
            "claims": sorted((r.patient_control_number, r.kind, r.payer_id, r.payer_name, r.frequency, r.charge,
                              r.service_date, r.billing_npi, r.member_id, r.payer_claim_number, r.status,
                              tx[r.transaction_id], r.segment) for r in rows.values()),
            "lines": sorted((rows[r.claim_id].patient_control_number, r.line_number, r.procedure, r.modifiers,
                             r.revenue_code, r.charge, r.units, r.service_date, r.line_control_number)
                            for r in conn.execute(select(claim_lines))),
            "entries": sorted((r.kind, rows[r.claim_id].patient_control_number if r.claim_id else None)
                              for r in conn.execute(select(journal_entries))),
            "postings": sorted((r.account, r.amount, rows[r.claim_id].patient_control_number if r.claim_id else None)
                               for r in conn.execute(select(postings))),
        }
    led.close()
    return out


def test_build_records_what_reading_the_written_file_records(tmp_path):
    config = load_config(SAMPLES / "edi.toml")
    built_db = f"sqlite:///{tmp_path / 'built.db'}"
    ledger = Ledger(built_db)
    result = build_files([str(SAMPLES / "encounters" / "encounters.json")], config, ledger=ledger,
                         out_dir=str(tmp_path / "out"), today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0),
                         claims_per_st=3)  # several transaction sets per payer
    ledger.close()
    assert result.claims >= 8 and len(result.files) >= 2
    assert sum(f.transactions for f in result.files) > len(result.files)
    # how long each phase took (benchmarks/claims.py prints them); no deep validation was asked for
    assert sorted(result.timings) == ["encounters", "record", "write"]
    assert all(seconds > 0 for seconds in result.timings.values())

    read_db = recorded_from_copies(result, tmp_path)

    built, read = ledger_contents(built_db), ledger_contents(read_db)
    assert built["claims"] and built["lines"] and built["postings"]
    for part in ("transactions", "claims", "lines", "entries", "postings"):
        assert built[part] == read[part], part
    # the hash taken while writing is the file's
    assert sorted(built["files"]) == sorted(
        (hashlib.sha256(Path(f.path).read_bytes()).hexdigest(), "837", Path(f.path).stat().st_size)
        for f in result.files)


def test_worker_processes_give_the_same_files_problems_and_ledger(tmp_path, monkeypatch):
    """NDJSON checked and mapped by worker processes (in small blocks, so that several workers and blocks take
    part) gives byte-identical files, the same problems in the same order, and the same ledger as one process,
    with bad lines (not JSON, an unknown payer, a duplicate id) among good ones."""
    import mappings.build as pipeline

    lines = (SAMPLES / "encounters" / "encounters.ndjson").read_text().splitlines()
    good = [ln for ln in lines if ln.strip()]
    first = json.loads(good[0])
    unknown_payer = json.dumps({**first, "id": "BADPAYER1", "payer": "nobody"})
    duplicate = json.dumps({**first, "lines": first["lines"]})
    src = tmp_path / "mixed.ndjson"
    src.write_text("\n".join([good[0], "{not json", *good[1:], "", unknown_payer, duplicate, "[1, 2]"]) + "\n")
    monkeypatch.setattr(pipeline, "TASK_LINES", 2)

    config = load_config(SAMPLES / "edi.toml")
    outcomes = {}
    for jobs in (1, 2):
        run = tmp_path / f"jobs{jobs}"
        run.mkdir()
        monkeypatch.chdir(run)  # the same relative output folder, so that problems name the same files
        ledger = Ledger(f"sqlite:///{tmp_path / f'jobs{jobs}.db'}")
        result = build_files([str(src)], config, ledger=ledger, out_dir="out",
                             today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0), jobs=jobs)
        ledger.close()
        outcomes[jobs] = (
            result.encounters, result.claims, sorted(result.skipped),
            [(p.code, p.message, p.where) for p in result.problems],
            [(Path(f.path).name, Path(f.path).read_bytes()) for f in result.files],
            ledger_contents(f"sqlite:///{tmp_path / f'jobs{jobs}.db'}"),
        )
    assert outcomes[1] == outcomes[2]
    encounters, claims, skipped, problems, files, _ = outcomes[1]
    assert encounters == len(good) + 4 and claims == len(good)
    codes = {code for code, _, _ in problems}
    assert {"source.json.syntax", "source.json.shape", "encounter.id.duplicate"} <= codes
    assert "BADPAYER1" in skipped and files


def test_hundreds_of_claims_are_recorded_each_with_its_own_values(tmp_path):
    """Enough claims, lines and postings that the ledger's rows go in as INSERTs of many rows a statement, and
    the rows left over one a statement (edi.ledger.journal.copy_rows): every claim, line and posting is recorded
    with the values of its own encounter, in both the build's ledger and one that reads the files back."""
    first = json.loads((SAMPLES / "encounters" / "encounters.ndjson").read_text().splitlines()[0])
    wanted = {}
    src = tmp_path / "many.ndjson"
    with open(src, "w") as fp:
        for i in range(307):  # not a multiple of any statement's row count
            lines = [{**first["lines"][k % 2], "charge": f"{10 + i}.{(i + k) % 100:02d}", "modifiers": []}
                     for k in range(1 + i % 3)]
            enc = {**first, "id": f"MANY{i:05d}", "payer": ("acme", "blueplan")[i % 2], "lines": lines}
            fp.write(json.dumps(enc) + "\n")
            wanted[enc["id"]] = [Decimal(ln["charge"]) for ln in lines]
    config = load_config(SAMPLES / "edi.toml")
    built_db = f"sqlite:///{tmp_path / 'built.db'}"
    ledger = Ledger(built_db)
    result = build_files([str(src)], config, ledger=ledger, out_dir=str(tmp_path / "out"), today=date(2026, 1, 1),
                         now=datetime(2026, 1, 1, 12, 0), jobs=2)
    ledger.close()
    assert result.claims == len(wanted) and not result.skipped
    read_db = recorded_from_copies(result, tmp_path)
    for url in (built_db, read_db):
        led = Ledger(url)
        with led.engine.connect() as conn:
            pcn = {r.id: r.patient_control_number for r in conn.execute(select(claims))}
            charges = {r.patient_control_number: r.charge for r in conn.execute(select(claims))}
            lines: dict[str, list] = {}
            for r in conn.execute(select(claim_lines).order_by(claim_lines.c.claim_id, claim_lines.c.line_number)):
                lines.setdefault(pcn[r.claim_id], []).append(r.charge)
            ar: dict[str, Decimal] = {}
            for r in conn.execute(select(postings)):
                ar[pcn[r.claim_id]] = ar.get(pcn[r.claim_id], Decimal(0)) + (
                    r.amount if r.account == "insurance_ar" else Decimal(0))
        led.close()
        assert lines == wanted
        assert charges == {k: sum(v) for k, v in wanted.items()} == ar


def test_the_build_gives_the_collector_back_its_objects_and_leaves_a_callers_freeze_alone(tmp_path, monkeypatch):
    """build_files freezes the objects older than the build out of the garbage collector's sight while it runs
    (its full collections walked the whole heap) and unfreezes them after, also when the build fails; a caller
    that froze objects itself keeps them frozen."""
    import gc

    import mappings.build as pipeline

    config = load_config(SAMPLES / "edi.toml")
    seen = []
    real = pipeline.spool_claims

    def spool_claims(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "spool_claims", spool_claims)
    assert gc.get_freeze_count() == 0
    ledger = Ledger(f"sqlite:///{tmp_path / 'a.db'}")
    result = build_files([str(SAMPLES / "encounters" / "encounters.json")], config, ledger=ledger,
                         out_dir=str(tmp_path / "out"), today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0))
    assert result.claims and seen[-1] > 0 and gc.get_freeze_count() == 0

    monkeypatch.setattr(pipeline, "spool_claims", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        build_files([str(SAMPLES / "encounters" / "encounters.json")], config, ledger=ledger,
                    out_dir=str(tmp_path / "out2"), today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0))
    assert gc.get_freeze_count() == 0

    monkeypatch.setattr(pipeline, "spool_claims", spool_claims)
    gc.freeze()
    try:
        build_files([str(SAMPLES / "encounters" / "encounters.json")], config, ledger=ledger,
                    out_dir=str(tmp_path / "out3"), today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0))
        assert gc.get_freeze_count() > 0  # (unfrozen, it would be 0)
    finally:
        gc.unfreeze()
    ledger.close()


def test_a_failure_on_a_later_file_leaves_every_written_file_recorded(tmp_path, monkeypatch):
    """Each file is recorded as soon as it is written: when writing a later clearinghouse's file fails, the
    files already written are in the ledger (a written file the ledger did not know would be built again by
    the next run, and could be billed twice), and the failed one leaves nothing behind."""
    import pytest

    import mappings.build as pipeline

    write = pipeline.write_interchange
    calls = []

    def fail_on_the_second(ch_key, *args):
        calls.append(ch_key)
        if len(calls) == 2:
            raise OSError("disk full")
        return write(ch_key, *args)

    monkeypatch.setattr(pipeline, "write_interchange", fail_on_the_second)
    config = load_config(SAMPLES / "edi.toml")
    url = f"sqlite:///{tmp_path / 'edi.db'}"
    ledger = Ledger(url)
    with pytest.raises(OSError, match="disk full"):
        build_files([str(SAMPLES / "encounters" / "encounters.json")], config, ledger=ledger,
                    out_dir=str(tmp_path / "out"), today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0))
    ledger.close()
    written = sorted(tmp_path.joinpath("out").iterdir())
    assert len(calls) == 2 and [p.name.split("-")[0] for p in written] == [calls[0]]
    recorded = ledger_contents(url)
    assert [size for _, _, size in recorded["files"]] == [written[0].stat().st_size]
    assert recorded["claims"] and all(c[-2][0] == written[0].name.split("-")[1].split(".")[0]
                                      for c in recorded["claims"])


def test_a_built_file_is_never_replaced(tmp_path):
    """Two ledgers (or a changed isa_id) number the interchanges from 1 again: the second build into the same
    folder is refused for the names it would take, and the files already there are left as they were."""
    config = load_config(SAMPLES / "edi.toml")
    source = str(SAMPLES / "encounters" / "encounters.json")
    out = tmp_path / "out"

    def build(db: str):
        ledger = Ledger(f"sqlite:///{tmp_path / db}")
        try:
            return build_files([source], config, ledger=ledger, out_dir=str(out), today=date(2026, 1, 1),
                               now=datetime(2026, 1, 1, 12, 0))
        finally:
            ledger.close()

    first = build("first.db")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    second = build("second.db")
    assert first.files and not second.files and second.claims == 0
    assert [p.code for p in second.problems] == ["build.exists"] * len(first.files)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temporary file left either
    assert ledger_contents(f"sqlite:///{tmp_path / 'second.db'}")["claims"] == []


def test_a_correction_is_sent_once_and_a_new_correction_of_the_same_claim_is_not_refused(tmp_path):
    """A replacement reuses the id of the claim it corrects: the same replacement built again is refused (by the
    fingerprint of its 837 text), a second replacement that fixes a diagnosis is built."""
    config = load_config(SAMPLES / "edi.toml")
    data = json.loads((SAMPLES / "encounters" / "encounters.json").read_text())
    original = {k: v for k, v in data[0].items() if k not in ("frequency", "payer_claim_number")}
    replacement = {**original, "frequency": "7", "payer_claim_number": "SYNICN0001"}
    fixed = {**replacement, "diagnoses": ["E11.65", *original["diagnoses"][1:]]}
    url = f"sqlite:///{tmp_path / 'edi.db'}"
    outcomes = []
    for n, encounter in enumerate((original, replacement, replacement, fixed)):
        source = tmp_path / f"{n}.json"
        source.write_text(json.dumps([encounter]))
        ledger = Ledger(url)
        result = build_files([str(source)], config, ledger=ledger, out_dir=str(tmp_path / "out"),
                             today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0))
        ledger.close()
        outcomes.append((result.claims, [p.code for p in result.problems if p.is_error]))
    assert outcomes == [(1, []), (1, []), (0, ["encounter.id.billed"]), (1, [])]
    statuses = sorted((c[0], c[4], c[10]) for c in ledger_contents(url)["claims"])
    assert [s[1:] for s in statuses] == [("1", "replaced"), ("7", "built"), ("7", "replaced")]


def test_a_correction_the_ledger_holds_without_fingerprint_is_matched_by_its_charge(tmp_path):
    """Corrections recorded from 837 files (``edi claims record``), or built before fingerprints, have none:
    building the same replacement again is still refused, by its id, frequency and charge."""
    config = load_config(SAMPLES / "edi.toml")
    data = json.loads((SAMPLES / "encounters" / "encounters.json").read_text())
    original = {k: v for k, v in data[0].items() if k not in ("frequency", "payer_claim_number")}
    replacement = {**original, "frequency": "7", "payer_claim_number": "SYNICN0001"}

    def build(db: str, encounter: dict, n: int):
        source = tmp_path / f"{db}-{n}.json"
        source.write_text(json.dumps([encounter]))
        ledger = Ledger(f"sqlite:///{tmp_path / db}")
        try:
            return build_files([str(source)], config, ledger=ledger, out_dir=str(tmp_path / db.replace(".", "_")),
                               today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0))
        finally:
            ledger.close()

    built = [build("a.db", original, 1), build("a.db", replacement, 2)]
    recorded = Ledger(f"sqlite:///{tmp_path / 'b.db'}")
    for result in built:
        assert recorded.record_837(result.files[0].path).outcome == "imported"
    recorded.close()
    again = build("b.db", replacement, 3)
    assert again.claims == 0 and [p.code for p in again.problems if p.is_error] == ["encounter.id.billed"]


# -- the batch checks the build relies on --------------------------------------------------------------------------


def test_seen_ids_find_every_duplicate_and_its_first_file_in_little_memory(monkeypatch):
    """The ids of a batch are kept as 8-byte hashes (a table at most half full), the ids themselves in a file,
    then an indexed temporary database once a hash comes again: every duplicate is found, with the file of its
    first occurrence, whether its original is still in memory, in the file or in the database."""
    from mappings.checks import SeenIds

    monkeypatch.setattr(SeenIds, "BATCH", 7)  # several batches in the file before the first duplicate
    seen = SeenIds()
    n = 10_000
    assert all(seen.add(f"C{i}", f"file{i % 3}.ndjson") == (False, None) for i in range(n))
    assert len(seen._slots) * 8 <= 32 * n  # at most 32 bytes an id (the dict it replaces took about 170)
    assert seen.add("C5", "again.ndjson") == (True, "file2.ndjson")  # moves the ids into the database
    assert seen.add("C9999", None) == (True, "file0.ndjson")  # one written to the file before the move
    assert seen.add("NEW", None) == (False, None)
    assert seen.add("NEW", "x") == (True, None)  # waiting to be written when asked: written first
    seen.close()


def test_seen_ids_tell_two_ids_with_one_hash_apart(monkeypatch):
    """A hash found again is only a hint: the id itself decides (every id hashed alike here)."""
    import mappings.checks

    monkeypatch.setattr(mappings.checks, "hash", lambda text: 42, raising=False)
    seen = mappings.checks.SeenIds()
    assert [seen.add(f"C{i}", "a") for i in range(50)] == [(False, None)] * 50
    assert [seen.add(f"C{i}", "b") for i in range(50)] == [(True, "a")] * 50
    assert seen.add("C\ud800", "a") == (False, None)  # a lone surrogate (JSON can carry one) is an id too
    assert seen.add("C\ud800", "b") == (True, "a")
    seen.close()


def test_iter_claims_refuses_a_correction_the_ledger_holds_as_the_build_does(tmp_path):
    """One loop for the library and the build: given the ledger's corrections checker, ``iter_claims`` refuses the
    same replacement built again (by the fingerprint of its 837 text) and takes a new correction of that claim."""
    from mappings.claims import iter_claims
    from mappings.encounter import encounter_from_dict

    config = load_config(SAMPLES / "edi.toml")
    data = json.loads((SAMPLES / "encounters" / "encounters.json").read_text())
    original = {k: v for k, v in data[0].items() if k not in ("frequency", "payer_claim_number")}
    replacement = {**original, "frequency": "7", "payer_claim_number": "SYNICN0001"}
    fixed = {**replacement, "diagnoses": ["E11.65", *original["diagnoses"][1:]]}
    url = f"sqlite:///{tmp_path / 'edi.db'}"
    for n, encounter in enumerate((original, replacement)):
        source = tmp_path / f"{n}.json"
        source.write_text(json.dumps([encounter]))
        ledger = Ledger(url)
        assert build_files([str(source)], config, ledger=ledger, out_dir=str(tmp_path / "out"),
                           today=date(2026, 1, 1), now=datetime(2026, 1, 1, 12, 0)).claims == 1
        ledger.close()

    ledger = Ledger(url)

    def claims(encounter: dict, **checkers) -> list:
        """``iter_claims`` over one encounter (a batch of its own: a correction reuses its claim's id)."""
        return list(iter_claims([encounter_from_dict(encounter, file="again.json")], config,
                                today=date(2026, 1, 1), **checkers))

    checkers = {"already_billed": ledger.billed_checker(), "already_sent": ledger.corrections_checker()}
    [(again, again_problems)] = claims(replacement, **checkers)
    [(new, new_problems)] = claims(fixed, **checkers)
    ledger.close()
    assert again is None and [p.code for p in again_problems if p.is_error] == ["encounter.id.billed"]
    assert new is not None and not [p for p in new_problems if p.is_error]
    # without the checker, as before: the library alone cannot know what the ledger holds
    assert claims(replacement)[0][0] is not None
