"""What the ledger shows: claims with their balances, one claim's story, the reconciliation of payments, and
the proof of its invariants. Every figure is a sum of postings; nothing is stored twice."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import and_, func, literal_column, or_, select, text
from sqlalchemy.engine import Connection, Row

from edi.ledger.schema import (
    CHECKED_REFERENCES,
    NOT_STANDING_STATUSES,
    WITHDRAWN_STATUSES,
    acknowledgements,
    adjustments,
    claim_lines,
    claim_payments,
    claims,
    files,
    journal_entries,
    postings,
    provider_adjustments,
    remittances,
    suspense_items,
    transactions,
)
from edi.problems import ERROR, Problem, Where

ZERO = Decimal(0)
ADJUSTMENT_ACCOUNTS = {"CO": "contractual", "OA": "other_adjustments", "PI": "payer_initiated", "PR": "patient_ar"}


@dataclass
class ClaimBalance:
    id: int
    patient_control_number: str
    payer: str | None
    status: str
    billed: Decimal
    paid: Decimal
    adjustments: dict[str, Decimal]
    denied: Decimal
    written_off: Decimal
    patient_responsibility: Decimal
    insurance_balance: Decimal
    remittances: list[str] = field(default_factory=list)
    status_reason: str | None = None  # why it has its status (a rejection's codes in words)

    def as_dict(self) -> dict:
        """The claim as `edi ledger claims --json` prints it; ``status_reason`` only when there is one (a
        rejection's reason)."""
        out = {
            "patient_control_number": self.patient_control_number, "payer": self.payer, "status": self.status,
            "billed": _m(self.billed), "paid": _m(self.paid),
            "adjustments": {k: _m(v) for k, v in self.adjustments.items()}, "denied": _m(self.denied),
            "written_off": _m(self.written_off), "patient_responsibility": _m(self.patient_responsibility),
            "insurance_balance": _m(self.insurance_balance), "remittances": self.remittances,
        }
        if self.status_reason is not None:
            out["status_reason"] = self.status_reason
        return out


def _m(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _sums_by_claim(conn: Connection, claim_ids: list[int] | None = None,
                   id_range: tuple[int, int] | None = None) -> dict[int, dict[str, Decimal]]:
    q = select(postings.c.claim_id, postings.c.account, func.sum(postings.c.amount)).where(
        postings.c.claim_id.is_not(None)).group_by(postings.c.claim_id, postings.c.account)
    if claim_ids is not None:
        q = q.where(postings.c.claim_id.in_(claim_ids))
    if id_range is not None:
        q = q.where(postings.c.claim_id.between(*id_range))
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for claim_id, account, total in conn.execute(q):
        out[claim_id][account] = total or ZERO
    return out


def claim_balances(conn: Connection, *, status: str | None = None, payer: str | None = None,
                   pcn: str | None = None, id_range: tuple[int, int] | None = None,
                   recorded_before: datetime | None = None, after_id: int | None = None,
                   limit: int | None = None) -> list[ClaimBalance]:
    """One row per claim, oldest first. ``payer`` matches the payer's name or id (case-insensitive part);
    ``id_range`` (first, last) keeps the claims whose ids are in it (see :func:`iter_claim_balances`);
    ``recorded_before`` keeps the claims recorded before that time (``--older-than``); ``after_id`` and
    ``limit`` give one page (see :func:`iter_claims`)."""
    q = select(claims.c.id, claims.c.patient_control_number, claims.c.payer_name, claims.c.payer_id,
               claims.c.status, claims.c.status_reason).order_by(claims.c.id)
    if after_id is not None:
        q = q.where(claims.c.id > after_id)
    if limit is not None:
        q = q.limit(limit)
    if recorded_before is not None:
        q = q.where(claims.c.created_at < recorded_before)
    if id_range is not None:
        q = q.where(claims.c.id.between(*id_range))
    if status:
        q = q.where(claims.c.status == status)
    if payer:
        like = f"%{payer.lower()}%"
        q = q.where(or_(func.lower(claims.c.payer_name).like(like), func.lower(claims.c.payer_id).like(like)))
    if pcn:
        q = q.where(claims.c.patient_control_number == pcn)
    rows = conn.execute(q).all()
    if not rows:
        return []
    ids = [r.id for r in rows] if (status or payer or pcn or recorded_before) else None
    if ids is None and limit is not None:  # a page of consecutive claims: its sums by id range, not a list of ids
        id_range = (rows[0].id, rows[-1].id)
    sums = _sums_by_claim(conn, ids, id_range)
    denied: dict[int, Decimal] = defaultdict(lambda: ZERO)
    traces: dict[int, list[str]] = defaultdict(list)
    dq = (select(claim_payments.c.claim_id, claim_payments.c.denied, remittances.c.trace_number)
          .join(remittances, remittances.c.id == claim_payments.c.remittance_id)
          .where(claim_payments.c.claim_id.is_not(None)).order_by(claim_payments.c.id))
    if ids is not None:
        dq = dq.where(claim_payments.c.claim_id.in_(ids))
    if id_range is not None:
        dq = dq.where(claim_payments.c.claim_id.between(*id_range))
    for claim_id, den, trace in conn.execute(dq):
        if den:
            denied[claim_id] += den
        if trace not in traces[claim_id]:
            traces[claim_id].append(trace)
    passed = _passed_on(conn, {r.patient_control_number for r in rows})
    out = []
    for r in rows:
        s = sums.get(r.id, {})
        adj = {g: s.get(acct, ZERO) for g, acct in ADJUSTMENT_ACCOUNTS.items()}
        out.append(ClaimBalance(
            id=r.id, patient_control_number=r.patient_control_number, payer=r.payer_name or r.payer_id,
            status=r.status, billed=-s.get("gross_charges", ZERO), paid=s.get("undeposited_era", ZERO),
            adjustments={"CO": adj["CO"], "PR": adj["PR"], "OA": adj["OA"], "PI": adj["PI"]},
            denied=denied[r.id], written_off=s.get("write_offs", ZERO),
            patient_responsibility=adj["PR"] + passed.get(r.id, ZERO),
            insurance_balance=s.get("insurance_ar", ZERO), remittances=traces[r.id], status_reason=r.status_reason))
    return out


def _passed_on(conn: Connection, pcns: set[str]) -> dict[int, Decimal]:
    """What the patient's responsibility figure of these numbers' claims differs from their postings to patient
    A/R, claim id -> amount (only claims of a number billed to a next payer are named).

    A claim to the next payer is recorded with a ``prior_payer`` entry (edi.ledger.record) that moves what the
    payer before left to the patient off patient A/R, on the next payer's claim: until that payer has paid, the
    two claims' figures net to nothing (the payer before shows its PR, the next payer's claim the same amount
    negative), which is what the patient owes while the next payer is waiting. Once the next payer has paid (a
    ``payment`` entry that no reversal negated), the responsibility the payer before left has passed to it: its
    claim shows what the patient owes after it (its own PR) and the claim before it shows that amount less. A
    reversal gives the amounts back. The sums over a number's claims stay the postings' (patient A/R), and the
    ``adjustments`` PR figure stays each claim's postings, so ``check``'s identity holds claim by claim."""
    found: dict[int, tuple[str, Decimal]] = {}  # the next payer's claim -> (its number, what it took over)
    entries: dict[int, tuple[int, str]] = {}  # prior_payer entry -> (its claim, the claim's number)
    wanted = sorted(pcns)
    # from the numbers to their claims (claims_pcn), to those claims' prior_payer entries (the partial index
    # journal_entries_prior_payer), to those entries' postings (postings_entry), a statement each: joined in one,
    # SQLite read every patient_ar posting of the ledger for each page of claims, and PostgreSQL every journal entry
    if conn.execute(select(journal_entries.c.id).where(journal_entries.c.kind == "prior_payer").limit(1)).first() \
            is None:
        return {}  # no claim of the ledger was billed to a next payer (journal_entries_prior_payer answers at once)
    numbers: dict[int, str] = {}
    for k in range(0, len(wanted), 900):  # SQLite allows 999 parameters a statement
        numbers.update(conn.execute(select(claims.c.id, claims.c.patient_control_number)
                                    .where(claims.c.patient_control_number.in_(wanted[k:k + 900]))).all())
    ids = sorted(numbers)
    for k in range(0, len(ids), 900):
        for entry_id, claim_id in conn.execute(
                select(journal_entries.c.id, journal_entries.c.claim_id)
                .where(journal_entries.c.claim_id.in_(ids[k:k + 900]), journal_entries.c.kind == "prior_payer")):
            entries[entry_id] = (claim_id, numbers[claim_id])
    if not entries:
        return {}
    ids = sorted(entries)
    for k in range(0, len(ids), 900):
        for entry_id, amount in conn.execute(
                select(postings.c.entry_id, postings.c.amount)
                .where(postings.c.entry_id.in_(ids[k:k + 900]), postings.c.account == "patient_ar")):
            claim_id, pcn = entries[entry_id]
            before = found.get(claim_id, ("", ZERO))[1]
            found[claim_id] = (pcn, before - amount)
    if not found:
        return {}
    ids = list(found)
    reversed_ = select(journal_entries.c.reverses_id).where(journal_entries.c.claim_id.in_(ids),
                                                            journal_entries.c.reverses_id.is_not(None))
    paid = set(conn.execute(select(journal_entries.c.claim_id).where(
        journal_entries.c.claim_id.in_(ids), journal_entries.c.kind == "payment",
        journal_entries.c.id.notin_(reversed_))).scalars())
    if not paid:
        return {}
    numbers = {found[c][0] for c in paid}
    standing: dict[str, list[int]] = defaultdict(list)  # number -> its standing claims' ids, ascending
    for claim_id, pcn in conn.execute(select(claims.c.id, claims.c.patient_control_number)
                                      .where(claims.c.patient_control_number.in_(sorted(numbers)),
                                             claims.c.status.notin_(NOT_STANDING_STATUSES)).order_by(claims.c.id)):
        standing[pcn].append(claim_id)
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for claim_id in paid:
        pcn, amount = found[claim_id]
        out[claim_id] += amount
        before = _claim_before(standing[pcn], claim_id)
        if before is not None:
            out[before] -= amount
    return dict(out)


def _claim_before(standing: list[int], claim_id: int) -> int | None:
    """The claim a claim to the next payer follows, the claim to the payer before it: the newest of its number's
    standing claims (``standing``: their ids, ascending) recorded before it."""
    i = bisect_left(standing, claim_id)
    return standing[i - 1] if i else None


def iter_claims(conn: Connection, *, status: str | None = None, payer: str | None = None,
                recorded_before: datetime | None = None, limit: int | None = None,
                page: int = 2000) -> Iterator[ClaimBalance]:
    """The claims of :func:`claim_balances`, oldest first, read a page of ``page`` claims at a time (keyset
    paging on the id, each page's sums by the index on its claims' postings): what is held does not grow with
    the ledger, and the first rows come at once. ``limit`` stops after that many claims."""
    after = 0
    left = limit
    while left is None or left > 0:
        n = page if left is None else min(page, left)
        rows = claim_balances(conn, status=status, payer=payer, recorded_before=recorded_before, after_id=after,
                              limit=n)
        yield from rows
        if len(rows) < n:
            return
        after = rows[-1].id
        if left is not None:
            left -= len(rows)


def iter_claim_balances(conn: Connection, chunk: int = 5000) -> Iterator[list[ClaimBalance]]:
    """Every claim's balances, oldest first, in lists of claims whose ids span at most ``chunk`` (so that
    going through a large ledger holds one list at a time, not all of them)."""
    first, last = conn.execute(select(func.min(claims.c.id), func.max(claims.c.id))).one()
    if first is None:
        return
    for lo in range(first, last + 1, chunk):
        balances = claim_balances(conn, id_range=(lo, min(lo + chunk - 1, last)))
        if balances:
            yield balances


def claim_story(conn: Connection, pcn: str) -> dict | None:
    """Everything about the claims with this patient control number: submission, remittances, postings."""
    rows = conn.execute(select(claims, files.c.name.label("file_name"), transactions.c.interchange,
                               transactions.c.control_number.label("st02"))
                        .outerjoin(files, files.c.id == claims.c.file_id)
                        .outerjoin(transactions, transactions.c.id == claims.c.transaction_id)
                        .where(claims.c.patient_control_number == pcn).order_by(claims.c.id)).mappings().all()
    if not rows:
        return None
    balances = {b.id: b for b in claim_balances(conn, pcn=pcn)}
    story = []
    for c in rows:
        lines = conn.execute(select(claim_lines).where(claim_lines.c.claim_id == c["id"])
                             .order_by(claim_lines.c.line_number)).mappings().all()
        payments = []
        for p in conn.execute(select(claim_payments, remittances.c.trace_number, remittances.c.payment_date,
                                     remittances.c.payer_name)
                              .join(remittances, remittances.c.id == claim_payments.c.remittance_id)
                              .where(claim_payments.c.claim_id == c["id"]).order_by(claim_payments.c.id)).mappings():
            adj = conn.execute(select(adjustments).where(adjustments.c.claim_payment_id == p["id"])
                               .order_by(adjustments.c.id)).mappings().all()
            payments.append({
                "trace_number": p["trace_number"], "payment_date": _iso(p["payment_date"]), "payer": p["payer_name"],
                "status": p["status"], "charge": _m(p["charge"]), "paid": _m(p["paid"]),
                "payer_claim_number": p["payer_claim_number"], "denied": _m(p["denied"]) if p["denied"] else None,
                "reverses": p["reverses_id"] is not None, "segment": p["segment"],
                "adjustments": [{"level": a["level"], "group": a["group_code"], "reason": a["reason"],
                                 "amount": _m(a["amount"]), "remarks": a["remarks"], "posted": a["posted"],
                                 "line_denial": a["line_denial"]} for a in adj],
            })
        entries = []
        for e in conn.execute(select(journal_entries).where(journal_entries.c.claim_id == c["id"])
                              .order_by(journal_entries.c.id)).mappings():
            ps = conn.execute(select(postings).where(postings.c.entry_id == e["id"]).order_by(postings.c.id)).mappings()
            entries.append({"id": e["id"], "kind": e["kind"], "memo": e["memo"], "date": _iso(e["created_at"]),
                            "postings": [{"account": p["account"], "amount": _m(p["amount"]),
                                          "group": p["group_code"], "reason": p["reason"]} for p in ps]})
        b = balances[c["id"]]
        story.append({
            "claim": b.as_dict(),
            "prior_payer": _prior_payer(rows, c["id"], entries),
            "submission": {"file": c["file_name"], "interchange": c["interchange"], "transaction": c["st02"],
                           "segment": c["segment"], "recorded": _iso(c["created_at"]), "kind": c["kind"],
                           "frequency": c["frequency"], "charge": _m(c["charge"]),
                           "service_date": _iso(c["service_date"])},
            "lines": [{"line": ln["line_number"], "procedure": ln["procedure"], "modifiers": ln["modifiers"],
                       "revenue_code": ln["revenue_code"], "charge": _m(ln["charge"]), "units": ln["units"],
                       "service_date": _iso(ln["service_date"]), "line_control_number": ln["line_control_number"]}
                      for ln in lines],
            "acknowledgments": _acknowledgements(conn, c["id"], c["transaction_id"]),
            "remittances": payments,
            "entries": entries,
        })
    total = {"insurance_balance": sum((b.insurance_balance for b in balances.values()), ZERO),
             "patient_responsibility": sum((b.patient_responsibility for b in balances.values()), ZERO)}
    return {"patient_control_number": pcn, "claims": story, "total": {k: _m(v) for k, v in total.items()}}


def _prior_payer(rows, claim_id: int, entries: list[dict]) -> dict | None:
    """For a claim to the next payer (it has a ``prior_payer`` entry): the payer before it (``_claim_before``
    among the number's claims ``rows``, by id) and what that payer left open, which this claim was billed for."""
    moved = [p for e in entries if e["kind"] == "prior_payer" for p in e["postings"] if p["account"] == "patient_ar"]
    if not moved:
        return None
    by_id = {r["id"]: r for r in rows}
    before = _claim_before([r["id"] for r in rows if r["status"] not in NOT_STANDING_STATUSES], claim_id)
    prior = by_id[before] if before is not None else None
    return {"payer": prior and (prior["payer_name"] or prior["payer_id"]), "payer_id": prior and prior["payer_id"],
            "left_open": _m(-sum((Decimal(p["amount"]) for p in moved), ZERO))}


def _acknowledgements(conn: Connection, claim_id: int, transaction_id: int | None) -> list[dict]:
    """The TA1s, 999s and 277CAs that answered this claim, or the transaction set it was sent in, oldest first."""
    cond = acknowledgements.c.claim_id == claim_id
    if transaction_id is not None:
        cond = or_(cond, acknowledgements.c.transaction_id == transaction_id)
    return [{"kind": a["kind"], "level": a["level"], "status": a["status"], "outcome": a["outcome"],
             "codes": a["codes"], "reason": a["reason"], "payer_claim_number": a["payer_claim_number"],
             "amount": _m(a["amount"]) if a["amount"] is not None else None,
             "effective_date": _iso(a["effective_date"]), "from": a["source_name"], "file": a["name"],
             "segment": a["segment"], "imported": _iso(a["created_at"])}
            for a in conn.execute(select(acknowledgements, files.c.name)
                                  .join(files, files.c.id == acknowledgements.c.file_id)
                                  .where(cond).order_by(acknowledgements.c.id)).mappings()]


class BilledClaim(NamedTuple):
    """A claim that stands, where its 837 is (the file's path as recorded, the CLM's segment number) and whether a
    payer's 835 is posted for it: what a claim to the next payer starts from (``mappings.secondary``)."""

    id: int
    patient_control_number: str
    payer_id: str | None
    kind: str
    charge: Decimal
    status: str
    file_path: str | None
    file_name: str | None
    segment: int | None
    adjudicated: bool
    #: the payer ids of every claim of this number that stands (this one's included): a payer billed already
    standing_payers: tuple[str, ...]


def billed_claims(conn: Connection, pcns: list[str] | None = None) -> list[BilledClaim]:
    """The newest claim that stands for each patient control number of ``pcns`` (None: every number with a
    claim that a payer's 835 adjudicated), oldest first. The newest is the one a claim to the next payer
    follows: the primary's, or once the secondary is billed, the secondary's (which names the tertiary)."""
    paid = select(claim_payments.c.claim_id).where(claim_payments.c.claim_id.is_not(None))
    q = (select(claims.c.id, claims.c.patient_control_number, claims.c.payer_id, claims.c.kind, claims.c.charge,
                claims.c.status, files.c.path, files.c.name, claims.c.segment)
         .outerjoin(files, files.c.id == claims.c.file_id)
         .where(claims.c.status.notin_(NOT_STANDING_STATUSES)).order_by(claims.c.id))
    numbers: list[str] | None = pcns
    if numbers is None:
        numbers = sorted(set(conn.execute(select(claims.c.patient_control_number)
                                          .where(claims.c.id.in_(paid))).scalars()))
    newest: dict[str, Row] = {}
    payers: dict[str, list[str]] = defaultdict(list)
    for k in range(0, len(numbers), 900):  # SQLite allows 999 parameters a statement
        for row in conn.execute(q.where(claims.c.patient_control_number.in_(numbers[k:k + 900]))):
            newest[row.patient_control_number] = row
            payers[row.patient_control_number].append(row.payer_id or "")
    ids = [r.id for r in newest.values()]
    adjudicated: set[int] = set()
    for k in range(0, len(ids), 900):
        adjudicated.update(conn.execute(paid.where(claim_payments.c.claim_id.in_(ids[k:k + 900]))).scalars())
    return [BilledClaim(r.id, r.patient_control_number, r.payer_id, r.kind, r.charge, r.status, r.path, r.name,
                        r.segment, r.id in adjudicated, tuple(payers[r.patient_control_number]))
            for r in sorted(newest.values(), key=lambda r: r.id)]


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def reconcile(conn: Connection) -> dict:
    """Per payment: what it says (BPR02) and what was posted from it; totals; the suspense items."""
    cash = dict(conn.execute(
        select(journal_entries.c.remittance_id, func.sum(postings.c.amount))
        .join(postings, postings.c.entry_id == journal_entries.c.id)
        .where(postings.c.account == "undeposited_era", journal_entries.c.remittance_id.is_not(None))
        .group_by(journal_entries.c.remittance_id)).all())
    per_claims: dict[int, dict] = defaultdict(lambda: {"matched": 0, "matched_paid": ZERO, "unmatched": 0,
                                                        "unmatched_paid": ZERO})
    for rid, matched, n, total in conn.execute(
            select(claim_payments.c.remittance_id, claim_payments.c.claim_id.is_not(None), func.count(),
                   func.sum(claim_payments.c.paid))
            .group_by(claim_payments.c.remittance_id, claim_payments.c.claim_id.is_not(None))):
        d = per_claims[rid]
        key = "matched" if matched else "unmatched"
        d[key] += n
        d[key + "_paid"] += total or ZERO
    plb = dict(conn.execute(select(provider_adjustments.c.remittance_id, func.sum(provider_adjustments.c.amount))
                            .group_by(provider_adjustments.c.remittance_id)).all())
    out = []
    totals = {"payments": 0, "amount": ZERO, "posted": ZERO, "matched_paid": ZERO, "unmatched_paid": ZERO,
              "provider_adjustments": ZERO}
    for r in conn.execute(select(remittances, files.c.name).join(files, files.c.id == remittances.c.file_id)
                          .order_by(remittances.c.id)).mappings():
        d = per_claims[r["id"]]
        posted = cash.get(r["id"], ZERO) or ZERO
        p = plb.get(r["id"], ZERO) or ZERO
        out.append({
            "trace_number": r["trace_number"], "payer": r["payer_name"], "payer_key": r["payer_key"],
            "payment_date": _iso(r["payment_date"]), "method": r["method"], "amount": _m(r["amount"]),
            "claims_matched": d["matched"], "matched_paid": _m(d["matched_paid"]),
            "claims_unmatched": d["unmatched"], "unmatched_paid": _m(d["unmatched_paid"]),
            "provider_adjustments": _m(p), "posted": _m(posted), "balanced": posted == r["amount"],
            "file": r["name"],
        })
        totals["payments"] += 1
        totals["amount"] += r["amount"]
        totals["posted"] += posted
        totals["matched_paid"] += d["matched_paid"]
        totals["unmatched_paid"] += d["unmatched_paid"]
        totals["provider_adjustments"] += p
    suspense = [{"kind": s["kind"], "patient_control_number": s["patient_control_number"], "amount": _m(s["amount"]),
                 "reason": s["reason"], "trace_number": s["trace_number"], "segment": s["segment"]}
                for s in conn.execute(select(suspense_items, remittances.c.trace_number)
                                      .join(remittances, remittances.c.id == suspense_items.c.remittance_id)
                                      .order_by(suspense_items.c.id)).mappings()]
    held = sum((Decimal(s["amount"]) for s in suspense if s["kind"] != "unmatched_line"), ZERO)
    # a payment whose BPR02 differs from what its claims and PLBs say: its cash is posted (to suspense for the
    # difference), but it does not balance, and no one should read "every payment balances"
    unbalanced = sorted({s["trace_number"] for s in suspense if s["kind"] == "unbalanced_payment"})
    for p in out:
        p["detail_balanced"] = p["trace_number"] not in unbalanced
    return {
        "payments": out,
        "totals": {k: (_m(v) if isinstance(v, Decimal) else v) for k, v in totals.items()} | {
            "balanced": all(p["balanced"] for p in out), "suspense": _m(held),
            "unbalanced_payments": len(unbalanced)},
        "suspense": suspense,
    }


def check(conn: Connection) -> list[Problem]:
    """Prove the ledger's invariants; each violation is an error problem naming it."""
    found: list[Problem] = []

    def bad(code: str, message: str, record: str | None = None) -> None:
        found.append(Problem(code, message, ERROR, Where(record=record)))

    # every reference that is not a foreign key (schema.CHECKED_REFERENCES) names a row that exists
    for table, column, referred in CHECKED_REFERENCES:
        orphans = conn.execute(text(
            f"SELECT t.id, t.{column} FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {referred} r WHERE r.id = t.{column}) ORDER BY t.id")).all()
        if orphans:
            shown = ", ".join(f"{table} {i} -> {ref}" for i, ref in orphans[:5])
            more = f" and {len(orphans) - 5} more" if len(orphans) > 5 else ""
            bad("ledger.reference.orphan", f"{len(orphans)} {table} rows name a {column} that is not in {referred}: "
                f"{shown}{more}")

    for entry_id, kind, total in conn.execute(
            select(postings.c.entry_id, journal_entries.c.kind, func.sum(postings.c.amount))
            .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
            .group_by(postings.c.entry_id, journal_entries.c.kind).having(func.sum(postings.c.amount) != 0)):
        bad("ledger.entry.unbalanced", f"journal entry {entry_id} ({kind}) sums to {total}, not zero")
    # each claim's balance, recomputed from its postings account by account, equals what the views show
    # (every posting to a claim's insurance A/R has its counterpart on the same claim), and a claim that stands
    # is billed exactly its charge while a replaced or voided one is billed nothing
    # (a chunk of claims at a time: a large ledger is never held whole)
    for chunk in iter_claim_balances(conn):
        charges = {r.id: (r.charge, r.status, r.frequency, r.replaces_id) for r in conn.execute(
            select(claims.c.id, claims.c.charge, claims.c.status, claims.c.frequency, claims.c.replaces_id)
            .where(claims.c.id.between(chunk[0].id, chunk[-1].id)))}
        for b in chunk:
            shown = (b.billed - b.paid - b.adjustments["CO"] - b.adjustments["OA"] - b.adjustments["PI"]
                     - b.adjustments["PR"] - b.written_off)
            if shown != b.insurance_balance:
                bad("ledger.claim.balance", f"claim {b.patient_control_number}: insurance A/R "
                    f"{b.insurance_balance}, but charges - payments - adjustments - write-offs = {shown}",
                    b.patient_control_number)
            charge, status, frequency, replaces = charges[b.id]
            # a rejected replacement gave the claim it replaced back, and its own charge with it
            withdrawn = status in WITHDRAWN_STATUSES or frequency == "8" or (
                status == "rejected" and frequency == "7" and replaces is not None)
            expected = ZERO if withdrawn else charge
            if b.billed != expected:
                bad("ledger.claim.billed", f"claim {b.patient_control_number} ({status}): charges posted "
                    f"{b.billed}, expected {expected}", b.patient_control_number)
        # a claim to a next payer never owes less than nothing: its payer's 835 took off insurance A/R nothing
        # that the prior payer's adjudication (its prior_payer entry) had taken off already (see edi.ledger.post)
        next_payer = set(conn.execute(select(journal_entries.c.claim_id).where(
            journal_entries.c.claim_id.between(chunk[0].id, chunk[-1].id),
            journal_entries.c.kind == "prior_payer")).scalars())
        for b in chunk:
            if b.id in next_payer and b.insurance_balance < 0:
                bad("ledger.claim.negative_balance", f"claim {b.patient_control_number} to payer {b.payer}: "
                    f"insurance A/R {b.insurance_balance}, below zero: the payers' adjudications were taken off "
                    "more than once", b.patient_control_number)
    # every remittance's cash postings equal its BPR02
    cash = dict(conn.execute(
        select(journal_entries.c.remittance_id, func.sum(postings.c.amount))
        .join(postings, postings.c.entry_id == journal_entries.c.id)
        .where(postings.c.account == "undeposited_era", journal_entries.c.remittance_id.is_not(None))
        .group_by(journal_entries.c.remittance_id)).all())
    for rid, trace, amount in conn.execute(select(remittances.c.id, remittances.c.trace_number,
                                                  remittances.c.amount)):
        posted = cash.get(rid) or ZERO
        if posted != amount:
            bad("ledger.payment.posted", f"payment {trace}: BPR02 {amount} but {posted} was posted to cash", trace)
    # no file and no payment posted twice
    for sha, n in conn.execute(select(files.c.sha256, func.count()).group_by(files.c.sha256)
                               .having(func.count() > 1)):
        bad("ledger.file.twice", f"file {sha[:12]}... was recorded {n} times")
    # one claim, one bill: at most one claim stands per patient control number and payer (any frequency)
    payer_key = func.coalesce(claims.c.payer_id, literal_column("''"))
    for pcn, payer, n in conn.execute(
            select(claims.c.patient_control_number, payer_key, func.count())
            .where(claims.c.status.notin_(NOT_STANDING_STATUSES))
            .group_by(claims.c.patient_control_number, payer_key).having(func.count() > 1)):
        bad("ledger.claim.standing_twice", f"claim {pcn} stands {n} times for payer {payer or '(no payer id)'}: "
            "it is billed more than once", pcn)
    for key, trace, n in conn.execute(select(remittances.c.payer_key, remittances.c.trace_number, func.count())
                                      .group_by(remittances.c.payer_key, remittances.c.trace_number)
                                      .having(func.count() > 1)):
        bad("ledger.payment.twice", f"payment {trace} from {key} was posted {n} times", trace)
    for cp_id, n in conn.execute(select(journal_entries.c.claim_payment_id, func.count())
                                 .where(and_(journal_entries.c.claim_payment_id.is_not(None),
                                             journal_entries.c.kind.in_(("payment", "denial", "reversal",
                                                                         "suspense"))))
                                 .group_by(journal_entries.c.claim_payment_id).having(func.count() > 1)):
        bad("ledger.claim_payment.twice", f"claim payment {cp_id} was posted {n} times")
    # bank deposits: every transfer to the bank is one matched payment's BPR02, and none is deposited twice
    from edi.ledger.deposits import check as check_deposits

    found += check_deposits(conn)
    return found
