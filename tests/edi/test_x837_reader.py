"""The 837 reader: claims back out of 837P and 837I files, streamed, with problems instead of exceptions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from conftest import CORPUS
from test_x837_examples import (
    CHILD,
    EXAMPLES,
    LAB,
    institutional_claim,
    outpatient_claim,
    professional_claim,
    without_source,
    write_837,
)
from x12text import interchange

from edi.model import Address, Diagnosis, Payer, Provider, Source, Subscriber
from edi.x12.tokenizer import tokenize
from edi.x837.reader import Reader837, read_837, read_837_bytes

P = {"functional_id": "HC", "st01": "837", "version": "005010X222A1", "st03": "005010X222A1"}

HEADER = """
    BHT*0019*00*BATCH77*20250301*1200*CH~
    NM1*41*2*SYNTH BILLING*****46*SUBMITTERID~
    PER*IC*DESK*TE*5555550100~
    NM1*40*2*SYNTH CLEARINGHOUSE*****46*RECEIVERID~
    HL*1**20*1~
    NM1*85*2*SYNTH CLINIC*****XX*1234567893~
    N3*100 SAMPLE WAY~
    N4*SPRINGFIELD*IL*627010001~
    REF*EI*990000001~
"""

#: A secondary claim: the 2320/2330 loops describe the primary payer and must not replace the claim's own.
SECONDARY = HEADER + """
    HL*2*1*22*0~
    SBR*S*18*GRP2******MB~
    NM1*IL*1*SAMPLE*PAT****MI*MBR0000002~
    N3*1 TEST STREET~
    N4*SPRINGFIELD*IL*62701~
    DMG*D8*19500303*M~
    NM1*PR*2*SECOND PLAN*****PI*SECOND01~
    CLM*COB0001*200***11:B:1*Y*A*Y*Y~
    HI*ABK:J069*ABF:R05~
    NM1*82*1*TESTDOC*ALEX****XX*1245319599~
    SBR*P*18*GRP1******CI~
    AMT*D*120~
    OI***Y***Y~
    NM1*IL*1*SAMPLE*PAT****MI*OTHERMBR~
    NM1*PR*2*FIRST PLAN*****PI*FIRST01~
    LX*1~
    SV1*HC:99213:25*200*UN*1***1:2~
    DTP*472*D8*20250210~
    SVD*FIRST01*120*HC:99213**1~
    CAS*CO*45*80~
    DTP*573*D8*20250220~
"""


def test_a_secondary_claim_keeps_its_own_subscriber_payer_and_rendering_provider():
    stream = read_837_bytes(interchange(SECONDARY, **P), file="secondary.837")
    [claim] = stream
    assert claim.patient_control_number == "COB0001" and claim.total_charge == Decimal("200")
    assert claim.subscriber == Subscriber("MBR0000002", "SAMPLE", "PAT", birth_date=date(1950, 3, 3), sex="M",
                                          address=Address("1 TEST STREET", "SPRINGFIELD", "IL", "62701"),
                                          group_number="GRP2")
    assert claim.payer == Payer("SECOND PLAN", "SECOND01", filing_indicator="MB", responsibility="S")
    assert claim.billing_provider == Provider("SYNTH CLINIC", npi="1234567893", tax_id="990000001",
                                              address=Address("100 SAMPLE WAY", "SPRINGFIELD", "IL", "627010001"))
    assert claim.rendering_provider == Provider("TESTDOC", npi="1245319599", entity="1", first_name="ALEX")
    assert claim.diagnoses == (Diagnosis("J069", "ABK"), Diagnosis("R05", "ABF"))
    [line] = claim.lines
    assert (line.procedure, line.modifiers, line.charge, line.units, line.diagnosis_pointers, line.service_date) == (
        "99213", ("25",), Decimal("200"), Decimal(1), (1, 2), date(2025, 2, 10))
    assert line.line_control_number is None
    assert claim.source == Source(file="secondary.837", interchange="000000001", transaction="0001", segment=20)
    assert stream.problems == ()


def test_each_transaction_set_reports_the_keys_the_ledger_needs():
    data, written = write_837([professional_claim(f"PCN03{k}") for k in range(3)], claims_per_st=2, interchange=9)
    stream = read_837_bytes(data)
    claims, while_reading = [], []
    for claim in stream:  # while streaming, ``current`` is the transaction set of the claim just read
        claims.append(claim)
        while_reading.append((stream.current.control_number, stream.current.batch_id, stream.current.claim_count))
    assert while_reading == [("0001", "BATCH0001-1", 1), ("0001", "BATCH0001-1", 2), ("0002", "BATCH0001-2", 1)]
    assert [(t.interchange, t.group, t.control_number, t.batch_id, t.version, t.kind, t.claim_count,
             t.total_charge) for t in stream.transactions] == [
        ("000000009", "1", "0001", "BATCH0001-1", "005010X222A1", "professional", 2, Decimal(300)),
        ("000000009", "1", "0002", "BATCH0001-2", "005010X222A1", "professional", 1, Decimal(150)),
    ]
    assert [t.submitter_id for t in stream.transactions] == ["SYNTHSUBMIT"] * 2
    assert [t.created for t in stream.transactions] == [date(2025, 3, 1)] * 2
    assert [(c.source.interchange, c.source.transaction) for c in claims] == [
        ("000000009", "0001"), ("000000009", "0001"), ("000000009", "0002")]
    assert [c.patient_control_number for c in claims] == [c.patient_control_number for t in written
                                                          for c in t.claims]


def test_several_interchanges_in_one_file_each_with_their_delimiters():
    first, _ = write_837([professional_claim("PCN0401")], interchange=1)
    second, _ = write_837([institutional_claim("PCN0402")], interchange=2)
    third = second.replace(b"*", b"|").replace(b":", b">")
    stream = read_837_bytes(first + second + third)
    claims = list(stream)
    assert [(c.kind, c.patient_control_number, c.source.interchange) for c in claims] == [
        ("professional", "PCN0401", "000000001"), ("institutional", "PCN0402", "000000002"),
        ("institutional", "PCN0402", "000000002")]
    assert without_source(claims[1]) == without_source(claims[2])
    assert claims[2].diagnoses[0] == Diagnosis("K3580", "ABK", "Y")


def test_the_round_trip_keeps_dependents_providers_corrections_and_institutional_details():
    claims = [*EXAMPLES["professional-dependent"], *EXAMPLES["professional-corrections"]]
    data, written = write_837(claims)
    read = {c.patient_control_number: c for c in read_837_bytes(data)}
    dependent = read["PCN0001"]
    assert dependent.patient == CHILD
    assert dependent.subscriber.birth_date is None  # not sent when a dependent is the patient
    assert (dependent.rendering_provider.name, dependent.referring_provider.name) == ("TESTDOC", "REFERDOC")
    assert (dependent.prior_authorization, dependent.onset_date) == ("AUTH0001", date(2025, 2, 8))
    assert [(read[n].frequency, read[n].payer_claim_number) for n in ("PCN0003", "PCN0004")] == [
        ("7", "ICN0000000001"), ("8", "ICN0000000002")]
    assert read["PCN0003"].note == "CORRECTED MODIFIER"
    assert [ln.line_control_number for ln in read["PCN0004"].lines] == ["PCN0004-1", "PCN0004-2"]

    [inpatient] = read_837_bytes(write_837([institutional_claim()])[0])
    assert (inpatient.bill_type, inpatient.frequency, inpatient.statement_from, inpatient.statement_to) == (
        "111", "1", date(2025, 2, 10), date(2025, 2, 12))
    assert (inpatient.admission_date, inpatient.admission_hour, inpatient.discharge_hour) == (
        date(2025, 2, 10), "0715", "1130")
    assert (inpatient.admission_type, inpatient.admission_source, inpatient.discharge_status) == ("1", "7", "01")
    assert [ln.revenue_code for ln in inpatient.lines] == ["0120", "0360", "0300"]
    assert inpatient.lines[0].service_date_end == date(2025, 2, 12) and inpatient.lines[0].procedure is None
    assert [(c.qualifier, c.code) for c in inpatient.institutional_codes] == [
        ("BBR", "0DTJ4ZZ"), ("BI", "74"), ("BH", "11"), ("BE", "80"), ("BG", "39")]
    assert inpatient.institutional_codes[3].amount == Decimal(3)

    [outpatient] = read_837_bytes(write_837([outpatient_claim()])[0])
    assert (outpatient.bill_type, outpatient.patient, outpatient.medical_record_number) == ("131", CHILD, "MRN0042")


def test_claims_are_yielded_as_soon_as_they_are_complete():
    data, _ = write_837([professional_claim("PCN0501"), professional_claim("PCN0502", billing_provider=LAB),
                         professional_claim("PCN0503", patient=CHILD)])
    segments, _ = tokenize(data)
    reader = Reader837()
    completed = []
    for seg in segments:
        claim = reader.segment(seg)
        if claim is not None:
            completed.append((claim.patient_control_number, seg.tag, seg[3] if seg.tag == "HL" else ""))
    assert reader.close() is None
    # each claim comes out at the segment that ends it: the next billing or subscriber level, or SE
    assert completed == [("PCN0501", "HL", "22"), ("PCN0503", "HL", "20"), ("PCN0502", "SE", "")]


def test_a_composite_written_with_another_separator_is_read_with_a_warning():
    body = SECONDARY.replace("11:B:1", "11>B>1").replace("HC:99213:25", "HC>99213>25")
    stream = read_837_bytes(interchange(body, **P))
    [claim] = stream
    assert (claim.place_of_service, claim.frequency, claim.lines[0].modifiers) == ("11", "1", ("25",))
    assert [(p.code, p.severity.value, p.where.element) for p in stream.problems] == [
        ("837.read.separator", "warning", "CLM05")]


def test_a_claim_missing_its_billing_provider_and_charge_is_still_yielded_with_errors():
    body = SECONDARY.replace("NM1*85*2*SYNTH CLINIC*****XX*1234567893~", "").replace("COB0001*200", "COB0001*2X0")
    stream = read_837_bytes(interchange(body, **P))
    [claim] = stream
    assert claim.billing_provider == Provider(name="") and claim.total_charge == 0
    assert [(p.code, p.where.tag, p.where.element) for p in stream.problems] == [
        ("837.read.amount", "CLM", "CLM02"), ("837.read.missing", "CLM", None)]
    assert "2010AA" in stream.problems[1].message


def test_problems_name_elements_never_their_values():
    body = SECONDARY.replace("DMG*D8*19500303*M", "DMG*D8*1950MAR3*M")
    stream = read_837_bytes(interchange(body, **P))
    [claim] = stream
    [problem] = stream.problems
    assert (problem.code, problem.where.element, problem.where.segment) == ("837.read.date", "DMG02", 18)
    assert "MAR" not in problem.message and claim.subscriber.birth_date is None


def test_a_4010_transaction_is_read_with_a_version_warning():
    body = SECONDARY.replace("ABK:J069*ABF:R05", "BK:4659*BF:7862")
    stream = read_837_bytes(interchange(body, functional_id="HC", st01="837", version="004010X098A1"))
    [claim] = stream
    assert claim.kind == "professional" and claim.diagnoses == (Diagnosis("4659", "BK"), Diagnosis("7862", "BF"))
    assert [p.code for p in stream.problems] == ["837.read.version"]


def test_an_unknown_version_takes_its_kind_from_clm05():
    body = SECONDARY.replace("11:B:1", "13:A:1").replace("SV1*HC:99213:25*200*UN*1***1:2", "SV2*0450*HC:99213*200*UN*1")
    stream = read_837_bytes(interchange(body, functional_id="HC", st01="837", version="999999X999X9"))
    [claim] = stream
    assert (claim.kind, claim.bill_type, claim.lines[0].revenue_code) == ("institutional", "131", "0450")


def test_a_dental_transaction_is_skipped_with_a_warning():
    stream = read_837_bytes(interchange(SECONDARY, functional_id="HC", st01="837", version="005010X224A2",
                                        st03="005010X224A2"))
    assert list(stream) == [] and stream.transactions == ()
    assert [p.code for p in stream.problems] == ["837.read.unsupported"]


def test_other_transaction_types_in_the_file_are_ignored():
    remit = interchange("BPR*I*0*C*NON************20250401~", control=2)
    data, _ = write_837([professional_claim()])
    stream = read_837_bytes(remit + data)
    assert [c.patient_control_number for c in stream] == ["PCN0001"] and stream.problems == ()


def test_a_transaction_without_se_still_yields_its_last_claim():
    data, _ = write_837([professional_claim()])
    cut = data[:data.index(b"\nSE*") + 1]
    stream = read_837_bytes(cut)
    assert [c.patient_control_number for c in stream] == ["PCN0001"]
    assert [t.claim_count for t in stream.transactions] == [1]


def test_reading_a_file_from_disk(tmp_path):
    data, _ = write_837([replace(professional_claim(), patient=CHILD)])
    path = tmp_path / "claims.837"
    path.write_bytes(data)
    stream = read_837(str(path))
    [claim] = stream
    assert claim.source.file == str(path) and claim.patient == CHILD


# -- the external corpus ----------------------------------------------------------------------------------------


def _manifest() -> list[tuple[str, str, str]]:
    """(path, type, notes) of every 837 file of ../shared/corpus (empty when the corpus is absent)."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    rows = [line.split("\t") for line in manifest.read_text(encoding="utf-8").splitlines()[1:]]
    return [(r[0], r[1], r[8]) for r in rows if r[1].startswith("837")]


ALL_837 = _manifest()
READABLE_5010 = [(path, notes) for path, kind, notes in ALL_837
                 if kind in ("837P", "837I") and "version 00501" in notes]


def count_claims(data: bytes) -> tuple[int, Decimal]:
    """CLM segments and the sum of CLM02, counted with nothing but str.split."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("ISA"):
        element, terminator = text[3], text[105]
    else:  # a file that starts with a bare GS
        element, terminator = text[2], "~"
    charges = [Decimal(s.strip().split(element)[2]) for s in text.split(terminator)
               if s.strip().startswith("CLM" + element)]
    return len(charges), sum(charges, Decimal(0))


@pytest.mark.skipif(not READABLE_5010, reason="../shared/corpus is absent")
@pytest.mark.parametrize(("path", "notes"), READABLE_5010, ids=[r[0] for r in READABLE_5010])
def test_every_5010_corpus_claim_is_read_with_its_charge(path, notes):
    data = (CORPUS / path).read_bytes()
    stream = read_837_bytes(data, file=path)
    claims = list(stream)
    assert (len(claims), sum((c.total_charge for c in claims), Decimal(0))) == count_claims(data)
    assert sum(t.claim_count for t in stream.transactions) == len(claims)


@pytest.mark.skipif(not ALL_837, reason="../shared/corpus is absent")
@pytest.mark.parametrize(("path", "kind", "notes"), ALL_837, ids=[r[0] for r in ALL_837])
def test_no_corpus_837_crashes_the_reader_and_every_finding_has_a_position(path, kind, notes):
    stream = read_837(str(CORPUS / path))
    claims = list(stream)
    findings = [p for p in stream.problems if p.code.startswith("837.")]
    assert all(p.where.segment is not None and p.where.file == str(CORPUS / path) for p in findings)
    if kind == "837D":  # skipped, or (4010 files whose GS08 says 837I) read without their SV3 lines
        assert "837.read.unsupported" in {p.code for p in findings}
        assert all(c.lines == () for c in claims)
    elif "version 00501" not in notes:
        assert "837.read.version" in {p.code for p in findings}
    else:
        assert all(c.source.segment is not None for c in claims)


@pytest.mark.parametrize("charge", ["99999999999999999999", "1E+25", "27_3.86", "NaN", "273.865", "12.3.4"])
def test_an_amount_that_is_not_an_x12_money_amount_is_a_problem_never_a_silent_reading(charge):
    """CLM02 and SV102 are R 1/18 in dollars and cents: 20 digits once reached the ledger and crashed the import
    (OverflowError: Python int too large to convert to SQLite INTEGER, found by benchmarks/fuzz.py); an exponent,
    an underscore, NaN or a fraction of a cent would be read as some other amount."""
    body = SECONDARY.replace("CLM*COB0001*200*", f"CLM*COB0001*{charge}*").replace("SV1*HC:99213:25*200*",
                                                                                    f"SV1*HC:99213:25*{charge}*")
    stream = read_837_bytes(interchange(body, **P), file="odd.837")
    [claim] = stream
    assert claim.total_charge == Decimal(0) and claim.lines[0].charge == Decimal(0)
    found = [(p.code, p.where.element) for p in stream.problems]
    assert found == [("837.read.amount", "CLM02"), ("837.read.amount", "SV102")]
    assert all(charge not in p.message for p in stream.problems)  # messages name elements, never values


def test_units_take_decimals_but_not_an_exponent():
    stream = read_837_bytes(interchange(SECONDARY.replace("*200*UN*1***", "*200*UN*1.375***"), **P))
    assert [c.lines[0].units for c in stream] == [Decimal("1.375")] and stream.problems == ()
    stream = read_837_bytes(interchange(SECONDARY.replace("*200*UN*1***", "*200*UN*1E3***"), **P))
    assert [c.lines[0].units for c in stream] == [Decimal(0)]
    assert [(p.code, p.where.element) for p in stream.problems] == [("837.read.amount", "SV104")]


def test_a_claim_with_a_20_digit_charge_is_refused_by_the_ledger_not_crashed(tmp_path):
    from edi.ledger import Ledger

    path = tmp_path / "huge.837"
    path.write_bytes(interchange(SECONDARY.replace("CLM*COB0001*200*", "CLM*COB0001*99999999999999999999*"), **P))
    ledger = Ledger(f"sqlite:///{tmp_path / 'edi.db'}")
    result = ledger.record_837(str(path))
    assert result.outcome == "refused" and "837.read.amount" in [p.code for p in result.problems]
    assert ledger.check() == []
    ledger.close()


@pytest.mark.parametrize("number", ["99999999999999999999", "²", "1234567", "-1"])
def test_a_line_number_or_pointer_that_is_no_short_number_is_a_problem(number, tmp_path):
    """LX01 of 20 digits crashed the ledger (OverflowError: Python int too large to convert to SQLite INTEGER;
    found by benchmarks/fuzz.py), and ``²`` passed ``str.isdigit`` and then crashed ``int()``."""
    from edi.ledger import Ledger

    body = SECONDARY.replace("LX*1~", f"LX*{number}~").replace("*UN*1***1:2~", f"*UN*1***1:{number}~")
    stream = read_837_bytes(interchange(body, **P))
    [claim] = stream
    assert claim.lines[0].number == 1 and claim.lines[0].diagnosis_pointers == (1,)
    assert [(p.code, p.where.element) for p in stream.problems] == [("837.read.number", "LX01"),
                                                                     ("837.read.number", "SV107")]
    path = tmp_path / "odd.837"
    path.write_bytes(interchange(body, **P))
    ledger = Ledger(f"sqlite:///{tmp_path / 'edi.db'}")
    ledger.record_837(str(path))
    assert ledger.check() == []
    ledger.close()
