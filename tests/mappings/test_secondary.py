"""Claims to the next payer (mappings.secondary, issue 17), on SQLite and, when EDI_TEST_POSTGRES_URL is set,
PostgreSQL: the primary claim names the other coverage; the primary's 835 is posted (CO-45, PR-1 and PR-2 on
different lines, one line denied); the secondary 837P is built from it, valid to pyx12, read back to the same
2320/2430 amounts, and recorded against the second payer with what the primary left open; then the secondary's
own 835 (CLP02 = 2, OA-23 for the primary's part) posts against it, and its reversal gives the balance back. The
tertiary scenario (an 837I with three coverages) goes one payer further: the claim to the third payer carries the
primary's and the secondary's adjudications, each in its own 2320 and 2430 loops, and its 835 (CLP02 = 3) posts."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner
from x12text import COB_PRIMARY_835 as PRIMARY_835
from x12text import interchange

from cli.main import app
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

#: BLUE's 835 for the secondary claim of ENC-C-0001: processed as secondary (CLP02 = 2), the whole charge again,
#: the primary's part (135.50 paid + 72.00 CO) as OA-23, 32.00 paid of the 40.00 left open, 8.00 coinsurance.
SECONDARY_835 = """BPR*I*{paid}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250915~
TRN*1*{trace}*1512345678~
N1*PR*SYNTHETIC BLUE PLAN*XV*SYNBLUE1~
N1*PE*SYNTH FAMILY CLINIC*XX*1234567893~
CLP*ENC-C-0001*{status}*{sign}247.5*{sign}32*{sign}8*12*ICNB1*11*1~
CAS*OA*23*{sign}207.5~
CAS*PR*2*{sign}8~
NM1*QC*1*TESTPERSON*ALEX****MI*SYNM00001102~
"""


def secondary_remit(tmp_path: Path, status: str = "2") -> str:
    reversal = status == "22"
    path = tmp_path / f"secondary-{status}.835"
    path.write_bytes(interchange(SECONDARY_835.format(paid="32" if not reversal else "0", sign="-" if reversal else "",
                                                      trace=f"EFTB{status}", status=status)))
    if reversal:  # the money taken back: BPR02 is what the detail posts, a debit of 32.00
        path.write_bytes(path.read_bytes().replace(b"BPR*I*0*C*", b"BPR*I*32*D*"))
    return str(path)


def ledger_claims(db: str) -> dict[tuple[str, str], dict]:
    """`edi ledger claims --json`, by number and payer; `edi ledger check` passes."""
    runner = CliRunner()
    listed = runner.invoke(app, ["ledger", "claims", "--json", "--db", db])
    assert listed.exit_code == 0, listed.output
    check = runner.invoke(app, ["ledger", "check", "--json", "--db", db])
    assert (check.exit_code, json.loads(check.stdout)) == (0, {"ok": True, "problems": []}), check.output
    return {(c["patient_control_number"], c["payer"]): c for c in json.loads(listed.stdout)}


def aging(ledger: Ledger, pcn: str = "ENC-C-0001") -> dict[str, tuple[str, str]]:
    """`edi ledger aging --by claim` of one number: payer -> (insurance A/R, patient A/R) of its claim there."""
    return {row.payer: (str(row.insurance_total), str(row.patient_total))
            for row in ledger.aging_claims(as_of=date(2099, 12, 31)) if row.claim == pcn}


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
    # the claim to the next payer waits for its 835: --all-ready passes it by without reading its 837, which a
    # billing office may have archived (moved away) once it was sent
    for sent in (tmp_path / "sec").glob("*.837"):
        sent.rename(tmp_path / sent.name)
    ready = build_secondary(ledger, config, all_ready=True, out_dir=str(tmp_path / "sec"), now=BILLED)
    assert ready.claims == [] and ready.files == [] and ready.ok


def test_the_secondarys_835_posts_against_the_secondary_claim(tmp_path, db, ledger, config):
    built(ledger, config, tmp_path)
    assert ledger.import_835(remit(tmp_path), payers=config.payer_matching()).outcome == "imported"
    assert aging(ledger) == {"ACME SYNTHETIC HEALTH PLAN": ("0.00", "40.00")}
    assert build_secondary(ledger, config, ["ENC-C-0001"], out_dir=str(tmp_path / "sec"), now=BILLED).built == 1
    # billed to the next payer, the 40.00 the primary left is that payer's to pay: no patient A/R anywhere yet
    assert aging(ledger) == {"SYNTHETIC BLUE PLAN": ("40.00", "0.00")}
    posted = ledger.import_835(secondary_remit(tmp_path), payers=config.payer_matching())
    assert posted.outcome == "imported" and [p.code for p in posted.problems] == []

    primary = {"patient_control_number": "ENC-C-0001", "payer": "ACME SYNTHETIC HEALTH PLAN", "status": "paid",
               "billed": "247.50", "paid": "135.50",
               "adjustments": {"CO": "72.00", "PR": "40.00", "OA": "0.00", "PI": "0.00"}, "denied": "0.00",
               "written_off": "0.00", "patient_responsibility": "0.00", "insurance_balance": "0.00",
               "remittances": ["EFT1"]}
    # the secondary's OA-23 was not taken off again: the prior_payer entry's OA-23 (the whole charge) stands
    # alone; its PR postings are the 40.00 moved to it and the 8.00 moved back, and what the patient owes after
    # the last payer (8.00) is its figure, the primary's passed on to it
    secondary = {"patient_control_number": "ENC-C-0001", "payer": "SYNTHETIC BLUE PLAN", "status": "paid",
                 "billed": "247.50", "paid": "32.00",
                 "adjustments": {"CO": "0.00", "PR": "-32.00", "OA": "247.50", "PI": "0.00"}, "denied": "0.00",
                 "written_off": "0.00", "patient_responsibility": "8.00", "insurance_balance": "0.00",
                 "remittances": ["EFTB2"]}
    figures = ledger_claims(db)
    assert figures[("ENC-C-0001", "ACME SYNTHETIC HEALTH PLAN")] == primary
    assert figures[("ENC-C-0001", "SYNTHETIC BLUE PLAN")] == secondary
    story = ledger.claim("ENC-C-0001")
    assert story is not None and [[e["kind"] for e in c["entries"]] for c in story["claims"]] == [
        ["charge", "payment"], ["charge", "prior_payer", "payment"]]
    assert ledger.left_open("ENC-C-0001", "SYNBLUE1") == D("8")  # what a tertiary claim would expect
    # the patient owes the 8.00 the last payer left, on that payer's claim; the primary's claim is closed
    assert aging(ledger) == {"SYNTHETIC BLUE PLAN": ("0.00", "8.00")}

    back = ledger.import_835(secondary_remit(tmp_path, "22"), payers=config.payer_matching())
    assert back.outcome == "imported" and [p.code for p in back.problems] == []
    figures = ledger_claims(db)
    assert figures[("ENC-C-0001", "ACME SYNTHETIC HEALTH PLAN")] == primary | {"patient_responsibility": "40.00"}
    assert figures[("ENC-C-0001", "SYNTHETIC BLUE PLAN")] == secondary | {
        "status": "reversed", "paid": "0.00", "adjustments": {"CO": "0.00", "PR": "-40.00", "OA": "247.50",
                                                             "PI": "0.00"},
        "patient_responsibility": "-40.00", "insurance_balance": "40.00", "remittances": ["EFTB2", "EFTB22"]}
    assert aging(ledger) == {"SYNTHETIC BLUE PLAN": ("40.00", "0.00")}


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


#: The tertiary scenario (issue 17 item 5): ENC-C-0003 (837I, charge 3750.25) has three coverages, Medicare A,
#: a supplement (ACME) and Medicaid. Medicare A pays 2900.00 of it: line 1 (revenue code 0120 alone, SVC01 NU)
#: 2800.00 with CO-45 500.00 and PR-1 300.00, line 2 (0300, 80053) 100.00 with CO-45 30.25 and PR-2 20.00;
#: 320.00 left open.
MEDICARE_835 = """BPR*I*2900*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250820~
TRN*1*EFTM1*1512345678~
N1*PR*SYNTHETIC MEDICARE PART A*XV*SYNMCRA1~
N1*PE*SYNTH COMMUNITY HOSPITAL*XX*1500000009~
CLP*ENC-C-0003*1*3750.25*2900*320*MA*ICNM1*11*1~
NM1*QC*1*TESTSENIOR*PAT****MI*SYNM00001301~
SVC*NU:0120*3600*2800**2~
DTM*472*20250714~
CAS*CO*45*500~
CAS*PR*1*300~
REF*6R*ENC-C-0003-1~
SVC*HC:80053*150.25*100*0300*1~
DTM*472*20250714~
CAS*CO*45*30.25~
CAS*PR*2*20~
REF*6R*ENC-C-0003-2~
"""

#: ACME's 835 for the secondary claim (CLP02 = 2): per line, the whole charge again, Medicare's part as OA-23
#: (3300.00 and 130.25), 265.00 paid of the 320.00 left open, 55.00 left as coinsurance (PR-2).
SUPPLEMENT_835 = """BPR*I*265*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250915~
TRN*1*EFTS2*1512345678~
N1*PR*ACME SYNTHETIC HEALTH PLAN*XV*SYNACME1~
N1*PE*SYNTH COMMUNITY HOSPITAL*XX*1500000009~
CLP*ENC-C-0003*2*3750.25*265*55*12*ICNS2*11*1~
NM1*QC*1*TESTSENIOR*PAT****MI*SYNM00001302~
SVC*NU:0120*3600*250**2~
DTM*472*20250714~
CAS*OA*23*3300~
CAS*PR*2*50~
REF*6R*ENC-C-0003-1~
SVC*HC:80053*150.25*15*0300*1~
DTM*472*20250714~
CAS*OA*23*130.25~
CAS*PR*2*5~
REF*6R*ENC-C-0003-2~
"""

#: Medicaid's 835 for the tertiary claim (CLP02 = 3): the two payers before as OA-23 (3550.00 and 145.25),
#: the 55.00 the supplement left open paid in full.
MEDICAID_835 = """BPR*I*55*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20251001~
TRN*1*EFTT3*1512345678~
N1*PR*SYNTHETIC STATE MEDICAID*XV*SYNMCD01~
N1*PE*SYNTH COMMUNITY HOSPITAL*XX*1500000009~
CLP*ENC-C-0003*3*3750.25*55*0*MC*ICNT3*11*1~
NM1*QC*1*TESTSENIOR*PAT****MI*SYNM00001303~
SVC*NU:0120*3600*50**2~
DTM*472*20250714~
CAS*OA*23*3550~
REF*6R*ENC-C-0003-1~
SVC*HC:80053*150.25*5*0300*1~
DTM*472*20250714~
CAS*OA*23*145.25~
REF*6R*ENC-C-0003-2~
"""

#: Medicaid takes its payment back (CLP02 = 22, every amount negated): the 55.00 is its to pay again.
MEDICAID_REVERSAL_835 = (MEDICAID_835.replace("BPR*I*55*C*", "BPR*I*55*D*").replace("EFTT3", "EFTT4")
                         .replace("*3*3750.25*55*", "*22*-3750.25*-55*").replace("*3600*50*", "*-3600*-50*")
                         .replace("*150.25*5*", "*-150.25*-5*").replace("OA*23*", "OA*23*-"))


def post(ledger: Ledger, config, tmp_path: Path, name: str, text: str) -> None:
    """One payer's 835 imported with no problem: each payer's part must post cleanly, not merely be accepted."""
    path = tmp_path / f"{name}.835"
    path.write_bytes(interchange(text))
    posted = ledger.import_835(str(path), payers=config.payer_matching())
    assert posted.outcome == "imported" and [p.code for p in posted.problems] == [], posted.problems


def next_claim(ledger: Ledger, config, tmp_path: Path, payer_id: str, next_payer_id: str, left: str,
               paid: str) -> str:
    """`edi claims secondary` for ENC-C-0003: built to ``next_payer_id``, its 837 valid to pyx12 (deep)."""
    result = build_secondary(ledger, config, ["ENC-C-0003"], out_dir=str(tmp_path / "next"), now=BILLED)
    assert result.ok and result.built == 1, [c.as_dict() for c in result.claims]
    (done,) = result.claims
    assert (done.payer_id, done.next_payer_id, done.left_open, done.paid) == (payer_id, next_payer_id, D(left),
                                                                              D(paid))
    (f,) = result.files
    report = validate_path(f.path, deep=True)
    assert [str(p) for p in report.problems if p.is_error] == [] and report.ok
    return f.path


def test_the_tertiary_scenario_bills_the_third_payer(tmp_path, db, ledger, config):
    built(ledger, config, tmp_path)
    post(ledger, config, tmp_path, "medicare", MEDICARE_835)
    next_claim(ledger, config, tmp_path, "SYNMCRA1", "SYNACME1", "320", "2900")
    post(ledger, config, tmp_path, "supplement", SUPPLEMENT_835)
    assert ledger.left_open("ENC-C-0003", "SYNACME1") == D("55")
    path = next_claim(ledger, config, tmp_path, "SYNACME1", "SYNMCD01", "55", "265")
    assert Path(path).name.startswith("testbridge-")

    (claim,) = read_837(path)  # the tertiary claim: both payers before, each with its own adjudication
    assert (claim.payer.payer_id, claim.payer.responsibility, claim.subscriber.member_id, claim.patient) == (
        "SYNMCD01", "T", "SYNM00001303", None)
    assert [(o.payer.payer_id, o.payer.responsibility, o.relationship, o.subscriber.member_id, o.paid,
             o.claim_number, o.adjustments, o.adjudicated) for o in claim.other_payers] == [
        ("SYNMCRA1", "P", "18", "SYNM00001301", D("2900"), "ICNM1", (), True),
        ("SYNACME1", "S", "18", "SYNM00001302", D("265"), "ICNS2", (), True)]
    medicare, supplement = date(2025, 8, 20), date(2025, 9, 15)
    lines = [[(a.payer_id, a.paid, a.procedure, a.revenue_code, a.units, a.adjustments, a.adjudication_date,
               a.remaining_patient_liability) for a in ln.adjudications] for ln in claim.lines]
    assert lines == [
        [("SYNMCRA1", D("2800"), None, "0120", D("2"), (Adjustment("CO", "45", D("500")),
                                                         Adjustment("PR", "1", D("300"))), medicare, D("300")),
         ("SYNACME1", D("250"), None, "0120", D("2"), (Adjustment("OA", "23", D("3300")),
                                                        Adjustment("PR", "2", D("50"))), supplement, D("50"))],
        [("SYNMCRA1", D("100"), "80053", "0300", D("1"), (Adjustment("CO", "45", D("30.25")),
                                                           Adjustment("PR", "2", D("20"))), medicare, D("20")),
         ("SYNACME1", D("15"), "80053", "0300", D("1"), (Adjustment("OA", "23", D("130.25")),
                                                          Adjustment("PR", "2", D("5"))), supplement, D("5"))],
    ]
    text = Path(path).read_bytes().decode()  # AMT*D per payer in 2320, SVD01 naming each payer per line
    assert [s for s in text.replace("\n", "").split("~") if s.startswith(("AMT*D", "SVD*"))] == [
        "AMT*D*2900", "AMT*D*265", "SVD*SYNMCRA1*2800**0120*2", "SVD*SYNACME1*250**0120*2",
        "SVD*SYNMCRA1*100*HC:80053*0300*1", "SVD*SYNACME1*15*HC:80053*0300*1"]

    medicare_a = {"patient_control_number": "ENC-C-0003", "payer": "SYNTHETIC MEDICARE PART A", "status": "paid",
                  "billed": "3750.25", "paid": "2900.00",
                  "adjustments": {"CO": "530.25", "PR": "320.00", "OA": "0.00", "PI": "0.00"}, "denied": "0.00",
                  "written_off": "0.00", "patient_responsibility": "0.00", "insurance_balance": "0.00",
                  "remittances": ["EFTM1"]}
    # the supplement's prior_payer entry moved Medicare's 320.00 to it and its 835 moved 55.00 back; Medicaid's
    # prior_payer entry moved them on, but until Medicaid adjudicates, the 55.00 stays the supplement's figure
    acme = {"patient_control_number": "ENC-C-0003", "payer": "ACME SYNTHETIC HEALTH PLAN", "status": "paid",
            "billed": "3750.25", "paid": "265.00",
            "adjustments": {"CO": "0.00", "PR": "-265.00", "OA": "3750.25", "PI": "0.00"}, "denied": "0.00",
            "written_off": "0.00", "patient_responsibility": "55.00", "insurance_balance": "0.00",
            "remittances": ["EFTS2"]}
    medicaid = {"patient_control_number": "ENC-C-0003", "payer": "SYNTHETIC STATE MEDICAID", "status": "built",
                "billed": "3750.25", "paid": "0.00",
                "adjustments": {"CO": "0.00", "PR": "-55.00", "OA": "3750.25", "PI": "0.00"}, "denied": "0.00",
                "written_off": "0.00", "patient_responsibility": "-55.00", "insurance_balance": "55.00",
                "remittances": []}
    payers = ("SYNTHETIC MEDICARE PART A", "ACME SYNTHETIC HEALTH PLAN", "SYNTHETIC STATE MEDICAID")
    figures = ledger_claims(db)
    assert [figures[("ENC-C-0003", p)] for p in payers] == [medicare_a, acme, medicaid]
    assert aging(ledger, "ENC-C-0003") == {"SYNTHETIC STATE MEDICAID": ("55.00", "0.00")}

    post(ledger, config, tmp_path, "medicaid", MEDICAID_835)
    # Medicaid's OA-23 (the two payers before) is not taken off again: it pays the 55.00 left open, nothing is
    # left to the patient, and the three payers' figures add up to the charge (2900 + 265 + 55 paid, 530.25 CO)
    figures = ledger_claims(db)
    assert [figures[("ENC-C-0003", p)] for p in payers] == [medicare_a, acme | {"patient_responsibility": "0.00"},
                                                            medicaid | {
        "status": "paid", "paid": "55.00", "patient_responsibility": "0.00", "insurance_balance": "0.00",
        "remittances": ["EFTT3"]}]
    assert ledger.left_open("ENC-C-0003", "SYNMCD01") == D("0")
    assert aging(ledger, "ENC-C-0003") == {}  # nothing open: three payers paid it all
    story = ledger.claim("ENC-C-0003")
    assert story is not None and [[e["kind"] for e in c["entries"]] for c in story["claims"]] == [
        ["charge", "payment"], ["charge", "prior_payer", "payment"], ["charge", "prior_payer", "payment"]]
    again = build_secondary(ledger, config, ["ENC-C-0003"], out_dir=str(tmp_path / "next"), now=BILLED)
    assert [c.outcome for c in again.claims] == ["no_next_payer"] and again.files == []

    post(ledger, config, tmp_path, "medicaid-reversal", MEDICAID_REVERSAL_835)  # the third payer takes it back
    figures = ledger_claims(db)
    assert [figures[("ENC-C-0003", p)] for p in payers] == [medicare_a, acme, medicaid | {
        "status": "reversed", "remittances": ["EFTT3", "EFTT4"]}]
    assert aging(ledger, "ENC-C-0003") == {"SYNTHETIC STATE MEDICAID": ("55.00", "0.00")}
    assert ledger.left_open("ENC-C-0003", "SYNMCD01") is None  # its adjudication is withdrawn
