"""Encounters with several coverages (``coverages``): every source reads them, the primary is the encounter's payer
and subscriber, the single form stays what it was, and the checks name each coverage's fields.

Worked examples, inline: the same two-coverage visit as JSON, NDJSON, CSV and a FHIR Bundle.
"""

from __future__ import annotations

import copy
import io
import json
import re
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from mapping_helpers import ENCOUNTER_SAMPLES, TODAY, build, codes, professional, sample_config

from edi.model import Address
from mappings.checks import check_encounter
from mappings.encounter import Encounter, EncounterCoverage, EncounterPatient, EncounterSubscriber, encounter_from_dict
from mappings.sources import read_encounters, read_stream
from mappings.sources.fhir_source import read_bundle

SELF = {"member_id": "SYNM01", "last_name": "TESTPERSON", "first_name": "ALEX", "birth_date": "1980-01-01",
        "sex": "F", "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL", "zip": "62701"}}
SPOUSE = {"member_id": "SYNB77", "last_name": "TESTSPOUSE", "first_name": "ROBIN", "group_number": "SYNGRP200"}


def two_coverages(**changes: Any) -> dict[str, Any]:
    """The issue's example: the patient's own plan (acme) first, the spouse's plan (blueplan) second."""
    d = professional()
    del d["payer"], d["subscriber"]
    d["coverages"] = [{"payer": "acme", "relationship": "18", "subscriber": copy.deepcopy(SELF)},
                      {"payer": "blueplan", "relationship": "01", "subscriber": copy.deepcopy(SPOUSE)}]
    d.update(copy.deepcopy(changes))
    return d


def parse(d: Any) -> tuple[Encounter | None, list]:
    return encounter_from_dict(d, file="enc.json", record="item 1")


def paths(problems: list) -> list[tuple[str, str | None]]:
    return [(p.code, p.where.element) for p in problems]


def check(enc: Encounter) -> list:
    return check_encounter(enc, sample_config(), today=TODAY)


# -- the canonical form ---------------------------------------------------------------------------------------


def test_the_first_coverage_is_the_primary() -> None:
    enc, problems = parse(two_coverages())
    assert problems == [] and enc is not None
    assert enc.payer == "acme" and enc.subscriber.member_id == "SYNM01" and enc.patient is None
    assert [(c.payer, c.relationship, c.subscriber.member_id) for c in enc.coverages] == [
        ("acme", "18", "SYNM01"), ("blueplan", "01", "SYNB77")]
    assert enc.coverages[0].subscriber is enc.subscriber
    assert enc.coverages[1].subscriber == EncounterSubscriber("SYNB77", "TESTSPOUSE", "ROBIN",
                                                              group_number="SYNGRP200")
    assert enc.all_coverages == enc.coverages
    assert check(enc) == []


def test_the_single_form_is_one_coverage_and_holds_no_list() -> None:
    enc, _ = parse(professional())
    assert enc is not None and enc.coverages == ()
    assert enc.all_coverages == (EncounterCoverage("acme", enc.subscriber, "18"),)
    child = {"relationship": "19", "last_name": "TESTKID", "first_name": "SAM", "birth_date": "2016-01-01",
             "sex": "M", "address": SELF["address"]}
    enc, _ = parse(professional(patient=child))
    assert enc is not None and enc.all_coverages[0].relationship == "19"


def test_a_dependent_patient_takes_the_primarys_relationship() -> None:
    kid = {"last_name": "TESTKID", "first_name": "SAM", "birth_date": "2016-01-01", "sex": "M",
           "address": SELF["address"]}
    d = two_coverages(patient=kid)
    d["coverages"][0]["relationship"] = "19"
    d["coverages"][1]["relationship"] = "19"
    enc, problems = parse(d)
    assert problems == [] and enc is not None
    assert enc.patient is not None and enc.patient.relationship == "19" and enc.patient.last_name == "TESTKID"
    assert check(enc) == []
    d["patient"]["relationship"] = "19"  # the same code, given twice: accepted
    assert parse(d)[0] == enc


def test_the_primary_of_the_list_form_bills_what_the_single_form_bills() -> None:
    """The same claim to the same payer; the list form also names the next coverage (loops 2320/2330)."""
    (single,), problems = build([professional(subscriber=copy.deepcopy(SELF))])
    (listed,), more = build([two_coverages()])
    assert problems == more == []
    assert single.other_payers == ()
    assert [(o.payer.payer_id, o.payer.responsibility) for o in listed.other_payers] == [("SYNBLUE1", "S")]
    assert replace(single, source=None) == replace(listed, source=None, other_payers=())


def test_both_forms_are_accepted_when_they_agree() -> None:
    enc, problems = parse(two_coverages(payer=" acme", subscriber=copy.deepcopy(SELF)))
    assert problems == [] and enc == parse(two_coverages())[0]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"payer": "blueplan"}, [("encounter.coverages.conflict", "payer")]),
    ({"subscriber": {**SELF, "member_id": "SYNM02"}}, [("encounter.coverages.conflict", "subscriber")]),
    ({"patient": {"last_name": "TESTKID", "first_name": "SAM", "birth_date": "2016-01-01", "sex": "M",
                  "address": SELF["address"]}}, [("encounter.coverages.conflict", "patient")]),
])
def test_both_forms_are_refused_when_they_disagree(changes: dict[str, Any], expected: list) -> None:
    enc, problems = parse(two_coverages(**changes))
    assert enc is None and paths(problems) == expected
    assert all(p.where.record == "T-PRO-1" for p in problems)


def test_the_patient_must_be_given_when_the_primary_subscriber_is_someone_else() -> None:
    d = two_coverages()
    d["coverages"][0]["relationship"] = "19"
    enc, problems = parse(d)
    assert enc is None and paths(problems) == [("encounter.field.missing", "patient")]
    d["patient"] = {"relationship": "01", "last_name": "TESTKID", "first_name": "SAM", "birth_date": "2016-01-01",
                    "sex": "M", "address": SELF["address"]}
    enc, problems = parse(d)
    assert enc is None and paths(problems) == [("encounter.coverages.conflict", "patient.relationship")]


@pytest.mark.parametrize(("coverages", "expected"), [
    ([], [("encounter.field.missing", "coverages")]),
    ("acme", [("encounter.field.type", "coverages")]),
    (["acme"], [("encounter.field.type", "coverages[1]")]),
    ([{"payer": "acme", "subscriber": SELF}], [("encounter.field.missing", "coverages[1].relationship")]),
    ([{"payer": "acme", "relationship": "18", "subscriber": SELF},
      {"relationship": "01", "subscriber": {"last_name": "TESTSPOUSE"}}],
     [("encounter.field.missing", "coverages[2].payer"),
      ("encounter.field.missing", "coverages[2].subscriber.member_id")]),
    ([{"payer": "acme", "relationship": "18", "subscriber": SELF}, {"payer": "blueplan", "relationship": "01"}],
     [("encounter.field.missing", "coverages[2].subscriber")]),
    ([{"payer": "acme", "relationship": "18", "subscriber": {**SELF, "birth_date": "1980-13-01"}}],
     [("encounter.field.format", "coverages[1].subscriber.birth_date")]),
])
def test_problems_inside_the_list_name_the_coverage(coverages: Any, expected: list) -> None:
    enc, problems = parse(two_coverages(coverages=coverages))
    assert enc is None and paths(problems) == expected


def test_an_unknown_key_of_a_coverage_is_warned_about() -> None:
    d = two_coverages()
    d["coverages"][1]["plan"] = "GOLD"
    enc, problems = parse(d)
    assert enc is not None and paths(problems) == [("encounter.field.unknown", "coverages[2].plan")]


def test_the_primary_subscriber_needs_what_a_patient_needs() -> None:
    d = two_coverages()
    del d["coverages"][0]["subscriber"]["sex"]
    enc, problems = parse(d)
    assert enc is None and paths(problems) == [("encounter.field.missing", "coverages[1].subscriber.sex")]
    d = two_coverages()
    del d["coverages"][1]["subscriber"]["first_name"]  # another coverage's subscriber: a name and an id
    assert parse(d)[1] == []


def test_null_coverages_is_the_single_form() -> None:
    enc, problems = parse(professional(coverages=None))
    assert problems == [] and enc is not None and enc.coverages == ()


# -- every source -------------------------------------------------------------------------------------------

JSON_TEXT = """[{
  "id": "ENC-C-9001", "kind": "professional",
  "billing_provider": {"npi": "1234567893", "name": "SYNTH FAMILY CLINIC", "tax_id": "990000001",
                       "address": {"line1": "100 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL",
                                   "zip": "627010001"}},
  "coverages": [
    {"payer": "acme", "relationship": "18",
     "subscriber": {"member_id": "SYNM01", "last_name": "TESTPERSON", "first_name": "ALEX",
                    "birth_date": "1980-01-01", "sex": "F",
                    "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL", "zip": "62701"}}},
    {"payer": "blueplan", "relationship": "01",
     "subscriber": {"member_id": "SYNB77", "last_name": "TESTSPOUSE", "first_name": "ROBIN",
                    "group_number": "SYNGRP200"}}
  ],
  "place_of_service": "11", "diagnoses": ["E11.9"],
  "lines": [{"procedure": "99213", "charge": "100.00", "units": "1", "diagnosis_pointers": [1],
             "service_date": "2025-03-03"}]
}]"""

CSV_HEADER = ("encounter_id,kind,payer,billing_npi,billing_name,billing_tax_id,billing_address_line1,billing_city,"
              "billing_state,billing_zip,subscriber_member_id,subscriber_last_name,subscriber_first_name,"
              "subscriber_birth_date,subscriber_sex,subscriber_address_line1,subscriber_city,subscriber_state,"
              "subscriber_zip,secondary_payer,secondary_relationship,secondary_member_id,secondary_last_name,"
              "secondary_first_name,secondary_group_number,place_of_service,diagnoses,line_procedure,line_charge,"
              "line_units,line_diagnosis_pointers,line_service_date")
CSV_ROW = ("ENC-C-9001,professional,acme,1234567893,SYNTH FAMILY CLINIC,990000001,100 SYNTHETIC WAY,SPRINGFIELD,"
           "IL,627010001,SYNM01,TESTPERSON,ALEX,1980-01-01,F,1 TEST STREET,SPRINGFIELD,IL,62701,blueplan,01,SYNB77,"
           "TESTSPOUSE,ROBIN,SYNGRP200,11,E11.9,99213,100.00,1,1,2025-03-03")


def _bundle(*, orders: tuple[int | None, int | None] = (2, 1), focal: int = 2) -> dict[str, Any]:
    """A Claim with two insurances: sequence 1 is the spouse's plan (blueplan), sequence 2 the patient's own
    (acme); ``Coverage.order`` says which pays first."""
    home = {"line": ["1 TEST STREET"], "city": "SPRINGFIELD", "state": "IL", "postalCode": "62701"}
    group = {"type": {"coding": [{"code": "group"}]}, "value": "SYNGRP200"}
    resources: list[dict[str, Any]] = [
        {"resourceType": "Claim", "id": "c1", "identifier": [{"value": "ENC-C-9001"}], "status": "active",
         "type": {"coding": [{"code": "professional"}]}, "use": "claim", "patient": {"reference": "Patient/me"},
         "created": "2025-04-01", "provider": {"reference": "Organization/clinic"},
         "priority": {"coding": [{"code": "normal"}]},
         "insurance": [{"sequence": 1, "focal": focal == 1, "coverage": {"reference": "Coverage/spouse-plan"}},
                       {"sequence": 2, "focal": focal == 2, "coverage": {"reference": "Coverage/own-plan"},
                        "preAuthRef": ["SYNAUTH9"]}],
         "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "E11.9"}]}}],
         "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "99213"}]}, "diagnosisSequence": [1],
                   "servicedDate": "2025-03-03", "locationCodeableConcept": {"coding": [{"code": "11"}]},
                   "net": {"value": 100}}]},
        {"resourceType": "Patient", "id": "me", "name": [{"family": "TESTPERSON", "given": ["ALEX"]}],
         "gender": "female", "birthDate": "1980-01-01", "address": [home]},
        {"resourceType": "RelatedPerson", "id": "spouse", "patient": {"reference": "Patient/me"},
         "name": [{"family": "TESTSPOUSE", "given": ["ROBIN"]}]},
        {"resourceType": "Coverage", "id": "spouse-plan", "status": "active", "subscriberId": "SYNB77",
         "beneficiary": {"reference": "Patient/me"}, "subscriber": {"reference": "RelatedPerson/spouse"},
         "relationship": {"coding": [{"code": "spouse"}]}, "payor": [{"reference": "Organization/blue"}],
         "class": [group]},
        {"resourceType": "Coverage", "id": "own-plan", "status": "active", "subscriberId": "SYNM01",
         "beneficiary": {"reference": "Patient/me"}, "relationship": {"coding": [{"code": "self"}]},
         "payor": [{"reference": "Organization/acme"}]},
        {"resourceType": "Organization", "id": "acme", "name": "ACME",
         "identifier": [{"system": "urn:edi:payer-key", "value": "acme"}]},
        {"resourceType": "Organization", "id": "blue", "name": "BLUE",
         "identifier": [{"system": "urn:edi:payer-key", "value": "blueplan"}]},
        {"resourceType": "Organization", "id": "clinic", "name": "SYNTH FAMILY CLINIC",
         "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"},
                        {"system": "urn:oid:2.16.840.1.113883.4.4", "value": "990000001"}],
         "address": [{"line": ["100 SYNTHETIC WAY"], "city": "SPRINGFIELD", "state": "IL",
                      "postalCode": "627010001"}]},
    ]
    for resource, order in zip(resources[3:5], orders, strict=True):
        if order is not None:
            resource["order"] = order
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _read(text: str, fmt: str) -> list:
    return list(read_stream(io.BytesIO(text.encode()), fmt, file=f"in.{fmt}"))


def _two(enc: Encounter | None) -> list[tuple[str, str, str, str]]:
    assert enc is not None
    return [(c.payer, c.relationship, c.subscriber.member_id, c.subscriber.last_name) for c in enc.coverages]


EXPECTED = [("acme", "18", "SYNM01", "TESTPERSON"), ("blueplan", "01", "SYNB77", "TESTSPOUSE")]


def test_json_reads_coverages() -> None:
    ((enc, problems),) = _read(JSON_TEXT, "json")
    assert problems == [] and _two(enc) == EXPECTED
    assert enc is not None and enc.payer == "acme" and enc.coverages[1].subscriber.group_number == "SYNGRP200"


def test_ndjson_reads_coverages_on_the_fast_path_too() -> None:
    (expected, _), = _read(JSON_TEXT, "json")
    line = json.dumps(json.loads(JSON_TEXT)[0])
    ((enc, problems),) = _read(line + "\n", "ndjson")
    assert problems == [] and _two(enc) == EXPECTED
    assert replace(enc, source=None) == replace(expected, source=None)  # type: ignore[arg-type]
    from mappings.decode import encounter_from_json_line

    assert encounter_from_json_line(line.encode(), "in.ndjson") is not None  # not left to the parser


def test_csv_reads_secondary_columns() -> None:
    ((enc, problems),) = _read(f"{CSV_HEADER}\n{CSV_ROW}\n", "csv")
    assert problems == [] and _two(enc) == EXPECTED
    (from_json, _), = _read(JSON_TEXT, "json")
    assert replace(enc, source=None) == replace(from_json, source=None)  # type: ignore[arg-type]


def test_csv_without_secondary_values_is_the_single_form() -> None:
    row = CSV_ROW.replace("blueplan,01,SYNB77,TESTSPOUSE,ROBIN,SYNGRP200", ",,,,,")
    ((enc, problems),) = _read(f"{CSV_HEADER}\n{row}\n", "csv")
    assert problems == [] and enc is not None and enc.coverages == () and enc.payer == "acme"


def test_csv_dependent_and_tertiary() -> None:
    header = CSV_HEADER + (",patient_relationship,patient_last_name,patient_first_name,patient_birth_date,"
                           "patient_sex,patient_address_line1,patient_city,patient_state,patient_zip,"
                           "tertiary_payer,tertiary_relationship,tertiary_member_id,tertiary_last_name")
    row = CSV_ROW.replace(",01,SYNB77", ",19,SYNB77") + (",19,TESTKID,SAM,2016-01-01,M,1 TEST STREET,SPRINGFIELD,"
                                                         "IL,62701,medicaid,18,SYNM03,TESTKID")
    ((enc, problems),) = _read(f"{header}\n{row}\n", "csv")
    assert problems == [] and enc is not None
    assert [(c.payer, c.relationship) for c in enc.coverages] == [("acme", "19"), ("blueplan", "19"),
                                                                    ("medicaid", "18")]
    assert enc.patient is not None and enc.patient.relationship == "19"


def test_csv_problems_name_the_coverage() -> None:
    header = CSV_HEADER + ",tertiary_payer,tertiary_relationship,tertiary_member_id,tertiary_last_name,line_id"
    row = CSV_ROW.replace("blueplan,01,SYNB77,TESTSPOUSE,ROBIN,SYNGRP200", ",,,,,") + ",medicaid,18,SYNM03,X,L1"
    second = row.replace(",SYNM03,", ",SYNM04,").replace(",L1", ",L2")
    ((enc, problems),) = _read(f"{header}\n{row}\n{second}\n", "csv")
    assert enc is None
    assert paths(problems) == [("source.csv.conflict", "coverages[3].subscriber.member_id"),
                               ("encounter.field.missing", "coverages[2].payer"),
                               ("encounter.field.missing", "coverages[2].relationship"),
                               ("encounter.field.missing", "coverages[2].subscriber")]


def test_fhir_reads_coverages_in_coverage_order() -> None:
    ((enc, problems),) = list(read_bundle(_bundle(), file="b.json"))
    assert problems == [] and _two(enc) == EXPECTED  # Coverage.order, not Claim.insurance.sequence
    assert enc is not None and enc.patient is None and enc.prior_authorization == "SYNAUTH9"
    assert enc.coverages[1].subscriber.group_number == "SYNGRP200"
    (from_json, _), = _read(JSON_TEXT, "json")
    assert enc.coverages == from_json.coverages  # type: ignore[union-attr]


def test_fhir_without_order_follows_the_insurance_sequence() -> None:
    ((enc, problems),) = list(read_bundle(_bundle(orders=(None, None), focal=1), file="b.json"))
    assert problems == [] and [c.payer for c in enc.coverages] == ["blueplan", "acme"]  # type: ignore[union-attr]
    assert enc is not None and enc.patient is not None and enc.patient.relationship == "01"
    assert enc.patient.last_name == "TESTPERSON" and enc.subscriber.last_name == "TESTSPOUSE"
    ((enc, _),) = list(read_bundle(_bundle(orders=(None, 1)), file="b.json"))  # an order comes first
    assert [c.payer for c in enc.coverages] == ["acme", "blueplan"]  # type: ignore[union-attr]


def test_fhir_a_focal_secondary_is_refused() -> None:
    ((enc, problems),) = list(read_bundle(_bundle(focal=1), file="b.json"))
    assert enc is None
    assert paths(problems) == [("source.fhir.unsupported", "Claim.insurance[1].focal")]


def test_fhir_a_payor_without_a_payer_key() -> None:
    b = _bundle()
    b["entry"][6]["resource"]["identifier"] = []
    ((enc, problems),) = list(read_bundle(b, file="b.json"))
    assert enc is None
    assert ("encounter.field.missing", "coverages[2].payer") in paths(problems)


def test_the_two_coverages_sample() -> None:
    path = ENCOUNTER_SAMPLES / "two-coverages.json"
    results = list(read_encounters(path))
    assert [problems for _, problems in results] == [[], [], []]
    encs = [enc for enc, _ in results]
    assert all(enc is not None and check(enc) == [] for enc in encs)
    assert [[c.payer for c in enc.coverages] for enc in encs if enc] == [
        ["acme", "blueplan"], ["blueplan", "acme"], ["medicare_a", "acme", "medicaid"]]
    # synthetic people only: TEST names, SYNM member ids, nothing shaped like an SSN
    assert {c.subscriber.last_name[:4] for enc in encs if enc for c in enc.coverages} == {"TEST"}
    assert {c.subscriber.member_id[:4] for enc in encs if enc for c in enc.coverages} == {"SYNM"}
    assert not re.search(r"\b\d{3}-\d{2}-\d{4}\b", path.read_text(encoding="utf-8"))


# -- the checks -------------------------------------------------------------------------------------------------


def _enc(**changes: Any) -> Encounter:
    enc, problems = parse(two_coverages(**changes))
    assert problems == [] and enc is not None
    return enc


def _with_coverage(enc: Encounter, i: int, **changes: Any) -> Encounter:
    coverages = list(enc.coverages)
    coverages[i - 1] = replace(coverages[i - 1], **changes)
    return replace(enc, coverages=tuple(coverages))


def test_each_coverages_payer_is_configured() -> None:
    enc = _with_coverage(_enc(), 2, payer="nowhere")
    problems = check(enc)
    assert paths(problems) == [("encounter.payer.unknown", "coverages[2].payer")]
    assert problems[0].message.startswith('coverages[2].payer "nowhere" is not in [payers]')
    d = two_coverages()
    d["coverages"][0]["payer"] = "nowhere"
    enc, _ = parse(d)
    assert enc is not None and paths(check(enc)) == [("encounter.payer.unknown", "coverages[1].payer")]


def test_a_payer_is_listed_once() -> None:
    d = two_coverages()
    d["coverages"][1]["payer"] = "acme"
    enc, _ = parse(d)
    assert enc is not None and paths(check(enc)) == [("encounter.coverages.duplicate", "coverages[2].payer")]


@pytest.mark.parametrize(("relationship", "ok"), [("01", True), ("19", True), ("G8", True), ("18", True),
                                                  ("53", True), ("02", False), ("SELF", False)])
def test_a_coverages_relationship_is_an_sbr02_code(relationship: str, ok: bool) -> None:
    d = two_coverages()
    d["coverages"][1]["relationship"] = relationship.lower()
    enc, _ = parse(d)
    assert enc is not None
    assert paths(check(enc)) == ([] if ok else [("encounter.coverages.relationship", "coverages[2].relationship")])


def test_a_dependents_primary_relationship_is_reported_once() -> None:
    kid = {"last_name": "TESTKID", "first_name": "SAM", "birth_date": "2016-01-01", "sex": "M",
           "address": SELF["address"]}
    d = two_coverages(patient=kid)
    d["coverages"][0]["relationship"] = "99"
    enc, _ = parse(d)
    assert enc is not None and paths(check(enc)) == [("encounter.coverages.relationship", "coverages[1].relationship")]


def test_a_member_id_is_present_and_coverages_fit_an_837() -> None:
    enc = _with_coverage(_enc(), 2, subscriber=EncounterSubscriber(" ", "TESTSPOUSE"))
    assert paths(check(enc)) == [("encounter.field.missing", "coverages[2].subscriber.member_id"),
                                 ("encounter.length", "coverages[2].subscriber.member_id")]
    payers = ["acme", "blueplan", "medicare_a", "medicare_b", "medicaid", *(f"p{n}" for n in range(7))]
    many = replace(_enc(), coverages=tuple(EncounterCoverage(p, EncounterSubscriber(f"SYNM{n}", "X"), "18")
                                           for n, p in enumerate(payers)))
    many = replace(many, subscriber=many.coverages[0].subscriber)
    assert ("encounter.coverages.count", "coverages") in paths(check(many))


def test_a_hand_built_encounter_must_agree_with_its_primary() -> None:
    enc = _enc()
    assert paths(check(replace(enc, payer="blueplan"))) == [("encounter.coverages.conflict", "payer")]
    assert paths(check(replace(enc, subscriber=replace(enc.subscriber, member_id="SYNM99")))) == [
        ("encounter.coverages.conflict", "subscriber")]
    kid = EncounterPatient("18", "TESTKID", "SAM", None, date(2016, 1, 1), "M", Address("1 X", "Y", "IL", "62701"))
    assert ("encounter.coverages.conflict", "patient") in paths(check(replace(enc, patient=kid)))


def test_each_coverages_subscriber_is_checked_under_its_own_path() -> None:
    d = two_coverages()
    d["coverages"][1]["subscriber"].update(sex="X", member_id="SYNB77*1", last_name="T" * 61,
                                           address={"line1": "2 WAY", "city": "SPRINGFIELD", "state": "ZZ", "zip": "1"})
    d["coverages"][0]["subscriber"]["birth_date"] = "2025-06-01"  # the patient, born after the visit
    enc, _ = parse(d)
    assert enc is not None
    assert sorted(paths(check(enc))) == sorted([
        ("encounter.date.birth", "coverages[1].subscriber.birth_date"),
        ("encounter.sex", "coverages[2].subscriber.sex"),
        ("encounter.zip.format", "coverages[2].subscriber.address.zip"),
        ("encounter.state.unknown", "coverages[2].subscriber.address.state"),
        ("encounter.length", "coverages[2].subscriber.last_name"),
        ("encounter.delimiter", "coverages[2].subscriber.member_id"),
    ])


def test_the_primarys_text_is_reported_once_where_it_was_written() -> None:
    d = two_coverages()
    d["coverages"][0]["subscriber"]["last_name"] = "TEST~PERSON"
    d["coverages"][0]["subscriber"]["first_name"] = "JOSÉ"
    d["coverages"][0]["payer"] = "ac*me"
    enc, _ = parse(d)
    assert enc is not None
    assert sorted(paths(check(enc))) == sorted([
        ("encounter.payer.unknown", "coverages[1].payer"),
        ("encounter.delimiter", "coverages[1].payer"),
        ("encounter.delimiter", "coverages[1].subscriber.last_name"),
        ("encounter.text.transliterated", "coverages[1].subscriber.first_name"),
    ])


def test_codes_of_the_checks() -> None:
    enc = _with_coverage(_enc(), 2, payer="acme", relationship="99")
    assert codes(check(enc)) == ["encounter.coverages.relationship", "encounter.coverages.duplicate"]
