"""How the simulated payer decides: its edits (a 277CA rejection), its pricing (the fee schedule) and a seeded
policy that picks, claim by claim, one branch of what real payers do.

    policy = Policy()                                # the probabilities below; Policy(deny=0.2) for more denials
    decide = Adjudicator(fees, policy, random.Random("7:<digest of the 837>"))
    outcome = decide(claim, payer_key="acme", icn="8F3A01C20000001")

Every choice is drawn from the ``random.Random`` given (nothing global), in claim order, so the same seed and
the same 837 give the same outcomes. The branches (``Outcome.branch``):

``rejected``
    a payer edit failed; the 277CA rejects the claim and no 835 answers it. The edits: a member id starting
    with ``SYNX`` is not on the payer's enrolment file (``A3:33:IL``: subscriber and subscriber id not found);
    a principal diagnosis in ``Policy.refused_diagnoses`` (default R69 and R99, ill-defined conditions) is
    refused (``A7:254``: principal diagnosis code).
``denied``
    CLP02 = 4, every line adjusted CO-50, CO-97 or CO-197 with a remark code (LQ*HE), nothing paid.
``paid``
    each line paid at the allowed amount (the fee schedule's, at most the charge) less the patient's share,
    CO-45 for the charge above the allowed amount; the share is none, a deductible (PR-1), coinsurance (PR-2)
    or a copay (PR-3), drawn per claim.
``line_denied``
    paid, but one line of a claim of several is denied CO-97 (M15: bundled) with nothing paid on it.
``split``
    a claim of several lines answered by two CLPs, each with its own lines and payer claim number, both
    CLP02 = 1, each balancing on its own.
``reversed``
    paid with a deductible (PR-1) in the first payment cycle; in the second, that payment is reversed (CLP02 =
    22, every amount negated, the same payer claim number) and corrected (CLP02 = 1, a new payer claim number,
    no deductible).
``late``
    paid in the second cycle, past the prompt-payment limit, with interest as a provider-level adjustment
    (PLB L6, negative: it adds to the payment, referencing the payer claim number).
``recouped``
    paid in the first cycle; in the second, part of that payment is taken back as an overpayment recovery
    (PLB WO, positive: it reduces the payment).

``next_payer``
    a claim to a next payer (coordination of benefits: it carries the adjudications of the payers before it,
    loops 2320/2430): processed as secondary (CLP02 = 2) or tertiary (3, when SBR01 is T). Per line, the payer
    pays what it would pay as primary (its allowed amount less its own patient share, drawn as for any claim),
    but never more than the last payer before it left to the patient on that line (its PR adjustments, and its
    claim-level PR spread over the lines by their charges); the
    rest of the charge is the payers' before, OA-23; what is still left is the patient's, PR under the reason
    the payer before gave. Such a claim is paid in the first cycle, never denied, split, reversed, late or
    recouped here (the edits still apply: a member the payer does not know is rejected).

A line no fee schedule row prices is allowed ``Policy.unpriced_rate`` of its charge. A void (frequency 8) is
accepted by the 277CA and needs no payment: ``void``, no 835.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from edi.fees import FeeSchedule
from edi.model import Claim, ServiceLine

ZERO = Decimal(0)
CENT = Decimal("0.01")

#: Denial reasons: CARC with the remark code (RARC) sent with it.
DENIALS = (("50", "N115"),   # not medically necessary; decision based on a local coverage determination
           ("97", "M15"),    # included in another service; separately billed services bundled
           ("197", "M62"))   # precertification absent; missing/invalid treatment authorization
LINE_DENIAL = ("97", "M15")
#: 277CA rejections: (STC01-1 category, STC01-2 status, STC01-3 entity, what it means in words).
UNKNOWN_MEMBER = ("A3", "33", "IL", "subscriber and subscriber id not found")
REFUSED_DIAGNOSIS = ("A7", "254", "", "principal diagnosis code refused")


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Policy:
    """The probabilities (per claim, among claims that pass the edits) and the payer's edits."""

    deny: float = 0.08
    line_denied: float = 0.06  # among paid claims of two or more lines
    split: float = 0.05  # among paid claims of two or more lines
    reversed: float = 0.04
    late: float = 0.04
    recouped: float = 0.03
    deductible: float = 0.2  # the patient's share of a paid claim: PR-1, PR-2, PR-3, or none
    coinsurance: float = 0.25
    copay: float = 0.15
    coinsurance_rate: Decimal = Decimal("0.20")
    unpriced_rate: Decimal = Decimal("0.60")
    ach: float = 0.7  # a claim's payment goes by ACH (EFT), else by check
    interest_rate: Decimal = Decimal("0.10")  # a year, on late claims
    prompt_days: int = 30  # days from receipt to the prompt-payment limit
    first_cycle_days: int = 14  # days from receipt to the first payment
    second_cycle_days: int = 45  # ... and to the second (reversals, corrections, late claims, recoupments)
    unknown_member_prefix: str = "SYNX"
    refused_diagnoses: frozenset[str] = frozenset({"R69", "R99"})


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """One SVC: the line as billed, what was allowed and paid, its CAS triplets and its remark code."""

    line: ServiceLine
    allowed: Decimal
    paid: Decimal
    adjustments: tuple[tuple[str, str, Decimal], ...]  # (group, reason, amount)
    remark: str | None = None

    def negated(self) -> LineAnswer:
        return LineAnswer(self.line, -self.allowed, -self.paid,
                          tuple((g, r, -a) for g, r, a in self.adjustments), self.remark)


@dataclass(frozen=True, slots=True)
class ClaimAnswer:
    """One CLP: status (1, 4 or 22), the payer claim number, its lines."""

    status: str
    icn: str
    lines: tuple[LineAnswer, ...]
    negative: bool = False  # a reversal: line charges negated too

    @property
    def charge(self) -> Decimal:
        total = sum((ln.line.charge for ln in self.lines), ZERO)
        return -total if self.negative else total

    @property
    def paid(self) -> Decimal:
        return sum((ln.paid for ln in self.lines), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a for ln in self.lines for g, _, a in ln.adjustments if g == "PR"), ZERO)

    def reversal(self) -> ClaimAnswer:
        return ClaimAnswer("22", self.icn, tuple(ln.negated() for ln in self.lines), negative=True)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the payer does with one claim. ``first`` goes in the first payment cycle, ``second`` in the second;
    ``interest`` (PLB L6) and ``recoupment`` (PLB WO) are provider-level, in the second cycle's payment."""

    claim: Claim
    branch: str
    icn: str
    rejection: tuple[str, str, str, str] | None = None
    first: tuple[ClaimAnswer, ...] = ()
    second: tuple[ClaimAnswer, ...] = ()
    interest: Decimal = ZERO
    recoupment: Decimal = ZERO
    ach: bool = True
    patient_share: str | None = None  # PR-1, PR-2, PR-3 or None
    denial: str | None = None  # "CO-50 N115"...

    @property
    def accepted(self) -> bool:
        return self.rejection is None


class Adjudicator:
    """Decides one claim at a time (see the module docstring). ``payer_key`` picks the fee schedule's rows
    (None: the ``*`` rows only)."""

    def __init__(self, fees: FeeSchedule, policy: Policy, rng: random.Random) -> None:
        self.fees = fees
        self.policy = policy
        self.rng = rng

    # -- edits ----------------------------------------------------------------------------------------------

    def edit(self, claim: Claim) -> tuple[str, str, str, str] | None:
        p = self.policy
        if claim.subscriber.member_id.upper().startswith(p.unknown_member_prefix):
            return UNKNOWN_MEMBER
        principal = claim.diagnoses[0].code.replace(".", "").upper() if claim.diagnoses else ""
        if principal in {d.replace(".", "").upper() for d in p.refused_diagnoses}:
            return REFUSED_DIAGNOSIS
        return None

    # -- pricing --------------------------------------------------------------------------------------------

    def allowed(self, claim: Claim, line: ServiceLine, payer_key: str | None) -> Decimal:
        codes = [line.revenue_code, line.procedure] if claim.kind == "institutional" else [line.procedure]
        for code in codes:
            if code:
                amount = self.fees.allowed(payer_key, code, line.modifiers, line.units or 1)
                if amount is not None:
                    return max(min(amount, line.charge), ZERO)
        return max(cents(line.charge * self.policy.unpriced_rate), ZERO)

    # -- the decision ---------------------------------------------------------------------------------------

    def __call__(self, claim: Claim, *, payer_key: str | None, icn: str) -> Outcome:
        rng, p = self.rng, self.policy
        # every claim draws the same number of values, whatever its branch: one claim's branch never shifts
        # the draws of the claims after it
        draws = [rng.random() for _ in range(6)]
        slot_ach = draws[5] < p.ach
        rejection = self.edit(claim)
        if rejection is not None:
            return Outcome(claim, "rejected", icn, rejection=rejection, ach=slot_ach)
        if claim.frequency == "8":
            return Outcome(claim, "void", icn, ach=slot_ach)
        if any(o.adjudicated for o in claim.other_payers):
            return self._as_next_payer(claim, payer_key, icn, self._share(draws[3]), draws[4], slot_ach)
        if draws[0] < p.deny:
            reason, remark = DENIALS[int(draws[1] * len(DENIALS))]
            lines = tuple(LineAnswer(ln, ZERO, ZERO, (("CO", reason, ln.charge),), remark) for ln in claim.lines)
            return Outcome(claim, "denied", icn, first=(ClaimAnswer("4", icn, lines),), ach=slot_ach,
                           denial=f"CO-{reason} {remark}")
        several = len(claim.lines) > 1
        x = draws[2]
        branch = "paid"
        for name, chance, needs_lines in (("line_denied", p.line_denied, True), ("split", p.split, True),
                                          ("reversed", p.reversed, False), ("late", p.late, False),
                                          ("recouped", p.recouped, False)):
            if needs_lines and not several:
                continue
            if x < chance:
                branch = name
                break
            x -= chance
        share = self._share(draws[3]) if branch != "reversed" else "PR-1"
        allowed = [self.allowed(claim, ln, payer_key) for ln in claim.lines]
        denied_line = int(draws[4] * len(claim.lines)) if branch == "line_denied" else None
        lines = self._pay(claim.lines, allowed, share, draws[4], denied_line)
        if branch == "split":
            cut = (len(lines) + 1) // 2
            parts = (ClaimAnswer("1", icn + "A", lines[:cut]), ClaimAnswer("1", icn + "B", lines[cut:]))
            return Outcome(claim, branch, icn, first=parts, ach=slot_ach, patient_share=share)
        answer = ClaimAnswer("1", icn, lines)
        if branch == "reversed":
            corrected = ClaimAnswer("1", icn + "C", self._pay(claim.lines, allowed, None, draws[4], None))
            return Outcome(claim, branch, icn, first=(answer,), second=(answer.reversal(), corrected),
                           ach=slot_ach, patient_share=share)
        if branch == "late":
            days = p.second_cycle_days - p.prompt_days
            interest = cents(answer.paid * p.interest_rate * days / 365)
            return Outcome(claim, branch, icn, second=(answer,), interest=interest, ach=slot_ach,
                           patient_share=share)
        if branch == "recouped":
            recoup = cents(answer.paid * Decimal("0.25"))
            return Outcome(claim, branch, icn, first=(answer,), recoupment=recoup, ach=slot_ach,
                           patient_share=share)
        return Outcome(claim, branch, icn, first=(answer,), ach=slot_ach, patient_share=share)

    def _as_next_payer(self, claim: Claim, payer_key: str | None, icn: str, share: str | None, x: float,
                       ach: bool) -> Outcome:
        """The ``next_payer`` branch (see the module docstring)."""
        before = [o for o in claim.other_payers if o.adjudicated][-1]
        last = before.payer.payer_id
        allowed = [self.allowed(claim, ln, payer_key) for ln in claim.lines]
        own = self._pay(claim.lines, allowed, share, x, None)  # what it would pay as the primary payer
        # what the payer before left at claim level (its 2320 CAS PR: a payer that adjudicated the claim as a
        # whole) is spread over the lines by their charges, the cents left over on the last line
        claim_left = [a for a in before.adjustments if a.group == "PR"]
        spread = _spread(sum((a.amount for a in claim_left), ZERO), [ln.charge for ln in claim.lines])
        lines = []
        for ln, mine, extra in zip(claim.lines, own, spread, strict=True):
            left = [a for j in ln.adjudications if j.payer_id == last for a in j.adjustments if a.group == "PR"]
            open_ = sum((a.amount for a in left), ZERO) + extra
            paid = max(min(mine.paid, open_), ZERO)
            cas: list[tuple[str, str, Decimal]] = []
            if ln.charge != open_:
                cas.append(("OA", "23", ln.charge - open_))
            if open_ > paid:
                reason = (left or claim_left)[0].reason if (left or claim_left) else "2"
                cas.append(("PR", reason, open_ - paid))
            lines.append(LineAnswer(ln, mine.allowed, paid, tuple(cas)))
        status = "3" if claim.payer.responsibility == "T" else "2"
        return Outcome(claim, "next_payer", icn, first=(ClaimAnswer(status, icn, tuple(lines)),), ach=ach,
                       patient_share=share)

    def _share(self, x: float) -> str | None:
        p = self.policy
        if x < p.deductible:
            return "PR-1"
        if x < p.deductible + p.coinsurance:
            return "PR-2"
        if x < p.deductible + p.coinsurance + p.copay:
            return "PR-3"
        return None

    def _pay(self, lines: tuple[ServiceLine, ...], allowed: list[Decimal], share: str | None, x: float,
             denied_line: int | None) -> tuple[LineAnswer, ...]:
        """Each line paid at its allowed amount less the patient's share (drawn amounts come from ``x``, so a
        correction computed again gives the same figures)."""
        p = self.policy
        deductible = (Decimal(25), Decimal(50), Decimal(100), Decimal(250))[int(x * 4)] if share == "PR-1" else ZERO
        copay = (Decimal(15), Decimal(20), Decimal(30))[int(x * 3)] if share == "PR-3" else ZERO
        out = []
        for i, (ln, allow) in enumerate(zip(lines, allowed, strict=True)):
            if i == denied_line:
                reason, remark = LINE_DENIAL
                out.append(LineAnswer(ln, ZERO, ZERO, (("CO", reason, ln.charge),), remark))
                continue
            cas: list[tuple[str, str, Decimal]] = []
            if ln.charge > allow:
                cas.append(("CO", "45", ln.charge - allow))
            patient = ZERO
            if share == "PR-1" and deductible > 0:
                patient = min(deductible, allow)
                deductible -= patient
                code = "1"
            elif share == "PR-2":
                patient = cents(allow * p.coinsurance_rate)
                code = "2"
            elif share == "PR-3" and copay > 0:
                patient = min(copay, allow)
                copay -= patient
                code = "3"
            if patient > 0:
                cas.append(("PR", code, patient))
            out.append(LineAnswer(ln, allow, allow - patient, tuple(cas)))
        return tuple(out)


def _spread(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``amount`` split in cents in proportion to ``weights`` (the rest of the rounding on the last weight that is
    not zero); zeros when there is nothing to split."""
    total = sum(weights, ZERO)
    if not amount or not total:
        return [ZERO] * len(weights)
    shares = [cents(amount * w / total) for w in weights]
    last = max((i for i, w in enumerate(weights) if w), default=len(weights) - 1)
    shares[last] += amount - sum(shares, ZERO)
    return shares
