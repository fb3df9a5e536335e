"""Worked 837 examples shared by the writer and reader tests, and the promises every example keeps.

Each example is a batch of synthetic claims (fake names and ids, NPIs with valid check digits, no SSNs).
:func:`write_837` writes a batch and checks the file with pyx12 (``validate_bytes(deep=True)``), so every
file the writer produces in these tests is known to pass the TR3 validation with zero errors. The files in
``samples/837/`` are three of these examples, written by the writer.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from edi.model import (
    Address,
    Claim,
    ClaimKind,
    CodeDate,
    Diagnosis,
    Patient,
    Payer,
    Provider,
    ServiceLine,
    Submitter,
    Subscriber,
)
from edi.validate import validate_bytes
from edi.x12.writer import CounterControlNumbers, Party
from edi.x837.prepare import prepare_claim
from edi.x837.reader import read_837, read_837_bytes
from edi.x837.writer import WrittenTransaction, build_837

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "837"

NOW = datetime(2025, 3, 1, 9, 30)
SENDER = Party("ZZ", "SYNTHSUBMIT")
RECEIVER = Party("ZZ", "SYNTHCLEAR")
SUBMITTER = Submitter("SYNTH BILLING SERVICE", "SYNTHSUBMIT", "BILLING DESK", phone="5555550100",
                      receiver_name="SYNTH CLEARINGHOUSE", receiver_id="SYNTHCLEAR")

STREET = Address("1 TEST STREET", "SPRINGFIELD", "IL", "62701")
CLINIC = Provider("SYNTH FAMILY CLINIC", npi="1234567893", tax_id="990000001", taxonomy="207Q00000X",
                  address=Address("100 SAMPLE WAY", "SPRINGFIELD", "IL", "62701-0001"),
                  contact_name="CLINIC OFFICE", phone="5555550111")
LAB = Provider("SYNTH LAB GROUP", npi="1111111112", tax_id="990000002",
               address=Address("200 SAMPLE WAY", "SPRINGFIELD", "IL", "627010002"))
DOCTOR = Provider("TESTDOC", npi="1245319599", entity="1", first_name="ALEX", taxonomy="207Q00000X",
                  tax_id="990000009")
REFERRER = Provider("REFERDOC", npi="1222222220", entity="1", first_name="SAM")
FACILITY = Provider("SYNTH SURGERY CENTER", npi="1333333338",
                    address=Address("300 SAMPLE WAY", "SPRINGFIELD", "IL", "627010003"))
HOSPITAL = Provider("SYNTH GENERAL HOSPITAL", npi="1444444446", tax_id="990000004", taxonomy="282N00000X",
                    address=Address("500 HOSPITAL DRIVE", "SPRINGFIELD", "IL", "627010005"))
ATTENDING = Provider("ATTENDDOC", npi="1555555550", entity="1", first_name="JAMIE", taxonomy="207R00000X")
SURGEON = Provider("SURGEONDOC", npi="1666666668", entity="1", first_name="RILEY")

PAYER = Payer("SYNTH HEALTH PLAN", "SYNTH01", filing_indicator="CI")
SUBSCRIBER = Subscriber("MBR00000001", "SAMPLE", "PAT", birth_date=date(1980, 1, 2), sex="F", address=STREET,
                        group_number="GRP0001")
CHILD = Patient("SAMPLE", "KID", "19", birth_date=date(2015, 5, 6), sex="M", address=STREET)


def professional_claim(pcn: str = "PCN0001", **changes) -> Claim:
    """An office visit with a urine test: two lines, two diagnoses, the subscriber is the patient."""
    claim = Claim(
        kind="professional", patient_control_number=pcn, total_charge=Decimal("150.00"),
        billing_provider=CLINIC, subscriber=SUBSCRIBER, payer=PAYER,
        diagnoses=(Diagnosis("E11.9", "ABK"), Diagnosis("I10")),
        lines=(
            ServiceLine(1, Decimal("100.00"), Decimal(1), service_date=date(2025, 2, 10), procedure="99213",
                        modifiers=("25",), diagnosis_pointers=(1, 2)),
            ServiceLine(2, Decimal("50.00"), Decimal(1), service_date=date(2025, 2, 10), procedure="81002",
                        diagnosis_pointers=(1,)),
        ),
        place_of_service="11",
    )
    return replace(claim, **changes)


def hospital_visit_claim(pcn: str = "PCN0201", **changes) -> Claim:
    """A hospital visit billed on an 837P: admission date, a work-related cause, a line rendered by another
    doctor at another place of service over two days, a drug with a description, four modifiers."""
    claim = professional_claim(
        pcn, total_charge=Decimal("412.25"), place_of_service="21", admission_date=date(2025, 2, 9),
        accident_cause=("EM",), rendering_provider=DOCTOR,
        payer=replace(PAYER, address=Address("1 PAYER PLAZA", "CAPITAL CITY", "IL", "627010009")),
        lines=(
            ServiceLine(1, Decimal("212.25"), Decimal(1), service_date=date(2025, 2, 9),
                        service_date_end=date(2025, 2, 10), procedure="99223", modifiers=("25", "57", "GC", "AI"),
                        diagnosis_pointers=(1,), rendering_provider=REFERRER),
            ServiceLine(2, Decimal("200"), Decimal("2.5"), service_date=date(2025, 2, 10), procedure="J3490",
                        description="SYNTH DRUG 10 MG", diagnosis_pointers=(2, 1), place_of_service="22"),
        ),
    )
    return replace(claim, **changes)


def institutional_claim(pcn: str = "PCN1001", **changes) -> Claim:
    """A three-day inpatient stay (bill type 111) with admission and discharge hours, an operating
    physician, occurrence, occurrence span, value and condition codes and a principal procedure."""
    claim = Claim(
        kind="institutional", patient_control_number=pcn, total_charge=Decimal("5280.50"),
        billing_provider=HOSPITAL, subscriber=SUBSCRIBER, payer=PAYER,
        diagnoses=(Diagnosis("K35.80", "ABK", "Y"), Diagnosis("R10.31", "ABJ"), Diagnosis("E11.9", "ABF", "N"),
                   Diagnosis("I10", "ABF", "Y")),
        lines=(
            ServiceLine(1, Decimal("3600.00"), Decimal(3), revenue_code="0120", unit_basis="DA",
                        service_date=date(2025, 2, 10), service_date_end=date(2025, 2, 12)),
            ServiceLine(2, Decimal("1450.50"), Decimal(1), revenue_code="0360", procedure="44970",
                        service_date=date(2025, 2, 11)),
            ServiceLine(3, Decimal("230.00"), Decimal(2), revenue_code="0300", procedure="80053", modifiers=("91",),
                        service_date=date(2025, 2, 10)),
        ),
        bill_type="111", statement_from=date(2025, 2, 10), statement_to=date(2025, 2, 12),
        admission_date=date(2025, 2, 10), admission_hour="0715", admission_type="1", admission_source="7",
        discharge_status="01", discharge_hour="1130", attending_provider=ATTENDING, operating_provider=SURGEON,
        institutional_codes=(
            CodeDate("BH", "11", date=date(2025, 2, 9)),
            CodeDate("BI", "74", date=date(2025, 2, 10), date_end=date(2025, 2, 12)),
            CodeDate("BE", "80", amount=Decimal("3")),
            CodeDate("BG", "39"),
            CodeDate("BBR", "0DTJ4ZZ", date=date(2025, 2, 11)),
        ),
        prior_authorization="AUTH7000",
    )
    return replace(claim, **changes)


def outpatient_claim(pcn: str = "PCN2001", **changes) -> Claim:
    """An emergency room visit (bill type 131) for a dependent child, with a reason for visit."""
    claim = Claim(
        kind="institutional", patient_control_number=pcn, total_charge=Decimal("1200"),
        billing_provider=HOSPITAL, subscriber=SUBSCRIBER, payer=PAYER, patient=CHILD,
        diagnoses=(Diagnosis("S93.401A", "ABK"), Diagnosis("M25.571", "APR")),
        lines=(
            ServiceLine(1, Decimal("800"), Decimal(1), revenue_code="0450", procedure="99284",
                        service_date=date(2025, 2, 14)),
            ServiceLine(2, Decimal("400"), Decimal(1), revenue_code="0320", procedure="73610",
                        service_date=date(2025, 2, 14)),
        ),
        bill_type="131", statement_from=date(2025, 2, 14), discharge_status="01", attending_provider=ATTENDING,
        rendering_provider=DOCTOR, service_facility=FACILITY, referring_provider=REFERRER,
        admission_type="1", medical_record_number="MRN0042",
    )
    return replace(claim, **changes)


#: Named batches of one kind each: the examples every promise below is checked on.
EXAMPLES: dict[str, tuple[Claim, ...]] = {
    "professional-dependent": (
        professional_claim("PCN0001", patient=CHILD, rendering_provider=DOCTOR, referring_provider=REFERRER,
                           prior_authorization="AUTH0001", onset_date=date(2025, 2, 8)),
    ),
    "professional-subscriber": (professional_claim("PCN0002", rendering_provider=CLINIC),),
    "professional-corrections": (
        professional_claim("PCN0003", frequency="7", payer_claim_number="ICN0000000001",
                           note="CORRECTED MODIFIER"),
        professional_claim("PCN0004", frequency="8", payer_claim_number="ICN0000000002"),
    ),
    "professional-two-billing-providers": (
        professional_claim("PCN0005"),
        professional_claim("PCN0006", billing_provider=LAB, service_facility=FACILITY,
                           referral_number="REF0006", medical_record_number="MRN0006"),
        professional_claim("PCN0007", patient=CHILD),
    ),
    "professional-hospital-visit": (hospital_visit_claim(),),
    "institutional-inpatient": (institutional_claim(),),
    "institutional-outpatient": (outpatient_claim(),),
}

#: The sample files in samples/837 and the example each one holds.
SAMPLE_FILES = {
    "professional-dependent.837": "professional-dependent",
    "professional-two-billing-providers.837": "professional-two-billing-providers",
    "institutional-inpatient.837": "institutional-inpatient",
}


# -- helpers --------------------------------------------------------------------------------------------------

_VALID: set[str] = set()


def assert_valid(data: bytes) -> None:
    """pyx12 and edi's own checks find no error (each distinct file is validated once per run)."""
    digest = hashlib.sha256(data).hexdigest()
    if digest in _VALID:
        return
    report = validate_bytes(data, deep=True)
    assert [str(p) for p in report.problems if p.is_error] == []
    _VALID.add(digest)


def write_837(claims: tuple[Claim, ...] | list[Claim], *, claims_per_st: int = 5000, interchange: int = 1,
              batch_id: str | None = "BATCH0001",
              kind: ClaimKind | None = None) -> tuple[bytes, tuple[WrittenTransaction, ...]]:
    """An 837 file for ``claims`` (checked with pyx12) and what the writer says it wrote."""
    out = io.BytesIO()
    written = build_837(out, claims, SUBMITTER, SENDER, RECEIVER, CounterControlNumbers(interchange=interchange),
                        NOW, "T", kind=kind, batch_id=batch_id, claims_per_st=claims_per_st)
    data = out.getvalue()
    assert_valid(data)
    return data, written


def lines_of(data: bytes) -> list[str]:
    """The segments of a written file, without terminators."""
    return [s.rstrip("~") for s in data.decode().splitlines()]


def without_source(claim: Claim) -> Claim:
    return replace(claim, source=None, lines=tuple(replace(ln, source=None) for ln in claim.lines))


def as_written(claim: Claim) -> Claim:
    written, problems = prepare_claim(claim, claim.kind)
    assert problems == ()
    return without_source(written)


# -- the promises -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_validates_with_pyx12_and_reads_back_to_the_claims_as_written(name):
    data, written = write_837(EXAMPLES[name])
    stream = read_837_bytes(data)
    read = [without_source(c) for c in stream]
    assert read == [without_source(c) for t in written for c in t.claims]
    by_number = {c.patient_control_number: c for c in read}
    assert by_number == {c.patient_control_number: as_written(c) for c in EXAMPLES[name]}
    assert stream.problems == ()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_same_input_gives_the_same_bytes(name):
    first, _ = write_837(EXAMPLES[name])
    again, _ = write_837(EXAMPLES[name])
    assert first == again


@pytest.mark.parametrize(("file", "example"), sorted(SAMPLE_FILES.items()))
def test_the_sample_files_are_what_the_writer_writes(file, example):
    data, written = write_837(EXAMPLES[example])
    path = SAMPLES / file
    # to regenerate after a deliberate change: path.write_bytes(data)
    assert path.read_bytes() == data, f"{path} differs from the writer's output for example {example!r}"
    claims = [without_source(c) for c in read_837(str(path))]
    assert claims == [without_source(c) for t in written for c in t.claims]
