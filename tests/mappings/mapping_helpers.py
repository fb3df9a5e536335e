"""Small builders for mapping tests: valid encounter dicts to break one field at a time."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from edi.model import Claim
from edi.problems import Problem
from mappings.claims import build_claims
from mappings.config import Config, load_config
from mappings.encounter import encounter_from_dict

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
ENCOUNTER_SAMPLES = SAMPLES / "encounters"
TODAY = date(2025, 12, 31)

SAMPLE_IDS = ["ENC-P-0001", "ENC-P-0002", "ENC-P-0003", "ENC-P-0004", "ENC-P-0005", "ENC-I-0001", "ENC-I-0002",
              "ENC-I-0003"]

_CLINIC = {"npi": "1234567893", "name": "SYNTH FAMILY CLINIC", "tax_id": "990000001", "taxonomy": "207Q00000X",
           "address": {"line1": "100 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "zip": "627010001"}}
_HOSPITAL = {"npi": "1500000009", "name": "SYNTH COMMUNITY HOSPITAL", "tax_id": "990000003",
             "address": {"line1": "300 EXAMPLE BOULEVARD", "city": "SPRINGFIELD", "state": "IL",
                         "zip": "627030003"}}
_SUBSCRIBER = {"member_id": "SYNM00000999", "last_name": "TESTPERSON", "first_name": "ALEX",
               "birth_date": "1980-01-01", "sex": "F",
               "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL", "zip": "62701"}}

PROFESSIONAL: dict[str, Any] = {
    "id": "T-PRO-1", "kind": "professional", "payer": "acme",
    "billing_provider": _CLINIC,
    "rendering_provider": {"npi": "1245319599", "name": "TESTDOCTOR", "first_name": "JORDAN"},
    "subscriber": _SUBSCRIBER,
    "place_of_service": "11",
    "diagnoses": ["E11.9", "I10"],
    "lines": [
        {"procedure": "99213", "modifiers": ["25"], "charge": "100.00", "units": "1", "diagnosis_pointers": [1, 2],
         "service_date": "2025-03-03"},
        {"procedure": "83036", "charge": "40.00", "units": "1", "diagnosis_pointers": [1],
         "service_date": "2025-03-03"},
    ],
}

INSTITUTIONAL: dict[str, Any] = {
    "id": "T-INST-1", "kind": "institutional", "payer": "medicare_a",
    "billing_provider": _HOSPITAL,
    "attending_provider": {"npi": "1600000008", "name": "EXAMPLEATTEND", "first_name": "RILEY"},
    "subscriber": _SUBSCRIBER,
    "bill_type": "0111", "statement_from": "2025-08-02", "statement_to": "2025-08-05",
    "admission": {"date": "2025-08-02", "hour": "1430", "type": "1", "source": "1"},
    "discharge_status": "01",
    "diagnoses": [{"code": "K35.80", "poa": "Y"}, "E11.9"],
    "admitting_diagnosis": "R10.31",
    "principal_procedure": {"code": "0DTJ4ZZ", "date": "2025-08-02"},
    "lines": [
        {"revenue_code": "0120", "charge": "3600.00", "units": "3", "service_date": "2025-08-02",
         "service_date_end": "2025-08-04"},
        {"revenue_code": "0300", "procedure": "80053", "charge": "150.25", "units": "1",
         "service_date": "2025-08-03"},
    ],
}


def professional(id: str = "T-PRO-1", **changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(PROFESSIONAL)
    d["id"] = id
    d.update(copy.deepcopy(changes))
    return d


def institutional(id: str = "T-INST-1", **changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(INSTITUTIONAL)
    d["id"] = id
    d.update(copy.deepcopy(changes))
    return d


@lru_cache(maxsize=1)
def sample_config() -> Config:
    return load_config(SAMPLES / "edi.toml")


def parse_all(dicts: Iterable[dict[str, Any]], file: str = "test.json") -> list:
    return [encounter_from_dict(d, file=file, record=f"item {n}") for n, d in enumerate(dicts, 1)]


def build(dicts: Iterable[dict[str, Any]], **kwargs: Any) -> tuple[list[Claim], list[Problem]]:
    kwargs.setdefault("today", TODAY)
    return build_claims(parse_all(dicts), sample_config(), **kwargs)


def codes(problems: Iterable[Problem]) -> list[str]:
    return [p.code for p in problems]


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]
