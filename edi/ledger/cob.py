"""The primary payer's adjudication, read back from the ledger for the claim to the next payer (coordination of
benefits: 837 loops 2320/2330B and 2430, issue 17).

A claim the primary payer adjudicated goes on to the secondary payer carrying that adjudication: for the claim,
the amount paid (AMT*D = CLP04), the claim-level CAS exactly as the 835 sent them, the remaining patient
liability (AMT*EAF) where the implementation guide wants it, the MOA/MIA remark fields, the adjudication date
(the 835's payment date, BPR16) and the payer's claim number (REF*F8 = CLP07); for each submitted line, one
:class:`~edi.model.LineAdjudication` per SVC loop the payer answered it with (SVD: paid amount, procedure as
adjudicated, paid units; the line-level CAS exactly as the 835 line). The lines are the ones the 835 posting
matched (edi.ledger.post: REF*6R, else procedure, modifiers, date and charge; the pieces of a split line both
echo its REF*6R), kept in ``service_payments`` since migration 0011.

:func:`primary_adjudication` reads it for one claim and decides whether a claim goes to the next payer at all
(``outcome``: ``"bill"``, or one of :data:`NO_SECONDARY`, stable codes for scripts). What stands is what stands
after reversals and corrections: a reversed payment (CLP02 = 22 names it) is never used, its correction is.
Several payments that stand for one claim are the pieces of a claim the payer split (digest 7.5), combined.

**Balancing**, as edi.x837.cob checks a claim before writing it (the TR3's way, RFI 1294/1507): claim charge
(CLM02) = paid + claim-level CAS + every line-level CAS of that payer; for each line the payer answered: line
charge = its SVD02 + its line-level CAS (over the pieces of a split line). An 835 whose amounts do not add up
that way (a payer's lines that do not add up to its claim, an SVC that matched no line) gives no adjudication but
problems saying by how much (``ledger.cob.unbalanced``, ``ledger.cob.unmatched``): a claim written from it would
be refused by edi's writer, or by the secondary payer.

**What the primary left open** (:func:`left_open`): the patient's responsibility after it, the sum of its PR
adjustments, claim and line level (digest 8.4: PR moves to the patient or to the next payer; CO, PI and OA are
the payer's or the provider's and never billed on). When the 835 balances this is also the charge less the
payment and the CO, PI and OA adjustments. It is what the claim to the next payer expects.

Suggested facade (``edi.ledger.Ledger``, not edited here)::

    def primary_adjudication(self, pcn, payer_id=None, **coverage):
        with self.engine.connect() as conn:
            return cob.primary_adjudication(conn, patient_control_number=pcn, payer_id=payer_id, **coverage)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row, RowMapping

from edi.ledger.post import payer_id_key
from edi.ledger.schema import (
    WITHDRAWN_STATUSES,
    adjustments,
    claim_lines,
    claim_payments,
    claims,
    remittances,
    service_payments,
)
from edi.model import ZERO, Adjustment, Claim, LineAdjudication, OtherPayer, Payer, Subscriber
from edi.problems import ERROR, WARNING, Problem, Where
from edi.x837.formats import SVD_QUALIFIERS

#: The outcome of a claim that goes on to the next payer.
BILL = "bill"
#: Why no claim goes to the next payer: outcome code -> what it means. Stable: scripts match on the codes.
NO_SECONDARY: Mapping[str, str] = MappingProxyType({
    "not_found": "the ledger holds no such claim",
    "ambiguous": "the claim number stands for several payers: say which payer's adjudication",
    "withdrawn": "the claim was replaced or voided: the claim that replaced it is the one to follow",
    "rejected": "an acknowledgement rejected the claim: the payer never adjudicated it",
    "not_adjudicated": "no 835 of the payer is posted for the claim yet",
    "reversed": "the payer reversed its payment and no correction is posted yet",
    "not_our_claim": "the payer answered that the claim is not its own (CLP02 = 23): it goes to another payer "
                     "as its first",
    "crossed_over": "the payer forwarded the claim to the next payer itself (crossover): that payer's 835 will "
                    "come without a claim",
    "partly_adjudicated": "the payer split the claim and not all of its pieces are posted yet",
    "not_kept": "the payer's 835 was posted before the ledger kept its service lines and MOA/MIA (migration "
                "0011): post the 835 again into a new ledger, or build the claim by hand",
    "unmatched": "a service line of the payer's 835 matches no line of the claim",
    "unbalanced": "the payer's 835 amounts do not add up to the claim's and lines' charges",
    "denied": "the payer denied the claim wholly and left nothing to the patient",
    "nothing_left": "the payer left nothing to the patient: nothing for the next payer to pay",
})
#: CLP02: processed as primary, secondary or tertiary and forwarded to additional payer(s) (digest 6.4, 8.3).
CROSSOVER_STATUSES = frozenset({"19", "20", "21"})
#: Remark codes (RARC) that say the payer forwarded the claim itself: MA18 (also forwarded to the patient's
#: supplemental insurer), MA07 (also forwarded to Medicaid), N89 (forwarded to more than one other payer).
CROSSOVER_REMARKS = frozenset({"MA18", "MA07", "N89"})
#: The remark code (RARC) a payer puts in MOA/MIA of each piece of a claim it split (digest 7.5, RFI 1076).
SPLIT_REMARK = "MA15"
#: CLP02 that adjudicate nothing: a reversal (it negates another payment), predetermination pricing only.
_NOT_ADJUDICATIONS = frozenset({"22", "25"})
#: MOA and MIA elements (0-based) that hold remark codes (MOA03-07; MIA05, MIA20-23).
_MOA_REMARKS, _MIA_REMARKS = (2, 3, 4, 5, 6), (4, 19, 20, 21, 22)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class PrimaryAdjudication:
    """A payer's adjudication of one claim as the ledger holds it, and whether a claim goes to the next payer.

    ``outcome`` is :data:`BILL` or a key of :data:`NO_SECONDARY`; ``message`` says it in words. ``other_payer``
    (loops 2320/2330A/2330B) and ``lines`` (line number -> that line's 2430 adjudications, in the order of the
    835's SVC loops) are set when the adjudication could be read and balances, whatever the outcome (a crossed
    over claim's adjudication can still be shown); ``add_to`` puts them on the claim to the next payer.
    ``left_open`` is what the payer left to the patient (:func:`left_open`), None when it has not adjudicated.
    """

    outcome: str
    message: str
    patient_control_number: str | None = None
    claim_id: int | None = None
    payer_id: str | None = None
    kind: str | None = None
    charge: Decimal | None = None
    other_payer: OtherPayer | None = None
    lines: Mapping[int, tuple[LineAdjudication, ...]] = field(default_factory=dict)
    line_charges: Mapping[int, Decimal] = field(default_factory=dict)  # line number -> charge, as recorded
    left_open: Decimal | None = None
    paid: Decimal | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def bill(self) -> bool:
        """Whether a claim goes to the next payer."""
        return self.outcome == BILL

    def add_to(self, claim: Claim) -> tuple[Claim | None, tuple[Problem, ...]]:
        """``claim`` (the same claim, addressed to the next payer: its payer, its subscriber) with this
        adjudication added after its other payers and on its lines, matched by line number; None and problems
        when there is none to add, or when the claim's charges are not the ones the payer adjudicated."""
        where = Where(record=claim.patient_control_number)
        if self.other_payer is None:
            return None, (Problem("ledger.cob.nothing_to_add", f"claim {claim.patient_control_number}: no "
                                  f"adjudication to add ({self.message})", ERROR, where),)
        found: list[Problem] = []
        if claim.total_charge != self.charge:
            found.append(Problem("ledger.cob.claim_differs", f"claim {claim.patient_control_number} charges "
                                 f"{claim.total_charge}, but the claim the payer adjudicated charged {self.charge}",
                                 ERROR, where))
        numbers = {ln.number for ln in claim.lines}
        for number, charge in self.line_charges.items():
            mine = next((ln for ln in claim.lines if ln.number == number), None)
            if mine is None:
                found.append(Problem("ledger.cob.claim_differs", f"claim {claim.patient_control_number} has no line "
                                     f"{number}, which the payer adjudicated", ERROR, where))
            elif mine.charge != charge:
                found.append(Problem("ledger.cob.claim_differs", f"claim {claim.patient_control_number} line "
                                     f"{number} charges {mine.charge}, but the line the payer adjudicated charged "
                                     f"{charge}", ERROR, where))
        extra = sorted(numbers - self.line_charges.keys())
        if extra and self.line_charges:
            found.append(Problem("ledger.cob.claim_differs", f"claim {claim.patient_control_number} has lines the "
                                 f"payer never saw: {', '.join(map(str, extra))}", ERROR, where))
        if found:
            return None, tuple(found)
        lines = tuple(replace(ln, adjudications=ln.adjudications + self.lines.get(ln.number, ()))
                      for ln in claim.lines)
        return replace(claim, other_payers=(*claim.other_payers, self.other_payer), lines=lines), ()


def primary_adjudication(conn: Connection, *, claim_id: int | None = None,
                         patient_control_number: str | None = None, payer_id: str | None = None,
                         payer: Payer | None = None, subscriber: Subscriber | None = None,
                         relationship: str = "18", responsibility: str = "P",
                         **other_payer: Any) -> PrimaryAdjudication:
    """The adjudication of a claim by the payer it was billed to, as the claim to the next payer carries it.

    The claim is named by its ledger id, or by its patient control number and the id of the payer it was billed
    to (``payer_id`` may be left out when the number stands for one payer only): the claim that stands for them,
    else the newest one. ``payer`` and ``subscriber`` are that coverage as the encounter lists it (its filing
    indicator, the subscriber's name and group), ``relationship`` the patient's relationship to that subscriber
    (SBR02), ``responsibility`` the payer's place in the order of payment (SBR01: ``P`` for the primary, ``S``
    when billing a third payer after a second); more ``OtherPayer`` fields (``insurance_type``,
    ``benefits_assigned``...) may be given by name. Without ``payer`` or ``subscriber``, what the ledger keeps
    stands in: the payer's name and id as billed, the member id (and no subscriber name: give one before
    writing)."""
    claim = _find_claim(conn, claim_id, patient_control_number, payer_id)
    if isinstance(claim, PrimaryAdjudication):
        return claim
    pcn = claim.patient_control_number
    where = Where(record=pcn)
    base: dict[str, Any] = {"patient_control_number": pcn, "claim_id": claim.id, "payer_id": claim.payer_id,
                            "kind": claim.kind, "charge": claim.charge}
    if claim.status in WITHDRAWN_STATUSES:
        return _no("withdrawn", base)
    payments = conn.execute(
        select(claim_payments.c.id, claim_payments.c.status, claim_payments.c.charge, claim_payments.c.paid,
               claim_payments.c.payer_claim_number, claim_payments.c.reverses_id, claim_payments.c.services,
               claim_payments.c.outpatient, claim_payments.c.inpatient, claim_payments.c.crossover_carrier,
               remittances.c.payment_date)
        .join(remittances, remittances.c.id == claim_payments.c.remittance_id)
        .where(claim_payments.c.claim_id == claim.id).order_by(claim_payments.c.id)).all()
    if not payments:
        return _no("rejected" if claim.status == "rejected" else "not_adjudicated", base)
    reversed_ids = {p.reverses_id for p in payments if p.reverses_id is not None}
    standing = [p for p in payments if p.id not in reversed_ids and p.status not in _NOT_ADJUDICATIONS]
    if not standing:
        reversals = any(p.status == "22" for p in payments)
        return _no("reversed" if reversals else "not_adjudicated", base)
    if any(p.status == "23" for p in standing):
        return _no("not_our_claim", base)
    crossed = _crossover(standing)
    if any(p.services is None for p in standing):
        if crossed is not None:  # CLP02 says so, whatever else the ledger kept
            return _no("crossed_over", base, said=f"{NO_SECONDARY['crossed_over']} ({crossed})")
        return _no("not_kept", base, Problem(
            "ledger.cob.not_kept", f"claim {pcn}: {NO_SECONDARY['not_kept']}", ERROR, where))
    lines = conn.execute(select(claim_lines.c.id, claim_lines.c.line_number, claim_lines.c.charge,
                                claim_lines.c.procedure, claim_lines.c.modifiers, claim_lines.c.revenue_code)
                         .where(claim_lines.c.claim_id == claim.id).order_by(claim_lines.c.line_number)).all()
    ids = [p.id for p in standing]
    cas = conn.execute(select(adjustments.c.claim_payment_id, adjustments.c.level, adjustments.c.group_code,
                              adjustments.c.reason, adjustments.c.amount, adjustments.c.quantity,
                              adjustments.c.service_number)
                       .where(adjustments.c.claim_payment_id.in_(ids)).order_by(adjustments.c.id)).all()
    services = conn.execute(select(service_payments).where(service_payments.c.claim_payment_id.in_(ids))
                            .order_by(service_payments.c.claim_payment_id, service_payments.c.service_number)
                            ).mappings().all()
    reader = _Reading(claim, standing, lines, cas, services, payer, subscriber, relationship, responsibility,
                      other_payer)
    read = reader.read()
    # what is left open is known once every piece is posted (a split claim's first piece alone would understate it)
    final = reader.outcome != "partly_adjudicated"
    base |= {"left_open": reader.left_open if final else None, "paid": reader.paid if final else None,
             "line_charges": reader.line_charges}
    if read is not None:
        base |= {"other_payer": read[0], "lines": read[1]}
    problems = tuple(reader.problems)
    if crossed is not None:
        return _no("crossed_over", base, *problems, said=f"{NO_SECONDARY['crossed_over']} ({crossed})")
    if reader.outcome is not None:
        return _no(reader.outcome, base, *problems, said=reader.said)
    if reader.left_open == 0:
        denied = all(p.status == "4" or p.paid == 0 for p in standing)
        return _no("denied" if denied else "nothing_left", base, *problems)
    return PrimaryAdjudication(BILL, f"claim {pcn}: the payer left {reader.left_open} to the patient: bill the "
                               "next payer", **base, problems=problems)


def left_open(conn: Connection, *, claim_id: int | None = None, patient_control_number: str | None = None,
              payer_id: str | None = None) -> Decimal | None:
    """What the payer a claim was billed to left open for the next payer (and, after the last payer, for the
    patient): the sum of its PR adjustments, claim and line level, in the payments that stand after reversals
    and corrections (a denial's included: a payer may deny a line to the patient, PR-96). None when that payer
    has not adjudicated the claim, or the ledger cannot tell (see :func:`primary_adjudication`)."""
    return primary_adjudication(conn, claim_id=claim_id, patient_control_number=patient_control_number,
                                payer_id=payer_id).left_open


# -- reading ----------------------------------------------------------------------------------------------------


def _no(outcome: str, base: dict[str, Any], *problems: Problem, said: str | None = None) -> PrimaryAdjudication:
    pcn = base.get("patient_control_number")
    words = said or NO_SECONDARY[outcome]
    return PrimaryAdjudication(outcome, f"claim {pcn}: {words}" if pcn else words, **base, problems=problems)


def _find_claim(conn: Connection, claim_id: int | None, pcn: str | None,
                payer_id: str | None) -> Row | PrimaryAdjudication:
    """The claims row named (id, number and payer), or a PrimaryAdjudication saying why there is none."""
    columns = (claims.c.id, claims.c.patient_control_number, claims.c.kind, claims.c.payer_id, claims.c.payer_name,
               claims.c.member_id, claims.c.charge, claims.c.status)
    if claim_id is not None:
        row = conn.execute(select(*columns).where(claims.c.id == claim_id)).first()
        if row is None:
            return _no("not_found", {"claim_id": claim_id})
        return row
    if pcn is None:
        raise TypeError("primary_adjudication needs a claim id or a patient control number")
    rows = conn.execute(select(*columns).where(claims.c.patient_control_number == pcn).order_by(claims.c.id)).all()
    wanted = payer_id_key(payer_id)
    if wanted is not None:
        rows = [r for r in rows if payer_id_key(r.payer_id) == wanted]
    base = {"patient_control_number": pcn, "payer_id": payer_id}
    if not rows:
        return _no("not_found", base)
    standing = [r for r in rows if r.status not in WITHDRAWN_STATUSES] or rows
    if len({payer_id_key(r.payer_id) for r in standing}) > 1:
        return _no("ambiguous", base, Problem("ledger.cob.ambiguous", f"claim {pcn}: "
                                              f"{NO_SECONDARY['ambiguous']}", ERROR, Where(record=pcn)))
    return standing[-1]


def _crossover(standing: Iterable[Row]) -> str | None:
    """How a payment says the payer forwarded the claim itself, in words; None when none does."""
    for p in standing:
        if p.status in CROSSOVER_STATUSES:
            to = f" to {p.crossover_carrier}" if p.crossover_carrier else ""
            return f"CLP02 = {p.status}: processed and forwarded{to}"
        for column, positions, tag in ((p.outpatient, _MOA_REMARKS, "MOA"), (p.inpatient, _MIA_REMARKS, "MIA")):
            values = _elements(column)
            codes = sorted({values[i] for i in positions if i < len(values)} & CROSSOVER_REMARKS)
            if codes:
                return f"{tag} remark {', '.join(codes)}"
    return None


def _elements(kept: str | None) -> tuple[str, ...]:
    """MOA or MIA elements as post.py keeps them (a JSON array)."""
    return tuple(json.loads(kept)) if kept else ()


def _adjustment(row: Row) -> Adjustment:
    return Adjustment(row.group_code, row.reason, row.amount, None if row.quantity is None else Decimal(row.quantity))


class _Reading:
    """One claim's standing payments read into an OtherPayer and LineAdjudications, checked the TR3's way."""

    def __init__(self, claim: Row, standing: Sequence[Row], lines: Sequence[Row], cas: Sequence[Row],
                 services: Sequence[RowMapping], payer: Payer | None, subscriber: Subscriber | None,
                 relationship: str, responsibility: str, more: dict[str, Any]) -> None:
        self.claim, self.standing, self.services = claim, standing, services
        self.kind = claim.kind if claim.kind in SVD_QUALIFIERS else "professional"
        self.where = Where(record=claim.patient_control_number)
        self.lines = {ln.id: ln for ln in lines}
        self.line_charges = {ln.line_number: ln.charge for ln in lines}
        self.claim_cas: dict[int, list[Adjustment]] = {p.id: [] for p in standing}
        self.line_cas: dict[tuple[int, int], list[Adjustment]] = {}
        for row in cas:
            if row.level == "claim":
                self.claim_cas[row.claim_payment_id].append(_adjustment(row))
            else:
                self.line_cas.setdefault((row.claim_payment_id, row.service_number), []).append(_adjustment(row))
        self.payer = payer if payer is not None else Payer(claim.payer_name or claim.payer_id or "", claim.payer_id
                                                           or "", responsibility=responsibility)
        if payer is not None and payer.responsibility != responsibility:
            self.payer = replace(payer, responsibility=responsibility)
        self.subscriber = subscriber if subscriber is not None else Subscriber(claim.member_id or "", "")
        self.relationship, self.more = relationship, more
        self.paid = sum((p.paid for p in standing), ZERO)
        self.left_open = sum((a.amount for found in (*self.claim_cas.values(), *self.line_cas.values())
                              for a in found if a.group == "PR"), ZERO)
        self.problems: list[Problem] = []
        self.outcome: str | None = None
        self.said: str | None = None

    def _fail(self, outcome: str, message: str, severity=ERROR) -> None:
        self.problems.append(Problem(f"ledger.cob.{outcome}", f"claim {self.claim.patient_control_number}: "
                                     f"{message}", severity, self.where))
        if self.outcome is None:
            self.outcome, self.said = outcome, message

    def read(self) -> tuple[OtherPayer, dict[int, tuple[LineAdjudication, ...]]] | None:
        claim, standing = self.claim, self.standing
        charged = sum((p.charge for p in standing), ZERO)
        split = len(standing) > 1 or any(SPLIT_REMARK in _elements(p.outpatient) + _elements(p.inpatient)
                                         for p in standing)
        if split and charged < claim.charge:
            self.outcome = "partly_adjudicated"
            self.said = (f"{NO_SECONDARY['partly_adjudicated']} ({len(standing)} pieces posted charging {charged} "
                         f"of {claim.charge})")
            return None
        if charged != claim.charge:
            self._fail("unbalanced", f"the payer adjudicated charges of {charged} (CLP03), but the claim charged "
                       f"{claim.charge}" + (f" ({len(standing)} payments stand)" if len(standing) > 1 else ""))
        pieces: dict[int, list[tuple[RowMapping, list[Adjustment], date | None]]] = {}
        dates = {p.id: p.payment_date for p in standing}
        for svc in self.services:
            line = self.lines.get(svc["line_id"])
            if line is None:
                self._fail("unmatched", f"SVC loop {svc['service_number']} ({svc['procedure'] or 'no procedure'}) "
                           "of the payer's 835 matches no line of the claim")
                continue
            if svc["charge"] is None or svc["paid"] is None:
                self._fail("unbalanced", f"SVC loop {svc['service_number']} holds an amount beyond what the ledger "
                           "keeps")
                continue
            found = self.line_cas.get((svc["claim_payment_id"], svc["service_number"]), [])
            pieces.setdefault(line.line_number, []).append((svc, found, dates[svc["claim_payment_id"]]))
        line_total = ZERO
        for number, found in pieces.items():
            paid = sum((svc["paid"] for svc, _, _ in found), ZERO)
            adjusted = sum((a.amount for _, cas, _ in found for a in cas), ZERO)
            line_total += adjusted
            charge = self.line_charges[number]
            if paid + adjusted != charge:
                self._fail("unbalanced", f"line {number} charges {charge}, but the payer's SVC03 {paid} + line CAS "
                           f"{adjusted} make {paid + adjusted} (difference {charge - paid - adjusted})")
        claim_level = [a for p in standing for a in self.claim_cas[p.id]]
        made = self.paid + sum((a.amount for a in claim_level), ZERO) + line_total
        if made != claim.charge:
            self._fail("unbalanced", f"the claim charges {claim.charge}, but the payer's CLP04 {self.paid} + "
                       f"claim-level CAS {made - self.paid - line_total} + line-level CAS {line_total} make {made} "
                       f"(difference {claim.charge - made})")
        if self.outcome is not None:
            return None
        # AMT*EAF: per line when the payer answered per line, else (or when it put patient responsibility at claim
        # level too) per claim (RFI 1515: required once a payer adjudicated, zero included)
        per_line = bool(pieces) and not any(a.group == "PR" for a in claim_level)
        adjudications = {number: tuple(self._line(svc, cas, when, per_line) for svc, cas, when in found)
                         for number, found in sorted(pieces.items())}
        return self._other_payer(claim_level, per_line), adjudications

    def _other_payer(self, claim_level: list[Adjustment], per_line: bool) -> OtherPayer:
        standing = self.standing
        first = standing[0]
        if len(standing) > 1:
            self.problems.append(Problem(
                "ledger.cob.split_claim", f"claim {self.claim.patient_control_number}: the payer split the claim "
                f"into {len(standing)} payments; they are combined, and REF*F8 names the first one's claim number "
                "(CLP07)", WARNING, self.where))
            claim_level = _merged(claim_level)
        moa = next((_elements(p.outpatient) for p in standing if p.outpatient), ()) or None
        mia = next((_elements(p.inpatient) for p in standing if p.inpatient), ()) or None
        if mia is not None and self.kind == "professional":
            self.problems.append(Problem(
                "ledger.cob.not_carried", f"claim {self.claim.patient_control_number}: the payer sent inpatient "
                "adjudication (MIA) for a professional claim; an 837P does not carry it (left out)", WARNING,
                self.where))
            mia = None
        when = max((p.payment_date for p in standing if p.payment_date is not None), default=None)
        fields: dict[str, Any] = {
            "relationship": self.relationship, "paid": self.paid, "adjustments": tuple(claim_level),
            "remaining_patient_liability": None if per_line else self.left_open, "outpatient": moa,
            "inpatient": mia, "adjudication_date": when, "claim_number": first.payer_claim_number,
        }
        return OtherPayer(self.payer, self.subscriber, **(fields | self.more))

    def _line(self, svc: RowMapping, cas: list[Adjustment], when: date | None, per_line: bool) -> LineAdjudication:
        """One 2430 loop: the SVC loop as adjudicated. An 837I line answered by its revenue code alone (SVC01 NU)
        carries it in SVD04 and no SVD03; a procedure the 837 cannot carry in SVD03 (an NDC, a dental code, a
        revenue code on an 837P) is replaced by the submitted line's, with a warning."""
        qualifier, code = svc["procedure_qualifier"], svc["procedure"]
        modifiers = tuple(svc["modifiers"].split(":")) if svc["modifiers"] else ()
        submitted = self.lines[svc["line_id"]]
        institutional = self.kind == "institutional"
        revenue = None
        if institutional:
            revenue = svc["revenue_code"] or (code if qualifier == "NU" else None) or submitted.revenue_code
        if qualifier == "NU" and institutional:
            qualifier, code, modifiers = "HC", None, ()
        elif code is not None and qualifier not in SVD_QUALIFIERS[self.kind]:
            self.problems.append(Problem(
                "ledger.cob.procedure", f"claim {self.claim.patient_control_number}: SVC loop "
                f"{svc['service_number']} names its procedure with qualifier {qualifier}, which the 837's SVD03 "
                "does not carry: the submitted line's procedure is repeated instead", WARNING, self.where))
            qualifier, code = "HC", submitted.procedure
            modifiers = tuple(submitted.modifiers.split(":")) if submitted.modifiers else ()
        units = Decimal(svc["units"]) if svc["units"] else ONE  # SVC05 absent: one (RFI 2163)
        liability = sum((a.amount for a in cas if a.group == "PR"), ZERO) if per_line else None
        return LineAdjudication(self.payer.payer_id, svc["paid"], units, code, qualifier or "HC", modifiers,
                                revenue_code=revenue, adjustments=tuple(cas), adjudication_date=when,
                                remaining_patient_liability=liability)


def _merged(found: list[Adjustment]) -> list[Adjustment]:
    """The claim-level adjustments of a split claim's pieces, one per group and reason (the same pair must not
    repeat, RFI 213), amounts summed (and quantities, when every piece gave one)."""
    out: dict[tuple[str, str], Adjustment] = {}
    for a in found:
        had = out.get((a.group, a.reason))
        if had is None:
            out[(a.group, a.reason)] = a
        else:
            quantity = had.quantity + a.quantity if had.quantity is not None and a.quantity is not None else None
            out[(a.group, a.reason)] = Adjustment(a.group, a.reason, had.amount + a.amount, quantity)
    return list(out.values())
