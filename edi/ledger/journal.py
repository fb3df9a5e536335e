"""Journal entries and postings, written in batches. ``Journal`` collects entries (each a list of postings that
must sum to zero) and flushes them with one executemany per table; nothing is updated, ever."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import itemgetter

from sqlalchemy import text
from sqlalchemy.engine import Connection

from edi.ledger.schema import journal_entries, postings

ZERO = Decimal(0)


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
    postings: list[dict] = field(default_factory=list)

    def post(self, account: str, amount: Decimal, *, claim_id: int | None = None, line_id: int | None = None,
             group: str | None = None, reason: str | None = None) -> None:
        if amount:
            self.postings.append({"account": account, "amount": amount, "claim_id": claim_id, "line_id": line_id,
                                  "group_code": group, "reason": reason})

    def move(self, debit: str, credit: str, amount: Decimal, **where) -> None:
        """Debit one account and credit another by ``amount`` (both postings carry ``where``)."""
        self.post(debit, amount, **where)
        self.post(credit, -amount, **where)

    def total(self) -> Decimal:
        return sum((p["amount"] for p in self.postings), ZERO)


class Journal:
    """Entries waiting to be written. ``flush`` writes them all, entries then postings."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.pending: list[Entry] = []

    def add(self, entry: Entry) -> Entry:
        if entry.total() != ZERO:
            raise UnbalancedEntry(f"{entry.kind} entry does not balance: {entry.total()}")
        if entry.postings:
            self.pending.append(entry)
        return entry

    def flush(self) -> list[int]:
        """Write the pending entries; returns their ids in order."""
        if not self.pending:
            return []
        rows = [{"kind": e.kind, "claim_id": e.claim_id, "remittance_id": e.remittance_id,
                 "claim_payment_id": e.claim_payment_id, "file_id": e.file_id, "reverses_id": e.reverses_id,
                 "memo": e.memo, "created_at": self.now} for e in self.pending]
        ids = insert_returning_ids(self.conn, journal_entries, rows)
        posting_rows = []
        for entry_id, e in zip(ids, self.pending, strict=True):
            for p in e.postings:
                posting_rows.append({**p, "entry_id": entry_id})
        bulk_insert(self.conn, postings, posting_rows)
        self.pending.clear()
        return ids


def bulk_insert(conn: Connection, table, rows: list[dict]) -> None:
    """Insert many rows fast, inside the caller's transaction: PostgreSQL's COPY, or SQLite's executemany on
    the driver. Values go through each column's own bind processing (money to cents, dates to text on
    SQLite), so the rows read back exactly as SQLAlchemy would have written them. Every row must have the
    keys of the first."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    procs = [(i, p) for i, c in enumerate(columns) if (p := table.c[c].type.bind_processor(dialect)) is not None]
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
    names = ", ".join(columns)
    if dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", data)


def allocate_ids(conn: Connection, table, count: int) -> list[int]:
    """``count`` new primary keys for ``table``: from its sequence on PostgreSQL (safe with concurrent
    writers); on SQLite, after the largest id (edi's SQLite transactions hold the write lock from BEGIN)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                            {"t": table.name, "n": count})
        return [r[0] for r in rows]
    start = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")).scalar()
    return list(range(start + 1, start + 1 + count))


def insert_returning_ids(conn: Connection, table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` and return their new ids, in order."""
    if not rows:
        return []
    ids = allocate_ids(conn, table, len(rows))
    bulk_insert(conn, table, [{"id": i, **r} for i, r in zip(ids, rows, strict=True)])
    return ids
