"""Other payers on an 837 (coordination of benefits): loops 2320, 2330A and 2330B under the claim, 2430 under
each service line.

A claim to a second payer repeats what the first one decided: for each other payer, loop 2320 (SBR, the
claim-level CAS, AMT*D paid, AMT*A8 non-covered, AMT*EAF remaining patient liability, OI, MIA/MOA), 2330A (the
other subscriber: NM1*IL, N3/N4, REF*SY), 2330B (the other payer: NM1*PR, N3/N4, DTP*573, REF*G1/9F/F8); and
for each line that payer adjudicated, loop 2430 (SVD, the line-level CAS, DTP*573, AMT*EAF). A claim to the
first payer may name the other coverages in 2320/2330 too, without any adjudication.

:func:`prepare_other_payers` is the part of :func:`edi.x837.prepare.prepare_claim` that checks and normalizes
them; :func:`write_other_payers` and :func:`write_line_adjudications` are the writer's. A claim without other
payers never reaches this module, so what it writes is unchanged.

**Balancing** (5010 TR3, RFI 1294, 1115, 1507). For every other payer that adjudicated the claim (AMT*D):

* claim charge (CLM02) = AMT*D + that payer's claim-level CAS + every line-level CAS of that payer;
* for each line that payer adjudicated: line charge = its SVD02 + its line-level CAS (summed over the pieces
  of a split line).

A claim that does not balance is refused (``837.write.cob_balance``, the message says by how much): a
secondary payer receiving it would reject it, or pay on wrong figures.

**CAS.** One CAS segment per adjustment group (CO, CR, OA, PI, PR), in the order each group first appears,
holding that group's adjustments in their order: at most six reason/amount/quantity triplets (a group with
more is refused, ``837.write.adjustment``). The written claim holds its adjustments in that order, which is
what the reader reads back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol

from edi.model import (
    ZERO,
    Address,
    Adjustment,
    Claim,
    ClaimKind,
    LineAdjudication,
    OtherPayer,
    ServiceLine,
    Subscriber,
    fast_new,
    fast_replace,
)
from edi.x12.numeric import MONEY_DIGITS, read_r
from edi.x12.writer import Value
from edi.x837.formats import (
    ADJUSTMENT_GROUPS,
    BENEFITS_ASSIGNMENT,
    CAS_TRIPLETS,
    CENT,
    COB_AMOUNTS,
    FILING_INDICATORS,
    INSURANCE_TYPES,
    MAX_LINE_ADJUDICATIONS,
    MAX_MONEY,
    MAX_OTHER_PAYERS,
    MIA_ELEMENTS,
    MOA_ELEMENTS,
    OTHER_RELATIONSHIPS,
    REF_LENGTH,
    RESPONSIBILITY,
    SVD_QUALIFIERS,
    TEXT_LENGTH,
    d8,
    decimal_text,
    money_problem,
    quantity_problem,
    written_address,
)

Emit = Callable[[str, Sequence[Value]], None]
_Subscriber, _Adjustment = fast_new(Subscriber), fast_new(Adjustment)
_MAX_REF, _MAX_TEXT = REF_LENGTH[1], TEXT_LENGTH[1]
#: MOA / MIA elements (0-based) that hold remark codes (AN 1/50); the others are numbers (R).
_MOA_REMARKS = frozenset({2, 3, 4, 5, 6})
_MIA_REMARKS = frozenset({4, 19, 20, 21, 22})
_MAX_BUNDLED_LINE = 999999  # SVD06: N0 1/6


class Findings(Protocol):
    """Where the checks put what they find (``edi.x837.prepare``'s findings of one claim)."""

    def error(self, code: str, message: str, *, loop: str | None = None, element: str | None = None) -> None: ...

    def missing(self, what: str, *, loop: str, element: str | None = None) -> None: ...


# -- preparing and checking -------------------------------------------------------------------------------------


def prepare_other_payers(claim: Claim, kind: ClaimKind, lines: tuple[ServiceLine, ...],
                         f: Findings) -> tuple[tuple[OtherPayer, ...], tuple[ServiceLine, ...]]:
    """The claim's other payers and its (already prepared) ``lines`` as the 837 carries them, with what
    forbids writing them reported to ``f``: codes that are not the implementation guide's, an adjudication
    of a payer the claim does not name, a missing adjudication date, and claims or lines that do not
    balance for a payer that adjudicated them (see the module doc)."""
    others = claim.other_payers
    if len(others) > MAX_OTHER_PAYERS:
        f.error("cob_payer", f"{len(others)} other payers: an 837 carries at most {MAX_OTHER_PAYERS} (loop 2320)",
                loop="2320")
    by_id: dict[str, int] = {}
    for k, o in enumerate(others, 1):
        if o.payer.payer_id in by_id:
            f.error("cob_payer", f"other payers {by_id[o.payer.payer_id]} and {k} have the same payer id (2330B "
                    "NM109): their line adjudications (SVD01) could not be told apart", loop="2330B",
                    element="NM109")
        by_id.setdefault(o.payer.payer_id, k)
    _check_responsibilities(claim, f)
    has_lines = {k: False for k in range(1, len(others) + 1)}
    new_lines = []
    for ln in lines:
        if ln.adjudications:
            ln = fast_replace(ln, adjudications=_line_adjudications(ln, kind, others, by_id, has_lines, f))
        new_lines.append(ln)
    written = tuple(_other_payer(o, k, kind, has_lines[k], f) for k, o in enumerate(others, 1))
    _check_balance(claim.total_charge, written, new_lines, f)
    return written, tuple(new_lines)


def _check_responsibilities(claim: Claim, f: Findings) -> None:
    """SBR01 (other than U, unknown) names each place in the order of payment once per claim: the
    destination payer's (2000B) and every other payer's (2320)."""
    seen: set[str] = set()
    for code in (claim.payer.responsibility, *(o.payer.responsibility for o in claim.other_payers)):
        if code in seen and code != "U":
            f.error("cob_payer", "two payers of the claim have the same payer responsibility (SBR01 of 2000B "
                    "and 2320): each of P, S, T, A-H occurs once per claim", loop="2320", element="SBR01")
        seen.add(code)


def _other_payer(o: OtherPayer, k: int, kind: ClaimKind, has_lines: bool, f: Findings) -> OtherPayer:
    what = f"other payer {k}"
    p, s = o.payer, o.subscriber
    if p.responsibility not in RESPONSIBILITY:
        f.error("code", f"{what}: the payer responsibility (SBR01) must be P, S, T, A-H or U", loop="2320",
                element="SBR01")
    if o.relationship not in OTHER_RELATIONSHIPS:
        f.error("code", f"{what}: the patient's relationship to its subscriber (SBR02) must be one of "
                f"{', '.join(sorted(OTHER_RELATIONSHIPS))}", loop="2320", element="SBR02")
    if p.filing_indicator not in FILING_INDICATORS:
        f.error("code", f"{what}: the claim filing indicator (SBR09) is not one the 837 allows", loop="2320",
                element="SBR09")
    if kind == "professional" and o.insurance_type is not None and o.insurance_type not in INSURANCE_TYPES:
        f.error("code", f"{what}: the insurance type (SBR05) must be one of {', '.join(sorted(INSURANCE_TYPES))}",
                loop="2320", element="SBR05")
    if o.benefits_assigned not in BENEFITS_ASSIGNMENT:
        f.error("code", f"{what}: OI03 (benefits assignment) must be Y, N or W", loop="2320", element="OI03")
    if o.release_of_information not in ("I", "Y"):
        f.error("code", f"{what}: OI06 (release of information) must be I or Y", loop="2320", element="OI06")
    if kind == "professional" and o.patient_signature_source not in (None, "P"):
        f.error("code", f"{what}: OI04 (patient signature source) must be P", loop="2320", element="OI04")
    if not p.name:
        f.missing(f"{what}'s name", loop="2330B", element="NM103")
    if len(p.payer_id) < 2:
        f.missing(f"{what}'s payer id (2 characters or more)", loop="2330B", element="NM109")
    if len(s.member_id) < 2:
        f.missing(f"{what}'s subscriber member id (2 characters or more)", loop="2330A", element="NM109")
    if not s.last_name:
        f.missing(f"{what}'s subscriber last or organization name", loop="2330A", element="NM103")
    if o.subscriber_ssn is not None and not (len(o.subscriber_ssn) == 9 and o.subscriber_ssn.isdigit()):
        f.error("code", f"{what}: the subscriber's social security number (REF*SY) has nine digits",
                loop="2330A", element="REF02")
    for name in ("claim_number", "prior_authorization", "referral_number"):
        value = getattr(o, name)
        if value is not None and not 0 < len(value) <= _MAX_REF:
            f.error("length", f"{what}: OtherPayer.{name} (REF02) must be 1 to {_MAX_REF} characters",
                    loop="2330B", element="REF02")
    for name in ("paid", "non_covered", "remaining_patient_liability"):
        value = getattr(o, name)
        why = money_problem(value) if value is not None else None
        if why:
            f.error("amount", f"{what}: OtherPayer.{name} (AMT02) {why}", loop="2320", element="AMT02")
    if o.paid is None and (o.adjustments or has_lines):
        f.missing(f"{what}'s paid amount (AMT*D: its adjustments or line adjudications say it adjudicated the "
                  "claim)", loop="2320", element="AMT02")
    inpatient = o.inpatient
    if inpatient is not None and kind == "professional":
        f.error("not_carried", f"{what}: an 837P carries no inpatient adjudication (MIA)", loop="2320")
        inpatient = None
    person = s.entity == "1"
    return fast_replace(
        o,
        payer=fast_replace(p, address=written_address(p.address) if p.address else None),
        subscriber=_Subscriber(
            member_id=s.member_id, last_name=s.last_name,
            first_name=s.first_name if person else None, middle_name=s.middle_name if person else None,
            address=written_address(s.address) if s.address else None,
            group_number=s.group_number or None, group_name=s.group_name or None, entity=s.entity),
        insurance_type=o.insurance_type if kind == "professional" else None,
        patient_signature_source=o.patient_signature_source if kind == "professional" else None,
        adjustments=_adjustments(o.adjustments, f"{what}'s claim-level", "2320", f),
        outpatient=_elements(o.outpatient, MOA_ELEMENTS, _MOA_REMARKS, f"{what}'s MOA", f),
        inpatient=_inpatient(inpatient, what, f),
        # the date goes on the lines when the payer adjudicated lines (2430 DTP*573 is required there)
        adjudication_date=None if has_lines else o.adjudication_date,
    )


def _inpatient(values: tuple[str, ...] | None, what: str, f: Findings) -> tuple[str, ...] | None:
    """MIA as the 837 carries it: MIA01 (covered days) required, MIA02 not used (dropped)."""
    if values is None:
        return None
    found = _elements((values[0], "", *values[2:]) if len(values) > 1 else values, MIA_ELEMENTS, _MIA_REMARKS,
                      f"{what}'s MIA", f)
    if not found or not found[0]:
        f.missing(f"{what}'s covered days or visits (MIA01)", loop="2320", element="MIA01")
    return found


def _elements(values: Sequence[str | None] | None, limit: int, remarks: frozenset[int], what: str,
              f: Findings) -> tuple[str, ...] | None:
    """An MOA or MIA element list as written: None for an empty one, no trailing empty element, numbers
    checked as X12 decimals and remark codes as 1 to 50 characters."""
    if values is None:
        return None
    out = ["" if v is None else v for v in values]
    while out and not out[-1]:
        out.pop()
    if len(out) > limit:
        f.error("length", f"{what} has {len(out)} elements; the 837 carries {limit}", loop="2320")
    for i, value in enumerate(out):
        if not value:
            continue
        if i in remarks:
            if len(value) > _MAX_REF:
                f.error("length", f"{what}: element {i + 1} (a remark code) is 1 to {_MAX_REF} characters",
                        loop="2320")
        elif not isinstance(read_r(value, MONEY_DIGITS), Decimal):
            f.error("amount", f"{what}: element {i + 1} is not an X12 decimal number", loop="2320")
    return tuple(out) or None


def _adjustments(adjustments: tuple[Adjustment, ...], what: str, loop: str,
                 f: Findings) -> tuple[Adjustment, ...]:
    """The adjustments in the order the CAS segments carry them (grouped by group code, groups in order of
    first appearance), each checked."""
    if not adjustments:
        return ()
    groups: dict[str, list[Adjustment]] = {}
    for a in adjustments:
        groups.setdefault(a.group, []).append(a)
        if a.group not in ADJUSTMENT_GROUPS:
            f.error("adjustment", f"{what} adjustment group (CAS01) must be one of "
                    f"{', '.join(sorted(ADJUSTMENT_GROUPS))}", loop=loop, element="CAS01")
        if not 0 < len(a.reason) <= 5:
            f.error("adjustment", f"{what} adjustment reason codes (CAS02) are 1 to 5 characters", loop=loop,
                    element="CAS02")
        if not a.amount.is_finite() or abs(a.amount) > MAX_MONEY or a.amount != a.amount.quantize(CENT):
            f.error("amount", f"{what} adjustment amounts (CAS03) have at most two decimals and at most "
                    f"{MAX_MONEY} either way",
                    loop=loop, element="CAS03")
        why = quantity_problem(a.quantity) if a.quantity is not None else None
        if why:
            f.error("adjustment", f"{what} adjustment quantity (CAS04) {why}", loop=loop, element="CAS04")
    for group, found in groups.items():
        if len(found) > CAS_TRIPLETS:
            f.error("adjustment", f"{what} adjustments of group {group}: {len(found)}, but one CAS holds "
                    f"{CAS_TRIPLETS} (one CAS per group)", loop=loop, element="CAS01")
    return tuple(_Adjustment(a.group, a.reason, a.amount, a.quantity) for found in groups.values() for a in found)


def _line_adjudications(ln: ServiceLine, kind: ClaimKind, others: tuple[OtherPayer, ...], by_id: dict[str, int],
                        has_lines: dict[int, bool], f: Findings) -> tuple[LineAdjudication, ...]:
    what = f"service line {ln.number}"
    if len(ln.adjudications) > MAX_LINE_ADJUDICATIONS:
        f.error("cob_payer", f"{what}: {len(ln.adjudications)} line adjudications; a line carries at most "
                f"{MAX_LINE_ADJUDICATIONS} (loop 2430)", loop="2430")
    out = []
    for a in ln.adjudications:
        k = by_id.get(a.payer_id)
        other = others[k - 1] if k is not None else None
        if k is None:
            f.error("cob_payer", f"{what}: a line adjudication (SVD01) names a payer that is none of the claim's "
                    "other payers (2330B NM109)", loop="2430", element="SVD01")
        else:
            has_lines[k] = True
        why = money_problem(a.paid)
        if why:
            f.error("amount", f"{what}: the paid amount (SVD02) {why}", loop="2430", element="SVD02")
        why = quantity_problem(a.units)
        if why:
            f.error("units", f"{what}: the paid units (SVD05) {why}", loop="2430", element="SVD05")
        if a.remaining_patient_liability is not None:
            why = money_problem(a.remaining_patient_liability)
            if why:
                f.error("amount", f"{what}: the remaining patient liability (AMT*EAF) {why}", loop="2430",
                        element="AMT02")
            if other is not None and other.remaining_patient_liability is not None:
                f.error("cob_payer", f"{what}: the remaining patient liability is given per line (2430 AMT*EAF) "
                        "and per claim (2320 AMT*EAF) for the same payer; the 837 takes one or the other",
                        loop="2430", element="AMT01")
        _check_svd_procedure(a, kind, what, f)
        if a.bundled_line is not None and not 1 <= a.bundled_line <= _MAX_BUNDLED_LINE:
            f.error("code", f"{what}: the bundled line number (SVD06) is a line number (1 to 6 digits)",
                    loop="2430", element="SVD06")
        when = a.adjudication_date or (other.adjudication_date if other is not None else None)
        if when is None and other is not None:
            f.missing(f"{what}: the adjudication date of each line adjudication (DTP*573, "
                      "LineAdjudication.adjudication_date or OtherPayer.adjudication_date)", loop="2430",
                      element="DTP03")
        out.append(fast_replace(
            a, adjudication_date=when, adjustments=_adjustments(a.adjustments, f"{what}'s line-level", "2430", f),
            procedure_qualifier=a.procedure_qualifier if a.procedure else "HC",
            modifiers=a.modifiers if a.procedure else (), description=a.description if a.procedure else None,
            revenue_code=a.revenue_code if kind == "institutional" else None,
        ))
    return tuple(out)


def _check_svd_procedure(a: LineAdjudication, kind: ClaimKind, what: str, f: Findings) -> None:
    if a.procedure:
        if a.procedure_qualifier not in SVD_QUALIFIERS[kind]:
            f.error("code", f"{what}: the adjudicated procedure's qualifier (SVD03-1) must be one of "
                    f"{', '.join(sorted(SVD_QUALIFIERS[kind]))}", loop="2430", element="SVD03")
        if len(a.modifiers) > 4 or any(len(m) != 2 for m in a.modifiers):
            f.error("modifier", f"{what}: an adjudicated procedure carries at most 4 modifiers of 2 characters",
                    loop="2430", element="SVD03")
        if a.description is not None and not 0 < len(a.description) <= _MAX_TEXT:
            f.error("length", f"{what}: the adjudicated procedure's description is 1 to {_MAX_TEXT} characters",
                    loop="2430", element="SVD03")
    elif kind == "professional":
        f.missing(f"{what}: the adjudicated procedure (SVD03) of each line adjudication", loop="2430",
                  element="SVD03")
    elif a.modifiers or a.description:
        f.missing(f"{what}: modifiers or a description of an adjudication need its procedure (SVD03-2)",
                  loop="2430", element="SVD03")
    if kind == "institutional" and not a.revenue_code:
        f.missing(f"{what}: the revenue code (SVD04) of each line adjudication", loop="2430", element="SVD04")
    if kind == "professional" and a.revenue_code is not None:
        f.error("not_carried", f"{what}: an 837P line adjudication carries no revenue code (SVD04)", loop="2430",
                element="SVD04")


def _check_balance(total: Decimal, others: tuple[OtherPayer, ...], lines: Sequence[ServiceLine],
                   f: Findings) -> None:
    """The TR3's balancing of each payer that adjudicated the claim (module doc); the difference is named."""
    for k, o in enumerate(others, 1):
        if o.paid is None:
            continue
        payer_id = o.payer.payer_id
        line_cas = ZERO
        for ln in lines:
            mine = [a for a in ln.adjudications if a.payer_id == payer_id]
            if not mine:
                continue
            paid = sum((a.paid for a in mine), ZERO)
            cas = sum((a.adjustment_total for a in mine), ZERO)
            line_cas += cas
            if paid + cas != ln.charge:
                f.error("cob_balance", f"service line {ln.number}, other payer {k}: the line charge is {ln.charge} "
                        f"but SVD02 {paid} + line CAS {cas} make {paid + cas} (difference "
                        f"{ln.charge - paid - cas})", loop="2430", element="SVD02")
        claim_cas = o.adjustment_total
        made = o.paid + claim_cas + line_cas
        if made != total:
            f.error("cob_balance", f"other payer {k}: CLM02 is {total} but AMT*D {o.paid} + claim-level CAS "
                    f"{claim_cas} + line-level CAS {line_cas} make {made} (difference {total - made})",
                    loop="2320", element="AMT02")


# -- writing ----------------------------------------------------------------------------------------------------


def cas_segments(adjustments: tuple[Adjustment, ...]) -> list[list[Value]]:
    """The CAS elements for ``adjustments`` (as written: already in group order): one CAS per group."""
    out: list[list[Value]] = []
    group: str | None = None
    for a in adjustments:
        if a.group != group:
            group = a.group
            out.append([group])
        out[-1] += [a.reason, decimal_text(a.amount), decimal_text(a.quantity) if a.quantity is not None else None]
    return out


def write_other_payers(seg: Emit, c: Claim, kind: ClaimKind) -> None:
    """Loops 2320, 2330A and 2330B of each other payer, in the implementation guide's segment order."""
    for o in c.other_payers:
        p, s = o.payer, o.subscriber
        seg("SBR", [p.responsibility, o.relationship, s.group_number, s.group_name, o.insurance_type, None, None,
                    None, p.filing_indicator])
        for cas in cas_segments(o.adjustments):
            seg("CAS", cas)
        for qualifier, name in COB_AMOUNTS[kind]:
            value = getattr(o, name)
            if value is not None:
                seg("AMT", [qualifier, decimal_text(value)])
        seg("OI", [None, None, o.benefits_assigned, o.patient_signature_source, None, o.release_of_information])
        if o.inpatient:
            seg("MIA", list(o.inpatient))
        if o.outpatient:
            seg("MOA", list(o.outpatient))
        seg("NM1", ["IL", s.entity, s.last_name, s.first_name, s.middle_name, None, None, "MI", s.member_id])
        if s.address:
            _address(seg, s.address)
        if o.subscriber_ssn:
            seg("REF", ["SY", o.subscriber_ssn])
        seg("NM1", ["PR", "2", p.name, None, None, None, None, "PI", p.payer_id])
        if p.address:
            _address(seg, p.address)
        if o.adjudication_date:
            seg("DTP", ["573", "D8", d8(o.adjudication_date)])
        for qualifier, value in (("G1", o.prior_authorization), ("9F", o.referral_number), ("F8", o.claim_number)):
            if value:
                seg("REF", [qualifier, value])


def write_line_adjudications(seg: Emit, ln: ServiceLine, kind: ClaimKind) -> None:
    """Loop 2430 of each line adjudication: SVD, CAS, DTP*573, AMT*EAF."""
    for a in ln.adjudications:
        procedure = None
        if a.procedure:
            modifiers = a.modifiers + (None,) * (4 - len(a.modifiers))
            procedure = (a.procedure_qualifier, a.procedure, *modifiers, a.description)
        seg("SVD", [a.payer_id, decimal_text(a.paid), procedure, a.revenue_code, decimal_text(a.units),
                    str(a.bundled_line) if a.bundled_line is not None else None])
        for cas in cas_segments(a.adjustments):
            seg("CAS", cas)
        assert a.adjudication_date is not None  # prepare_other_payers fills it or refuses the claim
        seg("DTP", ["573", "D8", d8(a.adjudication_date)])
        if a.remaining_patient_liability is not None:
            seg("AMT", ["EAF", decimal_text(a.remaining_patient_liability)])


def _address(seg: Emit, a: Address) -> None:
    seg("N3", [a.line1, a.line2])
    seg("N4", [a.city, a.state, a.zip, a.country])

