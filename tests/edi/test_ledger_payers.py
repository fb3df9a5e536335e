"""Payments match claims within their payer (edi.ledger.post.PayerMatching), on SQLite and on PostgreSQL.

An 835's payer is its REF*2U (loop 1000A), else its N1*PR N104; an 835 that names no id is matched by the payer's
name; a payer whose 835 id differs from its 837 id takes ``remit_ids`` in edi.toml. A claim payment naming a
claim billed to another payer is held in suspense (kind ``other_payer``), or posted with a warning where
``[remit] cross_payer = "post"``. `edi ledger check` passes after every import.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner
from x12text import interchange

from cli.main import app
from edi.ledger import Ledger, PayerMatching
from edi.model import Address, Claim, Diagnosis, Payer, Provider, ServiceLine, Submitter, Subscriber
from edi.x12.writer import CounterControlNumbers, Party
from edi.x837.writer import build_837

runner = CliRunner(env={"COLUMNS": "200"})
NOW = datetime(2025, 3, 1, 9, 0)
BILLING = Provider("SYNTH CLINIC", npi="1234567893", tax_id="990000001",
                   address=Address("1 MAIN ST", "SPRINGFIELD", "IL", "627010001"))
ACME = Payer("ACME SYNTHETIC HEALTH PLAN", "SYNACME1")
BLUE = Payer("SYNTHETIC BLUE PLAN", "SYNBLUE1")
SUBMITTER = Submitter("SYNTH BILLING", "SUBMITTER", "BILLING OFFICE", "5555550100", receiver_name="CLEARINGHOUSE",
                      receiver_id="CH01")
SAMPLE_TOML = Path(__file__).resolve().parents[2] / "samples" / "edi.toml"


def claim(pcn: str, payer: Payer, charge: str = "100") -> Claim:
    line = ServiceLine(number=1, charge=D(charge), units=D(1), service_date=date(2025, 1, 15), procedure="99213",
                       diagnosis_pointers=(1,), line_control_number=f"{pcn}-1")
    return Claim("professional", pcn, D(charge), BILLING,
                 Subscriber("M123", "DOE", "JANE", birth_date=date(1980, 1, 1), sex="F",
                            address=Address("2 ELM ST", "SPRINGFIELD", "IL", "62701")),
                 payer, (Diagnosis("E119", "ABK"),), (line,), place_of_service="11")


def record(tmp: Path, db: str, name: str, *claims: Claim, control: int = 1) -> None:
    out = io.BytesIO()
    build_837(out, list(claims), SUBMITTER, Party("ZZ", "SUBMITTER"), Party("ZZ", "CH01"),
              CounterControlNumbers(interchange=control), NOW, "T")
    (tmp / name).write_bytes(out.getvalue())
    result = cli("claims", "record", str(tmp / name), db=db)
    assert result.exit_code == 0, result.output


def remit(tmp: Path, name: str, payer: str, pcn: str = "PCN1", paid: str = "80", trace: str = "EFT1") -> str:
    """An 835 paying ``pcn`` (charge 100) whose loop 1000A is ``payer`` (its N1*PR and REF segments)."""
    body = f"""
    BPR*I*{paid}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250301~
    TRN*1*{trace}*1512345678~
    {payer}
    N1*PE*SYNTH CLINIC*XX*1234567893~
    CLP*{pcn}*1*100*{paid}**12*ICN-{trace}*11*1~
    CAS*CO*45*{100 - int(paid)}~
    NM1*QC*1*DOE*JANE****MI*M123~
    """
    path = tmp / name
    path.write_bytes(interchange(body))
    return str(path)


def cli(*args: str, db: str):
    return runner.invoke(app, [*args, "--db", db])


def import_(path: str, db: str, *extra: str):
    result = cli("remit", "import", path, *extra, db=db)
    assert "Traceback" not in result.output
    return result


def claims_json(db: str) -> dict[tuple[str, str], dict]:
    result = cli("ledger", "claims", "--json", db=db)
    assert result.exit_code == 0, result.output
    return {(c["patient_control_number"], c["payer"]): c for c in json.loads(result.stdout)}


def suspense(db: str) -> list[dict]:
    return json.loads(cli("reconcile", "--json", db=db).stdout)["suspense"]


def assert_check(db: str) -> None:
    result = cli("ledger", "check", "--json", db=db)
    assert json.loads(result.stdout) == {"ok": True, "problems": []}, result.stdout


def config(tmp: Path, *, remit_ids: str | None = None, cross_payer: str | None = None) -> str:
    """samples/edi.toml with acme's remit_ids and [remit] cross_payer set as given."""
    text = SAMPLE_TOML.read_text(encoding="utf-8")
    if remit_ids is not None:
        text = text.replace('payer_id = "SYNACME1"', f'payer_id = "SYNACME1"\nremit_ids = {remit_ids}', 1)
    if cross_payer is not None:
        assert 'cross_payer = "suspense"' in text
        text = text.replace('cross_payer = "suspense"', f'cross_payer = "{cross_payer}"', 1)
    path = tmp / "edi.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_payment_from_another_payer_goes_to_suspense_not_onto_the_claim(tmp_path, db):
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    result = import_(remit(tmp_path, "blue.835", "N1*PR*SYNTHETIC BLUE PLAN~\nREF*2U*SYNBLUE1~"), db)
    assert result.exit_code == 0, result.output
    assert "ledger.claim.other_payer" in result.output
    c = claims_json(db)[("PCN1", ACME.name)]
    assert (c["status"], c["paid"], c["insurance_balance"]) == ("submitted", "0.00", "100.00")
    [held] = suspense(db)
    assert (held["kind"], held["patient_control_number"], held["amount"]) == ("other_payer", "PCN1", "80.00")
    assert "SYNACME1" in held["reason"] and "SYNBLUE1" in held["reason"]
    assert_check(db)
    again = import_(str(tmp_path / "blue.835"), db)
    assert "already posted" in again.output  # idempotent: nothing changes the second time
    assert len(suspense(db)) == 1


def test_the_claim_of_the_835s_payer_is_paid_when_two_payers_hold_the_same_claim_number(tmp_path, db):
    record(tmp_path, db, "acme.837", claim("PCN1", ACME))
    record(tmp_path, db, "blue.837", claim("PCN1", BLUE), control=2)  # newer: matching by number alone took it
    result = import_(remit(tmp_path, "acme.835", "N1*PR*ACME SYNTHETIC HEALTH PLAN~\nREF*2U*SYNACME1~"), db)
    assert result.exit_code == 0, result.output
    got = claims_json(db)
    assert (got[("PCN1", ACME.name)]["paid"], got[("PCN1", BLUE.name)]["paid"]) == ("80.00", "0.00")
    assert suspense(db) == []
    assert_check(db)


def test_n1_pr_n104_names_the_payer_when_there_is_no_ref_2u(tmp_path, db):
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    result = import_(remit(tmp_path, "r.835", "N1*PR*ACME*XV*synacme1~"), db)  # ids compare without case
    assert result.exit_code == 0, result.output
    assert claims_json(db)[("PCN1", ACME.name)]["paid"] == "80.00"
    assert suspense(db) == []


def test_remit_ids_in_edi_toml_map_an_835_id_to_the_payer_id_claims_were_billed_to(tmp_path, db):
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    era = remit(tmp_path, "r.835", "N1*PR*ACME ERA SERVICES~\nREF*2U*ACME-ERA~")
    without = remit(tmp_path, "r2.835", "N1*PR*ACME ERA SERVICES~\nREF*2U*ACME-ERA~", trace="EFT2")
    toml = config(tmp_path, remit_ids='["12345", "ACME-ERA"]')
    result = import_(era, db, "--config", toml)
    assert result.exit_code == 0, result.output
    assert "other_payer" not in result.output
    assert claims_json(db)[("PCN1", ACME.name)]["paid"] == "80.00"
    # the same id without the configuration: not this claim's payer
    result = import_(without, db)
    assert result.exit_code == 0, result.output
    assert [s["kind"] for s in suspense(db)] == ["other_payer"]
    assert_check(db)


def test_edi_toml_in_the_working_folder_is_read_without_config(tmp_path, db, monkeypatch):
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    config(tmp_path, remit_ids='["ACME-ERA"]')
    monkeypatch.chdir(tmp_path)
    result = import_(remit(tmp_path, "r.835", "N1*PR*ACME~\nREF*2U*ACME-ERA~"), db)
    assert result.exit_code == 0, result.output
    assert claims_json(db)[("PCN1", ACME.name)]["paid"] == "80.00"


def test_cross_payer_post_posts_onto_the_claim_with_a_warning(tmp_path, db):
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    toml = config(tmp_path, cross_payer="post")
    result = import_(remit(tmp_path, "r.835", "N1*PR*SYNTHETIC BLUE PLAN~\nREF*2U*SYNBLUE1~"), db, "--config",
                     toml)
    assert result.exit_code == 0, result.output
    assert "ledger.claim.other_payer" in result.output and "posted onto it" in result.output
    assert claims_json(db)[("PCN1", ACME.name)]["paid"] == "80.00"
    assert suspense(db) == []
    assert_check(db)


def test_an_835_without_payer_id_is_matched_by_the_payers_name(tmp_path, db):
    record(tmp_path, db, "c.837", claim("PCN1", ACME), claim("PCN2", ACME))
    same = import_(remit(tmp_path, "same.835", "N1*PR*acme  synthetic health plan~"), db)  # case, spacing
    assert same.exit_code == 0, same.output
    assert claims_json(db)[("PCN1", ACME.name)]["paid"] == "80.00"
    other = import_(remit(tmp_path, "other.835", "N1*PR*SYNTHETIC BLUE PLAN~", pcn="PCN2", trace="EFT2"), db)
    assert other.exit_code == 0, other.output
    assert claims_json(db)[("PCN2", ACME.name)]["paid"] == "0.00"
    assert [s["kind"] for s in suspense(db)] == ["other_payer"]
    assert_check(db)


def test_an_835_that_names_no_payer_at_all_matches_by_claim_number_with_a_warning(tmp_path, db):
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    result = import_(remit(tmp_path, "r.835", ""), db)
    assert "ledger.payer.unknown" in result.output
    assert claims_json(db)[("PCN1", ACME.name)]["paid"] == "80.00"
    assert_check(db)


def test_a_reversal_from_another_payer_does_not_reverse_this_payers_payment(tmp_path, db):
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    assert import_(remit(tmp_path, "pay.835", "N1*PR*ACME~\nREF*2U*SYNACME1~"), db).exit_code == 0
    body = """
    BPR*I*-80*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250301~
    TRN*1*EFT9*1512345678~
    N1*PR*SYNTHETIC BLUE PLAN~
    REF*2U*SYNBLUE1~
    N1*PE*SYNTH CLINIC*XX*1234567893~
    CLP*PCN1*22*-100*-80**12*ICN-EFT1*11*1~
    CAS*CO*45*-20~
    """
    (tmp_path / "rev.835").write_bytes(interchange(body))
    result = import_(str(tmp_path / "rev.835"), db)
    assert "Traceback" not in result.output
    c = claims_json(db)[("PCN1", ACME.name)]
    assert (c["status"], c["paid"]) == ("paid", "80.00")  # ACME's payment stands
    assert [s["kind"] for s in suspense(db)] == ["other_payer"]
    assert_check(db)


def test_payer_matching_through_the_library(tmp_path, db):
    """The facade takes the aliases directly (what --config builds from edi.toml)."""
    record(tmp_path, db, "c.837", claim("PCN1", ACME))
    ledger = Ledger(db)
    try:
        r = ledger.import_835(remit(tmp_path, "r.835", "N1*PR*X~\nREF*2U*12345~"),
                              payers=PayerMatching(aliases={"12345": frozenset({"SYNACME1"})}))
        assert r.outcome == "imported" and (r.posted.matched, r.posted.suspense) == (1, 0)
    finally:
        ledger.close()
    with pytest.raises(ValueError):
        PayerMatching(cross_payer="guess")
