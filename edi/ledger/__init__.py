"""The ledger: submitted claims, remittances and double-entry postings, in SQLite or PostgreSQL.

    ledger = Ledger()                          # edi.db here, or EDI_DATABASE_URL, or Ledger("postgresql://...")
    ledger.record_837("claims.837")            # claims as submitted: charges posted
    ledger.import_835("era.835")               # payments matched and posted, one database transaction per file
    ledger.claims(status="denied")             # balances, from postings
    ledger.reconcile(); ledger.check()

Every write is one database transaction per file: importing the same file again changes nothing, the same
payment in another file is refused, and a failure half way leaves the database as it was. This package is
the only one that talks SQL.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from edi.ledger import views
from edi.ledger.acks import AckResult
from edi.ledger.db import (
    LedgerError,
    ensure_schema,
    make_engine,
    migrate,
    refresh_statistics,
    resolve_url,
    transaction,
)
from edi.ledger.journal import Entry, Journal, insert_returning_ids
from edi.ledger.lengths import ValueTooLong
from edi.ledger.post import DuplicatePayment, InjectedFailure, PayerMatching, PostResult, RemittancePoster
from edi.ledger.record import ClaimRecorder, ClaimRow, LineRow, RecordResult, StandingClaims, claim_row
from edi.ledger.schema import (
    NOT_STANDING_STATUSES,
    WITHDRAWN_STATUSES,
    claims,
    control_numbers,
    files,
    inbox_files,
    postings,
    submissions,
)
from edi.ledger.writes import BackgroundWrites, Writes
from edi.problems import ERROR, Problem, Where

#: ``ClaimRow``, ``LineRow`` and ``claim_row`` are what ``Ledger.record_written`` takes: a build makes its rows with
#: them (``mappings.build``) without reaching into the package's modules.
__all__ = ["ClaimRow", "FileResult", "InjectedFailure", "Ledger", "LedgerError", "LineRow", "PayerMatching",
           "RecordedFile", "claim_row"]

#: Problems that do not stop an 835 from being posted: the money arrived; the difference goes to suspense.
NON_BLOCKING = ("835.line.unbalanced", "835.claim.unbalanced", "835.transaction.unbalanced", "x12.se.count",
                "x12.ge.count", "x12.iea.count", "x12.se.control", "x12.ge.control", "x12.iea.control")


@dataclass
class FileResult:
    """What happened to one file: ``imported``, ``already`` (the same file before: nothing changed) or
    ``refused`` (nothing written; ``message`` says why)."""

    file: str
    outcome: str
    message: str
    recorded: RecordResult | None = None
    posted: PostResult | None = None
    acknowledged: AckResult | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome != "refused" and not any(p.is_error for p in self.problems)


@dataclass
class RecordedFile:
    """A file the ledger holds: its row, its claims by status (an 837), and where it was submitted."""

    id: int
    name: str
    kind: str
    path: str | None
    recorded_at: datetime
    statuses: dict[str, int]
    submissions: list[tuple[str, str, datetime, str]]  # (clearinghouse, remote name, when, state)
    sha256: str


class _Refused(Exception):
    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off for a bulk import, as it was afterwards. An 835 import allocates millions of
    short-lived objects, nearly all acyclic (freed by reference counting: a 50,000-claim import leaves a few
    thousand objects in cycles, collected once the collector is back on); its passes over every live object,
    the rows of a just-recorded 837 included, cost about a tenth of the import."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def _bulk_writes(conn: Connection, *, reads: bool = False) -> Iterator[Writes]:
    """Where a file's bulk rows go (see edi.ledger.writes): on PostgreSQL a thread that sends them while this
    one reads and builds the next batch (with a second connection for reads of committed data when ``reads``);
    else straight to ``conn``. On leaving, the writes are done (or, after an error, dropped) and the connection
    is this thread's again."""
    if conn.dialect.name != "postgresql":
        yield Writes(conn)
        return
    writes = BackgroundWrites(conn, read_tables=None if reads else ())
    ok = False
    try:
        yield writes
        ok = True
    finally:
        writes.close(ok)


def _violated(exc: IntegrityError) -> str | None:
    """The name of the constraint a PostgreSQL unique violation names (None when the driver does not say)."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


CENT = Decimal("0.01")
#: The command that records or imports each kind of file (``files.kind``, ``edi.x12.sniff`` kinds).
IMPORTERS = {"837": "edi claims record", "835": "edi remit import", "ack": "edi acks import"}


def _recorded_message(result: RecordResult) -> str:
    said = f"{result.claims} claims recorded, charges {result.charges:.2f}"
    if result.resubmitted:
        said += f"; {result.resubmitted} resubmissions of rejected claims (they replace them)"
    if result.standing:
        said += (f"; {result.standing} claims left out: they already stand in the ledger (not billed again; a "
                 "correction is sent as a replacement, frequency 7)")
    return said


def sha256_of(path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


class Ledger:
    def __init__(self, url: str | None = None, *, schema: str | None = None,
                 clock: Callable[[], datetime] = datetime.now, migrate_on_open: bool = True) -> None:
        self.url = resolve_url(url)
        self.engine = make_engine(url, schema=schema)
        self.clock = clock
        if migrate_on_open:
            ensure_schema(self.engine)

    def init(self) -> None:
        """Create or upgrade the schema (the migrations are also applied on first use)."""
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- files ----------------------------------------------------------------------------------------------

    def _known(self, conn: Connection, sha: str):
        return conn.execute(select(files.c.id, files.c.name, files.c.imported_at, files.c.kind)
                            .where(files.c.sha256 == sha)).first()

    def _file_row(self, conn: Connection, path: str, sha: str, size: int, kind: str) -> int:
        where = None if path == "-" else os.path.abspath(path)
        return insert_returning_ids(conn, files, [{"sha256": sha, "kind": kind, "name": Path(path).name,
                                                   "size": size, "imported_at": self.clock(), "path": where}])[0]

    @staticmethod
    def _wrong_kind(path: str, kind: str) -> FileResult | None:
        """A refusal when the file plainly holds another transaction than ``kind`` (an 835 given to `claims
        record`), from its first segments; None when it holds ``kind`` or nothing X12 (the reader says why)."""
        from edi.x12.sniff import KIND_WORDS, sniff

        what = sniff(path).kind
        if what is None or what == kind:
            return None
        message = (f"{Path(path).name} holds {KIND_WORDS[what]}, not {KIND_WORDS[kind]}: nothing changed"
                   + (f" ({IMPORTERS[what]} takes it)" if what in IMPORTERS else ""))
        return FileResult(path, "refused", message,
                          problems=[Problem("ledger.file.kind", message, ERROR, Where(file=path))])

    def _run_file(self, path: str, kind: str, work: Callable[[Connection, int], FileResult],
                  digest: tuple[str, int] | None = None) -> FileResult:
        if digest is None and (wrong := self._wrong_kind(path, kind)) is not None:
            return wrong
        sha, size = digest or sha256_of(path)
        with self.engine.connect() as conn:
            known = self._known(conn, sha)
        if known is not None and known.kind != kind:
            from edi.x12.sniff import KIND_WORDS

            message = (f"{Path(path).name} is the file recorded on {known.imported_at:%Y-%m-%d %H:%M} (as "
                       f"{known.name}) as {KIND_WORDS.get(known.kind, known.kind)}, not {KIND_WORDS[kind]}: "
                       "nothing changed")
            return FileResult(path, "refused", message, problems=[Problem("ledger.file.kind", message, ERROR,
                                                                          Where(file=path))])
        if known is not None:
            done = {"835": "posted", "ack": "imported"}.get(kind, "recorded")
            return FileResult(path, "already", f"{Path(path).name} was already {done} on "
                              f"{known.imported_at:%Y-%m-%d %H:%M} (as {known.name}): nothing changed")

        def unit(conn: Connection) -> FileResult:
            file_id = self._file_row(conn, path, sha, size, kind)
            return work(conn, file_id)

        try:
            try:
                return transaction(self.engine, unit)
            except IntegrityError as exc:
                if _violated(exc) != "claims_standing" and "claims_standing" not in str(exc.orig):
                    raise
                # another process recorded some of these claims at the same moment: run the file again, now
                # that its claims can be seen (they are left out, or the file refused, as on_standing says)
                return transaction(self.engine, unit)
        except IntegrityError as exc:
            with self.engine.connect() as conn:
                if self._known(conn, sha) is not None:  # another process recorded it at the same moment
                    return FileResult(path, "already", f"{Path(path).name} was recorded by another process at the "
                                      "same time: nothing changed")
            if _violated(exc) == "remittances_payment":  # another process posted the same payment from its file
                message = (f"a payment of {Path(path).name} was posted from another file by another process at the "
                           "same time; nothing from this file was posted")
                return FileResult(path, "refused", message, problems=[Problem(
                    "ledger.payment.duplicate", message, ERROR, Where(file=path))])
            raise LedgerError(f"{path}: the database refused the import: {exc.orig}") from exc
        except _Refused as exc:
            return FileResult(path, "refused", str(exc), problems=exc.problems)
        except StandingClaims as exc:
            return FileResult(path, "refused", f"{Path(path).name}: {len(exc.problems)} of its claims already stand in "
                              "the ledger: nothing was recorded", problems=exc.problems)
        except DuplicatePayment as exc:
            return FileResult(path, "refused", str(exc), problems=[Problem(
                "ledger.payment.duplicate", str(exc), ERROR, Where(file=path))])
        except ValueTooLong as exc:  # found before writing it, on every database alike (edi.ledger.lengths)
            return FileResult(path, "refused", str(exc), problems=exc.problems)

    # -- claims ---------------------------------------------------------------------------------------------

    def record_837(self, path: str, *, status: str = "submitted") -> FileResult:
        """Record the claims of an 837 file (streamed). Refused, with nothing written, when the file has
        errors other than envelope counts."""
        from edi.x837.reader import read_837

        def work(conn: Connection, file_id: int) -> FileResult:
            stream = read_837(path)
            with _bulk_writes(conn, reads=True) as writes:
                recorder = ClaimRecorder(conn, file_id=file_id, status=status, now=self.clock(), file_name=path,
                                         writes=writes)
                result = recorder.add_all(stream)
            blocking = [p for p in stream.problems if p.is_error and p.code not in NON_BLOCKING]
            if blocking:
                raise _Refused(f"{Path(path).name} has {len(blocking)} errors: nothing was recorded",
                               list(stream.problems))
            if result.claims == 0 and not result.standing:
                wrong = next((p.message for p in stream.problems if p.code.startswith("837.transaction")), None)
                raise _Refused(f"{Path(path).name} holds no 837 claim" + (f" ({wrong})" if wrong else "")
                               + ": nothing was recorded", list(stream.problems))
            if result.claims == 0 and result.standing:
                raise _Refused(f"every claim of {Path(path).name} already stands in the ledger ({result.standing} "
                               "claims): nothing was recorded, nothing billed twice",
                               [Problem(p.code, p.message, ERROR, p.where) if p.code == "ledger.claim.standing" else p
                                for p in list(stream.problems) + result.problems])
            self._finish_transactions(conn, recorder, getattr(stream, "transactions", []))
            return FileResult(path, "imported", _recorded_message(result),
                              recorded=result, problems=list(stream.problems) + result.problems)

        return self._run_file(path, "837", work)

    def record_written(self, path: str, rows: Iterable[ClaimRow], transactions: Iterable, *, sha256: str,
                       size: int, status: str = "built", receiver: str | None = None) -> FileResult:
        """Record an 837 this process has just written, from what its writer knew (no second read of the
        file): ``rows`` as ``edi.ledger.record.claim_row`` makes them (in file order, with their positions),
        ``transactions`` the writer's ``WrittenTransaction``-like values (interchange, group, control_number,
        batch_id, version, claim_count), the file's ``sha256`` and ``size`` computed while writing it, and its
        ``receiver`` (ISA08: acknowledgements are matched to the clearinghouse that sends them)."""

        def work(conn: Connection, file_id: int) -> FileResult:
            with _bulk_writes(conn, reads=True) as writes:
                recorder = ClaimRecorder(conn, file_id=file_id, status=status, now=self.clock(), file_name=path,
                                         writes=writes, on_standing="refuse")
                result = recorder.add_rows(rows)
            self._finish_transactions(conn, recorder, transactions, receiver)
            return FileResult(path, "imported", _recorded_message(result), recorded=result, problems=result.problems)

        return self._run_file(path, "837", work, digest=(sha256, size))

    @staticmethod
    def _finish_transactions(conn: Connection, recorder: ClaimRecorder, txs, receiver: str | None = None) -> None:
        from edi.ledger.schema import transactions as tx_table
        from edi.ledger.writes import keep_nul

        for read in txs:
            t = recorder.kept(read, keep_nul(read))  # a NUL in BHT03 or GS06 (PostgreSQL text cannot hold one)
            tid = recorder.transactions.get((t.interchange, t.control_number))
            if tid is not None:
                conn.execute(update(tx_table).where(tx_table.c.id == tid).values(
                    group_control=t.group, batch_id=t.batch_id, version=t.version, claims=t.claim_count,
                    receiver=receiver or getattr(t, "interchange_receiver", None)))

    def billed_checker(self) -> Callable[[str], bool]:
        """Whether a claim number stands in the ledger (not replaced, voided or rejected), for a whole batch: the
        standing claim numbers are read once (one query), so a 100,000-encounter build does not ask 100,000 times."""
        with self.engine.connect() as conn:
            standing = set(conn.execute(select(claims.c.patient_control_number)
                                        .where(claims.c.status.notin_(NOT_STANDING_STATUSES))).scalars())
        return standing.__contains__

    def corrections_checker(self) -> Callable[[str, str, str, Decimal], bool]:
        """Whether a replacement or void (frequency 7 or 8) with this claim number and fingerprint (the sha256 of
        its 837 text, ``claims.fingerprint``) was built before, for a whole batch (one query): building the same
        corrections again would bill them twice, while a new correction of the same claim differs in its text.
        A correction the ledger holds without a fingerprint (recorded from an 837 file, or built before the
        fingerprints) is matched by its charge instead."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(claims.c.patient_control_number, claims.c.frequency, claims.c.fingerprint,
                                       claims.c.charge).where(claims.c.frequency.in_(("7", "8")))).all()
        fingerprints = {(r[0], r[1], r[2]) for r in rows if r[2] is not None}
        charges = {(r[0], r[1], r[3]) for r in rows if r[2] is None}
        cent = Decimal("0.01")

        def already_sent(claim_id: str, frequency: str, fingerprint: str, charge: Decimal) -> bool:
            return (claim_id, frequency, fingerprint) in fingerprints or (
                bool(charges) and (claim_id, frequency, charge.quantize(cent)) in charges)

        return already_sent

    # -- remittances ----------------------------------------------------------------------------------------

    def import_835(self, path: str, *, fail_after: int | None = None,
                   payers: PayerMatching | None = None) -> FileResult:
        """Post an 835 file in one database transaction (see edi.ledger.post). ``payers`` says how the 835's payer
        is matched to the payer each claim was billed to (aliases, and what a claim of another payer gets);
        by default ids must be equal and another payer's claim goes to suspense."""
        from edi.x835.reader import read_remittances

        def work(conn: Connection, file_id: int) -> FileResult:
            reader = read_remittances(path)
            with _bulk_writes(conn, reads=True) as writes:
                poster = RemittancePoster(conn, file_id=file_id, file_name=path, now=self.clock(),
                                          fail_after=fail_after, writes=writes, payers=payers)
                for item in reader:
                    poster.add(item)
            blocking = [p for p in reader.problems if p.is_error and p.code not in NON_BLOCKING]
            if blocking:
                raise _Refused(f"{Path(path).name} has {len(blocking)} errors: nothing was posted", reader.problems)
            if poster.result.remittances == 0:
                raise _Refused(f"{Path(path).name} holds no 835 payment: nothing was posted", reader.problems)
            r = poster.result
            return FileResult(path, "imported", f"{r.remittances} payments, {r.claim_payments} claim payments "
                              f"({r.matched} matched, {r.reversals} reversals, {r.suspense} to suspense), "
                              f"paid {r.paid:.2f}",
                              posted=r, problems=reader.problems + r.problems)

        refresh_statistics(self.engine, ("claims", "claim_lines", "claim_payments"))
        with gc_paused():
            return self._run_file(path, "835", work)

    # -- acknowledgements -----------------------------------------------------------------------------------

    def import_acks(self, path: str) -> FileResult:
        """Import a TA1, 999 or 277CA file (any mix) in one database transaction (see edi.ledger.acks): each
        acknowledgement linked to what it acknowledges, claims accepted or rejected. A file that holds no
        acknowledgement is refused."""
        from edi.acks.reader import read_acks
        from edi.ledger.acks import AckImporter

        def work(conn: Connection, file_id: int) -> FileResult:
            reader = read_acks(path)
            importer = AckImporter(conn, file_id=file_id, file_name=path, now=self.clock())
            for item in reader:
                importer.add(item)
            result = importer.finish()
            if result.items == 0:
                wrong = [p for p in reader.problems if p.code == "ack.transaction.unexpected"]
                said = f"{Path(path).name} holds no TA1, 999 or 277CA acknowledgement"
                if wrong:
                    said += f" ({wrong[0].message})"
                raise _Refused(f"{said}: nothing was imported", reader.problems)
            return FileResult(path, "imported", result.message(), acknowledged=result,
                              problems=reader.problems + result.problems)

        return self._run_file(path, "ack", work)

    # -- submissions and inboxes ----------------------------------------------------------------------------

    def recorded_file(self, sha256: str) -> RecordedFile | None:
        """What the ledger holds of the file with this content: its row, its claims by status, its submissions."""
        with self.engine.connect() as conn:
            row = conn.execute(select(files.c.id, files.c.name, files.c.kind, files.c.path, files.c.imported_at,
                                      files.c.sha256).where(files.c.sha256 == sha256)).first()
            if row is None:
                return None
            statuses = dict(conn.execute(select(claims.c.status, func.count()).where(claims.c.file_id == row.id)
                                         .group_by(claims.c.status)).all())
            sent = conn.execute(select(submissions.c.clearinghouse, submissions.c.remote_name,
                                       submissions.c.submitted_at, submissions.c.state)
                                .where(submissions.c.file_id == row.id).order_by(submissions.c.id)).all()
        return RecordedFile(row.id, row.name, row.kind, row.path, row.imported_at, statuses,
                            [(s.clearinghouse, s.remote_name, s.submitted_at, s.state) for s in sent], row.sha256)

    def unsubmitted_files(self) -> list[RecordedFile]:
        """The 837 files edi built whose claims wait to be sent (status built) and that were never sent (an
        upload that was not confirmed included: the caller says so), oldest first."""
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(files.c.sha256).where(
                    files.c.kind == "837",
                    files.c.id.in_(select(claims.c.file_id).where(claims.c.status == "built")),
                    files.c.id.notin_(select(submissions.c.file_id).where(submissions.c.state == "sent")))
                .order_by(files.c.id)).scalars().all()
        return [f for sha in ids if (f := self.recorded_file(sha)) is not None]

    def begin_submission(self, file_id: int, *, clearinghouse: str, remote_name: str, sha256: str, size: int,
                         forced: bool = False) -> int | None:
        """Record, before its upload, that a recorded 837 is being sent (state ``sending``); its id, or None when
        the file was submitted before, or is being submitted by another process, and ``forced`` is false (the
        database decides: ``submissions_once``)."""
        try:
            return transaction(self.engine, lambda conn: insert_returning_ids(conn, submissions, [{
                "file_id": file_id, "clearinghouse": clearinghouse, "remote_name": remote_name, "sha256": sha256,
                "size": size, "forced": forced, "state": "sending", "submitted_at": self.clock()}])[0])
        except IntegrityError:
            return None

    def finish_submission(self, submission_id: int) -> int:
        """The upload of ``begin_submission``'s file is in the outbox: the submission is ``sent``, and the file's
        claims still waiting (built) become submitted. Returns how many."""

        def unit(conn: Connection) -> int:
            file_id = conn.execute(update(submissions).where(submissions.c.id == submission_id)
                                   .values(state="sent", submitted_at=self.clock())
                                   .returning(submissions.c.file_id)).scalar_one()
            return conn.execute(update(claims).where(claims.c.file_id == file_id, claims.c.status == "built")
                                .values(status="submitted")).rowcount or 0

        return transaction(self.engine, unit)

    def drop_submission(self, submission_id: int) -> None:
        """The upload of ``begin_submission``'s file certainly did not happen: forget the attempt."""
        transaction(self.engine, lambda conn: conn.execute(
            submissions.delete().where(submissions.c.id == submission_id, submissions.c.state == "sending")))

    def inbox_seen(self, clearinghouse: str, remote_name: str, size: int, mtime: int | None):
        """The last record of a file of this name, size and time in this clearinghouse's inbox, or None."""
        with self.engine.connect() as conn:
            return conn.execute(select(inbox_files).where(
                inbox_files.c.clearinghouse == clearinghouse, inbox_files.c.remote_name == remote_name,
                inbox_files.c.size == size,
                inbox_files.c.mtime.is_(None) if mtime is None else inbox_files.c.mtime == mtime)
                .order_by(inbox_files.c.id.desc()).limit(1)).mappings().first()

    def inbox_content_seen(self, clearinghouse: str, sha256: str):
        """The last record of a file with this content fetched from this clearinghouse (not a failed download),
        or None."""
        with self.engine.connect() as conn:
            return conn.execute(select(inbox_files).where(
                inbox_files.c.clearinghouse == clearinghouse, inbox_files.c.sha256 == sha256,
                inbox_files.c.outcome != "failed").order_by(inbox_files.c.id.desc()).limit(1)).mappings().first()

    def record_inbox_file(self, **values) -> int:
        """Record a file seen in an inbox (see schema.inbox_files); returns its id."""
        values.setdefault("fetched_at", self.clock())
        if values.get("sha256") and values.get("file_id") is None:
            with self.engine.connect() as conn:
                values["file_id"] = conn.execute(select(files.c.id).where(files.c.sha256 == values["sha256"])
                                                 ).scalar()
        return transaction(self.engine, lambda conn: insert_returning_ids(conn, inbox_files, [values])[0])

    def mark_inbox_removed(self, inbox_id: int) -> None:
        transaction(self.engine, lambda conn: conn.execute(
            update(inbox_files).where(inbox_files.c.id == inbox_id).values(removed=True)))

    # -- write-offs -----------------------------------------------------------------------------------------

    def write_off(self, pcn: str, reason: str, amount: Decimal | None = None) -> tuple[Decimal, Decimal]:
        """Write off ``amount`` (default: all) of a claim's open insurance balance. Returns (written off,
        balance left). Raises LedgerError when there is no such claim or nothing to write off."""
        if not reason.strip():
            raise LedgerError("a write-off needs a reason")
        if amount is not None and (not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT)):
            raise LedgerError(f"a write-off is an amount in whole cents, more than 0 (not {amount})")

        def unit(conn: Connection) -> tuple[Decimal, Decimal]:
            claim = conn.execute(select(claims.c.id).where(claims.c.patient_control_number == pcn,
                                                           claims.c.status.notin_(WITHDRAWN_STATUSES))
                                 .order_by(claims.c.id.desc()).limit(1).with_for_update()).first()
            if claim is None:
                raise LedgerError(f"no claim {pcn} in the ledger")
            balance = conn.execute(select(func.sum(postings.c.amount))
                                   .where(postings.c.claim_id == claim.id, postings.c.account == "insurance_ar")
                                   ).scalar() or Decimal("0.00")
            w = balance if amount is None else amount
            if w <= 0:
                raise LedgerError(f"claim {pcn} has no open insurance balance to write off ({balance})"
                                  if amount is None else "the amount to write off must be positive")
            if w > balance:
                raise LedgerError(f"claim {pcn}: {w} is more than its open insurance balance {balance}")
            e = Entry("writeoff", claim_id=claim.id, memo=reason.strip())
            e.move("write_offs", "insurance_ar", w, claim_id=claim.id)
            j = Journal(conn, self.clock())
            j.add(e)
            j.flush()
            return w, balance - w

        return transaction(self.engine, unit)

    # -- views ----------------------------------------------------------------------------------------------

    def claims(self, *, status: str | None = None, payer: str | None = None,
               older_than: int | None = None) -> list[views.ClaimBalance]:
        """Claims with their balances; ``older_than`` days keeps those recorded at least that long ago."""
        before = None
        if older_than is not None:
            from datetime import timedelta

            before = self.clock() - timedelta(days=older_than)
        with self.engine.connect() as conn:
            return views.claim_balances(conn, status=status, payer=payer, recorded_before=before)

    def iter_claims(self, *, status: str | None = None, payer: str | None = None, older_than: int | None = None,
                    limit: int | None = None) -> Iterator[views.ClaimBalance]:
        """Like :meth:`claims`, streamed a page at a time (the connection is held until the iteration ends)."""
        before = None
        if older_than is not None:
            from datetime import timedelta

            before = self.clock() - timedelta(days=older_than)
        with self.engine.connect() as conn:
            yield from views.iter_claims(conn, status=status, payer=payer, recorded_before=before, limit=limit)

    def claim(self, pcn: str) -> dict | None:
        with self.engine.connect() as conn:
            return views.claim_story(conn, pcn)

    # -- the claim to the next payer (coordination of benefits: edi.ledger.cob) --------------------------------

    def primary_adjudication(self, pcn: str, payer_id: str | None = None, **coverage):
        """How the payer claim ``pcn`` was billed to adjudicated it, as the claim to the next payer carries it
        (``edi.ledger.cob.primary_adjudication``; ``coverage``: that payer's ``payer``, ``subscriber``,
        ``relationship``, ``responsibility`` and more ``OtherPayer`` fields)."""
        from edi.ledger import cob

        with self.engine.connect() as conn:
            return cob.primary_adjudication(conn, patient_control_number=pcn, payer_id=payer_id, **coverage)

    def left_open(self, pcn: str, payer_id: str | None = None) -> Decimal | None:
        """What that payer left open for the next payer (its PR adjustments); None when it has not adjudicated
        the claim (``edi.ledger.cob.left_open``)."""
        from edi.ledger import cob

        with self.engine.connect() as conn:
            return cob.left_open(conn, patient_control_number=pcn, payer_id=payer_id)

    def billed_claims(self, pcns: Iterable[str] | None = None) -> list[views.BilledClaim]:
        """The newest standing claim of each number (None: of every number a payer's 835 adjudicated), with its
        837 file and the payers it stands for (``views.billed_claims``)."""
        with self.engine.connect() as conn:
            return views.billed_claims(conn, None if pcns is None else list(pcns))

    def reconcile(self) -> dict:
        with self.engine.connect() as conn:
            return views.reconcile(conn)

    def check(self) -> list[Problem]:
        with self.engine.connect() as conn:
            return views.check(conn)

    # -- reports (edi.ledger.reports) and deposits (edi.ledger.deposits) --------------------------------------

    def aging(self, *, as_of=None, basis: str = "service"):
        """Open insurance and patient A/R per payer in aging buckets, as of a date (default: the clock's day)."""
        from edi.ledger import reports

        with self.engine.connect() as conn:
            return reports.aging(conn, as_of=as_of or self.clock().date(), basis=basis)

    def aging_claims(self, *, as_of=None, basis: str = "service"):
        """Each open claim in its aging bucket (a generator: the rows are read as they are used)."""
        from edi.ledger import reports

        with self.engine.connect() as conn:
            yield from reports.aging_claims(conn, as_of=as_of or self.clock().date(), basis=basis)

    def denials(self, *, as_of=None, since=None, appeal_days=None):
        """The denial work list, oldest first (a generator); ``appeal_days`` maps payer ids to days to appeal."""
        from edi.ledger import reports

        with self.engine.connect() as conn:
            yield from reports.denials(conn, as_of=as_of or self.clock().date(), since=since,
                                       appeal_days=appeal_days)

    def denial_summary(self, *, since=None):
        """The denials by reason and by payer."""
        from edi.ledger import reports

        with self.engine.connect() as conn:
            return reports.denial_summary(conn, since=since)

    def variance(self, fees, payer_keys, problems: list[Problem]):
        """Every paid line against the fee schedule ``fees`` (a generator); ``payer_keys`` maps payer ids to
        edi.toml keys; ``problems`` collects the posted 835s that cannot be read again."""
        from edi.ledger import reports

        with self.engine.connect() as conn:
            yield from reports.variance_lines(conn, fees, payer_keys, problems)

    def remittance_files(self, problems: list[Problem]) -> list[str]:
        """The paths of the 835 files this ledger posted that are still where they were posted from, with the same
        content (oldest first); ``problems`` collects the others."""
        from edi.ledger import reports

        with self.engine.connect() as conn:
            return [path for _, path in reports.posted_remittance_files(conn, problems)]

    def import_deposits(self, path: str, layout=None):
        """Import a bank export's deposits (the same rows again add nothing) and match the payments waiting for
        them, in one transaction. Raises OSError or edi.ledger.deposits.DepositFileError (nothing imported)."""
        from edi.ledger import deposits

        rows, skipped = deposits.read_bank_csv(path, layout or deposits.BankLayout())

        def unit(conn: Connection):
            added, already = deposits.import_deposits(conn, rows, source=Path(path).name, now=self.clock())
            matched = deposits.match_deposits(conn, now=self.clock())
            return deposits.DepositImport(path, added, already, skipped, tuple(matched))

        return self._deposit_unit(unit)

    def match_deposits(self):
        """Match the payments and deposits still open (after new 835s); returns the new matches."""
        from edi.ledger import deposits

        return self._deposit_unit(lambda conn: deposits.match_deposits(conn, now=self.clock()))

    def _deposit_unit(self, unit):
        try:
            return transaction(self.engine, unit)
        except IntegrityError:  # another process matched or imported the same rows at the same moment: again
            return transaction(self.engine, unit)

    def deposits(self):
        """Payments matched to deposits, payments with no deposit, deposits with no 835, mismatches."""
        from edi.ledger import deposits

        with self.engine.connect() as conn:
            return deposits.deposit_report(conn)

    # -- control numbers ------------------------------------------------------------------------------------

    def control_numbers(self, scope: str) -> LedgerControlNumbers:
        return LedgerControlNumbers(self, scope)


class LedgerControlNumbers:
    """ISA13 / GS06 / ST02 numbers that never repeat for a receiver across runs (see InterchangeWriter)."""

    def __init__(self, ledger: Ledger, scope: str) -> None:
        self.ledger = ledger
        self.scope = scope

    def next(self, kind: str) -> int:
        def unit(conn: Connection) -> int:
            row = conn.execute(select(control_numbers.c.last).where(control_numbers.c.kind == kind,
                                                                    control_numbers.c.scope == self.scope)
                               .with_for_update()).first()
            if row is None:
                try:  # the first number for this receiver; another process may insert it at the same moment
                    with conn.begin_nested():
                        conn.execute(control_numbers.insert().values(kind=kind, scope=self.scope, last=1))
                    return 1
                except IntegrityError:
                    row = conn.execute(select(control_numbers.c.last).where(
                        control_numbers.c.kind == kind, control_numbers.c.scope == self.scope)
                        .with_for_update()).one()
            n = row.last + 1
            conn.execute(update(control_numbers).where(control_numbers.c.kind == kind,
                                                       control_numbers.c.scope == self.scope).values(last=n))
            return n

        return transaction(self.ledger.engine, unit)
