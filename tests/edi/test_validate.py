"""Validation: fast checks in one pass, pyx12's deep checks mapped to the same problems."""

from __future__ import annotations

from x12text import interchange

from edi.validate import validate_bytes

CLAIM_837 = """
BHT*0019*00*B1*20250101*1200*CH~
NM1*41*2*ACME BILLING*****46*SUBMITTERID~
PER*IC*JANE DOE*TE*5555551234~
NM1*40*2*CLEARINGHOUSE*****46*RECEIVERID~
HL*1**20*1~
NM1*85*2*ACME CLINIC*****XX*1234567893~
N3*123 MAIN ST~
N4*ANYTOWN*CA*900011234~
REF*EI*123456789~
HL*2*1*22*0~
SBR*P*18*******CI~
NM1*IL*1*DOE*JOHN****MI*M123~
N3*1 ELM ST~
N4*ANYTOWN*CA*90001~
DMG*D8*19800101*M~
NM1*PR*2*ACME INSURANCE*****PI*PAYER01~
CLM*PCN1*150***11:B:1*Y*A*Y*Y~
HI*ABK:E119~
LX*1~
SV1*HC:99213*150*UN*1***1~
DTP*472*D8*20241215~
"""


def build(body: str = CLAIM_837) -> bytes:
    return interchange(body, functional_id="HC", version="005010X222A1", st01="837", st03="005010X222A1")


def codes(data: bytes, deep: bool = False) -> list[tuple[str, int | None]]:
    return [(p.code, p.where.segment) for p in validate_bytes(data, deep=deep).problems]


def test_a_good_837_is_clean_fast_and_deep():
    report = validate_bytes(build(), deep=True)
    assert report.problems == []
    assert report.ok and report.segments == 27
    assert [(t.st01, t.control, t.version) for t in report.transactions] == [("837", "0001", "005010X222A1")]


def test_empty_mandatory_element():
    assert codes(build(CLAIM_837.replace("NM1*PR*2", "NM1**2"))) == [("x12.element.missing", 19)]


def test_hl_numbering_and_parent():
    assert codes(build(CLAIM_837.replace("HL*2*1*22*0", "HL*3*7*22*0"))) == [
        ("x12.hl.number", 13), ("x12.hl.parent", 13)]


def test_billing_provider_name_missing_is_found_without_pyx12():
    body = CLAIM_837.replace("NM1*85*2*ACME CLINIC*****XX*1234567893~\n", "")
    found = codes(build(body))
    assert ("837.billing_provider.missing", 8) in found


def test_claim_total_that_does_not_add_up_is_a_warning():
    report = validate_bytes(build(CLAIM_837.replace("CLM*PCN1*150", "CLM*PCN1*175")))
    assert [(p.code, p.severity.value, p.where.element) for p in report.problems] == [
        ("837.claim.total", "warning", "CLM02")]
    assert report.ok


def test_deep_maps_pyx12_findings_with_their_segment_numbers():
    body = CLAIM_837.replace("DTP*472*D8*20241215", "DTP*472*D8*2024-12-15")
    report = validate_bytes(build(body), deep=True)
    deep = [p for p in report.problems if p.code.startswith("pyx12.")]
    assert deep, "pyx12 should flag the malformed date"
    assert all(p.is_error for p in deep)
    assert any(p.where.segment == 24 and p.where.tag == "DTP" and p.where.element == "DTP03" for p in deep)


def test_deep_on_a_file_pyx12_cannot_read_is_a_problem_not_a_crash():
    data = build().replace(b"*SENDER         *", b"*SENDER*")  # ISA not fixed width: pyx12 refuses it
    report = validate_bytes(data, deep=True)
    assert {"x12.isa.short"} <= {p.code for p in report.problems}
    assert any(p.code.startswith("pyx12.") for p in report.problems)


def test_a_line_charge_that_is_no_amount_does_not_break_the_claim_total():
    """An SV102 of sNaN raised InvalidOperation while the claim total was summed (`edi x12 validate` ended in an
    internal error; found by benchmarks/fuzz.py): what is no X12 amount is left out of the sum."""
    for odd in ("sNaN", "NaN", "1E+999999", "27_3.86"):
        report = validate_bytes(build(CLAIM_837.replace("SV1*HC:99213*150", f"SV1*HC:99213*{odd}")))
        assert "837.claim.total" not in [p.code for p in report.problems], odd
