"""Journal entries and postings, written in batches. ``Journal`` collects entries (each a list of postings that
must sum to zero) and flushes them with one bulk insert per table; nothing is updated, ever."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from itertools import chain
from operator import itemgetter

from sqlalchemy import text
from sqlalchemy.engine import Connection

from edi.ledger.db import driver
from edi.ledger.schema import cents, journal_entries, postings

ZERO = Decimal(0)

#: The columns of a posting as ``Entry.postings`` holds them (one tuple per posting), before ``entry_id``.
POSTING_COLUMNS = ("account", "amount", "claim_id", "line_id", "group_code", "reason")
_amount = itemgetter(1)  # a posting's amount
ENTRY_COLUMNS = ("id", "kind", "claim_id", "remittance_id", "claim_payment_id", "file_id", "reverses_id", "memo",
                 "created_at")


class UnbalancedEntry(ValueError):
    """A journal entry whose postings do not sum to zero: a bug, never written."""


@dataclass
class Entry:
    kind: str
    claim_id: int | None = None
    remittance_id: int | None = None
    claim_payment_id: int | None = None
    file_id: int | None = None
    reverses_id: int | None = None
    memo: str | None = None
    #: (account, amount, claim_id, line_id, group_code, reason), one tuple per posting (POSTING_COLUMNS)
    postings: list[tuple] = field(default_factory=list)

    def post(self, account: str, amount: Decimal, *, claim_id: int | None = None, line_id: int | None = None,
             group: str | None = None, reason: str | None = None) -> None:
        if amount:
            self.postings.append((account, amount, claim_id, line_id, group, reason))

    def move(self, debit: str, credit: str, amount: Decimal, *, claim_id: int | None = None,
             line_id: int | None = None, group: str | None = None, reason: str | None = None) -> None:
        """Debit one account and credit another by ``amount``, both postings with these ``claim_id``, ``line_id``,
        ``group`` and ``reason``: what two ``post`` calls make (nothing for a zero amount), made at once (a build
        records one such entry per claim)."""
        if amount:
            self.postings += ((debit, amount, claim_id, line_id, group, reason),
                              (credit, -amount, claim_id, line_id, group, reason))

    def total(self) -> Decimal:
        return sum(map(_amount, self.postings), ZERO)


class Journal:
    """Entries waiting to be written. ``flush`` writes them all, entries then postings: through ``writes``
    when given (an ``edi.ledger.writes.Writes``, which may send them from a thread of its own), else at once
    on ``conn``."""

    def __init__(self, conn: Connection, now: datetime, writes=None) -> None:
        self.conn = conn
        self.now = now
        self.pending: list[Entry] = []
        self._ids = writes.ids if writes is not None else partial(allocate_ids, conn)
        self._copy = writes.copy if writes is not None else partial(copy_rows, conn)

    def add(self, entry: Entry) -> Entry:
        if entry.total() != ZERO:
            raise UnbalancedEntry(f"{entry.kind} entry does not balance: {entry.total()}")
        if entry.postings:
            self.pending.append(entry)
        return entry

    def flush(self) -> list[int]:
        """Write the pending entries; returns their ids in order."""
        pending = self.pending
        if not pending:
            return []
        ids = self._ids(journal_entries, len(pending))
        now = value_writer(self.conn, journal_entries.c.created_at)(self.now)
        self._copy(journal_entries, ENTRY_COLUMNS, [
            (i, e.kind, e.claim_id, e.remittance_id, e.claim_payment_id, e.file_id, e.reverses_id, e.memo, now)
            for i, e in zip(ids, pending, strict=True)])
        self._copy(postings, POSTING_COLUMNS + ("entry_id",), [
            (account, cents(amount), claim_id, line_id, group, reason, entry_id)
            for entry_id, e in zip(ids, pending, strict=True)
            for account, amount, claim_id, line_id, group, reason in e.postings])
        self.pending = []
        return ids


def bind_processor(column, dialect):
    """What SQLAlchemy does to a value for ``column`` before handing it to the driver (None: nothing), as the
    dialect's own type does it: ISO text for dates and times on SQLite (the generic type's processor is None
    there, and the raw value would reach sqlite3's default adapters, deprecated since Python 3.12)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def value_writer(conn: Connection, column):
    """``f(value)``: a value as the driver is handed it for ``column`` (the column type's bind processing; None
    stays None), made once for a column's many rows."""
    proc = bind_processor(column, conn.dialect)
    if proc is None:
        return _same
    return lambda value: None if value is None else proc(value)


def _same(value):
    return value


#: Most parameters one SQLite statement takes (SQLITE_MAX_VARIABLE_NUMBER before SQLite 3.32, 32766 since), and
#: most rows in one VALUES list (a compound SELECT's limit before SQLite 3.8.8).
SQLITE_PARAMETERS = 999
SQLITE_VALUES_ROWS = 500


def copy_rows(conn: Connection, table, columns: tuple[str, ...] | list[str], rows: list[tuple]) -> None:
    """Insert rows that already hold the values as the driver is handed them (money as integer cents, see
    ``schema.cents``; dates and times through ``value_writer``), inside the caller's transaction: PostgreSQL's COPY,
    or on SQLite ``INSERT ... VALUES`` of many rows a statement (as many as ``SQLITE_PARAMETERS`` allows): one
    statement keeps the table's and its indexes' cursors open from row to row, where executemany, one statement
    a row, opened and positioned them again for each (recording a build's claims spent about a third less time
    in SQLite). A statement that fails inserts none of its rows; the caller's transaction is rolled back either
    way. The rows left over (fewer than a statement takes) go one a statement, so that each table has two
    statements, which the driver prepares once and keeps."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        statement = f"COPY {table.name} ({names}) FROM STDIN"
        with driver(conn, statement) as raw, raw.cursor() as cur, cur.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    else:
        row_marks = f"({', '.join('?' * len(columns))})"
        insert = f"INSERT INTO {table.name} ({names}) VALUES "
        per = max(1, min(SQLITE_VALUES_ROWS, SQLITE_PARAMETERS // len(columns)))
        whole = len(rows) - len(rows) % per
        if whole:
            statement = insert + ", ".join([row_marks] * per)
            for start in range(0, whole, per):
                conn.exec_driver_sql(statement, tuple(chain.from_iterable(rows[start:start + per])))
        if whole < len(rows):  # the rest one row a statement: one statement per table for the driver to keep
            conn.exec_driver_sql(insert + row_marks, rows[whole:])


def bulk_insert(conn: Connection, table, rows: list[dict]) -> None:
    """Insert many rows fast, inside the caller's transaction: PostgreSQL's COPY, or SQLite's executemany on
    the driver. Values go through each column's own bind processing (money to cents, dates to text on
    SQLite), so the rows read back exactly as SQLAlchemy would have written them. Every row must have the
    keys of the first."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    procs = [(i, p) for i, c in enumerate(columns) if (p := bind_processor(table.c[c], dialect)) is not None]
    get = itemgetter(*columns) if len(columns) > 1 else (lambda r: (r[columns[0]],))
    if procs:
        data = []
        for r in rows:
            values = list(get(r))
            for i, p in procs:
                values[i] = p(values[i])
            data.append(tuple(values))
    else:
        data = [get(r) for r in rows]
    copy_rows(conn, table, columns, data)


def allocate_ids(conn: Connection, table, count: int) -> list[int]:
    """``count`` new primary keys for ``table``: from its sequence on PostgreSQL (safe with concurrent
    writers); on SQLite, after the largest id (edi's SQLite transactions hold the write lock from BEGIN)."""
    if conn.dialect.name == "postgresql":
        # the sequence's name is looked up once per connection and table: pg_get_serial_sequence() for every
        # row cost more than the nextval() itself
        sequences = conn.info.setdefault("edi_sequences", {})
        seq = sequences.get(table.name)
        if seq is None:
            seq = sequences[table.name] = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                                       {"t": table.name}).scalar()
        statement = "SELECT nextval(%s::regclass) FROM generate_series(1, %s)"
        with driver(conn, statement) as raw:
            return [r[0] for r in raw.execute(statement, (seq, count)).fetchall()]
    start = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar()
    return list(range(start + 1, start + 1 + count))


def insert_returning_ids(conn: Connection, table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` and return their new ids, in order."""
    if not rows:
        return []
    ids = allocate_ids(conn, table, len(rows))
    bulk_insert(conn, table, [{"id": i, **r} for i, r in zip(ids, rows, strict=True)])
    return ids
