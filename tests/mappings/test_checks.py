"""Each check, with one deliberately bad encounter between two good ones: the bad one is reported (code,
encounter, field) and skipped, the good ones still become claims."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mapping_helpers import TODAY, build, codes, errors, institutional, professional, sample_config

from mappings.checks import CHECKS, check_encounter
from mappings.codesets import (
    PLACE_OF_SERVICE,
    icd10cm_status,
    modifier_shape_ok,
    normalize_icd10,
    npi_check_digit,
    npi_is_valid,
    procedure_shape_ok,
)
from mappings.encounter import encounter_from_dict

Mutation = Callable[[dict[str, Any]], None]


def set_path(path: str, value: Any) -> Mutation:
    """A mutation setting a dotted path (``lines.0.charge``) of an encounter dict; None deletes it."""
    def mutate(d: dict[str, Any]) -> None:
        keys = path.split(".")
        target: Any = d
        for k in keys[:-1]:
            target = target[int(k)] if isinstance(target, list) else target[k]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for m in mutations:
            m(d)
    return mutate


TWELVE = ["E11.9", "I10", "J02.0", "R50.9", "I48.91", "E78.5", "M17.11", "F41.1", "R07.9", "K21.9", "J45.909",
          "Z23"]
LINE = {"procedure": "99212", "charge": "10.00", "units": "1", "diagnosis_pointers": [1],
        "service_date": "2025-03-03"}

# (problem code, element the problem names, kind of the bad encounter, mutation)
CASES: list[tuple[str, str | None, str, Mutation]] = [
    # identity, frequency, payer
    ("encounter.id.length", "id", "professional", set_path("id", "X" * 21)),
    ("encounter.frequency", "frequency", "professional", set_path("frequency", "5")),
    ("encounter.payer_claim_number", "payer_claim_number", "professional", set_path("frequency", "7")),
    ("encounter.payer_claim_number", "payer_claim_number", "institutional",
     both(set_path("frequency", "8"), set_path("bill_type", "118"))),
    ("encounter.payer.unknown", "payer", "professional", set_path("payer", "nobody")),
    ("encounter.kind", "kind", "professional", set_path("kind", "dental")),
    # providers
    ("encounter.npi.check_digit", "billing_provider.npi", "professional", set_path("billing_provider.npi",
                                                                                   "1234567890")),
    ("encounter.npi.format", "rendering_provider.npi", "professional", set_path("rendering_provider.npi", "12345")),
    ("encounter.npi.format", "attending_provider.npi", "institutional", set_path("attending_provider.npi",
                                                                                 "3234567893")),
    ("encounter.tax_id.format", "billing_provider.tax_id", "professional", set_path("billing_provider.tax_id",
                                                                                    "12345")),
    ("encounter.taxonomy.format", "billing_provider.taxonomy", "professional", set_path("billing_provider.taxonomy",
                                                                                        "207Q0000")),
    ("encounter.provider.entity", "attending_provider", "institutional", set_path("attending_provider.first_name",
                                                                                  None)),
    ("encounter.provider.entity", "billing_provider", "institutional", set_path("billing_provider.first_name",
                                                                                "ALEX")),
    ("encounter.zip.billing", "billing_provider.address.zip", "professional",
     set_path("billing_provider.address.zip", "62701")),
    ("encounter.zip.facility", "service_facility.address.zip", "professional",
     set_path("service_facility", {"name": "SYNTH CENTER", "address": {"line1": "1 A ST", "city": "SPRINGFIELD",
                                                                      "state": "IL", "zip": "62701"}})),
    ("encounter.zip.format", "subscriber.address.zip", "professional", set_path("subscriber.address.zip", "6270")),
    ("encounter.state.unknown", "subscriber.address.state", "professional", set_path("subscriber.address.state",
                                                                                     "XX")),
    # people
    ("encounter.sex", "subscriber.sex", "professional", set_path("subscriber.sex", "X")),
    ("encounter.relationship", "patient.relationship", "professional",
     set_path("patient", {"relationship": "18", "last_name": "TESTKID", "first_name": "SAM",
                          "birth_date": "2015-01-01", "sex": "M",
                          "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL",
                                      "zip": "62701"}})),
    # diagnoses
    ("encounter.icd10.unknown", "diagnoses[2]", "professional", set_path("diagnoses", ["E11.9", "E11.99"])),
    ("encounter.icd10.not_billable", "diagnoses[1]", "professional", set_path("diagnoses", ["E11", "I10"])),
    ("encounter.icd10.format", "diagnoses[2]", "professional", set_path("diagnoses", ["E11.9", "11.9E"])),
    ("encounter.icd10.unknown", "admitting_diagnosis", "institutional", set_path("admitting_diagnosis", "R10.99")),
    ("encounter.icd10.not_billable", "reason_for_visit[1]", "institutional", set_path("reason_for_visit", ["R10"])),
    ("encounter.diagnosis.count", "diagnoses", "professional", set_path("diagnoses", [*TWELVE, "E66.9"])),
    ("encounter.poa", "diagnoses[1].poa", "institutional", set_path("diagnoses", [{"code": "K35.80", "poa": "X"}])),
    ("encounter.codes.count", "reason_for_visit", "institutional",
     set_path("reason_for_visit", ["R07.9", "R50.9", "R05.9", "R51.9"])),
    # lines
    ("encounter.procedure.format", "lines[1].procedure", "professional", set_path("lines.0.procedure", "9921")),
    ("encounter.modifier.format", "lines[1].modifiers[1]", "professional", set_path("lines.0.modifiers", ["2"])),
    ("encounter.modifier.count", "lines[1].modifiers", "professional",
     set_path("lines.0.modifiers", ["25", "59", "RT", "LT", "GT"])),
    ("encounter.charge", "lines[2].charge", "professional", set_path("lines.1.charge", "-5.00")),
    ("encounter.charge", "lines[2].charge", "professional", set_path("lines.1.charge", "1.005")),
    ("encounter.units", "lines[1].units", "professional", set_path("lines.0.units", "0")),
    ("encounter.units", "lines[1].units", "professional", set_path("lines.0.units", "123456789")),
    ("encounter.units", "lines[1].units", "professional", set_path("lines.0.units", "1E+30")),  # no traceback
    ("encounter.charge", "lines[1].charge", "professional", set_path("lines.0.charge", "100000000.00")),
    ("encounter.unit_basis", "lines[1].unit_basis", "professional", set_path("lines.0.unit_basis", "XX")),
    ("encounter.unit_basis", "lines[1].unit_basis", "professional", set_path("lines.0.unit_basis", "DA")),
    ("encounter.unit_basis", "lines[1].unit_basis", "institutional", set_path("lines.0.unit_basis", "MJ")),
    # lengths of the X12 elements the values go into
    ("encounter.length", "subscriber.last_name", "professional", set_path("subscriber.last_name", "L" * 61)),
    ("encounter.length", "subscriber.first_name", "professional", set_path("subscriber.first_name", "F" * 36)),
    ("encounter.length", "subscriber.member_id", "professional", set_path("subscriber.member_id", "M")),
    ("encounter.length", "subscriber.group_number", "professional", set_path("subscriber.group_number", "G" * 51)),
    ("encounter.length", "billing_provider.address.city", "professional",
     set_path("billing_provider.address.city", "C" * 31)),
    ("encounter.length", "subscriber.address.city", "professional", set_path("subscriber.address.city", "C")),
    ("encounter.length", "subscriber.address.line1", "professional", set_path("subscriber.address.line1", "1" * 56)),
    ("encounter.length", "billing_provider.name", "professional", set_path("billing_provider.name", "N" * 61)),
    ("encounter.length", "attending_provider.middle_name", "institutional",
     set_path("attending_provider.middle_name", "M" * 26)),
    ("encounter.length", "note", "professional", set_path("note", "N" * 81)),
    ("encounter.length", "prior_authorization", "professional", set_path("prior_authorization", "A" * 51)),
    ("encounter.length", "lines[1].description", "professional", set_path("lines.0.description", "D" * 81)),
    ("encounter.revenue_code.format", "lines[1].revenue_code", "institutional", set_path("lines.0.revenue_code",
                                                                                         "45A")),
    ("encounter.line_id.duplicate", "lines[2].line_id", "professional",
     both(set_path("lines.0.line_id", "A"), set_path("lines.1.line_id", "A"))),
    ("encounter.line_id.length", "lines[1].line_id", "professional", set_path("lines.0.line_id", "L" * 51)),
    ("encounter.lines.count", "lines", "professional", set_path("lines", [LINE] * 51)),
    ("encounter.pointer.range", "lines[2].diagnosis_pointers[1]", "professional",
     set_path("lines.1.diagnosis_pointers", [3])),
    ("encounter.pointer.range", "lines[1].diagnosis_pointers[1]", "professional",
     set_path("lines.0.diagnosis_pointers", [0])),
    ("encounter.pointer.count", "lines[1].diagnosis_pointers", "professional",
     both(set_path("diagnoses", TWELVE[:5]), set_path("lines.0.diagnosis_pointers", [1, 2, 3, 4, 5]))),
    ("encounter.pointer.duplicate", "lines[1].diagnosis_pointers[2]", "professional",
     set_path("lines.0.diagnosis_pointers", [1, 1])),
    ("encounter.pos.unknown", "place_of_service", "professional", set_path("place_of_service", "98")),
    ("encounter.pos.unknown", "lines[1].place_of_service", "professional", set_path("lines.0.place_of_service",
                                                                                    "00")),
    # dates
    ("encounter.date.future", "lines[1].service_date", "professional", set_path("lines.0.service_date",
                                                                                "2026-01-05")),
    ("encounter.date.order", "lines[1].service_date_end", "professional", set_path("lines.0.service_date_end",
                                                                                   "2025-03-01")),
    ("encounter.date.birth", "subscriber.birth_date", "professional", set_path("subscriber.birth_date",
                                                                               "2025-06-01")),
    ("encounter.date.order", "statement_to", "institutional", set_path("statement_to", "2025-08-01")),
    ("encounter.date.future", "statement_to", "institutional", set_path("statement_to", "2026-02-01")),
    ("encounter.date.statement_period", "lines[2].service_date", "institutional",
     set_path("lines.1.service_date", "2025-08-09")),
    ("encounter.date.future", "onset_date", "professional", set_path("onset_date", "2026-01-02")),
    ("encounter.date.future", "occurrence_codes[1].date", "institutional",
     set_path("occurrence_codes", [{"code": "11", "date": "2026-02-01"}])),
    ("encounter.date.future", "occurrence_spans[1].to", "institutional",
     set_path("occurrence_spans", [{"code": "74", "from": "2025-08-03", "to": "2026-02-01"}])),
    ("encounter.field.missing", "admission.date", "institutional",  # an outpatient bill: DTP*435 needs its date
     both(set_path("bill_type", "0131"), set_path("admission", {"hour": "0930", "type": "1", "source": "1"}))),
    ("encounter.amount", "value_codes[1].amount", "institutional",
     set_path("value_codes", [{"code": "80", "amount": "-3"}])),
    ("encounter.provider.entity", "referring_provider", "professional",
     set_path("referring_provider", {"name": "SYNTH REFERRALS", "npi": "1245319599"})),
    ("encounter.date.order", "occurrence_spans[1].to", "institutional",
     set_path("occurrence_spans", [{"code": "74", "from": "2025-08-03", "to": "2025-08-02"}])),
    # institutional codes
    ("encounter.bill_type.format", "bill_type", "institutional", set_path("bill_type", "9")),
    ("encounter.bill_type.frequency", "bill_type", "institutional",
     both(set_path("frequency", "7"), set_path("payer_claim_number", "SYNICN1"))),
    ("encounter.code.format", "discharge_status", "institutional", set_path("discharge_status", "1")),
    ("encounter.code.format", "admission.type", "institutional", set_path("admission.type", "12")),
    ("encounter.code.format", "condition_codes[1]", "institutional", set_path("condition_codes", ["D"])),
    ("encounter.icd10pcs.format", "principal_procedure.code", "institutional",
     set_path("principal_procedure", {"code": "0DTJ4ZO", "date": "2025-08-02"})),
    # delimiters
    ("encounter.delimiter", "subscriber.last_name", "professional", set_path("subscriber.last_name", "O*BRIEN")),
    ("encounter.delimiter", "billing_provider.address.line1", "professional",
     set_path("billing_provider.address.line1", "100 MAIN ST~")),
    ("encounter.delimiter", "note", "professional", set_path("note", "first line\nsecond line")),
    ("encounter.delimiter", "lines[1].description", "professional", set_path("lines.0.description", "A:B")),
    ("encounter.delimiter", "prior_authorization", "professional", set_path("prior_authorization", "AUTH^1")),
    # characters UTF-8 cannot encode, or that break lines as CR and LF do
    ("encounter.delimiter", "subscriber.first_name", "professional", set_path("subscriber.first_name", "AL\ud800EX")),
    ("encounter.delimiter", "subscriber.first_name", "professional", set_path("subscriber.first_name", "AL\udcffEX")),
    ("encounter.delimiter", "note", "professional", set_path("note", "first\u2028second")),
    ("encounter.delimiter", "note", "professional", set_path("note", "first\x85second")),
    # required fields and parse errors
    ("encounter.field.missing", "place_of_service", "professional", set_path("place_of_service", None)),
    ("encounter.field.missing", "lines[2].procedure", "professional", set_path("lines.1.procedure", None)),
    ("encounter.field.missing", "lines[1].service_date", "professional", set_path("lines.0.service_date", None)),
    ("encounter.field.missing", "lines[1].diagnosis_pointers", "professional",
     set_path("lines.0.diagnosis_pointers", [])),
    ("encounter.field.missing", "subscriber.birth_date", "professional", set_path("subscriber.birth_date", None)),
    ("encounter.field.missing", "billing_provider.npi", "professional", set_path("billing_provider.npi", None)),
    ("encounter.field.missing", "billing_provider.address.zip", "professional",
     set_path("billing_provider.address.zip", None)),
    ("encounter.field.missing", "diagnoses", "professional", set_path("diagnoses", [])),
    ("encounter.field.missing", "lines", "professional", set_path("lines", [])),
    ("encounter.field.missing", "bill_type", "institutional", set_path("bill_type", None)),
    ("encounter.field.missing", "attending_provider", "institutional", set_path("attending_provider", None)),
    ("encounter.field.missing", "admission.date", "institutional", set_path("admission", {"type": "1"})),
    ("encounter.field.missing", "lines[1].revenue_code", "institutional", set_path("lines.0.revenue_code", None)),
    ("encounter.field.format", "lines[1].charge", "professional", set_path("lines.0.charge", "12,50")),
    ("encounter.field.format", "subscriber.birth_date", "professional", set_path("subscriber.birth_date",
                                                                                 "01/02/1980")),
    ("encounter.field.format", "admission.hour", "institutional", set_path("admission.hour", "2460")),
    ("encounter.field.type", "lines", "professional", set_path("lines", "not a list")),
    ("encounter.field.type", "subscriber", "professional", set_path("subscriber", "someone")),
]


def _make(kind: str, enc_id: str, mutation: Mutation | None = None) -> dict[str, Any]:
    d = professional(enc_id) if kind == "professional" else institutional(enc_id)
    if mutation is not None:
        mutation(d)
    return d


@pytest.mark.parametrize(("code", "element", "kind", "mutation"), CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_bad_encounter_is_reported_and_the_others_become_claims(code: str, element: str | None, kind: str,
                                                                  mutation: Mutation) -> None:
    bad = _make(kind, "T-BAD", mutation)
    bad_id = bad["id"]
    batch = [_make("professional", "T-GOOD-1"), bad, _make("institutional", "T-GOOD-2")]
    claims, problems = build(batch)
    assert [c.patient_control_number for c in claims] == ["T-GOOD-1", "T-GOOD-2"]
    matching = [p for p in problems if p.code == code]
    assert matching, codes(problems)
    assert all(p.where.record == bad_id for p in errors(problems)), [p.as_dict() for p in errors(problems)]
    assert element in [p.where.element for p in matching]
    assert all(p.where.file == "test.json" for p in problems)


def test_every_case_code_is_documented_in_the_checks_module() -> None:
    import mappings.checks

    documented = set(re.findall(r"``(encounter\.[a-z_.0-9]+)``", mappings.checks.__doc__ or ""))
    used = {c[0] for c in CASES} - {"encounter.kind", "encounter.field.format", "encounter.field.type"}
    assert used <= documented, used - documented


def test_good_encounters_have_no_problem() -> None:
    for d in (professional(), institutional()):
        enc, problems = encounter_from_dict(d, file="t.json")
        assert problems == []
        assert enc is not None
        assert check_encounter(enc, sample_config(), today=TODAY) == []


def test_checks_run_in_a_fixed_list() -> None:
    assert len(CHECKS) == len(set(CHECKS)) >= 10


def test_today_is_injected() -> None:
    enc, _ = encounter_from_dict(professional(), file="t.json")
    assert enc is not None
    before = check_encounter(enc, sample_config(), today=TODAY.replace(year=2025, month=3, day=2))
    assert "encounter.date.future" in codes(before)
    assert check_encounter(enc, sample_config(), today=TODAY) == []


@pytest.mark.parametrize(("code", "mutation"), [
    ("encounter.icd10.duplicate", set_path("diagnoses", ["E11.9", "E119"])),
    ("encounter.field.unknown", set_path("colour", "blue")),
    ("encounter.field.ignored", set_path("bill_type", "131")),
    ("encounter.payer_claim_number.unused", set_path("payer_claim_number", "SYNICN1")),
    ("encounter.address.po_box", set_path("billing_provider.address.line1", "PO BOX 123")),
])
def test_warnings_do_not_stop_a_claim(code: str, mutation: Mutation) -> None:
    d = professional()
    mutation(d)
    claims, problems = build([d])
    assert [c.patient_control_number for c in claims] == ["T-PRO-1"]
    assert code in codes(problems)
    assert not errors(problems)


def test_duplicate_ids_in_a_batch() -> None:
    claims, problems = build([professional("T-1"), professional("T-2"), professional("T-1")])
    assert [c.patient_control_number for c in claims] == ["T-1", "T-2"]
    dup = [p for p in problems if p.code == "encounter.id.duplicate"]
    assert len(dup) == 1 and dup[0].where.record == "T-1" and dup[0].where.element == "id"


def test_already_billed_refuses_originals_only() -> None:
    billed = {"T-1", "T-7"}
    asked: list[str] = []

    def already_billed(claim_id: str) -> bool:
        asked.append(claim_id)
        return claim_id in billed

    replacement = professional("T-7", frequency="7", payer_claim_number="SYNICN0007")
    claims, problems = build([professional("T-1"), professional("T-2"), replacement], already_billed=already_billed)
    assert [c.patient_control_number for c in claims] == ["T-2", "T-7"]
    assert [(p.code, p.where.record) for p in errors(problems)] == [("encounter.id.billed", "T-1")]
    assert asked == ["T-1", "T-2"]  # a replacement reuses the billed id and is not asked about


def test_already_billed_is_not_asked_about_bad_encounters() -> None:
    asked: list[str] = []
    build([professional("T-1", place_of_service="98")], already_billed=lambda i: asked.append(i) or False)
    assert asked == []


def test_messages_do_not_quote_patient_data() -> None:
    d = professional(subscriber={**professional()["subscriber"], "last_name": "SECRET*NAME",
                                 "member_id": "SECRETID~", "birth_date": "2026-01-01"})
    _, problems = build([d])
    assert problems
    for p in problems:
        assert "SECRET" not in p.message and "2026-01-01" not in p.message


# -- code sets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1679576722", "1500000009", "1600000008",
                                 "1700000007", "1800000006", "1122334455"])
def test_npi_check_digit_accepts_the_sample_npis(npi: str) -> None:
    assert npi_is_valid(npi)


def test_npi_check_digit_worked_example_and_every_wrong_digit() -> None:
    assert npi_check_digit("123456789") == 3
    for wrong in "012456789":
        assert not npi_is_valid("123456789" + wrong)
    assert not npi_is_valid("323456789" + str(npi_check_digit("323456789")))  # must start with 1 or 2
    assert not npi_is_valid("12345678")
    assert not npi_is_valid("12345678９3")  # a non-ASCII digit


def test_npi_check_digit_is_luhn_with_the_80840_prefix() -> None:
    def luhn_ok(number: str) -> bool:
        total = 0
        for i, ch in enumerate(reversed(number)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d // 10 + d % 10
        return total % 10 == 0

    for base in ("123456789", "100000000", "299999999", "150000000", "187654321"):
        npi = base + str(npi_check_digit(base))
        assert luhn_ok("80840" + npi)


@pytest.mark.parametrize(("code", "status"), [
    ("E11.9", "billable"), ("E119", "billable"), ("e11.9", "billable"), (" I10 ", "billable"),
    ("S52.521A", "billable"), ("F32.A", "billable"), ("E11", "header"), ("S52.521", "header"),
    ("E11.99", "unknown"), ("Z99.999", "unknown"), ("11.9E", "malformed"), ("E1.19", "malformed"),
    ("E08-E13", "malformed"), ("1", "malformed"), ("", "malformed"), ("E11..9", "malformed"),
])
def test_icd10cm_status(code: str, status: str) -> None:
    assert icd10cm_status(code) == status


def test_normalize_icd10() -> None:
    assert normalize_icd10(" e11.9 ") == "E119"
    assert normalize_icd10("Z00.129") == "Z00129"


@pytest.mark.parametrize(("code", "ok"), [
    ("99213", True), ("0001F", True), ("0042T", True), ("0001U", True), ("0002M", True), ("J3301", True),
    ("G0439", True), ("D0120", True), ("9921", False), ("992134", False), ("99213F", False), ("I1234", False),
    ("J330", False), ("j3301", False), ("", False),
])
def test_procedure_shape(code: str, ok: bool) -> None:
    assert procedure_shape_ok(code) is ok


@pytest.mark.parametrize(("code", "ok"), [("25", True), ("RT", True), ("Q5", True), ("2", False), ("25X", False),
                                          ("r1", False), ("", False)])
def test_modifier_shape(code: str, ok: bool) -> None:
    assert modifier_shape_ok(code) is ok


def test_place_of_service_matches_pyx12_code_list() -> None:
    import pyx12

    codes_xml = Path(pyx12.__file__).parent / "map" / "codes.xml"
    text = codes_xml.read_text(encoding="utf-8")
    block = text[text.index("<id>pos</id>"):]
    block = block[:block.index("</codeset>")]
    assert set(re.findall(r"<code>([0-9]{2})</code>", block)) == set(PLACE_OF_SERVICE)
    assert len(PLACE_OF_SERVICE) == 52


def test_the_delimiter_and_text_checks_each_answer_for_their_own_encounter() -> None:
    """check_delimiters and check_text share one walk of an encounter's strings (the last encounter walked is
    remembered): called on different encounters in any order, each reports the encounter it is given."""
    from mappings.checks import CheckContext, check_delimiters, check_text

    ctx = CheckContext(today=TODAY, config=sample_config())
    clean = encounter_from_dict(professional("CLEAN1"))[0]
    delimiter = encounter_from_dict(professional("DELIM1", note="A*B"))[0]
    invisible = encounter_from_dict(professional("INVIS1", note="A\u200bB"))[0]
    assert clean is not None and delimiter is not None and invisible is not None
    for _ in range(2):
        for enc in (clean, delimiter, invisible, delimiter, clean, invisible, invisible, clean):
            assert codes(check_delimiters(enc, ctx)) == (["encounter.delimiter"] if enc is delimiter else [])
            assert codes(check_text(enc, ctx)) == (["encounter.text.invisible"] if enc is invisible else [])
        for enc in (clean, delimiter, invisible):  # each check alone, the other never run in between
            assert codes(check_text(enc, ctx)) == (["encounter.text.invisible"] if enc is invisible else [])
        for enc in (invisible, clean, delimiter):
            assert codes(check_delimiters(enc, ctx)) == (["encounter.delimiter"] if enc is delimiter else [])
