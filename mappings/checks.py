"""Checks on encounters before they become claims: code sets, identifiers, pointers, dates, delimiters.

Each check is a plain function ``check(encounter, context) -> list[Problem]``; ``CHECKS`` lists them in
the order they run and ``check_encounter`` runs them all (none can be switched off). Every problem names the
encounter (``where.record``) and the field (``where.element``, a path such as ``lines[2].modifiers[1]``,
counting list items from 1). Messages quote codes (ICD-10-CM, CPT, NPI, POS) but never names, member ids,
birth dates or addresses.

``BatchChecks`` holds what needs the whole batch: claim ids unique in the batch, and not already billed (a
hook the ledger provides). A replacement (7) or void (8) reuses the id of the claim it corrects, so only
originals are asked about; it must carry the payer's claim number instead (``encounter.payer_claim_number``).

Problem codes (all errors unless marked *warning*):

==================================  ===================================================================
``encounter.field.missing``         a required field is absent (by kind: bill_type, place_of_service...)
``encounter.id.length``             the id (CLM01) is longer than 20 characters
``encounter.id.duplicate``          the id is used by another encounter of the batch
``encounter.id.billed``             an original (frequency 1) whose id the ledger already billed
``encounter.frequency``             frequency is not 1, 7 or 8
``encounter.payer_claim_number``    a replacement or void without payer_claim_number
``encounter.payer_claim_number.unused``  *warning*: payer_claim_number on an original is not sent
``encounter.payer.unknown``         payer (or a coverage's, ``coverages[2].payer``) is not a key of [payers]
                                    in edi.toml
``encounter.coverages.count``       more than 11 coverages (the payer billed and at most 10 others, loop 2320)
``encounter.coverages.relationship``  a coverage's relationship is not an SBR02 code (18 self, or a PAT01 code)
``encounter.coverages.duplicate``   a payer is named by two coverages (its claim would be the same claim twice)
``encounter.coverages.conflict``    payer, subscriber or patient relationship differ from the primary coverage's
``encounter.npi.format``            an NPI is not 10 digits starting with 1 or 2
``encounter.npi.check_digit``       an NPI fails its check digit (Luhn with the 80840 prefix)
``encounter.tax_id.format``         a tax id is not 9 digits
``encounter.taxonomy.format``       a taxonomy code is not 10 characters ending in X
``encounter.provider.entity``       837I: billing provider must be an organization, attending and
                                    operating providers persons
``encounter.zip.billing``           the billing provider's ZIP is not 9 digits
``encounter.zip.facility``          the service facility's ZIP is not 9 digits
``encounter.zip.format``            another ZIP is not 5 or 9 digits
``encounter.state.unknown``         an address state is not a USPS state, territory or military code
``encounter.address.po_box``        *warning*: the billing provider's street address is a post office box
``encounter.sex``                   sex is not F, M or U
``encounter.relationship``          the patient relationship is not a PAT01 code
``encounter.diagnosis.count``       more than 12 diagnoses (837P) or 25 (837I: principal and 24 others)
``encounter.icd10.format``          a diagnosis is not shaped like an ICD-10-CM code
``encounter.icd10.unknown``         a diagnosis is not in ICD-10-CM
``encounter.icd10.not_billable``    a diagnosis is a category with subcategories (not a leaf)
``encounter.icd10.duplicate``       *warning*: a diagnosis appears twice
``encounter.poa``                   a present-on-admission indicator is not Y, N, U or W
``encounter.icd10pcs.format``       a principal or other procedure is not a 7-character ICD-10-PCS code
``encounter.lines.count``           more than 50 lines (837P) or 999 (837I)
``encounter.procedure.format``      a procedure is not a CPT (5 digits, or 4 digits and F/T/U/M) or
                                    HCPCS (letter and 4 digits) code
``encounter.modifier.count``        more than 4 modifiers on a line
``encounter.modifier.format``       a modifier is not 2 letters or digits
``encounter.charge``                a line charge is negative, has more than 2 decimals or exceeds 99999999.99
``encounter.units``                 units are not positive, or have more than 3 decimals or 8 digits
``encounter.unit_basis``            unit basis is not UN or MJ (837P), UN or DA (837I)
``encounter.revenue_code.format``   a revenue code is not 4 digits (3 are accepted: a leading 0 is added)
``encounter.line_id.duplicate``     two lines share a line_id (REF*6R must be unique in the claim)
``encounter.line_id.length``        a line_id is longer than 50 characters
``encounter.pointer.count``         a line has more than 4 diagnosis pointers
``encounter.pointer.range``         a pointer does not point at one of the diagnoses (1..n, at most 12)
``encounter.pointer.duplicate``     a line points twice at the same diagnosis
``encounter.pos.unknown``           a place of service is not in the CMS code set
``encounter.date.future``           a service or statement date after today
``encounter.date.order``            an end date before its start date
``encounter.date.birth``            a birth date after a service date (or after today)
``encounter.date.statement_period`` 837I: a line's service date outside the statement period
``encounter.bill_type.format``      the type of bill is not 3 characters (or 4 with a leading 0)
``encounter.bill_type.frequency``   the type of bill's last digit differs from frequency
``encounter.code.format``           a discharge status, admission type or source, condition, occurrence
                                    or value code has the wrong shape
``encounter.codes.count``           more than 24 condition, occurrence, span, value or other procedure codes,
                                    or more than 3 reasons for visit
``encounter.field.ignored``         *warning*: a field that does not apply to the encounter's kind
``encounter.amount``                a value code's amount is negative, exceeds 99999999.99 or has more than
                                    2 decimals
``encounter.length``                a name, address line, city, member or group id, reference, note or
                                    line description is longer (or shorter) than its X12 element allows
``encounter.delimiter``             a value contains an X12 delimiter (* ~ : ^), a line break or another
                                    control character, a Unicode line separator or a lone surrogate
``encounter.text.invisible``        a value holds an invisible format character (Unicode category Cf: a
                                    right-to-left override U+202E, a zero-width space, a soft hyphen...)
``encounter.text.transliterated``   *warning*: a name, address or note outside ASCII was spelled in ASCII
                                    (JOSÉ as JOSE: X12's character sets are ASCII)
``encounter.text.not_ascii``        a value outside ASCII that cannot be sent: one with no ASCII spelling
                                    (another script), an id or code, or any transliterated field where
                                    edi.toml says ``[billing] non_ascii = "refuse"``
==================================  ===================================================================
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from edi.problems import ERROR, WARNING, Problem, Severity, Where, has_errors
from edi.seen import SeenIds
from edi.x837.formats import (
    ADDRESS_LINE_LENGTH,
    CITY_LENGTH,
    CLAIM_PROVIDERS,
    FIRST_NAME_LENGTH,
    GROUP_NAME_LENGTH,
    GROUP_NUMBER_LENGTH,
    ID_LENGTH,
    MAX_LINES,
    MAX_MONEY,
    MIDDLE_NAME_LENGTH,
    NAME_LENGTH,
    REF_LENGTH,
    TEXT_LENGTH,
    UNIT_BASES,
    money_problem,
    quantity_problem,
)
from mappings.codesets import (
    FREQUENCIES,
    PATIENT_RELATIONSHIPS,
    PLACE_OF_SERVICE,
    POA_INDICATORS,
    SEXES,
    UNWRITABLE_TEXT,
    US_STATES,
    X12_DELIMITERS,
    bill_type_frequency,
    bill_type_shape_ok,
    icd10cm_status,
    icd10pcs_shape_ok,
    modifier_shape_ok,
    normalize_icd10,
    npi_check_digit,
    npi_shape_ok,
    procedure_shape_ok,
    revenue_code_shape_ok,
    taxonomy_shape_ok,
)
from mappings.config import Config
from mappings.encounter import Encounter, EncounterProvider, inpatient, missing_fields, printable

MAX_CLAIM_ID = 20
MAX_DIAGNOSES = {"professional": 12, "institutional": 25}
MAX_POINTERS = 4
MAX_MODIFIERS = 4
MAX_INSTITUTIONAL_CODES = 24  # two HI segments of 12


@dataclass(frozen=True, slots=True)
class CheckContext:
    today: date
    config: Config | None = None


Check = Callable[[Encounter, CheckContext], list[Problem]]


def _p(enc: Encounter, code: str, message: str, element: str | None, severity: Severity = ERROR) -> Problem:
    return Problem(code, message, severity, enc.where(element))


# -- identity, frequency, payer -------------------------------------------------------------------------------


def check_id(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    if len(enc.id) > MAX_CLAIM_ID:
        return [_p(enc, "encounter.id.length", f"id has {len(enc.id)} characters; CLM01 allows {MAX_CLAIM_ID}",
                   "id")]
    return []


def check_frequency(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out = []
    if enc.frequency not in FREQUENCIES:
        out.append(_p(enc, "encounter.frequency", f'frequency "{enc.frequency}" is not 1 (original), 7 '
                      "(replacement) or 8 (void)", "frequency"))
    elif enc.frequency in ("7", "8") and not enc.payer_claim_number:
        out.append(_p(enc, "encounter.payer_claim_number", f"a {FREQUENCIES[enc.frequency]} (frequency "
                      f"{enc.frequency}) needs payer_claim_number, the payer's number for the claim it corrects "
                      "(835 CLP07)", "payer_claim_number"))
    elif enc.frequency == "1" and enc.payer_claim_number:
        out.append(_p(enc, "encounter.payer_claim_number.unused", "payer_claim_number is only sent with a "
                      "replacement (7) or void (8); it is ignored on an original", "payer_claim_number", WARNING))
    if enc.institutional and enc.bill_type and bill_type_shape_ok(enc.bill_type) \
            and bill_type_frequency(enc.bill_type) != enc.frequency:
        out.append(_p(enc, "encounter.bill_type.frequency", f'bill_type ends in "{enc.bill_type[-1]}" but '
                      f'frequency is "{enc.frequency}"', "bill_type"))
    return out


def check_payer(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    """Every payer the encounter names is configured: the single form's ``payer``, or each coverage's (the
    primary's is ``payer`` too, named once, where it was written)."""
    if ctx.config is None:
        return []
    named = [(f"coverages[{i}].payer", c.payer) for i, c in enumerate(enc.coverages, 1)] if enc.coverages \
        else [("payer", enc.payer)]
    out = []
    for path, payer in named:
        if payer not in ctx.config.payers:
            where = f" of {ctx.config.file}" if ctx.config.file else ""
            out.append(_p(enc, "encounter.payer.unknown", f'{path} "{payer}" is not in [payers]{where}; known: '
                          f"{', '.join(sorted(ctx.config.payers))}", path))
    return out


#: SBR02 of a coverage: the patient's relationship to its subscriber, 18 (self) or a PAT01 code.
COVERAGE_RELATIONSHIPS: dict[str, str] = {"18": "Self", **PATIENT_RELATIONSHIPS}
#: Coverages an 837 can name: the payer it is sent to (2000B) and at most 10 others (loop 2320).
MAX_COVERAGES = 11


def check_coverages(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    """The list form's coverages: at most what an 837 carries, each with a member id and an SBR02
    relationship, no payer twice (a payer's claim is one claim per patient control number: two coverages of
    one payer would bill it twice), and ``payer``, ``subscriber`` and the patient's relationship those of the
    primary (the parser makes them so; an ``Encounter`` built by hand may not)."""
    if not enc.coverages:
        return []
    out: list[Problem] = []
    if len(enc.coverages) > MAX_COVERAGES:
        out.append(_p(enc, "encounter.coverages.count", f"{len(enc.coverages)} coverages; an 837 names the payer "
                      f"it is sent to and at most {MAX_COVERAGES - 1} others", "coverages"))
    first: dict[str, int] = {}
    for i, cov in enumerate(enc.coverages, 1):
        base = f"coverages[{i}]"
        if not cov.subscriber.member_id.strip():
            out.append(_p(enc, "encounter.field.missing", f"{base}.subscriber.member_id is missing",
                          f"{base}.subscriber.member_id"))
        if cov.relationship not in COVERAGE_RELATIONSHIPS:
            codes = ", ".join(f"{k} {v.lower()}" for k, v in COVERAGE_RELATIONSHIPS.items())
            out.append(_p(enc, "encounter.coverages.relationship", f"{base}.relationship is not an SBR02 code "
                          f"({codes})", f"{base}.relationship"))
        if cov.payer in first:
            out.append(_p(enc, "encounter.coverages.duplicate", f"{base}.payer repeats coverages[{first[cov.payer]}]"
                          ".payer: a payer is billed once per claim; list each payer once", f"{base}.payer"))
        else:
            first[cov.payer] = i
    primary = enc.coverages[0]
    for path, same in (("payer", enc.payer == primary.payer), ("subscriber", enc.subscriber == primary.subscriber)):
        if not same:
            out.append(_p(enc, "encounter.coverages.conflict", f"{path} differs from the primary coverage's "
                          "(coverages[1])", path))
    if (enc.patient is None) != (primary.relationship == "18"):
        out.append(_p(enc, "encounter.coverages.conflict", "patient must be given exactly when "
                      "coverages[1].relationship is not 18 (self)", "patient"))
    elif enc.patient is not None and enc.patient.relationship != primary.relationship:
        out.append(_p(enc, "encounter.coverages.conflict", "patient.relationship differs from "
                      "coverages[1].relationship", "patient.relationship"))
    return out


# -- providers and addresses ----------------------------------------------------------------------------------

_PO_BOX = re.compile(r"\bP\.?\s*O\.?\s*BOX\b|\bPOST\s+OFFICE\s+BOX\b|\bLOCK\s*BOX\b", re.IGNORECASE)


def _providers(enc: Encounter) -> list[tuple[str, EncounterProvider]]:
    roles = ("billing_provider", "rendering_provider", "referring_provider", "service_facility",
             "attending_provider", "operating_provider")
    return [(role, p) for role in roles if (p := getattr(enc, role)) is not None]


#: ``npi_check_digit``, remembered: a batch names few providers, each in many encounters (a pure function).
_npi_check_digit = lru_cache(maxsize=4096)(npi_check_digit)


def npi_problems(enc: Encounter, npi: str, path: str) -> list[Problem]:
    if not npi_shape_ok(npi):
        return [_p(enc, "encounter.npi.format", f"{path} is not an NPI (10 digits starting with 1 or 2)", path)]
    expected = _npi_check_digit(npi[:9])
    if expected != int(npi[9]):
        return [_p(enc, "encounter.npi.check_digit", f"{path} {npi} fails the NPI check digit (expected "
                   f"{expected} as the last digit)", path)]
    return []


def _zip_problems(enc: Encounter, zip_: str, path: str, nine: str | None) -> list[Problem]:
    if nine is not None:
        if not (len(zip_) == 9 and zip_.isascii() and zip_.isdigit()):
            return [_p(enc, f"encounter.zip.{nine}", f"{path} must have 9 digits (ZIP+4)", path)]
    elif not (len(zip_) in (5, 9) and zip_.isascii() and zip_.isdigit()):
        return [_p(enc, "encounter.zip.format", f"{path} must have 5 or 9 digits", path)]
    return []


def _address_problems(enc: Encounter, addr: Any, base: str, nine: str | None = None) -> list[Problem]:
    if addr is None:
        return []
    out = _zip_problems(enc, addr.zip, f"{base}.zip", nine)
    if addr.state not in US_STATES:
        out.append(_p(enc, "encounter.state.unknown", f"{base}.state is not a US state, territory or military "
                      "code", f"{base}.state"))
    return out


#: The providers whose ZIP must have 9 digits, and the problem code's last word.
_NINE_DIGIT_ZIPS = {"billing_provider": "billing", "service_facility": "facility"}


def check_providers(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out: list[Problem] = []
    for role, prov in _providers(enc):
        if prov.npi is not None:
            out += npi_problems(enc, prov.npi, f"{role}.npi")
        if prov.tax_id is not None and not (len(prov.tax_id) == 9 and prov.tax_id.isascii()
                                            and prov.tax_id.isdigit()):
            out.append(_p(enc, "encounter.tax_id.format", f"{role}.tax_id must have 9 digits", f"{role}.tax_id"))
        if prov.taxonomy is not None and not taxonomy_shape_ok(prov.taxonomy):
            out.append(_p(enc, "encounter.taxonomy.format", f"{role}.taxonomy {prov.taxonomy} is not a NUCC "
                          "taxonomy code (10 characters ending in X)", f"{role}.taxonomy"))
        nine = _NINE_DIGIT_ZIPS.get(role)
        out += _address_problems(enc, prov.address, f"{role}.address", nine)
    bp = enc.billing_provider
    if bp.address is not None and _PO_BOX.search(bp.address.line1):
        out.append(_p(enc, "encounter.address.po_box", "billing_provider.address.line1 looks like a post office "
                      "box; N3 of the billing provider must be a street address (a pay-to address carries the "
                      "box)", "billing_provider.address.line1", WARNING))
    if enc.institutional and bp.entity != "2":
        out.append(_p(enc, "encounter.provider.entity", "an institutional billing provider must be an "
                      "organization", "billing_provider"))
    for role, loop in CLAIM_PROVIDERS[enc.kind]:  # the loops that take a person only, or an organization only
        prov = getattr(enc, role)
        if prov is None or loop.entity is None or prov.entity == loop.entity:
            continue
        if role == "rendering_provider" and prov.npi is not None and prov.npi == bp.npi:
            continue  # the billing provider itself: not sent (mappings.claims)
        what = "a person (give first_name)" if loop.entity == "1" else "an organization (no first_name)"
        out.append(_p(enc, "encounter.provider.entity", f"{role} must be {what}: loop {loop.loop} carries "
                      f"the {loop.label}", role))
    return out


def _people(enc: Encounter) -> list[tuple[str, Any, bool]]:
    """The subscribers and the patient, each with the path problems name it by and whether that person is the
    patient: in the list form every coverage's subscriber (the primary's is ``subscriber`` too, named once, as
    ``coverages[1].subscriber``: where it was written)."""
    if enc.coverages:
        people: list[tuple[str, Any, bool]] = [(f"coverages[{i}].subscriber", c.subscriber, c.relationship == "18")
                                               for i, c in enumerate(enc.coverages, 1)]
    else:
        people = [("subscriber", enc.subscriber, enc.patient is None)]
    if enc.patient is not None:
        people.append(("patient", enc.patient, True))
    return people


def check_people(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out: list[Problem] = []
    people = [(role, person) for role, person, _ in _people(enc)]
    # (in the list form the patient's relationship is the primary coverage's: check_coverages checks it there)
    if enc.patient is not None and not enc.coverages and enc.patient.relationship not in PATIENT_RELATIONSHIPS:
        codes = ", ".join(f"{k} {v.lower()}" for k, v in PATIENT_RELATIONSHIPS.items())
        extra = " (18, self, means there is no separate patient: leave patient out)" \
            if enc.patient.relationship == "18" else ""
        out.append(_p(enc, "encounter.relationship", f"patient.relationship is not a PAT01 code ({codes})"
                      + extra, "patient.relationship"))
    for role, person in people:
        if person.sex is not None and person.sex not in SEXES:
            out.append(_p(enc, "encounter.sex", f"{role}.sex must be F, M or U", f"{role}.sex"))
        out += _address_problems(enc, person.address, f"{role}.address")
    return out


# -- diagnoses ------------------------------------------------------------------------------------------------

_ICD_MESSAGES = {
    "malformed": ("encounter.icd10.format", "is not shaped like an ICD-10-CM code"),
    "unknown": ("encounter.icd10.unknown", "is not an ICD-10-CM code"),
    "header": ("encounter.icd10.not_billable", "is an ICD-10-CM category with subcategories, not a billable "
               "code: code to the highest specificity"),
}


def _icd_problem(enc: Encounter, code: str, path: str) -> Problem | None:
    status = icd10cm_status(code)
    if status == "billable":
        return None
    problem_code, text = _ICD_MESSAGES[status]
    return _p(enc, problem_code, f"{path} {code} {text}", path)


def check_diagnoses(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out: list[Problem] = []
    limit = MAX_DIAGNOSES[enc.kind]
    if len(enc.diagnoses) > limit:
        out.append(_p(enc, "encounter.diagnosis.count", f"{len(enc.diagnoses)} diagnoses; a {enc.kind} claim "
                      f"carries at most {limit}", "diagnoses"))
    seen: dict[str, int] = {}
    for i, dx in enumerate(enc.diagnoses, 1):
        path = f"diagnoses[{i}]"
        problem = _icd_problem(enc, dx.code, path)
        if problem is not None:
            out.append(problem)
        norm = normalize_icd10(dx.code)
        if norm in seen:
            out.append(_p(enc, "encounter.icd10.duplicate", f"{path} repeats diagnoses[{seen[norm]}]", path,
                          WARNING))
        else:
            seen[norm] = i
        if dx.poa is not None:
            if not enc.institutional:
                out.append(_p(enc, "encounter.field.ignored", f"{path}.poa applies to institutional claims only",
                              f"{path}.poa", WARNING))
            elif dx.poa not in POA_INDICATORS:
                out.append(_p(enc, "encounter.poa", f"{path}.poa must be Y, N, U or W", f"{path}.poa"))
    if enc.admitting_diagnosis is not None:
        problem = _icd_problem(enc, enc.admitting_diagnosis, "admitting_diagnosis")
        if problem is not None:
            out.append(problem)
    if len(enc.reason_for_visit) > 3:
        out.append(_p(enc, "encounter.codes.count", "at most 3 reasons for visit", "reason_for_visit"))
    for i, code in enumerate(enc.reason_for_visit, 1):
        problem = _icd_problem(enc, code, f"reason_for_visit[{i}]")
        if problem is not None:
            out.append(problem)
    return out


# -- service lines --------------------------------------------------------------------------------------------


_UNITS_8_DIGITS = Decimal(100000)


def check_lines(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out: list[Problem] = []
    limit = MAX_LINES[enc.kind]
    if len(enc.lines) > limit:
        out.append(_p(enc, "encounter.lines.count", f"{len(enc.lines)} lines; a {enc.kind} claim carries at "
                      f"most {limit}", "lines"))
    n_dx = min(len(enc.diagnoses), MAX_DIAGNOSES["professional"])
    line_ids: dict[str, int] = {}
    for i, ln in enumerate(enc.lines, 1):
        base = f"lines[{i}]"
        if ln.procedure is not None and not procedure_shape_ok(ln.procedure):
            out.append(_p(enc, "encounter.procedure.format", f"{base}.procedure {ln.procedure} is neither a CPT "
                          "code (5 digits, or 4 digits and F, T, U or M) nor a HCPCS code (a letter and 4 digits)",
                          f"{base}.procedure"))
        if len(ln.modifiers) > MAX_MODIFIERS:
            out.append(_p(enc, "encounter.modifier.count", f"{base} has {len(ln.modifiers)} modifiers; at most "
                          f"{MAX_MODIFIERS}", f"{base}.modifiers"))
        for j, mod in enumerate(ln.modifiers, 1):
            if not modifier_shape_ok(mod):
                out.append(_p(enc, "encounter.modifier.format", f"{base}.modifiers[{j}] {mod} is not a modifier "
                              "(2 letters or digits)", f"{base}.modifiers[{j}]"))
        if ln.modifiers and ln.procedure is None:
            out.append(_p(enc, "encounter.field.missing", f"{base}.procedure is missing (modifiers need a "
                          "procedure)", f"{base}.procedure"))
        if ln.charge < 0 or ln.charge.as_tuple().exponent < -2 or ln.charge > MAX_MONEY:  # type: ignore[operator]
            out.append(_p(enc, "encounter.charge", f"{base}.charge must be 0 to 99999999.99 with at most 2 "
                          "decimals (correct a claim with a replacement or void, not a negative charge)",
                          f"{base}.charge"))
        # (below 100000, 3 decimals make at most 8 digits: quantity_problem() is asked only above)
        if ln.units <= 0 or ln.units.as_tuple().exponent < -3 or (  # type: ignore[operator]
                ln.units >= _UNITS_8_DIGITS and quantity_problem(ln.units)):
            out.append(_p(enc, "encounter.units", f"{base}.units must be more than 0, with at most 3 decimals and "
                          "8 digits", f"{base}.units"))
        if ln.unit_basis is not None and ln.unit_basis not in UNIT_BASES[enc.kind]:
            what = "UN (units) or MJ (minutes)" if enc.kind == "professional" else "UN (units) or DA (days)"
            out.append(_p(enc, "encounter.unit_basis", f"{base}.unit_basis must be {what} on a {enc.kind} claim",
                          f"{base}.unit_basis"))
        if ln.revenue_code is not None:
            if not enc.institutional:
                out.append(_p(enc, "encounter.field.ignored", f"{base}.revenue_code applies to institutional "
                              "claims only", f"{base}.revenue_code", WARNING))
            elif not revenue_code_shape_ok(ln.revenue_code):
                out.append(_p(enc, "encounter.revenue_code.format", f"{base}.revenue_code {ln.revenue_code} is "
                              "not a revenue code (4 digits)", f"{base}.revenue_code"))
        if ln.place_of_service is not None and enc.institutional:
            out.append(_p(enc, "encounter.field.ignored", f"{base}.place_of_service applies to professional claims "
                          "only", f"{base}.place_of_service", WARNING))
        elif ln.place_of_service is not None and ln.place_of_service not in PLACE_OF_SERVICE:
            out.append(_p(enc, "encounter.pos.unknown", f"{base}.place_of_service {ln.place_of_service} is not "
                          "in the CMS place of service code set", f"{base}.place_of_service"))
        if ln.line_id is not None:
            if len(ln.line_id) > 50:
                out.append(_p(enc, "encounter.line_id.length", f"{base}.line_id has {len(ln.line_id)} characters;"
                              " REF*6R allows 50", f"{base}.line_id"))
            if ln.line_id in line_ids:
                out.append(_p(enc, "encounter.line_id.duplicate", f"{base}.line_id repeats the line_id of "
                              f"lines[{line_ids[ln.line_id]}]", f"{base}.line_id"))
            else:
                line_ids[ln.line_id] = i
        if not enc.institutional:
            out += _pointer_problems(enc, ln.diagnosis_pointers, base, n_dx)
        elif ln.diagnosis_pointers:
            out.append(_p(enc, "encounter.field.ignored", f"{base}.diagnosis_pointers apply to professional claims "
                          "only (an 837I line points at no diagnosis)", f"{base}.diagnosis_pointers", WARNING))
    return out


def _pointer_problems(enc: Encounter, pointers: tuple[int, ...], base: str, n_dx: int) -> list[Problem]:
    out: list[Problem] = []
    path = f"{base}.diagnosis_pointers"
    if len(pointers) > MAX_POINTERS:
        out.append(_p(enc, "encounter.pointer.count", f"{base} has {len(pointers)} diagnosis pointers; at most "
                      f"{MAX_POINTERS}", path))
    seen = set()
    for j, ptr in enumerate(pointers, 1):
        if not 1 <= ptr <= n_dx:
            out.append(_p(enc, "encounter.pointer.range", f"{path}[{j}] is {ptr}, but the diagnoses are numbered "
                          f"1 to {n_dx}", f"{path}[{j}]"))
        elif ptr in seen:
            out.append(_p(enc, "encounter.pointer.duplicate", f"{path}[{j}] points at diagnosis {ptr} again",
                          f"{path}[{j}]"))
        seen.add(ptr)
    return out


def check_place_of_service(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    pos = enc.place_of_service
    if pos is None:
        return []
    if enc.institutional:
        return [_p(enc, "encounter.field.ignored", "place_of_service applies to professional claims only (an "
                   "institutional claim carries bill_type)", "place_of_service", WARNING)]
    if pos not in PLACE_OF_SERVICE:
        return [_p(enc, "encounter.pos.unknown", f"place_of_service {pos} is not in the CMS place of service "
                   "code set", "place_of_service")]
    return []


# -- dates ----------------------------------------------------------------------------------------------------


def check_dates(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out: list[Problem] = []
    today = ctx.today
    service_dates: list[date] = []
    for i, ln in enumerate(enc.lines, 1):
        base = f"lines[{i}]"
        if ln.service_date is not None:
            service_dates.append(ln.service_date)
            if ln.service_date > today:
                out.append(_p(enc, "encounter.date.future", f"{base}.service_date is after today ({today})",
                              f"{base}.service_date"))
            if ln.service_date_end is not None and ln.service_date_end < ln.service_date:
                out.append(_p(enc, "encounter.date.order", f"{base}.service_date_end is before its service_date",
                              f"{base}.service_date_end"))
        if ln.service_date_end is not None and ln.service_date_end > today:
            out.append(_p(enc, "encounter.date.future", f"{base}.service_date_end is after today ({today})",
                          f"{base}.service_date_end"))
        if enc.institutional and enc.statement_from and enc.statement_to:
            for name in ("service_date", "service_date_end"):
                d = getattr(ln, name)
                if d is not None and not enc.statement_from <= d <= enc.statement_to:
                    out.append(_p(enc, "encounter.date.statement_period", f"{base}.{name} is outside the statement "
                                  "period (statement_from to statement_to)", f"{base}.{name}"))
    if enc.statement_from is not None:
        service_dates.append(enc.statement_from)
        if enc.statement_from > today:
            out.append(_p(enc, "encounter.date.future", f"statement_from is after today ({today})",
                          "statement_from"))
    if enc.statement_to is not None:
        if enc.statement_to > today:
            out.append(_p(enc, "encounter.date.future", f"statement_to is after today ({today})", "statement_to"))
        if enc.statement_from is not None and enc.statement_from > enc.statement_to:
            out.append(_p(enc, "encounter.date.order", "statement_from is after statement_to", "statement_to"))
    if enc.admission is not None and enc.admission.date is not None and enc.admission.date > today:
        out.append(_p(enc, "encounter.date.future", f"admission.date is after today ({today})", "admission.date"))
    coded = [("onset_date", enc.onset_date)]
    coded += [(f"occurrence_codes[{i}].date", c.date) for i, c in enumerate(enc.occurrence_codes, 1)]
    coded += [(f"occurrence_spans[{i}].{end}", d) for i, c in enumerate(enc.occurrence_spans, 1)
              for end, d in (("from", c.start), ("to", c.end))]
    for path, d in coded:  # (procedure dates: check_institutional)
        if d is not None and d > today:
            out.append(_p(enc, "encounter.date.future", f"{path} is after today ({today})", path))
    if enc.admission is not None and enc.admission.hour is not None and enc.admission.date is None \
            and not inpatient(enc.bill_type):  # (an inpatient claim needs the date anyway: missing_fields)
        out.append(_p(enc, "encounter.field.missing", "admission.date is missing (admission.hour goes with it, "
                      "in DTP*435)", "admission.date"))
    for i, span in enumerate(enc.occurrence_spans, 1):
        if span.start > span.end:
            out.append(_p(enc, "encounter.date.order", f"occurrence_spans[{i}] ends before it starts",
                          f"occurrence_spans[{i}].to"))
    first_service = min(service_dates) if service_dates else None
    for role, person, is_patient in _people(enc):
        born = person.birth_date
        if born is None:
            continue
        if born > today:
            out.append(_p(enc, "encounter.date.birth", f"{role}.birth_date is after today",
                          f"{role}.birth_date"))
        elif first_service is not None and born > first_service and is_patient:
            out.append(_p(enc, "encounter.date.birth", f"{role}.birth_date is after the first date of service",
                          f"{role}.birth_date"))
    return out


# -- institutional codes --------------------------------------------------------------------------------------

_TWO = re.compile(r"[0-9A-Z]{2}")
_PROFESSIONAL_ONLY = ("onset_date",)
_INSTITUTIONAL_ONLY = ("bill_type", "statement_from", "statement_to", "admission", "discharge_status",
                       "discharge_hour", "attending_provider", "operating_provider", "admitting_diagnosis",
                       "reason_for_visit", "condition_codes", "occurrence_codes", "occurrence_spans", "value_codes",
                       "principal_procedure", "other_procedures")


def check_institutional(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out: list[Problem] = []
    if not enc.institutional:
        for name in _INSTITUTIONAL_ONLY:
            if getattr(enc, name) not in (None, ()):
                out.append(_p(enc, "encounter.field.ignored", f"{name} applies to institutional claims only",
                              name, WARNING))
        return out
    for name in _PROFESSIONAL_ONLY:
        if getattr(enc, name) is not None:
            out.append(_p(enc, "encounter.field.ignored", f"{name} applies to professional claims only", name,
                          WARNING))

    def shape(value: str | None, ok: bool, path: str, what: str) -> None:
        if value is not None and not ok:
            out.append(_p(enc, "encounter.code.format", f"{path} is not {what}", path))

    if enc.bill_type is not None and not bill_type_shape_ok(enc.bill_type):
        out.append(_p(enc, "encounter.bill_type.format", f"bill_type {enc.bill_type} is not a type of bill (3 "
                      "characters such as 131, or 4 with a leading zero)", "bill_type"))
    ds = enc.discharge_status
    shape(ds, ds is not None and len(ds) == 2 and ds.isascii() and ds.isdigit(), "discharge_status",
          "a patient discharge status (2 digits)")
    adm = enc.admission
    if adm is not None:
        shape(adm.type, adm.type is not None and len(adm.type) == 1 and adm.type.isdigit(), "admission.type",
              "an admission type (1 digit)")
        shape(adm.source, adm.source is not None and len(adm.source) == 1 and adm.source.isalnum(),
              "admission.source", "a point of origin (1 character)")
    for name, codes in (("condition_codes", enc.condition_codes),
                        ("occurrence_codes", [c.code for c in enc.occurrence_codes]),
                        ("occurrence_spans", [c.code for c in enc.occurrence_spans]),
                        ("value_codes", [c.code for c in enc.value_codes])):
        if len(codes) > MAX_INSTITUTIONAL_CODES:
            out.append(_p(enc, "encounter.codes.count", f"{len(codes)} {name.replace('_', ' ')}; at most "
                          f"{MAX_INSTITUTIONAL_CODES}", name))
        for i, code in enumerate(codes, 1):
            path = f"{name}[{i}]" if name == "condition_codes" else f"{name}[{i}].code"
            shape(code, _TWO.fullmatch(code) is not None, path, "a 2-character NUBC code")
    for i, value in enumerate(enc.value_codes, 1):
        why = money_problem(value.amount)
        if why:
            out.append(_p(enc, "encounter.amount", f"value_codes[{i}].amount {why}", f"value_codes[{i}].amount"))
    if len(enc.other_procedures) > MAX_INSTITUTIONAL_CODES:
        out.append(_p(enc, "encounter.codes.count", f"{len(enc.other_procedures)} other procedures; at most "
                      f"{MAX_INSTITUTIONAL_CODES}", "other_procedures"))
    procs = [("principal_procedure", enc.principal_procedure)] if enc.principal_procedure else []
    procs += [(f"other_procedures[{i}]", c) for i, c in enumerate(enc.other_procedures, 1)]
    for path, proc in procs:
        if not icd10pcs_shape_ok(proc.code):
            out.append(_p(enc, "encounter.icd10pcs.format", f"{path}.code {proc.code} is not an ICD-10-PCS code "
                          "(7 letters or digits, no I or O)", f"{path}.code"))
        if proc.date is not None and proc.date > ctx.today:
            out.append(_p(enc, "encounter.date.future", f"{path}.date is after today ({ctx.today})",
                          f"{path}.date"))
    return out


# -- delimiters -----------------------------------------------------------------------------------------------

# Field names of each dataclass met inside an encounter (``source`` excluded), or None for a leaf type.
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {str: None, type(None): None, date: None, Decimal: None,
                                                     int: None, bool: None}


def _names(cls: type) -> tuple[str, ...] | None:
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        names = tuple(f.name for f in fields(cls) if f.name != "source") if is_dataclass(cls) else None
        _FIELD_NAMES[cls] = names
        return names


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
_LEAVES = frozenset((type(None), date, Decimal, int, bool))


def _getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    getter = _GETTERS.get(cls)
    if getter is None:
        names = _names(cls) or ()
        getter = (lambda value: ()) if not names else attrgetter(*names) if len(names) > 1 else \
            (lambda value, name=names[0]: (getattr(value, name),))
        _GETTERS[cls] = getter
    return getter


def _collect(value: Any, out: list[str]) -> None:
    """Append every string inside ``value`` (an encounter, a part of one or a tuple of parts) to ``out``, but
    the empty ones (what the checks look for is in none of them)."""
    items = value if type(value) is tuple else _getter(type(value))(value)
    for item in filter(None, items):  # most fields are None: skipped at C speed (and "", (), 0, False)
        cls = type(item)
        if cls is str:
            out.append(item)
        elif cls not in _LEAVES:
            _collect(item, out)


#: The last encounter ``_text_of`` walked, and its text: ``check_delimiters`` and ``check_text`` both look at
#: every string of an encounter, one after the other, and one walk serves both. Keyed by identity and holding the
#: encounter itself (so its id cannot be reused while cached); an encounter is frozen through and through, so its
#: text cannot change.
_last_text: tuple[Any, str] = (None, "")


def _text_of(enc: Encounter) -> str:
    """Every string inside ``enc`` (``_collect``), joined by spaces (no value can be mistaken for a bad
    character: a space is neither a delimiter nor outside ASCII)."""
    global _last_text
    last = _last_text
    if last[0] is enc:
        return last[1]
    texts: list[str] = []
    _collect(enc, texts)
    text = " ".join(texts)
    _last_text = (enc, text)
    return text


def _strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    """Every string inside an encounter, with its field path (the slow walk, run only when a bad character was
    found)."""
    cls = type(value)
    if cls is str:
        yield path, value
    elif cls is tuple:
        for i, item in enumerate(value, 1):
            yield from _strings(item, f"{path}[{i}]")
    else:
        for name in _names(cls) or ():
            yield from _strings(getattr(value, name), f"{path}.{name}" if path else name)


#: In the list form, the fields that repeat the primary coverage's (named where they were written, coverages[1]).
_FROM_PRIMARY = re.compile(r"payer$|subscriber\.|patient\.relationship$")


def _written(enc: Encounter) -> Iterable[tuple[str, str]]:
    """``_strings`` of an encounter, each value once: in the list form without the copies of the primary
    coverage's payer, subscriber and relationship that ``payer``, ``subscriber`` and ``patient`` hold."""
    strings = _strings(enc, "")
    if not enc.coverages:
        return strings
    return ((path, text) for path, text in strings if _FROM_PRIMARY.match(path) is None)


def check_delimiters(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    if UNWRITABLE_TEXT.search(_text_of(enc)) is None:
        return []
    out = []
    for path, text in _written(enc):
        if UNWRITABLE_TEXT.search(text) is None:
            continue
        bad = set(text) & X12_DELIMITERS
        what = ", ".join(repr(c) for c in sorted(bad)) if bad else "a control character, a line separator or " \
            "a lone surrogate"
        out.append(_p(enc, "encounter.delimiter", f"{path} contains {what}, which cannot be written into an "
                      "X12 element (delimiters * : ^ ~ and line breaks)", path))
    return out


# -- text outside ASCII ---------------------------------------------------------------------------------------


def check_text(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    """X12's character sets are ASCII: the fields the parser spelled in ASCII (``Encounter.transliterated``)
    are named in a warning, or refused where edi.toml says ``[billing] non_ascii = "refuse"``; a value still
    outside ASCII is refused, and so is any invisible format character (category Cf), which would make what a
    person reads differ from what is sent. (A lone surrogate or control character is check_delimiters'.)"""
    refuse = ctx.config is not None and ctx.config.billing.non_ascii == "refuse"
    out = [_p(enc, "encounter.text.not_ascii", f"{path} holds letters outside ASCII, which X12 does not carry, "
              "and edi.toml says non_ascii = \"refuse\"", path) if refuse else
           _p(enc, "encounter.text.transliterated", f"{path} held letters outside ASCII, which X12 does not carry: "
              "sent spelled in ASCII (accents dropped)", path, WARNING)
           for path in enc.transliterated]
    if _text_of(enc).isascii():
        return out
    for path, text in _written(enc):
        if text.isascii() or path.startswith("transliterated") or UNWRITABLE_TEXT.search(text) is not None:
            continue
        invisible = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"})
        if invisible:
            out.append(_p(enc, "encounter.text.invisible", f"{path} holds an invisible format character "
                          f"({', '.join(invisible)}): what is read would differ from what is sent", path))
        else:
            out.append(_p(enc, "encounter.text.not_ascii", f"{path} holds characters outside ASCII that have no "
                          "ASCII spelling (X12 carries ASCII only)", path))
    return out


# -- element lengths ------------------------------------------------------------------------------------------

#: The encounter fields that go into length-limited 837 elements (edi.x837.formats): a longer value makes the
#: whole transaction set fail the clearinghouse's syntax check (a 999 rejection of every claim in it).
_PERSON_LENGTHS = (("last_name", NAME_LENGTH), ("first_name", FIRST_NAME_LENGTH),
                   ("middle_name", MIDDLE_NAME_LENGTH))
_PROVIDER_LENGTHS = (("name", NAME_LENGTH), ("first_name", FIRST_NAME_LENGTH), ("middle_name", MIDDLE_NAME_LENGTH))
_ADDRESS_LENGTHS = (("line1", ADDRESS_LINE_LENGTH), ("line2", ADDRESS_LINE_LENGTH), ("city", CITY_LENGTH))
_SUBSCRIBER_LENGTHS = (("member_id", ID_LENGTH), ("group_number", GROUP_NUMBER_LENGTH),
                       ("group_name", GROUP_NAME_LENGTH))
_CLAIM_LENGTHS = (("payer_claim_number", REF_LENGTH), ("prior_authorization", REF_LENGTH),
                  ("referral_number", REF_LENGTH), ("medical_record_number", REF_LENGTH), ("note", TEXT_LENGTH))
_LINE_LENGTHS = (("description", TEXT_LENGTH),)


def _lengths(enc: Encounter, value: Any, base: str, limits: Iterable[tuple[str, tuple[int, int]]],
             out: list[Problem]) -> None:
    for name, (low, high) in limits:
        text = getattr(value, name)
        if text is not None and not low <= len(text) <= high:
            path = f"{base}.{name}" if base else name
            what = f"at most {high}" if low == 1 else f"{low} to {high}"
            out.append(_p(enc, "encounter.length", f"{path} has {len(text)} characters; the X12 element it "
                          f"goes into holds {what}", path))


def check_lengths(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    out: list[Problem] = []
    _lengths(enc, enc, "", _CLAIM_LENGTHS, out)
    for role in ("billing_provider", "rendering_provider", "referring_provider", "service_facility",
                 "attending_provider", "operating_provider"):
        provider = getattr(enc, role)
        if provider is not None:
            _lengths(enc, provider, role, _PROVIDER_LENGTHS, out)
            if provider.address is not None:
                _lengths(enc, provider.address, f"{role}.address", _ADDRESS_LENGTHS, out)
    for role, person, _ in _people(enc):
        _lengths(enc, person, role, _PERSON_LENGTHS, out)
        if role != "patient":
            _lengths(enc, person, role, _SUBSCRIBER_LENGTHS, out)
        if person.address is not None:
            _lengths(enc, person.address, f"{role}.address", _ADDRESS_LENGTHS, out)
    for i, ln in enumerate(enc.lines, 1):
        _lengths(enc, ln, f"lines[{i}]", _LINE_LENGTHS, out)
    return out


def check_required(enc: Encounter, ctx: CheckContext) -> list[Problem]:
    return missing_fields(enc)


CHECKS: tuple[Check, ...] = (
    check_required,
    check_id,
    check_frequency,
    check_payer,
    check_coverages,
    check_providers,
    check_people,
    check_diagnoses,
    check_lines,
    check_place_of_service,
    check_dates,
    check_institutional,
    check_lengths,
    check_delimiters,
    check_text,
)


def check_encounter(enc: Encounter, config: Config | None, *, today: date) -> list[Problem]:
    """Run every check on one encounter. ``config`` may be ``None`` to skip the payer check."""
    ctx = CheckContext(today=today, config=config)
    out: list[Problem] = []
    for check in CHECKS:
        out += check(enc, ctx)
    return out


# -- the batch ------------------------------------------------------------------------------------------------


class ClaimKey(NamedTuple):
    """What the batch checks need of one encounter: its id, frequency and file, and the fingerprint (sha256 of its
    837 text, ``mappings.claims.fingerprint``) and charge of the claim it makes (None when it makes none, or was
    not formatted). Small and plain: the build's worker processes send one back per encounter."""

    id: str
    frequency: str
    file: str | None
    fingerprint: str | None = None
    charge: Decimal | None = None

    def __reduce__(self) -> tuple:
        # pickled as a plain tuple and rebuilt by tuple.__new__ (no Python code runs): the build's main process,
        # its bottleneck, unpickles one per encounter from the workers
        return (tuple.__new__, (ClaimKey, tuple(self)))

    def where(self, element: str | None = None) -> Where:
        """Where a problem about this encounter sits (as ``Encounter.where`` puts it)."""
        return Where(file=self.file, record=printable(self.id), element=element)


class BatchChecks:
    """Checks across encounters: ids unique in the batch, and originals not already billed.

    ``already_billed(claim_id) -> bool`` is the caller's hook (the ledger); it is asked only about originals
    (frequency 1) that passed every other check. ``already_sent(claim_id, frequency, fingerprint, charge) ->
    bool``, asked about replacements and voids (7, 8) whose claim text is known (``ClaimKey.fingerprint``) and
    that passed every other check, says whether that very claim was built before: the same input built twice
    would otherwise bill its corrections twice (an original is caught by its id; a new correction of the same
    claim, which reuses its id, differs in its text). The ids seen are kept in little memory (``SeenIds``);
    ``close`` lets go of the temporary file that holds them."""

    def __init__(self, already_billed: Callable[[str], bool] | None = None,
                 already_sent: Callable[[str, str, str, Decimal], bool] | None = None) -> None:
        self.already_billed = already_billed
        self.already_sent = already_sent
        self._seen = SeenIds()

    def seen(self, key: ClaimKey) -> list[Problem]:
        """Call for every encounter of the batch, in order (good or bad)."""
        again, first = self._seen.add(key.id, key.file)
        if again:
            where = f" (first seen in {first})" if first else ""
            return [_k(key, "encounter.id.duplicate", f"id is used by another encounter of this batch{where}; "
                       "each claim needs its own patient control number", "id")]
        return []

    def problems(self, key: ClaimKey, found: list[Problem], checked: list[Problem], writable: bool
                 ) -> list[Problem]:
        """All of one encounter's problems, in order: its source's (``found``), the batch's, its own checks'
        (``checked``); the ledger is asked whether it was billed only when it is ``writable`` and has no error
        so far. Call for every encounter of the batch, in order."""
        out = [*found, *self.seen(key), *checked]
        if writable and not has_errors(out):
            out += self.billed(key)
        return out

    def billed(self, key: ClaimKey) -> list[Problem]:
        """Call for an encounter that passed every other check."""
        if self.already_billed is not None and key.frequency == "1" and self.already_billed(key.id):
            return [_k(key, "encounter.id.billed", "id was already billed; to correct that claim send a "
                       "replacement (frequency 7) or void (8) with payer_claim_number, or use a new id", "id")]
        if self.already_sent is not None and key.frequency in ("7", "8") and key.fingerprint is not None \
                and key.charge is not None \
                and self.already_sent(key.id, key.frequency, key.fingerprint, key.charge):
            what = "replacement (frequency 7)" if key.frequency == "7" else "void (frequency 8)"
            return [_k(key, "encounter.id.billed", f"this {what} is already in the ledger (the same 837 text, or "
                       "the same charge for one recorded from a file); it is not sent twice", "id")]
        return []

    def close(self) -> None:
        self._seen.close()


def _k(key: ClaimKey, code: str, message: str, element: str | None) -> Problem:
    return Problem(code, message, ERROR, key.where(element))
