"""835 remittances as plain data: the JSON shape of ``edi remit show --json`` and the per-payment grouping the
human rendering uses. Money is a decimal string ("150.00" keeps what the payer sent: "150"), dates ISO."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from edi.model import Adjustment, ClaimPayment, Remittance, RemittanceEnd, ServicePayment
from edi.x835.balance import claim_difference, line_difference, transaction_difference

CENT = Decimal("0.01")


def money(value: Decimal | None) -> str | None:
    """A decimal string with cents ("150.00"); more decimal places are kept when the payer sent them.

    Read off ``str(value)`` (about a quarter of the cost of ``quantize``: ``edi remit show --json`` calls this
    for every amount of a file); an exponent ("1E+2") takes the general way."""
    if value is None:
        return None
    text = str(value)
    if text[-3:-2] == ".":  # cents already, as most amounts are: one slice decides
        return text
    point = text.find(".")
    if point < 0:
        if "E" not in text:
            return text + ".00"
    elif "E" not in text:
        places = len(text) - point - 1
        return text + "0" if places == 1 else text
    return str(value.quantize(CENT)) if value.as_tuple().exponent >= -2 else str(value)


def iso(value) -> str | None:
    return None if value is None else value.isoformat()


@dataclass
class Payment:
    """One 835 transaction set, gathered for display: header, claims, end (held in memory per transaction)."""

    remittance: Remittance
    claims: list[ClaimPayment] = field(default_factory=list)
    end: RemittanceEnd | None = None

    @property
    def balanced(self) -> bool:
        if self.end is None or transaction_difference(self.end):
            return False
        return all(claim_balances(c) for c in self.claims)


def claim_balances(c: ClaimPayment) -> bool:
    """The claim and each of its lines balance (charge = paid + adjustments)."""
    return not claim_difference(c) and not any(line_difference(ln) for ln in c.lines)


def claim_remarks(c: ClaimPayment) -> tuple[str, ...]:
    """The claim-level remark codes (RARC): MOA03-MOA07 of an outpatient claim, MIA05 and MIA20-MIA23 of an
    inpatient one."""
    out: list[str] = []
    if c.outpatient:
        out += [x for x in c.outpatient[2:7] if x]
    if c.inpatient:
        out += [x for i, x in enumerate(c.inpatient) if x and (i == 4 or 19 <= i <= 22)]
    return tuple(out)


def patient_name(c: ClaimPayment) -> str | None:
    """The patient as the payer named them: NM1*QC (LAST, FIRST)."""
    return _name(c.patient)


#: What ``payment_events`` yields: ``(BEGIN, Remittance)``, ``(CLAIM, ClaimPayment)``, ``(END, RemittanceEnd | None,
#: balanced)``.
BEGIN, CLAIM, END = "begin", "claim", "end"


def payment_events(items: Iterable) -> Iterator[tuple]:
    """A reader's stream as payments (835 transaction sets), streamed: ``(BEGIN, remittance)``, then
    ``(CLAIM, claim)`` for each of its claims, then ``(END, remittance_end, balanced)``, where ``balanced`` says
    that every claim and line balances and so does the transaction set. A payment the stream leaves unfinished
    (another begins, or the stream ends, before its SE) ends with ``(END, None, False)``. Nothing is held but
    the payment's header, so a transaction set of any size streams. ``edi remit show`` (text and ``--json``)
    and ``payments`` are built on it."""
    current = None
    balanced = True
    for item in items:
        kind = type(item)
        if kind is ClaimPayment or kind is RemittanceEnd:
            remittance = item.remittance
        elif kind is Remittance:
            remittance = item
        else:
            continue
        if kind is Remittance or current is None or remittance is not current:  # a new payment
            if current is not None:
                yield END, None, False
            current, balanced = remittance, True
            yield BEGIN, current
        if kind is ClaimPayment:
            balanced = claim_balances(item) and balanced
            yield CLAIM, item
        elif kind is RemittanceEnd:
            yield END, item, balanced and not transaction_difference(item)
            current = None
    if current is not None:
        yield END, None, False


def payments(items: Iterable) -> Iterator[Payment]:
    """The finished payments of a reader's stream, each held whole (header, claims, end) for display: the HTML
    report draws one at a time. A payment without its end (SE) is left out."""
    current: Payment | None = None
    for event in payment_events(items):
        kind = event[0]
        if kind is CLAIM:
            current.claims.append(event[1])
        elif kind is BEGIN:
            current = Payment(event[1])
        elif event[1] is not None:
            current.end = event[1]
            yield current


def adjustment_json(a: Adjustment) -> dict:
    return {"group": a.group, "reason": a.reason, "amount": money(a.amount),
            "quantity": None if a.quantity is None else str(a.quantity)}


def line_json(ln: ServicePayment) -> dict:
    return {
        "procedure": ln.procedure,
        "procedure_qualifier": ln.procedure_qualifier,
        "modifiers": list(ln.modifiers),
        "revenue_code": ln.revenue_code,
        "original_procedure": ln.original_procedure,
        "charge": money(ln.charge),
        "paid": money(ln.paid),
        "allowed": money(ln.allowed),
        "units": None if ln.units is None else str(ln.units),
        "line_control_number": ln.line_control_number,
        "service_date": iso(ln.service_date),
        "service_date_end": iso(ln.service_date_end),
        "adjustments": [adjustment_json(a) for a in ln.adjustments],
        "remarks": [str(r.value) for r in ln.remarks],
        "segment": ln.source.segment if ln.source else None,
    }


def claim_json(c: ClaimPayment) -> dict:
    return {
        "patient_control_number": c.patient_control_number,
        "status": c.status,
        "status_text": c.status_text,
        "charge": money(c.charge),
        "paid": money(c.paid),
        "patient_responsibility": money(c.patient_responsibility),
        "payer_claim_number": c.payer_claim_number,
        "filing_indicator": c.filing_indicator,
        "patient": _name(c.patient),
        "statement_from": iso(c.statement_from),
        "statement_to": iso(c.statement_to),
        "adjustments": [adjustment_json(a) for a in c.adjustments],
        "lines": [line_json(ln) for ln in c.lines],
        "segment": c.source.segment if c.source else None,
    }


def _name(n) -> str | None:
    if n is None:
        return None
    return ", ".join(x for x in (n.last_or_org, n.first) if x)


def payment_head(r: Remittance) -> dict:
    """The keys of a payment's JSON object that come before its claims."""
    payee = r.payee
    return {
        "control_number": r.control_number,
        "payer": {"name": r.payer.name if r.payer else None, "id": payer_id(r)},
        "payee": {"name": payee.name if payee else None,
                  "npi": payee.id if payee and payee.id_qualifier == "XX" else None,
                  "tax_id": (payee.id if payee and payee.id_qualifier == "FI" else
                             payee.reference("TJ")) if payee else None},
        "amount": money(r.amount),
        "credit_debit": r.credit_debit,
        "handling": r.handling,
        "method": r.method,
        "trace_number": r.trace_number,
        "payment_date": iso(r.payment_date),
        "production_date": iso(r.production_date),
    }


def payer_id(r: Remittance) -> str | None:
    """The payer's id as the 835 gives it: REF*2U, else N1*PR's N104."""
    return (r.payer.reference("2U") or r.payer.id) if r.payer else None


def provider_adjustments_json(end: RemittanceEnd | None) -> list[dict]:
    return [
        {"provider_id": a.provider_id, "reason": a.reason, "reference": a.reference, "amount": money(a.amount),
         "fiscal_period": iso(a.fiscal_period)}
        for a in (end.provider_adjustments if end else ())
    ]


def payment_json(p: Payment) -> dict:
    """One payment whole (``edi remit show --json`` writes the same keys, in this order, claim by claim)."""
    return {
        **payment_head(p.remittance),
        "claims": [claim_json(c) for c in p.claims],
        "provider_adjustments": provider_adjustments_json(p.end),
        "balanced": p.balanced,
    }


def claim_line_json(c: ClaimPayment) -> dict:
    """One claim payment on its own (``edi remit show --nl``): the claim's keys after its payment's file-level
    identity (control number, trace number, payer id, payment date)."""
    r = c.remittance
    return {
        "control_number": r.control_number if r else None,
        "trace_number": r.trace_number if r else None,
        "payer_id": payer_id(r) if r else None,
        "payment_date": iso(r.payment_date) if r else None,
        **claim_json(c),
    }


def load_descriptions(path: str) -> dict[str, str]:
    """Code descriptions supplied by the user (CARC/RARC texts are licensed, so edi ships none): a CSV with
    columns ``code,description``; a code is a CARC (``45``), a group and CARC (``CO-45``), a RARC (``N130``)
    or a PLB reason (``L6``). Raises OSError or ValueError with a clear message."""
    out: dict[str, str] = {}
    with open(Path(path), newline="", encoding="utf-8") as fp:
        try:
            rows = list(csv.reader(fp))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV") from None
        except csv.Error as exc:
            raise ValueError(f"{path} is not CSV: {exc}") from None
        for row in rows:
            if not row or row[0].strip().lower() in ("code", ""):
                continue
            if len(row) < 2:
                raise ValueError(f"{path}: each row needs a code and a description")
            out[row[0].strip()] = row[1].strip()
    return out
