"""Importing acknowledgements: each TA1, 999 and 277CA linked to what it acknowledges, and claim statuses set.

- A **TA1** names an interchange by ISA13: it is linked to each 837 transaction set recorded from that
  interchange. A rejection (TA104 = R) rejects every claim in it.
- A **999** names a functional group by GS06 (AK102) and each transaction set by ST02 (AK202): each AK2 is linked
  to the 837 transaction set recorded with those numbers. A rejected set (IK501 R, M, W or X) rejects every claim
  in it; a group rejected whole (AK901 R) rejects the claims of its sets that no AK2 of the 999 accepted. An
  accepted set changes no claim's status: a 999 says the file could be read, not that a claim was accepted.
- A **277CA** names each claim by patient control number (2200D TRN02): it is linked to the claim that stands
  with that number (when several do, for several payers, to the one whose charge is STC04, then whose payer id
  is the 277CA's source). A1/A2 categories move a built or submitted claim to ``accepted``; a rejecting category
  (A3, A4, A6, A7, A8) moves a built, submitted or accepted claim to ``rejected``, its reason in words kept on the
  claim (``claims.status_reason``). REF*1K gives the payer's claim number, kept when the claim has none yet.

A claim the payer has already answered (paid, denied, reversed) or that was withdrawn keeps its status; the
acknowledgement is still kept in its story. Several clearinghouses may use the same control numbers: when the
numbers alone name more than one transaction set, the 837's receiver (1000B NM109) is compared with the
acknowledgement's sender (its ISA06); what stays ambiguous, or names nothing the ledger knows, is kept unlinked
with a note and reported, never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Connection

from edi.acks.model import (
    ClaimAck,
    GroupAck,
    InterchangeAck,
    ProviderAck,
    ReceiverAck,
    Status,
    TransactionSetAck,
)
from edi.ledger.journal import insert_returning_ids
from edi.ledger.schema import (
    WITHDRAWN_STATUSES,
    acknowledgements,
    claims,
    transactions,
)
from edi.problems import WARNING, Problem, Where

#: Claims whose status an acknowledgement may change (nobody has adjudicated them yet).
OPEN_FOR_ACCEPTANCE = ("built", "submitted")
OPEN_FOR_REJECTION = ("built", "submitted", "accepted")
BATCH = 1000
_REJECTED_SET = ("R", "M", "W", "X")


@dataclass
class AckResult:
    interchanges: int = 0  # TA1s
    groups: int = 0  # 999 AK1/AK9
    transaction_sets: int = 0  # 999 AK2/IK5
    sets_rejected: int = 0
    claims: int = 0  # 277CA 2200D loops
    claims_accepted: int = 0  # claims whose status became accepted
    claims_rejected: int = 0  # claims whose status became rejected (by any acknowledgement)
    unlinked: int = 0  # acknowledgements of nothing the ledger knows (kept, with a note)
    provider_totals: list[dict] = field(default_factory=list)  # what each 277CA 2200B/2200C says
    problems: list[Problem] = field(default_factory=list)

    @property
    def items(self) -> int:
        return self.interchanges + self.groups + self.transaction_sets + self.claims

    def message(self) -> str:
        parts = []
        if self.interchanges:
            parts.append(f"{self.interchanges} interchange acknowledgements (TA1)")
        if self.groups or self.transaction_sets:
            parts.append(f"{self.groups} groups and {self.transaction_sets} transaction sets (999), "
                         f"{self.sets_rejected} sets rejected")
        if self.claims:
            parts.append(f"{self.claims} claim acknowledgements (277CA)")
        parts.append(f"claims accepted {self.claims_accepted}, rejected {self.claims_rejected}")
        if self.unlinked:
            parts.append(f"{self.unlinked} for nothing this ledger holds (kept)")
        return "; ".join(parts)


def status_words(s: Status) -> str:
    """One STC in words: each composite as ``A7:562:85`` and its category (and status code) meaning."""
    said = []
    for c in s.codes:
        code = ":".join(x for x in (c.category, c.code, c.entity) if x)
        words = c.category_words + (f", {c.code_words}" if c.code_words else f", status code {c.code}")
        if c.entity:
            words += f" (entity {c.entity})"
        said.append(f"{code} {words}")
    text = "; ".join(said)
    if s.message:
        text += f" - {s.message}"
    return text


class AckImporter:
    """Imports one file's acknowledgements (fed in reader order) inside the caller's transaction."""

    def __init__(self, conn: Connection, *, file_id: int, file_name: str, now: datetime) -> None:
        self.conn = conn
        self.file_id = file_id
        self.file_name = file_name
        self.now = now
        self.result = AckResult()
        self.sets: list[TransactionSetAck] = []  # the AK2s of the group being read (until its AK9)
        self.claim_acks: list[ClaimAck] = []

    # -- stream ---------------------------------------------------------------------------------------------

    def add(self, item) -> None:
        if isinstance(item, ClaimAck):
            self.claim_acks.append(item)
            if len(self.claim_acks) >= BATCH:
                self._flush_claims()
        elif isinstance(item, TransactionSetAck):
            self.sets.append(item)
        elif isinstance(item, GroupAck):
            self._group(item)
        elif isinstance(item, InterchangeAck):
            self._interchange(item)
        elif isinstance(item, ReceiverAck | ProviderAck):
            t = item.totals
            self.result.provider_totals.append({
                "level": "receiver" if isinstance(item, ReceiverAck) else "provider",
                "id": item.id if isinstance(item, ReceiverAck) else item.npi, "trace": item.trace,
                "accepted": t.accepted_count, "rejected": t.rejected_count,
                "accepted_amount": t.accepted_amount, "rejected_amount": t.rejected_amount})

    def finish(self) -> AckResult:
        if self.sets:  # AK2 loops with no AK9 after them (the reader reported it): linked on their own
            self._sets(self.sets, None)
            self.sets = []
        self._flush_claims()
        return self.result

    # -- helpers --------------------------------------------------------------------------------------------

    def _problem(self, code: str, message: str, segment: int | None) -> None:
        self.result.problems.append(Problem(code, message, WARNING, Where(file=self.file_name, segment=segment)))

    def _rows(self, rows: list[dict]) -> None:
        if rows:
            insert_returning_ids(self.conn, acknowledgements, [
                {"file_id": self.file_id, "created_at": self.now, **r} for r in rows])

    def _candidates(self, where, sender: str | None, kind: str, level: str,
                    segment: int | None) -> tuple[list, str | None]:
        """The 837 transaction sets ``where`` names, all from one file. When the numbers name sets of several
        files (two clearinghouses, or an EHR that numbers every file from 1), those sent to ``sender`` (the
        acknowledger, against the 837's receiver) are kept; then those that no acknowledgement of this ``kind``
        and ``level`` answered yet, and of them the oldest file's (acknowledgements come back in the order
        files were sent), with a warning. Returns (rows, note when there are none)."""
        rows = self.conn.execute(select(transactions.c.id, transactions.c.file_id, transactions.c.receiver)
                                 .where(transactions.c.st01 == "837", where).order_by(transactions.c.id)).all()
        if not rows:
            return [], "no 837 transaction set recorded in this ledger has these control numbers"
        if len({r.file_id for r in rows}) > 1 and sender:
            narrowed = [r for r in rows if (r.receiver or "").strip() == sender.strip()]
            if narrowed:
                rows = narrowed
        files = sorted({r.file_id for r in rows})
        if len(files) > 1:
            answered = set(self.conn.execute(
                select(acknowledgements.c.transaction_id).where(
                    acknowledgements.c.kind == kind, acknowledgements.c.level == level,
                    acknowledgements.c.transaction_id.in_([r.id for r in rows]))).scalars())
            waiting = sorted({r.file_id for r in rows if r.id not in answered})
            if not waiting:
                return [], (f"these control numbers name transaction sets of {len(files)} recorded files, every one "
                            "already acknowledged: not linked")
            chosen = waiting[0]
            self._problem("ack.link.guessed", f"{kind} control numbers name transaction sets of {len(files)} "
                          f"recorded files; linked to the oldest not yet acknowledged ({len(waiting)} were)", segment)
            rows = [r for r in rows if r.file_id == chosen]
        return rows, None

    def _reject(self, transaction_ids: list[int], reason: str) -> None:
        """Reject the claims of these 837 transaction sets that nobody has adjudicated yet."""
        if not transaction_ids:
            return
        n = self.conn.execute(
            update(claims).where(claims.c.transaction_id.in_(transaction_ids),
                                 claims.c.status.in_(OPEN_FOR_REJECTION))
            .values(status="rejected", status_reason=reason)).rowcount
        self.result.claims_rejected += n or 0

    # -- TA1 ------------------------------------------------------------------------------------------------

    def _interchange(self, ack: InterchangeAck) -> None:
        self.result.interchanges += 1
        rows, note = self._candidates(transactions.c.interchange == ack.control_number, ack.sender, "TA1",
                                      "interchange", ack.source.segment)
        reason = f"TA1 {ack.status} ({ack.status_words}) for interchange {ack.control_number}: {ack.note_code} " \
                 f"{ack.note}"
        base = {"kind": "TA1", "level": "interchange", "interchange": ack.control_number, "status": ack.status,
                "outcome": "accepted" if ack.accepted else "rejected", "codes": ack.note_code, "reason": reason,
                "source_name": ack.sender, "segment": ack.source.segment}
        if not rows:
            self.result.unlinked += 1
            self._rows([{**base, "note": note}])
            self._problem("ack.unlinked", f"TA1 for interchange {ack.control_number}: {note}", ack.source.segment)
            return
        self._rows([{**base, "transaction_id": r.id} for r in rows])
        if not ack.accepted:
            self._reject([r.id for r in rows], reason)

    # -- 999 ------------------------------------------------------------------------------------------------

    def _group(self, group: GroupAck) -> None:
        self.result.groups += 1
        sets, self.sets = self.sets, []
        linked = self._sets(sets, group)
        where = transactions.c.group_control == group.group_control
        if linked:  # the group of the sets just linked, not another file's group with the same number
            where = and_(where, transactions.c.file_id.in_(
                select(transactions.c.file_id).where(transactions.c.id.in_(list(linked))).scalar_subquery()))
        rows, note = self._candidates(where, group.sender, "999", "group", group.source.segment)
        codes = " ".join(group.error_codes) or None
        reason = (f"999 group {group.group_control} {group.status} ({group.status_words})"
                  + (f": {'; '.join(group.errors)}" if group.errors else ""))
        base = {"kind": "999", "level": "group", "group_control": group.group_control, "status": group.status,
                "outcome": "accepted" if group.status in ("A", "E") else "other" if group.status == "P"
                else "rejected", "codes": codes, "reason": reason, "source_name": group.sender,
                "segment": group.source.segment}
        if not rows:
            self.result.unlinked += 1
            self._rows([{**base, "note": note}])
            self._problem("ack.unlinked", f"999 for group {group.group_control}: {note}", group.source.segment)
            return
        self._rows([{**base, "transaction_id": r.id} for r in rows])
        if group.status in _REJECTED_SET:
            # the sets of the group that no AK2 of this 999 accepted are rejected with it
            accepted = {tid for tid, ok in linked.items() if ok}
            self._reject([r.id for r in rows if r.id not in accepted], reason)

    def _sets(self, sets: list[TransactionSetAck], group: GroupAck | None) -> dict[int, bool]:
        """Link and apply each AK2; returns transaction id -> accepted, for the sets linked."""
        linked: dict[int, bool] = {}
        sender = group.sender if group is not None else None
        for s in sets:
            self.result.transaction_sets += 1
            rows, note = self._candidates(and_(transactions.c.group_control == s.group_control,
                                               transactions.c.control_number == s.control_number), sender, "999",
                                          "transaction", s.source.segment)
            errors = "; ".join(f"{e.tag} at {e.position}" + (f" in loop {e.loop}" if e.loop else "")
                               + f": {e.meaning}"
                               + "".join(f", element {x.position}: {x.meaning}" for x in e.elements)
                               for e in s.segment_errors)
            reason = (f"999 transaction set {s.control_number} (group {s.group_control}) {s.status} "
                      f"({s.status_words})" + (f": {'; '.join(s.errors)}" if s.errors else "")
                      + (f"; {errors}" if errors else ""))
            rejected = s.status in _REJECTED_SET
            if rejected:
                self.result.sets_rejected += 1
            base = {"kind": "999", "level": "transaction", "group_control": s.group_control,
                    "control_number": s.control_number, "status": s.status,
                    "outcome": "rejected" if rejected else "accepted" if s.accepted else "other",
                    "codes": " ".join(s.error_codes) or None, "reason": reason, "source_name": sender,
                    "segment": s.source.segment}
            if not rows:
                self.result.unlinked += 1
                self._rows([{**base, "note": note}])
                self._problem("ack.unlinked", f"999 for transaction set {s.control_number} of group "
                              f"{s.group_control}: {note}", s.source.segment)
                continue
            self._rows([{**base, "transaction_id": r.id} for r in rows])
            for r in rows:
                linked[r.id] = s.accepted
            if rejected:
                self._reject([r.id for r in rows], reason)
        return linked

    # -- 277CA ----------------------------------------------------------------------------------------------

    def _flush_claims(self) -> None:
        batch, self.claim_acks = self.claim_acks, []
        if not batch:
            return
        self.result.claims += len(batch)
        pcns = sorted({a.patient_control_number for a in batch})
        standing: dict[str, list] = defaultdict(list)
        for k in range(0, len(pcns), 900):
            for row in self.conn.execute(
                    select(claims.c.id, claims.c.patient_control_number, claims.c.charge, claims.c.payer_id,
                           claims.c.status, claims.c.payer_claim_number)
                    .where(claims.c.patient_control_number.in_(pcns[k:k + 900]),
                           claims.c.status.notin_(WITHDRAWN_STATUSES)).order_by(claims.c.id.desc())):
                standing[row.patient_control_number].append(row)
        rows: list[dict] = []
        statuses: dict[int, tuple[str, str]] = {}  # claim id -> (status, reason), the last word of this file
        icns: dict[int, str] = {}
        current = {r.id: r.status for rs in standing.values() for r in rs}
        for a in batch:
            claim, note = self._claim_for(a, standing.get(a.patient_control_number, []))
            outcome = a.outcome
            words = " | ".join(status_words(s) for s in a.statuses)
            first = next((c.category for s in a.statuses for c in s.codes
                          if (outcome != "rejected" or s.outcome == "rejected")), "")
            reason = f"277CA from {a.source_name or a.source_id or 'the payer'}: {words}"
            rows.append({"kind": "277CA", "level": "claim", "patient_control_number": a.patient_control_number,
                         "claim_id": claim.id if claim is not None else None, "status": first[:2] or "--",
                         "outcome": outcome, "codes": " ".join(":".join(x for x in (c.category, c.code, c.entity) if x)
                                                             for s in a.statuses for c in s.codes) or None,
                         "reason": reason, "payer_claim_number": a.payer_claim_number, "amount": a.charge,
                         "effective_date": next((s.effective_date for s in a.statuses if s.effective_date), None),
                         "source_name": a.source_name, "source_id": a.source_id, "segment": a.source.segment,
                         "note": note})
            if claim is None:
                self.result.unlinked += 1
                self._problem("ack.unlinked", f"277CA for claim {a.patient_control_number}: {note}", a.source.segment)
                continue
            if a.payer_claim_number and not claim.payer_claim_number:
                icns[claim.id] = a.payer_claim_number
            status = statuses.get(claim.id, (current[claim.id], None))[0]
            if outcome == "rejected" and status in OPEN_FOR_REJECTION:
                statuses[claim.id] = ("rejected", reason)
            elif outcome == "accepted" and status in OPEN_FOR_ACCEPTANCE:
                statuses[claim.id] = ("accepted", reason)
        self._rows(rows)
        changes = [{"cid": claim_id, "st": status, "why": reason} for claim_id, (status, reason) in statuses.items()
                   if status != current[claim_id]]
        if changes:
            _update_claims(self.conn, changes, "status = v.st, status_reason = v.why", ("st", "why"),
                           update(claims).where(claims.c.id == bindparam("cid"))
                           .values(status=bindparam("st"), status_reason=bindparam("why")))
            rejected = sum(1 for c in changes if c["st"] == "rejected")
            self.result.claims_rejected += rejected
            self.result.claims_accepted += len(changes) - rejected
        if icns:
            _update_claims(self.conn, [{"cid": k, "icn": v[:50]} for k, v in icns.items()],
                           "payer_claim_number = v.icn", ("icn",),
                           update(claims).where(claims.c.id == bindparam("cid"), claims.c.payer_claim_number.is_(None))
                           .values(payer_claim_number=bindparam("icn")), only_empty="payer_claim_number")

    @staticmethod
    def _claim_for(a: ClaimAck, candidates: list):
        """The claim a 277CA claim acknowledgement answers (newest first among equals), or (None, why)."""
        if not candidates:
            return None, "no claim in this ledger has this patient control number"
        if len(candidates) == 1:
            return candidates[0], None
        narrowed = candidates
        if a.charge is not None:
            narrowed = [c for c in narrowed if c.charge == a.charge] or narrowed
        if len(narrowed) > 1 and a.source_id:
            narrowed = [c for c in narrowed if (c.payer_id or "") == a.source_id] or narrowed
        if len({(c.payer_id or "") for c in narrowed}) > 1:
            return None, (f"{len(narrowed)} claims with this patient control number stand for different payers, and "
                          "neither the charge nor the payer id tells which one this answers: not linked")
        return narrowed[0], None


def _update_claims(conn: Connection, changes: list[dict], assignments: str, names: tuple[str, ...], portable,
                   only_empty: str | None = None) -> None:
    """Update many claims by id (``cid`` in each change): on PostgreSQL one statement over arrays bound on the
    driver (an UPDATE per claim cost a round trip each); elsewhere ``portable`` with many parameter sets."""
    if conn.dialect.name != "postgresql":
        conn.execute(portable, changes)
        return
    from edi.ledger.db import driver

    columns = ", ".join(("id", *names))
    arrays = ", ".join(["%s::int[]"] + ["%s::text[]"] * len(names))
    statement = (f"UPDATE claims SET {assignments} FROM unnest({arrays}) AS v({columns}) WHERE claims.id = v.id"
                 + (f" AND claims.{only_empty} IS NULL" if only_empty else ""))
    with driver(conn, statement) as raw:
        raw.execute(statement, ([c["cid"] for c in changes], *([c[n] for c in changes] for n in names)))
