"""The simulated payer's X12: 835 payments (005010X221A1) and 277CA acknowledgements (005010X214), written with
the project's X12 writer (:class:`edi.x12.writer.InterchangeWriter`, values checked for delimiters).

Both stream. A payment's claim payments are formatted as they are decided and spooled (in memory up to 1 MB,
then in a temporary file), because BPR02 comes before them and is their sum; a 277CA's provider block is
spooled the same way, because its counts (QTY, AMT) come before its claims. Memory does not grow with the 837.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import BinaryIO

from edi.model import Claim
from edi.simulate.policy import ZERO, ClaimAnswer, LineAnswer
from edi.x12.segment import DEFAULT_DELIMITERS
from edi.x12.writer import InterchangeWriter, Party, segment_end, segment_formatter

X221 = "005010X221A1"
X214 = "005010X214"
_FMT = segment_formatter(DEFAULT_DELIMITERS)
_END = segment_end(DEFAULT_DELIMITERS)
_SPOOL_MEMORY = 1 << 20
#: CLP06 codes the 835 takes (an 837's SBR09 CI or BL has none: sent as 12, preferred provider organization).
_CLP06 = frozenset({"12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF",
                    "TV", "VA", "WC", "ZZ"})
#: Synthetic bank routing and account numbers (BPR06..BPR15) of every simulated EFT.
PAYER_BANK = ("01", "999999992", "DA", "123456")
PAYEE_BANK = ("01", "999988880", "DA", "98765")
PAYER_ADDRESS = ("1 SYNTHETIC PAYER PLAZA", "CAPITAL CITY", "IL", "627010000")


def amount(x: Decimal) -> str:
    """An X12 decimal (R): no trailing zeros after the point, no point for a whole amount."""
    s = format(x.quantize(Decimal("0.01")), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def quantity(x: Decimal) -> str:
    s = format(x, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def d8(d: date) -> str:
    return d.strftime("%Y%m%d")


def originator(payer_id: str) -> str:
    """TRN03 / BPR10: "1" and nine digits, derived from the payer id (the same payer, the same number)."""
    return "1" + f"{int(hashlib.sha256(payer_id.encode()).hexdigest()[:12], 16) % 10**9:09d}"


class Spool:
    """Formatted segments kept until they can be written: in memory, then in a temporary file."""

    def __init__(self) -> None:
        # open across many calls, closed by drain() (or close(), for a spool never written out)
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY, mode="w+b")  # noqa: SIM115
        self.count = 0
        self.pending: list[str] = []  # formatted segments not yet written to the file (a few hundred at most)

    def add(self, tag: str, elements: list) -> None:
        self.pending.append(_FMT(tag, elements))
        self.count += 1
        if len(self.pending) >= 512:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.file.write((_END.join(self.pending) + _END).encode("utf-8"))
            self.pending = []

    def drain(self, w: InterchangeWriter) -> None:
        self._flush()
        self.file.seek(0)
        first = True
        while chunk := self.file.read(1 << 20):
            w.write_formatted(chunk.decode("utf-8"), self.count if first else 0)
            first = False
        if first and self.count:  # pragma: no cover - a count without bytes cannot happen
            raise ValueError("spooled segments lost")
        self.file.close()

    def close(self) -> None:
        self.file.close()


# -- 835 ------------------------------------------------------------------------------------------------------


@dataclass
class Payment:
    """One 835 transaction set in the making: one payer, one payee, one cycle, one method."""

    payer_id: str
    payer_name: str
    payer_address: tuple[str, str, str, str]
    payee_name: str
    payee_npi: str
    payee_tax_id: str | None
    paid_on: date
    ach: bool
    body: Spool = field(default_factory=Spool)
    paid: Decimal = ZERO
    claims: int = 0
    plb: list[tuple[str, str, Decimal]] = field(default_factory=list)  # (code, reference, amount)

    def add_claim(self, claim: Claim, answer: ClaimAnswer, received: date) -> None:
        write_claim_payment(self.body, claim, answer, received)
        self.paid += answer.paid
        self.claims += 1

    @property
    def total(self) -> Decimal:
        """BPR02: claim payments less provider adjustments."""
        return self.paid - sum((a for _, _, a in self.plb), ZERO)


def write_claim_payment(out: Spool, claim: Claim, answer: ClaimAnswer, received: date) -> None:
    """CLP and its loop (2100), then an SVC loop (2110) per line."""
    filing = claim.payer.filing_indicator if claim.payer.filing_indicator in _CLP06 else "12"
    facility = (claim.bill_type or "")[:2] if claim.kind == "institutional" else (claim.place_of_service or "11")
    pr = answer.patient_responsibility
    out.add("CLP", [claim.patient_control_number, answer.status, amount(answer.charge), amount(answer.paid),
                    amount(pr) if pr else None, filing, answer.icn, facility or None, claim.frequency])
    sub = claim.subscriber
    if claim.patient is None:
        out.add("NM1", ["QC", sub.entity, sub.last_name, sub.first_name, sub.middle_name, None, None, "MI",
                        sub.member_id])
    else:
        pt = claim.patient
        out.add("NM1", ["QC", "1", pt.last_name, pt.first_name, pt.middle_name])
        out.add("NM1", ["IL", sub.entity, sub.last_name, sub.first_name, sub.middle_name, None, None, "MI",
                        sub.member_id])
    if claim.statement_from:
        out.add("DTM", ["232", d8(claim.statement_from)])
        out.add("DTM", ["233", d8(claim.statement_to or claim.statement_from)])
    out.add("DTM", ["050", d8(received)])
    for ln in answer.lines:
        _service(out, claim, ln, answer.negative)


def _service(out: Spool, claim: Claim, la: LineAnswer, negative: bool) -> None:
    ln = la.line
    charge = -ln.charge if negative else ln.charge
    units = quantity(ln.units) if ln.units is not None and ln.units != 1 else None
    if ln.procedure:
        composite = (ln.procedure_qualifier or "HC", ln.procedure, *ln.modifiers)
        revenue = ln.revenue_code if claim.kind == "institutional" else None
    else:
        composite, revenue = ("NU", ln.revenue_code or ""), None
    out.add("SVC", [composite, amount(charge), amount(la.paid), revenue, units])
    if ln.service_date:
        if ln.service_date_end and ln.service_date_end != ln.service_date:
            out.add("DTM", ["150", d8(ln.service_date)])
            out.add("DTM", ["151", d8(ln.service_date_end)])
        else:
            out.add("DTM", ["472", d8(ln.service_date)])
    groups: dict[str, list[tuple[str, Decimal]]] = {}
    for group, reason, amt in la.adjustments:
        groups.setdefault(group, []).append((reason, amt))
    for group, triplets in groups.items():
        for k in range(0, len(triplets), 6):
            elements: list = [group]
            for reason, amt in triplets[k:k + 6]:
                elements += [reason, amount(amt), None]
            out.add("CAS", elements)
    if ln.line_control_number:
        out.add("REF", ["6R", ln.line_control_number])
    if la.allowed:
        out.add("AMT", ["B6", amount(la.allowed)])
    if la.remark:
        out.add("LQ", ["HE", la.remark])


def write_835(fp: BinaryIO, payments: list[Payment], *, sender: Party, receiver: Party, control: int,
              traces: list[str], usage: str) -> None:
    """One interchange, one functional group (HP), one transaction set per payment; ``traces`` their TRN02."""
    from edi.x12.writer import CounterControlNumbers

    paid_on = min(p.paid_on for p in payments)
    w = InterchangeWriter(fp, sender, receiver, control=CounterControlNumbers(control, control, 1),
                          now=datetime.combine(paid_on, time(9, 0)), usage=usage)
    w.begin_group("HP", X221)
    for p, trace in zip(payments, traces, strict=True):
        w.begin_transaction("835")
        total = p.total
        company = originator(p.payer_id)
        if total == 0:
            w.segment("BPR", ["H", "0", "C", "NON", *([None] * 11), d8(p.paid_on)])
        elif p.ach:
            w.segment("BPR", ["I", amount(total), "C", "ACH", "CCP", *PAYER_BANK, company, None, *PAYEE_BANK,
                              d8(p.paid_on)])
        else:
            w.segment("BPR", ["I", amount(total), "C", "CHK", *([None] * 11), d8(p.paid_on)])
        w.segment("TRN", ["1", trace, company])
        w.segment("DTM", ["405", d8(p.paid_on)])
        w.segment("N1", ["PR", p.payer_name])
        w.segment("N3", [p.payer_address[0]])
        w.segment("N4", list(p.payer_address[1:]))
        w.segment("REF", ["2U", p.payer_id])
        w.segment("PER", ["BL", "PROVIDER SERVICES", "TE", "5555550199"])
        w.segment("N1", ["PE", p.payee_name, "XX", p.payee_npi])
        if p.payee_tax_id:
            w.segment("REF", ["TJ", p.payee_tax_id])
        if p.claims:
            w.segment("LX", ["1"])
            p.body.drain(w)
        fiscal = date(p.paid_on.year, 12, 31)
        for code, reference, amt in p.plb:
            w.segment("PLB", [p.payee_npi, d8(fiscal), (code, reference), amount(amt)])
        w.end_transaction()
    w.end_group()
    w.close()


# -- 277CA ----------------------------------------------------------------------------------------------------


@dataclass
class ProviderBlock:
    """The claims of one payer and one billing provider in a 277CA: loops 2000A..2000C, then 2000D per claim.
    The claims are spooled with their HL numbers (known from where the block starts)."""

    first_hl: int
    payer_name: str
    payer_id: str
    provider: object  # edi.model.Provider
    body: Spool = field(default_factory=Spool)
    accepted: int = 0
    rejected: int = 0
    accepted_amount: Decimal = ZERO
    rejected_amount: Decimal = ZERO

    @property
    def next_hl(self) -> int:
        return self.first_hl + 3 + self.accepted + self.rejected

    def add(self, claim: Claim, acked: date, icn: str | None, rejection: tuple[str, str, str, str] | None) -> None:
        out = self.body
        n = self.next_hl
        out.add("HL", [str(n), str(self.first_hl + 2), "PT"])
        sub, pt = claim.subscriber, claim.patient
        last, first, middle = (pt.last_name, pt.first_name, pt.middle_name) if pt else \
            (sub.last_name, sub.first_name, sub.middle_name)
        out.add("NM1", ["QC", "1", last, first, middle, None, None, "MI", sub.member_id])
        out.add("TRN", ["2", claim.patient_control_number])
        if rejection is None:
            out.add("STC", [("A2", "20", "PR"), d8(acked), "WQ", amount(claim.total_charge)])
            self.accepted += 1
            self.accepted_amount += claim.total_charge
        else:
            category, status, entity, _ = rejection
            out.add("STC", [(category, status, entity or None), d8(acked), "U", amount(claim.total_charge)])
            self.rejected += 1
            self.rejected_amount += claim.total_charge
        if icn and rejection is None:
            out.add("REF", ["1K", icn])
        if claim.kind == "institutional" and claim.bill_type:
            out.add("REF", ["BLT", claim.bill_type])
        dates = [d for ln in claim.lines for d in (ln.service_date, ln.service_date_end) if d]
        start = claim.statement_from or (min(dates) if dates else None)
        end = claim.statement_to or (max(dates) if dates else None)
        if start:
            if end and end != start:
                out.add("DTP", ["472", "RD8", f"{d8(start)}-{d8(end)}"])
            else:
                out.add("DTP", ["472", "D8", d8(start)])

    def write(self, w: InterchangeWriter, *, submitter: str, batch: str, received: date, acked: date,
              trace: str) -> None:
        h = self.first_hl
        w.segment("HL", [str(h), None, "20", "1"])
        w.segment("NM1", ["PR", "2", self.payer_name, None, None, None, None, "PI", self.payer_id])
        w.segment("TRN", ["1", trace])
        w.segment("DTP", ["050", "D8", d8(received)])
        w.segment("DTP", ["009", "D8", d8(acked)])
        w.segment("HL", [str(h + 1), str(h), "21", "1"])
        w.segment("NM1", ["41", "2", submitter, None, None, None, None, "46", submitter])
        w.segment("TRN", ["2", batch])
        total = self.accepted_amount + self.rejected_amount
        w.segment("STC", [("A1", "19", "PR"), d8(acked), "WQ", amount(total)])
        self._counts(w, "90", "AA")
        w.segment("HL", [str(h + 2), str(h + 1), "19", "1"])
        p = self.provider
        if p.entity == "1":
            w.segment("NM1", ["85", "1", p.name, p.first_name, p.middle_name, None, None, "XX", p.npi])
        else:
            w.segment("NM1", ["85", "2", p.name, None, None, None, None, "XX", p.npi])
        w.segment("TRN", ["1", "0"])
        w.segment("STC", [("A1", "19", "PR"), None, "WQ", amount(total)])
        self._counts(w, "QA", "QC")
        self.body.drain(w)

    def _counts(self, w: InterchangeWriter, accepted: str, rejected: str) -> None:
        if self.accepted:
            w.segment("QTY", [accepted, str(self.accepted)])
        if self.rejected:
            w.segment("QTY", [rejected, str(self.rejected)])
        if self.accepted:
            w.segment("AMT", ["YU", amount(self.accepted_amount)])
        if self.rejected:
            w.segment("AMT", ["YY", amount(self.rejected_amount)])
