"""Mappings, the layer above the ``edi`` library: coded encounters (JSON, NDJSON, CSV, FHIR R4) to checked
``Claim``s, the edi.toml configuration, and the claims build that turns encounters into 837 files recorded in the
ledger, through ``edi``'s public modules (``edi.x837`` writes the claims, ``edi.ledger.Ledger`` records them).
``edi`` never imports this package.

    config = load_config("edi.toml")
    claims, problems = build_claims(read_encounters("encounters.csv"), config, today=date.today())

Modules: ``encounter`` (the canonical ``Encounter`` and its dict form), ``sources`` (readers and format
detection), ``config`` (edi.toml), ``codesets`` (ICD-10-CM, NPI, POS, code shapes), ``checks`` (every check
and its problem code), ``claims`` (``Encounter`` -> ``Claim``: the one loop ``build_claims``, ``iter_claims``
and the build share), ``build`` (the claims build, as named stages: ``build_files``), ``exchange`` (submitting
and fetching through a clearinghouse), ``demo`` (``edi demo``). ``build``, ``exchange`` and ``demo`` use the
ledger and are not imported here: ``import mappings`` stays free of the database.
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
