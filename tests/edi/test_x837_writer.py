"""The 837 writer: claims to 837P and 837I transaction sets, and the claims it refuses.

Every file written here goes through ``write_837`` (test_x837_examples), which checks it with pyx12.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from test_x837_examples import (
    ATTENDING,
    CHILD,
    CLINIC,
    DOCTOR,
    LAB,
    NOW,
    RECEIVER,
    SENDER,
    SUBMITTER,
    SUBSCRIBER,
    institutional_claim,
    lines_of,
    outpatient_claim,
    professional_claim,
    write_837,
)

from edi.model import CodeDate, Diagnosis, Provider, ServiceLine
from edi.x12.writer import CounterControlNumbers, EnvelopeError, InterchangeWriter
from edi.x837.formats import decimal_text
from edi.x837.prepare import prepare_claim
from edi.x837.reader import read_837_bytes
from edi.x837.writer import ClaimsRefused, build_837, write_claims


def segment(data: bytes, prefix: str) -> list[str]:
    """The segments of ``data`` that start with ``prefix`` (e.g. ``"NM1*82"``)."""
    return [s for s in lines_of(data) if s.startswith(prefix)]


# -- professional (837P) ----------------------------------------------------------------------------------------


def test_a_subscriber_who_is_the_patient_has_no_patient_level():
    data, _ = write_837([professional_claim()])
    assert segment(data, "HL") == ["HL*1**20*1", "HL*2*1*22*0"]
    assert segment(data, "SBR") == ["SBR*P*18*GRP0001******CI"]  # SBR02 = 18: self
    body = lines_of(data)
    start = body.index("NM1*IL*1*SAMPLE*PAT****MI*MBR00000001")
    assert body[start:start + 5] == ["NM1*IL*1*SAMPLE*PAT****MI*MBR00000001", "N3*1 TEST STREET",
                                     "N4*SPRINGFIELD*IL*62701", "DMG*D8*19800102*F",
                                     "NM1*PR*2*SYNTH HEALTH PLAN*****PI*SYNTH01"]
    assert segment(data, "PAT") == [] and segment(data, "NM1*QC") == []


def test_a_dependent_patient_gets_a_2000C_level_and_the_subscriber_loses_its_demographics():
    data, _ = write_837([professional_claim(patient=CHILD)])
    body = lines_of(data)
    assert segment(data, "HL") == ["HL*1**20*1", "HL*2*1*22*1", "HL*3*2*23*0"]
    assert segment(data, "SBR") == ["SBR*P**GRP0001******CI"]  # SBR02 empty
    start = body.index("HL*3*2*23*0")
    assert body[start:start + 7] == [
        "HL*3*2*23*0", "PAT*19", "NM1*QC*1*SAMPLE*KID", "N3*1 TEST STREET", "N4*SPRINGFIELD*IL*62701",
        "DMG*D8*20150506*M", "CLM*PCN0001*150***11:B:1*Y*A*Y*Y",
    ]
    assert segment(data, "DMG") == ["DMG*D8*20150506*M"]  # the subscriber's birth date is not sent


def test_the_billing_provider_loop_has_taxonomy_9_digit_zip_tax_id_and_contact():
    data, _ = write_837([professional_claim()])
    body = lines_of(data)
    start = body.index("HL*1**20*1")
    assert body[start:start + 7] == [
        "HL*1**20*1", "PRV*BI*PXC*207Q00000X", "NM1*85*2*SYNTH FAMILY CLINIC*****XX*1234567893",
        "N3*100 SAMPLE WAY", "N4*SPRINGFIELD*IL*627010001", "REF*EI*990000001", "PER*IC*CLINIC OFFICE*TE*5555550111",
    ]


def test_a_rendering_provider_is_sent_only_when_it_differs_from_the_billing_provider():
    same, _ = write_837([professional_claim(rendering_provider=replace(CLINIC, taxonomy=None))])
    assert segment(same, "NM1*82") == []
    other, _ = write_837([professional_claim(rendering_provider=DOCTOR)])
    body = lines_of(other)
    start = body.index("NM1*82*1*TESTDOC*ALEX****XX*1245319599")
    assert body[start + 1] == "PRV*PE*PXC*207Q00000X"
    assert body[start - 1] == "HI*ABK:E119*ABF:I10"  # 2310B follows HI, before the lines


def test_replacement_and_void_carry_the_frequency_and_the_payers_claim_number():
    data, _ = write_837([professional_claim("PCN0003", frequency="7", payer_claim_number="ICN0001"),
                         professional_claim("PCN0004", frequency="8", payer_claim_number="ICN0002")])
    assert segment(data, "CLM") == ["CLM*PCN0003*150***11:B:7*Y*A*Y*Y", "CLM*PCN0004*150***11:B:8*Y*A*Y*Y"]
    assert segment(data, "REF*F8") == ["REF*F8*ICN0001", "REF*F8*ICN0002"]


def test_claim_references_follow_the_implementation_guides_order():
    data, _ = write_837([professional_claim(prior_authorization="AUTH01", referral_number="REF01",
                                            medical_record_number="MRN01", onset_date=date(2025, 2, 1),
                                            note="SEE ATTACHED NOTES")])
    body = lines_of(data)
    start = body.index("CLM*PCN0001*150***11:B:1*Y*A*Y*Y")
    assert body[start:start + 7] == [
        "CLM*PCN0001*150***11:B:1*Y*A*Y*Y", "DTP*431*D8*20250201", "REF*9F*REF01", "REF*G1*AUTH01",
        "REF*EA*MRN01", "NTE*ADD*SEE ATTACHED NOTES", "HI*ABK:E119*ABF:I10",
    ]


def test_service_lines_carry_modifiers_pointers_dates_and_line_control_numbers():
    claim = professional_claim(total_charge=Decimal("180.5"), lines=(
        ServiceLine(1, Decimal("120.50"), Decimal("1.5"), service_date=date(2025, 2, 10),
                    service_date_end=date(2025, 2, 11), procedure="97110", modifiers=("GP", "59", "KX"),
                    diagnosis_pointers=(2, 1), line_control_number="LINE-A"),
        ServiceLine(2, Decimal("60"), Decimal(1), service_date=date(2025, 2, 10), procedure="J3490",
                    description="DRUG NOC", diagnosis_pointers=(1,), place_of_service="22"),
    ))
    data, _ = write_837([claim])
    assert segment(data, "LX") == ["LX*1", "LX*2"]
    assert segment(data, "SV1") == ["SV1*HC:97110:GP:59:KX*120.5*UN*1.5***2:1",
                                    "SV1*HC:J3490:::::DRUG NOC*60*UN*1*22**1"]  # SV105 differs from CLM05-1
    assert segment(data, "DTP*472") == ["DTP*472*RD8*20250210-20250211", "DTP*472*D8*20250210"]
    assert segment(data, "REF*6R") == ["REF*6R*LINE-A", "REF*6R*PCN0001-2"]


def test_a_line_rendered_by_another_provider_gets_its_own_2420A():
    claim = professional_claim(rendering_provider=DOCTOR, lines=(
        professional_claim().lines[0],
        replace(professional_claim().lines[1], rendering_provider=replace(DOCTOR, name="OTHERDOC", npi="1111111112")),
    ))
    data, _ = write_837([claim])
    assert segment(data, "NM1*82") == ["NM1*82*1*TESTDOC*ALEX****XX*1245319599",
                                       "NM1*82*1*OTHERDOC*ALEX****XX*1111111112"]
    assert lines_of(data)[-5:-3] == ["NM1*82*1*OTHERDOC*ALEX****XX*1111111112", "PRV*PE*PXC*207Q00000X"]


def test_icd_codes_are_written_without_the_dot_and_qualified_by_position():
    claim = professional_claim(diagnoses=(Diagnosis("M54.50"), Diagnosis("E11.65"), Diagnosis("Z79.4")))
    data, _ = write_837([claim])
    assert segment(data, "HI") == ["HI*ABK:M5450*ABF:E1165*ABF:Z794"]


def test_claims_of_one_billing_provider_share_a_2000A_even_when_not_adjacent():
    data, written = write_837([professional_claim("PCN0010"), professional_claim("PCN0011", billing_provider=LAB),
                               professional_claim("PCN0012")])
    assert segment(data, "HL") == ["HL*1**20*1", "HL*2*1*22*0", "HL*3*1*22*0", "HL*4**20*1", "HL*5*4*22*0"]
    assert segment(data, "CLM*") == ["CLM*PCN0010*150***11:B:1*Y*A*Y*Y", "CLM*PCN0012*150***11:B:1*Y*A*Y*Y",
                                     "CLM*PCN0011*150***11:B:1*Y*A*Y*Y"]
    assert [c.patient_control_number for c in written[0].claims] == ["PCN0010", "PCN0012", "PCN0011"]


def test_more_claims_than_claims_per_st_make_several_transaction_sets():
    claims = [professional_claim(f"PCN01{k:02d}", billing_provider=LAB if k % 2 else CLINIC) for k in range(5)]
    data, written = write_837(claims, claims_per_st=2)
    assert [(t.control_number, t.batch_id, t.claim_count) for t in written] == [
        ("0001", "BATCH0001-1", 2), ("0002", "BATCH0001-2", 2), ("0003", "BATCH0001-3", 1)]
    assert segment(data, "ST*") == ["ST*837*0001*005010X222A1", "ST*837*0002*005010X222A1",
                                    "ST*837*0003*005010X222A1"]
    assert segment(data, "BHT") == [f"BHT*0019*00*BATCH0001-{k}*20250301*0930*CH" for k in (1, 2, 3)]
    assert segment(data, "GE") == ["GE*3*1"]
    # CLINIC's claims 0, 2, 4 come first; the second ST holds the last of them and the first LAB claim
    assert [[c.patient_control_number for c in t.claims] for t in written] == [
        ["PCN0100", "PCN0102"], ["PCN0104", "PCN0101"], ["PCN0103"]]
    assert [c.patient_control_number for c in read_837_bytes(data)] == [
        "PCN0100", "PCN0102", "PCN0104", "PCN0101", "PCN0103"]


def test_each_claims_clm_segment_number_is_where_the_reader_finds_it():
    """WrittenTransaction.segments (what the ledger records for a built file) names each CLM's segment number,
    also across the writer's intermediate flushes (a few hundred claims) and several transaction sets."""
    claims = [professional_claim(f"PCN{k:05d}", billing_provider=LAB if k % 3 == 0 else CLINIC,
                                 patient=CHILD if k % 4 == 0 else None) for k in range(1, 1300)]
    data, written = write_837(claims, claims_per_st=1000)
    assert [t.claim_count for t in written] == [1000, 299]
    positions = {c.patient_control_number: s for t in written for c, s in zip(t.claims, t.segments, strict=True)}
    read = list(read_837_bytes(data))
    assert len(read) == 1299
    assert all(positions[c.patient_control_number] == c.source.segment for c in read)


def test_write_claims_adds_transaction_sets_to_an_interchange_the_caller_opened():
    out = io.BytesIO()
    w = InterchangeWriter(out, SENDER, RECEIVER, control=CounterControlNumbers(interchange=41, group=7), now=NOW,
                          usage="T")
    w.begin_group("HC", "005010X222A1")
    written = write_claims(w, [professional_claim()], SUBMITTER, kind="professional", batch_id="B42", now=NOW)
    w.end_group()
    w.close()
    [t] = written
    assert (t.interchange, t.group, t.control_number, t.batch_id, t.version) == (
        "000000041", "7", "0001", "B42", "005010X222A1")
    assert t.claims[0].lines[0].line_control_number == "PCN0001-1"
    assert segment(out.getvalue(), "BHT") == ["BHT*0019*00*B42*20250301*0930*CH"]


def test_write_claims_needs_an_open_group():
    w = InterchangeWriter(io.BytesIO(), SENDER, RECEIVER, control=CounterControlNumbers(), now=NOW)
    with pytest.raises(EnvelopeError):
        write_claims(w, [professional_claim()], SUBMITTER, kind="professional", batch_id="B1", now=NOW)


def test_the_batch_id_defaults_to_the_interchange_number():
    data, written = write_837([professional_claim()], interchange=12, batch_id=None)
    assert written[0].batch_id == "000000012"
    assert segment(data, "BHT") == ["BHT*0019*00*000000012*20250301*0930*CH"]


def test_only_the_clock_and_control_numbers_change_the_bytes():
    first, _ = write_837([professional_claim()], interchange=1)
    second, _ = write_837([professional_claim()], interchange=2)
    changed = [(a, b) for a, b in zip(lines_of(first), lines_of(second), strict=True) if a != b]
    assert [a.split("*")[0] for a, _ in changed] == ["ISA", "IEA"]


# -- institutional (837I) ---------------------------------------------------------------------------------------


def test_an_inpatient_claim_carries_bill_type_dates_cl1_and_hi_groups():
    data, _ = write_837([institutional_claim()])
    body = lines_of(data)
    start = body.index("CLM*PCN1001*5280.5***11:A:1**A*Y*Y")  # CLM05 = facility type 11 : A : frequency 1
    assert body[start:start + 16] == [
        "CLM*PCN1001*5280.5***11:A:1**A*Y*Y",
        "DTP*096*TM*1130",
        "DTP*434*RD8*20250210-20250212",
        "DTP*435*DT*202502100715",
        "CL1*1*7*01",
        "REF*G1*AUTH7000",
        "HI*ABK:K3580:::::::Y",  # present on admission in HI01-9
        "HI*ABJ:R1031",
        "HI*ABF:E119:::::::N*ABF:I10:::::::Y",
        "HI*BBR:0DTJ4ZZ:D8:20250211",
        "HI*BI:74:RD8:20250210-20250212",
        "HI*BH:11:D8:20250209",
        "HI*BE:80:::3",
        "HI*BG:39",
        "NM1*71*1*ATTENDDOC*JAMIE****XX*1555555550",
        "PRV*AT*PXC*207R00000X",
    ]
    assert segment(data, "NM1*72") == ["NM1*72*1*SURGEONDOC*RILEY****XX*1666666668"]
    assert segment(data, "SV2") == ["SV2*0120**3600*DA*3", "SV2*0360*HC:44970*1450.5*UN*1",
                                    "SV2*0300*HC:80053:91*230*UN*2"]


def test_an_outpatient_claim_for_a_dependent_with_a_reason_for_visit():
    data, _ = write_837([outpatient_claim()])
    assert segment(data, "CLM") == ["CLM*PCN2001*1200***13:A:1**A*Y*Y"]
    assert segment(data, "DTP*434") == ["DTP*434*RD8*20250214-20250214"]  # statement_to defaults to from
    assert segment(data, "CL1") == ["CL1*1**01"]
    assert segment(data, "HI") == ["HI*ABK:S93401A", "HI*APR:M25571"]
    assert segment(data, "HL") == ["HL*1**20*1", "HL*2*1*22*1", "HL*3*2*23*0"]


def test_institutional_diagnoses_are_ordered_by_hi_group_and_split_twelve_per_hi():
    others = tuple(Diagnosis(f"E11.{k}") for k in range(14))
    claim = institutional_claim(diagnoses=(Diagnosis("I10", "APR"), *others, Diagnosis("K35.80", "ABK")))
    data, _ = write_837([claim])
    hi = segment(data, "HI*AB") + segment(data, "HI*AP")
    assert hi[0] == "HI*ABK:K3580"
    assert [len(s.split("*")) - 1 for s in hi[1:3]] == [12, 2]  # 14 other diagnoses: 12, then 2
    assert hi[3] == "HI*APR:I10"
    assert segment(data, "HI")[:2] == ["HI*ABK:K3580", "HI*APR:I10"]  # principal, then reason for visit


def test_an_837I_rendering_provider_is_sent_only_when_it_differs_from_the_attending_provider():
    same, _ = write_837([institutional_claim(rendering_provider=ATTENDING)])
    assert segment(same, "NM1*82") == []
    other, _ = write_837([institutional_claim(rendering_provider=DOCTOR)])
    assert segment(other, "NM1*82") == ["NM1*82*1*TESTDOC*ALEX****XX*1245319599"]  # 2310D: no PRV in 837I


def test_the_bill_type_may_carry_its_leading_zero():
    written, problems = prepare_claim(institutional_claim(bill_type="0111"), "institutional")
    assert problems == () and written.bill_type == "111"


# -- money ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "text"), [
    ("100.00", "100"), ("12.50", "12.5"), ("0.00", "0"), ("0.5", "0.5"), ("99999999.99", "99999999.99"),
    ("1E+2", "100"), ("-3.250", "-3.25"),
])
def test_amounts_have_no_trailing_zeros_and_no_plus_sign(amount, text):
    assert decimal_text(Decimal(amount)) == text


# -- refusals ---------------------------------------------------------------------------------------------------

REFUSED = {
    "837.write.total": professional_claim(total_charge=Decimal("151")),
    "837.write.diagnoses": professional_claim(diagnoses=tuple(Diagnosis(f"E11.{k}") for k in range(13))),
    "837.write.frequency": professional_claim(frequency="7"),
    "837.write.amount": professional_claim(total_charge=Decimal("150.005"), lines=(
        replace(professional_claim().lines[0], charge=Decimal("100.005")), professional_claim().lines[1])),
    "837.write.pointer": professional_claim(lines=(
        replace(professional_claim().lines[0], diagnosis_pointers=(3,)), professional_claim().lines[1])),
    "837.write.not_carried": professional_claim(bill_type="131"),
    "837.write.zip": professional_claim(billing_provider=replace(CLINIC, address=replace(
        CLINIC.address, zip="62701"))),
    "837.write.kind": institutional_claim(),
    "837.write.modifier": professional_claim(lines=(
        replace(professional_claim().lines[0], modifiers=("25", "59", "GP", "KX", "XU")),
        professional_claim().lines[1])),
    "837.write.line_control": professional_claim(lines=tuple(
        replace(ln, line_control_number="SAME") for ln in professional_claim().lines)),
    "837.write.entity": professional_claim(referring_provider=LAB),
    "837.write.duplicate": professional_claim("PCN0099"),
}


@pytest.mark.parametrize("code", sorted(REFUSED))
def test_a_claim_that_cannot_be_written_is_refused_and_nothing_is_written(code):
    out = io.BytesIO()
    with pytest.raises(ClaimsRefused) as info:
        build_837(out, [professional_claim("PCN0099"), REFUSED[code]], SUBMITTER, SENDER, RECEIVER,
                  CounterControlNumbers(), NOW, "T", kind="professional")
    assert {p.code for p in info.value.problems} == {code}
    assert info.value.problems[0].where.record == REFUSED[code].patient_control_number
    assert out.getvalue() == b""


def test_the_balance_refusal_says_by_how_much():
    with pytest.raises(ClaimsRefused) as info:
        build_837(io.BytesIO(), [professional_claim(total_charge=Decimal("151"))], SUBMITTER, SENDER, RECEIVER,
                  CounterControlNumbers(), NOW)
    [problem] = info.value.problems
    assert problem.message == "CLM02 is 151 but the service lines add up to 150.00 (difference 1.00)"
    assert problem.where.element == "CLM02"


def test_a_value_containing_a_delimiter_is_refused_by_field_without_quoting_it():
    claim = professional_claim(subscriber=replace(SUBSCRIBER, last_name="O*BRIEN"))
    with pytest.raises(ClaimsRefused) as info:
        build_837(io.BytesIO(), [claim], SUBMITTER, SENDER, RECEIVER, CounterControlNumbers(), NOW)
    [problem] = info.value.problems
    assert problem.code == "837.write.delimiter"
    assert problem.message == "Claim.subscriber.last_name contains the delimiter '*'"
    assert "BRIEN" not in problem.message


def test_the_payer_loop_formatted_once_for_many_claims_is_each_payers_own():
    """The billing provider's and the payer's loops are formatted once and reused for the claims that share them
    (by equal value): each claim still gets its own payer's NM1*PR, and a payer holding a delimiter is refused
    by field, whatever was formatted before."""
    from edi.x837.writer import format_claim

    first = professional_claim()
    other = professional_claim(patient_control_number="PCN-OTHER",
                               payer=replace(first.payer, name="OTHER PLAN", payer_id="OTHER01"))
    for _ in range(2):
        for claim in (first, other, first):
            text, problems = format_claim(claim, "professional")
            assert text is not None and not problems
            [payer] = [s for s in text.subscriber.split("~\n") if s.startswith("NM1*PR")]
            assert payer == f"NM1*PR*2*{claim.payer.name}*****PI*{claim.payer.payer_id}"
            assert text.subscriber_count == text.subscriber.count("~")
    bad = professional_claim(payer=replace(first.payer, name="OTHER*PLAN"))
    text, problems = format_claim(bad, "professional")
    assert text is None
    assert [(p.code, p.message) for p in problems] == [
        ("837.write.delimiter", "Claim.payer.name contains the delimiter '*'")]


@pytest.mark.parametrize("bad", ["\ud800", "\udcff", "\u2028", "\x85"])
def test_a_character_utf8_cannot_encode_or_another_line_break_is_refused_before_anything_is_written(bad):
    """A lone surrogate cannot be encoded (it failed the write half-way, or as surrogateescape put a byte that
    is not UTF-8 in the file); NEL and U+2028 break lines as CR and LF do."""
    out = io.BytesIO()
    claim = professional_claim(subscriber=replace(SUBSCRIBER, first_name=f"AL{bad}EX"))
    with pytest.raises(ClaimsRefused) as info:
        build_837(out, [claim], SUBMITTER, SENDER, RECEIVER, CounterControlNumbers(), NOW)
    assert [(p.code, p.message.split(" contains")[0]) for p in info.value.problems] == [
        ("837.write.delimiter", "Claim.subscriber.first_name")]
    assert out.getvalue() == b""


def test_an_institutional_claim_needs_an_attending_provider_statement_dates_and_patient_status():
    claim = institutional_claim(attending_provider=None, statement_from=None, statement_to=None,
                                discharge_status=None)
    _, problems = prepare_claim(claim, "institutional")
    assert [(p.code, p.where.loop) for p in problems] == [
        ("837.write.missing", "2310A"), ("837.write.missing", "2300"), ("837.write.missing", "2300")]


def test_institutional_codes_need_what_their_hi_group_carries():
    claim = institutional_claim(institutional_codes=(CodeDate("BH", "11"), CodeDate("BE", "80"),
                                                     CodeDate("ZZ", "99")))
    _, problems = prepare_claim(claim, "institutional")
    assert [p.code for p in problems] == ["837.write.missing", "837.write.amount", "837.write.code"]


def test_several_problems_are_reported_together():
    claim = professional_claim(place_of_service=None, payer=replace(professional_claim().payer, payer_id=""))
    _, problems = prepare_claim(claim, "professional")
    assert sorted((p.code, p.where.element) for p in problems) == [
        ("837.write.missing", "CLM05"), ("837.write.missing", "NM109")]


# -- what the 837 carries ---------------------------------------------------------------------------------------


def test_generated_line_control_numbers_never_collide_with_given_ones():
    claim = professional_claim(lines=(replace(professional_claim().lines[0], line_control_number="PCN0001-2"),
                                      professional_claim().lines[1]))
    written, _ = prepare_claim(claim, "professional")
    assert [ln.line_control_number for ln in written.lines] == ["PCN0001-2", "PCN0001-2-1"]


def test_as_written_drops_what_a_loop_does_not_carry():
    claim = professional_claim(patient=CHILD, rendering_provider=DOCTOR,
                               diagnoses=(Diagnosis("E11.9", "ABF", "Y"), Diagnosis("I10")))
    written, problems = prepare_claim(claim, "professional")
    assert problems == ()
    assert written.diagnoses == (Diagnosis("E119", "ABK"), Diagnosis("I10", "ABF"))  # no POA in 837P
    assert written.subscriber.birth_date is None and written.subscriber.address is None  # the child is the patient
    assert written.rendering_provider == Provider("TESTDOC", npi="1245319599", entity="1", first_name="ALEX",
                                                  taxonomy="207Q00000X")  # 2310B has no tax id
    assert written.billing_provider.address is not None and written.billing_provider.address.zip == "627010001"
