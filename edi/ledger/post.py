"""Posting 835 remittances: match each claim payment to its claim, then post double-entry journal entries.

Inside the caller's database transaction (one per file), for each remittance (835 transaction set):

* the payment is remembered by payer and trace number (TRN02); the same payment in another file is refused;
* each CLP is matched to its claim by patient control number (the first 20 characters when the payer
  truncated), else by payer claim number (CLP07) for later adjustments; each SVC to a claim line by REF*6R,
  else by procedure, modifiers, date and charge. What does not match is never guessed: a claim payment for an
  unknown claim goes to suspense (cash in, suspense credited) and is listed; an unmatched line is posted at
  claim level and listed;
* a paid claim posts its payment (undeposited ERA cash up, insurance A/R down) and its adjustments (CO to
  contractual, PI payer-initiated, OA other, PR to patient A/R), a line paid nothing inside a paid claim is
  posted as the 835 says and flagged as a line denial;
* a denial (CLP02 = 4, or 23) posts nothing: its adjustments are recorded as the claim's denied amount with
  group, reason and remark codes, and the money stays open in insurance A/R until written off;
* a reversal (CLP02 = 22) posts the exact negation of the payment entry it reverses (found by payer claim
  number); a reversal of a payment this ledger never posted is posted as the 835 says, with a warning;
* provider-level adjustments (PLB) go to the provider adjustments account against cash, with the claim their
  reference names when found; they never change a claim's balance;
* if the remittance's BPR02 differs from what its detail posts, the difference goes to suspense, so the cash
  posted for a remittance always equals BPR02.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from edi.ledger.journal import Entry, Journal, bulk_insert, insert_returning_ids
from edi.ledger.schema import (
    GROUP_ACCOUNT,
    adjustments,
    claim_lines,
    claim_payments,
    claims,
    journal_entries,
    postings,
    provider_adjustments,
    remittances,
    suspense_items,
)
from edi.model import ClaimPayment, Remittance, RemittanceEnd, ServicePayment
from edi.problems import ERROR, WARNING, Problem, Where

ZERO = Decimal(0)
BATCH = 500
DENIAL_STATUSES = ("4", "23")


class DuplicatePayment(Exception):
    """The same payment (payer and trace number) was already posted from another file."""


class InjectedFailure(RuntimeError):
    """Raised by tests (``fail_after``) to prove that a failure half way leaves the database as it was."""


@dataclass
class PostResult:
    remittances: int = 0
    claim_payments: int = 0
    matched: int = 0
    suspense: int = 0
    reversals: int = 0
    denials: int = 0
    paid: Decimal = ZERO
    provider_adjustments: Decimal = ZERO
    problems: list[Problem] = field(default_factory=list)


def _reversal_key(cp: ClaimPayment) -> str:
    """How a reversal names the payment it reverses: its payer claim number, else its claim number."""
    return cp.payer_claim_number or f"pcn:{cp.patient_control_number}"


def payer_key(rem: Remittance) -> str:
    """Who paid, for the (payer, trace number) identity of a payment: TRN03, else the payer's id, else name."""
    if rem.trace_originator:
        return rem.trace_originator
    if rem.payer is not None:
        return rem.payer.reference("2U") or rem.payer.id or rem.payer.name
    return "(unknown payer)"


class RemittancePoster:
    """Posts one file's remittance items (fed in reader order) inside the caller's transaction."""

    def __init__(self, conn: Connection, *, file_id: int, file_name: str, now: datetime,
                 fail_after: int | None = None) -> None:
        self.conn = conn
        self.file_id = file_id
        self.file_name = file_name
        self.now = now
        self.fail_after = fail_after
        self.journal = Journal(conn, now)
        self.result = PostResult()
        self.remittance_id: int | None = None
        self.remittance: Remittance | None = None
        self.pending: list[ClaimPayment] = []
        self.cash = ZERO  # undeposited ERA cash posted for the current remittance
        self.suspense_rows: list[dict] = []
        self.statuses: dict[int, str] = {}  # claim id -> new status, written with the run

    # -- stream ---------------------------------------------------------------------------------------------

    def add(self, item) -> None:
        if isinstance(item, ClaimPayment):
            self.pending.append(item)
            if len(self.pending) >= BATCH:
                self._flush_claims()
        elif isinstance(item, Remittance):
            self._start(item)
        elif isinstance(item, RemittanceEnd):
            self._flush_claims()
            self._end(item)

    def _problem(self, code: str, message: str, segment: int | None, severity=WARNING, record: str | None = None):
        self.result.problems.append(Problem(code, message, severity, Where(
            file=self.file_name, transaction=self.remittance.control_number if self.remittance else None,
            segment=segment, record=record)))

    def _start(self, rem: Remittance) -> None:
        key = payer_key(rem)
        trace = rem.trace_number or f"(no trace) {self.file_name}:{rem.control_number}"
        existing = self.conn.execute(
            select(remittances.c.id).where(remittances.c.payer_key == key, remittances.c.trace_number == trace)
        ).scalar()
        if existing is not None:
            raise DuplicatePayment(f"payment {trace} from payer {key} was already posted from another file; "
                                   "nothing from this file was posted")
        amount = rem.amount if rem.credit_debit != "D" else -rem.amount
        self.remittance = rem
        self.remittance_id = insert_returning_ids(self.conn, remittances, [{
            "file_id": self.file_id, "payer_key": key, "payer_name": rem.payer.name if rem.payer else None,
            "trace_number": trace, "amount": amount, "handling": rem.handling, "method": rem.method,
            "payment_date": rem.payment_date, "control_number": rem.control_number,
            "segment": rem.source.segment if rem.source else None, "created_at": self.now}])[0]
        self.cash = ZERO
        self.result.remittances += 1

    # -- claims ---------------------------------------------------------------------------------------------

    def _flush_claims(self) -> None:
        """Post the waiting claim payments in one run per batch (one insert per table). The payments that
        reversals name are looked up for the whole batch first; a reversal whose payment is earlier in this
        very batch ends the run, so that the payment is written before it is looked up."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        found = self._match(batch)
        lines = self._lines(found.values())
        originals = self._originals([cp for cp in batch if cp.is_reversal])
        run: list[tuple[ClaimPayment, dict | None, dict | None]] = []
        run_icns: set[str] = set()
        for cp in batch:
            if self.fail_after is not None and self.result.claim_payments >= self.fail_after:
                raise InjectedFailure(f"failure injected after {self.fail_after} claim payments")
            self.result.claim_payments += 1
            claim = found.get(cp.patient_control_number) or found.get(("icn", cp.payer_claim_number))
            if claim is None and len(cp.patient_control_number) == 20:
                claim = found.get(("prefix", cp.patient_control_number))
            original = None
            if cp.is_reversal:
                key = _reversal_key(cp)
                if key in run_icns:  # it reverses a payment of this run: write the run, then look it up
                    self._post_run(run, lines)
                    run, run_icns = [], set()
                    originals.update(self._originals([cp]))
                original = originals.pop(key, None)
            else:
                run_icns.add(_reversal_key(cp))
            run.append((cp, claim, original))
        self._post_run(run, lines)

    def _post_run(self, run: list[tuple[ClaimPayment, dict | None, dict | None]],
                  lines: dict[int, list[dict]]) -> None:
        if not run:
            return
        rows = []
        for cp, claim, original in run:
            if original is not None:
                rows.append(self._claim_payment_values(cp, original["claim_id"], None, original["id"]))
                continue
            denial = claim is not None and cp.status in DENIAL_STATUSES and not cp.is_reversal
            rows.append(self._claim_payment_values(
                cp, claim["id"] if claim else None,
                sum((a.amount for a in cp.all_adjustments()), ZERO) if denial else None))
        ids = insert_returning_ids(self.conn, claim_payments, rows)
        adjustment_rows: list[dict] = []
        for cp_id, (cp, claim, original) in zip(ids, run, strict=True):
            if original is not None:
                self._reverse(cp, cp_id, original, adjustment_rows)
            elif claim is None:
                if cp.is_reversal:
                    self.result.reversals += 1
                self._suspense(cp, cp_id, adjustment_rows)
            elif cp.is_reversal:
                self.result.reversals += 1
                self._problem("ledger.reversal.original_unknown",
                              f"reversal of claim {cp.patient_control_number} ({cp.payer_claim_number or 'no ICN'}) "
                              "names a payment this ledger never posted: posted as the 835 says",
                              cp.source.segment if cp.source else None, record=cp.patient_control_number)
                self._post(cp, cp_id, claim, lines.get(claim["id"], []), adjustment_rows, kind="reversal")
                self.statuses[claim["id"]] = "reversed"
            else:
                self._post(cp, cp_id, claim, lines.get(claim["id"], []), adjustment_rows)
        bulk_insert(self.conn, adjustments, adjustment_rows)
        self._flush_pending()

    def _flush_pending(self) -> None:
        self.journal.flush()
        bulk_insert(self.conn, suspense_items, self.suspense_rows)
        self.suspense_rows = []
        by_status: dict[str, list[int]] = {}
        for claim_id, status in self.statuses.items():
            by_status.setdefault(status, []).append(claim_id)
        for status, ids in by_status.items():  # one UPDATE per status, not one per claim
            for k in range(0, len(ids), 900):
                self.conn.execute(update(claims).where(claims.c.id.in_(ids[k:k + 900])).values(status=status))
        self.statuses = {}

    def _originals(self, reversals: list[ClaimPayment]) -> dict[str, dict]:
        """The payments these reversals name (by payer claim number, else by claim number): the newest one
        not reversed yet, with its journal entry's postings and its claim's status."""
        if not reversals:
            return {}
        icns = {cp.payer_claim_number for cp in reversals if cp.payer_claim_number}
        pcns = {cp.patient_control_number for cp in reversals if not cp.payer_claim_number}
        already = select(claim_payments.c.reverses_id).where(claim_payments.c.reverses_id.is_not(None))
        q = (select(claim_payments.c.id, claim_payments.c.claim_id, claim_payments.c.payer_claim_number,
                    claim_payments.c.patient_control_number, journal_entries.c.id.label("entry_id"),
                    claims.c.status.label("claim_status"))
             .outerjoin(journal_entries, journal_entries.c.claim_payment_id == claim_payments.c.id)
             .join(claims, claims.c.id == claim_payments.c.claim_id)
             .where(claim_payments.c.status != "22", claim_payments.c.id.notin_(already))
             .order_by(claim_payments.c.id))
        out: dict[str, dict] = {}
        for cond in ((claim_payments.c.payer_claim_number.in_(icns)) if icns else None,
                     (claim_payments.c.patient_control_number.in_(pcns)
                      & claim_payments.c.payer_claim_number.is_(None)) if pcns else None):
            if cond is None:
                continue
            for r in self.conn.execute(q.where(cond)).mappings():
                key = r["payer_claim_number"] or f"pcn:{r['patient_control_number']}"
                out[key] = dict(r) | {"postings": []}  # the newest one wins
        entries = {o["entry_id"]: o for o in out.values() if o["entry_id"] is not None}
        if entries:
            for p in self.conn.execute(select(postings).where(postings.c.entry_id.in_(entries))
                                       .order_by(postings.c.id)).mappings():
                entries[p["entry_id"]]["postings"].append(dict(p))
        return out

    def _reverse(self, cp: ClaimPayment, cp_id: int, original: dict, adjustment_rows: list[dict]) -> None:
        """Post the exact negation of the payment entry a reversal names."""
        self.result.reversals += 1
        claim_id = original["claim_id"]
        adjustment_rows += self._adjustment_rows(cp, cp_id, claim_id, True, [])[0]
        e = Entry("reversal", claim_id=claim_id, remittance_id=self.remittance_id, claim_payment_id=cp_id,
                  file_id=self.file_id, reverses_id=original["entry_id"],
                  memo=f"reversal of CLP {cp.patient_control_number} {cp.payer_claim_number or ''}".strip())
        for p in original["postings"]:
            e.post(p["account"], -p["amount"], claim_id=p["claim_id"], line_id=p["line_id"], group=p["group_code"],
                   reason=p["reason"])
        self.journal.add(e)
        reversed_cash = -sum((p["amount"] for p in original["postings"] if p["account"] == "undeposited_era"), ZERO)
        if reversed_cash != cp.paid:
            self._problem("ledger.reversal.amount",
                          f"reversal of claim {cp.patient_control_number} says {cp.paid} but the payment it reverses "
                          f"posted {-reversed_cash}: the exact negation was posted",
                          cp.source.segment if cp.source else None, record=cp.patient_control_number)
        self.cash += reversed_cash
        self.result.paid += reversed_cash
        if original["claim_status"] not in ("replaced", "voided"):  # a replaced claim's old payment may be reversed
            self.statuses[claim_id] = "reversed"

    def _match(self, batch: list[ClaimPayment]) -> dict:
        """Candidate claims for the batch: by patient control number (exact, then the first 20 characters),
        then by payer claim number. Replaced and voided claims only answer to a payer claim number."""
        pcns = {cp.patient_control_number for cp in batch}
        found: dict = {}
        rows = self.conn.execute(
            select(claims.c.id, claims.c.patient_control_number, claims.c.status, claims.c.charge)
            .where(claims.c.patient_control_number.in_(pcns), claims.c.status.notin_(("replaced", "voided")))
            .order_by(claims.c.id)).mappings().all()
        for r in rows:
            found[r["patient_control_number"]] = dict(r)  # the newest claim with that number wins
        short = [p for p in pcns if p not in found and len(p) == 20]
        if short:
            rows = self.conn.execute(
                select(claims.c.id, claims.c.patient_control_number, claims.c.status, claims.c.charge)
                .where(func.substr(claims.c.patient_control_number, 1, 20).in_(short),
                       claims.c.status.notin_(("replaced", "voided"))).order_by(claims.c.id)).mappings().all()
            for r in rows:
                found[("prefix", r["patient_control_number"][:20])] = dict(r)
        icns = {cp.payer_claim_number for cp in batch
                if cp.payer_claim_number and cp.patient_control_number not in found}
        if icns:
            rows = self.conn.execute(
                select(claims.c.id, claims.c.patient_control_number, claims.c.status, claims.c.charge,
                       claim_payments.c.payer_claim_number)
                .join(claim_payments, claim_payments.c.claim_id == claims.c.id)
                .where(claim_payments.c.payer_claim_number.in_(icns))).mappings().all()
            for r in rows:
                found[("icn", r["payer_claim_number"])] = dict(r)
        return found

    def _lines(self, found) -> dict[int, list[dict]]:
        ids = {c["id"] for c in found}
        out: dict[int, list[dict]] = {}
        if not ids:
            return out
        for r in self.conn.execute(select(claim_lines).where(claim_lines.c.claim_id.in_(ids))).mappings():
            out.setdefault(r["claim_id"], []).append(dict(r))
        return out

    def _claim_payment_values(self, cp: ClaimPayment, claim_id: int | None, denied: Decimal | None = None,
                              reverses_id: int | None = None) -> dict:
        return {"remittance_id": self.remittance_id, "claim_id": claim_id, "patient_control_number":
                cp.patient_control_number, "status": cp.status, "charge": cp.charge, "paid": cp.paid,
                "patient_responsibility": cp.patient_responsibility, "payer_claim_number": cp.payer_claim_number,
                "denied": denied, "reverses_id": reverses_id, "segment": cp.source.segment if cp.source else None}

    @staticmethod
    def _match_line(sp: ServicePayment, lines: list[dict], used: set[int]) -> dict | None:
        if sp.line_control_number:
            for ln in lines:
                if ln["line_control_number"] == sp.line_control_number and ln["id"] not in used:
                    return ln
        code = sp.original_procedure or sp.procedure
        mods = ":".join(sp.original_modifiers if sp.original_procedure else sp.modifiers) or None
        for ln in lines:
            if ln["id"] in used:
                continue
            same_date = sp.service_date is None or ln["service_date"] == sp.service_date
            if (ln["procedure"] == code or ln["revenue_code"] == code) and ln["modifiers"] == mods \
                    and ln["charge"] == sp.charge and same_date:
                return ln
        return None

    def _adjustment_rows(self, cp: ClaimPayment, cp_id: int, claim_id: int | None, posted: bool,
                         lines: list[dict]) -> tuple[list[dict], list[tuple[ServicePayment, dict | None]]]:
        claim_remarks = " ".join(x for x in (cp.outpatient or ())[2:7] if x) or None
        rows = [{"claim_payment_id": cp_id, "claim_id": claim_id, "line_id": None, "level": "claim",
                 "group_code": a.group, "reason": a.reason, "amount": a.amount,
                 "quantity": None if a.quantity is None else str(a.quantity), "remarks": claim_remarks,
                 "posted": posted, "line_denial": False} for a in cp.adjustments]
        used: set[int] = set()
        matched = []
        for sp in cp.lines:
            ln = self._match_line(sp, lines, used) if lines else None
            if ln is not None:
                used.add(ln["id"])
            matched.append((sp, ln))
            remarks = " ".join(str(r.value) for r in sp.remarks) or None
            line_denial = posted and sp.paid == 0 and cp.paid != 0
            for a in sp.adjustments:
                rows.append({"claim_payment_id": cp_id, "claim_id": claim_id, "line_id": ln["id"] if ln else None,
                             "level": "line", "group_code": a.group, "reason": a.reason, "amount": a.amount,
                             "quantity": None if a.quantity is None else str(a.quantity), "remarks": remarks,
                             "posted": posted, "line_denial": line_denial})
        return rows, matched

    def _post(self, cp: ClaimPayment, cp_id: int, claim: dict, lines: list[dict], adjustment_rows: list[dict],
              *, kind: str | None = None) -> None:
        claim_id = claim["id"]
        denial = cp.status in DENIAL_STATUSES
        rows, matched = self._adjustment_rows(cp, cp_id, claim_id, not denial, lines)
        adjustment_rows += rows
        e = Entry(kind or ("denial" if denial else "payment"), claim_id=claim_id, remittance_id=self.remittance_id,
                  claim_payment_id=cp_id, file_id=self.file_id,
                  memo=f"CLP {cp.patient_control_number} status {cp.status}")
        # each adjustment debits its own account; insurance A/R is credited once with the claim's total
        e.post("undeposited_era", cp.paid, claim_id=claim_id)
        credited = cp.paid
        if not denial:
            for a in cp.adjustments:
                e.post(GROUP_ACCOUNT.get(a.group, "other_adjustments"), a.amount, claim_id=claim_id, group=a.group,
                       reason=a.reason)
                credited += a.amount
            for sp, ln in matched:
                line_id = ln["id"] if ln else None
                for a in sp.adjustments:
                    e.post(GROUP_ACCOUNT.get(a.group, "other_adjustments"), a.amount, claim_id=claim_id,
                           line_id=line_id, group=a.group, reason=a.reason)
                    credited += a.amount
        e.post("insurance_ar", -credited, claim_id=claim_id)
        self.journal.add(e)
        self.cash += cp.paid
        self.result.matched += 1
        self.result.paid += cp.paid
        if lines:
            for sp, ln in matched:
                if ln is None:
                    self._suspense_row("unmatched_line", cp, sp.paid, cp_id,
                                       f"line {sp.procedure} {sp.service_date or ''} matches no line of the claim: "
                                       "posted at claim level", sp.source.segment if sp.source else None)
        if denial:
            self.result.denials += 1
            self.statuses[claim_id] = "denied"
        elif cp.status == "25":
            pass  # predetermination pricing: the claim's status does not change
        elif cp.paid == 0 and not any(a.group == "PR" for a in cp.all_adjustments()):
            self.statuses[claim_id] = "denied"
        else:
            self.statuses[claim_id] = "paid"

    def _suspense(self, cp: ClaimPayment, cp_id: int, adjustment_rows: list[dict]) -> None:
        rows, _ = self._adjustment_rows(cp, cp_id, None, False, [])
        adjustment_rows += rows
        e = Entry("suspense", remittance_id=self.remittance_id, claim_payment_id=cp_id, file_id=self.file_id,
                  memo=f"CLP {cp.patient_control_number}: no such claim")
        e.move("undeposited_era", "suspense", cp.paid)
        self.journal.add(e)
        self.cash += cp.paid
        self.result.suspense += 1
        self.result.paid += cp.paid
        self._suspense_row("unmatched_claim", cp, cp.paid, cp_id,
                           "no claim with this patient control number or payer claim number",
                           cp.source.segment if cp.source else None)
        self._problem("ledger.claim.unmatched", f"claim payment {cp.patient_control_number} matches no claim: "
                      f"{cp.paid} held in suspense", cp.source.segment if cp.source else None,
                      record=cp.patient_control_number)

    def _suspense_row(self, kind: str, cp: ClaimPayment, amount: Decimal, cp_id: int | None, reason: str,
                      segment: int | None) -> None:
        self.suspense_rows.append({
            "remittance_id": self.remittance_id, "claim_payment_id": cp_id, "kind": kind,
            "patient_control_number": cp.patient_control_number, "amount": amount, "reason": reason,
            "segment": segment})

    # -- end of a remittance --------------------------------------------------------------------------------

    def _end(self, end: RemittanceEnd) -> None:
        if self.remittance_id is None:  # pragma: no cover - the reader always starts a remittance first
            return
        rows = []
        refs = {a.reference for a in end.provider_adjustments if a.reference}
        named = self._claims_named(refs)
        for a in end.provider_adjustments:
            claim_id = named.get(a.reference) if a.reference else None
            rows.append({"remittance_id": self.remittance_id, "provider_id": a.provider_id, "reason": a.reason,
                         "reference": a.reference, "amount": a.amount, "claim_id": claim_id,
                         "segment": a.source.segment if a.source else None})
            e = Entry("plb", remittance_id=self.remittance_id, file_id=self.file_id,
                      memo=f"PLB {a.reason} {a.reference or ''}".strip())
            # a PLB never changes a claim's balance: the claim is named on the row, not on the postings
            e.move("provider_adjustments", "undeposited_era", a.amount, reason=a.reason)
            self.journal.add(e)
            self.cash -= a.amount
            self.result.provider_adjustments += a.amount
        if rows:
            bulk_insert(self.conn, provider_adjustments, rows)
        rem = end.remittance
        amount = rem.amount if rem.credit_debit != "D" else -rem.amount
        difference = amount - self.cash
        if difference:
            e = Entry("suspense", remittance_id=self.remittance_id, file_id=self.file_id,
                      memo="BPR02 differs from the claim payments and provider adjustments")
            e.move("undeposited_era", "suspense", difference)
            self.journal.add(e)
            self.suspense_rows.append({
                "remittance_id": self.remittance_id, "claim_payment_id": None, "kind": "unbalanced_payment",
                "patient_control_number": None, "amount": difference,
                "reason": f"BPR02 {amount} but claims and provider adjustments post {self.cash}",
                "segment": rem.source.segment if rem.source else None})
            self._problem("ledger.payment.unbalanced",
                          f"payment {rem.trace_number}: BPR02 {amount} differs from what its detail posts "
                          f"({self.cash}); the difference {difference} is held in suspense",
                          rem.source.segment if rem.source else None, ERROR)
        self._flush_pending()
        self.remittance_id = None
        self.remittance = None

    def _claims_named(self, refs: set[str]) -> dict[str, int]:
        """PLB03-2 references that name a claim: its patient control number or payer claim number, alone or
        after a prefix such as ``CLAIMID:``."""
        if not refs:
            return {}
        keys = {r: r.rsplit(":", 1)[-1] for r in refs}
        wanted = set(keys.values())
        by_pcn = dict(self.conn.execute(select(claims.c.patient_control_number, claims.c.id)
                                        .where(claims.c.patient_control_number.in_(wanted))).all())
        by_icn = dict(self.conn.execute(select(claim_payments.c.payer_claim_number, claim_payments.c.claim_id)
                                        .where(claim_payments.c.payer_claim_number.in_(wanted),
                                               claim_payments.c.claim_id.is_not(None))).all())
        return {r: by_pcn.get(k) or by_icn.get(k) for r, k in keys.items() if (by_pcn.get(k) or by_icn.get(k))}
