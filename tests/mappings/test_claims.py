"""Encounters to Claims: the mapping, and the batch (skipping bad encounters, strict mode, purity)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from mapping_helpers import TODAY, build, codes, errors, institutional, parse_all, professional, sample_config

from edi.model import CodeDate, Diagnosis, Payer, Source
from mappings.claims import build_claims, encounter_to_claim, iter_claims
from mappings.config import parse_config, starter_toml
from mappings.encounter import Encounter, encounter_from_dict


def _enc(d: dict) -> Encounter:
    enc, problems = encounter_from_dict(d, file="enc.json", record="item 1")
    assert enc is not None, problems
    return enc


def test_professional_claim() -> None:
    claim, problems = encounter_to_claim(_enc(professional()), sample_config(), today=TODAY)
    assert problems == [] and claim is not None
    assert claim.kind == "professional" and claim.patient_control_number == "T-PRO-1"
    assert claim.payer == Payer(name="ACME SYNTHETIC HEALTH PLAN", payer_id="SYNACME1", filing_indicator="CI")
    assert claim.diagnoses == (Diagnosis("E119", "ABK"), Diagnosis("I10", "ABF"))
    assert [ln.number for ln in claim.lines] == [1, 2]
    assert claim.total_charge == Decimal("140.00") == claim.line_total
    assert claim.lines[0].procedure == "99213" and claim.lines[0].modifiers == ("25",)
    assert claim.lines[0].diagnosis_pointers == (1, 2) and claim.lines[0].unit_basis == "UN"
    assert [ln.line_control_number for ln in claim.lines] == ["T-PRO-1-1", "T-PRO-1-2"]
    assert claim.place_of_service == "11" and claim.bill_type is None and claim.frequency == "1"
    assert claim.source == Source(file="enc.json", record="T-PRO-1")
    assert claim.billing_provider.npi == "1234567893" and claim.billing_provider.entity == "2"
    assert claim.billing_provider.tax_id == "990000001"
    assert claim.rendering_provider is not None and claim.rendering_provider.entity == "1"
    assert claim.subscriber.birth_date == date(1980, 1, 1) and claim.patient is None
    assert (claim.provider_signature, claim.assignment, claim.benefits_assigned, claim.release_of_information) == \
        (True, "A", True, "Y")
    assert claim.statement_from is None and claim.institutional_codes == () and claim.attending_provider is None


def test_institutional_claim() -> None:
    d = institutional(reason_for_visit=["R10.31"], condition_codes=["D9"],
                      occurrence_codes=[{"code": "11", "date": "2025-08-01"}],
                      occurrence_spans=[{"code": "74", "from": "2025-08-02", "to": "2025-08-03"}],
                      value_codes=[{"code": "80", "amount": "3"}],
                      other_procedures=[{"code": "0DTJ0ZZ", "date": "2025-08-03"}],
                      operating_provider={"npi": "1700000007", "name": "EXAMPLESURGEON", "first_name": "MORGAN"},
                      discharge_hour="1100")
    d["lines"][1]["revenue_code"] = "300"
    claim, problems = encounter_to_claim(_enc(d), sample_config(), today=TODAY)
    assert problems == [] and claim is not None
    assert claim.kind == "institutional" and claim.bill_type == "111" and claim.place_of_service is None
    assert claim.diagnoses == (Diagnosis("K3580", "ABK", "Y"), Diagnosis("E119", "ABF"), Diagnosis("R1031", "ABJ"),
                               Diagnosis("R1031", "APR"))
    assert [ln.revenue_code for ln in claim.lines] == ["0120", "0300"]
    assert claim.statement_from == date(2025, 8, 2) and claim.statement_to == date(2025, 8, 5)
    assert (claim.admission_date, claim.admission_hour, claim.admission_type, claim.admission_source) == \
        (date(2025, 8, 2), "1430", "1", "1")
    assert claim.discharge_status == "01" and claim.discharge_hour == "1100"
    assert claim.attending_provider is not None and claim.attending_provider.npi == "1600000008"
    assert claim.operating_provider is not None and claim.operating_provider.entity == "1"
    assert claim.institutional_codes == (
        CodeDate("BG", "D9"),
        CodeDate("BH", "11", date=date(2025, 8, 1)),
        CodeDate("BI", "74", date=date(2025, 8, 2), date_end=date(2025, 8, 3)),
        CodeDate("BE", "80", amount=Decimal(3)),
        CodeDate("BBR", "0DTJ4ZZ", date=date(2025, 8, 2)),
        CodeDate("BBQ", "0DTJ0ZZ", date=date(2025, 8, 3)),
    )
    assert claim.payer.filing_indicator == "MA" and claim.payer.address is not None
    assert claim.total_charge == Decimal("3750.25")


def test_dependent_patient() -> None:
    d = professional(patient={"relationship": "19", "last_name": "TESTKID", "first_name": "SAM",
                              "birth_date": "2015-01-01", "sex": "M",
                              "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL",
                                          "zip": "62701"}})
    claim, _ = encounter_to_claim(_enc(d), sample_config(), today=TODAY)
    assert claim is not None and claim.patient is not None
    assert (claim.patient.relationship, claim.patient.last_name, claim.patient.birth_date, claim.patient.sex) == \
        ("19", "TESTKID", date(2015, 1, 1), "M")
    assert claim.subscriber.member_id == "SYNM00000999"


def test_replacement_and_void_carry_the_payer_claim_number_and_originals_do_not() -> None:
    for frequency in ("7", "8"):
        claim, _ = encounter_to_claim(_enc(professional(frequency=frequency, payer_claim_number="SYNICN1")),
                                      sample_config(), today=TODAY)
        assert claim is not None and claim.frequency == frequency and claim.payer_claim_number == "SYNICN1"
    claim, problems = encounter_to_claim(_enc(professional(payer_claim_number="SYNICN1")), sample_config(),
                                         today=TODAY)
    assert claim is not None and claim.payer_claim_number is None
    assert codes(problems) == ["encounter.payer_claim_number.unused"]
    claim, _ = encounter_to_claim(_enc(institutional(bill_type="0118", payer_claim_number="SYNICN2")),
                                  sample_config(), today=TODAY)
    assert claim is not None and claim.bill_type == "118" and claim.frequency == "8"


def test_rendering_provider_is_dropped_when_it_is_the_billing_provider() -> None:
    d = professional(rendering_provider={"npi": "1234567893", "name": "TESTDOCTOR", "first_name": "JORDAN"})
    claim, _ = encounter_to_claim(_enc(d), sample_config(), today=TODAY)
    assert claim is not None and claim.rendering_provider is None


def test_line_place_of_service_only_when_it_differs() -> None:
    d = professional()
    d["lines"][0]["place_of_service"] = "11"
    d["lines"][1]["place_of_service"] = "22"
    claim, _ = encounter_to_claim(_enc(d), sample_config(), today=TODAY)
    assert claim is not None and [ln.place_of_service for ln in claim.lines] == [None, "22"]


def test_line_control_numbers() -> None:
    d = professional()
    d["lines"][1]["line_id"] = "MY-LINE"
    claim, _ = encounter_to_claim(_enc(d), sample_config(), today=TODAY)
    assert claim is not None and [ln.line_control_number for ln in claim.lines] == ["T-PRO-1-1", "MY-LINE"]
    config = parse_config(starter_toml().replace("line_control_numbers = true", "line_control_numbers = false"))
    claim, _ = encounter_to_claim(_enc(professional(payer="example_plan")), config, today=TODAY)
    assert claim is not None and [ln.line_control_number for ln in claim.lines] == [None, None]


def test_a_generated_line_control_number_never_repeats_a_given_one() -> None:
    """Line 1 was given the number line 2 would get: line 2 gets a suffix, and the claim can be written
    (two lines with one REF*6R would be refused by the 837 writer)."""
    d = professional()
    d["lines"][0]["line_id"] = "T-PRO-1-2"
    claim, _ = encounter_to_claim(_enc(d), sample_config(), today=TODAY)
    assert claim is not None and [ln.line_control_number for ln in claim.lines] == ["T-PRO-1-2", "T-PRO-1-2-1"]


def test_billing_defaults_come_from_the_configuration() -> None:
    config = parse_config(starter_toml().replace('assignment = "A"', 'assignment = "C"')
                          .replace("benefits_assigned = true", "benefits_assigned = false"))
    claim, _ = encounter_to_claim(_enc(professional(payer="example_plan")), config, today=TODAY)
    assert claim is not None and claim.assignment == "C" and claim.benefits_assigned is False
    assert claim.payer.payer_id == "EXAMPLE01"


def test_encounter_to_claim_is_pure() -> None:
    enc = _enc(institutional())
    first = encounter_to_claim(enc, sample_config(), today=TODAY)
    second = encounter_to_claim(enc, sample_config(), today=TODAY)
    assert first == second and first[0] is not None


def test_a_bad_encounter_gives_no_claim() -> None:
    claim, problems = encounter_to_claim(_enc(professional(payer="nobody")), sample_config(), today=TODAY)
    assert claim is None and codes(problems) == ["encounter.payer.unknown"]


def test_build_claims_skips_bad_encounters_and_keeps_every_problem() -> None:
    batch = [professional("B-1"), professional("B-2", place_of_service="98"), institutional("B-3"),
             {"kind": "professional"}, professional("B-5", colour="blue")]
    claims, problems = build(batch)
    assert [c.patient_control_number for c in claims] == ["B-1", "B-3", "B-5"]
    assert [(p.code, p.where.record) for p in errors(problems)][:1] == [("encounter.pos.unknown", "B-2")]
    assert {p.where.record for p in errors(problems)} == {"B-2", "item 4"}
    assert ("encounter.field.unknown", "B-5") in [(p.code, p.where.record) for p in problems]


def test_build_claims_strict_returns_no_claim_when_any_encounter_is_bad() -> None:
    good = [professional("B-1"), institutional("B-2")]
    claims, problems = build(good, strict=True)
    assert len(claims) == 2 and problems == []
    claims, problems = build([*good, professional("B-3", place_of_service="98")], strict=True)
    assert claims == [] and codes(errors(problems)) == ["encounter.pos.unknown"]


def test_build_claims_counts_source_problems_as_bad_in_strict_mode() -> None:
    from edi.problems import error

    results = [*parse_all([professional("B-1")]), (None, [error("source.json.syntax", "broken", file="x")])]
    claims, problems = build_claims(iter(results), sample_config(), today=TODAY)
    assert len(claims) == 1 and codes(problems) == ["source.json.syntax"]
    claims, _ = build_claims(iter(results), sample_config(), today=TODAY, strict=True)
    assert claims == []


def test_an_encounter_whose_source_reported_an_error_is_skipped() -> None:
    from edi.problems import error

    enc = _enc(professional("B-1"))
    results = [(enc, [error("source.csv.conflict", "differs", record="B-1")])]
    claims, problems = build_claims(iter(results), sample_config(), today=TODAY)
    assert claims == [] and codes(problems) == ["source.csv.conflict"]


def test_claims_are_identical_for_an_encounter_in_any_file_but_their_source() -> None:
    a = encounter_to_claim(_enc(professional()), sample_config(), today=TODAY)[0]
    enc_b, _ = encounter_from_dict(professional(), file="other.json")
    assert enc_b is not None
    b = encounter_to_claim(enc_b, sample_config(), today=TODAY)[0]
    assert a is not None and b is not None and a != b
    assert replace(a, source=None, lines=()) == replace(b, source=None, lines=())


def test_iter_claims_yields_one_result_per_item_as_it_goes() -> None:
    from edi.problems import error

    def source():
        yield from parse_all([professional("S-1"), professional("S-2", place_of_service="98")])
        yield None, [error("source.json.syntax", "broken", file="x")]
        yield from parse_all([professional("S-1")])
        raise AssertionError("read past what was asked for")

    results = iter_claims(source(), sample_config(), today=TODAY)
    first = next(results)
    assert first[0] is not None and first[0].patient_control_number == "S-1" and first[1] == []
    second, third, fourth = next(results), next(results), next(results)
    assert second[0] is None and codes(second[1]) == ["encounter.pos.unknown"]
    assert third == (None, [error("source.json.syntax", "broken", file="x")])
    assert fourth[0] is None and codes(fourth[1]) == ["encounter.id.duplicate"]


def test_mappings_stays_out_of_x12_syntax_typer_and_sqlalchemy() -> None:
    import subprocess
    import sys

    code = ("import sys, mappings, mappings.checks, mappings.codesets, mappings.sources.json_source, "
            "mappings.sources.csv_source, mappings.sources.fhir_source; "
            "print(sorted(m for m in sys.modules if m.startswith(('edi.x12', 'typer', 'sqlalchemy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_institutional_line_drops_its_diagnosis_pointers_with_a_warning() -> None:
    """837I lines point at no diagnosis: pointers given on them are not carried (the writer refused the claim
    before), and the encounter says so."""
    d = institutional()
    for ln in d["lines"]:
        ln["diagnosis_pointers"] = [1]
    claim, problems = encounter_to_claim(_enc(d), sample_config(), today=TODAY)
    assert claim is not None and all(ln.diagnosis_pointers == () for ln in claim.lines)
    assert {(p.code, p.severity.value) for p in problems} == {("encounter.field.ignored", "warning")}
    assert [p.where.element for p in problems] == [
        f"lines[{i}].diagnosis_pointers" for i in range(1, len(d["lines"]) + 1)]
