"""`edi remit show` and `edi remit export` as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner(env={"COLUMNS": "200"})
SAMPLE = str(Path(__file__).resolve().parents[2] / "samples" / "835" / "synthetic-payment.835")


def test_show_reads_like_an_eob(tmp_path):
    result = runner.invoke(app, ["remit", "show", SAMPLE])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Payment EFT000000001" in out and "SYNTH HEALTH PLAN" in out and "EFT (ACH)" in out
    assert "PCN0000001" in out and "processed as primary" in out
    assert "balanced" in out and "NOT balanced" not in out


def test_show_json_has_the_documented_shape():
    result = runner.invoke(app, ["remit", "show", SAMPLE, "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["file"] == SAMPLE and doc["problems"] == []
    pay = doc["payments"][0]
    assert set(pay) >= {"control_number", "payer", "payee", "amount", "credit_debit", "method", "trace_number",
                        "payment_date", "claims", "provider_adjustments", "balanced"}
    assert pay["payer"] == {"name": "SYNTH HEALTH PLAN", "id": "SYNTH01"}
    assert pay["payee"]["npi"] == "1234567893" and pay["balanced"] is True
    assert pay["amount"] == "2171.69" and pay["payment_date"] == "2025-04-01"
    claim = pay["claims"][0]
    assert set(claim) >= {"patient_control_number", "status", "charge", "paid", "patient_responsibility",
                          "payer_claim_number", "adjustments", "lines"}
    assert claim["adjustments"] == [{"group": "PR", "reason": "1", "amount": "5.00", "quantity": None}]
    line = claim["lines"][0]
    assert set(line) >= {"procedure", "modifiers", "charge", "paid", "units", "line_control_number", "service_date",
                         "adjustments"}
    assert [p["reason"] for p in pay["provider_adjustments"]] == ["L6", "WO"]


def test_show_exits_1_on_a_broken_file_and_uses_descriptions(tmp_path):
    broken = str(Path(SAMPLE).with_name("broken-segment-count.835"))
    assert runner.invoke(app, ["remit", "show", broken]).exit_code == 1
    desc = tmp_path / "codes.csv"
    desc.write_text("code,description\nCO-45,Charge exceeds the fee schedule (user text)\n")
    result = runner.invoke(app, ["remit", "show", SAMPLE, "--descriptions", str(desc)])
    assert "Charge exceeds the fee schedule (user text)" in result.stdout


def test_show_missing_file_is_usage_error():
    result = runner.invoke(app, ["remit", "show", "nope.835"])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_export_keeps_claim_level_cas_and_plb(tmp_path):
    result = runner.invoke(app, ["remit", "export", SAMPLE, "--to", str(tmp_path / "claims.csv"),
                                 "--to", str(tmp_path / "adjustments.ndjson")])
    assert result.exit_code == 0, result.output
    claims = list(csv.DictReader((tmp_path / "claims.csv").read_text().splitlines()))
    assert len(claims) == 6 and claims[0]["patient_control_number"] == "PCN0000001"
    adjustments = [json.loads(line) for line in (tmp_path / "adjustments.ndjson").read_text().splitlines()]
    levels = {a["level"] for a in adjustments}
    assert levels == {"claim", "line", "provider"}
    claim_level = [a for a in adjustments if a["level"] == "claim"]
    assert claim_level[0]["group"] == "PR" and claim_level[0]["amount"] == "5.00"
    plb = [a for a in adjustments if a["level"] == "provider"]
    assert [(a["reason"], a["reference"]) for a in plb] == [("L6", None), ("WO", "PCN0000002")]


def test_export_to_a_folder_in_both_formats(tmp_path):
    result = runner.invoke(app, ["remit", "export", SAMPLE, "--out", str(tmp_path), "--format", "ndjson"])
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adjustments.ndjson", "claims.ndjson", "lines.ndjson"]
    lines = [json.loads(x) for x in (tmp_path / "lines.ndjson").read_text().splitlines()]
    assert lines[0]["line_control_number"] == "PCN0000001L1"


def test_export_needs_a_destination():
    assert runner.invoke(app, ["remit", "export", SAMPLE]).exit_code == 2
    assert runner.invoke(app, ["remit", "export", SAMPLE, "--to", "payments.csv"]).exit_code == 2


def test_remit_commands_refuse_a_file_that_is_not_an_835(tmp_path):
    """An 837 or a 277CA given to `remit show` or `remit export` is named for what it is (exit 1), not shown as
    an empty remittance (exit 0); and an 835 given to `acks show` likewise."""
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    for args, said in ((["remit", "show", "samples/837/synthetic-claims.837"], "holds 837 claims, not an 835"),
                       (["remit", "show", "samples/acks/synthetic-claims.277"], "holds acknowledgements"),
                       (["remit", "export", "samples/837/synthetic-claims.837", "--out", str(tmp_path / "x")],
                        "holds 837 claims"),
                       (["acks", "show", "samples/835/synthetic-payment.835"], "holds an 835 remittance")):
        result = runner.invoke(app, args)
        assert result.exit_code == 1 and said in result.output, (args, result.output)
    assert not (tmp_path / "x").exists()


def test_an_empty_file_is_not_valid_x12(tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    empty = tmp_path / "empty.x12"
    empty.write_bytes(b"")
    for args in (["x12", "validate", str(empty)], ["x12", "validate", "--deep", str(empty)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and "x12.file.empty" in result.output and "StringIO" not in result.output


def test_remit_show_json_stays_json_when_a_value_holds_a_unicode_line_separator(tmp_path):
    import json

    from typer.testing import CliRunner

    from cli.main import app

    text = Path("samples/835/synthetic-payment.835").read_text()
    odd = tmp_path / "odd.835"
    odd.write_text(text.replace("N1*PR*", "N1*PR*SYNTH\u2028PAYER\u0085X ", 1), encoding="utf-8")
    result = CliRunner().invoke(app, ["remit", "show", str(odd), "--json"])
    doc = json.loads(result.stdout)
    assert "\u2028" in doc["payments"][0]["payer"]["name"]


def test_edi_version():
    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("edi ")


def test_terminal_escape_sequences_in_a_file_never_reach_the_terminal_raw(tmp_path):
    """An ESC sequence in a payer's name or a trace number (clear the screen, retitle the window) is printed as
    an escape by every human view; JSON escapes it by itself."""
    from typer.testing import CliRunner

    from cli.main import app

    text = Path("samples/835/synthetic-payment.835").read_text()
    evil = tmp_path / "evil.835"
    evil.write_text(text.replace("N1*PR*", "N1*PR*\x1b]0;owned\x07\x1b[2J", 1).replace("TRN*1*", "TRN*1*\x1b[31m", 1))
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'edi.db'}"
    for args in (["remit", "show", str(evil)], ["x12", "view", str(evil)], ["x12", "validate", str(evil)],
                 ["remit", "import", str(evil), "--db", db], ["reconcile", "--db", db]):
        result = runner.invoke(app, args)
        assert "\x1b" not in result.output and "Traceback" not in result.output, args
    assert "\\x1b[2J" in runner.invoke(app, ["remit", "show", str(evil)]).output


def test_an_overlong_cell_pushes_the_row_only_until_there_is_room():
    from cli.remit import _COLUMNS, _row

    header = _row(*(c[0] for c in _COLUMNS))
    status_at, paid_end = header.index("status"), header.index("paid") + len("paid")
    # a claim number with the payer's claim number (28 characters in a 24-character column): the patient is
    # pushed two spaces after it, the status is back under its header
    row = _row("SIM-000076 (875BC7DE0000052)", "EXAMPLEDOE, CASEY", "processed as primary", "2025-04-19",
               "245.65", "75.24", "100.00", "")
    assert row.startswith("SIM-000076 (875BC7DE0000052)  EXAMPLEDOE, CASEY ")
    assert row.index("processed as primary") == status_at and row.index("75.24") + len("75.24") == paid_end
    # no room at all: two spaces between the cells, nothing lost
    crowded = _row("C" * 30, "P" * 40, "S" * 30, "2025-04-19", "1" * 12, "2" * 12, "3" * 14, "CO-45 1.00")
    assert crowded.rstrip("\n").split("  ") == ["C" * 30, "P" * 40, "S" * 30, "2025-04-19", "1" * 12, "2" * 12,
                                                "3" * 14, "CO-45 1.00"]
