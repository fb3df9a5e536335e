"""The fast constructors of the model (``fast_new``, ``fast_replace``) give exactly what the dataclass
constructor and ``dataclasses.replace`` give: equal, hashable, immutable objects of the model class."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from edi.model import Address, Claim, Diagnosis, Payer, Provider, ServiceLine, Subscriber, fast_new, fast_replace

ADDRESS = dict(line1="100 SYNTHETIC WAY", city="SPRINGFIELD", state="IL", zip="627010001")
BILLING = Provider(name="SYNTH CLINIC", npi="1234567893", tax_id="990000001", address=Address(**ADDRESS))


def a_claim() -> Claim:
    line = ServiceLine(number=1, charge=Decimal("125.00"), units=Decimal("1"), procedure="99213",
                       modifiers=("25",), diagnosis_pointers=(1,), service_date=date(2026, 1, 5))
    return Claim(kind="professional", patient_control_number="PCN1", total_charge=Decimal("125.00"),
                 billing_provider=BILLING,
                 subscriber=Subscriber(member_id="M1", last_name="TESTPERSON", first_name="ALEX"),
                 payer=Payer(name="ACME", payer_id="12345", filing_indicator="CI"),
                 diagnoses=(Diagnosis("E119", "ABK"),), lines=(line,), place_of_service="11")


def test_fast_new_equals_the_dataclass_constructor():
    assert fast_new(Address)(**ADDRESS) == Address(**ADDRESS)
    assert fast_new(Address)("1 MAIN", "TOWN", "IL", "62701") == Address("1 MAIN", "TOWN", "IL", "62701")
    made = fast_new(Diagnosis)("E119", "ABK")
    assert type(made) is Diagnosis and made == Diagnosis("E119", "ABK")
    assert hash(made) == hash(Diagnosis("E119", "ABK"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.code = "I10"  # type: ignore[misc]
    with pytest.raises(TypeError):
        fast_new(Address)(line1="1 MAIN")  # required fields are still required


def test_fast_replace_equals_dataclasses_replace():
    claim = a_claim()
    changes = dict(patient_control_number="PCN2", place_of_service="22", frequency="7", payer_claim_number="ICN9")
    fast = fast_replace(claim, **changes)
    assert type(fast) is Claim
    assert fast == dataclasses.replace(claim, **changes)
    assert claim.patient_control_number == "PCN1"  # the original is untouched
    assert fast_replace(claim) == claim
    line = claim.lines[0]
    assert fast_replace(line, number=2, line_control_number="PCN1-2") == \
        dataclasses.replace(line, number=2, line_control_number="PCN1-2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.frequency = "1"  # type: ignore[misc]


def test_fast_replace_refuses_an_unknown_field():
    with pytest.raises(TypeError, match="no_such_field"):
        fast_replace(a_claim(), no_such_field=1)
