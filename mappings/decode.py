"""Typed decoding of one NDJSON encounter line with msgspec: the fast path of
``mappings.sources.json_source.ndjson_line``.

``encounter_from_dict`` (the parser of ``mappings.encounter``) reads any dict, reports every problem by field
path and never raises; with ``json.loads`` before it, it was the largest cost of a claims build. Most lines a
build reads are well formed, so ``encounter_from_json_line`` decodes the line's bytes with msgspec straight into
structs that mirror the JSON shape (keys and types checked in C, no intermediate dicts) and converts them to the
very ``Encounter`` the parser would build, with the very problems (those of ``missing_fields``, the only ones a
well-formed encounter can have).

It returns ``None``, and the caller uses the parser, for anything it does not reproduce exactly:

- bytes outside ASCII or a ``\\u`` escape: text the parser may transliterate, or Unicode whitespace that
  ``str.strip`` removes;
- whatever msgspec refuses: invalid JSON, an unknown key (the parser warns ``encounter.field.unknown``), a type
  the structs do not take (a number where a string belongs, a list given as a colon-separated string, money as
  a JSON number, a date other than ``YYYY-MM-DD``), ``NaN`` and the other literals only Python's ``json`` reads;
- a value the parser reports: a required field absent or blank, ``name`` and ``last_name`` both given, a bad
  hour, entity, tax id qualifier, decimal or kind, an empty ``coverages``, or ``coverages`` and the single form
  (``payer``, ``subscriber``, ``patient``) both given and disagreeing.

An encounter with several coverages (``coverages``) takes the fast path like any other: its primary gives the
encounter's payer, subscriber and patient as ``mappings.encounter`` says.

So an encounter and its problems are the same whichever path read the line: ``tests/mappings/test_decode.py``
compares both on the samples, the generators and hypothesis-mutated encounters, and ``benchmarks/decode.py``
measures them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from edi.model import Address, Source, fast_new
from edi.problems import Problem
from mappings.encounter import (
    Admission,
    CodeAmount,
    CodeOnDate,
    CodeSpan,
    Encounter,
    EncounterCoverage,
    EncounterDiagnosis,
    EncounterLine,
    EncounterPatient,
    EncounterProvider,
    EncounterSubscriber,
    missing_fields,
    printable,
)

__all__ = ["encounter_from_json_line"]

# -- the JSON shape -------------------------------------------------------------------------------------------
# One struct per object of the encounter dict (see mappings.encounter), with the parser's keys: a key the parser
# does not know is refused (forbid_unknown_fields) and read by the parser, which warns about it. Every field is
# optional, as in the dict: a required one that is absent is found by the conversion, like a blank one.
# gc=False: decoded values hold no reference cycles, so the collector need not track them.


class _Shape(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    pass


class AddressJSON(_Shape):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


class ProviderJSON(_Shape):
    npi: str | None = None
    name: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    entity: str | None = None
    tax_id: str | None = None
    tax_id_qualifier: str | None = None
    taxonomy: str | None = None
    address: AddressJSON | None = None


class SubscriberJSON(_Shape):
    member_id: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    address: AddressJSON | None = None
    group_number: str | None = None
    group_name: str | None = None


class PatientJSON(_Shape):
    relationship: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    address: AddressJSON | None = None


class CoverageJSON(_Shape):
    payer: str | None = None
    relationship: str | None = None
    subscriber: SubscriberJSON | None = None


class DiagnosisJSON(_Shape):
    code: str | None = None
    poa: str | None = None


class LineJSON(_Shape):
    procedure: str | None = None
    modifiers: list[str] | None = None
    charge: str | None = None
    units: str | None = None
    diagnosis_pointers: list[int] | None = None
    service_date: dt.date | None = None
    service_date_end: dt.date | None = None
    line_id: str | None = None
    revenue_code: str | None = None
    unit_basis: str | None = None
    place_of_service: str | None = None
    description: str | None = None


class AdmissionJSON(_Shape):
    date: dt.date | None = None
    hour: str | None = None
    type: str | None = None
    source: str | None = None


class CodeOnDateJSON(_Shape):
    code: str | None = None
    date: dt.date | None = None


class CodeSpanJSON(_Shape):
    code: str | None = None
    start: dt.date | None = msgspec.field(default=None, name="from")
    end: dt.date | None = msgspec.field(default=None, name="to")


class CodeAmountJSON(_Shape):
    code: str | None = None
    amount: str | None = None


class EncounterJSON(_Shape):
    id: str | None = None
    kind: str | None = None
    payer: str | None = None
    frequency: str | None = None
    payer_claim_number: str | None = None
    billing_provider: ProviderJSON | None = None
    rendering_provider: ProviderJSON | None = None
    referring_provider: ProviderJSON | None = None
    service_facility: ProviderJSON | None = None
    attending_provider: ProviderJSON | None = None
    operating_provider: ProviderJSON | None = None
    subscriber: SubscriberJSON | None = None
    patient: PatientJSON | None = None
    place_of_service: str | None = None
    diagnoses: list[str | DiagnosisJSON] | None = None
    prior_authorization: str | None = None
    referral_number: str | None = None
    medical_record_number: str | None = None
    onset_date: dt.date | None = None
    note: str | None = None
    lines: list[LineJSON] | None = None
    bill_type: str | None = None
    statement_from: dt.date | None = None
    statement_to: dt.date | None = None
    admission: AdmissionJSON | None = None
    discharge_status: str | None = None
    discharge_hour: str | None = None
    admitting_diagnosis: str | None = None
    reason_for_visit: list[str] | None = None
    condition_codes: list[str] | None = None
    occurrence_codes: list[CodeOnDateJSON] | None = None
    occurrence_spans: list[CodeSpanJSON] | None = None
    value_codes: list[CodeAmountJSON] | None = None
    principal_procedure: CodeOnDateJSON | None = None
    other_procedures: list[CodeOnDateJSON] | None = None
    coverages: list[CoverageJSON] | None = None


_DECODER = msgspec.json.Decoder(EncounterJSON)

# -- building the values --------------------------------------------------------------------------------------


def _positional(cls: type, fields: str) -> Callable[..., Any]:
    """``cls``'s constructor through ``edi.model.fast_new``, taking ``fields`` by position, after checking that
    they are ``cls``'s fields in this order (a field added or moved fails at import, not in the output).

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, and keyword arguments are
    matched one by one: with the plain constructors the fast path is markedly slower (``benchmarks/decode.py``
    prints both). The encounter's own classes only: ``edi.model``'s are built by keyword."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    if names != tuple(fields.split()):
        raise TypeError(f"{cls.__name__} fields changed: {names}; update mappings/decode.py")
    return fast_new(cls)


_Address, _Source = fast_new(Address), fast_new(Source)
_Provider = _positional(EncounterProvider, "name npi first_name middle_name entity tax_id tax_id_qualifier "
                                           "taxonomy address")
_Subscriber = _positional(EncounterSubscriber, "member_id last_name first_name middle_name birth_date sex "
                                               "address group_number group_name")
_Patient = _positional(EncounterPatient, "relationship last_name first_name middle_name birth_date sex address")
_Coverage = _positional(EncounterCoverage, "payer subscriber relationship")
_Diagnosis = _positional(EncounterDiagnosis, "code poa")
_Line = _positional(EncounterLine, "charge units procedure modifiers diagnosis_pointers service_date "
                                   "service_date_end line_id revenue_code unit_basis place_of_service description")
_Encounter = _positional(Encounter, """
    id kind payer billing_provider subscriber diagnoses lines frequency payer_claim_number patient
    rendering_provider referring_provider service_facility place_of_service prior_authorization referral_number
    medical_record_number onset_date note bill_type statement_from statement_to admission discharge_status
    discharge_hour attending_provider operating_provider admitting_diagnosis reason_for_visit condition_codes
    occurrence_codes occurrence_spans value_codes principal_procedure other_procedures source transliterated
    coverages""")


# -- the conversion -------------------------------------------------------------------------------------------
# Each helper does to a str what the parser's reader does (strip; blank is absent; codes upper-cased) and raises
# _Unusual where the parser would report a problem.


class _Unusual(Exception):
    """This line is not for the fast path: the parser reads it, and reports what is wrong with it."""


def _text(v: str | None) -> str | None:
    return (v.strip() or None) if v is not None else None


def _upper(v: str | None) -> str | None:
    return (v.strip().upper() or None) if v is not None else None


def _required(v: str | None) -> str:
    if v is None or not (s := v.strip()):
        raise _Unusual  # encounter.field.missing
    return s


def _required_date(v: dt.date | None) -> dt.date:
    if v is None:
        raise _Unusual  # encounter.field.missing
    return v


def _money(v: str | None) -> Decimal:
    """The parser's ``decimal`` of a required string: ``Decimal(v)``, finite."""
    if v is None:
        raise _Unusual
    try:
        out = Decimal(v)
    except InvalidOperation:
        raise _Unusual from None
    if not out.is_finite():
        raise _Unusual
    return out


def _codes(v: list[str] | None) -> tuple[str, ...]:
    """The parser's ``code_list`` of strings: blank items dropped, the others upper-cased."""
    return tuple([s.upper() for item in v if (s := item.strip())]) if v else ()


def _hour(v: str | None) -> str | None:
    s = _text(v)
    if s is None:
        return None
    hhmm = s.replace(":", "", 1) if len(s) == 5 else s
    if len(hhmm) == 4 and hhmm.isascii() and hhmm.isdigit() and int(hhmm[:2]) < 24 and int(hhmm[2:]) < 60:
        return hhmm
    raise _Unusual  # encounter.field.format


def _address(a: AddressJSON) -> Address:
    zip_ = _required(a.zip)
    if len(zip_) == 10 and zip_[5] == "-":
        zip_ = zip_[:5] + zip_[6:]
    return _Address(line1=_required(a.line1), city=_required(a.city), state=_required(a.state).upper(), zip=zip_,
                    line2=_text(a.line2))


_ENTITIES = {"person": "1", "1": "1", "organization": "2", "2": "2"}


def _provider(p: ProviderJSON, *, npi: bool = True, tax_id: bool = False,
              address: bool = False) -> EncounterProvider:
    if p.name is not None:
        if p.last_name is not None:
            raise _Unusual  # encounter.field.conflict
        name = _required(p.name)
    else:
        name = _required(p.last_name)
    first = _text(p.first_name)
    entity = "1" if first else "2"
    if p.entity is not None and (entity_text := p.entity.strip()):
        mapped = _ENTITIES.get(entity_text.lower())
        if mapped is None:
            raise _Unusual  # encounter.field.format
        entity = mapped
    tin = _required(p.tax_id) if tax_id else _text(p.tax_id)
    if tin is not None:
        tin = tin.replace("-", "")
    qual = _upper(p.tax_id_qualifier) or "EI"
    if qual != "EI" and qual != "SY":
        raise _Unusual  # encounter.field.format
    if p.address is not None:
        addr: Address | None = _address(p.address)
    elif address:
        raise _Unusual
    else:
        addr = None
    return _Provider(name, _required(p.npi) if npi else _text(p.npi), first, _text(p.middle_name), entity, tin,
                     qual, _upper(p.taxonomy), addr)


def _subscriber(s: SubscriberJSON) -> EncounterSubscriber:
    return _Subscriber(_required(s.member_id), _required(s.last_name), _text(s.first_name), _text(s.middle_name),
                       s.birth_date, _upper(s.sex), _address(s.address) if s.address is not None else None,
                       _text(s.group_number), _text(s.group_name))


def _patient(pt: PatientJSON, relationship: str) -> EncounterPatient:
    if pt.address is None:
        raise _Unusual  # encounter.field.missing
    return _Patient(relationship, _required(pt.last_name), _required(pt.first_name), _text(pt.middle_name),
                    _required_date(pt.birth_date), _required(pt.sex).upper(), _address(pt.address))


def _coverage(c: CoverageJSON) -> EncounterCoverage:
    if c.subscriber is None:
        raise _Unusual  # encounter.field.missing
    return _Coverage(_required(c.payer), _subscriber(c.subscriber), _required(c.relationship).upper())


def _parties(d: EncounterJSON) -> tuple[str, EncounterSubscriber, EncounterPatient | None,
                                        tuple[EncounterCoverage, ...]]:
    """The payer, subscriber, patient and coverages, in the single form or the list form (the rules of
    ``mappings.encounter``: the first coverage is the primary, and the single form, when given too, agrees)."""
    pt = d.patient
    if d.coverages is None:
        if d.subscriber is None:
            raise _Unusual  # encounter.field.missing
        patient = _patient(pt, _required(pt.relationship).upper()) if pt is not None else None
        return _required(d.payer), _subscriber(d.subscriber), patient, ()
    if not d.coverages:
        raise _Unusual  # encounter.field.missing
    coverages = tuple([_coverage(c) for c in d.coverages])
    primary = coverages[0]
    payer = _text(d.payer)
    if payer is not None and payer != primary.payer:
        raise _Unusual  # encounter.coverages.conflict
    if d.subscriber is not None and _subscriber(d.subscriber) != primary.subscriber:
        raise _Unusual  # encounter.coverages.conflict
    relationship = primary.relationship
    if relationship == "18":
        if pt is not None:
            raise _Unusual  # encounter.coverages.conflict
        return primary.payer, primary.subscriber, None, coverages
    if pt is None:
        raise _Unusual  # encounter.field.missing
    own = _upper(pt.relationship)
    if own is not None and own != relationship:
        raise _Unusual  # encounter.coverages.conflict
    return primary.payer, primary.subscriber, _patient(pt, relationship), coverages


def _diagnoses(items: list[str | DiagnosisJSON] | None) -> tuple[EncounterDiagnosis, ...]:
    if not items:
        raise _Unusual  # encounter.field.missing: at least the principal diagnosis
    out = []
    for item in items:
        if isinstance(item, DiagnosisJSON):
            out.append(_Diagnosis(_required(item.code).upper(), _upper(item.poa)))
        elif code := item.strip():
            out.append(_Diagnosis(code.upper(), None))
        else:
            raise _Unusual
    return tuple(out)


def _line(ln: LineJSON) -> EncounterLine:
    pointers = ln.diagnosis_pointers
    return _Line(_money(ln.charge), _money(ln.units), _upper(ln.procedure), _codes(ln.modifiers),
                 tuple(pointers) if pointers else (), ln.service_date, ln.service_date_end, _text(ln.line_id),
                 _text(ln.revenue_code), _upper(ln.unit_basis), _text(ln.place_of_service), _text(ln.description))


def _code_on_date(c: CodeOnDateJSON) -> CodeOnDate:
    return CodeOnDate(_required(c.code).upper(), _required_date(c.date))


def _encounter(d: EncounterJSON, file: str | None) -> Encounter:
    enc_id = _required(d.id)
    kind = _required(d.kind).lower()
    if kind != "professional" and kind != "institutional":
        raise _Unusual  # encounter.kind
    bill_type = _upper(d.bill_type)
    frequency = _text(d.frequency)
    if frequency is None:
        frequency = bill_type[-1] if kind == "institutional" and bill_type else "1"
    if d.billing_provider is None or not d.lines:
        raise _Unusual  # encounter.field.missing
    payer, subscriber, patient, coverages = _parties(d)
    admission = None
    if (a := d.admission) is not None:
        admission = Admission(a.date, _hour(a.hour), _upper(a.type), _upper(a.source))
    r, f, o, t = d.rendering_provider, d.service_facility, d.attending_provider, d.operating_provider
    return _Encounter(
        enc_id, kind, payer, _provider(d.billing_provider, tax_id=True, address=True), subscriber,
        _diagnoses(d.diagnoses), tuple([_line(ln) for ln in d.lines]), frequency, _text(d.payer_claim_number),
        patient, _provider(r) if r is not None else None,
        _provider(d.referring_provider) if d.referring_provider is not None else None,
        _provider(f, npi=False, address=True) if f is not None else None, _text(d.place_of_service),
        _text(d.prior_authorization), _text(d.referral_number), _text(d.medical_record_number), d.onset_date,
        _text(d.note), bill_type, d.statement_from, d.statement_to, admission, _text(d.discharge_status),
        _hour(d.discharge_hour), _provider(o) if o is not None else None, _provider(t) if t is not None else None,
        _upper(d.admitting_diagnosis), _codes(d.reason_for_visit), _codes(d.condition_codes),
        tuple([_code_on_date(c) for c in d.occurrence_codes or ()]),
        tuple([CodeSpan(_required(c.code).upper(), _required_date(c.start), _required_date(c.end))
               for c in d.occurrence_spans or ()]),
        tuple([CodeAmount(_required(c.code).upper(), _money(c.amount)) for c in d.value_codes or ()]),
        _code_on_date(d.principal_procedure) if d.principal_procedure is not None else None,
        tuple([_code_on_date(c) for c in d.other_procedures or ()]),
        _Source(file=file, record=printable(enc_id)), (), coverages)


def encounter_from_json_line(raw: bytes, file: str | None = None) -> tuple[Encounter | None, list[Problem]] | None:
    """The encounter of one NDJSON line (its byte order mark removed) and its problems, exactly as
    ``encounter_from_dict`` gives them for the decoded line; or None when the line is not for the fast path (see
    the module's docstring) and the caller must use the parser."""
    if not raw.isascii() or b"\\u" in raw:
        return None
    try:
        enc = _encounter(_DECODER.decode(raw), file)
    except (msgspec.DecodeError, _Unusual):  # a ValidationError is a DecodeError
        return None
    problems = missing_fields(enc)
    return (None, problems) if problems else (enc, problems)
