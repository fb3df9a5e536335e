"""The 835 reader, segment type by segment type, as worked examples with inline X12."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from x12text import interchange

from edi.model import ClaimPayment, Remittance, RemittanceEnd
from edi.x835.reader import parse_remittances

HEADER = """
BPR*I*{amount}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250110~
TRN*1*EFT0001234*1512345678~
REF*EV*SUBMITTERID~
DTM*405*20250108~
N1*PR*ACME INSURANCE~
N3*PO BOX 1000~
N4*ANYTOWN*CA*900011234~
REF*2U*PAYER01~
PER*BL*EDI HELP DESK*TE*8005551234~
N1*PE*ACME CLINIC*XX*1234567893~
N3*123 MAIN ST~
N4*ANYTOWN*CA*900011234~
REF*TJ*123456789~
"""


def read(body: str, amount: str = "0"):
    items, problems = parse_remittances(interchange(HEADER.format(amount=amount) + body), file="t.835")
    claims = [i for i in items if isinstance(i, ClaimPayment)]
    ends = [i for i in items if isinstance(i, RemittanceEnd)]
    return items, claims, ends, problems


def codes(problems):
    return [(p.code, p.where.segment) for p in problems]


def test_the_digest_worked_example_reads_and_balances():
    body = """
    LX*1~
    CLP*PCN0001*1*150*65*25*12*CCN111*11*1~
    NM1*QC*1*DOE*JOHN****MI*MEMBER123~
    NM1*82*1*SMITH*JANE****XX*1245319599~
    DTM*050*20241220~
    SVC*HC:99213:25*100*65**1~
    DTM*472*20241215~
    CAS*CO*45*20~
    CAS*PR*3*15~
    REF*6R*PCN0001-1~
    AMT*B6*80~
    SVC*HC:81002*50*0**1~
    DTM*472*20241215~
    CAS*CO*45*40~
    CAS*PR*1*10~
    REF*6R*PCN0001-2~
    AMT*B6*10~
    CLP*PCN0003*4*200*0**12*CCN112*11*1~
    CAS*CO*29*200~
    NM1*QC*1*ROE*RICHARD****MI*MEMBER789~
    PLB*1234567893*20251231*L6:CCN090*-1.5*WO:CCN050*20~
    """
    items, claims, ends, problems = read(body, amount="46.5")
    assert problems == []
    rem = items[0]
    assert isinstance(rem, Remittance)
    assert (rem.handling, rem.amount, rem.credit_debit, rem.method, rem.payment_date) == (
        "I", D("46.5"), "C", "ACH", date(2025, 1, 10))
    assert (rem.trace_number, rem.trace_originator, rem.production_date) == ("EFT0001234", "1512345678",
                                                                            date(2025, 1, 8))
    assert rem.payer.name == "ACME INSURANCE" and rem.payer.reference("2U") == "PAYER01"
    assert rem.payer.contacts[0].numbers == (("TE", "8005551234"),)
    assert (rem.payee.id_qualifier, rem.payee.id, rem.payee.reference("TJ")) == ("XX", "1234567893", "123456789")
    paid = claims[0]
    assert (paid.patient_control_number, paid.status_text, paid.charge, paid.paid, paid.patient_responsibility,
            paid.payer_claim_number, paid.facility_type, paid.frequency) == (
        "PCN0001", "processed as primary", D(150), D(65), D(25), "CCN111", "11", "1")
    assert paid.patient.last_or_org == "DOE" and paid.service_provider.id == "1245319599"
    assert paid.received == date(2024, 12, 20)
    first = paid.lines[0]
    assert (first.procedure_qualifier, first.procedure, first.modifiers, first.charge, first.paid, first.units) == (
        "HC", "99213", ("25",), D(100), D(65), D(1))
    assert [(a.group, a.reason, a.amount) for a in first.adjustments] == [("CO", "45", D(20)), ("PR", "3", D(15))]
    assert (first.line_control_number, first.allowed, first.service_date) == ("PCN0001-1", D(80),
                                                                              date(2024, 12, 15))
    assert first.source.segment == 22 and first.source.transaction == "0001" and first.source.file == "t.835"
    assert paid.remittance is rem
    denied = claims[1]
    assert denied.is_denial and denied.lines == () and denied.adjustments[0].amount == D(200)
    end = ends[0]
    assert [(a.reason, a.reference, a.amount) for a in end.provider_adjustments] == [
        ("L6", "CCN090", D("-1.5")), ("WO", "CCN050", D(20))]
    assert (end.claim_count, end.paid_total, end.provider_adjustment_total) == (2, D(65), D("18.5"))


def test_claim_split_into_two_clps_with_the_same_patient_control_number():
    body = """
    CLP*PCN7*1*100*80**12*ICN7A*11*1~
    NM1*QC*1*DOE*JANE****MI*M1~
    MOA***MA15~
    SVC*HC:99213*100*80**1~
    CAS*CO*45*20~
    CLP*PCN7*1*50*40**12*ICN7B*11*1~
    NM1*QC*1*DOE*JANE****MI*M1~
    MOA***MA15~
    SVC*HC:36415*50*40**1~
    CAS*CO*45*10~
    """
    _, claims, ends, problems = read(body, amount="120")
    assert problems == []
    assert [(c.patient_control_number, c.payer_claim_number, c.paid) for c in claims] == [
        ("PCN7", "ICN7A", D(80)), ("PCN7", "ICN7B", D(40))]
    assert claims[0].outpatient == ("", "", "MA15")


def test_svc06_restated_procedure():
    body = """
    CLP*PCN8*1*200*150**12*ICN8*11*1~
    NM1*QC*1*DOE*JANE****MI*M1~
    SVC*HC:99214*200*150**1*HC:99215:25*1~
    CAS*CO*45*50~
    """
    _, claims, _, problems = read(body, amount="150")
    line = claims[0].lines[0]
    assert (line.procedure, line.original_procedure_qualifier, line.original_procedure, line.original_modifiers,
            line.original_units) == ("99214", "HC", "99215", ("25",), D(1))
    assert problems == []


def test_a_cas_with_six_triplets():
    body = """
    CLP*PCN9*1*100*45**12*ICN9*11*1~
    NM1*QC*1*DOE*JANE****MI*M1~
    CAS*CO*45*10*1*253*5**59*5**97*5**B7*5**16*25*2~
    """
    _, claims, _, problems = read(body, amount="45")
    assert problems == []
    adj = claims[0].adjustments
    assert [(a.group, a.reason, a.amount, a.quantity) for a in adj] == [
        ("CO", "45", D(10), D(1)), ("CO", "253", D(5), None), ("CO", "59", D(5), None), ("CO", "97", D(5), None),
        ("CO", "B7", D(5), None), ("CO", "16", D(25), D(2))]


def test_plb_with_three_pairs_a_claim_reference_and_a_negative_forward_balance():
    body = """
    CLP*PCN10*1*100*100**12*ICN10*11*1~
    NM1*QC*1*DOE*JANE****MI*M1~
    PLB*1234567893*20251231*WO:CLAIMID:PCN4*30*L6*-2.5*FB:EFT0000999*-50~
    PLB*1234567893*20251231*72:RFND1*10~
    """
    _, _, ends, problems = read(body, amount="112.5")
    assert problems == []
    plb = ends[0].provider_adjustments
    assert [(p.reason, p.reference, p.amount) for p in plb] == [
        ("WO", "CLAIMID:PCN4", D(30)), ("L6", None, D("-2.5")), ("FB", "EFT0000999", D(-50)), ("72", "RFND1", D(10))]
    assert plb[0].fiscal_period == date(2025, 12, 31) and plb[3].source.segment == 20


def test_reversal_followed_by_a_correction_both_balance():
    body = """
    CLP*PCN11*22*-100*-90**12*ICN11*11*1~
    CAS*CO*45*-10~
    NM1*QC*1*DOE*JOHN****MI*M1~
    CLP*PCN11*1*100*70**12*ICN11B*11*1~
    CAS*CO*45*30~
    NM1*QC*1*DOE*JOHN****MI*M1~
    PLB*1234567893*20251231*FB:EFT0001234*-20~
    """
    _, claims, ends, problems = read(body, amount="0")  # the net negative is carried forward (FB)
    assert problems == [], problems
    assert [c.is_reversal for c in claims] == [True, False]
    assert ends[0].paid_total == D(-20)


def test_denial_with_zero_pay_notification():
    items, problems = parse_remittances(interchange("""
    BPR*H*0*C*NON************20250110~
    TRN*1*REMIT0001*1512345678~
    N1*PR*ACME INSURANCE~
    N1*PE*ACME CLINIC*XX*1234567893~
    CLP*PCN12*4*80*0**12*ICN12*11*1~
    CAS*CO*29*80~
    NM1*QC*1*DOE*JOHN****MI*M1~
    """))
    assert problems == []
    assert items[0].handling == "H" and items[0].method == "NON"
    assert items[1].status_text == "denied"


def test_unbalanced_line_claim_and_transaction_report_the_difference():
    body = """
    CLP*PCN13*1*100*70**12*ICN13*11*1~
    NM1*QC*1*DOE*JOHN****MI*M1~
    SVC*HC:99213*100*70**1~
    CAS*CO*45*20~
    """
    _, _, _, problems = read(body, amount="75")
    found = {p.code: p for p in problems}
    assert found["835.line.unbalanced"].where.segment == 19 and "difference 10" in found["835.line.unbalanced"].message
    assert "difference 10" in found["835.claim.unbalanced"].message
    assert "difference 5" in found["835.transaction.unbalanced"].message
    assert all(p.is_error for p in found.values())


def test_patient_responsibility_that_does_not_match_pr_is_a_warning():
    body = """
    CLP*PCN14*1*100*80*15*12*ICN14*11*1~
    CAS*PR*2*20~
    NM1*QC*1*DOE*JOHN****MI*M1~
    """
    _, _, _, problems = read(body, amount="80")
    assert [(p.code, p.severity.value) for p in problems] == [("835.claim.patient_responsibility", "warning")]


def test_unknown_segments_are_kept_and_reported_never_dropped():
    body = """
    CLP*PCN15*1*100*100**12*ICN15*11*1~
    NM1*QC*1*DOE*JOHN****MI*M1~
    ZZZ*SOMETHING*ELSE~
    SVC*HC:99213*100*100**1~
    XYZ*LINE*LEVEL~
    """
    _, claims, _, problems = read(body, amount="100")
    assert claims[0].unknown == (("ZZZ", "SOMETHING", "ELSE"),)
    assert claims[0].lines[0].unknown == (("XYZ", "LINE", "LEVEL"),)
    assert codes(problems) == [("835.segment.unexpected", 19), ("835.segment.unexpected", 21)]


def test_bad_values_are_problems_with_positions():
    body = """
    CLP*PCN16*1*ABC*100**12*ICN16*11*1~
    NM1*QC*1*DOE*JOHN****MI*M1~
    DTM*232*20251399~
    """
    _, claims, _, problems = read(body, amount="100")
    assert ("835.amount.invalid", 17) in codes(problems)
    assert ("835.date.invalid", 19) in codes(problems)
    assert claims[0].statement_from is None


def test_several_transactions_newline_terminators_and_other_separators():
    text = (
        "ISA|00|          |00|          |ZZ|PAYER          |ZZ|CLINIC         |250101|1200|^|00501|000000007|0|P|>\n"
        "GS|HP|PAYER|CLINIC|20250101|1200|7|X|005010X221A1\n"
        "ST|835|0001\nBPR|I|10|C|CHK|||||||||||20250101\nTRN|1|CHK1|1512345678\nN1|PR|P\nN1|PE|C|XX|1234567893\n"
        "CLP|A1|1|10|10||12|I1|11|1\nSVC|HC>99211>25|10|10||1\nSE|8|0001\n"
        "ST|835|0002\nBPR|I|5|C|CHK|||||||||||20250101\nTRN|1|CHK2|1512345678\nN1|PR|P\nN1|PE|C|XX|1234567893\n"
        "CLP|A2|1|5|5||12|I2|11|1\nSE|7|0002\n"
        "GE|2|7\nIEA|1|000000007\n"
    )
    items, problems = parse_remittances(text.encode())
    assert problems == []
    claims = [i for i in items if isinstance(i, ClaimPayment)]
    assert [(c.patient_control_number, c.remittance.trace_number) for c in claims] == [("A1", "CHK1"), ("A2", "CHK2")]
    assert claims[0].lines[0].modifiers == ("25",)


def test_4010_is_read_with_a_warning_naming_the_version():
    data = interchange(HEADER.format(amount="10") + "CLP*A*1*10*10**12*I*11*1~", version="004010X091A1")
    items, problems = parse_remittances(data)
    assert [p.code for p in problems if p.code == "835.version"] == ["835.version"]
    assert "004010X091A1" in next(p.message for p in problems if p.code == "835.version")
    assert sum(isinstance(i, ClaimPayment) for i in items) == 1


def test_a_transaction_without_se_still_yields_its_claims():
    data = interchange(HEADER.format(amount="10") + "CLP*A*1*10*10**12*I*11*1~").split(b"SE*")[0]
    items, problems = parse_remittances(data)
    assert sum(isinstance(i, ClaimPayment) for i in items) == 1
    assert "835.transaction.unterminated" in {p.code for p in problems}
