"""Encounter sources: samples in every format, format detection, streaming, CSV grouping, FHIR mapping."""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mapping_helpers import ENCOUNTER_SAMPLES, SAMPLE_IDS, TODAY, codes, professional, sample_config

from edi.model import Claim
from mappings.claims import build_claims
from mappings.sources import detect_format, read_encounters, read_stream, sniff_format
from mappings.sources.csv_source import CSV_COLUMNS
from mappings.sources.fhir_source import read_bundle
from mappings.sources.json_source import read_json, read_ndjson

SAMPLE_FILES = {"encounters.json": "json", "encounters.ndjson": "ndjson", "encounters.csv": "csv",
                "fhir-bundle.json": "fhir"}


def _claims(path: Path | str, fmt: str | None = None) -> tuple[list[Claim], list]:
    return build_claims(read_encounters(path, fmt), sample_config(), today=TODAY)


def _without_source(claim: Claim) -> Claim:
    return replace(claim, source=None, lines=tuple(replace(ln, source=None) for ln in claim.lines))


# -- the samples ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLE_FILES))
def test_every_sample_reads_with_zero_problems(name: str) -> None:
    path = ENCOUNTER_SAMPLES / name
    assert detect_format(path) == SAMPLE_FILES[name]
    results = list(read_encounters(path))
    assert all(problems == [] for _, problems in results)
    claims, problems = _claims(path)
    assert problems == []
    assert [c.patient_control_number for c in claims] == SAMPLE_IDS
    assert all(c.source is not None and c.source.file == str(path) for c in claims)


def test_every_format_gives_the_same_claims() -> None:
    reference = [_without_source(c) for c in _claims(ENCOUNTER_SAMPLES / "encounters.json")[0]]
    for name in SAMPLE_FILES:
        assert [_without_source(c) for c in _claims(ENCOUNTER_SAMPLES / name)[0]] == reference, name


def test_the_samples_cover_what_they_should() -> None:
    claims = _claims(ENCOUNTER_SAMPLES / "encounters.json")[0]
    assert {c.kind for c in claims} == {"professional", "institutional"}
    assert {c.frequency for c in claims} == {"1", "7", "8"}
    assert len({_payer_key(c) for c in claims}) >= 4
    assert any(c.patient is None for c in claims) and any(c.patient is not None for c in claims)
    assert any(ln.modifiers for c in claims for ln in c.lines)
    assert all(c.payer_claim_number for c in claims if c.frequency in ("7", "8"))


def _payer_key(claim: Claim) -> str:
    return next(k for k, p in sample_config().payers.items() if p.payer_id == claim.payer.payer_id)


def test_samples_hold_nothing_shaped_like_an_ssn() -> None:
    import re

    for name in SAMPLE_FILES:
        text = (ENCOUNTER_SAMPLES / name).read_text(encoding="utf-8")
        assert not re.search(r"\b\d{3}-\d{2}-\d{4}\b", text), name


# -- format detection -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("head", "fmt"), [
    (b'[{"id": "A"}]', "json"),
    (b'\xef\xbb\xbf  [\n', "json"),
    (b'{"id": "A"}\n{"id": "B"}\n', "ndjson"),
    (b'{"id": "A"}', "ndjson"),
    (b'{\n  "id": "A"\n}\n', "json"),
    (b'{\n "resourceType": "Bundle",\n "entry": []}', "fhir"),
    (b'{"resourceType":"Bundle","entry":[]}\n', "fhir"),
    (b"encounter_id,kind,payer\nA,professional,acme\n", "csv"),
    (b"hello", None),
    (b"", None),
])
def test_sniff_format(head: bytes, fmt: str | None) -> None:
    assert sniff_format(head) == fmt


def test_detect_format_by_extension_before_content(tmp_path: Path) -> None:
    for name, fmt in (("a.ndjson", "ndjson"), ("a.jsonl", "ndjson"), ("a.CSV", "csv")):
        (tmp_path / name).write_text("[]")
        assert detect_format(tmp_path / name) == fmt
    (tmp_path / "bundle.txt").write_text('{"resourceType": "Bundle"}')
    assert detect_format(tmp_path / "bundle.txt") == "fhir"
    assert detect_format(tmp_path / "absent.json") is None


def test_read_encounters_never_raises_on_unreadable_input(tmp_path: Path) -> None:
    assert codes(_only_problems(read_encounters(tmp_path / "absent.json"))) == ["source.read"]
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    assert codes(_only_problems(read_encounters(tmp_path / "x.bin"))) == ["source.format"]
    assert codes(_only_problems(read_encounters(tmp_path / "x.bin", "xml"))) == ["source.format"]
    assert codes(_only_problems(read_encounters("-"))) == ["source.format"]
    (tmp_path / "dir.json").mkdir()
    assert codes(_only_problems(read_encounters(tmp_path / "dir.json", "json"))) == ["source.read"]


def _only_problems(results: Iterator) -> list:
    out = []
    for enc, problems in results:
        assert enc is None
        out += problems
    return out


# -- JSON and NDJSON ------------------------------------------------------------------------------------------


class EndlessStream(io.RawIOBase):
    """A binary stream of ``prefix`` then ``item(n)`` forever; counts the bytes read."""

    def __init__(self, prefix: bytes, item: Any) -> None:
        self.pending = prefix
        self.item = item
        self.n = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self.pending) < len(buffer):
            self.n += 1
            self.pending += self.item(self.n)
        size = len(buffer)
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        self.bytes_read += size
        return size


def _line(n: int) -> bytes:
    return json.dumps(professional(f"S-{n}")).encode() + b"\n"


def test_ndjson_streams_from_an_endless_stream() -> None:
    stream = EndlessStream(b"", _line)
    first = list(itertools.islice(read_ndjson(io.BufferedReader(stream), file="x"), 2000))
    assert [enc.id for enc, _ in first[:3]] == ["S-1", "S-2", "S-3"]
    assert all(enc is not None and problems == [] for enc, problems in first)
    assert stream.bytes_read < 2100 * len(_line(1))  # read as it goes, not all at once


def test_json_array_streams_from_an_endless_stream() -> None:
    stream = EndlessStream(b"[\n", lambda n: (b"" if n == 1 else b",\n") + _line(n))
    first = list(itertools.islice(read_json(io.BufferedReader(stream), file="x"), 500))
    assert [enc.id for enc, _ in first[-2:]] == ["S-499", "S-500"]
    assert stream.bytes_read < 600 * len(_line(1)) + (1 << 18)


def test_ndjson_memory_stays_flat(tmp_path: Path) -> None:
    import tracemalloc

    def peak(count: int) -> int:
        path = tmp_path / f"{count}.ndjson"
        with path.open("wb") as f:
            for n in range(count):
                f.write(_line(n))
        tracemalloc.start()
        for _ in read_encounters(path):
            pass
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    small, large = peak(100), peak(1500)
    assert large < small * 2


def test_ndjson_reports_bad_lines_and_goes_on() -> None:
    data = b"\xef\xbb\xbf" + _line(1) + b"\n{not json}\n[1]\n\xff\xfe\n" + _line(2)
    results = list(read_ndjson(io.BytesIO(data), file="f.ndjson"))
    assert [enc.id if enc else None for enc, _ in results] == ["S-1", None, None, None, "S-2"]
    bad = [(p.code, p.where.record) for _, ps in results for p in ps]
    assert bad == [("source.json.syntax", "line 3"), ("source.json.shape", "line 4"), ("source.encoding", "line 5")]


def test_ndjson_decimals_are_exact() -> None:
    line = json.dumps(professional()).replace('"100.00"', "100.10").encode()
    (enc, problems), = read_ndjson(io.BytesIO(line), file="x")
    assert problems == [] and enc is not None and str(enc.lines[0].charge) == "100.10"


@pytest.mark.parametrize(("text", "expected"), [
    (b"", []),
    (b"[]", []),
    (b"  [ ]  \n", []),
    (b'{"id": "A"}', ["encounter.field.missing"]),
    (b"[1]", ["source.json.shape"]),
    (b'[{"id": ', ["source.json.syntax"]),
    (b'[{"id": "A"} {"id": "B"}]', ["encounter.field.missing", "source.json.syntax"]),
    (b'[{"id": "A"},', ["encounter.field.missing", "source.json.syntax"]),
    (b"[] []", ["source.json.syntax"]),
    (b'"text"', ["source.json.shape"]),
    (b'[{"id": "\xff"}]', ["source.encoding"]),
])
def test_json_array_problems(text: bytes, expected: list[str]) -> None:
    found = [p.code for _, ps in read_json(io.BytesIO(text), file="f.json") for p in ps]
    assert sorted(set(found)) == sorted(set(expected))


def test_json_syntax_error_names_the_line_and_item() -> None:
    text = b'[\n{"id": "A"},\n{"id": "B",\n "kind": }\n]'
    results = list(read_json(io.BytesIO(text), file="f.json"))
    problem = results[-1][1][0]
    assert problem.code == "source.json.syntax" and problem.where.record == "item 2"
    assert "line 4" in problem.message


def test_json_array_with_small_chunks_and_numbers_at_chunk_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    import mappings.sources.json_source as js

    monkeypatch.setattr(js, "CHUNK", 7)
    items = [professional(f"C-{n}") for n in range(5)]
    for item in items:
        item["lines"][0]["charge"] = 1234567.25
    text = json.dumps(items).encode()
    results = list(read_json(io.BytesIO(text), file="f.json"))
    assert [enc.lines[0].charge for enc, _ in results] == [js.Decimal("1234567.25")] * 5


# -- CSV ------------------------------------------------------------------------------------------------------

HEADER = ("encounter_id,kind,payer,place_of_service,diagnoses,billing_npi,billing_name,billing_tax_id,"
          "billing_address_line1,billing_city,billing_state,billing_zip,subscriber_member_id,subscriber_last_name,"
          "subscriber_first_name,subscriber_birth_date,subscriber_sex,subscriber_address_line1,subscriber_city,"
          "subscriber_state,subscriber_zip,line_procedure,line_modifiers,line_charge,line_units,"
          "line_diagnosis_pointers,line_service_date")
ENC = ("professional,acme,11,E11.9:I10,1234567893,SYNTH CLINIC,990000001,100 SYNTHETIC WAY,SPRINGFIELD,IL,"
       "627010001,SYNM1,TESTPERSON,ALEX,1980-01-01,F,1 TEST STREET,SPRINGFIELD,IL,62701")
BLANK = "," * 19


def _csv(*rows: str) -> list:
    text = "\n".join([HEADER, *rows]) + "\n"
    return list(read_stream(io.BytesIO(text.encode()), "csv", file="f.csv"))


def test_csv_groups_consecutive_rows_into_encounters() -> None:
    results = _csv(f"A,{ENC},99213,25:59,100.00,1,1:2,2025-03-03",
                   f"A,{ENC},83036,,40.00,1,1,2025-03-03",
                   f"B,{ENC},99212,,75.00,2,2,2025-03-04")
    assert all(problems == [] for _, problems in results)
    a, b = (enc for enc, _ in results)
    assert a.id == "A" and len(a.lines) == 2 and a.lines[0].modifiers == ("25", "59")
    assert a.lines[0].diagnosis_pointers == (1, 2) and a.diagnoses[1].code == "I10"
    assert b.id == "B" and b.lines[0].units == 2


def test_csv_later_rows_may_leave_encounter_columns_empty() -> None:
    results = _csv(f"A,{ENC},99213,,100.00,1,1,2025-03-03", f"A,{BLANK},83036,,40.00,1,1,2025-03-03")
    ((enc, problems),) = results
    assert problems == [] and enc is not None and len(enc.lines) == 2


def test_csv_rows_of_an_encounter_must_be_consecutive() -> None:
    rows = (f"A,{ENC},99213,,100.00,1,1,2025-03-03",
            f"B,{ENC},99212,,75.00,1,1,2025-03-04",
            f"A,{ENC},83036,,40.00,1,1,2025-03-03",
            f"A,{ENC},83037,,40.00,1,1,2025-03-03",
            f"C,{ENC},99212,,75.00,1,1,2025-03-04")
    results = _csv(*rows)
    # a file is read twice: A is refused whole, never built from its first row alone
    assert [enc.id if enc else None for enc, _ in results] == [None, "B", None, "C"]
    first, later = results[0][1], results[2][1]
    assert [(p.code, p.where.record) for p in first] == [("source.csv.split", "A")]
    assert [(p.code, p.where.record) for p in later] == [("source.csv.split", "A")]
    assert "line 4" in later[0].message
    # a pipe, which cannot be read twice, goes through a temporary file: the same
    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    piped = list(read_stream(Pipe(("\n".join([HEADER, *rows]) + "\n").encode()), "csv", file="-"))
    assert [enc.id if enc else None for enc, _ in piped] == [None, "B", None, "C"]


def test_csv_an_encounter_is_never_built_from_part_of_its_rows() -> None:
    """A row that cannot be read (an unquoted comma adds a cell), a row without an id after the encounter's rows,
    or a row the CSV parser gives up on: the encounter it may belong to is refused, the others are built."""
    extra_cell = f"A,{ENC},83036,,40.00,1,1,2025-03-03,oops"
    results = _csv(f"A,{ENC},99213,,100.00,1,1,2025-03-03", extra_cell, f"B,{ENC},99212,,75.00,1,1,2025-03-04")
    assert [enc.id if enc else None for enc, _ in results] == [None, "B"]
    assert [(p.code, p.where.record) for p in results[0][1]] == [("source.csv.syntax", "A")]

    # the broken row comes first: the rows after it do not make the encounter
    results = _csv(extra_cell, f"A,{ENC},99213,,100.00,1,1,2025-03-03", f"B,{ENC},99212,,75.00,1,1,2025-03-04")
    assert [enc.id if enc else None for enc, _ in results] == [None, None, "B"]
    assert "line 2" in results[1][1][0].message

    results = _csv(f"A,{ENC},99213,,100.00,1,1,2025-03-03", f",{BLANK},83036,,40.00,1,1,2025-03-03",
                   f"B,{ENC},99212,,75.00,1,1,2025-03-04")
    assert [enc.id if enc else None for enc, _ in results] == [None, None, "B"]
    assert [(p.code, p.where.record) for _, ps in results for p in ps] == [
        ("encounter.field.missing", "line 3"), ("source.csv.syntax", "A")]

    limit = csv.field_size_limit(1000)
    try:
        results = _csv(f"B,{ENC},99212,,75.00,1,1,2025-03-04", f"A,{ENC},99213,,100.00,1,1,2025-03-03",
                       f'A,{ENC},83036,,40.00,1,1,2025-03-03,"{"x" * 2000}"')
    finally:
        csv.field_size_limit(limit)
    assert [enc.id if enc else None for enc, _ in results] == ["B", None, None]
    assert [p.code for _, ps in results[1:] for p in ps] == ["source.csv.syntax", "source.csv.syntax"]


def test_csv_conflicting_encounter_columns() -> None:
    other = ENC.replace("1234567893", "1245319599")
    ((enc, problems),) = _csv(f"A,{ENC},99213,,100.00,1,1,2025-03-03", f"A,{other},83036,,40.00,1,1,2025-03-03")
    assert enc is None
    assert [(p.code, p.where.record, p.where.element) for p in problems] == [
        ("source.csv.conflict", "A", "billing_provider.npi")]


def test_csv_problems_use_field_paths() -> None:
    ((enc, problems),) = _csv(f"A,{ENC},99213,,abc,1,1,2025-03-03", f"A,{ENC},83036,,40.00,1,9,2025-03-03")
    assert enc is None
    assert [(p.code, p.where.element) for p in problems] == [("encounter.field.format", "lines[1].charge")]
    claims, problems = build_claims(iter(_csv(f"A,{ENC},99213,,10.00,1,1,2025-03-03",
                                              f"A,{ENC},83036,,40.00,1,3,2025-03-03")),
                                    sample_config(), today=TODAY)
    assert claims == [] and [(p.code, p.where.element) for p in problems] == [
        ("encounter.pointer.range", "lines[2].diagnosis_pointers[1]")]


def test_csv_header_and_row_problems() -> None:
    text = "kind,payer\nprofessional,acme\n"
    results = list(read_stream(io.BytesIO(text.encode()), "csv", file="f.csv"))
    assert codes(_only_problems(iter(results))) == ["source.csv.header"]
    results = list(read_stream(io.BytesIO((HEADER + ",colour\n").encode()), "csv", file="f.csv"))
    assert [(p.code, p.severity.value, p.where.element) for p in _only_problems(iter(results))] == [
        ("source.csv.header", "warning", "colour")]
    results = _csv("A,too,few", f",{ENC},99213,,100.00,1,1,2025-03-03", "", f"B,{ENC},99212,,75.00,1,1,2025-03-04")
    assert [[(p.code, p.where.record) for p in ps] for _, ps in results] == [
        [("source.csv.syntax", "A")], [("encounter.field.missing", "line 3")], []]
    assert list(read_stream(io.BytesIO(b""), "csv", file="f.csv")) == []
    results = list(read_stream(io.BytesIO(HEADER.encode() + b"\nA,\xff\xfe\n"), "csv", file="f.csv"))
    assert codes(_only_problems(iter(results))) == ["source.encoding"]


def test_csv_institutional_code_lists() -> None:
    header = ("encounter_id,diagnoses,diagnosis_poa,occurrence_codes,occurrence_spans,value_codes,"
              "principal_procedure,condition_codes,line_revenue_code,line_charge,line_units")
    row = "I,K35.80:E11.9:I10,Y::N,11=2025-08-01,74=2025-08-02/2025-08-03,80=3:81=1.5,0DTJ4ZZ=2025-08-02,D9:A1,0120,1,1"
    ((enc, problems),) = list(read_stream(io.BytesIO(f"{header}\n{row}\n".encode()), "csv", file="f.csv"))
    assert enc is None  # kind, payer... are missing; what was read is checked below through the problems
    assert {p.where.element for p in problems} >= {"kind", "payer", "billing_provider", "subscriber"}
    assert not any(p.where.element and p.where.element.startswith(("occurrence", "value", "principal", "diagnoses"))
                   for p in problems)


def test_csv_sample_uses_only_known_columns() -> None:
    header = (ENCOUNTER_SAMPLES / "encounters.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert set(header) <= set(CSV_COLUMNS) and header[0] == "encounter_id"


# -- FHIR R4 --------------------------------------------------------------------------------------------------

NPI = "http://hl7.org/fhir/sid/us-npi"


def _bundle() -> dict[str, Any]:
    address = {"line": ["1 TEST STREET"], "city": "SPRINGFIELD", "state": "IL", "postalCode": "62701"}
    resources = [
        {"resourceType": "Claim", "id": "c1", "identifier": [{"value": "F-1"}], "status": "active",
         "type": {"coding": [{"code": "professional"}]}, "use": "claim", "patient": {"reference": "Patient/kid"},
         "created": "2025-04-01", "provider": {"reference": "Organization/clinic"},
         "priority": {"coding": [{"code": "normal"}]},
         "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "urn:uuid:cov-1"}}],
         "diagnosis": [
             {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "R50.9"}]}},
             {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"code": "J02.0"}]},
              "type": [{"coding": [{"code": "principal"}]}]}],
         "item": [
             {"sequence": 1, "productOrService": {"coding": [{"code": "99213"}]}, "diagnosisSequence": [2, 1],
              "modifier": [{"coding": [{"code": "25"}]}], "servicedDate": "2025-03-03",
              "locationCodeableConcept": {"coding": [{"code": "11"}]}, "net": {"value": Decimal("100.10")}},
             {"sequence": 2, "productOrService": {"coding": [{"code": "87880"}]}, "diagnosisSequence": [2],
              "servicedDate": "2025-03-03", "quantity": {"value": 2}, "unitPrice": {"value": Decimal("14.50")},
              "locationCodeableConcept": {"coding": [{"code": "11"}]}}],
         "total": {"value": Decimal("129.10")}},
        {"resourceType": "Patient", "id": "kid", "name": [{"family": "TESTKID", "given": ["SAM"]}],
         "gender": "male", "birthDate": "2016-01-01", "address": [address]},
        {"resourceType": "Patient", "id": "parent", "name": [{"family": "TESTPARENT", "given": ["ALEX", "B"]}],
         "gender": "female", "birthDate": "1985-01-01", "address": [address]},
        {"resourceType": "Coverage", "id": "cov", "status": "active", "subscriberId": "SYNM1",
         "beneficiary": {"reference": "Patient/kid"}, "subscriber": {"reference": "Patient/parent"},
         "relationship": {"coding": [{"code": "child"}]}, "payor": [{"reference": "Organization/payer"}]},
        {"resourceType": "Organization", "id": "payer", "name": "ACME",
         "identifier": [{"system": "urn:edi:payer-key", "value": "acme"}]},
        {"resourceType": "Organization", "id": "clinic", "name": "SYNTH CLINIC",
         "identifier": [{"system": NPI, "value": "1234567893"},
                        {"system": "urn:oid:2.16.840.1.113883.4.4", "value": "990000001"}],
         "address": [{"line": ["100 SYNTHETIC WAY"], "city": "SPRINGFIELD", "state": "IL",
                      "postalCode": "627010001"}]},
    ]
    entries = [{"resource": r} for r in resources]
    entries[3]["fullUrl"] = "urn:uuid:cov-1"
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _fhir(bundle: dict[str, Any]) -> list:
    return list(read_bundle(copy.deepcopy(bundle), file="b.json"))


def test_fhir_claim_maps_to_an_encounter() -> None:
    ((enc, problems),) = _fhir(_bundle())
    assert problems == [] and enc is not None
    assert enc.id == "F-1" and enc.kind == "professional" and enc.payer == "acme" and enc.frequency == "1"
    assert [d.code for d in enc.diagnoses] == ["J02.0", "R50.9"]  # the principal first
    assert [ln.diagnosis_pointers for ln in enc.lines] == [(1, 2), (1,)]  # renumbered to the new positions
    assert [str(ln.charge) for ln in enc.lines] == ["100.10", "29.00"]  # unit price x quantity
    assert enc.place_of_service == "11" and enc.lines[0].modifiers == ("25",)
    assert enc.subscriber.member_id == "SYNM1" and enc.subscriber.last_name == "TESTPARENT"
    assert enc.subscriber.middle_name == "B"
    assert enc.patient is not None and enc.patient.relationship == "19" and enc.patient.sex == "M"
    assert enc.billing_provider.npi == "1234567893" and enc.billing_provider.tax_id == "990000001"


def test_fhir_subscriber_who_is_the_patient() -> None:
    b = _bundle()
    cov = b["entry"][3]["resource"]
    cov["subscriber"] = {"reference": "Patient/kid"}
    cov["relationship"] = {"coding": [{"code": "self"}]}
    ((enc, problems),) = _fhir(b)
    assert problems == [] and enc is not None and enc.patient is None and enc.subscriber.last_name == "TESTKID"


def test_fhir_replacement_and_void() -> None:
    b = _bundle()
    claim = b["entry"][0]["resource"]
    claim["related"] = [{"relationship": {"coding": [{"code": "prior"}]}, "reference": {"value": "SYNICN9"}}]
    ((enc, _),) = _fhir(b)
    assert enc is not None and enc.frequency == "7" and enc.payer_claim_number == "SYNICN9"
    claim["status"] = "cancelled"
    ((enc, _),) = _fhir(b)
    assert enc is not None and enc.frequency == "8"


@pytest.mark.parametrize(("change", "code", "element"), [
    (lambda b: b["entry"][0]["resource"].update(total={"value": 1}), "source.fhir.total", "Claim.total"),
    (lambda b: b["entry"][0]["resource"].update(provider={"reference": "Organization/absent"}),
     "source.fhir.reference", "Claim.provider"),
    (lambda b: b["entry"][0]["resource"]["item"][0].update(diagnosisSequence=[7]), "source.fhir.reference",
     "Claim.item[1].diagnosisSequence[1]"),
    (lambda b: b["entry"][4]["resource"].update(identifier=[]), "encounter.field.missing", "payer"),
    (lambda b: b["entry"][0]["resource"]["diagnosis"][0].pop("diagnosisCodeableConcept") and
     b["entry"][0]["resource"]["diagnosis"][0].update(diagnosisReference={"reference": "Condition/x"}),
     "source.fhir.unsupported", "Claim.diagnosis[1]"),
    # a reference to a resource of a type the mapping does not read there (FHIR allows more types)
    (lambda b: b["entry"][3]["resource"].update(subscriber={"reference": "Organization/payer"}),
     "source.fhir.reference", "Coverage.subscriber"),
    (lambda b: b["entry"][0]["resource"].update(provider={"reference": "urn:uuid:cov-1"}),
     "source.fhir.reference", "Claim.provider"),
    (lambda b: b["entry"][0]["resource"].update(patient={"reference": "Organization/clinic"}),
     "source.fhir.reference", "Claim.patient"),
    # the patient is the subscriber's child, and the Coverage does not say who the subscriber is: billing the
    # child as the subscriber would be wrong
    (lambda b: b["entry"][3]["resource"].pop("subscriber"), "encounter.field.missing", "Coverage.subscriber"),
])
def test_fhir_problems_name_the_claim(change: Any, code: str, element: str) -> None:
    b = _bundle()
    change(b)
    results = _fhir(b)
    enc, problems = results[-1]
    assert enc is None
    found = [(p.code, p.where.element) for p in problems]
    assert (code, element) in found
    assert all(p.where.record == "F-1" for p in problems)


def test_fhir_invalid_resource_is_reported_without_its_values() -> None:
    b = _bundle()
    b["entry"][1]["resource"]["birthDate"] = "SECRET-DATE"
    results = _fhir(b)
    invalid = [p for _, ps in results for p in ps if p.code == "source.fhir.invalid"]
    assert len(invalid) == 1 and invalid[0].where.record == "Patient/kid"
    assert "birthDate" in invalid[0].message and "SECRET" not in invalid[0].message
    assert results[-1][0] is None
    assert "source.fhir.reference" in codes(results[-1][1])


@pytest.mark.parametrize(("data", "code"), [
    ({"resourceType": "Claim"}, "source.fhir.shape"),
    ({"resourceType": "Bundle"}, "source.fhir.shape"),
    ({"resourceType": "Bundle", "entry": []}, "source.fhir.shape"),
    ({"resourceType": "Bundle", "entry": [{"x": 1}]}, "source.fhir.shape"),
    ([], "source.fhir.shape"),
])
def test_fhir_shape_problems(data: Any, code: str) -> None:
    assert code in codes(_only_problems(iter(read_bundle(data, file="b.json"))))


def test_fhir_file_syntax_and_encoding(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text('{"resourceType": "Bundle", ')
    assert codes(_only_problems(read_encounters(tmp_path / "b.json", "fhir"))) == ["source.fhir.syntax"]
    (tmp_path / "c.json").write_bytes(b'{"resourceType": "Bundle\xff"}')
    assert codes(_only_problems(read_encounters(tmp_path / "c.json", "fhir"))) == ["source.encoding"]
    # valid JSON that Python will not decode: an integer of 5,000 digits, nesting deeper than the recursion limit
    (tmp_path / "d.json").write_text('{"resourceType": "Bundle", "total": ' + "9" * 5000 + "}")
    (tmp_path / "e.json").write_text('{"resourceType": "Bundle", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for name in ("d.json", "e.json"):
        assert codes(_only_problems(read_encounters(tmp_path / name, "fhir"))) == ["source.fhir.syntax"]


def test_json_values_python_will_not_decode_are_problems(tmp_path: Path) -> None:
    """An integer longer than Python converts (4,300 digits) or nesting deeper than its recursion limit is
    valid JSON; each is reported as a problem of its line or item, never a traceback, and an NDJSON file goes
    on with its next line."""
    huge, deep = "9" * 5000, "[" * 100_000 + "]" * 100_000
    good = json.dumps(professional())
    (tmp_path / "a.ndjson").write_text("\n".join(['{"id": ' + huge + "}", '{"note": ' + deep + "}", good]) + "\n")
    results = list(read_encounters(tmp_path / "a.ndjson", "ndjson"))
    assert [[(p.code, p.where.record) for p in ps] for _, ps in results] == [
        [("source.json.syntax", "line 1")], [("source.json.syntax", "line 2")], []]
    assert results[2][0] is not None
    for i, bad in enumerate(('{"id": ' + huge + "}", '{"note": ' + deep + "}")):
        (tmp_path / f"{i}.json").write_text(f"[{good}, {bad}]")
        results = list(read_encounters(tmp_path / f"{i}.json", "json"))
        assert results[0][0] is not None
        assert [(p.code, p.where.record) for p in results[1][1]] == [("source.json.syntax", "item 2")]


def test_fhir_sample_institutional_mapping() -> None:
    encs = {enc.id: enc for enc, _ in read_encounters(ENCOUNTER_SAMPLES / "fhir-bundle.json")}
    inpatient = encs["ENC-I-0002"]
    assert inpatient.bill_type == "111" and inpatient.admission is not None
    assert inpatient.admission.hour == "1430" and inpatient.discharge_hour == "1100"
    assert inpatient.admitting_diagnosis == "R10.31" and inpatient.diagnoses[0].poa == "Y"
    assert inpatient.principal_procedure is not None and inpatient.principal_procedure.code == "0DTJ4ZZ"
    assert all(ln.procedure is None for ln in inpatient.lines)  # revenue-code-only lines
    assert encs["ENC-I-0001"].reason_for_visit == ("R07.9",)
    assert encs["ENC-P-0005"].frequency == "8"


def test_fhir_institutional_items_may_name_their_diagnoses() -> None:
    """FHIR Claims commonly give every item a diagnosisSequence; an 837I line points at no diagnosis, so an
    institutional item's sequences are checked but not carried (the claim was refused at write time)."""
    bundle = json.loads((ENCOUNTER_SAMPLES / "fhir-bundle.json").read_text())
    claim = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == "claim-enc-i-0001")
    for item in claim["item"]:
        item["diagnosisSequence"] = [1]
    encs = {enc.id: (enc, problems) for enc, problems in read_bundle(bundle, file="b.json") if enc is not None}
    enc, problems = encs["ENC-I-0001"]
    assert problems == [] and all(ln.diagnosis_pointers == () for ln in enc.lines)
    claims, problems = build_claims(iter([(enc, [])]), sample_config(), today=TODAY)
    assert len(claims) == 1 and not [p for p in problems if p.is_error]


def test_bundle_copy_is_not_mutated_by_reading() -> None:
    b = _bundle()
    before = copy.deepcopy(b)
    _fhir(b)
    assert b == before
