"""`edi claims secondary`: the thin command over mappings.secondary, from a two-coverage build and the primary's
835 to the secondary 837 and `edi ledger claims --json` (SQLite and, when EDI_TEST_POSTGRES_URL is set,
PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

from typer.testing import CliRunner
from x12text import COB_PRIMARY_835, interchange

from cli.main import app
from edi.ledger import Ledger
from mappings.build import build_files
from mappings.config import load_config

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CONFIG = str(SAMPLES / "edi.toml")

PRIMARY_835 = COB_PRIMARY_835.format(paid="135.5", trace="EFTCLI", status="1")


def edi(*args: str, db: str):
    return runner.invoke(app, [*args, "--db", db])


def test_secondary_builds_and_the_ledger_shows_both_payers(tmp_path, db):
    built = edi("claims", "build", str(SAMPLES / "encounters" / "two-coverages.json"), "--config", CONFIG,
                "--out", str(tmp_path / "out"), db=db)
    assert built.exit_code == 0, built.output
    era = tmp_path / "primary.835"
    era.write_bytes(interchange(PRIMARY_835))
    assert edi("remit", "import", str(era), "--config", CONFIG, db=db).exit_code == 0

    result = edi("claims", "secondary", "ENC-C-0001", "ENC-C-0002", "--out", str(tmp_path / "sec"), "--config",
                 CONFIG, "--json", db=db)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["built"] == 1 and out["problems"] == []
    assert [(c["patient_control_number"], c["outcome"], c["next_payer_id"], c["left_open"]) for c in out["claims"]] \
        == [("ENC-C-0001", "built", "SYNBLUE1", "40.00"), ("ENC-C-0002", "not_adjudicated", "SYNACME1", None)]
    (f,) = out["files"]
    assert Path(f["path"]).is_file() and f["clearinghouse"] == "testbridge" and f["claims"] == 1

    listed = edi("ledger", "claims", "--json", db=db)
    assert listed.exit_code == 0, listed.output
    rows = {(c["patient_control_number"], c["payer"]): c for c in json.loads(listed.stdout)}
    second = rows[("ENC-C-0001", "SYNTHETIC BLUE PLAN")]
    assert (second["status"], second["billed"], second["paid"], second["adjustments"], second["patient_responsibility"],
            second["insurance_balance"]) == ("built", "247.50", "0.00", {"CO": "0.00", "PR": "-40.00",
                                                                         "OA": "247.50", "PI": "0.00"},
                                             "-40.00", "40.00")
    first = rows[("ENC-C-0001", "ACME SYNTHETIC HEALTH PLAN")]
    assert (first["paid"], first["patient_responsibility"], first["insurance_balance"]) == ("135.50", "40.00", "0.00")
    check = edi("ledger", "check", "--json", db=db)
    assert json.loads(check.stdout) == {"ok": True, "problems": []} and check.exit_code == 0

    # the number's story names each claim's payer, says what the second was billed for, and sums the payers
    story = edi("ledger", "claim", "ENC-C-0001", db=db)
    assert story.exit_code == 0, story.output
    assert [ln for ln in story.output.splitlines() if ln.startswith(("Claim", "Over", "  billed to"))] == [
        "Claim ENC-C-0001 to ACME SYNTHETIC HEALTH PLAN (professional, frequency 1) - paid",
        "Claim ENC-C-0001 to SYNTHETIC BLUE PLAN (professional, frequency 1) - built",
        "  billed to the next payer for the 40.00 ACME SYNTHETIC HEALTH PLAN left open",
        "Over its 2 payers: patient 0.00, insurance balance 40.00"]
    story = json.loads(edi("ledger", "claim", "ENC-C-0001", "--json", db=db).stdout)
    assert [c["prior_payer"] for c in story["claims"]] == [
        None, {"payer": "ACME SYNTHETIC HEALTH PLAN", "payer_id": "SYNACME1", "left_open": "40.00"}]
    assert story["total"] == {"insurance_balance": "40.00", "patient_responsibility": "0.00"}

    text = edi("claims", "secondary", "--all-ready", "--out", str(tmp_path / "sec"), "--config", CONFIG, db=db)
    assert text.exit_code == 0 and "0 claims to the next payer written" in text.output


def test_usage_and_unknown_claims(tmp_path, db):
    assert edi("claims", "build", str(SAMPLES / "encounters" / "two-coverages.json"), "--config", CONFIG, "--out",
               str(tmp_path / "out"), db=db).exit_code == 0
    neither = edi("claims", "secondary", "--config", CONFIG, "--out", str(tmp_path / "sec"), db=db)
    both = edi("claims", "secondary", "X", "--all-ready", "--config", CONFIG, "--out", str(tmp_path / "sec"), db=db)
    assert neither.exit_code == both.exit_code == 2
    unknown = edi("claims", "secondary", "NOPE", "--config", CONFIG, "--out", str(tmp_path / "sec"), "--json", db=db)
    assert unknown.exit_code == 1
    assert [c["outcome"] for c in json.loads(unknown.stdout)["claims"]] == ["not_found"]


def test_the_simulated_payers_answer_the_primary_and_the_secondary_claims(tmp_path, db):
    # the whole loop with `edi simulate payer` on both sides: the second payer pays at most what the first left.
    # Built on a fixed day: the simulated payer's decisions follow from the 837's bytes (and so its dates)
    led = Ledger(db)
    built = build_files([str(SAMPLES / "encounters" / "two-coverages.json")], load_config(CONFIG), ledger=led,
                        out_dir=str(tmp_path / "out"), today=date(2025, 9, 1), now=datetime(2025, 9, 1, 12))
    led.close()
    assert built.ok, built.problems
    for step in ("out", "sec"):
        files = sorted(str(p) for p in (tmp_path / step).glob("*.837"))
        answered = runner.invoke(app, ["simulate", "payer", *files, "--config", CONFIG, "--seed", "3", "--out",
                                       str(tmp_path / f"answers-{step}")])
        assert answered.exit_code == 0, answered.output
        eras = sorted(str(p) for p in (tmp_path / f"answers-{step}").glob("*.835"))
        imported = edi("remit", "import", *eras, "--config", CONFIG, db=db)
        assert imported.exit_code == 0, imported.output
        if step == "out":
            result = edi("claims", "secondary", "--all-ready", "--out", str(tmp_path / "sec"), "--config", CONFIG,
                         "--json", db=db)
            assert result.exit_code == 0, result.output
            billed = [c for c in json.loads(result.stdout)["claims"] if c["outcome"] == "built"]
            assert billed, result.stdout
            # the next day's run: the claims billed wait for their 835 (passed by); those that will never go
            # to a next payer are counted, not listed
            settled = [c for c in json.loads(result.stdout)["claims"] if c["outcome"] in ("nothing_left", "denied")]
            assert settled, result.stdout
            again = edi("claims", "secondary", "--all-ready", "--out", str(tmp_path / "sec"), "--config", CONFIG,
                        db=db)
            assert again.exit_code == 0, again.output
            assert again.output.splitlines()[-1].startswith(f"{len(settled)} claims: 0 claims to the next payer "
                                                            "written")
            assert not any(c["patient_control_number"] in again.output for c in settled)
    listed = json.loads(edi("ledger", "claims", "--json", db=db).stdout)  # oldest first
    for c in billed:
        *_, second = [row for row in listed if row["patient_control_number"] == c["patient_control_number"]]
        assert second["status"] == "paid" and second["insurance_balance"] == "0.00", second
        assert D("0") <= D(second["paid"]) <= D(c["left_open"]), (second, c)
    check = edi("ledger", "check", "--json", db=db)
    assert json.loads(check.stdout) == {"ok": True, "problems": []} and check.exit_code == 0
