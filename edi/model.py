"""The domain model: frozen dataclasses, tuples for children, ``Decimal`` money, no I/O.

Claims (what an 837 carries, what mappings build and the ledger records) and remittances (what an 835
carries) are described here once, so the 837 writer and the 837 reader produce and consume the same
``Claim``, and the 835 reader and the ledger share ``ClaimPayment``.

Every parsed object carries ``source``: where it came from (file, interchange and transaction control
numbers, 1-based segment number in the file). Objects built from encounters carry ``source`` too, with the
encounter file and record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

#: A billed claim's statuses in the ledger, in the order of its life: built (in an 837 this ledger wrote),
#: submitted, accepted or rejected (by a 999/277CA), paid, denied or reversed (by an 835), voided or replaced
#: (by a later claim of frequency 8 or 7). Here, beside the model, so that reading them needs no database library.
CLAIM_STATUSES = ("built", "submitted", "accepted", "rejected", "paid", "denied", "reversed", "voided", "replaced")

ZERO = Decimal(0)

ClaimKind = Literal["professional", "institutional"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where an object came from. For X12: file, ISA13, ST02 and the segment number (1-based, in the file).
    For an encounter: ``file`` and ``record`` (the encounter id or line number)."""

    file: str | None = None
    interchange: str | None = None
    transaction: str | None = None
    segment: int | None = None
    record: str | None = None


# -- parties --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    zip: str
    line2: str | None = None
    country: str | None = None  # ISO country code, only outside the US


@dataclass(frozen=True, slots=True)
class Provider:
    """A billing, rendering, referring, attending or operating provider, or a service facility.

    ``name`` is the organization name, or the last name of a person (``entity = "1"``)."""

    name: str
    npi: str | None = None
    entity: Literal["1", "2"] = "2"  # NM102: 1 person, 2 organization
    first_name: str | None = None
    middle_name: str | None = None
    tax_id: str | None = None  # EIN (REF*EI) or SSN (REF*SY), digits only
    tax_id_qualifier: Literal["EI", "SY"] = "EI"
    taxonomy: str | None = None  # PRV03, NUCC provider taxonomy
    address: Address | None = None
    contact_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Subscriber:
    member_id: str
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    address: Address | None = None
    group_number: str | None = None  # SBR03
    group_name: str | None = None  # SBR04
    entity: Literal["1", "2"] = "1"


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient when not the subscriber (loop 2000C). ``relationship`` is PAT01 (01 spouse, 19 child,
    20 employee, 21 unknown, 39 organ donor, 40 cadaver donor, 53 life partner, G8 other)."""

    last_name: str
    first_name: str | None
    relationship: str
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    address: Address | None = None
    middle_name: str | None = None


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    payer_id: str  # NM109 with NM108 = PI
    filing_indicator: str = "CI"  # SBR09: CI commercial, MB Medicare B, MA Medicare A, MC Medicaid, BL BCBS...
    responsibility: str = "P"  # SBR01: P primary, S secondary, T tertiary
    address: Address | None = None


# -- claims ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A diagnosis code as sent in HI: no decimal point. ``qualifier`` is the HI qualifier (837P: ABK
    principal, ABF other; 837I: ABK principal, ABJ admitting, APR reason for visit, ABF other)."""

    code: str
    qualifier: str = "ABF"
    present_on_admission: str | None = None  # 837I HI0n-9: Y, N, U, W


@dataclass(frozen=True, slots=True)
class CodeDate:
    """An institutional code with a date or amount: occurrence (BH), occurrence span (BI), value (BE),
    condition (BG) or procedure (BBR/BBQ) codes."""

    qualifier: str
    code: str
    date: date | None = None
    date_end: date | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One service line (loop 2400). 837P: ``procedure`` (SV101) and ``place_of_service`` (SV105, only when
    it differs from the claim's). 837I: ``revenue_code`` (SV201) and an optional HCPCS ``procedure``."""

    number: int  # LX01
    charge: Decimal
    units: Decimal
    service_date: date | None = None
    service_date_end: date | None = None
    procedure: str | None = None
    procedure_qualifier: str = "HC"  # SV101-1 / SV202-1: HC (CPT/HCPCS), ER, IV, WK, N4...
    modifiers: tuple[str, ...] = ()
    revenue_code: str | None = None
    unit_basis: str = "UN"  # SV103 / SV204: UN units, MJ minutes (anesthesia), DA days
    diagnosis_pointers: tuple[int, ...] = ()  # 1-based indexes into the claim's diagnoses (837P SV107)
    place_of_service: str | None = None
    line_control_number: str | None = None  # REF*6R, echoed by payers in 835 REF*6R
    rendering_provider: Provider | None = None
    description: str | None = None
    source: Source | None = None
    #: How each prior payer adjudicated this line (loops 2430), in order; empty on a claim to the first payer.
    adjudications: tuple[LineAdjudication, ...] = ()


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim (loop 2300 with its subscriber, patient and providers). ``total_charge`` equals the sum of the
    line charges (the writer checks it)."""

    kind: ClaimKind
    patient_control_number: str  # CLM01
    total_charge: Decimal  # CLM02
    billing_provider: Provider
    subscriber: Subscriber
    payer: Payer
    diagnoses: tuple[Diagnosis, ...]
    lines: tuple[ServiceLine, ...]
    frequency: str = "1"  # CLM05-3: 1 original, 7 replacement, 8 void
    place_of_service: str | None = None  # 837P CLM05-1 (facility code, qualifier B)
    bill_type: str | None = None  # 837I: facility type + frequency, e.g. "131" (CLM05-1 "13", CLM05-3 "1")
    patient: Patient | None = None  # None when the subscriber is the patient
    payer_claim_number: str | None = None  # REF*F8, the payer's number of the claim a 7 or 8 replaces
    prior_authorization: str | None = None  # REF*G1
    referral_number: str | None = None  # REF*9F
    medical_record_number: str | None = None  # REF*EA
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    service_facility: Provider | None = None
    attending_provider: Provider | None = None  # 837I 2310A
    operating_provider: Provider | None = None  # 837I 2310B
    provider_signature: bool = True  # CLM06
    assignment: str = "A"  # CLM07 assignment or plan participation: A, B, C
    benefits_assigned: bool = True  # CLM08
    release_of_information: str = "Y"  # CLM09: Y or I
    accident_cause: tuple[str, ...] = ()  # CLM11: AA auto, EM employment, OA other accident
    onset_date: date | None = None  # 837P DTP*431
    statement_from: date | None = None  # 837I DTP*434
    statement_to: date | None = None
    admission_date: date | None = None  # 837I DTP*435
    admission_hour: str | None = None  # HHMM
    admission_type: str | None = None  # 837I CL101
    admission_source: str | None = None  # 837I CL102
    discharge_status: str | None = None  # 837I CL103 (patient status)
    discharge_hour: str | None = None  # 837I DTP*096
    institutional_codes: tuple[CodeDate, ...] = ()  # condition, occurrence, value and procedure codes
    note: str | None = None  # NTE*ADD
    source: Source | None = None
    #: The claim's other payers (loops 2320/2330A/2330B), in the order the claim lists them: on a secondary
    #: claim the primary with its adjudication; on a primary, the coverages that follow it (no adjudication).
    other_payers: tuple[OtherPayer, ...] = ()

    @property
    def line_total(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), ZERO)

    @property
    def first_service_date(self) -> date | None:
        dates = [ln.service_date for ln in self.lines if ln.service_date] or \
            [d for d in (self.statement_from,) if d]
        return min(dates) if dates else None


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who sends the 837 (loop 1000A) and to whom (1000B)."""

    name: str
    id: str
    contact_name: str
    phone: str | None = None
    email: str | None = None
    receiver_name: str = ""
    receiver_id: str = ""


# -- other payers (coordination of benefits: 837 loops 2320, 2330A, 2330B, 2430) ----------------------------


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """How a prior payer adjudicated one service line (loop 2430), as its 835 SVC loop said: the claim to the
    next payer repeats it. A line split by the payer has one per piece. The TR3 balances each payer's pieces
    of a line: line charge = sum of ``paid`` + sum of ``adjustments``."""

    payer_id: str  # SVD01: the other payer's id, its 2330B NM109 (OtherPayer.payer.payer_id)
    paid: Decimal  # SVD02 (0 for a denied line)
    units: Decimal  # SVD05, the paid units
    procedure: str | None = None  # SVD03-2 as adjudicated (an 837I line may carry only its revenue code)
    procedure_qualifier: str = "HC"  # SVD03-1: HC, ER, IV, WK (HP on 837I)
    modifiers: tuple[str, ...] = ()  # SVD03-3..6
    description: str | None = None  # SVD03-7
    revenue_code: str | None = None  # SVD04, 837I only (required there)
    bundled_line: int | None = None  # SVD06: the LX01 of the line this one was bundled into or unbundled from
    adjustments: tuple[Adjustment, ...] = ()  # line-level CAS, exactly as the 835 line
    adjudication_date: date | None = None  # DTP*573; None: the other payer's adjudication_date
    remaining_patient_liability: Decimal | None = None  # AMT*EAF
    source: Source | None = None

    @property
    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


@dataclass(frozen=True, slots=True)
class OtherPayer:
    """Another payer of the claim (loop 2320 with 2330A/2330B). ``payer`` carries its name and id (2330B),
    ``responsibility`` (SBR01: P, S, T...) and ``filing_indicator`` (SBR09); ``subscriber`` the person that
    coverage belongs to (2330A) and its group (SBR03/SBR04); ``relationship`` is the patient's relationship
    to that subscriber (SBR02: 18 self, 01 spouse, 19 child...).

    When that payer has adjudicated the claim (``paid`` is set, AMT*D), its claim-level ``adjustments``
    (CAS) and the lines' :class:`LineAdjudication` s of that payer balance the claim the TR3's way: claim
    charge = ``paid`` + claim-level adjustments + every line-level adjustment of that payer."""

    payer: Payer
    subscriber: Subscriber
    relationship: str = "18"  # SBR02
    insurance_type: str | None = None  # SBR05, 837P only (Medicare secondary: 12, 13, 14, 15, 16, 41, 42, 43, 47)
    paid: Decimal | None = None  # AMT*D: None when that payer has not adjudicated the claim
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS, exactly as the payer's 835 claim
    non_covered: Decimal | None = None  # AMT*A8 (cost avoidance: the payer was bypassed)
    remaining_patient_liability: Decimal | None = None  # AMT*EAF
    benefits_assigned: str = "Y"  # OI03: Y, N or W (not applicable)
    patient_signature_source: str | None = None  # OI04 (837P): P
    release_of_information: str = "Y"  # OI06: Y or I
    outpatient: tuple[str, ...] | None = None  # MOA01... as the payer's 835 sent them (remark codes in 03-07)
    inpatient: tuple[str, ...] | None = None  # MIA01... (837I; MIA02 is not carried by the 837)
    adjudication_date: date | None = None  # 2330B DTP*573, when no line of the claim carries its own
    claim_number: str | None = None  # 2330B REF*F8: the payer's claim control number (835 CLP07)
    prior_authorization: str | None = None  # 2330B REF*G1
    referral_number: str | None = None  # 2330B REF*9F
    subscriber_ssn: str | None = None  # 2330A REF*SY, nine digits
    source: Source | None = None

    @property
    def adjudicated(self) -> bool:
        return self.paid is not None

    @property
    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


# -- remittances (835) --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet: group (CO, PR, OA, PI, CR), reason (CARC), amount, quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Name:
    """An NM1 in an 835 claim loop: patient (QC), insured (IL), corrected patient (74), crossover carrier
    (TT), rendering provider (82), corrected priority payer (PR)."""

    entity: str
    last_or_org: str
    first: str | None = None
    middle: str | None = None
    id_qualifier: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """A REF, AMT, QTY, LQ or DTM kept as (qualifier, value): the value is a string, a Decimal or a date."""

    qualifier: str
    value: object


@dataclass(frozen=True, slots=True)
class ServicePayment:
    """One SVC loop (2110)."""

    procedure_qualifier: str  # SVC01-1: HC, NU (revenue code), AD, ER, IV, N4, WK, ZZ...
    procedure: str
    modifiers: tuple[str, ...]
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    revenue_code: str | None = None  # SVC04
    units: Decimal | None = None  # SVC05 (paid units)
    original_procedure_qualifier: str | None = None  # SVC06, when the payer restated the procedure
    original_procedure: str | None = None
    original_modifiers: tuple[str, ...] = ()
    original_units: Decimal | None = None  # SVC07
    service_date: date | None = None  # DTM*472, or DTM*150
    service_date_end: date | None = None  # DTM*151
    line_control_number: str | None = None  # REF*6R
    references: tuple[Reference, ...] = ()  # other REF
    adjustments: tuple[Adjustment, ...] = ()
    allowed: Decimal | None = None  # AMT*B6
    amounts: tuple[Reference, ...] = ()  # other AMT
    quantities: tuple[Reference, ...] = ()
    remarks: tuple[Reference, ...] = ()  # LQ*HE (RARC) / LQ*RX (NCPDP reject)
    unknown: tuple[tuple[str, ...], ...] = ()  # segments the reader did not expect, kept verbatim
    source: Source | None = None

    @property
    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)


CLAIM_STATUS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """One CLP loop (2100) with its service lines, as the payer adjudicated it."""

    patient_control_number: str  # CLP01
    status: str  # CLP02
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal | None  # CLP05
    filing_indicator: str | None  # CLP06
    payer_claim_number: str | None  # CLP07
    facility_type: str | None = None  # CLP08
    frequency: str | None = None  # CLP09
    drg: str | None = None  # CLP11
    drg_weight: Decimal | None = None  # CLP12
    discharge_fraction: Decimal | None = None  # CLP13
    patient: Name | None = None  # NM1*QC
    insured: Name | None = None  # NM1*IL
    corrected_patient: Name | None = None  # NM1*74
    service_provider: Name | None = None  # NM1*82
    crossover_carrier: Name | None = None  # NM1*TT
    other_names: tuple[Name, ...] = ()  # NM1*PR corrected priority payer, NM1*GB other subscriber
    statement_from: date | None = None  # DTM*232
    statement_to: date | None = None  # DTM*233
    received: date | None = None  # DTM*050
    coverage_expiration: date | None = None  # DTM*036
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    inpatient: tuple[str, ...] | None = None  # MIA elements (MIA01...)
    outpatient: tuple[str, ...] | None = None  # MOA elements (MOA01...)
    references: tuple[Reference, ...] = ()
    amounts: tuple[Reference, ...] = ()  # AMT (AU coverage amount, D8 discount, I interest...)
    quantities: tuple[Reference, ...] = ()
    lines: tuple[ServicePayment, ...] = ()
    unknown: tuple[tuple[str, ...], ...] = ()
    source: Source | None = None
    remittance: Remittance | None = field(default=None, compare=False, repr=False)

    @property
    def status_text(self) -> str:
        return CLAIM_STATUS.get(self.status, f"status {self.status}")

    @property
    def is_reversal(self) -> bool:
        return self.status == "22"

    @property
    def is_denial(self) -> bool:
        return self.status == "4"

    def all_adjustments(self) -> tuple[Adjustment, ...]:
        """Claim-level then line-level adjustments."""
        return self.adjustments + tuple(a for ln in self.lines for a in ln.adjustments)


@dataclass(frozen=True, slots=True)
class Contact:
    function: str  # PER01: BL technical, CX claims, IC information
    name: str | None
    numbers: tuple[tuple[str, str], ...] = ()  # (qualifier, number): TE, EM, FX, UR, EX


@dataclass(frozen=True, slots=True)
class RemitParty:
    """Payer (N1*PR, loop 1000A) or payee (N1*PE, 1000B)."""

    name: str
    id_qualifier: str | None = None  # N103: XV (CMS plan id), XX (NPI), FI (TIN), PI...
    id: str | None = None
    address: Address | None = None
    references: tuple[Reference, ...] = ()  # REF*2U payer id, REF*TJ payee TIN, REF*PQ...
    contacts: tuple[Contact, ...] = ()

    def reference(self, qualifier: str) -> str | None:
        for r in self.references:
            if r.qualifier == qualifier:
                return str(r.value)
        return None


@dataclass(frozen=True, slots=True)
class Remittance:
    """The header of one 835 transaction set: the payment (BPR), its trace (TRN), payer and payee."""

    control_number: str  # ST02
    handling: str  # BPR01: I remittance with payment, H notification only, C payment only, D, P, U, X
    amount: Decimal  # BPR02
    credit_debit: str  # BPR03: C credit, D debit
    method: str  # BPR04: ACH, BOP, CHK, FWT, NON
    payment_format: str | None = None  # BPR05: CCP, CTX
    sender_bank: tuple[str, ...] = ()  # BPR06..BPR11 (DFI qualifier, id, account qualifier, account, company id)
    receiver_bank: tuple[str, ...] = ()  # BPR12..BPR15
    payment_date: date | None = None  # BPR16
    trace_number: str | None = None  # TRN02 (check or EFT number)
    trace_originator: str | None = None  # TRN03
    trace_supplemental: str | None = None  # TRN04
    production_date: date | None = None  # DTM*405
    receiver_id: str | None = None  # REF*EV
    version: str | None = None  # REF*F2 / ST03 / GS08
    payer: RemitParty | None = None
    payee: RemitParty | None = None
    interchange: str | None = None
    group: str | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB adjustment pair. A positive amount reduces the payment (BPR02 = sum CLP04 - sum PLB)."""

    provider_id: str  # PLB01
    fiscal_period: date | None  # PLB02
    reason: str  # PLB03-1: L6 interest, WO overpayment recovery, FB forward balance, 72 authorized return...
    reference: str | None  # PLB03-2, e.g. the claim (patient control number) an offset refers to
    amount: Decimal
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class RemittanceEnd:
    """The end of one 835 transaction set: provider adjustments and what the transaction held."""

    remittance: Remittance
    provider_adjustments: tuple[ProviderAdjustment, ...]
    claim_count: int
    paid_total: Decimal  # sum of CLP04
    source: Source | None = None
    #: Segments kept verbatim that belong to the transaction rather than to a claim: TS3/TS2 provider
    #: summaries of an LX group, CUR, RDM, repeated header segments, unexpected segments.
    other: tuple[tuple[str, ...], ...] = ()

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((p.amount for p in self.provider_adjustments), ZERO)


# -- fast construction for readers --------------------------------------------------------------------------


def mutable_twin(cls):
    """A mutable dataclass with the very same slots as the frozen, slotted dataclass ``cls``, for readers that
    build hundreds of thousands of objects:

        obj = twin(...)           # same arguments as cls(...), about four times faster
        obj.__class__ = cls       # now an ordinary, immutable cls instance, equal to cls(...)

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; the twin sets them
    directly. The two classes have the same memory layout, so switching the class is allowed and safe
    (tests/edi/test_reader_speed_invariants.py checks equality with the normal constructor).
    """
    import dataclasses

    fields = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            fields.append((f.name, f.type, dataclasses.field(default=f.default)))
        elif f.default_factory is not dataclasses.MISSING:
            fields.append((f.name, f.type, dataclasses.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, f.type))
    twin = dataclasses.make_dataclass("_Mutable" + cls.__name__, fields, slots=True, eq=False, repr=False)
    if twin.__slots__ != cls.__slots__:  # pragma: no cover - guards the layout assumption
        raise TypeError(f"{cls.__name__}: unexpected slots layout")
    return twin


def fast_new(cls):
    """A constructor for the frozen, slotted dataclass ``cls`` taking the same arguments as ``cls(...)`` and
    giving an equal object, about four times faster (built through its mutable twin, then switched to
    ``cls``). For the mapping and writing hot paths, which build several model objects per claim."""
    twin = mutable_twin(cls)

    def new(*args, **kwargs):
        obj = twin(*args, **kwargs)
        obj.__class__ = cls
        return obj

    new.__name__ = new.__qualname__ = f"fast_new({cls.__name__})"
    return new


_REPLACERS: dict[type, object] = {}


def fast_replace(obj, /, **changes):
    """``dataclasses.replace(obj, **changes)`` for the frozen, slotted model classes, several times faster: the
    new object is filled slot by slot from ``changes`` or ``obj`` (no ``__init__``: the model classes have no
    ``__post_init__``). An unknown field name raises TypeError, as ``replace`` does."""
    cls = type(obj)
    replacer = _REPLACERS.get(cls)
    if replacer is None:
        replacer = _REPLACERS[cls] = _make_replacer(cls)
    return replacer(obj, changes)


def _make_replacer(cls):
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]
    if "__post_init__" in vars(cls):  # pragma: no cover - guards the no-__init__ shortcut
        raise TypeError(f"{cls.__name__} has a __post_init__; use dataclasses.replace")
    twin = mutable_twin(cls)
    lines = ["def replace(obj, changes, _new=_new, _twin=_twin, _cls=_cls, _names=_names):",
             "    if not changes.keys() <= _names:",
             "        raise TypeError(f'unknown field(s) for {_cls.__name__}: {sorted(changes.keys() - _names)}')",
             "    new = _new(_twin)",
             "    get = changes.get"]
    lines += [f"    new.{n} = get({n!r}, obj.{n})" for n in names]
    lines += ["    new.__class__ = _cls", "    return new"]
    scope = {"_new": object.__new__, "_twin": twin, "_cls": cls, "_names": frozenset(names)}
    exec("\n".join(lines), scope)  # noqa: S102 - generated from the dataclass's own field names
    return scope["replace"]
