"""The primary payer's adjudication read back from the ledger for the claim to the next payer (edi.ledger.cob),
on SQLite and, when EDI_TEST_POSTGRES_URL is set, PostgreSQL.

The worked scenario of issue 17: claims recorded from an 837 edi wrote, the primary's 835 posted (CO-45 on one
line, PR-1 on another, PR-2 on a third; another claim with a copay and a denied line), each claim's adjudication
read back value by value, then written into a secondary 837P that pyx12 validates with zero errors. Then the
claims that go to no next payer, each with its reason, and the 835 shapes the simulator and payers produce
(reversal and correction, split claim, split line, claim-level adjustments only, amounts that do not add up).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from test_ledger import PAYER, claim, write_835, write_837

from edi.ledger import Ledger
from edi.ledger.cob import BILL, NO_SECONDARY, PrimaryAdjudication, left_open, primary_adjudication
from edi.ledger.schema import adjustments, claim_payments, service_payments
from edi.model import Adjustment, Claim, LineAdjudication, OtherPayer, Payer, Subscriber
from edi.validate import validate_bytes

PAID_ON = date(2025, 3, 1)  # BPR16 of every 835 below (test_ledger.REMIT_HEADER)
PRIMARY = PAYER  # SYNTH HEALTH PLAN, SYNTH01, responsibility P
SECONDARY = Payer("SECOND SYNTH PLAN", "SYNTH02", filing_indicator="CI", responsibility="S")


def co(reason: str, amount: str) -> Adjustment:
    return Adjustment("CO", reason, D(amount))


def pr(reason: str, amount: str) -> Adjustment:
    return Adjustment("PR", reason, D(amount))


def svd(paid: str, procedure: str, *cas: Adjustment, units: str = "1", left: str | None = None,
        when: date = PAID_ON) -> LineAdjudication:
    """The primary's 2430 for one SVC loop; ``left`` the line's remaining patient liability (AMT*EAF)."""
    return LineAdjudication("SYNTH01", D(paid), D(units), procedure, adjustments=cas, adjudication_date=when,
                            remaining_patient_liability=None if left is None else D(left))


@pytest.fixture
def ledger(db):
    led = Ledger(db)
    yield led
    assert led.check() == []  # every scenario leaves a ledger whose invariants hold
    led.close()


def record(ledger: Ledger, tmp_path, *claims: Claim, name: str = "c.837", control: int = 1) -> None:
    result = ledger.record_837(write_837(tmp_path, name, list(claims), control))
    assert result.outcome == "imported", result.message


def post(ledger: Ledger, tmp_path, name: str, body: str, amount: str) -> None:
    result = ledger.import_835(write_835(tmp_path, name, body, amount, name.upper()))
    assert result.outcome == "imported", result.message


def read(ledger: Ledger, pcn: str, **more) -> PrimaryAdjudication:
    with ledger.engine.connect() as conn:
        return primary_adjudication(conn, patient_control_number=pcn, payer_id="SYNTH01", payer=PRIMARY,
                                    subscriber=claim(pcn, ("99213", "1")).subscriber, **more)


def secondary(pcn: str, *lines: tuple[str, str], found: PrimaryAdjudication) -> Claim:
    """The claim to the secondary payer: the same claim, its payer and subscriber the secondary coverage's, with
    the primary's adjudication added."""
    to_secondary = dataclasses.replace(claim(pcn, *lines), payer=SECONDARY,
                                       subscriber=Subscriber("SEC777", "DOE", "JANE", birth_date=date(1980, 1, 1),
                                                             sex="F"))
    added, problems = found.add_to(to_secondary)
    assert problems == () and added is not None
    return added


def assert_pyx12_valid(tmp_path, claims: list[Claim]) -> bytes:
    path = write_837(tmp_path, "secondary.837", claims, control=90)
    data = Path(path).read_bytes()
    report = validate_bytes(data, file="secondary.837", deep=True)
    assert [str(p) for p in report.problems if p.is_error] == []
    return data


WORKED_835 = """
CLP*COB1*1*180*119*36*12*ICN1*11*1~
NM1*QC*1*DOE*JANE****MI*M123~
MOA***MA01~
SVC*HC:99213*100*80**1~
DTM*472*20250115~
CAS*CO*45*20~
REF*6R*COB1-1~
SVC*HC:81002*50*15**1~
DTM*472*20250115~
CAS*CO*45*5~
CAS*PR*1*30~
REF*6R*COB1-2~
SVC*HC:36415*30*24**1~
DTM*472*20250115~
CAS*PR*2*6~
REF*6R*COB1-3~
CLP*COB2*1*130*65*15*12*ICN2*11*1~
NM1*QC*1*DOE*JANE****MI*M123~
SVC*HC:99213:25*100*65**1~
DTM*472*20250115~
CAS*CO*45*20~
CAS*PR*3*15~
REF*6R*COB2-1~
SVC*HC:36415*30*0**1~
DTM*472*20250115~
CAS*CO*97*30~
REF*6R*COB2-2~
LQ*HE*M15~
"""
COB1_LINES = (("99213", "100"), ("81002", "50"), ("36415", "30"))
COB2_LINES = (("99213", "100"), ("36415", "30"))


def test_the_worked_scenario_read_back_value_by_value_and_written_to_the_secondary(tmp_path, ledger):
    record(ledger, tmp_path, claim("COB1", *COB1_LINES), claim("COB2", *COB2_LINES))
    post(ledger, tmp_path, "eft1.835", WORKED_835, "184")

    first = read(ledger, "COB1")
    assert (first.outcome, first.left_open, first.paid, first.problems) == (BILL, D("36"), D("119"), ())
    assert first.other_payer == OtherPayer(
        PRIMARY, claim("COB1").subscriber, relationship="18", paid=D("119"), adjustments=(),
        remaining_patient_liability=None, outpatient=("", "", "MA01"), adjudication_date=PAID_ON,
        claim_number="ICN1")
    assert first.lines == {
        1: (svd("80", "99213", co("45", "20"), left="0"),),  # CO-45 only: nothing left to the patient
        2: (svd("15", "81002", co("45", "5"), pr("1", "30"), left="30"),),  # the deductible
        3: (svd("24", "36415", pr("2", "6"), left="6"),),  # coinsurance
    }
    second = read(ledger, "COB2")
    assert (second.outcome, second.left_open, second.paid) == (BILL, D("15"), D("65"))
    assert (second.other_payer.paid, second.other_payer.claim_number, second.other_payer.outpatient) == (
        D("65"), "ICN2", None)
    assert second.lines == {
        1: (dataclasses.replace(svd("65", "99213", co("45", "20"), pr("3", "15"), left="15"), modifiers=("25",)),),
        2: (svd("0", "36415", co("97", "30"), left="0"),),  # the denied line: nothing paid, CO-97
    }
    with ledger.engine.connect() as conn:
        assert left_open(conn, patient_control_number="COB1", payer_id="SYNTH01") == D("36")
        assert left_open(conn, patient_control_number="COB2") == D("15")  # one payer: it need not be named

    data = assert_pyx12_valid(tmp_path, [secondary("COB1", *COB1_LINES, found=first),
                                         secondary("COB2", *COB2_LINES, found=second)])
    text_ = data.decode()
    assert "SBR*S*18" in text_ and "SBR*P*18" in text_ and "AMT*D*119~" in text_ and "REF*F8*ICN1~" in text_
    assert "SVD*SYNTH01*15*HC:81002**1~\nCAS*CO*45*5~\nCAS*PR*1*30~\nDTP*573*D8*20250301~\nAMT*EAF*30~" in text_
    assert "SVD*SYNTH01*0*HC:36415**1~\nCAS*CO*97*30~" in text_


def test_the_835_is_kept_svc_by_svc_with_its_moa(tmp_path, ledger):
    """What post.py keeps since migration 0011: each SVC loop with the claim line it matched, each line-level
    CAS with its SVC loop, the number of SVC loops and the MOA of each claim payment."""
    record(ledger, tmp_path, claim("COB1", *COB1_LINES), claim("COB2", *COB2_LINES))
    post(ledger, tmp_path, "eft1.835", WORKED_835, "184")
    with ledger.engine.connect() as conn:
        payments = conn.execute(select(claim_payments.c.patient_control_number, claim_payments.c.services,
                                       claim_payments.c.outpatient).order_by(claim_payments.c.id)).all()
        svcs = conn.execute(select(service_payments.c.service_number, service_payments.c.procedure_qualifier,
                                   service_payments.c.procedure, service_payments.c.modifiers,
                                   service_payments.c.charge, service_payments.c.paid, service_payments.c.units)
                            .order_by(service_payments.c.id)).all()
        numbered = conn.execute(select(adjustments.c.reason, adjustments.c.service_number)
                                .order_by(adjustments.c.id)).all()
    assert [tuple(p) for p in payments] == [("COB1", 3, '["", "", "MA01"]'), ("COB2", 2, None)]
    assert [tuple(s) for s in svcs] == [
        (1, "HC", "99213", None, D("100"), D("80"), "1"), (2, "HC", "81002", None, D("50"), D("15"), "1"),
        (3, "HC", "36415", None, D("30"), D("24"), "1"), (1, "HC", "99213", "25", D("100"), D("65"), "1"),
        (2, "HC", "36415", None, D("30"), D("0"), "1")]
    assert [tuple(n) for n in numbered] == [("45", 1), ("45", 2), ("1", 2), ("2", 3), ("45", 1), ("3", 1), ("97", 2)]


def test_a_claim_the_primary_crossed_over_builds_no_secondary(tmp_path, ledger):
    """CLP02 = 19 (processed as primary, forwarded), or a crossover remark (MA18) in MOA: the payer sent the
    claim on itself, so none is built; the reason is stable."""
    record(ledger, tmp_path, claim("CROSS1", ("99213", "100")), claim("CROSS2", ("99213", "100")))
    post(ledger, tmp_path, "eft2.835", """
    CLP*CROSS1*19*100*80*20*12*ICN21*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    NM1*TT*2*SECOND SYNTH PLAN*****PI*SYNTH02~
    SVC*HC:99213*100*80**1~
    CAS*PR*2*20~
    REF*6R*CROSS1-1~
    CLP*CROSS2*1*100*80*20*12*ICN22*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    MOA***MA18~
    SVC*HC:99213*100*80**1~
    CAS*PR*2*20~
    REF*6R*CROSS2-1~
    """, "160")
    by_status, by_remark = read(ledger, "CROSS1"), read(ledger, "CROSS2")
    assert (by_status.outcome, by_remark.outcome) == ("crossed_over", "crossed_over")
    assert not by_status.bill and "CLP02 = 19" in by_status.message and "SECOND SYNTH PLAN" in by_status.message
    assert "MOA remark MA18" in by_remark.message
    assert by_status.left_open == D("20")  # what the patient still owes, whoever pays it


def test_a_reversal_then_correction_uses_the_correction(tmp_path, ledger):
    record(ledger, tmp_path, claim("REV1", ("99213", "100")), claim("REV2", ("99213", "100")))
    post(ledger, tmp_path, "eft3.835", """
    CLP*REV1*1*100*55*25*12*ICN31*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*55**1~
    CAS*CO*45*20~
    CAS*PR*1*25~
    REF*6R*REV1-1~
    CLP*REV2*1*100*80*20*12*ICN32*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*80**1~
    CAS*PR*2*20~
    REF*6R*REV2-1~
    """, "135")
    before = read(ledger, "REV1")
    assert (before.outcome, before.other_payer.paid, before.other_payer.claim_number, before.left_open) == (
        BILL, D("55"), "ICN31", D("25"))
    post(ledger, tmp_path, "eft4.835", """
    CLP*REV1*22*-100*-55**12*ICN31*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*-100*-55**1~
    CAS*CO*45*-20~
    CAS*PR*1*-25~
    REF*6R*REV1-1~
    CLP*REV1*1*100*70*10*12*ICN31C*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*70**1~
    CAS*CO*45*20~
    CAS*PR*2*10~
    REF*6R*REV1-1~
    CLP*REV2*22*-100*-80**12*ICN32*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*-100*-80**1~
    CAS*PR*2*-20~
    REF*6R*REV2-1~
    """, "0")
    after = read(ledger, "REV1")
    assert (after.outcome, after.left_open, after.problems) == (BILL, D("10"), ())
    assert (after.other_payer.paid, after.other_payer.claim_number) == (D("70"), "ICN31C")
    assert after.lines == {1: (svd("70", "99213", co("45", "20"), pr("2", "10"), left="10"),)}
    reversed_only = read(ledger, "REV2")  # reversed, no correction yet: nothing to bill on
    assert (reversed_only.outcome, reversed_only.other_payer, reversed_only.left_open) == ("reversed", None, None)
    assert_pyx12_valid(tmp_path, [secondary("REV1", ("99213", "100"), found=after)])


def test_a_split_line_gives_two_line_adjudications_for_the_one_line(tmp_path, ledger):
    """Two SVC loops for one submitted line, both echoing its REF*6R (digest 7.5): both match the line when
    posted, and the claim to the next payer carries two 2430 loops under it."""
    record(ledger, tmp_path, claim("SPL1", ("99213", "200"), ("81002", "50")))
    post(ledger, tmp_path, "eft5.835", """
    CLP*SPL1*1*250*180*30*12*ICN51*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*80**1~
    CAS*CO*45*20~
    REF*6R*SPL1-1~
    SVC*HC:99213*100*70**1~
    CAS*CO*45*10~
    CAS*PR*2*20~
    REF*6R*SPL1-1~
    SVC*HC:81002*50*30**1~
    CAS*CO*45*10~
    CAS*PR*2*10~
    REF*6R*SPL1-2~
    """, "180")
    found = read(ledger, "SPL1")
    assert (found.outcome, found.left_open, found.problems) == (BILL, D("30"), ())
    assert found.lines == {1: (svd("80", "99213", co("45", "20"), left="0"),
                               svd("70", "99213", co("45", "10"), pr("2", "20"), left="20")),
                           2: (svd("30", "81002", co("45", "10"), pr("2", "10"), left="10"),)}
    with ledger.engine.connect() as conn:  # posted onto the line, not held as an unmatched line
        assert conn.execute(text("SELECT count(*) FROM suspense_items")).scalar() == 0
        lines = conn.execute(select(service_payments.c.line_id).order_by(service_payments.c.id)).scalars().all()
    assert lines[0] == lines[1] != lines[2]
    data = assert_pyx12_valid(tmp_path, [secondary("SPL1", ("99213", "200"), ("81002", "50"), found=found)])
    assert data.decode().count("SVD*SYNTH01*") == 3


def test_a_split_claim_is_combined_once_every_piece_is_posted(tmp_path, ledger):
    """Two CLPs for one claim, each its own payer claim number (the simulator's split): until both are posted
    the claim waits; then both are combined (CLP07 of the first in REF*F8, with a warning)."""
    record(ledger, tmp_path, claim("SPC1", ("99213", "100"), ("81002", "50")))
    post(ledger, tmp_path, "eft6.835", """
    CLP*SPC1*1*100*70*10*12*ICN61A*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    MOA***MA15~
    SVC*HC:99213*100*70**1~
    CAS*CO*45*20~
    CAS*PR*2*10~
    REF*6R*SPC1-1~
    """, "70")
    waiting = read(ledger, "SPC1")
    assert (waiting.outcome, waiting.other_payer, waiting.left_open) == ("partly_adjudicated", None, None)
    assert "charging 100.00 of 150.00" in waiting.message
    post(ledger, tmp_path, "eft7.835", """
    CLP*SPC1*1*50*40**12*ICN61B*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    MOA***MA15~
    SVC*HC:81002*50*40**1~
    CAS*CO*45*10~
    REF*6R*SPC1-2~
    """, "40")
    found = read(ledger, "SPC1")
    assert (found.outcome, found.left_open) == (BILL, D("10"))
    assert [p.code for p in found.problems] == ["ledger.cob.split_claim"]
    assert (found.other_payer.paid, found.other_payer.claim_number, found.other_payer.outpatient) == (
        D("110"), "ICN61A", ("", "", "MA15"))
    assert found.lines == {1: (svd("70", "99213", co("45", "20"), pr("2", "10"), left="10"),),
                           2: (svd("40", "81002", co("45", "10"), left="0"),)}
    assert_pyx12_valid(tmp_path, [secondary("SPC1", ("99213", "100"), ("81002", "50"), found=found)])


def test_claim_level_adjustments_only_put_the_remaining_liability_at_claim_level(tmp_path, ledger):
    """An 835 with no SVC loop: the claim-level CAS as posted, AMT*EAF in 2320, the date in 2330B, no 2430."""
    record(ledger, tmp_path, claim("CLV1", ("99213", "100"), ("81002", "50")))
    post(ledger, tmp_path, "eft8.835", """
    CLP*CLV1*1*150*95*15*12*ICN81*11*1~
    CAS*CO*45*40~
    CAS*PR*1*15~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "95")
    found = read(ledger, "CLV1")
    assert (found.outcome, found.left_open, found.lines) == (BILL, D("15"), {})
    assert found.other_payer.adjustments == (co("45", "40"), pr("1", "15"))
    assert (found.other_payer.remaining_patient_liability, found.other_payer.adjudication_date) == (D("15"), PAID_ON)
    data = assert_pyx12_valid(tmp_path, [secondary("CLV1", ("99213", "100"), ("81002", "50"), found=found)])
    assert "CAS*CO*45*40~\nCAS*PR*1*15~\nAMT*D*95~\nAMT*EAF*15~" in data.decode()
    assert "DTP*573*D8*20250301~" in data.decode() and "SVD*" not in data.decode()


def test_claims_that_go_to_no_next_payer_say_why(tmp_path, ledger):
    record(ledger, tmp_path, *(claim(pcn, ("99213", "100")) for pcn in ("DEN1", "ALL1", "WAIT1", "REJ1", "VOID1",
                                                                        "OTHER1")))
    post(ledger, tmp_path, "eft9.835", """
    CLP*DEN1*4*100*0**12*ICN91*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*0**1~
    CAS*CO*50*100~
    REF*6R*DEN1-1~
    CLP*ALL1*1*100*90**12*ICN92*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*90**1~
    CAS*CO*45*10~
    REF*6R*ALL1-1~
    CLP*OTHER1*23*100*0**12*ICN93*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "90")
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE claims SET status = 'rejected' WHERE patient_control_number = 'REJ1'"))
    record(ledger, tmp_path, claim("VOID1", ("99213", "100"), frequency="8", icn="ICNV1"), name="void.837",
           control=2)
    outcomes = {pcn: read(ledger, pcn).outcome for pcn in ("DEN1", "ALL1", "WAIT1", "REJ1", "VOID1", "OTHER1",
                                                           "NOSUCH")}
    assert outcomes == {"DEN1": "denied", "ALL1": "nothing_left", "WAIT1": "not_adjudicated", "REJ1": "rejected",
                        "VOID1": "withdrawn", "OTHER1": "not_our_claim", "NOSUCH": "not_found"}
    assert set(outcomes.values()) <= set(NO_SECONDARY)
    denied = read(ledger, "DEN1")
    assert denied.message == f"claim DEN1: {NO_SECONDARY['denied']}" and denied.left_open == 0
    with ledger.engine.connect() as conn:
        assert left_open(conn, patient_control_number="WAIT1") is None


def test_amounts_that_do_not_add_up_give_problems_not_a_claim(tmp_path, ledger):
    """A payer whose lines do not add up to its claim payment (CLP04 100, the SVC03 90), and an SVC that matches no
    line: each says by how much or which, and no adjudication is given to write."""
    record(ledger, tmp_path, claim("UNB1", ("99213", "150")), claim("UNM1", ("99213", "100")))
    post(ledger, tmp_path, "eft10.835", """
    CLP*UNB1*1*150*100**12*ICN101*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*150*90**1~
    CAS*CO*45*60~
    REF*6R*UNB1-1~
    CLP*UNM1*1*100*80**12*ICN102*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99214*100*80**1~
    CAS*CO*45*20~
    REF*6R*UNM1-9~
    """, "180")
    unbalanced = read(ledger, "UNB1")
    assert (unbalanced.outcome, unbalanced.other_payer, unbalanced.lines) == ("unbalanced", None, {})
    assert [(p.code, p.severity.value) for p in unbalanced.problems] == [("ledger.cob.unbalanced", "error")]
    assert "CLP04 100.00 + claim-level CAS 0.00 + line-level CAS 60.00 make 160.00 (difference -10.00)" in \
        unbalanced.problems[0].message
    unmatched = read(ledger, "UNM1")
    assert (unmatched.outcome, unmatched.other_payer) == ("unmatched", None)
    assert unmatched.problems[0].code == "ledger.cob.unmatched"
    added, problems = unbalanced.add_to(claim("UNB1", ("99213", "150")))
    assert added is None and [p.code for p in problems] == ["ledger.cob.nothing_to_add"]


def test_a_payment_posted_before_the_ledger_kept_its_lines_says_so(tmp_path, ledger):
    record(ledger, tmp_path, claim("OLD1", ("99213", "100")))
    post(ledger, tmp_path, "eft11.835", """
    CLP*OLD1*1*100*80*20*12*ICN111*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*80**1~
    CAS*PR*2*20~
    REF*6R*OLD1-1~
    """, "80")
    with ledger.engine.begin() as conn:  # as a payment posted before migration 0011 is kept
        conn.execute(update(claim_payments).values(services=None))
        conn.execute(service_payments.delete())
    found = read(ledger, "OLD1")
    assert (found.outcome, found.other_payer, [p.code for p in found.problems]) == (
        "not_kept", None, ["ledger.cob.not_kept"])


def test_the_claim_to_the_next_payer_must_be_the_claim_adjudicated(tmp_path, ledger):
    record(ledger, tmp_path, claim("DIF1", ("99213", "100")))
    post(ledger, tmp_path, "eft12.835", """
    CLP*DIF1*1*100*80*20*12*ICN121*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*100*80**1~
    CAS*PR*2*20~
    REF*6R*DIF1-1~
    """, "80")
    found = read(ledger, "DIF1")
    added, problems = found.add_to(claim("DIF1", ("99213", "120")))
    assert added is None and {p.code for p in problems} == {"ledger.cob.claim_differs"}
    with ledger.engine.connect() as conn:
        by_id = primary_adjudication(conn, claim_id=found.claim_id, responsibility="S")
    assert by_id.other_payer.payer == Payer("SYNTH HEALTH PLAN", "SYNTH01", responsibility="S")
    assert by_id.other_payer.subscriber.member_id == "M123"  # what the ledger keeps, without a coverage given


def test_every_answer_of_the_simulated_payer_reads_back_balanced(tmp_path):
    """120 claims of two or three lines answered by the simulator, every branch likely (paid with CO-45 and PR-1,
    PR-2 or PR-3, a denied line, a split claim, a reversal and its correction, a late payment, a recoupment, a
    denial, a rejection), its 999, 277CA and 835s imported: every claim gets an outcome, none of them
    ``unbalanced`` or ``unmatched``; every claim to bill takes its adjudication onto the claim to the next payer,
    which edi's writer accepts (its balancing included) and pyx12 validates."""
    from test_simulate import FEES
    from test_simulate import claim as sim_claim

    from edi.simulate import Policy, answer_837
    from edi.x837.prepare import prepare_claim

    procedures = ("99213", "83036", "81002", "36415")
    claims = []
    for i in range(120):
        lines = tuple((procedures[(i + k) % 4], str(40 + 15 * ((i * 7 + k) % 9))) for k in range(2 + i % 2))
        claims.append(sim_claim(f"SIM{i:04d}", *lines, member="SYNX0001" if i % 40 == 7 else "SYNM0001"))
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    led = Ledger(db)
    try:
        record(led, tmp_path, *claims)
        policy = Policy(deny=0.1, line_denied=0.2, split=0.2, reversed=0.15, late=0.1, recouped=0.1)
        out = tmp_path / "answers"
        out.mkdir()
        answered = answer_837(write_837(tmp_path, "sim.837", claims), out, fees=FEES, seed=5, policy=policy)
        for p in sorted(out.iterdir()):
            result = led.import_835(str(p)) if p.suffix == ".835" else led.import_acks(str(p))
            assert result.outcome == "imported", result.message
        assert led.check() == []
        found: dict[str, PrimaryAdjudication] = {}
        with led.engine.connect() as conn:
            for c in claims:
                found[c.patient_control_number] = primary_adjudication(
                    conn, patient_control_number=c.patient_control_number, payer=PRIMARY, subscriber=c.subscriber)
    finally:
        led.close()
    outcomes = {f.outcome for f in found.values()}
    assert outcomes <= {BILL, "denied", "nothing_left", "rejected"}, outcomes
    assert {BILL, "denied", "rejected"} <= outcomes
    for branch in ("split", "reversed", "line_denied", "late", "recouped", "PR-1", "PR-2", "PR-3"):
        assert answered.branches[branch] > 0, branch
    assert not [p for f in found.values() for p in f.problems if p.code != "ledger.cob.split_claim"]
    to_bill = []
    for c in claims:
        f = found[c.patient_control_number]
        if f.bill:
            to_secondary = dataclasses.replace(c, payer=SECONDARY, subscriber=dataclasses.replace(
                c.subscriber, member_id="SEC777"))
            added, problems = f.add_to(to_secondary)
            assert problems == () and added is not None
            _, written = prepare_claim(added, added.kind)
            assert written == (), [str(p) for p in written]
            assert f.left_open == sum((a.amount for a in f.other_payer.adjustments if a.group == "PR"), D(0)) + sum(
                (a.amount for la in added.lines for ad in la.adjudications for a in ad.adjustments
                 if a.group == "PR"), D(0))
            to_bill.append(added)
    assert len(to_bill) >= 40
    assert_pyx12_valid(tmp_path, to_bill[:40])


def _corpus_835s() -> list[str]:
    from conftest import corpus_rows

    return [name for name, _ in corpus_rows() if name.startswith("835/")]


@pytest.mark.parametrize("name", _corpus_835s() or ["(no corpus)"])
def test_the_corpus_835s_read_back_without_a_crash_and_balanced_when_billed(tmp_path, name):
    """Each 835 of ../shared/corpus posted against claims made from its own CLPs (one line per submitted REF*6R,
    else per SVC loop, charged SVC02): every claim's adjudication is read back to an outcome, and one to bill
    balances the TR3's way, claim and lines."""
    from datetime import datetime

    from conftest import CORPUS

    from edi.ledger.post import remit_payer
    from edi.ledger.record import ClaimRecorder, ClaimRow, LineRow
    from edi.model import ClaimPayment, Remittance
    from edi.x835.reader import parse_remittances

    if not CORPUS.exists():
        pytest.skip("../shared/corpus is absent")
    path = CORPUS / name
    items, _ = parse_remittances(path.read_bytes(), str(path))
    rows: dict[tuple[str, str | None], ClaimRow] = {}
    payer: tuple[str | None, str | None] = (None, None)
    for item in items:
        if isinstance(item, Remittance):
            payer = remit_payer(item)
        if not isinstance(item, ClaimPayment) or item.is_reversal or item.patient_control_number in {
                k[0] for k in rows}:
            continue
        lines: dict[str, list] = {}
        for k, sp in enumerate(item.lines, 1):
            key = sp.line_control_number or f"svc{k}"
            modifiers = ":".join(sp.original_modifiers if sp.original_procedure else sp.modifiers) or None
            got = lines.setdefault(key, [sp.original_procedure or sp.procedure, modifiers, D(0), sp.service_date, key])
            got[2] += sp.charge
        kind = "institutional" if any(sp.procedure_qualifier == "NU" or sp.revenue_code for sp in item.lines) \
            else "professional"
        rows[(item.patient_control_number, payer[0])] = ClaimRow(
            item.patient_control_number, kind, payer[0] or "", payer[1] or "", "1", item.charge,
            None, None, "M1", None, None, None, None,
            tuple(LineRow(n, code, modifiers, None, charge, "1", day, lcn if not lcn.startswith("svc") else None)
                  for n, (code, modifiers, charge, day, lcn) in enumerate(lines.values(), 1)))
    if not rows:
        pytest.skip(f"{name} holds no claim payment")
    led = Ledger(f"sqlite:///{tmp_path / 'corpus.db'}")
    try:
        with led.engine.begin() as conn:
            ClaimRecorder(conn, file_id=None, status="submitted", now=datetime(2025, 1, 1),
                          file_name="corpus").add_rows(rows.values())
        posted = led.import_835(str(path))
        if posted.outcome != "imported":
            pytest.skip(f"{name} is refused: {posted.message}")
        with led.engine.connect() as conn:
            found = [primary_adjudication(conn, patient_control_number=pcn, payer_id=payer_id or None)
                     for pcn, payer_id in rows]
    finally:
        led.close()
    for f in found:
        assert f.outcome == BILL or f.outcome in NO_SECONDARY, f
        if f.other_payer is None:
            continue
        o = f.other_payer
        line_cas = sum((a.amount for las in f.lines.values() for la in las for a in la.adjustments), D(0))
        assert o.paid + o.adjustment_total + line_cas == f.charge, f
        for number, las in f.lines.items():
            assert sum((la.paid + la.adjustment_total for la in las), D(0)) == f.line_charges[number], f


def test_an_svc_amount_beyond_what_the_ledger_posts_is_kept_as_none_not_refused(tmp_path, ledger):
    """A line's SVC02 of a trillion dollars: such a file was posted before migration 0011 (the line's amounts are
    not posted, only its CAS), and still is; the SVC loop keeps no charge, and the claim is not billed on."""
    record(ledger, tmp_path, claim("BIG1", ("99213", "100")))
    post(ledger, tmp_path, "eft13.835", """
    CLP*BIG1*1*100*100**12*ICN131*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*999999999999999*100**1~
    REF*6R*BIG1-1~
    """, "100")
    with ledger.engine.connect() as conn:
        kept = conn.execute(select(service_payments.c.charge, service_payments.c.paid)).one()
    assert tuple(kept) == (None, D("100"))
    found = read(ledger, "BIG1")
    assert (found.outcome, [p.code for p in found.problems]) == ("unbalanced", ["ledger.cob.unbalanced"])
