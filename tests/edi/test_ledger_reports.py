"""Aging, denials and variance (edi.ledger.reports), worked scenario by scenario on SQLite and PostgreSQL.

Claims are recorded from 837s edi writes, 835s are posted inline, and every figure of the views is asserted:
aging buckets on their exact day edges (30/31, 60/61, 90/91, 120/121), a denied line inside a paid claim beside a
denied claim, and lines paid below, above and at the contract.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from x12text import interchange

from edi.fees import parse_fee_schedule
from edi.ledger import Ledger
from edi.model import Address, Claim, Diagnosis, Payer, Provider, ServiceLine, Submitter, Subscriber
from edi.x12.writer import CounterControlNumbers, Party
from edi.x837.writer import build_837

AS_OF = date(2025, 6, 30)
BILLING = Provider("SYNTH CLINIC", npi="1234567893", tax_id="990000001",
                   address=Address("1 MAIN ST", "SPRINGFIELD", "IL", "627010001"))
ACME = Payer("ACME HEALTH", "ACME01")
BLUE = Payer("BLUE PLAN", "BLUE01")
SUBMITTER = Submitter("SYNTH BILLING", "SUBMITTER", "BILLING OFFICE", "5555550100", receiver_name="CLEARINGHOUSE",
                      receiver_id="CH01")


#: The ledgers a test opened, closed when it ends (a PostgreSQL engine left open keeps its connections).
OPENED: list[Ledger] = []


def open_ledger(db: str, clock: Callable[[], datetime] | None = None) -> Ledger:
    ledger = Ledger(db, clock=clock) if clock is not None else Ledger(db)
    OPENED.append(ledger)
    return ledger


@pytest.fixture(autouse=True)
def close_ledgers():
    yield
    while OPENED:
        OPENED.pop().close()


class Clock:
    """The ledger's clock, set by the test: when each thing was recorded is part of the scenario."""

    def __init__(self, when: datetime) -> None:
        self.now = when

    def __call__(self) -> datetime:
        return self.now


def claim(pcn: str, payer: Payer, service: date, *lines: tuple[str, str]) -> Claim:
    """A professional claim; each line is (procedure, charge), line control numbers PCN-1, PCN-2..."""
    sl = tuple(ServiceLine(number=i, charge=D(charge), units=D(1), service_date=service, procedure=proc,
                           diagnosis_pointers=(1,), line_control_number=f"{pcn}-{i}")
               for i, (proc, charge) in enumerate(lines, 1))
    return Claim("professional", pcn, sum((ln.charge for ln in sl), D(0)), BILLING,
                 Subscriber("M123", "DOE", "JANE", birth_date=date(1980, 1, 1), sex="F",
                            address=Address("2 ELM ST", "SPRINGFIELD", "IL", "62701")),
                 payer, (Diagnosis("E119", "ABK"),), sl, place_of_service="11")


def record(ledger: Ledger, tmp: Path, name: str, claims: list[Claim], control: int = 1) -> str:
    out = io.BytesIO()
    build_837(out, claims, SUBMITTER, Party("ZZ", "SUBMITTER"), Party("ZZ", "CH01"),
              CounterControlNumbers(interchange=control, group=control, transaction=control),
              datetime(2025, 6, 1, 9, 0), "T")
    path = tmp / name
    path.write_bytes(out.getvalue())
    result = ledger.record_837(str(path))
    assert result.outcome == "imported", result.message
    return str(path)


def remit(ledger: Ledger, tmp: Path, name: str, payer: Payer, trace: str, amount: str, paid_on: date,
          body: str) -> str:
    """Post an 835 from ``payer`` (named by N1*PR and its id) paying ``amount`` on ``paid_on``."""
    header = f"""
    BPR*I*{amount}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*{paid_on:%Y%m%d}~
    TRN*1*{trace}*1512345678~
    N1*PR*{payer.name}*XV*{payer.payer_id}~
    N3*1 PAYER PLAZA~
    N4*CAPITAL CITY*IL*627010002~
    N1*PE*SYNTH CLINIC*XX*1234567893~
    """
    path = tmp / name
    path.write_bytes(interchange(header + body))
    result = ledger.import_835(str(path))
    assert result.outcome == "imported" and result.ok, (result.message, result.problems)
    return str(path)


def aging_ledger(db: str, tmp: Path) -> tuple[Ledger, Clock]:
    """Eight claims whose ages on AS_OF sit on each side of each bucket edge, and a payment of the youngest."""
    clock = Clock(datetime(2025, 6, 1, 9, 0))
    ledger = open_ledger(db, clock)
    ages = {"A1": (30, ACME, "100"), "A2": (31, ACME, "110"), "A3": (60, ACME, "120"), "A4": (61, ACME, "130"),
            "A5": (90, BLUE, "140"), "A6": (91, BLUE, "150"), "A7": (120, ACME, "160"), "A8": (121, ACME, "170")}
    from datetime import timedelta

    record(ledger, tmp, "aging.837", [claim(pcn, payer, AS_OF - timedelta(days=age), ("99213", charge))
                                      for pcn, (age, payer, charge) in ages.items()])
    clock.now = datetime(2025, 6, 25, 9, 0)
    remit(ledger, tmp, "a1.835", ACME, "EFTA1", "60", date(2025, 6, 20), """
    CLP*A1*1*100*60*15*12*ICNA1*11*1~
    SVC*HC:99213*100*60**1~
    DTM*472*20250531~
    CAS*CO*45*25~
    CAS*PR*2*15~
    REF*6R*A1-1~
    """)
    return ledger, clock


def zero(**amounts: str) -> dict[str, str]:
    out = {b: "0.00" for b in ("0-30", "31-60", "61-90", "91-120", "over 120")}
    out.update({k.replace("_", "-").replace("over-120", "over 120"): v for k, v in amounts.items()})
    return out


def test_aging_by_payer_puts_each_claim_in_its_bucket_on_the_exact_day_edges(tmp_path, db):
    ledger, _ = aging_ledger(db, tmp_path)
    aging = ledger.aging(as_of=AS_OF).as_dict()
    acme, blue = aging["payers"]
    assert acme == {"payer": "ACME HEALTH", "payer_id": "ACME01", "claims": 6,
                    "insurance": {"0-30": "0.00", "31-60": "230.00", "61-90": "130.00", "91-120": "160.00",
                                  "over 120": "170.00"},
                    "insurance_total": "690.00",
                    "patient": {"0-30": "15.00", "31-60": "0.00", "61-90": "0.00", "91-120": "0.00",
                                "over 120": "0.00"},
                    "patient_total": "15.00"}
    assert blue == {"payer": "BLUE PLAN", "payer_id": "BLUE01", "claims": 2,
                    "insurance": {"0-30": "0.00", "31-60": "0.00", "61-90": "140.00", "91-120": "150.00",
                                  "over 120": "0.00"},
                    "insurance_total": "290.00",
                    "patient": zero(), "patient_total": "0.00"}
    assert aging["total"] == {"payer": "all payers", "payer_id": None, "claims": 8,
                              "insurance": {"0-30": "0.00", "31-60": "230.00", "61-90": "270.00", "91-120": "310.00",
                                            "over 120": "170.00"},
                              "insurance_total": "980.00",
                              "patient": {"0-30": "15.00", "31-60": "0.00", "61-90": "0.00", "91-120": "0.00",
                                          "over 120": "0.00"},
                              "patient_total": "15.00"}
    assert (aging["as_of"], aging["basis"], aging["by"]) == ("2025-06-30", "service", "payer")
    assert ledger.check() == []


def test_aging_by_claim_gives_each_claims_age_and_bucket(tmp_path, db):
    ledger, _ = aging_ledger(db, tmp_path)
    rows = [(r.claim, r.age, [b for b, v in r.as_dict()["insurance"].items() if v != "0.00"]
             or [b for b, v in r.as_dict()["patient"].items() if v != "0.00"], r.insurance_total, r.patient_total)
            for r in ledger.aging_claims(as_of=AS_OF)]
    assert sorted(rows) == [
        ("A1", 30, ["0-30"], D("0.00"), D("15.00")),
        ("A2", 31, ["31-60"], D("110.00"), D("0.00")),
        ("A3", 60, ["31-60"], D("120.00"), D("0.00")),
        ("A4", 61, ["61-90"], D("130.00"), D("0.00")),
        ("A5", 90, ["61-90"], D("140.00"), D("0.00")),
        ("A6", 91, ["91-120"], D("150.00"), D("0.00")),
        ("A7", 120, ["91-120"], D("160.00"), D("0.00")),
        ("A8", 121, ["over 120"], D("170.00"), D("0.00")),
    ]


def test_aging_as_of_a_day_counts_only_what_was_posted_by_its_end(tmp_path, db):
    """The payment of A1 was posted on 2025-06-25: as of the 24th, A1 still owes its whole charge."""
    ledger, _ = aging_ledger(db, tmp_path)
    before = {r.claim: r for r in ledger.aging_claims(as_of=date(2025, 6, 24))}
    assert (before["A1"].insurance_total, before["A1"].patient_total, before["A1"].age) == (D("100.00"), D("0.00"), 24)
    after = {r.claim: r for r in ledger.aging_claims(as_of=date(2025, 6, 25))}
    assert (after["A1"].insurance_total, after["A1"].patient_total) == (D("0.00"), D("15.00"))
    # nothing was recorded before 2025-06-01
    assert ledger.aging(as_of=date(2025, 5, 31)).as_dict()["payers"] == []


def test_aging_by_submission_counts_from_the_first_upload_else_from_recording(tmp_path, db):
    clock = Clock(datetime(2025, 5, 1, 10, 0))
    ledger = open_ledger(db, clock)
    record(ledger, tmp_path, "s1.837", [claim("S1", ACME, date(2025, 1, 2), ("99213", "100"))], control=1)
    clock.now = datetime(2025, 6, 15, 10, 0)
    s2 = record(ledger, tmp_path, "s2.837", [claim("S2", ACME, date(2025, 1, 2), ("99213", "200"))], control=2)
    clock.now = datetime(2025, 6, 20, 16, 30)
    from edi.ledger import sha256_of

    sha, size = sha256_of(s2)
    sub = ledger.begin_submission(ledger.recorded_file(sha).id, clearinghouse="ch", remote_name="s2.837",
                                  sha256=sha, size=size)
    ledger.finish_submission(sub)
    rows = {r.claim: (r.basis_date, r.age, r.insurance_total)
            for r in ledger.aging_claims(as_of=AS_OF, basis="submission")}
    assert rows == {"S1": (date(2025, 5, 1), 60, D("100.00")), "S2": (date(2025, 6, 20), 10, D("200.00"))}
    by_payer = ledger.aging(as_of=AS_OF, basis="submission").as_dict()["payers"][0]["insurance"]
    assert by_payer == zero(**{"0-30": "200.00", "31-60": "100.00"})
    # by date of service both are over 120 days old
    assert ledger.aging(as_of=AS_OF).as_dict()["payers"][0]["insurance"] == zero(over_120="300.00")


def denial_ledger(db: str, tmp: Path) -> Ledger:
    """D1 (ACME) paid, its second line denied (CO-97, remark M15); D2 (BLUE) denied whole (CO-50, N115)."""
    clock = Clock(datetime(2025, 4, 20, 9, 0))
    ledger = open_ledger(db, clock)
    record(ledger, tmp, "d.837", [claim("D1", ACME, date(2025, 4, 2), ("99213", "100"), ("81002", "50")),
                                  claim("D2", BLUE, date(2025, 4, 3), ("99214", "200"))])
    clock.now = datetime(2025, 5, 2, 9, 0)
    remit(ledger, tmp, "d2.835", BLUE, "BLUE555", "0", date(2025, 5, 1), """
    CLP*D2*4*200*0**12*ICND2*11*1~
    SVC*HC:99214*200*0**1~
    DTM*472*20250403~
    CAS*CO*50*200~
    REF*6R*D2-1~
    LQ*HE*N115~
    """)
    clock.now = datetime(2025, 6, 11, 9, 0)
    remit(ledger, tmp, "d1.835", ACME, "ACME777", "80", date(2025, 6, 10), """
    CLP*D1*1*150*80*0*12*ICND1*11*1~
    SVC*HC:99213*100*80**1~
    DTM*472*20250402~
    CAS*CO*45*20~
    REF*6R*D1-1~
    SVC*HC:81002*50*0**1~
    DTM*472*20250402~
    CAS*CO*97*50~
    REF*6R*D1-2~
    LQ*HE*M15~
    """)
    return ledger


def test_denials_list_a_denied_claim_and_a_denied_line_inside_a_paid_claim(tmp_path, db):
    ledger = denial_ledger(db, tmp_path)
    items = [d.as_dict() for d in ledger.denials(as_of=AS_OF, appeal_days={"ACME01": 90})]
    assert items == [
        {"level": "claim", "claim": "D2", "claim_status": "denied", "payer": "BLUE PLAN", "payer_id": "BLUE01",
         "trace_number": "BLUE555", "payer_claim_number": "ICND2", "line": None, "procedure": None,
         "denied_on": "2025-05-01", "amount": "200.00",
         "codes": [{"group": "CO", "reason": "50", "amount": "200.00", "remarks": ["N115"]}],
         "age": 60, "appeal_by": None, "days_left": None},
        {"level": "line", "claim": "D1", "claim_status": "paid", "payer": "ACME HEALTH", "payer_id": "ACME01",
         "trace_number": "ACME777", "payer_claim_number": "ICND1", "line": 2, "procedure": "81002",
         "denied_on": "2025-06-10", "amount": "50.00",
         "codes": [{"group": "CO", "reason": "97", "amount": "50.00", "remarks": ["M15"]}],
         "age": 20, "appeal_by": "2025-09-08", "days_left": 70},
    ]
    assert ledger.denial_summary().as_dict() == {
        "by_reason": [{"group": "CO", "reason": "50", "items": 1, "amount": "200.00"},
                      {"group": "CO", "reason": "97", "items": 1, "amount": "50.00"}],
        "by_payer": [{"payer": "BLUE PLAN", "payer_id": "BLUE01", "items": 1, "amount": "200.00"},
                     {"payer": "ACME HEALTH", "payer_id": "ACME01", "items": 1, "amount": "50.00"}],
        "items": 2, "amount": "250.00"}
    # the paid line of D1 is no denial; --since leaves out what was denied before
    since = [d.claim for d in ledger.denials(as_of=AS_OF, since=date(2025, 6, 1))]
    assert since == ["D1"]
    assert ledger.denial_summary(since=date(2025, 6, 1)).as_dict()["amount"] == "50.00"
    # an appeal deadline passed is a negative number of days left
    late = next(ledger.denials(as_of=date(2025, 10, 1), since=date(2025, 6, 1), appeal_days={"ACME01": 90}))
    assert (late.appeal_by, late.days_left) == (date(2025, 9, 8), -23)
    assert ledger.check() == []


def test_a_denial_reversed_since_leaves_the_work_list(tmp_path, db):
    ledger = denial_ledger(db, tmp_path)
    remit(ledger, tmp_path, "rev.835", BLUE, "BLUE556", "0", date(2025, 6, 20), """
    CLP*D2*22*-200*0**12*ICND2*11*1~
    CAS*CO*50*-200~
    """)
    assert [d.claim for d in ledger.denials(as_of=AS_OF)] == ["D1"]
    assert ledger.denial_summary().as_dict()["by_reason"] == [
        {"group": "CO", "reason": "97", "items": 1, "amount": "50.00"}]


FEES = """payer,code,modifier,allowed
acme,99213,,100.00
acme,99214,,150.00
*,81002,,10.00
"""
KEYS = {"ACME01": "acme", "BLUE01": "blue"}


def variance_ledger(db: str, tmp: Path) -> tuple[Ledger, list[str]]:
    """V1 (ACME): 99213 allowed 95.00 by AMT*B6 (contract 100: below), 99214 charge 200 - CO 40 = 160 (contract
    150: above), 81002 12 - CO 2 = 10 (equal); V2 (BLUE): 99213 with no row for BLUE (unpriced)."""
    clock = Clock(datetime(2025, 5, 1, 9, 0))
    ledger = open_ledger(db, clock)
    record(ledger, tmp, "v.837", [claim("V1", ACME, date(2025, 4, 2), ("99213", "130"), ("99214", "200"),
                                        ("81002", "12")),
                                  claim("V2", BLUE, date(2025, 4, 3), ("99213", "120"))])
    clock.now = datetime(2025, 5, 20, 9, 0)
    paths = [remit(ledger, tmp, "v1.835", ACME, "ACMEV1", "245", date(2025, 5, 19), """
    CLP*V1*1*342*245*20*12*ICNV1*11*1~
    SVC*HC:99213*130*76**1~
    DTM*472*20250402~
    CAS*CO*45*35~
    CAS*PR*2*19~
    REF*6R*V1-1~
    AMT*B6*95~
    SVC*HC:99214*200*160**1~
    DTM*472*20250402~
    CAS*CO*45*40~
    REF*6R*V1-2~
    SVC*HC:81002*12*9**1~
    DTM*472*20250402~
    CAS*CO*45*2~
    CAS*PR*2*1~
    REF*6R*V1-3~
    """), remit(ledger, tmp, "v2.835", BLUE, "BLUEV2", "90", date(2025, 5, 19), """
    CLP*V2*1*120*90*0*12*ICNV2*11*1~
    SVC*HC:99213*120*90**1~
    DTM*472*20250403~
    CAS*CO*45*30~
    REF*6R*V2-1~
    """)]
    return ledger, paths


def test_variance_finds_a_line_below_contract_and_one_above(tmp_path, db):
    ledger, _ = variance_ledger(db, tmp_path)
    fees = parse_fee_schedule([r.split(",") for r in FEES.strip().splitlines()])
    problems: list = []
    lines = [v.as_dict() for v in ledger.variance(fees, KEYS, problems)]
    assert problems == []
    assert lines == [
        {"payer": "ACME HEALTH", "payer_id": "ACME01", "payer_key": "acme", "claim": "V1", "trace_number": "ACMEV1",
         "procedure": "99213", "modifiers": [], "units": "1", "service_date": "2025-04-02", "charge": "130.00",
         "paid": "76.00", "applied": "95.00", "applied_from": "AMT*B6", "contract": "100.00", "difference": "-5.00",
         "status": "below"},
        {"payer": "ACME HEALTH", "payer_id": "ACME01", "payer_key": "acme", "claim": "V1", "trace_number": "ACMEV1",
         "procedure": "99214", "modifiers": [], "units": "1", "service_date": "2025-04-02", "charge": "200.00",
         "paid": "160.00", "applied": "160.00", "applied_from": "charge - CO", "contract": "150.00",
         "difference": "10.00", "status": "above"},
        {"payer": "ACME HEALTH", "payer_id": "ACME01", "payer_key": "acme", "claim": "V1", "trace_number": "ACMEV1",
         "procedure": "81002", "modifiers": [], "units": "1", "service_date": "2025-04-02", "charge": "12.00",
         "paid": "9.00", "applied": "10.00", "applied_from": "charge - CO", "contract": "10.00",
         "difference": "0.00", "status": "equal"},
        {"payer": "BLUE PLAN", "payer_id": "BLUE01", "payer_key": "blue", "claim": "V2", "trace_number": "BLUEV2",
         "procedure": "99213", "modifiers": [], "units": "1", "service_date": "2025-04-03", "charge": "120.00",
         "paid": "90.00", "applied": "90.00", "applied_from": "charge - CO", "contract": None, "difference": None,
         "status": "unpriced"},
    ]
    from edi.ledger.reports import VarianceSummary

    summary = VarianceSummary()
    for v in ledger.variance(fees, KEYS, []):
        summary.add(v)
    assert summary.as_dict() == {
        "below_contract": [{"payer": "ACME HEALTH", "payer_id": "ACME01", "procedure": "99213", "lines": 1,
                            "at_stake": "5.00"}],
        "lines": {"below": 1, "above": 1, "equal": 1, "unpriced": 1}, "at_stake": "5.00",
        "paid_above_contract": "10.00"}
    assert isinstance(summary.at_stake, D)


def test_variance_reports_an_835_that_is_no_longer_where_it_was_posted_from(tmp_path, db):
    ledger, paths = variance_ledger(db, tmp_path)
    fees = parse_fee_schedule([r.split(",") for r in FEES.strip().splitlines()])
    os.remove(paths[1])
    Path(paths[0]).write_bytes(Path(paths[0]).read_bytes().replace(b"ACMEV1", b"ACMEV9"))
    problems: list = []
    assert list(ledger.variance(fees, KEYS, problems)) == []
    assert [p.code for p in problems] == ["report.remittance.changed", "report.remittance.missing"]
    assert "v2.835" in problems[1].message
