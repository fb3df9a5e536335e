"""Mappings: coded encounters (JSON, NDJSON, CSV, FHIR R4) to checked ``Claim``s, and the edi.toml
configuration. No X12 here: ``edi.x837`` writes the claims.

    config = load_config("edi.toml")
    claims, problems = build_claims(read_encounters("encounters.csv"), config, today=date.today())

Modules: ``encounter`` (the canonical ``Encounter`` and its dict form), ``sources`` (readers and format
detection), ``config`` (edi.toml), ``codesets`` (ICD-10-CM, NPI, POS, code shapes), ``checks`` (every check
and its problem code), ``claims`` (``Encounter`` -> ``Claim``).
"""

from mappings.claims import build_claims, encounter_to_claim, iter_claims
from mappings.config import Config, ConfigError, load_config, parse_config, starter_toml
from mappings.encounter import Encounter, encounter_from_dict
from mappings.sources import detect_format, read_encounters

__all__ = [
    "Config",
    "ConfigError",
    "Encounter",
    "build_claims",
    "detect_format",
    "encounter_from_dict",
    "encounter_to_claim",
    "iter_claims",
    "load_config",
    "parse_config",
    "read_encounters",
    "starter_toml",
]
