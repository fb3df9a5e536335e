"""Code sets and code shapes: ICD-10-CM, NPI, CPT/HCPCS, modifiers, place of service and small X12 code lists.

Pure functions over strings; nothing here knows encounters or problems (``mappings.checks`` does).

Sources:

- ICD-10-CM: ``simple_icd_10_cm`` (MIT, bundles the CDC/NCHS April 2026 release): its flat code list is read
  on first use (milliseconds; importing the package takes about two seconds). Billable means the code exists
  and is a leaf of the classification (a category or subcategory with no children).
- NPI check digit: CMS "Requirements for NPI check digit": Luhn mod 10 computed as if the card-issuer prefix
  80840 were present (which adds the constant 24).
- Place of service: the CMS Place of Service Code Set (cms.gov/medicare/coding/place-of-service-codes,
  public domain), 52 codes as republished by HL7 Terminology (CodeSystem version 20240502) and as listed in
  pyx12 4.0.0 ``map/codes.xml`` (codeset ``pos``). Names are abbreviated.
- Claim filing indicator (SBR09), patient relationship (PAT01) and ISA05/ISA07 qualifiers: X12 5010 code
  values as encoded in the pyx12 4.0.0 maps.
- CPT (AMA) and NUBC codes (revenue codes, bill types, condition/occurrence/value codes) are licensed: only
  their *shape* is checked here, never their existence.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from functools import lru_cache
from pathlib import Path

from edi.x837.formats import FILING_INDICATORS as FILING_INDICATORS  # re-exported: the 837 writer's lists
from edi.x837.formats import PATIENT_RELATIONSHIPS as PATIENT_RELATIONSHIPS
from edi.x837.formats import RESPONSIBILITY as RESPONSIBILITY

# -- ICD-10-CM ------------------------------------------------------------------------------------------------

_ICD10CM_SHAPE = re.compile(r"[A-Z][0-9][0-9A-Z](?:[0-9A-Z]{1,4})?")
_icd_tables_cache: tuple[frozenset[str], frozenset[str]] | None = None


def _icd_tables() -> tuple[frozenset[str], frozenset[str]]:
    """(every code, the billable codes), without dots, read on first use.

    ``simple_icd_10_cm`` builds a node per code from its XML on import (about two seconds); the code list it
    ships beside it (``data/code-list-*.txt``: chapters, blocks, then every category and subcategory in
    tabular order, each followed by its children) says all we need in a few milliseconds: a code is billable
    when the next code does not extend it. When that file cannot be found, the package itself answers."""
    global _icd_tables_cache
    if _icd_tables_cache is None:
        lines = _icd_code_list()
        if lines is None:
            _icd_tables_cache = _icd_tables_from_package()
        else:
            codes = [c for c in lines if c and not c.isdigit() and "-" not in c]  # no chapters, no blocks
            # a block named like its only category ("C7A", "D49") is listed twice: keep the category
            codes = [c for c, nxt in zip(codes, [*codes[1:], ""], strict=True) if c != nxt]
            billable = {c for c, nxt in zip(codes, [*codes[1:], ""], strict=True)
                        if not (len(nxt) > len(c) and nxt.startswith(c))}
            _icd_tables_cache = frozenset(codes), frozenset(billable)
    return _icd_tables_cache


def _icd_code_list() -> list[str] | None:
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("data/code-list-*.txt"))
    if not found:
        return None
    return found[-1].read_text(encoding="utf-8").split()


def _icd_tables_from_package() -> tuple[frozenset[str], frozenset[str]]:
    with warnings.catch_warnings():  # it loads its data with deprecated importlib.resources calls
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd
    codes = [c.replace(".", "") for c in icd.get_all_codes(with_dots=False) if icd.is_category(c)
             or icd.is_subcategory(c)]
    return frozenset(codes), frozenset(c for c in codes if icd.is_leaf(c))


def normalize_icd10(code: str) -> str:
    """A code as coders write it (``e11.9``, ``E11.9``, ``E119``) as sent in HI: upper case, no dot."""
    return code.strip().upper().replace(".", "")


@lru_cache(maxsize=65536)
def icd10cm_status(code: str) -> str:
    """``"billable"``, ``"header"`` (exists but has children: not billable), ``"unknown"`` (well formed but not
    in the code set) or ``"malformed"``. ``code`` may be written with or without the dot."""
    written = code.strip().upper()
    if "." in written and written.index(".") != 3:
        return "malformed"
    norm = written.replace(".", "", 1)
    if _ICD10CM_SHAPE.fullmatch(norm) is None:
        return "malformed"
    codes, billable = _icd_tables()
    if norm not in codes:
        return "unknown"
    return "billable" if norm in billable else "header"


# ICD-10-PCS (837I principal and other procedures, BBR/BBQ): 7 characters, digits and letters except I and O.
_ICD10PCS_SHAPE = re.compile(r"[0-9A-HJ-NP-Z]{7}")


def icd10pcs_shape_ok(code: str) -> bool:
    return _ICD10PCS_SHAPE.fullmatch(code) is not None


# -- NPI ------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)  # a batch names few providers, each on many claims
def npi_check_digit(first9: str) -> int:
    """The check digit for the first nine digits of an NPI (Luhn with the 80840 prefix, i.e. +24)."""
    total = 24
    for i, ch in enumerate(reversed(first9)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
        total += d // 10 + d % 10
    return (10 - total % 10) % 10


def npi_shape_ok(npi: str) -> bool:
    """Ten digits starting with 1 or 2."""
    return len(npi) == 10 and npi.isascii() and npi.isdigit() and npi[0] in "12"


def npi_is_valid(npi: str) -> bool:
    """Shape and check digit. (A valid check digit does not mean NPPES issued the number.)"""
    return npi_shape_ok(npi) and npi_check_digit(npi[:9]) == int(npi[9])


# -- procedures and modifiers ---------------------------------------------------------------------------------

# CPT Category I: 5 digits. Category II (F), Category III (T), proprietary laboratory analyses (U) and
# multianalyte assays (M): 4 digits and a letter. HCPCS Level II: a section letter and 4 digits (D codes are
# CDT, also valid under HC).
_PROCEDURE_SHAPE = re.compile(r"[0-9]{5}|[0-9]{4}[FTUM]|[ABCDEGHJKLMPQRSTUV][0-9]{4}")
_MODIFIER_SHAPE = re.compile(r"[A-Z0-9]{2}")


def procedure_shape_ok(code: str) -> bool:
    return _PROCEDURE_SHAPE.fullmatch(code) is not None


def modifier_shape_ok(code: str) -> bool:
    return _MODIFIER_SHAPE.fullmatch(code) is not None


# -- NUBC shapes (837I) ---------------------------------------------------------------------------------------

_REVENUE_SHAPE = re.compile(r"[0-9]{3,4}")


def normalize_revenue_code(code: str) -> str:
    """NUBC revenue codes are 4 digits; coders often drop the leading zero (``450`` for ``0450``)."""
    return "0" + code if len(code) == 3 else code


def revenue_code_shape_ok(code: str) -> bool:
    return _REVENUE_SHAPE.fullmatch(code) is not None


_BILL_TYPE_SHAPE = re.compile(r"0?[1-9][0-9][0-9A-Z]")


def bill_type_shape_ok(code: str) -> bool:
    """A UB-04 type of bill: 3 characters (facility type, classification, frequency), with or without the
    leading zero of the 4-character form (``131`` or ``0131``)."""
    return _BILL_TYPE_SHAPE.fullmatch(code) is not None


def facility_type(bill_type: str) -> str:
    """The first two characters of the type of bill without the leading zero (CLM05-1 of an 837I)."""
    bt = bill_type[1:] if len(bill_type) == 4 else bill_type
    return bt[:2]


def bill_type_frequency(bill_type: str) -> str:
    return bill_type[-1]


# -- provider taxonomy (NUCC) ---------------------------------------------------------------------------------

_TAXONOMY_SHAPE = re.compile(r"[0-9]{3}[0-9A-Z]{6}X")


def taxonomy_shape_ok(code: str) -> bool:
    """NUCC provider taxonomy: 10 characters ending in X (``207Q00000X``)."""
    return _TAXONOMY_SHAPE.fullmatch(code) is not None


# -- place of service (CMS) -----------------------------------------------------------------------------------

PLACE_OF_SERVICE: dict[str, str] = {
    "01": "Pharmacy",
    "02": "Telehealth provided other than in patient's home",
    "03": "School",
    "04": "Homeless shelter",
    "05": "Indian Health Service free-standing facility",
    "06": "Indian Health Service provider-based facility",
    "07": "Tribal 638 free-standing facility",
    "08": "Tribal 638 provider-based facility",
    "09": "Prison/correctional facility",
    "10": "Telehealth provided in patient's home",
    "11": "Office",
    "12": "Home",
    "13": "Assisted living facility",
    "14": "Group home",
    "15": "Mobile unit",
    "16": "Temporary lodging",
    "17": "Walk-in retail health clinic",
    "18": "Place of employment/worksite",
    "19": "Off campus - outpatient hospital",
    "20": "Urgent care facility",
    "21": "Inpatient hospital",
    "22": "On campus - outpatient hospital",
    "23": "Emergency room - hospital",
    "24": "Ambulatory surgical center",
    "25": "Birthing center",
    "26": "Military treatment facility",
    "27": "Outreach site/street",
    "31": "Skilled nursing facility",
    "32": "Nursing facility",
    "33": "Custodial care facility",
    "34": "Hospice",
    "41": "Ambulance - land",
    "42": "Ambulance - air or water",
    "49": "Independent clinic",
    "50": "Federally qualified health center",
    "51": "Inpatient psychiatric facility",
    "52": "Psychiatric facility - partial hospitalization",
    "53": "Community mental health center",
    "54": "Intermediate care facility/individuals with intellectual disabilities",
    "55": "Residential substance abuse treatment facility",
    "56": "Psychiatric residential treatment center",
    "57": "Non-residential substance abuse treatment facility",
    "58": "Non-residential opioid treatment facility",
    "60": "Mass immunization center",
    "61": "Comprehensive inpatient rehabilitation facility",
    "62": "Comprehensive outpatient rehabilitation facility",
    "65": "End-stage renal disease treatment facility",
    "66": "Programs of All-Inclusive Care for the Elderly (PACE) center",
    "71": "Public health clinic",
    "72": "Rural health clinic",
    "81": "Independent laboratory",
    "99": "Other place of service",
}

# -- small X12 code lists -------------------------------------------------------------------------------------

# SBR09 filing indicators, PAT01 relationships and SBR01 responsibilities are the 837 writer's lists
# (edi.x837.formats), imported above.


# ISA05 / ISA07 interchange id qualifiers.
ISA_QUALIFIERS: dict[str, str] = {
    "01": "Duns (Dun & Bradstreet)",
    "14": "Duns plus suffix",
    "20": "Health Industry Number (HIN)",
    "27": "Carrier identification number (CMS)",
    "28": "Fiscal intermediary identification number (CMS)",
    "29": "Medicare provider and supplier identification number (CMS)",
    "30": "U.S. federal tax identification number",
    "33": "National Association of Insurance Commissioners company code (NAIC)",
    "ZZ": "Mutually defined",
}


# N402 states: the 50 states, DC, territories and armed forces codes (USPS).
US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "FM",
    "MH", "PW", "AA", "AE", "AP",
})

SEXES = frozenset({"F", "M", "U"})

# Claim frequency (CLM05-3) values this project writes.
FREQUENCIES: dict[str, str] = {"1": "original", "7": "replacement of prior claim", "8": "void of prior claim"}

# Present-on-admission indicators (837I HI0n-9).
POA_INDICATORS = frozenset({"Y", "N", "U", "W"})

# Characters that may not appear in any value written into an X12 file: the element, component, repetition
# separators and segment terminator edi writes with (* : ^ ~), and line breaks.
X12_DELIMITERS = frozenset("*~:^\r\n")
#: A character no value written into an 837 may hold: what the X12 writer refuses with edi's delimiters
#: (``edi.x12.writer.forbidden_characters``: the delimiters, control characters, Unicode line separators and
#: lone surrogates; mappings stays out of the X12 layer, and tests/mappings/test_codesets.py proves the two
#: agree). Encounter values and edi.toml values are both checked against it, before anything is written.
UNWRITABLE_TEXT = re.compile("[*~:^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
