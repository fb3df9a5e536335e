"""The canonical ``Encounter``: one coded visit or stay, as billing receives it, before it becomes a ``Claim``.

Every source (JSON, NDJSON, CSV, FHIR R4) turns its records into the same plain dict and calls
``encounter_from_dict``, so every format gets the same field names in its problems. The dict:

.. code-block:: text

    id                  CLM01, the patient control number (at most 20 characters, unique)
    kind                "professional" (837P) or "institutional" (837I)
    payer               a key of [payers] in edi.toml
    frequency           "1" original (default), "7" replacement, "8" void (7 and 8 need payer_claim_number)
    payer_claim_number  the payer's claim number (835 CLP07) of the claim a 7 or 8 replaces
    billing_provider    {npi, name, tax_id, taxonomy, address}        (address: line1, line2, city, state, zip)
    rendering_provider, referring_provider, attending_provider, operating_provider
                        {npi, name (or last_name), first_name, taxonomy}
    service_facility    {name, npi, address}
    subscriber          {member_id, last_name, first_name, birth_date, sex, address, group_number, group_name}
    patient             {relationship, last_name, first_name, birth_date, sex, address}: only when the patient
                        is not the subscriber; relationship is a PAT01 code (01 spouse, 19 child, 53 life
                        partner, G8 other...)
    coverages           [{payer, relationship, subscriber}]: every coverage of the patient, in the order the
                        payers pay (primary, secondary, tertiary...), instead of payer and subscriber (below)
    place_of_service    CMS POS code (professional)
    diagnoses           ICD-10-CM codes as coders write them ("E11.9" or "E119"); the first is the principal.
                        An item may be {code, poa} to give a present-on-admission indicator (institutional).
    prior_authorization, referral_number, medical_record_number, onset_date, note
    lines               [{procedure, modifiers (0-4), charge (decimal string), units, diagnosis_pointers
                          (1-4, 1-based), service_date, service_date_end, line_id, revenue_code,
                          unit_basis (UN, MJ, DA), place_of_service, description}]
    -- institutional (UB-04) --
    bill_type           type of bill, "131" or "0131"; its last digit is the frequency
    statement_from, statement_to
    admission           {date, hour (HHMM), type, source}
    discharge_status, discharge_hour
    admitting_diagnosis, reason_for_visit (up to 3 codes)
    condition_codes     ["39", ...]
    occurrence_codes    [{code, date}]            occurrence_spans [{code, from, to}]
    value_codes         [{code, amount}]
    principal_procedure {code, date}              other_procedures [{code, date}]   (ICD-10-PCS)

Dates are ISO (``2025-03-14``, ``20250314`` is accepted too). Money is a decimal string (or an integer, or a
``Decimal``; a binary float is refused). Codes are upper-cased; ZIP codes and tax ids lose their hyphen.

Coverages. An encounter names its payers in one of two forms. The single form, ``payer`` and ``subscriber`` (with
``patient`` when the patient is not the subscriber), is one coverage. The list form, ``coverages``, names each
coverage in the order the payers pay: ``payer`` (a key of [payers]), ``relationship`` (the patient's relationship
to that coverage's subscriber, an SBR02/PAT01 code: 18 self, 01 spouse, 19 child, 20 employee, 21 unknown, 39
organ donor, 40 cadaver donor, 53 life partner, G8 other; required, since a missing one taken as self would send
another person's member id as the patient's) and ``subscriber`` (as in the single form: member id, names, birth
date, sex, address, group number and name). The first coverage IS the primary: ``Encounter.payer`` and
``Encounter.subscriber`` are taken from it, so everything that reads the single form reads the primary of the
list form unchanged, and ``Encounter.coverages`` holds the whole list (empty in the single form;
``Encounter.all_coverages`` gives either form as a list). When the primary's relationship is not 18 the patient
is someone else, given as today by ``patient`` (its ``relationship`` may be left out: it is the primary's); when
it is 18, ``patient`` must be absent. Both forms at once are accepted only when they say the same thing (a
producer may keep writing ``payer`` and ``subscriber`` for older readers): ``payer`` and ``subscriber`` equal to
the first coverage's, ``patient.relationship`` equal to its relationship; anything else is refused
(``encounter.coverages.conflict``, naming the field of the single form), since which of the two is right cannot
be known. Problems inside the list name ``coverages[2].subscriber.member_id``; the checks add
``encounter.coverages.*`` (``mappings.checks.check_coverages``).

Field paths in problems count list items from 1, like LX01 and the diagnosis pointers: ``lines[2].charge``
is the second line's charge, ``diagnoses[1]`` the principal diagnosis. Messages never quote values.

Problem codes of the parser: ``encounter.record`` (not an object), ``encounter.field.missing``,
``encounter.field.type`` (a list where a string belongs, a float for money...), ``encounter.field.format``
(a date, decimal, hour or entity that does not read), ``encounter.field.conflict`` (``name`` and its alias
``last_name`` both given), ``encounter.coverages.conflict`` (the single form and ``coverages`` both given, and
disagreeing; or ``patient`` given while the primary's subscriber is the patient), ``encounter.kind`` and, as a
warning, ``encounter.field.unknown`` (a key this format does not have: a typo is reported, not silently dropped).

NDJSON lines are read first by ``mappings.decode`` (msgspec into typed structs), which builds the same
``Encounter`` for the well-formed lines and leaves every other line to this parser: a rule changed here (a key,
a normalisation, a problem) is changed there too, and ``tests/mappings/test_decode.py`` compares the two.

Text outside ASCII: X12's basic and extended character sets are ASCII. The parser spells names, addresses and
free text (``TRANSLITERATED_KEYS``) in ASCII where they have an ASCII spelling (``to_ascii``: MÜLLER becomes
MULLER, JOSÉ JOSE, STRAßE STRASSE) and lists each such field on ``Encounter.transliterated``; the checks
(``mappings.checks.check_text``) then warn, naming each field, or refuse it where edi.toml says
``[billing] non_ascii = "refuse"``. Text that has no ASCII spelling, and any invisible format character
(Unicode category Cf, such as the right-to-left override U+202E), is refused by the checks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from edi.model import Address, Source, fast_new
from edi.problems import ERROR, WARNING, Problem, Severity, Where

EncounterKind = Literal["professional", "institutional"]
KINDS = ("professional", "institutional")

# -- the canonical encounter ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncounterProvider:
    """A provider or facility. ``name`` is an organization's name or a person's last name; ``entity`` is the
    NM102 code: "1" person (the default when ``first_name`` is given), "2" organization."""

    name: str
    npi: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    entity: Literal["1", "2"] = "2"
    tax_id: str | None = None  # digits only
    tax_id_qualifier: Literal["EI", "SY"] = "EI"
    taxonomy: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class EncounterSubscriber:
    member_id: str
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    address: Address | None = None
    group_number: str | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class EncounterPatient:
    """The patient when not the subscriber. ``relationship`` is a PAT01 code."""

    relationship: str
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class EncounterCoverage:
    """One coverage of the patient: the payer (a key of [payers] in edi.toml), the subscriber the coverage
    belongs to (its group number and name with it, as in the single form), and ``relationship``, the patient's
    relationship to that subscriber, an SBR02/PAT01 code: "18" self, "01" spouse, "19" child..."""

    payer: str
    subscriber: EncounterSubscriber
    relationship: str = "18"


@dataclass(frozen=True, slots=True)
class EncounterDiagnosis:
    """An ICD-10-CM code as written (with or without the dot) and an optional present-on-admission flag."""

    code: str
    poa: str | None = None


@dataclass(frozen=True, slots=True)
class Admission:
    date: date | None = None
    hour: str | None = None  # HHMM
    type: str | None = None  # CL101 priority (type) of admission or visit
    source: str | None = None  # CL102 point of origin


@dataclass(frozen=True, slots=True)
class CodeOnDate:
    """An occurrence code (BH) or an ICD-10-PCS procedure (BBR, BBQ) with its date."""

    code: str
    date: date | None = None


@dataclass(frozen=True, slots=True)
class CodeSpan:
    """An occurrence span code (BI)."""

    code: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class CodeAmount:
    """A value code (BE) with its amount."""

    code: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class EncounterLine:
    charge: Decimal
    units: Decimal
    procedure: str | None = None
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = ()
    service_date: date | None = None
    service_date_end: date | None = None
    line_id: str | None = None
    revenue_code: str | None = None
    unit_basis: str | None = None
    place_of_service: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Encounter:
    id: str
    kind: EncounterKind
    payer: str
    billing_provider: EncounterProvider
    subscriber: EncounterSubscriber
    diagnoses: tuple[EncounterDiagnosis, ...]
    lines: tuple[EncounterLine, ...]
    frequency: str = "1"
    payer_claim_number: str | None = None
    patient: EncounterPatient | None = None
    rendering_provider: EncounterProvider | None = None
    referring_provider: EncounterProvider | None = None
    service_facility: EncounterProvider | None = None
    place_of_service: str | None = None
    prior_authorization: str | None = None
    referral_number: str | None = None
    medical_record_number: str | None = None
    onset_date: date | None = None
    note: str | None = None
    # institutional
    bill_type: str | None = None
    statement_from: date | None = None
    statement_to: date | None = None
    admission: Admission | None = None
    discharge_status: str | None = None
    discharge_hour: str | None = None
    attending_provider: EncounterProvider | None = None
    operating_provider: EncounterProvider | None = None
    admitting_diagnosis: str | None = None
    reason_for_visit: tuple[str, ...] = ()
    condition_codes: tuple[str, ...] = ()
    occurrence_codes: tuple[CodeOnDate, ...] = ()
    occurrence_spans: tuple[CodeSpan, ...] = ()
    value_codes: tuple[CodeAmount, ...] = ()
    principal_procedure: CodeOnDate | None = None
    other_procedures: tuple[CodeOnDate, ...] = ()
    source: Source | None = None
    #: the fields (paths, as problems name them) whose text the parser spelled in ASCII (see to_ascii)
    transliterated: tuple[str, ...] = ()
    #: every coverage in the order the payers pay, when the encounter was given in the list form; the first is
    #: the primary, whose payer and subscriber are ``payer`` and ``subscriber``. Empty in the single form.
    coverages: tuple[EncounterCoverage, ...] = ()

    @property
    def institutional(self) -> bool:
        return self.kind == "institutional"

    @property
    def all_coverages(self) -> tuple[EncounterCoverage, ...]:
        """The coverages in the order the payers pay, whichever form gave them: the single form is one coverage
        (relationship 18 when there is no separate patient, else the patient's)."""
        if self.coverages:
            return self.coverages
        relationship = self.patient.relationship if self.patient is not None else "18"
        return (EncounterCoverage(self.payer, self.subscriber, relationship),)

    def where(self, element: str | None = None) -> Where:
        """Where a problem about this encounter (and ``element``, a field path) sits."""
        return Where(file=self.source.file if self.source else None, record=printable(self.id), element=element)


# -- text outside ASCII ---------------------------------------------------------------------------------------

#: The keys whose text is spelled in ASCII when it can be: names, address lines and cities, free text.
TRANSLITERATED_KEYS = frozenset({"last_name", "first_name", "middle_name", "name", "line1", "line2", "city",
                                 "group_name", "note", "description"})
#: Letters that do not decompose into an ASCII letter and a mark.
_SPELLED = str.maketrans({"ß": "ss", "ẞ": "SS", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o",
                          "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th",
                          "ı": "i", "ŀ": "l", "Ŀ": "L", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-",
                          "—": "-", "\u00a0": " "})


def to_ascii(text: str) -> str | None:
    """``text`` spelled in ASCII (letters without their accents, ß as ss...), or None when some character has
    no ASCII spelling (another script, an invisible format character)."""
    if text.isascii():
        return text
    out = "".join(c for c in unicodedata.normalize("NFKD", text.translate(_SPELLED))
                  if unicodedata.category(c) != "Mn")
    return out if out.isascii() else None


def printable(text: str) -> str:
    """``text`` as a problem may carry it: a lone surrogate (which no output can encode) as ``\\udXXX``."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# -- keys each object may carry -------------------------------------------------------------------------------

_ADDRESS_KEYS = frozenset({"line1", "line2", "city", "state", "zip"})
_PROVIDER_KEYS = frozenset({"npi", "name", "last_name", "first_name", "middle_name", "entity", "tax_id",
                            "tax_id_qualifier", "taxonomy", "address"})
_SUBSCRIBER_KEYS = frozenset({"member_id", "last_name", "first_name", "middle_name", "birth_date", "sex",
                              "address", "group_number", "group_name"})
_PATIENT_KEYS = frozenset({"relationship", "last_name", "first_name", "middle_name", "birth_date", "sex",
                           "address"})
_LINE_KEYS = frozenset({"procedure", "modifiers", "charge", "units", "diagnosis_pointers", "service_date",
                        "service_date_end", "line_id", "revenue_code", "unit_basis", "place_of_service",
                        "description"})
_COVERAGE_KEYS = frozenset({"payer", "relationship", "subscriber"})
_ADMISSION_KEYS = frozenset({"date", "hour", "type", "source"})
_PROVIDER_ROLES = ("billing_provider", "rendering_provider", "referring_provider", "service_facility",
                   "attending_provider", "operating_provider")
_ENCOUNTER_KEYS = frozenset({
    "id", "kind", "payer", "frequency", "payer_claim_number", "subscriber", "patient", "place_of_service",
    "diagnoses", "prior_authorization", "referral_number", "medical_record_number", "onset_date", "note", "lines",
    "bill_type", "statement_from", "statement_to", "admission", "discharge_status", "discharge_hour",
    "admitting_diagnosis", "reason_for_visit", "condition_codes", "occurrence_codes", "occurrence_spans",
    "value_codes", "principal_procedure", "other_procedures", "coverages", *_PROVIDER_ROLES,
})

# The objects built per encounter, through their fast constructors (same arguments, equal objects).
_Address, _Source = fast_new(Address), fast_new(Source)
_EncounterProvider, _EncounterDiagnosis, _EncounterLine = (
    fast_new(EncounterProvider), fast_new(EncounterDiagnosis), fast_new(EncounterLine))
_EncounterSubscriber, _EncounterPatient, _Encounter = (
    fast_new(EncounterSubscriber), fast_new(EncounterPatient), fast_new(Encounter))
_EncounterCoverage = fast_new(EncounterCoverage)

# -- the parser -----------------------------------------------------------------------------------------------


def _is_map(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def _join(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


class _Parser:
    """Reads one encounter dict, collecting problems; never raises on bad data."""

    def __init__(self, file: str | None, record: str | None) -> None:
        self.file = file
        self.record = record
        self.problems: list[Problem] = []
        self.transliterated: list[str] = []  # paths of the fields spelled in ASCII

    # -- reporting --

    def report(self, code: str, message: str, path: str | None, severity: Severity = ERROR) -> None:
        self.problems.append(Problem(code, message, severity, Where(file=self.file, record=self.record,
                                                                     element=path)))

    def missing(self, path: str, what: str | None = None) -> None:
        self.report("encounter.field.missing", f"{path} is missing" + (f" ({what})" if what else ""), path)

    def wrong_type(self, path: str, expected: str) -> None:
        self.report("encounter.field.type", f"{path} must be {expected}", path)

    def bad_format(self, path: str, expected: str) -> None:
        self.report("encounter.field.format", f"{path} is not {expected}", path)

    def unknown_keys(self, d: Mapping[str, Any], allowed: frozenset[str], base: str) -> None:
        if d.keys() <= allowed:
            return
        for key in d:
            if key not in allowed:
                path = _join(base, str(key))
                self.report("encounter.field.unknown", f"{path} is not a known field and is ignored", path, WARNING)

    # -- scalar readers: each returns None when absent or bad (and reports when bad or required) --

    def text(self, d: Mapping[str, Any], key: str, base: str = "", *, required: bool = False,
             upper: bool = False, what: str | None = None) -> str | None:
        value = d.get(key)
        if type(value) is str:  # the common case first
            out = value.strip()
        elif value is None:
            out = ""
        elif isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            self.wrong_type(_join(base, key), "a string")
            return None
        else:
            out = str(value).strip()
        if not out:
            if required:
                self.missing(_join(base, key), what)
            return None
        if not out.isascii() and key in TRANSLITERATED_KEYS:
            spelled = to_ascii(out)
            if spelled is not None:  # reported by mappings.checks.check_text; else refused there
                self.transliterated.append(_join(base, key))
                out = spelled
        return out.upper() if upper else out

    def decimal(self, d: Mapping[str, Any], key: str, base: str = "", *, required: bool = False) -> Decimal | None:
        value = d.get(key)
        if type(value) is str:
            try:
                out = Decimal(value)
                if out.is_finite():
                    return out
            except InvalidOperation:
                pass
        path = _join(base, key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.missing(path)
            return None
        if isinstance(value, float):
            self.wrong_type(path, "a decimal string, not a binary floating-point number")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            self.wrong_type(path, "a decimal string")
            return None
        try:
            out = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
        except InvalidOperation:
            self.bad_format(path, "a decimal number")
            return None
        if not out.is_finite():
            self.bad_format(path, "a finite decimal number")
            return None
        return out

    def date(self, d: Mapping[str, Any], key: str, base: str = "", *, required: bool = False) -> date | None:
        value = d.get(key)
        if type(value) is str and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        path = _join(base, key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.missing(path)
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            self.wrong_type(path, "an ISO date string (YYYY-MM-DD)")
            return None
        s = value.strip()
        if len(s) in (8, 10) and s.isascii():
            try:
                return date.fromisoformat(s)
            except ValueError:
                pass
        self.bad_format(path, "an ISO date (YYYY-MM-DD)")
        return None

    def hour(self, d: Mapping[str, Any], key: str, base: str = "") -> str | None:
        s = self.text(d, key, base)
        if s is None:
            return None
        hhmm = s.replace(":", "", 1) if len(s) == 5 else s
        if len(hhmm) == 4 and hhmm.isascii() and hhmm.isdigit() and int(hhmm[:2]) < 24 and int(hhmm[2:]) < 60:
            return hhmm
        self.bad_format(_join(base, key), "an hour (HHMM, 0000 to 2359)")
        return None

    def obj(self, d: Mapping[str, Any], key: str, base: str = "", *, required: bool = False,
            what: str | None = None) -> Mapping[str, Any] | None:
        value = d.get(key)
        if value is None:
            if required:
                self.missing(_join(base, key), what)
            return None
        if not _is_map(value):
            self.wrong_type(_join(base, key), "an object")
            return None
        return value

    def items(self, d: Mapping[str, Any], key: str, base: str = "", *, split: bool = True) -> list[Any]:
        """A list; a string is split on ':' when ``split`` (the CSV convention for short code lists)."""
        value = d.get(key)
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return list(value)
        if isinstance(value, str) and split:
            return [v.strip() for v in value.split(":") if v.strip()]
        self.wrong_type(_join(base, key), "a list")
        return []

    def code_list(self, d: Mapping[str, Any], key: str, base: str = "", *, upper: bool = True) -> tuple[str, ...]:
        path = _join(base, key)
        out = []
        for i, v in enumerate(self.items(d, key, base), 1):
            if isinstance(v, bool) or not isinstance(v, str | int):
                self.wrong_type(_join(path, i), "a string")
                continue
            s = str(v).strip()
            if s:
                out.append(s.upper() if upper else s)
        return tuple(out)

    # -- composite readers --

    def address(self, d: Mapping[str, Any], key: str, base: str, *, required: bool = False) -> Address | None:
        a = self.obj(d, key, base, required=required)
        if a is None:
            return None
        path = _join(base, key)
        self.unknown_keys(a, _ADDRESS_KEYS, path)
        line1 = self.text(a, "line1", path, required=True)
        line2 = self.text(a, "line2", path)
        city = self.text(a, "city", path, required=True)
        state = self.text(a, "state", path, required=True, upper=True)
        zip_ = self.text(a, "zip", path, required=True)
        if zip_ is not None and len(zip_) == 10 and zip_[5] == "-":
            zip_ = zip_[:5] + zip_[6:]
        if line1 is None or city is None or state is None or zip_ is None:
            return None
        return _Address(line1=line1, line2=line2, city=city, state=state, zip=zip_)

    def provider(self, d: Mapping[str, Any], key: str, *, required: bool = False, npi: bool = True,
                 tax_id: bool = False, address: bool = False) -> EncounterProvider | None:
        p = self.obj(d, key, required=required)
        if p is None:
            return None
        self.unknown_keys(p, _PROVIDER_KEYS, key)
        n_errors = len(self.problems)
        if p.get("name") is not None and p.get("last_name") is not None:
            self.report("encounter.field.conflict", f"{key} has both name and last_name (one is an alias of the "
                        "other)", _join(key, "last_name"))
        name_key = "last_name" if p.get("name") is None and p.get("last_name") is not None else "name"
        name = self.text(p, name_key, key, required=True, what="organization name or last name")
        first = self.text(p, "first_name", key)
        middle = self.text(p, "middle_name", key)
        entity_text = self.text(p, "entity", key)
        entity: Literal["1", "2"] = "1" if first else "2"
        if entity_text is not None:
            mapped = {"person": "1", "1": "1", "organization": "2", "2": "2"}.get(entity_text.lower())
            if mapped is None:
                self.bad_format(_join(key, "entity"), '"person" or "organization"')
            else:
                entity = "1" if mapped == "1" else "2"
        npi_value = self.text(p, "npi", key, required=npi)
        tin = self.text(p, "tax_id", key, required=tax_id)
        if tin is not None:
            tin = tin.replace("-", "")
        qual = self.text(p, "tax_id_qualifier", key, upper=True) or "EI"
        if qual not in ("EI", "SY"):
            self.bad_format(_join(key, "tax_id_qualifier"), "EI (EIN) or SY (SSN)")
            qual = "EI"
        taxonomy = self.text(p, "taxonomy", key, upper=True)
        addr = self.address(p, "address", key, required=address)
        if name is None or any(x.is_error for x in self.problems[n_errors:]):
            return None
        return _EncounterProvider(name=name, npi=npi_value, first_name=first, middle_name=middle, entity=entity,
                                 tax_id=tin, tax_id_qualifier="SY" if qual == "SY" else "EI", taxonomy=taxonomy,
                                 address=addr)

    def subscriber(self, d: Mapping[str, Any], base: str = "", *, required: bool = True
                   ) -> EncounterSubscriber | None:
        """``d``'s ``subscriber`` object (the encounter's, or a coverage's when ``base`` names it)."""
        s = self.obj(d, "subscriber", base, required=required)
        if s is None:
            return None
        path = _join(base, "subscriber")
        self.unknown_keys(s, _SUBSCRIBER_KEYS, path)
        member_id = self.text(s, "member_id", path, required=True)
        last = self.text(s, "last_name", path, required=True)
        fields = dict(
            first_name=self.text(s, "first_name", path),
            middle_name=self.text(s, "middle_name", path),
            birth_date=self.date(s, "birth_date", path),
            sex=self.text(s, "sex", path, upper=True),
            address=self.address(s, "address", path),
            group_number=self.text(s, "group_number", path),
            group_name=self.text(s, "group_name", path),
        )
        if member_id is None or last is None:
            return None
        return _EncounterSubscriber(member_id=member_id, last_name=last, **fields)

    def coverage(self, item: Any, i: int) -> EncounterCoverage | None:
        """Item ``i`` (1-based) of ``coverages``."""
        base = _join("coverages", i)
        if not _is_map(item):
            self.wrong_type(base, 'an object {"payer", "relationship", "subscriber"}')
            return None
        self.unknown_keys(item, _COVERAGE_KEYS, base)
        payer = self.text(item, "payer", base, required=True, what="a key of [payers] in edi.toml")
        relationship = self.text(item, "relationship", base, required=True, upper=True,
                                 what="the patient's relationship to this subscriber: 18 self, 01 spouse, 19 "
                                      "child...")
        subscriber = self.subscriber(item, base)
        if payer is None or relationship is None or subscriber is None:
            return None
        return _EncounterCoverage(payer, subscriber, relationship)

    def conflict(self, path: str, message: str) -> None:
        self.report("encounter.coverages.conflict", message, path)

    def diagnoses(self, d: Mapping[str, Any]) -> tuple[EncounterDiagnosis, ...]:
        out = []
        for i, item in enumerate(self.items(d, "diagnoses"), 1):
            path = _join("diagnoses", i)
            if _is_map(item):
                self.unknown_keys(item, frozenset({"code", "poa"}), path)
                code = self.text(item, "code", path, required=True, upper=True)
                poa = self.text(item, "poa", path, upper=True)
            elif isinstance(item, str):
                code, poa = item.strip().upper() or None, None
                if code is None:
                    self.missing(path)
            else:
                self.wrong_type(path, 'a code string or an object {"code", "poa"}')
                continue
            if code is not None:
                out.append(_EncounterDiagnosis(code, poa))
        return tuple(out)

    def pointers(self, d: Mapping[str, Any], base: str) -> tuple[int, ...]:
        path = _join(base, "diagnosis_pointers")
        out = []
        for i, v in enumerate(self.items(d, "diagnosis_pointers", base), 1):
            if isinstance(v, int) and not isinstance(v, bool):
                out.append(v)
            elif isinstance(v, str) and v.strip().isascii() and v.strip().isdigit():
                out.append(int(v.strip()))
            elif isinstance(v, Decimal) and v == v.to_integral_value():
                out.append(int(v))
            else:
                self.bad_format(_join(path, i), "a diagnosis number (1, 2, ...)")
        return tuple(out)

    def line(self, d: Any, i: int) -> EncounterLine | None:
        base = _join("lines", i)
        if not _is_map(d):
            self.wrong_type(base, "an object")
            return None
        self.unknown_keys(d, _LINE_KEYS, base)
        charge = self.decimal(d, "charge", base, required=True)
        units = self.decimal(d, "units", base, required=True)
        line = dict(
            procedure=self.text(d, "procedure", base, upper=True),
            modifiers=self.code_list(d, "modifiers", base),
            diagnosis_pointers=self.pointers(d, base),
            service_date=self.date(d, "service_date", base),
            service_date_end=self.date(d, "service_date_end", base),
            line_id=self.text(d, "line_id", base),
            revenue_code=self.text(d, "revenue_code", base),
            unit_basis=self.text(d, "unit_basis", base, upper=True),
            place_of_service=self.text(d, "place_of_service", base),
            description=self.text(d, "description", base),
        )
        if charge is None or units is None:
            return None
        return _EncounterLine(charge=charge, units=units, **line)

    def code_on_date(self, item: Any, path: str, *, date_required: bool) -> CodeOnDate | None:
        if not _is_map(item):
            self.wrong_type(path, 'an object {"code", "date"}')
            return None
        self.unknown_keys(item, frozenset({"code", "date"}), path)
        code = self.text(item, "code", path, required=True, upper=True)
        when = self.date(item, "date", path, required=date_required)
        return CodeOnDate(code, when) if code is not None else None


def encounter_from_dict(data: Any, *, file: str | None = None,
                        record: str | None = None) -> tuple[Encounter | None, list[Problem]]:
    """Build an ``Encounter`` from its dict form, reporting every missing or malformed field.

    ``record`` locates the encounter in its file (``"line 12"``) for problems found before its id is known
    or when it has none; once the id is read, problems name it (``where.record``). Returns ``None`` with the
    problems when any of them is an error. Never raises on bad data."""
    p = _Parser(file, record)
    try:
        return _encounter(p, data)
    except RecursionError:  # pathologically nested input
        p.report("encounter.record", "the encounter is nested too deeply to read", None)
        return None, p.problems


def _encounter(p: _Parser, data: Any) -> tuple[Encounter | None, list[Problem]]:
    if not _is_map(data):
        p.report("encounter.record", "an encounter must be an object", None)
        return None, p.problems
    enc_id = p.text(data, "id", required=True, what="the patient control number, CLM01")
    if enc_id is not None:
        p.record = printable(enc_id)
    p.unknown_keys(data, _ENCOUNTER_KEYS, "")
    kind = p.text(data, "kind", required=True, what='"professional" or "institutional"')
    if kind is not None:
        kind = kind.lower()
        if kind not in KINDS:
            p.report("encounter.kind", 'kind must be "professional" or "institutional"', "kind")
            kind = None
    listed = data.get("coverages") is not None  # the list form: payer and subscriber come from coverages[1]
    payer = p.text(data, "payer", required=not listed, what="a key of [payers] in edi.toml")
    frequency = p.text(data, "frequency")
    bill_type = p.text(data, "bill_type", upper=True)

    billing = p.provider(data, "billing_provider", required=True, tax_id=True, address=True)
    rendering = p.provider(data, "rendering_provider")
    referring = p.provider(data, "referring_provider")
    facility = p.provider(data, "service_facility", npi=False, address=True)
    attending = p.provider(data, "attending_provider")
    operating = p.provider(data, "operating_provider")

    subscriber = p.subscriber(data, required=not listed)

    patient = None
    rel = None
    pt = p.obj(data, "patient")
    if pt is not None:
        p.unknown_keys(pt, _PATIENT_KEYS, "patient")
        rel = p.text(pt, "relationship", "patient", required=not listed, upper=True, what="a PAT01 code")
        last = p.text(pt, "last_name", "patient", required=True)
        fields = dict(
            first_name=p.text(pt, "first_name", "patient", required=True),
            middle_name=p.text(pt, "middle_name", "patient"),
            birth_date=p.date(pt, "birth_date", "patient", required=True),
            sex=p.text(pt, "sex", "patient", required=True, upper=True),
            address=p.address(pt, "address", "patient", required=True),
        )
        if (rel is not None or listed) and last is not None:
            patient = _EncounterPatient(relationship=rel or "", last_name=last, **fields)

    coverages: tuple[EncounterCoverage, ...] = ()
    if listed:
        raw_coverages = p.items(data, "coverages", split=False)
        if not raw_coverages and not any(x.where.element == "coverages" for x in p.problems):
            p.missing("coverages", "at least the primary coverage; or give payer and subscriber instead")
        read = [p.coverage(item, i) for i, item in enumerate(raw_coverages, 1)]
        if read and all(c is not None for c in read):
            coverages = tuple(c for c in read if c is not None)
            payer, subscriber, patient = _primary(p, coverages[0], payer, subscriber, pt, rel, patient)

    diagnoses = p.diagnoses(data)
    if not diagnoses and not any(x.where.element and (x.where.element == "diagnoses"
                                                      or x.where.element.startswith("diagnoses["))
                                 for x in p.problems):
        p.missing("diagnoses", "at least the principal ICD-10-CM code")

    lines: list[EncounterLine] = []
    raw_lines = p.items(data, "lines", split=False)
    if not raw_lines and not any(x.where.element == "lines" for x in p.problems):
        p.missing("lines", "at least one service line")
    for i, raw in enumerate(raw_lines, 1):
        ln = p.line(raw, i)
        if ln is not None:
            lines.append(ln)

    admission = None
    a = p.obj(data, "admission")
    if a is not None:
        p.unknown_keys(a, _ADMISSION_KEYS, "admission")
        admission = Admission(date=p.date(a, "date", "admission"), hour=p.hour(a, "hour", "admission"),
                              type=p.text(a, "type", "admission", upper=True),
                              source=p.text(a, "source", "admission", upper=True))

    occurrence_codes = []
    for i, item in enumerate(p.items(data, "occurrence_codes", split=False), 1):
        c = p.code_on_date(item, _join("occurrence_codes", i), date_required=True)
        if c is not None:
            occurrence_codes.append(c)
    spans = []
    for i, item in enumerate(p.items(data, "occurrence_spans", split=False), 1):
        path = _join("occurrence_spans", i)
        if not _is_map(item):
            p.wrong_type(path, 'an object {"code", "from", "to"}')
            continue
        p.unknown_keys(item, frozenset({"code", "from", "to"}), path)
        code = p.text(item, "code", path, required=True, upper=True)
        start = p.date(item, "from", path, required=True)
        end = p.date(item, "to", path, required=True)
        if code is not None and start is not None and end is not None:
            spans.append(CodeSpan(code, start, end))
    values = []
    for i, item in enumerate(p.items(data, "value_codes", split=False), 1):
        path = _join("value_codes", i)
        if not _is_map(item):
            p.wrong_type(path, 'an object {"code", "amount"}')
            continue
        p.unknown_keys(item, frozenset({"code", "amount"}), path)
        code = p.text(item, "code", path, required=True, upper=True)
        amount = p.decimal(item, "amount", path, required=True)
        if code is not None and amount is not None:
            values.append(CodeAmount(code, amount))
    principal_procedure = None
    pp = data.get("principal_procedure")
    if pp is not None:
        principal_procedure = p.code_on_date(pp, "principal_procedure", date_required=True)
    others = []
    for i, item in enumerate(p.items(data, "other_procedures", split=False), 1):
        c = p.code_on_date(item, _join("other_procedures", i), date_required=True)
        if c is not None:
            others.append(c)

    rest = dict(
        payer_claim_number=p.text(data, "payer_claim_number"),
        place_of_service=p.text(data, "place_of_service"),
        prior_authorization=p.text(data, "prior_authorization"),
        referral_number=p.text(data, "referral_number"),
        medical_record_number=p.text(data, "medical_record_number"),
        onset_date=p.date(data, "onset_date"),
        note=p.text(data, "note"),
        statement_from=p.date(data, "statement_from"),
        statement_to=p.date(data, "statement_to"),
        discharge_status=p.text(data, "discharge_status"),
        discharge_hour=p.hour(data, "discharge_hour"),
        admitting_diagnosis=p.text(data, "admitting_diagnosis", upper=True),
        reason_for_visit=p.code_list(data, "reason_for_visit"),
        condition_codes=p.code_list(data, "condition_codes"),
    )

    if any(x.is_error for x in p.problems):
        return None, p.problems
    assert enc_id is not None and kind is not None and payer is not None
    assert billing is not None and subscriber is not None
    if frequency is None:
        frequency = bill_type[-1] if kind == "institutional" and bill_type else "1"
    enc = _Encounter(
        id=enc_id, kind="institutional" if kind == "institutional" else "professional", payer=payer,
        billing_provider=billing, subscriber=subscriber, diagnoses=diagnoses, lines=tuple(lines),
        frequency=frequency, patient=patient, rendering_provider=rendering, referring_provider=referring,
        service_facility=facility, bill_type=bill_type, admission=admission, attending_provider=attending,
        operating_provider=operating, occurrence_codes=tuple(occurrence_codes), occurrence_spans=tuple(spans),
        value_codes=tuple(values), principal_procedure=principal_procedure, other_procedures=tuple(others),
        source=_Source(file=p.file, record=p.record), transliterated=tuple(p.transliterated), coverages=coverages,
        **rest,  # type: ignore[arg-type]
    )
    p.problems.extend(missing_fields(enc))
    if any(x.is_error for x in p.problems):
        return None, p.problems
    return enc, p.problems


def _primary(p: _Parser, primary: EncounterCoverage, payer: str | None, subscriber: EncounterSubscriber | None,
             raw_patient: Mapping[str, Any] | None, relationship: str | None, patient: EncounterPatient | None
             ) -> tuple[str, EncounterSubscriber, EncounterPatient | None]:
    """The payer, subscriber and patient of an encounter in the list form: the primary coverage's, after
    checking that the single form, where it is given too, says the same (see the module's docstring)."""
    if payer is not None and payer != primary.payer:
        p.conflict("payer", "payer differs from coverages[1].payer, the primary coverage's: give one of them, "
                   "or the same payer in both")
    if subscriber is not None and subscriber != primary.subscriber:
        p.conflict("subscriber", "subscriber differs from coverages[1].subscriber, the primary coverage's: give "
                   "one of them, or the same subscriber in both")
    if primary.relationship == "18":
        if raw_patient is not None:
            p.conflict("patient", "patient is given, but coverages[1].relationship is 18 (self): the patient is "
                       "the primary coverage's subscriber; leave patient out, or give the patient's relationship "
                       "to that subscriber")
        return primary.payer, primary.subscriber, None
    if raw_patient is None:
        p.missing("patient", f"coverages[1].relationship is {primary.relationship}, so the patient is not the "
                  "primary coverage's subscriber: give the patient's name, birth date, sex and address")
    elif relationship is not None and relationship != primary.relationship:
        p.conflict("patient.relationship", "patient.relationship differs from coverages[1].relationship, the "
                   "patient's relationship to the primary coverage's subscriber: give one of them, or the same "
                   "code in both")
    if patient is not None and patient.relationship != primary.relationship:
        patient = _EncounterPatient(primary.relationship, patient.last_name, patient.first_name,
                                    patient.middle_name, patient.birth_date, patient.sex, patient.address)
    return primary.payer, primary.subscriber, patient


# -- fields required by kind and situation --------------------------------------------------------------------


def inpatient(bill_type: str | None) -> bool:
    """Inpatient types of bill: classification digit 1 (inpatient, Part A) or 2 (inpatient, Part B only)."""
    if not bill_type:
        return False
    bt = bill_type[1:] if len(bill_type) == 4 else bill_type
    return len(bt) == 3 and bt[1] in "12"


def missing_fields(enc: Encounter) -> list[Problem]:
    """Fields an encounter needs for its kind and situation (``encounter.field.missing``): what the parser
    cannot know from one field alone. ``encounter_from_dict`` runs this; so does ``mappings.checks``."""
    out: list[Problem] = []

    def missing(path: str, why: str) -> None:
        out.append(Problem("encounter.field.missing", f"{path} is missing ({why})", ERROR, enc.where(path)))

    sub = enc.subscriber
    if enc.patient is None:
        why = "the subscriber is the patient"
        base = "coverages[1].subscriber" if enc.coverages else "subscriber"
        for name in ("first_name", "birth_date", "sex", "address"):
            if getattr(sub, name) is None:
                missing(f"{base}.{name}", why)
    if enc.kind == "professional":
        if enc.place_of_service is None:
            missing("place_of_service", "professional claims carry CLM05-1")
        for i, ln in enumerate(enc.lines, 1):
            if ln.procedure is None:
                missing(f"lines[{i}].procedure", "professional lines carry SV101")
            if ln.service_date is None:
                missing(f"lines[{i}].service_date", "professional lines carry DTP*472")
            if not ln.diagnosis_pointers:
                missing(f"lines[{i}].diagnosis_pointers", "professional lines point at 1 to 4 diagnoses")
    else:
        for name, why in (("bill_type", "the UB-04 type of bill"), ("statement_from", "DTP*434"),
                          ("statement_to", "DTP*434"), ("discharge_status", "CL103 patient status"),
                          ("attending_provider", "loop 2310A")):
            if getattr(enc, name) is None:
                missing(name, why)
        if inpatient(enc.bill_type):
            adm = enc.admission
            if adm is None or adm.date is None:
                missing("admission.date", "inpatient claims carry DTP*435")
            if adm is None or adm.type is None:
                missing("admission.type", "inpatient claims carry CL101")
        for i, ln in enumerate(enc.lines, 1):
            if ln.revenue_code is None:
                missing(f"lines[{i}].revenue_code", "institutional lines carry SV201")
    return out
