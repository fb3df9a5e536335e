"""`edi ledger aging|denials|variance|deposits` and `edi report html` as a user runs them: every --json figure
of the worked scenarios, the human tables, and exit code 2 (one line, no traceback) for a bad date, path or
column."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "edi"))  # the scenarios of tests/edi

from test_ledger_deposits import BANK, bank_file, payments_ledger  # noqa: E402
from test_ledger_reports import FEES, aging_ledger, close_ledgers, denial_ledger, variance_ledger  # noqa: E402, F401

from cli.main import app  # noqa: E402

runner = CliRunner(env={"COLUMNS": "200"})

CONFIG = """
[submitter]
name = "SYNTH BILLING"
id = "SUBMITTER"
contact_name = "BILLING OFFICE"
phone = "5555550100"

[clearinghouses.ch]
name = "CLEARINGHOUSE"
isa_id = "CH01"
gs_id = "CH01"
usage = "T"
isa_qualifier = "ZZ"

[payers.acme]
name = "ACME HEALTH"
payer_id = "ACME01"
clearinghouse = "ch"
filing_indicator = "CI"
appeal_days = 90

[payers.blue]
name = "BLUE PLAN"
payer_id = "BLUE01"
clearinghouse = "ch"
filing_indicator = "BL"
"""


def edi(*args: str, db: str):
    result = runner.invoke(app, [*args, "--db", db])
    assert "Traceback" not in result.output
    return result


def files(tmp: Path) -> tuple[str, str]:
    config = tmp / "edi.toml"
    config.write_text(CONFIG)
    fees = tmp / "fees.csv"
    fees.write_text(FEES)
    return str(config), str(fees)


def test_aging_json_by_payer_and_by_claim(tmp_path, db):
    ledger, _ = aging_ledger(db, tmp_path)
    result = edi("ledger", "aging", "--as-of", "2025-06-30", "--json", db=db)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out == ledger.aging(as_of=datetime(2025, 6, 30).date()).as_dict()
    assert [(p["payer_id"], p["insurance_total"], p["patient_total"], p["claims"]) for p in out["payers"]] == [
        ("ACME01", "690.00", "15.00", 6), ("BLUE01", "290.00", "0.00", 2)]
    assert out["total"]["insurance"] == {"0-30": "0.00", "31-60": "230.00", "61-90": "270.00", "91-120": "310.00",
                                         "over 120": "170.00"}
    by_claim = edi("ledger", "aging", "--as-of", "2025-06-30", "--by", "claim", "--json", db=db)
    assert by_claim.exit_code == 0, by_claim.output
    claims = json.loads(by_claim.stdout)
    assert [(c["claim"], c["age"], c["insurance_total"], c["patient_total"]) for c in claims["claims"]] == [
        ("A8", 121, "170.00", "0.00"), ("A7", 120, "160.00", "0.00"), ("A4", 61, "130.00", "0.00"),
        ("A3", 60, "120.00", "0.00"), ("A2", 31, "110.00", "0.00"), ("A1", 30, "0.00", "15.00"),
        ("A6", 91, "150.00", "0.00"), ("A5", 90, "140.00", "0.00")]
    assert claims["claims"][1]["insurance"] == {"0-30": "0.00", "31-60": "0.00", "61-90": "0.00",
                                                "91-120": "160.00", "over 120": "0.00"}
    assert claims["total"] == out["total"] and (claims["by"], claims["basis"]) == ("claim", "service")
    human = edi("ledger", "aging", "--as-of", "2025-06-30", db=db)
    assert human.exit_code == 0
    assert "all payers" in human.stdout and "980.00" in human.stdout


def test_denials_json_with_appeal_deadlines_from_the_configuration(tmp_path, db):
    denial_ledger(db, tmp_path)
    config, _ = files(tmp_path)
    result = edi("ledger", "denials", "--as-of", "2025-06-30", "--config", config, "--json", db=db)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["as_of"], out["since"]) == ("2025-06-30", None)
    assert [(d["claim"], d["level"], d["line"], d["amount"], d["age"], d["appeal_by"], d["days_left"],
             [(c["group"], c["reason"], c["amount"], c["remarks"]) for c in d["codes"]]) for d in out["items"]] == [
        ("D2", "claim", None, "200.00", 60, None, None, [("CO", "50", "200.00", ["N115"])]),
        ("D1", "line", 2, "50.00", 20, "2025-09-08", 70, [("CO", "97", "50.00", ["M15"])])]
    assert out["summary"] == {
        "by_reason": [{"group": "CO", "reason": "50", "items": 1, "amount": "200.00"},
                      {"group": "CO", "reason": "97", "items": 1, "amount": "50.00"}],
        "by_payer": [{"payer": "BLUE PLAN", "payer_id": "BLUE01", "items": 1, "amount": "200.00"},
                     {"payer": "ACME HEALTH", "payer_id": "ACME01", "items": 1, "amount": "50.00"}],
        "items": 2, "amount": "250.00"}
    since = json.loads(edi("ledger", "denials", "--since", "2025-06-01", "--config", config, "--json",
                           db=db).stdout)
    assert [d["claim"] for d in since["items"]] == ["D1"] and since["summary"]["amount"] == "50.00"
    texts = tmp_path / "codes.csv"
    texts.write_text("code,description\nCO-97,included in another service\n")
    human = edi("ledger", "denials", "--as-of", "2025-06-30", "--config", config, "--descriptions", str(texts),
                db=db)
    assert human.exit_code == 0, human.output
    assert "2025-09-08" in human.stdout and "included in another service" in human.stdout


def test_variance_json_lists_the_lines_paid_other_than_the_contract(tmp_path, db):
    variance_ledger(db, tmp_path)
    config, fees = files(tmp_path)
    result = edi("ledger", "variance", "--fee-schedule", fees, "--config", config, "--json", db=db)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [(v["claim"], v["procedure"], v["applied"], v["applied_from"], v["contract"], v["difference"],
             v["status"]) for v in out["lines"]] == [
        ("V1", "99213", "95.00", "AMT*B6", "100.00", "-5.00", "below"),
        ("V1", "99214", "160.00", "charge - CO", "150.00", "10.00", "above")]
    assert out["summary"] == {
        "below_contract": [{"payer": "ACME HEALTH", "payer_id": "ACME01", "procedure": "99213", "lines": 1,
                            "at_stake": "5.00"}],
        "lines": {"below": 1, "above": 1, "equal": 1, "unpriced": 1}, "at_stake": "5.00",
        "paid_above_contract": "10.00"}
    assert out["problems"] == [] and out["fee_schedule"] == fees
    every = json.loads(edi("ledger", "variance", "--fee-schedule", fees, "--config", config, "--all", "--json",
                           db=db).stdout)
    assert [v["status"] for v in every["lines"]] == ["below", "above", "equal", "unpriced"]
    human = edi("ledger", "variance", "--fee-schedule", fees, "--config", config, db=db)
    assert human.exit_code == 0 and "1 lines below contract (5.00 at stake)" in human.stdout


def test_deposits_import_twice_and_the_listing(tmp_path, db):
    payments_ledger(db, tmp_path)
    bank = bank_file(tmp_path, BANK)
    flags = ["--date-column", "Posting Date", "--amount-column", "3", "--reference-column", "bank reference",
             "--description-column", "description", "--date-format", "%m/%d/%Y"]
    first = edi("ledger", "deposits", "import", bank, *flags, "--json", db=db)
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert (out["added"], out["already"], out["skipped"]) == (4, 0, 1)
    assert [(m["trace_number"], m["amount"], m["deposit_date"], m["matched_by"]) for m in out["matched"]] == [
        ("EFT100", "780.25", "2025-06-03", "trace"), ("EFT300", "150.00", "2025-06-12", "amount")]
    again = edi("ledger", "deposits", "import", bank, *flags, db=db)
    assert again.exit_code == 0
    assert "0 deposits added, 4 already held, 1 rows skipped (debits, empty amounts); 0 payments matched" in \
        again.stdout
    listing = edi("ledger", "deposits", "--json", db=db)
    assert listing.exit_code == 1  # an amount differs
    report = json.loads(listing.stdout)
    assert report["totals"] == {"matched": 2, "matched_amount": "930.25", "payments_without_deposit": 0,
                                "payments_without_deposit_amount": "0.00", "deposits_without_835": 1,
                                "deposits_without_835_amount": "99.99", "mismatches": 1,
                                "undeposited_era_cash": "85.00", "bank": "930.25"}
    assert [(m["trace_number"], m["amount"], m["deposit_amount"], m["difference"]) for m in report["mismatches"]] == [
        ("CHK200", "85.00", "80.00", "-5.00")]
    human = edi("ledger", "deposits", db=db)
    assert human.exit_code == 1 and "amounts differ" in human.stdout and "XYZ-1" in human.stdout
    assert edi("ledger", "deposits", "match", "--json", db=db).stdout.strip() == "[]"
    check = edi("ledger", "check", "--json", db=db)
    assert check.exit_code == 0 and json.loads(check.stdout)["ok"] is True


def test_report_html_writes_one_file(tmp_path, db):
    aging_ledger(db, tmp_path)
    config, fees = files(tmp_path)
    out = tmp_path / "r.html"
    result = edi("report", "html", "--out", str(out), "--as-of", "2025-06-30", "--config", config,
                 "--fee-schedule", fees, db=db)
    assert result.exit_code == 0, result.output
    from lxml import html

    tree = html.fromstring(out.read_bytes())
    assert tree.xpath("string(//*[@data-figure='headline.insurance_ar'])") == "980.00"
    assert tree.xpath("string(//*[@data-figure='variance.at_stake'])") == "25.00"
    assert not list(tmp_path.glob(".r.html.*"))  # written whole, then renamed
    assert len(tree.xpath("//section[@class='eob']")) == 1  # the payment of A1
    again = edi("report", "html", "--out", str(out), db=db)
    assert again.exit_code == 2 and "already exists; edi never replaces a file" in again.stderr
    lean_out = tmp_path / "lean.html"
    lean = edi("report", "html", "--out", str(lean_out), "--as-of", "2025-06-30", "--no-remittances", db=db)
    assert lean.exit_code == 0, lean.output
    tree = html.fromstring(lean_out.read_bytes())
    assert tree.xpath("//section[@class='eob']") == []
    assert tree.xpath("string(//*[@data-figure='headline.at_stake'])") == "no fee schedule"


def test_bad_dates_paths_and_columns_exit_2_with_one_line(tmp_path, db):
    payments_ledger(db, tmp_path)
    config, fees = files(tmp_path)
    bank = bank_file(tmp_path, BANK)
    broken_fees = tmp_path / "broken.csv"
    broken_fees.write_text("payer,code,modifier,allowed\nacme,99213,,lots\n")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text(CONFIG.replace("appeal_days = 90", 'appeal_days = "90"'))
    cases = [
        (["ledger", "denials", "--config", str(bad_config)],
         "payers.acme.appeal_days must be a whole number of days from 1 to 3650"),
        (["ledger", "aging", "--as-of", "2025-02-30"], "--as-of '2025-02-30' is not a date"),
        (["ledger", "aging", "--by", "week"], "--by must be payer or claim"),
        (["ledger", "aging", "--basis", "payment"], "--basis must be service or submission"),
        (["ledger", "denials", "--since", "yesterday"], "--since 'yesterday' is not a date"),
        (["ledger", "denials", "--config", str(tmp_path / "none.toml")], "no such configuration file"),
        (["ledger", "denials", "--descriptions", str(tmp_path / "none.csv")], "no such file"),
        (["ledger", "variance", "--fee-schedule", str(tmp_path / "none.csv")], "no such file"),
        (["ledger", "variance", "--fee-schedule", str(broken_fees)], "allowed 'lots' is not an amount"),
        (["ledger", "deposits", "import", str(tmp_path / "none.csv")], "no such file"),
        (["ledger", "deposits", "import", bank], "--date-column 'date' is not a column of the header"),
        (["ledger", "deposits", "import", bank, "--date-column", "1", "--reference-column", "4"],
         "line 2: date '06/03/2025' does not read as '%Y-%m-%d'"),
        (["ledger", "deposits", "import", bank, "--date-column", "9"], "--date-column 9: the header has 4 columns"),
        (["ledger", "deposits", "import", bank, "--delimiter", ";;"], "--delimiter must be one character"),
        (["report", "html", "--out", str(tmp_path / "nowhere" / "r.html")], "does not exist"),
        (["report", "html", "--out", str(tmp_path)], "is a folder"),
        (["report", "html", "--as-of", "30/06/2025"], "--as-of '30/06/2025' is not a date"),
        (["report", "html", "--out", "  "], "--out: give the name of the new file to write"),
        (["report", "html", "--descriptions", ""], "--descriptions: give the name of a file"),
        (["report", "html", "--fee-schedule", ""], "--fee-schedule: give the name of a file"),
    ]
    for args, said in cases:
        result = edi(*args, db=db)
        assert result.exit_code == 2, (args, result.output)
        assert said in result.output, (args, result.output)
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    # a file that is no bank export at all is refused (exit 1), naming it
    x12 = tmp_path / "era.835"
    x12.write_text("ISA*00*          *00*          *ZZ*SENDER~")
    for path, said in ((x12, "holds X12 (an interchange), not a bank export"), (tmp_path / "empty.csv", "empty")):
        if not path.exists():
            path.write_text("")
        refused = edi("ledger", "deposits", "import", str(path), db=db)
        assert refused.exit_code == 1 and said in refused.stderr and path.name in refused.stderr, refused.stderr
    # nothing was imported by the refused files
    assert json.loads(edi("ledger", "deposits", "--json", db=db).stdout)["totals"]["deposits_without_835"] == 0
    missing = runner.invoke(app, ["ledger", "aging", "--db", f"sqlite:///{tmp_path / 'nope.db'}"])
    assert missing.exit_code == 2 and "no ledger at" in missing.output
