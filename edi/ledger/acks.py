"""Importing acknowledgements: each TA1, 999 and 277CA linked to what it acknowledges, and claim statuses set.

- A **TA1** names an interchange by ISA13: it is linked to each 837 transaction set recorded from that
  interchange. A rejection (TA104 = R) rejects every claim in it.
- A **999** names a functional group by GS06 (AK102) and each transaction set by ST02 (AK202): each AK2 of an
  837 (AK201 = 837) is linked to the 837 transaction set recorded with those numbers (compared as numbers:
  ``0005`` is ``5``). A rejected set (IK501 R, M, W or X) rejects every claim in it; a group rejected whole
  (AK901 R, M, W or X) rejects every claim of the group, whatever its sets say. An accepted set changes no
  claim's status: a 999 says the file could be read, not that a claim was accepted. A 999 for another
  transaction set (a 270, an 834) is kept and changes nothing.
- A **277CA** (005010X214) names each claim by patient control number (2200D TRN02). When the submitter's batch
  id above it (2200B TRN02) is the BHT03 of a recorded 837 holding a claim of that number, that claim is the one
  (a late acknowledgement of a first submission does not touch its resubmission); else the claim that stands
  with that number (when several do, for several payers: the one whose charge is STC04, then whose payer id is
  the 277CA's source; still several: not linked). A0, A1, A2 and A5 move a built or submitted claim to
  ``accepted``; A3, A4, A6, A7 and A8 move a built, submitted or accepted claim to ``rejected``, its reason in
  words kept on the claim (``claims.status_reason``). REF*1K gives the payer's claim number, kept when the
  claim has none yet. A 277 claim-status response (X212) is kept but changes no status: its categories say where
  a claim stands in adjudication, not whether it was accepted.

Control numbers repeat: two clearinghouses each number from 1, and many EHRs number every file from 1. A TA1 or
999 is linked only to 837s sent to the clearinghouse that sends it (the 837's ISA08 against the
acknowledgement's ISA06; a recorded 837 whose receiver is unknown stays a candidate); when the numbers still name
transaction sets of several files, it is kept unlinked and changes nothing (``ack.unlinked``, with the reason).

A rejected replacement or void (frequency 7 or 8) gives the claim it corrected back: its withdrawn charge is
posted again and it stands as before, while the rejected replacement's own charge leaves the balance (the money
owed is the original's). A claim the payer has already answered (paid, denied, reversed) or that was withdrawn
keeps its status; the acknowledgement is still kept in its story. Values longer than the ledger's columns are
cut to fit (PostgreSQL refuses them), and an amount that is not whole cents is kept as none, with a warning.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from edi.acks.model import (
    ClaimAck,
    GroupAck,
    InterchangeAck,
    ProviderAck,
    ReceiverAck,
    TransactionSetAck,
)
from edi.ledger.journal import Entry, Journal, insert_returning_ids
from edi.ledger.schema import (
    WITHDRAWN_STATUSES,
    acknowledgements,
    claim_payments,
    claims,
    journal_entries,
    postings,
    transactions,
)
from edi.ledger.writes import nul_keeper, nul_problem
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


class AckImporter:
    """Imports one file's acknowledgements (fed in reader order) inside the caller's transaction."""

    def __init__(self, conn: Connection, *, file_id: int, file_name: str, now: datetime) -> None:
        self.conn = conn
        self.file_id = file_id
        self.file_name = file_name
        self._keep = nul_keeper(file_name)
        self._kept_nul = False
        self.now = now
        self.result = AckResult()
        self.sets: list[TransactionSetAck] = []  # the AK2s of the group being read (until its AK9)
        self.claim_acks: list[ClaimAck] = []

    # -- stream ---------------------------------------------------------------------------------------------

    def add(self, item) -> None:
        if self._keep is not None:  # the file holds a NUL: kept as \x00 (edi.ledger.writes)
            kept = self._keep(item)
            if kept is not item and not self._kept_nul:
                self._kept_nul = True
                self.result.problems.append(nul_problem(item, self.file_name))
            item = kept
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
                {"file_id": self.file_id, "created_at": self.now, **_fitted(r, self._problem)} for r in rows])

    def _candidates(self, where, sender: str | None) -> tuple[list, str | None]:
        """The 837 transaction sets ``where`` names that were sent to ``sender`` (the acknowledger: the 837's ISA08
        against its ISA06; a set whose receiver is not known stays a candidate), all from one file. Returns
        (rows, why there are none)."""
        rows = self.conn.execute(select(transactions.c.id, transactions.c.file_id, transactions.c.receiver)
                                 .where(transactions.c.st01 == "837", where).order_by(transactions.c.id)).all()
        if not rows:
            return [], "no 837 transaction set recorded in this ledger has these control numbers"
        if sender:
            rows = [r for r in rows if r.receiver is None or r.receiver.strip() == sender.strip()]
            if not rows:
                return [], (f"the 837 transaction sets with these control numbers were sent to another receiver than "
                            f"{sender}, who sends this acknowledgement")
        files = {r.file_id for r in rows}
        if len(files) > 1:
            return [], (f"these control numbers name 837 transaction sets of {len(files)} recorded files sent to the "
                        "same receiver: not linked, nothing changed")
        return rows, None

    def _reject(self, transaction_ids: list[int], reason: str) -> None:
        """Reject the claims of these 837 transaction sets that nobody has adjudicated yet."""
        if not transaction_ids:
            return
        ids = list(self.conn.execute(select(claims.c.id).where(claims.c.transaction_id.in_(transaction_ids),
                                                               _open_for_rejection())).scalars())
        if not ids:
            return
        for k in range(0, len(ids), 900):
            self.conn.execute(update(claims).where(claims.c.id.in_(ids[k:k + 900]))
                              .values(status="rejected", status_reason=reason))
        self.result.claims_rejected += len(ids)
        self._give_back(ids)

    def _give_back(self, rejected_ids: list[int]) -> None:
        """For each rejected replacement or void among ``rejected_ids``: the claim it corrected stands again (its
        withdrawn charge posted back, its status as its payments say), and a replacement's own charge leaves the
        balance."""
        corrections = []
        for k in range(0, len(rejected_ids), 900):
            corrections += self.conn.execute(
                select(claims.c.id, claims.c.frequency, claims.c.replaces_id, claims.c.patient_control_number)
                .where(claims.c.id.in_(rejected_ids[k:k + 900]), claims.c.frequency.in_(("7", "8")),
                       claims.c.replaces_id.is_not(None))).all()
        if not corrections:
            return
        journal = Journal(self.conn, self.now)
        for c in corrections:
            withdrawal = self.conn.execute(
                select(journal_entries.c.id).where(journal_entries.c.claim_id == c.replaces_id,
                                                   journal_entries.c.kind.in_(("replaced", "voided")))
                .order_by(journal_entries.c.id.desc()).limit(1)).scalar()
            if withdrawal is not None:
                self._negate(journal, withdrawal, c.replaces_id, "reinstated",
                             f"charge posted back: its correction {c.patient_control_number} (frequency "
                             f"{c.frequency}) was rejected")
            if c.frequency == "7":
                charge = self.conn.execute(
                    select(journal_entries.c.id).where(journal_entries.c.claim_id == c.id,
                                                       journal_entries.c.kind == "charge")).scalar()
                if charge is not None:
                    self._negate(journal, charge, c.id, "rejected",
                                 "charge withdrawn: this replacement was rejected; the claim it replaced stands")
            self.conn.execute(update(claims).where(claims.c.id == c.replaces_id).values(
                status=self._status_from_payments(c.replaces_id),
                status_reason=f"stands again: its {'replacement' if c.frequency == '7' else 'void'} was rejected"))
        journal.flush()

    def _negate(self, journal: Journal, entry_id: int, claim_id: int, kind: str, memo: str) -> None:
        e = Entry(kind, claim_id=claim_id, file_id=self.file_id, reverses_id=entry_id, memo=memo)
        for p in self.conn.execute(select(postings).where(postings.c.entry_id == entry_id)).mappings():
            e.post(p["account"], -p["amount"], claim_id=p["claim_id"], line_id=p["line_id"])
        journal.add(e)

    def _status_from_payments(self, claim_id: int) -> str:
        last = self.conn.execute(select(claim_payments.c.status).where(claim_payments.c.claim_id == claim_id)
                                 .order_by(claim_payments.c.id.desc()).limit(1)).scalar()
        if last is None:
            return "submitted"
        if last == "22":
            return "reversed"
        return "denied" if last in ("4",) else "paid"

    # -- TA1 ------------------------------------------------------------------------------------------------

    def _interchange(self, ack: InterchangeAck) -> None:
        self.result.interchanges += 1
        rows, note = self._candidates(_same_number(transactions.c.interchange, ack.control_number), ack.sender)
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
        codes = " ".join(group.error_codes) or None
        reason = (f"999 group {group.group_control} {group.status} ({group.status_words})"
                  + (f": {'; '.join(group.errors)}" if group.errors else ""))
        base = {"kind": "999", "level": "group", "group_control": group.group_control, "status": group.status,
                "outcome": "accepted" if group.status in ("A", "E") else "other" if group.status == "P"
                else "rejected", "codes": codes, "reason": reason, "source_name": group.sender,
                "segment": group.source.segment}
        if group.functional_id not in ("HC", ""):
            self.result.unlinked += 1
            self._rows([{**base, "note": f"acknowledges a functional group {group.functional_id}, not 837 claims "
                                         "(HC)"}])
            return
        where = _same_number(transactions.c.group_control, group.group_control)
        if linked:  # the group of the sets just linked, not another file's group with the same number
            where = and_(where, transactions.c.file_id.in_(
                select(transactions.c.file_id).where(transactions.c.id.in_(list(linked))).scalar_subquery()))
        rows, note = self._candidates(where, group.sender)
        if not rows:
            self.result.unlinked += 1
            self._rows([{**base, "note": note}])
            self._problem("ack.unlinked", f"999 for group {group.group_control}: {note}", group.source.segment)
            return
        self._rows([{**base, "transaction_id": r.id} for r in rows])
        if group.status in _REJECTED_SET:  # the whole group was rejected, whatever its sets say
            self._reject([r.id for r in rows], reason)

    def _sets(self, sets: list[TransactionSetAck], group: GroupAck | None) -> dict[int, bool]:
        """Link and apply each AK2; returns transaction id -> accepted, for the sets linked."""
        linked: dict[int, bool] = {}
        sender = group.sender if group is not None else None
        for s in sets:
            self.result.transaction_sets += 1
            errors = "; ".join(f"{e.tag} at {e.position}" + (f" in loop {e.loop}" if e.loop else "")
                               + f": {e.meaning}"
                               + "".join(f", element {x.position}: {x.meaning}" for x in e.elements)
                               for e in s.segment_errors)
            reason = (f"999 transaction set {s.control_number} (group {s.group_control}) {s.status} "
                      f"({s.status_words})" + (f": {'; '.join(s.errors)}" if s.errors else "")
                      + (f"; {errors}" if errors else ""))
            rejected = s.status in _REJECTED_SET
            base = {"kind": "999", "level": "transaction", "group_control": s.group_control,
                    "control_number": s.control_number, "status": s.status,
                    "outcome": "rejected" if rejected else "accepted" if s.accepted else "other",
                    "codes": " ".join(s.error_codes) or None, "reason": reason, "source_name": sender,
                    "segment": s.source.segment}
            if s.transaction_set != "837" or s.functional_id not in ("HC", ""):
                self.result.unlinked += 1
                self._rows([{**base, "note": f"acknowledges a {s.transaction_set or '(no ST01)'} transaction set, "
                             "not an 837: nothing changed"}])
                continue
            if rejected:
                self.result.sets_rejected += 1
            rows, note = self._candidates(and_(_same_number(transactions.c.group_control, s.group_control),
                                               _same_number(transactions.c.control_number, s.control_number)),
                                          sender)
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
        known: dict[str, list] = defaultdict(list)  # number -> its claims, newest first
        for k in range(0, len(pcns), 900):
            for row in self.conn.execute(
                    select(claims.c.id, claims.c.patient_control_number, claims.c.charge, claims.c.payer_id,
                           claims.c.status, claims.c.payer_claim_number, claims.c.frequency, claims.c.replaces_id,
                           transactions.c.batch_id)
                    .outerjoin(transactions, transactions.c.id == claims.c.transaction_id)
                    .where(claims.c.patient_control_number.in_(pcns[k:k + 900])).order_by(claims.c.id.desc())):
                known[row.patient_control_number].append(row)
        rows: list[dict] = []
        statuses: dict[int, tuple[str, str]] = {}  # claim id -> (status, reason), the last word of this file
        icns: dict[int, str] = {}
        current = {r.id: r.status for rs in known.values() for r in rs}
        voids = {r.id for rs in known.values() for r in rs if _is_void_document(r)}
        for a in batch:
            claim, note = self._claim_for(a, known.get(a.patient_control_number, []))
            outcome = a.outcome
            words = " | ".join(s.words(message=False) for s in a.statuses)
            first = next((c.category for s in a.statuses for c in s.codes
                          if (outcome != "rejected" or s.outcome == "rejected")), "")
            reason = f"277CA from {a.source_name or a.source_id or 'the payer'}: {words}"
            if not a.is_277ca and claim is not None:
                note = (f"a 277 of version {a.version or '(none)'}, not a 277CA (005010X214): a claim status "
                        "response changes no status")
            amount = a.charge
            if amount is not None and not _keepable_amount(amount):
                self._problem("ack.amount.unusable", f"277CA for claim {a.patient_control_number}: the claim charge "
                              "(STC04) is not an amount in whole cents that the ledger can keep: kept as none",
                              a.source.segment)
                amount = None
            rows.append({"kind": "277CA", "level": "claim", "patient_control_number": a.patient_control_number,
                         "claim_id": claim.id if claim is not None else None, "status": first[:2] or "--",
                         "outcome": outcome, "codes": " ".join(":".join(x for x in (c.category, c.code, c.entity) if x)
                                                             for s in a.statuses for c in s.codes) or None,
                         "reason": "; ".join([reason] + [s.message for s in a.statuses if s.message]),
                         "payer_claim_number": a.payer_claim_number, "amount": amount,
                         "effective_date": next((s.effective_date for s in a.statuses if s.effective_date), None),
                         "source_name": a.source_name, "source_id": a.source_id, "segment": a.source.segment,
                         "note": note})
            if claim is None:
                self.result.unlinked += 1
                self._problem("ack.unlinked", f"277CA for claim {a.patient_control_number}: {note}", a.source.segment)
                continue
            if not a.is_277ca:
                continue
            if a.payer_claim_number and not claim.payer_claim_number:
                icns[claim.id] = a.payer_claim_number
            status = statuses.get(claim.id, (current[claim.id], None))[0]
            if outcome == "rejected" and (status in OPEN_FOR_REJECTION or (claim.id in voids and status == "voided")):
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
            rejected = [c["cid"] for c in changes if c["st"] == "rejected"]
            self.result.claims_rejected += len(rejected)
            self.result.claims_accepted += len(changes) - len(rejected)
            self._give_back(rejected)
        if icns:
            _update_claims(self.conn, [{"cid": k, "icn": v[:50]} for k, v in icns.items()],
                           "payer_claim_number = v.icn", ("icn",),
                           update(claims).where(claims.c.id == bindparam("cid"), claims.c.payer_claim_number.is_(None))
                           .values(payer_claim_number=bindparam("icn")), only_empty="payer_claim_number")

    @staticmethod
    def _claim_for(a: ClaimAck, known: list):
        """The claim a 277CA claim acknowledgement answers, or (None, why). ``known``: the claims with its
        number, newest first."""
        if not known:
            return None, "no claim in this ledger has this patient control number"
        if a.batch_trace:  # the 837 it answers, by the batch id (BHT03) the 277CA gives back
            sent = [c for c in known if c.batch_id is not None and c.batch_id == a.batch_trace]
            if len(sent) == 1 or (sent and len({c.payer_id for c in sent}) == 1):
                return sent[0], None
        candidates = [c for c in known if c.status not in WITHDRAWN_STATUSES or _is_void_document(c)]
        if not candidates:
            return None, "every claim with this patient control number was replaced or voided"
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


#: Amounts the ledger keeps (integer cents in a BIGINT).
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 15


def _keepable_amount(amount: Decimal) -> bool:
    """Whether the ledger can keep ``amount``: a finite number of whole cents below ``MAX_AMOUNT``. The size is
    checked before the cents, as quantizing an amount of more than 26 digits to cents raises InvalidOperation."""
    return amount.is_finite() and abs(amount) < MAX_AMOUNT and amount == amount.quantize(CENT)


#: Column lengths of the acknowledgements table, for values cut to fit.
_LENGTHS = {"interchange": 9, "group_control": 9, "control_number": 9, "patient_control_number": 38, "status": 2,
            "payer_claim_number": 50, "source_id": 80}


def _open_for_rejection():
    """Claims an acknowledgement may reject: those nobody has adjudicated yet, and the void documents (frequency
    8, recorded as voided) that withdrew another claim: rejected, they give it back."""
    return or_(claims.c.status.in_(OPEN_FOR_REJECTION),
               and_(claims.c.frequency == "8", claims.c.status == "voided", claims.c.replaces_id.is_not(None)))


def _is_void_document(row) -> bool:
    return row.frequency == "8" and row.status == "voided" and row.replaces_id is not None


def _fitted(row: dict, problem) -> dict:
    """``row`` with each value cut to its column's length (PostgreSQL refuses a longer one; SQLite would keep
    it, and both must keep the same)."""
    for name, n in _LENGTHS.items():
        value = row.get(name)
        if isinstance(value, str) and len(value) > n:
            row[name] = value[:n]
            problem("ack.value.long", f"{name.replace('_', ' ')} of the acknowledgement at segment "
                    f"{row.get('segment')} is longer than {n} characters: kept cut to {n}", row.get("segment"))
    return row


def _same_number(column, value: str | None):
    """A control number compared as a number (``0005`` is ``5``): X12 pads them, some senders do not."""
    digits = (value or "").strip()
    if digits.isdigit():
        return func.ltrim(column, "0") == (digits.lstrip("0"))
    return column == digits


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
