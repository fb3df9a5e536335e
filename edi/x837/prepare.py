"""A claim as an 837 carries it, and the reasons a claim cannot be written.

    as_written, problems = prepare_claim(claim, "professional")

``as_written`` is the claim exactly as the 837 reader reads the written file back (``source`` aside): lines
numbered 1..n, a line control number (REF*6R) on every line (``<CLM01>-<n>`` when none was given), ICD codes
without the dot, diagnoses qualified by position (837P) or ordered by HI group (837I), ZIP codes without a
dash, a rendering provider only when it differs from the billing provider (837P) or the attending provider
(837I), and only the parts of each provider that its loop carries. The writer writes ``as_written``, and the
ledger should record it: the REF*6R an 835 echoes then matches a stored line.

Other payers (loops 2320/2330A/2330B) and line adjudications (2430) are checked and normalized by
:func:`edi.x837.cob.prepare_other_payers`: adjustments grouped one CAS per group, each line adjudication dated
(its own DTP*573, else its payer's, which then leaves 2330B), and every prior payer's adjudication balanced
the TR3's way (``837.write.cob_balance``).

``problems`` are errors with codes ``837.write.*``; a claim with any must not be written. The policy:

* a claim-level value its kind cannot carry (a bill type on an 837P, an onset date on an 837I, an 837P line
  with a revenue code) is **refused**, and so is anything that breaks the implementation guide or the
  balancing rule (CLM02 = sum of the line charges, at most 12 diagnoses per HI, REF*F8 on a replacement or
  void, a 9-digit ZIP code for the billing provider and service facility...);
* a part of a value that a loop does not carry (a rendering provider's address, a present-on-admission flag
  in an 837P, the subscriber's birth date when a dependent is the patient, a date on a condition code) is
  **dropped**, and ``as_written`` shows it.

Messages name fields and elements, never their values (names, member ids and birth dates are PHI); the
problem's ``where.record`` is the patient control number (CLM01).
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from datetime import date
from decimal import Decimal

from edi.model import (
    ZERO,
    Address,
    Claim,
    ClaimKind,
    CodeDate,
    Diagnosis,
    Patient,
    Payer,
    Provider,
    ServiceLine,
    Submitter,
    Subscriber,
    fast_new,
    fast_replace,
)
from edi.problems import ERROR, Problem, Where
from edi.x837.cob import prepare_other_payers
from edi.x837.formats import (
    CLAIM_PROVIDERS,
    COMPOSITE_PER_HI,
    FILING_INDICATORS,
    HI_GROUPS,
    LINE_RENDERING,
    MAX_LINES,
    PATIENT_RELATIONSHIPS,
    REF_LENGTH,
    RESPONSIBILITY,
    TEXT_LENGTH,
    UNIT_BASES,
    ProviderLoop,
    line_control_number,
    money_problem,
    quantity_problem,
    written_address,
)

_CLAIM_DEFAULTS = {f.name: f.default for f in fields(Claim)}
_Subscriber, _Diagnosis = fast_new(Subscriber), fast_new(Diagnosis)

#: Claim fields each kind cannot carry; a value other than the default is refused.
_NOT_CARRIED: dict[ClaimKind, tuple[str, ...]] = {
    "professional": ("bill_type", "attending_provider", "operating_provider", "statement_from", "statement_to",
                     "admission_hour", "admission_type", "admission_source", "discharge_status",
                     "discharge_hour"),
    "institutional": ("place_of_service", "onset_date", "accident_cause", "provider_signature"),
}

_PROCEDURE_QUALIFIERS: dict[ClaimKind, frozenset[str]] = {
    "professional": frozenset({"ER", "HC", "IV", "WK"}),
    "institutional": frozenset({"ER", "HC", "HP", "IV", "WK"}),
}
_ACCIDENT_CAUSES = frozenset({"AA", "EM", "OA"})
_ZIP9 = re.compile(r"\d{9}\Z")
_HHMM = re.compile(r"([01]\d|2[0-3])[0-5]\d\Z")
_MAX_PCN = 38  # CLM01 is AN 1/38 (the TR3 asks receivers to keep 20)
_MAX_REF = REF_LENGTH[1]  # REF02
_MAX_TEXT = TEXT_LENGTH[1]  # NTE02, SV101-7


class _Findings:
    """The problems found in one claim."""

    def __init__(self, record: str | None) -> None:
        self.record = record
        self.problems: list[Problem] = []

    def error(self, code: str, message: str, *, loop: str | None = None, element: str | None = None) -> None:
        self.problems.append(Problem(f"837.write.{code}", message, ERROR,
                                     Where(record=self.record, loop=loop, element=element)))

    def missing(self, what: str, *, loop: str, element: str | None = None) -> None:
        self.error("missing", f"{what} is required (loop {loop})", loop=loop, element=element)


# -- the claim --------------------------------------------------------------------------------------------------


def prepare_claim(claim: Claim, kind: ClaimKind) -> tuple[Claim, tuple[Problem, ...]]:
    """The claim as an ``kind`` 837 carries it, and the problems that forbid writing it (see module doc)."""
    f = _Findings(claim.patient_control_number or None)
    if claim.kind != kind:
        f.error("kind", f"a {claim.kind} claim cannot go into an {kind} 837", loop="2300")
        return claim, tuple(f.problems)
    for name in _NOT_CARRIED[kind]:
        if getattr(claim, name) != _CLAIM_DEFAULTS[name]:
            f.error("not_carried", f"an {kind} 837 cannot carry Claim.{name}", loop="2300")
    _check_clm(claim, kind, f)
    billing = _shared(_billing, claim.billing_provider, kind, f)
    providers = _claim_providers(claim, kind, billing, f)
    rendering = providers["rendering_provider"] or (billing if kind == "professional"
                                                    else providers["attending_provider"])
    diagnoses = _diagnoses(claim.diagnoses, kind, f)
    lines = _lines(claim, kind, rendering, len(diagnoses), f)
    total = sum((ln.charge for ln in lines), ZERO)
    if lines and claim.total_charge != total:
        f.error("total", f"CLM02 is {claim.total_charge} but the service lines add up to {total} "
                f"(difference {claim.total_charge - total})", loop="2300", element="CLM02")
    other_payers = claim.other_payers
    if other_payers or any(ln.adjudications for ln in lines):
        other_payers, lines = prepare_other_payers(claim, kind, lines, f)
    written = fast_replace(
        claim,
        other_payers=other_payers,
        billing_provider=billing,
        subscriber=_subscriber(claim, f),
        payer=_shared(_payer, claim.payer, kind, f),
        patient=_patient(claim.patient, f) if claim.patient else None,
        diagnoses=diagnoses,
        institutional_codes=_codes(claim.institutional_codes, kind, f),
        lines=lines,
        bill_type=_bill_type(claim, f) if kind == "institutional" else None,
        statement_to=(claim.statement_to or claim.statement_from) if kind == "institutional" else None,
        **providers,
    )
    return written, tuple(f.problems)


def _check_clm(c: Claim, kind: ClaimKind, f: _Findings) -> None:
    if not c.patient_control_number:
        f.missing("the patient control number", loop="2300", element="CLM01")
    elif len(c.patient_control_number) > _MAX_PCN:
        f.error("length", f"CLM01 is longer than {_MAX_PCN} characters", loop="2300", element="CLM01")
    why = money_problem(c.total_charge)
    if why:
        f.error("amount", f"CLM02 {why}", loop="2300", element="CLM02")
    if len(c.frequency) != 1:
        f.error("frequency", "the claim frequency (CLM05-3) is one character", loop="2300", element="CLM05")
    if c.frequency in ("7", "8") and not c.payer_claim_number:
        f.error("frequency", "a replacement (7) or void (8) needs the payer's claim number (REF*F8, "
                "Claim.payer_claim_number)", loop="2300", element="REF02")
    if c.assignment not in ("A", "B", "C"):
        f.error("code", "CLM07 (assignment) must be A, B or C", loop="2300", element="CLM07")
    if c.release_of_information not in ("I", "Y"):
        f.error("code", "CLM09 (release of information) must be I or Y", loop="2300", element="CLM09")
    if c.note is not None and not 0 < len(c.note) <= _MAX_TEXT:
        f.error("length", f"the claim note (NTE02) must be 1 to {_MAX_TEXT} characters", loop="2300",
                element="NTE02")
    for name in ("payer_claim_number", "prior_authorization", "referral_number", "medical_record_number"):
        value = getattr(c, name)
        if value is not None and not 0 < len(value) <= _MAX_REF:
            f.error("length", f"Claim.{name} (REF02) must be 1 to {_MAX_REF} characters", loop="2300")
    (_check_professional if kind == "professional" else _check_institutional)(c, f)


def _check_professional(c: Claim, f: _Findings) -> None:
    if not c.place_of_service:
        f.missing("the place of service (Claim.place_of_service)", loop="2300", element="CLM05")
    elif len(c.place_of_service) > 2:
        f.error("length", "the place of service (CLM05-1) has at most 2 characters", loop="2300", element="CLM05")
    if len(c.accident_cause) > 2 or not set(c.accident_cause) <= _ACCIDENT_CAUSES:
        f.error("code", "CLM11 holds at most two related causes, each AA, EM or OA", loop="2300",
                element="CLM11")


def _check_institutional(c: Claim, f: _Findings) -> None:
    if c.attending_provider is None:
        f.missing("the attending provider (Claim.attending_provider)", loop="2310A")
    if c.statement_from is None:
        f.missing("the statement period (Claim.statement_from, DTP*434)", loop="2300")
    elif c.statement_to is not None and c.statement_to < c.statement_from:
        f.error("date", "the statement period ends before it starts", loop="2300", element="DTP03")
    if not c.discharge_status:
        f.missing("the patient status (Claim.discharge_status, CL103)", loop="2300", element="CL103")
    if c.admission_hour is not None and (c.admission_date is None or not _HHMM.match(c.admission_hour)):
        f.error("date", "the admission hour needs an admission date and the form HHMM", loop="2300")
    if c.discharge_hour is not None and not _HHMM.match(c.discharge_hour):
        f.error("date", "the discharge hour has the form HHMM", loop="2300")


def _bill_type(c: Claim, f: _Findings) -> str | None:
    """``bill_type`` as CLM05-1 + CLM05-3 ("131"): a leading zero dropped, the frequency appended to a bare
    facility type code."""
    bill_type = c.bill_type
    if not bill_type:
        f.missing("the bill type (Claim.bill_type)", loop="2300", element="CLM05")
        return None
    if len(bill_type) == 4 and bill_type.startswith("0"):
        bill_type = bill_type[1:]
    if len(bill_type) == 2:
        bill_type += c.frequency
    if len(bill_type) != 3 or not bill_type.isalnum():
        f.error("code", "the bill type is two or three characters (facility type, then frequency)",
                loop="2300", element="CLM05")
    elif bill_type[2] != c.frequency:
        f.error("frequency", f"the bill type ends in {bill_type[2]} but the claim frequency is {c.frequency}",
                loop="2300", element="CLM05")
    return bill_type


# -- parties ----------------------------------------------------------------------------------------------------


def same_provider(a: Provider, b: Provider) -> bool:
    """Whether two providers are the same one: by NPI when both have one, else by entity type and name."""
    if a.npi and b.npi:
        return a.npi == b.npi
    return (a.entity, a.name, a.first_name) == (b.entity, b.name, b.first_name)


_address = written_address


def _check_zip9(a: Address, loop: str, f: _Findings) -> None:
    if a.country is None and not _ZIP9.match(a.zip.replace("-", "")):
        f.error("zip", f"the ZIP code (N403) in loop {loop} must have 9 digits (ZIP+4)", loop=loop, element="N403")


_SHARED: dict[tuple, object] = {}


def _shared(prepare, value, kind: ClaimKind, f: _Findings):
    """``prepare(value, kind, f)`` for a part that many claims share (the billing provider, the payer: the
    mappings hand every claim the same object): a part found without problems is prepared once and the
    same prepared object is returned again (which also lets the writer format its segments once)."""
    key = (prepare, value, kind)
    done = _SHARED.get(key)
    if done is not None:
        return done
    before = len(f.problems)
    done = prepare(value, kind, f)
    if len(f.problems) == before:
        if len(_SHARED) >= 4096:
            _SHARED.clear()
        _SHARED[key] = done
    return done


def _billing(p: Provider, kind: ClaimKind, f: _Findings) -> Provider:
    if not p.name:
        f.missing("the billing provider's name", loop="2010AA", element="NM103")
    if kind == "institutional" and p.entity != "2":
        f.error("entity", "an 837I billing provider is an organization (NM102 = 2)", loop="2010AA",
                element="NM102")
    if not p.tax_id:
        f.missing("the billing provider's tax id (REF*EI)", loop="2010AA", element="REF02")
    elif kind == "institutional" and p.tax_id_qualifier != "EI":
        f.error("code", "an 837I billing provider's tax id is an EIN (REF*EI)", loop="2010AA", element="REF01")
    if p.address is None:
        f.missing("the billing provider's address", loop="2010AA", element="N301")
    else:
        _check_zip9(p.address, "2010AA", f)
    person = p.entity == "1"
    return Provider(
        name=p.name, npi=p.npi, entity=p.entity,
        first_name=p.first_name if person else None, middle_name=p.middle_name if person else None,
        tax_id=p.tax_id, tax_id_qualifier=p.tax_id_qualifier, taxonomy=p.taxonomy,
        address=_address(p.address) if p.address else None,
        contact_name=p.contact_name if p.phone else None, phone=p.phone,
    )


def _loop_provider(p: Provider, spec: ProviderLoop, f: _Findings) -> Provider:
    """``p`` as loop ``spec`` carries it: name, NPI, entity type, taxonomy and address when the loop has them."""
    if not p.name:
        f.missing(f"the {spec.label}'s name", loop=spec.loop, element="NM103")
    if spec.entity and p.entity != spec.entity:
        kind = "a person (NM102 = 1)" if spec.entity == "1" else "an organization (NM102 = 2)"
        f.error("entity", f"the {spec.label} (loop {spec.loop}) must be {kind}", loop=spec.loop, element="NM102")
    if spec.address:
        if p.address is None:
            f.missing(f"the {spec.label}'s address", loop=spec.loop, element="N301")
        else:
            _check_zip9(p.address, spec.loop, f)
    person = p.entity == "1"
    return Provider(
        name=p.name, npi=p.npi, entity=p.entity,
        first_name=p.first_name if person else None, middle_name=p.middle_name if person else None,
        taxonomy=p.taxonomy if spec.taxonomy else None,
        address=_address(p.address) if spec.address and p.address else None,
    )


def _claim_providers(c: Claim, kind: ClaimKind, billing: Provider, f: _Findings) -> dict[str, Provider | None]:
    out: dict[str, Provider | None] = {}
    for attr, spec in CLAIM_PROVIDERS[kind]:
        p = getattr(c, attr)
        out[attr] = _loop_provider(p, spec, f) if p is not None else None
    out.setdefault("attending_provider", None)
    out.setdefault("operating_provider", None)
    # 2310B (837P) / 2310D (837I) only when the rendering provider differs from the one the payer already has
    reference = billing if kind == "professional" else out["attending_provider"]
    rendering = out["rendering_provider"]
    if rendering is not None and reference is not None and same_provider(rendering, reference):
        out["rendering_provider"] = None
    return out


def _subscriber(c: Claim, f: _Findings) -> Subscriber:
    s = c.subscriber
    if len(s.member_id) < 2:
        f.missing("the subscriber's member id (2 characters or more)", loop="2010BA", element="NM109")
    if not s.last_name:
        f.missing("the subscriber's last or organization name", loop="2010BA", element="NM103")
    is_patient = c.patient is None  # N3/N4/DMG are sent only when the subscriber is the patient
    person = s.entity == "1"
    birth_date = s.birth_date if is_patient else None
    return _Subscriber(
        member_id=s.member_id, last_name=s.last_name,
        first_name=s.first_name if person else None, middle_name=s.middle_name if person else None,
        birth_date=birth_date, sex=(s.sex or "U") if birth_date else None,
        address=_address(s.address) if is_patient and s.address else None,
        group_number=s.group_number or None, group_name=s.group_name or None, entity=s.entity,
    )


def _payer(p: Payer, kind: ClaimKind, f: _Findings) -> Payer:
    if not p.name:
        f.missing("the payer's name", loop="2010BB", element="NM103")
    if len(p.payer_id) < 2:
        f.missing("the payer id (2 characters or more)", loop="2010BB", element="NM109")
    if p.filing_indicator not in FILING_INDICATORS:
        f.error("code", "the claim filing indicator (SBR09) is not one the 837 allows", loop="2000B",
                element="SBR09")
    if p.responsibility not in RESPONSIBILITY:
        f.error("code", "the payer responsibility (SBR01) must be P, S, T, A-H or U", loop="2000B",
                element="SBR01")
    return fast_replace(p, address=_address(p.address) if p.address else None)


def _patient(p: Patient, f: _Findings) -> Patient:
    if p.relationship not in PATIENT_RELATIONSHIPS:
        f.error("code", "the patient's relationship (PAT01) must be 01, 19, 20, 21, 39, 40, 53 or G8; a patient "
                "who is the subscriber is written without Claim.patient", loop="2000C", element="PAT01")
    if not p.last_name:
        f.missing("the patient's last name", loop="2010CA", element="NM103")
    if p.address is None:
        f.missing("the patient's address", loop="2010CA", element="N301")
    if p.birth_date is None:
        f.missing("the patient's birth date", loop="2010CA", element="DMG02")
    return fast_replace(p, sex=p.sex or "U", address=_address(p.address) if p.address else None)


# -- diagnoses and codes (HI) -----------------------------------------------------------------------------------


def _diagnoses(diagnoses: tuple[Diagnosis, ...], kind: ClaimKind, f: _Findings) -> tuple[Diagnosis, ...]:
    if not diagnoses:
        f.missing("a principal diagnosis", loop="2300", element="HI01")
        return ()
    if any(not d.code.replace(".", "") for d in diagnoses):
        f.missing("every diagnosis code", loop="2300", element="HI")
    if kind == "professional":
        return _professional_diagnoses(diagnoses, f)
    return _institutional_diagnoses(diagnoses, f)


def _professional_diagnoses(diagnoses: tuple[Diagnosis, ...], f: _Findings) -> tuple[Diagnosis, ...]:
    """The first diagnosis is the principal (ABK), the others ABF, all in one HI of at most 12."""
    if len(diagnoses) > COMPOSITE_PER_HI:
        f.error("diagnoses", f"{len(diagnoses)} diagnoses: an 837P HI holds at most {COMPOSITE_PER_HI}",
                loop="2300", element="HI")
    if any(d.qualifier not in ("ABK", "ABF") for d in diagnoses) or \
            any(d.qualifier == "ABK" for d in diagnoses[1:]):
        f.error("diagnoses", "an 837P carries one principal diagnosis (ABK, the first) and others (ABF)",
                loop="2300", element="HI")
    return tuple(_Diagnosis(d.code.replace(".", ""), "ABK" if i == 0 else "ABF") for i, d in enumerate(diagnoses))


def _institutional_diagnoses(diagnoses: tuple[Diagnosis, ...], f: _Findings) -> tuple[Diagnosis, ...]:
    """Principal (ABK, or else the first ABF), admitting, reasons for visit, external causes and other
    diagnoses, in the order of their HI segments."""
    groups = {g.qualifier: g for g in HI_GROUPS["institutional"] if g.diagnosis}
    principal = next((i for i, d in enumerate(diagnoses) if d.qualifier == "ABK"),
                     next((i for i, d in enumerate(diagnoses) if d.qualifier == "ABF"), None))
    if principal is None:
        f.missing("a principal diagnosis (qualifier ABK)", loop="2300", element="HI01")
    out: dict[str, list[Diagnosis]] = {q: [] for q in groups}
    for i, d in enumerate(diagnoses):
        qualifier = "ABK" if i == principal else d.qualifier
        group = groups.get(qualifier)
        if group is None:
            f.error("diagnoses", f"diagnosis qualifier {qualifier} is not one an 837I carries", loop="2300",
                    element="HI")
            continue
        out[qualifier].append(Diagnosis(d.code.replace(".", ""), qualifier,
                                        d.present_on_admission if group.poa else None))
    for q, found in out.items():
        if len(found) > groups[q].limit:
            f.error("diagnoses", f"{len(found)} {q} diagnoses: an 837I carries at most {groups[q].limit}",
                    loop="2300", element="HI")
    return tuple(d for found in out.values() for d in found)


def _codes(codes: tuple[CodeDate, ...], kind: ClaimKind, f: _Findings) -> tuple[CodeDate, ...]:
    """Institutional codes in the order of their HI groups, each with the date or amount its group carries."""
    groups = {g.qualifier: g for g in HI_GROUPS[kind] if not g.diagnosis}
    out: dict[str, list[CodeDate]] = {q: [] for q in groups}
    for c in codes:
        group = groups.get(c.qualifier)
        if group is None:
            f.error("code", f"HI qualifier {c.qualifier} is not one an {kind} 837 carries", loop="2300",
                    element="HI")
            continue
        if not c.code:
            f.missing(f"the code of every {c.qualifier} composite", loop="2300", element="HI")
        if group.date and (c.date is None or (group.date == "RD8" and c.date_end is None)):
            f.missing(f"the {'date range' if group.date == 'RD8' else 'date'} of every {c.qualifier} code",
                      loop="2300", element="HI")
        if group.amount and (c.amount is None or money_problem(c.amount)):
            f.error("amount", f"every {c.qualifier} code needs an amount of at most two decimals", loop="2300",
                    element="HI")
        out[c.qualifier].append(CodeDate(
            c.qualifier, c.code, date=c.date if group.date else None,
            date_end=c.date_end if group.date == "RD8" else None, amount=c.amount if group.amount else None,
        ))
    for q, found in out.items():
        if len(found) > groups[q].limit:
            f.error("code", f"{len(found)} {q} codes: an {kind} 837 carries at most {groups[q].limit}",
                    loop="2300", element="HI")
    return tuple(c for found in out.values() for c in found)


# -- service lines ----------------------------------------------------------------------------------------------


def _lines(c: Claim, kind: ClaimKind, rendering: Provider | None, diagnosis_count: int,
           f: _Findings) -> tuple[ServiceLine, ...]:
    if not c.lines:
        f.missing("at least one service line", loop="2400")
        return ()
    if len(c.lines) > MAX_LINES[kind]:
        f.error("lines", f"{len(c.lines)} service lines: an {kind} claim carries at most {MAX_LINES[kind]}",
                loop="2400")
    given = [ln.line_control_number for ln in c.lines if ln.line_control_number]
    if len(set(given)) != len(given):
        f.error("line_control", "two service lines have the same line control number (REF*6R)", loop="2400",
                element="REF02")
    taken = set(given)
    out = []
    for n, ln in enumerate(c.lines, 1):
        _check_line(ln, n, kind, diagnosis_count, f)
        number = ln.line_control_number or line_control_number(c.patient_control_number, n, taken)
        line_rendering = ln.rendering_provider
        if line_rendering is not None:
            line_rendering = _loop_provider(line_rendering, LINE_RENDERING[kind], f)
            if rendering is not None and same_provider(line_rendering, rendering):
                line_rendering = None
        same_day = ln.service_date_end is not None and ln.service_date_end == ln.service_date
        out.append(fast_replace(
            ln, number=n, line_control_number=number, rendering_provider=line_rendering,
            service_date_end=None if same_day else ln.service_date_end,
            place_of_service=None if ln.place_of_service == c.place_of_service else ln.place_of_service,
            procedure_qualifier=ln.procedure_qualifier if ln.procedure else "HC",
            description=ln.description if ln.procedure else None,
        ))
    return tuple(out)


def _check_line(ln: ServiceLine, n: int, kind: ClaimKind, diagnosis_count: int, f: _Findings) -> None:
    def error(code: str, message: str, element: str | None = None) -> None:
        f.error(code, f"service line {n}: {message}", loop="2400", element=element)

    charge_element, units_element = ("SV102", "SV104") if kind == "professional" else ("SV203", "SV205")
    why = money_problem(ln.charge)
    if why:
        error("amount", f"the charge {why}", charge_element)
    why = quantity_problem(ln.units)
    if why:
        error("units", f"the unit count {why}", units_element)
    if ln.unit_basis not in UNIT_BASES[kind]:
        error("code", f"the unit basis must be one of {', '.join(sorted(UNIT_BASES[kind]))}")
    if len(ln.modifiers) > 4 or any(len(m) != 2 for m in ln.modifiers):
        error("modifier", "a line carries at most 4 procedure modifiers of 2 characters each")
    if ln.procedure and ln.procedure_qualifier not in _PROCEDURE_QUALIFIERS[kind]:
        error("code", f"the procedure qualifier must be one of {', '.join(sorted(_PROCEDURE_QUALIFIERS[kind]))}")
    if ln.description is not None and not 0 < len(ln.description) <= _MAX_TEXT:
        error("length", f"the description is 1 to {_MAX_TEXT} characters")
    if ln.line_control_number is not None and not 0 < len(ln.line_control_number) <= _MAX_REF:
        error("length", f"the line control number is 1 to {_MAX_REF} characters", "REF02")
    if ln.service_date_end is not None and (ln.service_date is None or ln.service_date_end < ln.service_date):
        error("date", "the service period ends before it starts (or has no start)", "DTP03")
    if kind == "professional":
        _check_professional_line(ln, diagnosis_count, error)
    else:
        _check_institutional_line(ln, error)


def _check_professional_line(ln: ServiceLine, diagnosis_count: int, error) -> None:
    if not ln.procedure:
        error("missing", "the procedure code (SV101-2) is required", "SV101")
    if ln.revenue_code is not None:
        error("not_carried", "an 837P line cannot carry a revenue code")
    if ln.service_date is None:
        error("missing", "the service date (DTP*472) is required", "DTP03")
    pointers = ln.diagnosis_pointers
    if not 1 <= len(pointers) <= 4 or any(not 1 <= p <= min(diagnosis_count, COMPOSITE_PER_HI) for p in pointers):
        error("pointer", "a line needs 1 to 4 diagnosis pointers, each the position of one of the claim's "
              "diagnoses", "SV107")


def _check_institutional_line(ln: ServiceLine, error) -> None:
    if not ln.revenue_code:
        error("missing", "the revenue code (SV201) is required", "SV201")
    if ln.diagnosis_pointers:
        error("not_carried", "an 837I line cannot carry diagnosis pointers")
    if ln.place_of_service is not None:
        error("not_carried", "an 837I line cannot carry a place of service")
    if not ln.procedure and (ln.modifiers or ln.description):
        error("missing", "modifiers or a description need a procedure code (SV202-2)", "SV202")


# -- the submitter and delimiters -------------------------------------------------------------------------------


def check_submitter(submitter: Submitter) -> tuple[Problem, ...]:
    """Problems with loops 1000A and 1000B (``837.write.missing``)."""
    f = _Findings(None)
    if not submitter.name or len(submitter.id) < 2:
        f.missing("the submitter's name and id (2 characters or more)", loop="1000A")
    if not submitter.phone and not submitter.email:
        f.missing("a submitter phone number or email (PER04)", loop="1000A", element="PER04")
    if not submitter.receiver_name or len(submitter.receiver_id) < 2:
        f.missing("the receiver's name and id (Submitter.receiver_name, receiver_id)", loop="1000B")
    return tuple(f.problems)


def check_batch_id(batch_id: str) -> tuple[Problem, ...]:
    """``837.write.length`` when BHT03 (``batch_id``, with any ``-k`` suffix) is not 1 to 50 characters."""
    if 0 < len(batch_id) <= _MAX_REF:
        return ()
    return (Problem("837.write.length", f"the batch id (BHT03) is 1 to {_MAX_REF} characters",
                    ERROR, Where(element="BHT03")),)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_ATOMS = (type(None), bool, int, Decimal, date)


def delimiter_problems(value: object, name: str, forbidden: str, record: str | None = None) -> tuple[Problem, ...]:
    """``837.write.delimiter`` for every text in ``value`` (a dataclass, tuple or string, ``source`` skipped)
    that contains a character of ``forbidden``: such a value cannot be written without corrupting the file."""
    found: list[tuple[str, str]] = []
    _scan(value, (name,), forbidden, found)
    return tuple(Problem("837.write.delimiter", f"{path} contains the delimiter {ch!r}", ERROR, Where(record=record))
                 for path, ch in found)


def _scan(value: object, path: tuple[str, ...], forbidden: str, found: list[tuple[str, str]]) -> None:
    kind = type(value)
    if kind is str:
        for ch in forbidden:
            if ch in value:
                found.append(("".join(path), ch))
                return
    elif kind is tuple:
        for i, item in enumerate(value):
            _scan(item, (*path, f"[{i}]"), forbidden, found)
    elif kind not in _ATOMS:
        names = _FIELD_NAMES.get(kind)
        if names is None:
            if not is_dataclass(value):
                return
            names = _FIELD_NAMES[kind] = tuple(fl.name for fl in fields(kind) if fl.name != "source")
        for field_name in names:
            _scan(getattr(value, field_name), (*path, ".", field_name), forbidden, found)
