"""Reading the canonical encounter dict: types, normalisation, and every problem named by id and field."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_helpers import codes, institutional, professional

from mappings.encounter import (
    Admission,
    CodeOnDate,
    Encounter,
    EncounterDiagnosis,
    encounter_from_dict,
    missing_fields,
)


def parse(d: Any, **kw: Any) -> tuple[Encounter | None, list]:
    kw.setdefault("file", "enc.json")
    kw.setdefault("record", "item 1")
    return encounter_from_dict(d, **kw)


def test_a_professional_encounter_reads_into_typed_frozen_values() -> None:
    enc, problems = parse(professional())
    assert problems == []
    assert enc is not None
    assert enc.id == "T-PRO-1" and enc.kind == "professional" and enc.payer == "acme" and enc.frequency == "1"
    assert enc.billing_provider.entity == "2" and enc.rendering_provider is not None
    assert enc.rendering_provider.entity == "1"  # a first name makes a person
    assert enc.subscriber.birth_date == date(1980, 1, 1)
    assert enc.diagnoses == (EncounterDiagnosis("E11.9"), EncounterDiagnosis("I10"))
    line = enc.lines[0]
    assert line.charge == Decimal("100.00") and isinstance(line.charge, Decimal)
    assert line.units == Decimal(1) and line.modifiers == ("25",) and line.diagnosis_pointers == (1, 2)
    assert line.service_date == date(2025, 3, 3)
    assert isinstance(enc.lines, tuple) and isinstance(enc.diagnoses, tuple)
    assert enc.source is not None and enc.source.file == "enc.json" and enc.source.record == "T-PRO-1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        enc.id = "other"  # type: ignore[misc]


def test_an_institutional_encounter_reads_its_ub04_fields() -> None:
    enc, problems = parse(institutional(occurrence_codes=[{"code": "11", "date": "2025-08-01"}],
                                        value_codes=[{"code": "80", "amount": "3"}],
                                        condition_codes=["d9"], reason_for_visit=["R10.31"]))
    assert problems == []
    assert enc is not None
    assert enc.bill_type == "0111" and enc.frequency == "1"  # frequency from the bill type
    assert enc.admission == Admission(date(2025, 8, 2), "1430", "1", "1")
    assert enc.diagnoses[0] == EncounterDiagnosis("K35.80", "Y")
    assert enc.principal_procedure == CodeOnDate("0DTJ4ZZ", date(2025, 8, 2))
    assert enc.occurrence_codes == (CodeOnDate("11", date(2025, 8, 1)),)
    assert enc.value_codes[0].amount == Decimal(3)
    assert enc.condition_codes == ("D9",)
    assert enc.reason_for_visit == ("R10.31",)


def test_frequency_comes_from_the_bill_type_when_absent() -> None:
    enc, _ = parse(institutional(bill_type="0117", payer_claim_number="SYNICN1"))
    assert enc is not None and enc.frequency == "7"


def test_normalisation_of_codes_zips_and_tax_ids() -> None:
    d = professional()
    d["billing_provider"]["address"]["zip"] = "62701-0001"
    d["billing_provider"]["tax_id"] = "99-0000001"
    d["lines"][0]["modifiers"] = "25:rt"  # the CSV convention is accepted too
    d["lines"][0]["diagnosis_pointers"] = "1:2"
    d["subscriber"]["sex"] = "f"
    d["diagnoses"] = ["e11.9", "I10"]
    enc, problems = parse(d)
    assert problems == [] and enc is not None
    assert enc.billing_provider.address is not None and enc.billing_provider.address.zip == "627010001"
    assert enc.billing_provider.tax_id == "990000001"
    assert enc.lines[0].modifiers == ("25", "RT") and enc.lines[0].diagnosis_pointers == (1, 2)
    assert enc.subscriber.sex == "F" and enc.diagnoses[0].code == "E11.9"


def test_dates_accept_the_basic_iso_form_and_date_objects() -> None:
    d = professional()
    d["lines"][0]["service_date"] = "20250303"
    d["lines"][1]["service_date"] = date(2025, 3, 3)
    enc, problems = parse(d)
    assert problems == [] and enc is not None
    assert enc.lines[0].service_date == enc.lines[1].service_date == date(2025, 3, 3)


def test_money_from_integers_and_decimals_but_never_floats() -> None:
    d = professional()
    d["lines"][0]["charge"] = 100
    d["lines"][1]["charge"] = Decimal("40.10")
    enc, problems = parse(d)
    assert problems == [] and enc is not None
    assert enc.lines[0].charge == Decimal(100) and enc.lines[1].charge == Decimal("40.10")
    d["lines"][1]["charge"] = 40.1
    enc, problems = parse(d)
    assert enc is None
    assert [(p.code, p.where.element) for p in problems] == [("encounter.field.type", "lines[2].charge")]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e", "12,50", "$12"])
def test_malformed_money(value: str) -> None:
    d = professional()
    d["lines"][0]["charge"] = value
    enc, problems = parse(d)
    assert enc is None
    assert [(p.code, p.where.element) for p in problems] == [("encounter.field.format", "lines[1].charge")]


def test_every_missing_field_is_reported_at_once_with_the_id_and_path() -> None:
    d = professional()
    del d["payer"]
    del d["billing_provider"]["npi"]
    del d["subscriber"]["member_id"]
    del d["lines"][1]["charge"]
    del d["lines"][0]["units"]
    enc, problems = parse(d)
    assert enc is None
    assert {(p.code, p.where.element) for p in problems} == {
        ("encounter.field.missing", "payer"),
        ("encounter.field.missing", "billing_provider.npi"),
        ("encounter.field.missing", "subscriber.member_id"),
        ("encounter.field.missing", "lines[2].charge"),
        ("encounter.field.missing", "lines[1].units"),
    }
    assert {p.where.record for p in problems} == {"T-PRO-1"}
    assert {p.where.file for p in problems} == {"enc.json"}


def test_without_an_id_problems_name_the_record() -> None:
    d = professional()
    del d["id"]
    d["kind"] = "dental"
    enc, problems = parse(d, record="line 7")
    assert enc is None
    assert [(p.code, p.where.record, p.where.element) for p in problems] == [
        ("encounter.field.missing", "line 7", "id"), ("encounter.kind", "line 7", "kind")]


def test_missing_fields_depend_on_kind_and_situation() -> None:
    # a dependent patient: the subscriber's birth date, sex and address are not needed
    d = professional(patient={"relationship": "19", "last_name": "TESTKID", "first_name": "SAM",
                              "birth_date": "2015-01-01", "sex": "M",
                              "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL",
                                          "zip": "62701"}})
    for key in ("birth_date", "sex", "address"):
        del d["subscriber"][key]
    enc, problems = parse(d)
    assert problems == [] and enc is not None and enc.patient is not None
    # an outpatient institutional bill needs no admission date
    enc, problems = parse(institutional(bill_type="131", admission={"type": "1", "source": "1"}))
    assert problems == [] and enc is not None
    assert missing_fields(enc) == []
    # a patient needs its own demographics
    d = professional(patient={"relationship": "19", "last_name": "TESTKID"})
    enc, problems = parse(d)
    assert enc is None
    assert {p.where.element for p in problems} == {"patient.first_name", "patient.birth_date", "patient.sex",
                                                   "patient.address"}


def test_unknown_keys_are_warnings() -> None:
    d = professional(colour="blue")
    d["lines"][0]["cost"] = "1"
    d["billing_provider"]["address"]["county"] = "X"
    enc, problems = parse(d)
    assert enc is not None
    assert {(p.code, p.severity.value, p.where.element) for p in problems} == {
        ("encounter.field.unknown", "warning", "colour"),
        ("encounter.field.unknown", "warning", "lines[1].cost"),
        ("encounter.field.unknown", "warning", "billing_provider.address.county"),
    }


def test_provider_name_alias_and_entity() -> None:
    d = professional(rendering_provider={"npi": "1245319599", "last_name": "TESTDOCTOR", "first_name": "JORDAN"})
    enc, problems = parse(d)
    assert problems == [] and enc is not None and enc.rendering_provider is not None
    assert enc.rendering_provider.name == "TESTDOCTOR"
    d = professional(rendering_provider={"npi": "1245319599", "name": "A", "last_name": "B"})
    enc, problems = parse(d)
    assert enc is None and codes(problems) == ["encounter.field.conflict"]
    d = professional(rendering_provider={"npi": "1245319599", "name": "SOLO", "entity": "person"})
    enc, _ = parse(d)
    assert enc is not None and enc.rendering_provider is not None and enc.rendering_provider.entity == "1"
    d = professional(rendering_provider={"npi": "1245319599", "name": "SOLO", "entity": "robot"})
    enc, problems = parse(d)
    assert enc is None and (problems[0].code, problems[0].where.element) == ("encounter.field.format",
                                                                             "rendering_provider.entity")


@pytest.mark.parametrize("data", [None, 5, "text", [], [professional()], {"id": ["a"]}, {"id": {"x": 1}}])
def test_not_an_encounter(data: Any) -> None:
    enc, problems = parse(data)
    assert enc is None and problems


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=True)
    | st.decimals(allow_nan=True),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["id", "kind", "payer", "frequency", "billing_provider", "subscriber", "patient",
                        "diagnoses", "lines", "admission", "occurrence_codes", "occurrence_spans", "value_codes",
                        "principal_procedure", "other_procedures", "place_of_service", "bill_type",
                        "reason_for_visit", "statement_from"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSONISH, max_size=12))
def test_never_raises_on_arbitrary_input(data: dict[str, Any]) -> None:
    enc, problems = parse(data)
    assert enc is not None or any(p.is_error for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["billing_provider", "subscriber", "lines", "diagnoses", "admission"]), JSONISH)
def test_never_raises_when_one_part_of_a_good_encounter_is_garbage(key: str, value: Any) -> None:
    d = professional() if key != "admission" else institutional()
    d[key] = value
    enc, problems = parse(d)
    assert enc is not None or any(p.is_error for p in problems)
