"""Claims to the next payer (mappings.secondary, issue 17), on SQLite and, when EDI_TEST_POSTGRES_URL is set,
PostgreSQL: the primary claim names the other coverage; the primary's 835 is posted (CO-45, PR-1 and PR-2 on
different lines, one line denied); the secondary 837P is built from it, valid to pyx12, read back to the same
2320/2430 amounts, and recorded against the second payer with what the primary left open."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from x12text import interchange

from edi.ledger import Ledger
from edi.model import Adjustment
from edi.validate import validate_path
from edi.x837.reader import read_837
from mappings.build import build_files
from mappings.config import load_config
from mappings.secondary import build_secondary

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ENCOUNTERS = str(SAMPLES / "encounters" / "two-coverages.json")
TODAY, BUILT, BILLED = date(2025, 9, 1), datetime(2025, 9, 1, 12), datetime(2025, 9, 10, 9)

#: ACME's 835 for ENC-C-0001 (charge 247.50): line 1 CO-45 and PR-2 (coinsurance), line 2 CO-45 and PR-1
#: (deductible), line 3 denied (CO-50); 135.50 paid, 40.00 left to the patient.
PRIMARY_835 = """BPR*I*{paid}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250820~
TRN*1*{trace}*1512345678~
N1*PR*ACME SYNTHETIC HEALTH PLAN*XV*SYNACME1~
N1*PE*SYNTH FAMILY CLINIC*XX*1234567893~
CLP*ENC-C-0001*{status}*247.5*{paid}*40*12*ICNA1*11*1~
NM1*QC*1*TESTPERSON*ALEX****MI*SYNM00001101~
SVC*HC:99214*180*120**1~
DTM*472*20250505~
CAS*CO*45*40~
CAS*PR*2*20~
REF*6R*C1-A~
SVC*HC:83036*45.5*15.5**1~
DTM*472*20250505~
CAS*CO*45*10~
CAS*PR*1*20~
REF*6R*C1-B~
SVC*HC:82947*22*0**1~
DTM*472*20250505~
CAS*CO*50*22~
REF*6R*C1-C~
"""


def remit(tmp_path: Path, status: str = "1") -> str:
    path = tmp_path / f"primary-{status}.835"
    path.write_bytes(interchange(PRIMARY_835.format(paid="135.5", trace=f"EFT{status}", status=status)))
    return str(path)


@pytest.fixture
def ledger(db):
    led = Ledger(db)
    yield led
    assert led.check() == []  # the invariants hold across payers
    led.close()


@pytest.fixture
def config():
    return load_config(str(SAMPLES / "edi.toml"))


def built(ledger: Ledger, config, tmp_path: Path) -> None:
    result = build_files([ENCOUNTERS], config, ledger=ledger, out_dir=str(tmp_path / "out"), today=TODAY, now=BUILT)
    assert result.ok and result.claims == 3, result.problems


def test_the_primary_claim_names_the_other_coverage(tmp_path, config):
    led = Ledger(f"sqlite:///{tmp_path / 'edi.db'}")
    built(led, config, tmp_path)
    read = {}
    for f in sorted((tmp_path / "out").glob("*.837")):
        report = validate_path(str(f), deep=True)
        assert report.ok and [p for p in report.problems if p.is_error] == [], f
        read |= {c.patient_control_number: c for c in read_837(str(f))}
    named = {pcn: [(o.payer.payer_id, o.payer.responsibility, o.relationship, o.subscriber.member_id,
                    o.subscriber.group_number, o.adjudicated) for o in c.other_payers] for pcn, c in read.items()}
    assert named == {
        "ENC-C-0001": [("SYNBLUE1", "S", "01", "SYNM00001102", "SYNGRP200", False)],
        "ENC-C-0002": [("SYNACME1", "S", "19", "SYNM00001202", "SYNGRP110", False)],
        "ENC-C-0003": [("SYNACME1", "S", "18", "SYNM00001302", "SYNGRP130", False),
                       ("SYNMCD01", "T", "18", "SYNM00001303", None, False)],
    }
    assert read["ENC-C-0001"].other_payers[0].subscriber.last_name == "TESTSPOUSE"
    led.close()


def test_the_worked_scenario_bills_the_secondary(tmp_path, ledger, config):
    built(ledger, config, tmp_path)
    assert ledger.import_835(remit(tmp_path), payers=config.payer_matching()).outcome == "imported"
    assert ledger.left_open("ENC-C-0001", "SYNACME1") == D("40")
    result = build_secondary(ledger, config, ["ENC-C-0001", "ENC-C-0002"], out_dir=str(tmp_path / "sec"),
                             now=BILLED)
    assert result.ok and result.built == 1
    done, waiting = result.claims
    assert (done.outcome, done.payer_id, done.next_payer_id, done.left_open, done.paid) == (
        "built", "SYNACME1", "SYNBLUE1", D("40"), D("135.5"))
    assert (waiting.outcome, waiting.next_payer_id) == ("not_adjudicated", "SYNACME1")
    (f,) = result.files
    assert (Path(f.path).name, f.clearinghouse, f.claims) == ("testbridge-000000002.837", "testbridge", 1)
    report = validate_path(f.path, deep=True)
    assert [str(p) for p in report.problems if p.is_error] == [] and report.ok

    (claim,) = read_837(f.path)  # the round trip: the same 2320/2430 amounts
    assert (claim.payer.payer_id, claim.payer.responsibility, claim.subscriber.member_id) == ("SYNBLUE1", "S",
                                                                                                "SYNM00001102")
    assert claim.patient is not None and (claim.patient.last_name, claim.patient.relationship) == ("TESTPERSON",
                                                                                                   "01")
    (primary,) = claim.other_payers
    assert (primary.payer.payer_id, primary.payer.responsibility, primary.relationship, primary.paid,
            primary.claim_number, primary.adjustments) == ("SYNACME1", "P", "18", D("135.5"), "ICNA1", ())
    lines = [[(a.payer_id, a.paid, a.procedure, a.units, a.adjustments, a.adjudication_date,
               a.remaining_patient_liability) for a in ln.adjudications] for ln in claim.lines]
    paid_on = date(2025, 8, 20)
    assert lines == [
        [("SYNACME1", D("120"), "99214", D("1"), (Adjustment("CO", "45", D("40")), Adjustment("PR", "2", D("20"))),
          paid_on, D("20"))],
        [("SYNACME1", D("15.5"), "83036", D("1"), (Adjustment("CO", "45", D("10")), Adjustment("PR", "1", D("20"))),
          paid_on, D("20"))],
        [("SYNACME1", D("0"), "82947", D("1"), (Adjustment("CO", "50", D("22")),), paid_on, D("0"))],
    ]

    figures = {(b.patient_control_number, b.payer): b.as_dict() for b in ledger.claims()}
    assert figures[("ENC-C-0001", "SYNTHETIC BLUE PLAN")] == {
        "patient_control_number": "ENC-C-0001", "payer": "SYNTHETIC BLUE PLAN", "status": "built",
        "billed": "247.50", "paid": "0.00", "adjustments": {"CO": "0.00", "PR": "-40.00", "OA": "247.50",
                                                            "PI": "0.00"},
        "denied": "0.00", "written_off": "0.00", "patient_responsibility": "-40.00", "insurance_balance": "40.00",
        "remittances": []}
    first = figures[("ENC-C-0001", "ACME SYNTHETIC HEALTH PLAN")]
    assert (first["paid"], first["adjustments"]["CO"], first["patient_responsibility"],
            first["insurance_balance"]) == ("135.50", "72.00", "40.00", "0.00")
    story = ledger.claim("ENC-C-0001")
    assert story is not None and [c["claim"]["payer"] for c in story["claims"]] == [
        "ACME SYNTHETIC HEALTH PLAN", "SYNTHETIC BLUE PLAN"]
    assert [e["kind"] for e in story["claims"][1]["entries"]] == ["charge", "prior_payer"]

    again = build_secondary(ledger, config, ["ENC-C-0001"], out_dir=str(tmp_path / "sec"), now=BILLED)
    assert [c.outcome for c in again.claims] == ["no_next_payer"] and again.files == []
    ready = build_secondary(ledger, config, all_ready=True, out_dir=str(tmp_path / "sec"), now=BILLED)
    assert ready.claims == [] and ready.files == []


def test_a_crossed_over_claim_builds_nothing(tmp_path, ledger, config):
    built(ledger, config, tmp_path)
    assert ledger.import_835(remit(tmp_path, status="19"), payers=config.payer_matching()).outcome == "imported"
    result = build_secondary(ledger, config, all_ready=True, out_dir=str(tmp_path / "sec"), now=BILLED)
    (claim,) = result.claims
    assert (claim.outcome, claim.next_payer_id) == ("crossed_over", "SYNBLUE1")
    assert "forwarded the claim to the next payer itself" in claim.message
    assert result.files == [] and result.ok and not list((tmp_path / "sec").glob("*.837"))
    assert [b.payer for b in ledger.claims() if b.patient_control_number == "ENC-C-0001"] == [
        "ACME SYNTHETIC HEALTH PLAN"]


def test_an_unknown_claim_is_an_error(tmp_path, ledger, config):
    result = build_secondary(ledger, config, ["NOPE"], out_dir=str(tmp_path / "sec"), now=BILLED)
    assert [(c.outcome, [p.code for p in c.problems]) for c in result.claims] == [
        ("not_found", ["secondary.not_found"])]
    assert not result.ok
