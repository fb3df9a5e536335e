"""835 balancing: named checks that report the difference, never a bare boolean.

* ``835.line.unbalanced``: SVC02 - sum(line CAS) = SVC03
* ``835.claim.unbalanced``: CLP03 - sum(claim CAS) - sum(line CAS) = CLP04 (claims without lines included)
* ``835.transaction.unbalanced``: BPR02 = sum(CLP04) - sum(PLB amounts), BPR02 negated for a debit (BPR03 = D)
* ``835.claim.patient_responsibility`` (a warning): CLP05 = sum of PR adjustments, claim and lines

Reversals (CLP02 = 22) carry negated amounts and balance by the same equations. AMT and QTY are
informational and never part of balancing (X12 digest section 7).
"""

from __future__ import annotations

from decimal import Decimal

from edi.model import ClaimPayment, RemittanceEnd, ServicePayment, Source
from edi.problems import ERROR, WARNING, Problem, Where

ZERO = Decimal(0)


def _where(source: Source | None, file: str | None, tag: str, element: str) -> Where:
    if source is None:
        return Where(file=file, tag=tag, element=element)
    return Where(file=source.file or file, interchange=source.interchange, transaction=source.transaction,
                 segment=source.segment, tag=tag, element=element)


def line_difference(line: ServicePayment) -> Decimal:
    """SVC02 - line CAS - SVC03 (zero when the line balances)."""
    return line.charge - line.adjustment_total - line.paid


def claim_difference(claim: ClaimPayment) -> Decimal:
    """CLP03 - claim CAS - line CAS - CLP04 (zero when the claim balances)."""
    adjusted = sum((a.amount for a in claim.adjustments), ZERO)
    for ln in claim.lines:
        for a in ln.adjustments:
            adjusted += a.amount
    return claim.charge - adjusted - claim.paid


def transaction_difference(end: RemittanceEnd) -> Decimal:
    """BPR02 (signed by BPR03) - (sum CLP04 - sum PLB) (zero when the transaction balances)."""
    rem = end.remittance
    paid = rem.amount if rem.credit_debit != "D" else -rem.amount
    return paid - (end.paid_total - end.provider_adjustment_total)


def check_line(line: ServicePayment, file: str | None = None) -> list[Problem]:
    diff = line_difference(line)
    if not diff:
        return []
    return [Problem("835.line.unbalanced",
                    f"service line {line.procedure or line.revenue_code}: SVC02 {line.charge} - adjustments "
                    f"{line.adjustment_total} = {line.charge - line.adjustment_total}, but SVC03 is {line.paid} "
                    f"(difference {diff})", ERROR, _where(line.source, file, "SVC", "SVC03"))]


def check_claim(claim: ClaimPayment, file: str | None = None) -> list[Problem]:
    # One pass over the adjustments for both equations: this runs on every claim read.
    adjusted = pr = ZERO
    for a in claim.adjustments:
        adjusted += a.amount
        if a.group == "PR":
            pr += a.amount
    for ln in claim.lines:
        for a in ln.adjustments:
            adjusted += a.amount
            if a.group == "PR":
                pr += a.amount
    diff = claim.charge - adjusted - claim.paid
    responsibility = claim.patient_responsibility
    if not diff and (responsibility is None or responsibility == pr):
        return []
    out: list[Problem] = []
    if diff:
        out.append(Problem("835.claim.unbalanced",
                           f"claim {claim.patient_control_number}: CLP03 {claim.charge} - adjustments {adjusted} = "
                           f"{claim.charge - adjusted}, but CLP04 is {claim.paid} (difference {diff})", ERROR,
                           _where(claim.source, file, "CLP", "CLP04")))
    if responsibility is not None and responsibility != pr:
        out.append(Problem("835.claim.patient_responsibility",
                           f"claim {claim.patient_control_number}: CLP05 is {responsibility} but the PR adjustments "
                           f"add up to {pr} (difference {responsibility - pr})", WARNING,
                           _where(claim.source, file, "CLP", "CLP05")))
    return out


def check_transaction(end: RemittanceEnd, file: str | None = None) -> list[Problem]:
    diff = transaction_difference(end)
    if not diff:
        return []
    rem = end.remittance
    expected = end.paid_total - end.provider_adjustment_total
    debit = " (debit)" if rem.credit_debit == "D" else ""
    return [Problem("835.transaction.unbalanced",
                    f"transaction {rem.control_number}: BPR02 is {rem.amount}{debit}"
                    f" but claim payments {end.paid_total} - provider adjustments {end.provider_adjustment_total} = "
                    f"{expected} (difference {diff})", ERROR,
                    _where(rem.source, file, "BPR", "BPR02"))]
