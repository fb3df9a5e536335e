"""The msgspec fast path of NDJSON lines (``mappings.decode``) gives exactly what the parser gives.

For every line it takes, ``encounter_from_json_line`` must return the ``Encounter`` (equal, field for field) and
the problems (code, severity, where, message) that ``json`` plus ``encounter_from_dict`` return; every other line
it leaves to the parser. Checked on the samples, the benchmark's and the demo's generators, normalisation cases
it is meant to take, and hypothesis-mutated encounters: wrong types, missing fields, unknown keys, text outside
ASCII, numbers as strings and strings as numbers.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapping_helpers import ENCOUNTER_SAMPLES, SAMPLES, institutional, professional

from benchmarks.claims import write_encounters
from edi.problems import Problem
from mappings import encounter as parser
from mappings.decode import (
    AddressJSON,
    AdmissionJSON,
    CodeAmountJSON,
    CodeOnDateJSON,
    CodeSpanJSON,
    CoverageJSON,
    DiagnosisJSON,
    EncounterJSON,
    LineJSON,
    PatientJSON,
    ProviderJSON,
    SubscriberJSON,
    encounter_from_json_line,
)
from mappings.sources.json_source import ndjson_line, parse_line

FILE = "encounters.ndjson"
N = 7  # the line number given to both paths (not 1, whose byte order mark only ndjson_line removes)


def problem_rows(problems: list[Problem]) -> list[tuple]:
    return [(p.code, p.severity, p.where, p.message) for p in problems]


def same_on_both_paths(raw: bytes) -> bool:
    """Asserts that the fast path, when it takes ``raw``, gives what the parser gives, and that ``ndjson_line``
    does too; True when the fast path took the line."""
    old = parse_line(raw, N, FILE)
    assert ndjson_line(raw, N, FILE) == old
    fast = encounter_from_json_line(raw, FILE)
    if fast is None:
        return False
    assert old is not None
    assert fast[0] == old[0]
    assert problem_rows(fast[1]) == problem_rows(old[1])
    return True


def line(d: Any, *, ensure_ascii: bool = True) -> bytes:
    return json.dumps(d, ensure_ascii=ensure_ascii).encode("utf-8") + b"\n"


# -- the encounters of the samples and the generators ---------------------------------------------------------


def sample_lines() -> Iterator[bytes]:
    """Every JSON and NDJSON file under samples/: NDJSON line by line, a JSON array item by item, any other JSON
    document (the FHIR bundle) as one line."""
    for path in sorted(SAMPLES.rglob("*.ndjson")):
        yield from (raw for raw in path.read_bytes().splitlines(keepends=True) if raw.strip())
    for path in sorted(SAMPLES.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        yield from (line(d) for d in data) if isinstance(data, list) else [line(data)]


def demo_encounters(n: int) -> list[dict[str, Any]]:
    """The demo's synthetic encounters, wherever the demo lives now; else the benchmark generator's."""
    for module in ("edi.demo", "mappings.demo", "cli.demo"):
        try:
            return list(importlib.import_module(module).synthetic_encounters(n))
        except (ImportError, AttributeError):
            continue
    return []


def test_the_samples_read_the_same_and_take_the_fast_path() -> None:
    raws = list(sample_lines())
    assert len(raws) > 16
    taken = [same_on_both_paths(raw) for raw in raws]
    assert taken.count(False) == 1  # every sample encounter; the FHIR bundle is the parser's


def test_the_benchmark_encounters_read_the_same_and_take_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "encounters.ndjson"
    write_encounters(path, 400, seed=5)
    assert all(same_on_both_paths(raw) for raw in path.read_bytes().splitlines(keepends=True))


def test_the_demo_encounters_read_the_same_and_take_the_fast_path(tmp_path: Path) -> None:
    dicts = demo_encounters(400)
    if not dicts:  # the demo moved out of reach: the benchmark generator, another seed
        path = tmp_path / "encounters.ndjson"
        write_encounters(path, 400, seed=23)
        raws = path.read_bytes().splitlines(keepends=True)
    else:
        raws = [line(d) for d in dicts]
    assert all(same_on_both_paths(raw) for raw in raws)


# -- what the fast path takes, and what it leaves ---------------------------------------------------------------


def _set(d: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``d`` with the value at ``path`` (``subscriber.address.zip``, ``lines.0.units``) replaced."""
    *parents, last = path.split(".")
    node: Any = d
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return d


TAKEN = [  # normalisations the parser does that the fast path reproduces
    ("subscriber.address.zip", "62701-0001"), ("billing_provider.tax_id", " 99-0000001 "),
    ("billing_provider.entity", "Person"), ("billing_provider.entity", " 2 "),
    ("billing_provider.tax_id_qualifier", "sy"), ("subscriber.sex", " f"), ("diagnoses", ["e11.9 ", " i10"]),
    ("lines.0.modifiers", ["rt", " ", "25"]), ("lines.0.charge", " 12.50 "), ("lines.0.units", "1_0"),
    ("lines.0.procedure", " 99213 "), ("kind", "PROFESSIONAL"), ("lines.0.units", "1e999999999999"),
    ("subscriber.first_name", ""), ("place_of_service", None), ("lines.0.diagnosis_pointers", []),
    ("rendering_provider", None), ("billing_provider.name", "  "), ("payer", "\tacme"), ("note", "A\\B \"C\""),
    ("lines.1.service_date", None),
]


@pytest.mark.parametrize(("path", "value"), TAKEN)
def test_well_formed_variants_take_the_fast_path(path: str, value: Any) -> None:
    d = _set(professional(rendering_provider={"npi": "1245319599", "name": "TESTDOCTOR", "first_name": "JORDAN"}),
             path, value)
    raw = line(d)
    taken = same_on_both_paths(raw)
    # a blank required field is a problem the parser words: those lines are left to it
    assert taken is (path not in ("billing_provider.name",))


INSTITUTIONAL_TAKEN = [
    {}, {"frequency": None, "bill_type": "0117", "payer_claim_number": "SYNICN1"}, {"bill_type": "131"},
    {"admission": {"date": "2025-08-02", "hour": "14:30", "type": "1", "source": "1"}},
    {"admission": {}}, {"admission": {"date": "2025-08-02", "type": "1"}, "discharge_hour": " 0915"},
    {"occurrence_spans": [{"code": "74", "from": "2025-08-02", "to": "2025-08-03"}]},
    {"value_codes": [{"code": "a1", "amount": "12.5"}], "condition_codes": ["d9", ""], "reason_for_visit": []},
    {"occurrence_codes": [{"code": "11", "date": "2025-08-01"}], "other_procedures": [{"code": "0dtj4zz",
                                                                                      "date": "2025-08-02"}]},
    {"patient": {"relationship": "19", "last_name": "TESTCHILD", "first_name": "SAM", "birth_date": "2010-02-03",
                 "sex": "m", "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "il",
                                         "zip": "62701"}}},
    {"service_facility": {"name": "SYNTH ANNEX", "address": {"line1": "2 WAY", "city": "X", "state": "IL",
                                                             "zip": "62701"}}},
    {"operating_provider": {"npi": "1600000008", "last_name": "CUTTER", "first_name": "RIL"},
     "referring_provider": {"npi": "1600000008", "name": "SENDER", "entity": "organization"}},
    {"statement_to": None},  # missing_fields: an error found after the encounter is built
    {"kind": "professional"},  # ditto: place of service, procedures
]


@pytest.mark.parametrize("changes", INSTITUTIONAL_TAKEN)
def test_institutional_variants_take_the_fast_path(changes: dict[str, Any]) -> None:
    assert same_on_both_paths(line(institutional(**changes)))


LEFT = [  # what the parser reads (and reports) on its own
    ("subscriber.last_name", "MÜLLER"), ("note", "caf\u00e9"), ("note", "\u00a0"), ("extra", 1),
    ("subscriber.nickname", "AL"), ("lines.0.charge", 12.5), ("lines.0.charge", 12), ("lines.0.units", "NaN"),
    ("rendering_provider.name", None), ("lines.0.charge", "12,50"), ("billing_provider.npi", 1234567893),
    ("lines.0.diagnosis_pointers", "1:2"), ("lines.0.diagnosis_pointers", ["1"]), ("lines.0.modifiers", "25"),
    ("subscriber.birth_date", "19800101"), ("subscriber.birth_date", "1980-02-30"), ("diagnoses", []),
    ("diagnoses", "E11.9:I10"), ("diagnoses", [""]), ("lines", []), ("lines.0", "99213"), ("kind", "dental"),
    ("billing_provider.last_name", "DUP"), ("billing_provider.entity", "robot"), ("subscriber", None),
    ("billing_provider.tax_id_qualifier", "XX"), ("subscriber.address.zip", " "), ("payer", True),
    ("id", ""), ("subscriber.address", {}), ("lines.0.service_date", 20250303),
]


@pytest.mark.parametrize(("path", "value"), LEFT)
def test_unusual_lines_are_left_to_the_parser(path: str, value: Any) -> None:
    for ensure_ascii in (True, False):
        raw = line(_set(professional(), path, value), ensure_ascii=ensure_ascii)
        assert not same_on_both_paths(raw)


def test_other_lines_are_left_to_the_parser() -> None:
    good = line(professional())
    for raw in (b"\n", b"  \r\n", b"[1, 2]\n", b"{}\n", b"{\"id\": NaN}\n", good[:-5] + b"\n", good + good,
                good.replace(b'"acme"', '"acmé"'.encode()), good.replace(b"\"TESTPERSON\"", b"\"TEST\\u0050ERSON\""),
                b"\xff" + good, b"{\"id\": \"a\"\x01}\n", good.replace(b"}", b"}\x0c", 1)):
        assert not same_on_both_paths(raw)


def test_unknown_keys_are_still_warned_about() -> None:
    found = ndjson_line(line(professional(colour="blue")), N, FILE)
    assert found is not None and found[0] is not None
    assert [(p.code, p.where.element) for p in found[1]] == [("encounter.field.unknown", "colour")]


def test_duplicate_keys_keep_the_last_on_both_paths() -> None:
    good = line(professional())
    assert same_on_both_paths(good.replace(b'{"id": "T-PRO-1"', b'{"id": "OLD", "id": "T-PRO-1"', 1))
    assert same_on_both_paths(good.replace(b'"subscriber": {', b'"subscriber": {"member_id": "A", ', 1))
    assert not same_on_both_paths(good.replace(b'"subscriber": {', b'"subscriber": {"member_id": 5, ', 1))
    assert same_on_both_paths(good.replace(b'{"id": "T-PRO-1"', b'{"kind": "dental", "id": "T-PRO-1"', 1))


def test_the_structs_have_the_parsers_keys() -> None:
    """A key the structs took that the parser does not know would lose its unknown-field warning; one the
    parser knows and the structs do not only sends its lines to the parser."""
    def keys(cls: type[msgspec.Struct]) -> frozenset[str]:
        return frozenset(f.encode_name for f in msgspec.structs.fields(cls))

    assert keys(EncounterJSON) == parser._ENCOUNTER_KEYS
    assert keys(ProviderJSON) == parser._PROVIDER_KEYS
    assert keys(SubscriberJSON) == parser._SUBSCRIBER_KEYS
    assert keys(PatientJSON) == parser._PATIENT_KEYS
    assert keys(AddressJSON) == parser._ADDRESS_KEYS
    assert keys(LineJSON) == parser._LINE_KEYS
    assert keys(AdmissionJSON) == parser._ADMISSION_KEYS
    assert keys(DiagnosisJSON) == {"code", "poa"}
    assert keys(CodeOnDateJSON) == {"code", "date"}
    assert keys(CodeSpanJSON) == {"code", "from", "to"}
    assert keys(CodeAmountJSON) == {"code", "amount"}


# -- hypothesis: mutated encounters ---------------------------------------------------------------------------

TRICKY = ["", " ", " 11 ", "x", "X", "e11.9", "E11.9", "1", "2", "0", "-1", "1.5", "1e3", "-0", "NaN", "-Infinity",
          "sNaN", "1_000", "12.", ".5", "2025-03-14", "20250314", "2025-3-14", "2025-02-30", "2025-W11-5",
          " 2025-03-14", "0000-01-01", "12:30", "1230", "2400", "0960", "12:3", "person", "Organization", "SY", "ei",
          "xx", "25:rt", "1:2", "62701-0001", "99-0000001", "MÜLLER", "JOSÉ", "STRAßE", "ANNA\u202e", "\u00a0X\u00a0",
          "\u3000", "\x1f", 'O"NEIL', "C:\\users", "professional", "INSTITUTIONAL", "dental", "0131", "131", "A\tB"]
ALL_KEYS = sorted(parser._ENCOUNTER_KEYS | parser._PROVIDER_KEYS | parser._SUBSCRIBER_KEYS | parser._LINE_KEYS
                  | parser._ADDRESS_KEYS | parser._ADMISSION_KEYS | {"code", "poa", "from", "to", "amount", "date"})
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(2**63 - 2, 2**64 + 2),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TRICKY),
    st.text(alphabet=st.sampled_from(list("aZ09 -:.é\u00a0ßÆ\u202e\\\"\t")), max_size=8),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.sampled_from([*ALL_KEYS, "extra", "Name"]), SCALARS, max_size=3))


def _bases() -> list[dict[str, Any]]:
    full = institutional(
        occurrence_codes=[{"code": "11", "date": "2025-08-01"}], value_codes=[{"code": "80", "amount": "3"}],
        occurrence_spans=[{"code": "74", "from": "2025-08-02", "to": "2025-08-03"}],
        other_procedures=[{"code": "0DTJ4ZZ", "date": "2025-08-02"}], condition_codes=["D9"],
        reason_for_visit=["R10.31"], operating_provider={"npi": "1600000008", "last_name": "CUTTER"},
        service_facility={"name": "ANNEX", "address": {"line1": "2 WAY", "city": "X", "state": "IL", "zip": "1"}},
        patient={"relationship": "19", "last_name": "KID", "first_name": "SAM", "birth_date": "2010-02-03",
                 "sex": "M", "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL",
                                         "zip": "62701"}},
        note="NOTE", prior_authorization="PA1", referral_number="RF1", medical_record_number="MR1",
        onset_date="2025-07-30", discharge_hour="1015", payer_claim_number="ICN1", frequency="1")
    samples = json.loads((ENCOUNTER_SAMPLES / "encounters.json").read_text(encoding="utf-8"))
    return [professional(), institutional(), full, *samples]


BASES = _bases()


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path (keys and list indexes) to a value inside ``node``."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_lines(draw: st.DrawFn, bases: list[dict[str, Any]] = BASES) -> bytes:
    d = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from([(), *_paths(d)]))
        parent: Any = d
        for key in path[:-1]:
            parent = parent[key]
        target = parent[path[-1]] if path else d
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        if action == "add" and isinstance(target, dict):
            target[draw(st.sampled_from([*ALL_KEYS, "extra", "Name"]))] = draw(VALUES)
        elif action == "add" and isinstance(target, list):
            target.append(draw(VALUES))
        elif path and action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif path:
            parent[path[-1]] = draw(VALUES)
    raw = json.dumps(d, ensure_ascii=draw(st.booleans())).encode("utf-8")
    return raw + draw(st.sampled_from([b"\n", b"\r\n", b"", b"  \n"]))


ASCII_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=10)


@st.composite
def respelled_lines(draw: st.DrawFn, bases: list[dict[str, Any]] = BASES) -> bytes:
    """Well-formed encounters, their strings respelled (padded, in another case), and maybe one of them blank
    or other ASCII text."""
    d = copy.deepcopy(draw(st.sampled_from(bases)))
    paths = [p for p in _paths(d) if isinstance(_get(d, p), str)]
    for path in paths:
        value = _get(d, path)
        change = draw(st.sampled_from(["keep", "keep", "pad", "lower", "upper"]))
        if change == "pad":
            value = draw(st.sampled_from([" ", "\t", "  "])) + value + draw(st.sampled_from(["", " ", "\n"]))
        elif change != "keep":
            value = value.lower() if change == "lower" else value.upper()
        _get(d, path[:-1])[path[-1]] = value
    if draw(st.booleans()):
        path = draw(st.sampled_from(paths))
        _get(d, path[:-1])[path[-1]] = draw(st.sampled_from(["", " "]) | ASCII_TEXT)
    return line(d)


def _get(d: Any, path: tuple) -> Any:
    for key in path:
        d = d[key]
    return d


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines())
def test_mutated_encounters_read_the_same_on_both_paths(raw: bytes) -> None:
    same_on_both_paths(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(respelled_lines())
def test_respelled_encounters_read_the_same_on_both_paths(raw: bytes) -> None:
    same_on_both_paths(raw)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(BASES), st.sampled_from(sorted(parser._ENCOUNTER_KEYS)), SCALARS)
def test_any_top_level_value_reads_the_same_on_both_paths(base: dict[str, Any], key: str, value: Any) -> None:
    same_on_both_paths(line({**base, key: value}, ensure_ascii=False))


# -- encounters with several coverages ------------------------------------------------------------------------

_SELF = {"member_id": "SYNM01", "last_name": "TESTPERSON", "first_name": "ALEX", "birth_date": "1980-01-01",
         "sex": "F", "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL", "zip": "62701"}}
_SPOUSE = {"member_id": "SYNB77", "last_name": "TESTSPOUSE", "first_name": "ROBIN", "group_number": "SYNGRP200"}
_KID = {"last_name": "TESTKID", "first_name": "SAM", "birth_date": "2016-01-01", "sex": "M",
        "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL", "zip": "62701"}}


def with_coverages(base: dict[str, Any] | None = None, *coverages: tuple[str, str, dict[str, Any]],
                   **changes: Any) -> dict[str, Any]:
    """``base`` (the professional encounter) in the list form: its payer and subscriber replaced by
    ``coverages`` (payer, relationship, subscriber), then ``changes``."""
    d = copy.deepcopy(base if base is not None else professional())
    del d["payer"], d["subscriber"]
    d["coverages"] = [{"payer": payer, "relationship": rel, "subscriber": copy.deepcopy(sub)}
                      for payer, rel, sub in coverages or (("acme", "18", _SELF), ("blueplan", "01", _SPOUSE))]
    d.update(copy.deepcopy(changes))
    return d


COVERAGES_TAKEN = [
    with_coverages(),
    with_coverages(None, ("acme", "18", _SELF)),
    with_coverages(payer="acme", subscriber=_SELF),  # both forms, agreeing
    with_coverages(None, ("acme", "19", _SELF), ("blueplan", "19", _SPOUSE), patient=_KID),
    with_coverages(None, ("acme", "g8", _SELF), ("blueplan", "01", _SPOUSE), patient={**_KID, "relationship": "G8"}),
    with_coverages(None, ("medicare_b", "18", _SELF), ("acme", "18", _SELF), ("medicaid", " 18 ", _SPOUSE)),
    with_coverages(None, ("acme", "18", {**_SELF, "sex": None}), ("blueplan", "01", _SPOUSE)),  # missing_fields
    with_coverages(None, ("acme", "01", _SELF), ("blueplan", "01", _SPOUSE), patient={**_KID, "sex": "f"},
                   payer=" acme "),
    with_coverages(institutional(), ("medicare_a", "18", _SELF), ("acme", "18", {"member_id": "SYNM02",
                                                                                 "last_name": "TESTPERSON"})),
]


@pytest.mark.parametrize("d", COVERAGES_TAKEN)
def test_coverages_take_the_fast_path(d: dict[str, Any]) -> None:
    assert same_on_both_paths(line(d))


COVERAGES_LEFT = [
    with_coverages(coverages=[]),
    with_coverages(coverages="acme"),
    with_coverages(coverages=["acme"]),
    with_coverages(payer="blueplan"),
    with_coverages(subscriber={**_SELF, "member_id": "SYNM02"}),
    with_coverages(subscriber={}),
    with_coverages(patient=_KID),
    with_coverages(None, ("acme", "19", _SELF)),
    with_coverages(None, ("acme", "19", _SELF), patient={**_KID, "relationship": "01"}),
    with_coverages(None, ("acme", "19", _SELF), patient={**_KID, "address": None}),
    with_coverages(None, ("acme", "", _SELF)),
    with_coverages(None, (" ", "18", _SELF)),
    with_coverages(None, ("acme", "18", {**_SELF, "member_id": None})),
    with_coverages(None, ("acme", "18", {**_SELF, "plan": "GOLD"})),
    with_coverages(coverages=[{"payer": "acme", "relationship": "18"}]),
    with_coverages(coverages=[{"payer": "acme", "relationship": "18", "subscriber": _SELF, "order": 1}]),
    with_coverages(coverages=[{"payer": "acme", "relationship": 18, "subscriber": _SELF}]),
]


@pytest.mark.parametrize("d", COVERAGES_LEFT)
def test_unusual_coverages_are_left_to_the_parser(d: dict[str, Any]) -> None:
    assert not same_on_both_paths(line(d))


def test_the_coverage_struct_has_the_parsers_keys() -> None:
    assert frozenset(f.encode_name for f in msgspec.structs.fields(CoverageJSON)) == parser._COVERAGE_KEYS


COVERAGE_BASES = [with_coverages(), COVERAGES_TAKEN[3], COVERAGES_TAKEN[5], COVERAGES_TAKEN[8],
                  with_coverages(payer="acme", subscriber=_SELF)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_lines(COVERAGE_BASES))
def test_mutated_coverages_read_the_same_on_both_paths(raw: bytes) -> None:
    same_on_both_paths(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(respelled_lines(COVERAGE_BASES))
def test_respelled_coverages_read_the_same_on_both_paths(raw: bytes) -> None:
    same_on_both_paths(raw)
