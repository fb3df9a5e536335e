"""Recording claims in the ledger: the claims of an 837 that was (or will be) submitted.

Each claim becomes a ``claims`` row with its lines, and a charge entry (insurance A/R up, gross charges).
A replacement (frequency 7) or a void (frequency 8) names the claim it replaces by patient control number
or payer claim number (REF*F8): the original is marked replaced or voided and its charge entry is negated,
so that A/R carries only the claim that stands. A void adds no charge of its own. When a claim stands with the
correction's number for its payer, that is the claim it replaces (a replacement stands from then on, and
never beside another bill of its number), whatever else its REF*F8 names.

One claim, one bill: an original claim (frequency 1) whose patient control number and payer already stand in
the ledger (any frequency, not replaced, voided or rejected) is not recorded again. ``on_standing`` says what
happens then: ``"skip"`` (recording a file written elsewhere: the claim is left out with a warning naming where
it stands, the file's other claims are recorded) or ``"refuse"`` (a file edi just built: nothing of it is
recorded). The database has the last word: the partial unique index ``claims_standing`` refuses a second
standing original even from a process that checked at the same moment (see ``Ledger._run_file``, which runs
the file again). The **corrected resubmission** of a rejected claim (same number and payer, frequency 1) is
recorded and stands; the rejected claim is marked ``replaced`` by it and its charge is withdrawn, as for a
replacement, so that the balance counts the claim once.

A **claim to the next payer** (coordination of benefits: the secondary claim, built from the primary's 835 by
``mappings.secondary``) is a claim of the same number against another payer; its row carries ``left_open``,
what the payer before left to the patient (``edi.ledger.cob.left_open``). It is billed its charge like any claim
(CLM02 is the whole charge), and a ``prior_payer`` entry then says what it can collect: the whole charge as an
OA-23 adjustment (the impact of the prior payer's adjudication: the charge was billed already, to the payer
before), and the patient responsibility that payer left moved from patient A/R to this payer's insurance A/R. So
its insurance balance is ``left_open``, the patient's responsibility over the number's claims nets to what the
last payer billed leaves, and revenue is counted once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.engine import Connection

from edi.ledger.journal import Entry, Journal, insert_returning_ids, value_writer
from edi.ledger.lengths import over_limit, over_limit_dicts, too_long
from edi.ledger.schema import (
    NOT_STANDING_STATUSES,
    WITHDRAWN_STATUSES,
    cents,
    claim_lines,
    claim_payments,
    claims,
    files,
    journal_entries,
    postings,
    transactions,
)
from edi.ledger.writes import Writes, nul_keeper, nul_problem
from edi.model import Claim
from edi.problems import ERROR, WARNING, Problem, Where
from edi.seen import SeenIds

BATCH = 1000
#: Frequencies of a claim that corrects another: replacement, void. Every other frequency bills.
CORRECTIONS = ("7", "8")
CLAIM_COLUMNS = ("id", "patient_control_number", "kind", "payer_id", "payer_name", "frequency", "charge",
                 "service_date", "billing_npi", "member_id", "payer_claim_number", "status", "file_id",
                 "transaction_id", "segment", "replaces_id", "created_at", "fingerprint")
LINE_COLUMNS = ("claim_id", "line_number", "procedure", "modifiers", "revenue_code", "charge", "units",
                "service_date", "line_control_number")


class LineRow(NamedTuple):
    """What the ledger keeps of a service line."""

    line_number: int
    procedure: str | None
    modifiers: str | None  # joined with ":"
    revenue_code: str | None
    charge: Decimal
    units: str
    service_date: date | None
    line_control_number: str | None


class ClaimRow(NamedTuple):
    """What the ledger keeps of a claim: plain values, cheap to spool (``claim_row`` makes one)."""

    patient_control_number: str
    kind: str
    payer_id: str
    payer_name: str
    frequency: str
    charge: Decimal
    service_date: date | None
    billing_npi: str | None
    member_id: str
    payer_claim_number: str | None
    interchange: str | None  # ISA13
    transaction: str | None  # ST02
    segment: int | None  # the CLM's segment number in its file
    lines: tuple[LineRow, ...]
    fingerprint: str | None = None  # sha256 of the 837 text a build wrote the claim as
    #: a claim to the next payer: what the payer before left open to the patient (what this payer can pay)
    left_open: Decimal | None = None


def claim_row(c: Claim, *, interchange: str | None = None, transaction: str | None = None,
              segment: int | None = None, fingerprint: str | None = None) -> ClaimRow:
    """The ledger's row for claim ``c``; its position from ``c.source`` unless given, and the ``fingerprint`` of
    the 837 text a build wrote it as."""
    src = c.source
    if src is not None:
        interchange = interchange or src.interchange
        transaction = transaction or src.transaction
        segment = segment or src.segment
    return ClaimRow(
        c.patient_control_number, c.kind, c.payer.payer_id, c.payer.name, c.frequency, c.total_charge,
        c.first_service_date, c.billing_provider.npi, c.subscriber.member_id, c.payer_claim_number,
        interchange, transaction, segment,
        tuple(LineRow(ln.number, ln.procedure, ":".join(ln.modifiers) or None, ln.revenue_code, ln.charge,
                      str(ln.units), ln.service_date, ln.line_control_number) for ln in c.lines),
        fingerprint)


@dataclass
class RecordResult:
    claims: int = 0
    charges: Decimal = Decimal(0)
    replaced: int = 0
    voided: int = 0
    resubmitted: int = 0  # corrected resubmissions of rejected claims
    standing: int = 0  # claims left out: they already stand in the ledger
    problems: list[Problem] = field(default_factory=list)


class _StandingHere:
    """The (patient control number, payer id) keys a file's claims made stand so far, in 8 to 16 bytes a claim
    (``edi.seen.SeenIds``: a set of the key tuples took about 200 bytes a claim, 200 MB for a million-claim file).
    A void in the file takes its key back (``voided``: voids are few)."""

    __slots__ = ("seen", "voided")

    def __init__(self) -> None:
        self.seen = SeenIds()
        self.voided: set[str] = set()

    def add(self, key: tuple[str, str]) -> None:
        self.add_new(key)

    def discard(self, key: tuple[str, str]) -> None:
        self.voided.add(f"{key[0]}\x1f{key[1]}")

    def __contains__(self, key: tuple[str, str]) -> bool:
        k = f"{key[0]}\x1f{key[1]}"
        return k not in self.voided and k in self.seen

    def add_new(self, key: tuple[str, str]) -> bool:
        """``add(key)`` when ``key not in self``, returning whether it was added: one look-up for the two (the
        recorder asks this of every claim of a file)."""
        k = f"{key[0]}\x1f{key[1]}"
        if k in self.voided:
            self.voided.discard(k)
            self.seen.add(k, None)
            return True
        again, _ = self.seen.add(k, None)
        return not again


class ClaimRecorder:
    """Records claims of one file inside the caller's transaction (batched inserts)."""

    def __init__(self, conn: Connection, *, file_id: int, status: str, now: datetime, file_name: str,
                 writes: Writes | None = None, on_standing: str = "skip") -> None:
        self.conn = conn
        #: where the bulk rows go (see edi.ledger.writes); every other use of the connection goes through
        #: ``self.db``, which waits for the writes queued before
        self.writes = writes if writes is not None else Writes(conn)
        self.file_id = file_id
        self.status = status
        self.now = now
        self.file_name = file_name
        self.journal = Journal(conn, now, self.writes)
        self.result = RecordResult()
        self.transactions: dict[tuple[str | None, str | None], int] = {}
        self.batch: list[ClaimRow] = []
        if on_standing not in ("skip", "refuse"):
            raise ValueError(f"on_standing must be 'skip' or 'refuse', not {on_standing!r}")
        self.on_standing = on_standing
        #: (patient control number, payer id) of the claims this file made stand so far
        self.recorded = _StandingHere()
        #: what a claim read from the file goes through before it is kept (``edi.ledger.writes.nul_keeper``),
        #: looked for at the first one: rows a build gives ``add_row`` hold no control character
        self._keep: Callable[[Claim], Claim] | None | bool = False
        self._kept_nul = False

    @property
    def db(self) -> Connection:
        """The connection, once the writes queued before are done (see edi.ledger.writes)."""
        return self.writes.connection()

    def add(self, claim: Claim) -> None:
        keep = self._keep
        if keep is False:
            keep = self._keep = nul_keeper(self.file_name)
        if keep is not None:
            claim = self.kept(claim, keep(claim))
        self.add_row(claim_row(claim))

    def kept(self, read, kept):
        """``kept`` (``read`` with its NULs kept as \\x00), warning once a file when it differs."""
        if kept is not read and not self._kept_nul:
            self._kept_nul = True
            self.result.problems.append(nul_problem(read, self.file_name))
        return kept

    def add_row(self, row: ClaimRow) -> None:
        self.batch.append(row)
        if len(self.batch) >= BATCH:
            self.flush()

    def add_all(self, items: Iterable[Claim]) -> RecordResult:
        for c in items:
            self.add(c)
        self.flush()
        return self.result

    def add_rows(self, rows: Iterable[ClaimRow]) -> RecordResult:
        for r in rows:
            self.add_row(r)
        self.flush()
        return self.result

    def _transaction_id(self, key: tuple[str | None, str | None]) -> int | None:
        if key == (None, None):
            return None
        tid = self.transactions.get(key)
        if tid is None:
            row = {"file_id": self.file_id, "st01": "837", "interchange": key[0], "control_number": key[1],
                   "claims": 0}
            found = over_limit_dicts(transactions, [row])
            if found is not None:  # before writing: PostgreSQL would refuse it, SQLite keep it (edi.ledger.lengths)
                raise too_long(transactions, found, row[found[1]], file=self.file_name, segment=None,
                               verb="recorded")
            tid = self.transactions[key] = insert_returning_ids(self.db, transactions, [row])[0]
        return tid

    def flush(self) -> None:
        """Write the waiting claims: claims, then (after any replacement they make) their lines and charge
        entries, each table with one bulk insert of rows already as the driver takes them (money in cents)."""
        batch, self.batch = self.batch, []
        batch, resubmits = self._standing(batch)
        # a claim that follows a void of its own number and payer is written after the void has withdrawn the
        # claim it voids (else both would stand for a moment, and the database refuses that)
        start, voided = 0, set()
        for i, c in enumerate(batch):
            key = (c.patient_control_number, c.payer_id or "")
            if c.frequency == "8":
                voided.add(key)
            elif c.frequency != "7" and key in voided:
                self._write(batch[start:i], resubmits)
                start, voided = i, set()
        self._write(batch[start:], resubmits)

    def _write(self, batch: list[ClaimRow], resubmits: dict[tuple[str, str], int]) -> None:
        if not batch:
            return
        conn = self.conn
        status, file_id = self.status, self.file_id
        day = _remembered(value_writer(conn, claims.c.service_date))
        now = value_writer(conn, claims.c.created_at)(self.now)
        tid = self._transaction_id
        ids = self.writes.ids(claims, len(batch))
        claim_rows = [
            (claim_id, c.patient_control_number, c.kind, c.payer_id, c.payer_name, c.frequency, cents(c.charge),
             day(c.service_date), c.billing_npi, c.member_id, c.payer_claim_number,
             "voided" if c.frequency == "8" else status, file_id, tid((c.interchange, c.transaction)), c.segment,
             None, now, c.fingerprint)
            for claim_id, c in zip(ids, batch, strict=True)]
        segments = {c[0]: c[14] for c in claim_rows}
        self._fits(claims, CLAIM_COLUMNS, claim_rows, segments)
        self.writes.copy(claims, CLAIM_COLUMNS, claim_rows)
        line_rows = []
        add_line = line_rows.append
        journal, result = self.journal, self.result
        for claim_id, c in zip(ids, batch, strict=True):
            for ln in c.lines:
                add_line((claim_id, ln.line_number, ln.procedure, ln.modifiers, ln.revenue_code, cents(ln.charge),
                          ln.units, day(ln.service_date), ln.line_control_number))
            if c.frequency in ("7", "8"):
                journal.flush()  # the original's charge may be waiting in this very batch
                self._replace(claim_id, c)
            elif resubmits:
                rejected = resubmits.get((c.patient_control_number, c.payer_id or ""))
                if rejected is not None:
                    journal.flush()
                    self._withdraw(rejected, claim_id, "replaced", f"rejected claim resubmitted as claim "
                                   f"{c.patient_control_number} (corrected)")
                    result.resubmitted += 1
            if c.frequency != "8":
                e = Entry("charge", claim_id=claim_id, file_id=file_id, memo="claim recorded")
                e.move("insurance_ar", "gross_charges", c.charge, claim_id=claim_id)
                journal.add(e)
                result.charges += c.charge
                if c.left_open is not None:
                    journal.add(_prior_payer(claim_id, file_id, c.charge, c.left_open))
            result.claims += 1
        self._fits(claim_lines, LINE_COLUMNS, line_rows, segments)
        self.writes.copy(claim_lines, LINE_COLUMNS, line_rows)
        journal.flush()

    def _fits(self, table, columns: tuple[str, ...], rows: list[tuple], segments: dict[int, int | None]) -> None:
        """Refuse the file when a value is longer than its column (rows start with a claim id, the key of
        ``segments``): checked before writing, as PostgreSQL would refuse it and SQLite keep it."""
        found = over_limit(table, columns, rows)
        if found is not None:
            row = rows[found[0]]
            raise too_long(table, found, row[columns.index(found[1])], file=self.file_name,
                           segment=segments.get(row[0]), verb="recorded")

    def _replace(self, claim_id: int, c: ClaimRow) -> None:
        """Mark the claim that ``c`` (frequency 7 or 8) replaces, and negate its charge: the claim that stands
        with its number for its payer when one does (so that a replacement, which stands from now on, never
        stands beside it: one claim, one bill), else the newest claim not withdrawn that it names by number
        and payer or by payer claim number (REF*F8: a rejected claim, or one sent under another number)."""
        # the claim of this number *for this payer* (another payer's claim of the same number is another bill)
        same = and_(claims.c.patient_control_number == c.patient_control_number,
                    func.coalesce(claims.c.payer_id, literal_column("''")) == (c.payer_id or ""))
        conds = [same]
        if c.payer_claim_number:
            icn = c.payer_claim_number
            paid_claims = select(claim_payments.c.claim_id).where(claim_payments.c.payer_claim_number == icn)
            conds += [claims.c.payer_claim_number == icn, claims.c.id.in_(paid_claims)]
        db = self.db  # the claims and entries written so far included
        before = claims.c.id < claim_id  # only a claim recorded before it
        original = db.execute(
            select(claims.c.id).where(same, before, claims.c.status.notin_(NOT_STANDING_STATUSES))
            .order_by(claims.c.id.desc()).limit(1)).scalar()
        if original is None:
            original = db.execute(
                select(claims.c.id).where(or_(*conds), before, claims.c.status.notin_(WITHDRAWN_STATUSES))
                .order_by(claims.c.id.desc()).limit(1)).scalar()
        what = "voided" if c.frequency == "8" else "replaced"
        verb = "voids" if c.frequency == "8" else "replaces"
        if original is None:
            self.result.problems.append(Problem(
                "ledger.claim.original_unknown",
                f"claim {c.patient_control_number} ({verb}, frequency {c.frequency}) names a claim this "
                "ledger does not hold; recorded on its own", WARNING,
                Where(file=self.file_name, segment=c.segment, tag="CLM",
                      record=c.patient_control_number)))
            return
        self._withdraw(original, claim_id, what, f"charge withdrawn: {what} by claim {c.patient_control_number}")
        if c.frequency == "8":
            self.result.voided += 1
        else:
            self.result.replaced += 1


    def _withdraw(self, original: int, claim_id: int, what: str, memo: str) -> None:
        """Mark claim ``original`` ``what`` (replaced or voided) by claim ``claim_id`` and negate its charge."""
        db = self.db
        db.execute(update(claims).where(claims.c.id == original).values(status=what))
        db.execute(update(claims).where(claims.c.id == claim_id).values(replaces_id=original))
        charge_entry = db.execute(
            select(journal_entries.c.id).where(and_(journal_entries.c.claim_id == original,
                                                    journal_entries.c.kind == "charge"))).scalar()
        if charge_entry is not None:
            rows = db.execute(select(postings).where(postings.c.entry_id == charge_entry)).mappings().all()
            e = Entry(what, claim_id=original, file_id=self.file_id, reverses_id=charge_entry, memo=memo)
            for p in rows:
                e.post(p["account"], -p["amount"], claim_id=p["claim_id"], line_id=p["line_id"])
            self.journal.add(e)

    def _standing(self, batch: list[ClaimRow]) -> tuple[list[ClaimRow], dict[tuple[str, str], int]]:
        """The claims of ``batch`` to record, and the rejected claims that its resubmissions replace ((number,
        payer id) of the resubmission -> the rejected claim's id). A claim that is not a correction (frequency
        other than 7 and 8) whose number and payer already stand, in the ledger or earlier in this file (a
        replacement included), is left out with a problem (``on_standing`` = skip) or refuses the file
        (``refuse``: raises ``StandingClaims``). A resubmission replaces the newest rejected claim with its
        number for the same payer, else one rejected by another payer for which nothing stands with that number
        (a claim sent to the wrong payer, sent again to the right one)."""
        keys = {(c.patient_control_number, c.payer_id or "") for c in batch if c.frequency not in CORRECTIONS}
        standing: dict[tuple[str, str], tuple] = {}
        rejected: dict[str, list] = {}  # number -> rejected claims, oldest first
        # committed claims only (this file's own are in self.recorded): on PostgreSQL a second connection, so that
        # the check need not wait for this file's queued writes
        reads = self.writes.reader()
        pcns = sorted({k[0] for k in keys})
        for k in range(0, len(pcns), 900):  # SQLite allows 999 parameters a statement
            for row in reads.execute(
                    select(claims.c.id, claims.c.patient_control_number, claims.c.payer_id, claims.c.status,
                           claims.c.created_at, files.c.name.label("file_name"))
                    .outerjoin(files, files.c.id == claims.c.file_id)
                    .where(claims.c.patient_control_number.in_(pcns[k:k + 900]),
                           claims.c.status.notin_(WITHDRAWN_STATUSES)).order_by(claims.c.id)):
                if row.status in NOT_STANDING_STATUSES:
                    rejected.setdefault(row.patient_control_number, []).append(row)
                else:
                    standing[(row.patient_control_number, row.payer_id or "")] = row
        keep: list[ClaimRow] = []
        refused: list[Problem] = []
        resubmits: dict[tuple[str, str], int] = {}
        taken: set[int] = set()
        for c in batch:
            key = (c.patient_control_number, c.payer_id or "")
            if c.frequency in CORRECTIONS:
                if c.frequency == "7":  # a replacement stands from now on
                    self.recorded.add(key)
                else:  # a void: nothing stands with this number and payer after it
                    standing.pop(key, None)
                    self.recorded.discard(key)
                keep.append(c)
                continue
            earlier = standing.get(key)
            if earlier is not None or not self.recorded.add_new(key):
                if earlier is not None:
                    told = (f"recorded from {earlier.file_name or 'a build'} on {earlier.created_at:%Y-%m-%d %H:%M}, "
                            f"status {earlier.status}")
                else:
                    told = "earlier in this file"
                message = (f"claim {c.patient_control_number} to payer {c.payer_id or c.payer_name} already stands "
                           f"({told}): not billed again")
                where = Where(file=self.file_name, segment=c.segment, tag="CLM", record=c.patient_control_number)
                refused.append(Problem("ledger.claim.standing", message,
                                       ERROR if self.on_standing == "refuse" else WARNING, where))
                continue
            keep.append(c)  # (add_new recorded it as standing)
            candidates = [r for r in rejected.get(c.patient_control_number, ()) if r.id not in taken]
            same = [r for r in candidates if (r.payer_id or "") == key[1]]
            moved = [r for r in candidates if (r.payer_id or "") != key[1]
                     and (c.patient_control_number, r.payer_id or "") not in standing
                     and (c.patient_control_number, r.payer_id or "") not in self.recorded]
            pick = (same or moved)[-1:]
            if pick:
                resubmits[key] = pick[0].id
                taken.add(pick[0].id)
        if refused:
            self.result.problems += refused
            self.result.standing += len(refused)
            if self.on_standing == "refuse":
                raise StandingClaims(refused)
        return keep, resubmits


def _remembered(write: Callable[[date | None], object]) -> Callable[[date | None], object]:
    """``write`` (a date column's ``value_writer``) remembering what it gave for each date: a batch's claims and
    lines hold few distinct dates, and the column's bind processing formats text from scratch for each (the
    result depends on the date alone)."""
    done: dict[date | None, object] = {}

    def remembered(value: date | None) -> object:
        try:
            return done[value]
        except KeyError:
            out = done[value] = write(value)
            return out

    return remembered


def _prior_payer(claim_id: int, file_id: int, charge: Decimal, left_open: Decimal) -> Entry:
    """The entry that makes a claim to the next payer collect what the payer before left open (see the module's
    docstring): OA-23 of the whole charge, insurance A/R down by what is not open, the open part moved from
    patient A/R."""
    e = Entry("prior_payer", claim_id=claim_id, file_id=file_id,
              memo=f"billed to the next payer: the payer before left {left_open} open")
    e.post("other_adjustments", charge, claim_id=claim_id, group="OA", reason="23")
    e.post("insurance_ar", left_open - charge, claim_id=claim_id)
    e.post("patient_ar", -left_open, claim_id=claim_id, group="PR", reason="23")
    return e


class StandingClaims(Exception):
    """Claims that already stand in the ledger, in a file that must be recorded whole or not at all."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} claims already stand in the ledger")
        self.problems = problems
