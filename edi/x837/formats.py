"""What the 837 writer and reader agree on: versions, provider loops, and how amounts and dates are written.

Amounts follow the X12 ``R`` type (digest 1.6): a decimal point only when there are decimals, no trailing
zeros after it, no leading ``+``, a leading ``-`` for negatives; HIPAA caps money at 99999999.99. Dates are
``D8`` (CCYYMMDD) or ``RD8`` (CCYYMMDD-CCYYMMDD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from edi.model import Address, ClaimKind, fast_new

#: GS08 / ST03 of the transactions the writer produces.
VERSIONS: dict[ClaimKind, str] = {"professional": "005010X222A1", "institutional": "005010X223A2"}

#: The implementation guide named in GS08 / ST03 (5010 and 4010) -> what it carries.
_GUIDES = {"X222": "professional", "X098": "professional", "X223": "institutional", "X096": "institutional",
           "X224": "dental", "X097": "dental"}

MAX_MONEY = Decimal("99999999.99")
CENT = Decimal("0.01")
_D8 = re.compile(r"\d{8}\Z")


def kind_of_version(version: str) -> str | None:
    """``professional``, ``institutional`` or ``dental`` from a GS08 / ST03 value; None when unknown."""
    for guide, kind in _GUIDES.items():
        if guide in version:
            return kind
    return None


def decimal_text(value: Decimal) -> str:
    """An X12 ``R`` value: ``100``, ``12.5``, ``-3.25``, never ``100.00`` or ``+1``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def money_problem(value: Decimal) -> str | None:
    """Why ``value`` cannot be written as an 837 amount, or None when it can."""
    if not value.is_finite():
        return "is not a number"
    if value < 0:
        return "is negative (corrections are made by replacement or void, not negative amounts)"
    if value > MAX_MONEY:
        return f"exceeds {MAX_MONEY}, the largest amount HIPAA allows"
    if value != value.quantize(CENT):
        return "has more than two decimals"
    return None


#: (minimum, maximum) characters of the 837 elements free text goes into (X12 5010): a longer value makes the
#: whole transaction set fail the receiver's syntax check.
NAME_LENGTH, FIRST_NAME_LENGTH, MIDDLE_NAME_LENGTH = (1, 60), (1, 35), (1, 25)  # NM103, NM104, NM105
ID_LENGTH = (2, 80)  # NM109
ADDRESS_LINE_LENGTH, CITY_LENGTH = (1, 55), (2, 30)  # N301 / N302, N401
GROUP_NUMBER_LENGTH, GROUP_NAME_LENGTH = (1, 50), (1, 60)  # SBR03, SBR04
REF_LENGTH = (1, 50)  # REF02
TEXT_LENGTH = (1, 80)  # NTE02, SV101-7 / SV202-7 descriptions

#: SV103 / SV204 unit basis each claim kind may carry (UN units; MJ minutes on 837P, DA days on 837I).
UNIT_BASES: dict[str, frozenset[str]] = {"professional": frozenset({"UN", "MJ"}),
                                         "institutional": frozenset({"UN", "DA"})}


def quantity_problem(value: Decimal) -> str | None:
    """Why ``value`` cannot be written as a unit count (SV104 / SV205), or None when it can."""
    if not value.is_finite() or value < 0:
        return "is negative or not a number"
    if value and value.adjusted() > 7:  # before quantize(), which fails on a value as large as 1E+30
        return "has more than eight digits"
    if value != value.quantize(Decimal("0.001")):
        return "has more than three decimals"
    if len(decimal_text(value).replace(".", "")) > 8:
        return "has more than eight digits"
    return None


# -- code lists the 837 writer checks (X12 5010 values, as encoded in the pyx12 4.0.0 maps) ---------------------

# SBR09 claim filing indicator (837).
FILING_INDICATORS: dict[str, str] = {
    "11": "Other non-federal programs",
    "12": "Preferred provider organization (PPO)",
    "13": "Point of service (POS)",
    "14": "Exclusive provider organization (EPO)",
    "15": "Indemnity insurance",
    "16": "Health maintenance organization (HMO) Medicare risk",
    "17": "Dental maintenance organization",
    "AM": "Automobile medical",
    "BL": "Blue Cross/Blue Shield",
    "CH": "CHAMPUS (TRICARE)",
    "CI": "Commercial insurance",
    "DS": "Disability",
    "FI": "Federal Employees Program",
    "HM": "Health maintenance organization",
    "LM": "Liability medical",
    "MA": "Medicare Part A",
    "MB": "Medicare Part B",
    "MC": "Medicaid",
    "OF": "Other federal program",
    "TV": "Title V",
    "VA": "Veterans Affairs plan",
    "WC": "Workers' compensation health claim",
    "ZZ": "Mutually defined",
}

# PAT01 individual relationship code (837 loop 2000C): the patient's relationship to the subscriber.
PATIENT_RELATIONSHIPS: dict[str, str] = {
    "01": "Spouse",
    "19": "Child",
    "20": "Employee",
    "21": "Unknown",
    "39": "Organ donor",
    "40": "Cadaver donor",
    "53": "Life partner",
    "G8": "Other relationship",
}

# SBR01 payer responsibility sequence.
RESPONSIBILITY = frozenset("PSTABCDEFGHU")

#: Service lines a claim carries at most (837P 2400 repeats 50 times, 837I 999).
MAX_LINES: dict[ClaimKind, int] = {"professional": 50, "institutional": 999}

# -- other payers (loops 2320, 2330A, 2330B, 2430; pyx12 4.0.0 maps of X222A1 and X223A2) ----------------------

#: SBR02 in loop 2320: the patient's relationship to the other payer's subscriber (18 self).
OTHER_RELATIONSHIPS = frozenset({"01", "18", "19", "20", "21", "39", "40", "53", "G8"})
#: SBR05 insurance type code (837P 2320 only: Medicare secondary payer types).
INSURANCE_TYPES = frozenset({"12", "13", "14", "15", "16", "41", "42", "43", "47"})
#: CAS01 claim adjustment group codes of 2320 and 2430 (the 837 still lists CR, which the 5010 835 dropped).
ADJUSTMENT_GROUPS = frozenset({"CO", "CR", "OA", "PI", "PR"})
#: Reason/amount/quantity triplets in one CAS segment; one CAS per group, so at most five CAS per loop.
CAS_TRIPLETS = 6
MAX_OTHER_PAYERS = 10  # 2320 repeats 10 times
MAX_LINE_ADJUDICATIONS = 15  # 2430 repeats 15 times per line
#: SVD03-1 procedure qualifiers (837P: SVD03 required; 837I: SVD03 situational, SVD04 revenue code required).
SVD_QUALIFIERS: dict[ClaimKind, frozenset[str]] = {
    "professional": frozenset({"ER", "HC", "IV", "WK"}),
    "institutional": frozenset({"ER", "HC", "HP", "IV", "WK"}),
}
#: OI03 benefits assignment certification: Y, N, or W (not applicable).
BENEFITS_ASSIGNMENT = frozenset({"N", "W", "Y"})
#: Elements the 837 MOA (outpatient adjudication) and MIA (inpatient, 837I only) carry.
MOA_ELEMENTS, MIA_ELEMENTS = 9, 24
#: 2320 AMT segments in the implementation guides' order: 837P puts A8 before EAF, 837I EAF before A8.
COB_AMOUNTS: dict[ClaimKind, tuple[tuple[str, str], ...]] = {
    "professional": (("D", "paid"), ("A8", "non_covered"), ("EAF", "remaining_patient_liability")),
    "institutional": (("D", "paid"), ("EAF", "remaining_patient_liability"), ("A8", "non_covered")),
}


_Address = fast_new(Address)


def written_address(a: Address) -> Address:
    """``a`` as an N3/N4 carries it (and the reader reads it back): a ZIP code without its dash, no empty
    second line."""
    return _Address(line1=a.line1, city=a.city, state=a.state, zip=a.zip.replace("-", ""), line2=a.line2 or None,
                    country=a.country)


def line_control_number(pcn: str, n: int, taken: set[str]) -> str:
    """The REF*6R of line ``n`` of claim ``pcn`` when none was given: ``<CLM01>-<n>``, or ``<CLM01>-<n>-<k>``
    when a line control number given on another line of the claim (in ``taken``, which this adds to) already
    has that value."""
    candidate, k = f"{pcn}-{n}", 1
    while candidate in taken:
        candidate, k = f"{pcn}-{n}-{k}", k + 1
    taken.add(candidate)
    return candidate


def d8(value: date) -> str:
    """CCYYMMDD (ISO format without the dashes: always four year digits, which strftime does not promise)."""
    return value.isoformat()[:10].replace("-", "")


def rd8(start: date, end: date) -> str:
    return f"{d8(start)}-{d8(end)}"


def parse_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def parse_d8(text: str) -> date | None:
    if not _D8.match(text):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def parse_rd8(text: str) -> tuple[date, date] | None:
    start, sep, end = text.partition("-")
    first, last = parse_d8(start), parse_d8(end)
    if not sep or first is None or last is None:
        return None
    return first, last


# -- provider loops -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderLoop:
    """How one provider role is carried: its loop, NM101, whether it must be a person (NM102 = 1) or an
    organization (NM102 = 2), its PRV01 code when the loop has a taxonomy (PRV), and whether N3/N4 follow."""

    loop: str
    code: str
    label: str
    entity: str | None = None  # "1" person only, "2" organization only, None either
    taxonomy: str | None = None
    address: bool = False


#: Claim-level provider loops (2310x) in the order the implementation guides put them, by ``Claim`` attribute.
CLAIM_PROVIDERS: dict[ClaimKind, tuple[tuple[str, ProviderLoop], ...]] = {
    "professional": (
        ("referring_provider", ProviderLoop("2310A", "DN", "referring provider", entity="1")),
        ("rendering_provider", ProviderLoop("2310B", "82", "rendering provider", taxonomy="PE")),
        ("service_facility", ProviderLoop("2310C", "77", "service facility", entity="2", address=True)),
    ),
    "institutional": (
        ("attending_provider", ProviderLoop("2310A", "71", "attending provider", entity="1", taxonomy="AT")),
        ("operating_provider", ProviderLoop("2310B", "72", "operating physician", entity="1")),
        ("rendering_provider", ProviderLoop("2310D", "82", "rendering provider", entity="1")),
        ("service_facility", ProviderLoop("2310E", "77", "service facility", entity="2", address=True)),
        ("referring_provider", ProviderLoop("2310F", "DN", "referring provider", entity="1")),
    ),
}

#: The line-level rendering provider (2420A in 837P, 2420C in 837I).
LINE_RENDERING: dict[ClaimKind, ProviderLoop] = {
    "professional": ProviderLoop("2420A", "82", "line rendering provider", taxonomy="PE"),
    "institutional": ProviderLoop("2420C", "82", "line rendering provider", entity="1"),
}


# -- HI (diagnoses and institutional codes) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HiGroup:
    """One kind of HI composite: its qualifier, how many a claim may carry, and what follows the code
    (``date`` = ``D8`` or ``RD8`` in HIxx-3/-4, ``amount`` in HIxx-5, a present-on-admission flag in HIxx-9).
    ``diagnosis`` tells a ``Diagnosis`` (True) from a ``CodeDate`` (False)."""

    qualifier: str
    limit: int
    diagnosis: bool = True
    date: str | None = None
    amount: bool = False
    poa: bool = False


#: HI groups in the order of the implementation guides. An 837P puts its principal (ABK) and other (ABF)
#: diagnoses in one HI of at most 12; an 837I gives each group its own HI segments of at most 12 composites.
HI_GROUPS: dict[ClaimKind, tuple[HiGroup, ...]] = {
    "professional": (
        HiGroup("ABK", 1), HiGroup("ABF", 11), HiGroup("BG", 24, diagnosis=False),
    ),
    "institutional": (
        HiGroup("ABK", 1, poa=True), HiGroup("ABJ", 1), HiGroup("APR", 3), HiGroup("ABN", 12, poa=True),
        HiGroup("DR", 1, diagnosis=False), HiGroup("ABF", 24, poa=True),
        HiGroup("BBR", 1, diagnosis=False, date="D8"), HiGroup("BBQ", 24, diagnosis=False, date="D8"),
        HiGroup("BI", 24, diagnosis=False, date="RD8"), HiGroup("BH", 24, diagnosis=False, date="D8"),
        HiGroup("BE", 24, diagnosis=False, amount=True), HiGroup("BG", 24, diagnosis=False),
    ),
}

#: HI qualifiers read as diagnoses (ICD-10 and the ICD-9 ones older files carry); every other one is a code.
DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "BK", "ABF", "BF", "ABJ", "BJ", "APR", "PR", "ABN", "BN"})
COMPOSITE_PER_HI = 12
