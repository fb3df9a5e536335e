"""Journal entries and postings, written in batches. ``Journal`` collects entries (each a list of postings that
must sum to zero) and flushes them with one executemany per table; nothing is updated, ever."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert
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
    """Insert many rows in few statements. Asking for the ids back makes SQLAlchemy batch the rows into
    multi-row INSERTs ("insertmanyvalues") on every database; a plain executemany would send one statement
    per row through psycopg, several times slower on PostgreSQL."""
    if rows:
        conn.execute(insert(table).returning(table.c.id), rows).close()


def insert_returning_ids(conn: Connection, table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` (one executemany, batched by SQLAlchemy) and return the new ids in the rows' order."""
    if not rows:
        return []
    result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [r[0] for r in result]
