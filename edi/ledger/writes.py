"""Where an import's bulk writes go: straight to the database, or to a thread that sends them while the
importer goes on.

An 835 import into PostgreSQL spent about half its time waiting for the server to ingest its COPYs (rows
into postings, adjustments, journal entries and claim payments, with their indexes), and recording an 837 a
good part of its own. ``BackgroundWrites`` hands each COPY to a thread of its own, inside the importer's
transaction, so that the server ingests one batch while the importer parses and builds the next; Python lets
the importer run while that thread waits on the socket. ``Writes`` does the same writes at once (SQLite,
whose driver gives the interpreter back for every row, so a second thread would only add switches).

Both have one interface:

* ``copy(table, columns, rows)`` and ``call(fn, *args)`` (``fn(conn, *args)``): writes, in the order given;
* ``connection()``: the connection, for anything else (reads, single inserts), once every write queued before
  has been done: the importer never touches the connection while the thread uses it;
* ``reader()``: a connection for reads that need only *committed* data, not the importer's own writes (the
  claims an 835 is matched against): a second connection with ``BackgroundWrites``, so that such reads need
  not wait for the writes (its table locks taken up front, see ``_open_reader``; when they cannot be had, the
  importer's own connection); the importer's own connection with ``Writes``;
* ``ids(table, count)``: new primary keys (on PostgreSQL taken from the table's sequence in blocks, so that
  a batch need not wait for the writes before it to ask for them);
* ``close(ok)``: waits for the queued writes (``ok``) or drops them (after a failure: the transaction is
  about to be rolled back), and stops the thread. Nothing may use the connection before ``close`` returns.

A write that fails in the thread is raised to the importer at its next ``copy``, ``call``, ``connection()`` or
``close(ok=True)``, as the driver raised it; the writes queued after it are dropped.

**A NUL in the text of a file** (the byte 00) is kept as the four characters ``\\x00`` on every database
(``nul_keeper``): PostgreSQL's text cannot hold a NUL and SQLite's can, so the same file was kept by one and
crashed an import into the other. It is the spelling the tokenizer gives a byte that is not UTF-8 (``\\xE9``).
Each importer applies it to every item it is fed from a file that holds a NUL, so that whatever the ledger keeps
of that item (a remark code, a payer name, a status reason quoting it) is kept alike, whichever statement writes
it; a file without one (one pass over its bytes tells) is imported as before.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import stat
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from edi.ledger.db import driver
from edi.ledger.journal import allocate_ids, copy_rows
from edi.problems import WARNING, Problem, Where

try:  # psycopg's own COPY row formatter (its C version when installed), run by the importer's thread
    from psycopg._copy_base import format_row_text as _format_row_text
except ImportError:  # pragma: no cover - another psycopg layout: the writer thread formats the rows itself
    _format_row_text = None

T = TypeVar("T")
#: A NUL character, and how the ledger keeps it (see the module docstring).
NUL = "\x00"
NUL_KEPT = "\\x00"
#: How much of a file is read at a time when looking for a NUL byte.
SCAN_CHUNK = 1 << 20


def nul_keeper(path: str) -> Callable[[T], T] | None:
    """None when the file at ``path`` holds no NUL byte (the importer has nothing to do), else ``keep_nul``. A
    path that is not a regular file that can be read again (``-``, a pipe) may hold one: ``keep_nul``."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return keep_nul
        with open(path, "rb") as fp:
            while chunk := fp.read(SCAN_CHUNK):
                if b"\x00" in chunk:
                    return keep_nul
    except (OSError, ValueError):  # ValueError: a path holding a NUL itself
        return keep_nul
    return None


def keep_nul(value: T) -> T:
    """``value`` with each NUL in its text written ``\\x00``: a string, or a reader's item (frozen dataclasses,
    named tuples, tuples, lists and dicts of them, through and through); the very same object when it holds
    none."""
    cls = value.__class__
    if cls is str:
        return value.replace(NUL, NUL_KEPT) if NUL in value else value  # type: ignore[attr-defined,return-value]
    if cls is tuple or cls is list or cls is frozenset:
        kept = [keep_nul(v) for v in value]  # type: ignore[attr-defined]
        return value if all(a is b for a, b in zip(kept, value, strict=True)) else cls(kept)  # type: ignore
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        changes = {name: new for name, old in zip(value._fields, value, strict=True)
                   if (new := keep_nul(old)) is not old}
        return value._replace(**changes) if changes else value
    if cls is dict:
        kept_items = [(keep_nul(k), keep_nul(v)) for k, v in value.items()]  # type: ignore[attr-defined]
        same = all(a is k and b is v for (a, b), (k, v) in zip(kept_items, value.items(), strict=True))  # type: ignore
        return value if same else dict(kept_items)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: new for f in dataclasses.fields(value) if f.init
                   if (new := keep_nul(old := getattr(value, f.name))) is not old}
        return dataclasses.replace(value, **changes) if changes else value
    return value


def nul_problem(item: Any, file: str) -> Problem:
    """The warning an importer gives, once a file, when it kept a NUL as ``\\x00`` (naming the first item's
    segment)."""
    source = getattr(item, "source", None)
    return Problem("ledger.text.nul", "a value holds a NUL character (the byte 00): the ledger keeps it as \\x00 "
                   "(PostgreSQL cannot keep a NUL in text; every database keeps it alike)", WARNING,
                   Where(file=file, segment=getattr(source, "segment", None)))


#: Writes queued at most (each a batch's rows for one table): bounds the memory the importer can run ahead by.
DEPTH = 8
#: Primary keys fetched from a sequence at a time (unused ones are left as gaps, as a rollback would).
ID_BLOCK = 4096
#: The interpreter's thread switch interval while a ``BackgroundWrites`` runs (Python's default is 5 ms). The
#: writer thread asks for the interpreter lock back each time the server answers, and the importer holding it
#: lets go only after this interval: at the default the server sat idle for a third of an import, waiting on
#: that hand-over (measured: 30,000 claims posted in 4.6 s at 5 ms, 3.7 s at 1 ms, and no better below).
SWITCH_INTERVAL = 0.001


class Writes:
    """Bulk writes done at once, on the caller's connection (see the module docstring)."""

    #: ``reader()`` is a connection of its own, which does not see the writes
    separate_reader = False

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def copy(self, table, columns: tuple[str, ...] | list[str], rows: list[tuple]) -> None:
        copy_rows(self._conn, table, columns, rows)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(self._conn, *args)

    def connection(self) -> Connection:
        return self._conn

    def reader(self) -> Connection:
        return self._conn

    def ids(self, table, count: int) -> list[int]:
        return allocate_ids(self._conn, table, count)

    def close(self, ok: bool = True) -> None:
        pass


class BackgroundWrites(Writes):
    """Bulk writes sent by a thread of their own (PostgreSQL; see the module docstring)."""

    separate_reader = True

    def __init__(self, conn: Connection, *, depth: int = DEPTH, id_block: int = ID_BLOCK,
                 read_tables: tuple[str, ...] | None = None) -> None:
        super().__init__(conn)
        self._jobs: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._drop = False
        self._id_block = id_block
        self._free: dict[str, list[int]] = {}  # table -> ids fetched and not handed out yet
        self._tx = None
        if _format_row_text is not None:
            from psycopg.adapt import Transformer

            # bound to the connection the thread writes on: it only reads its encoding and adapters
            self._tx = Transformer(conn.connection.driver_connection)
        # opened now, before this import's transaction holds locks on the tables it reads (see _open_reader)
        tables = READ_TABLES if read_tables is None else read_tables
        self._reader: Connection | None = _open_reader(conn, tables) if tables else None  # () : no reader
        _faster_switches(True)
        self._thread: threading.Thread | None = threading.Thread(target=self._run, name="edi-ledger-writes",
                                                                 daemon=True)
        self._thread.start()

    def copy(self, table, columns: tuple[str, ...] | list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if self._tx is None:
            self._put((copy_rows, (table, columns, rows)))
            return
        # the rows formatted here, so that the thread only sends bytes (it then hardly needs the interpreter)
        data = bytearray()
        fmt, tx = _format_row_text, self._tx
        for row in rows:
            fmt(row, tx, data)
        self._put((_send_copy, (f"COPY {table.name} ({', '.join(columns)}) FROM STDIN", data)))

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self._put((fn, args))

    def connection(self) -> Connection:
        self._jobs.join()
        self._raise()
        return self._conn

    def reader(self) -> Connection:
        return self._reader if self._reader is not None else self.connection()

    def ids(self, table, count: int) -> list[int]:
        pool = self._free.setdefault(table.name, [])  # in increasing order
        if len(pool) < count:
            pool += allocate_ids(self.connection(), table, max(count - len(pool), self._id_block))
        taken = pool[:count]
        del pool[:count]
        return taken

    def close(self, ok: bool = True) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if not ok:
            self._drop = True
        self._jobs.put(None)
        thread.join()
        _faster_switches(False)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        if ok:
            self._raise()

    # -- the thread -----------------------------------------------------------------------------------------

    def _put(self, job: tuple) -> None:
        self._raise()
        if self._thread is None:
            raise RuntimeError("writes after close()")
        self._jobs.put(job)

    def _raise(self) -> None:
        error = self._error
        if error is not None:
            self._drop = True  # nothing queued after a failed write may run (set before the error is cleared)
            self._error = None
            raise error

    def _run(self) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            try:
                if job is None:
                    return
                if self._drop or self._error is not None:
                    continue
                fn, args = job
                fn(self._conn, *args)
            except BaseException as exc:  # handed to the importer
                self._error = exc
            finally:
                jobs.task_done()


def _send_copy(conn: Connection, statement: str, data: bytes) -> None:
    """COPY ``data`` (rows already in COPY's text format) into the table ``statement`` names."""
    with driver(conn, statement) as raw, raw.cursor() as cur, cur.copy(statement) as copy:
        copy.write(data)


#: The tables an import reads on its second connection (claims and lines matched against, the payments a
#: reversal names with their journal entries and postings; the files a recording's standing claims came from).
READ_TABLES = ("claims", "claim_lines", "claim_payments", "journal_entries", "postings", "files")
#: How long the second connection waits for its table locks before the import reads on its own connection.
READER_LOCK_TIMEOUT = "5s"


def _open_reader(conn: Connection, tables: tuple[str, ...]) -> Connection | None:
    """A second connection for reads of committed data, with its table locks (ACCESS SHARE, what any SELECT
    takes) taken at once: taken later, while this import's transaction holds its own locks, a statement queued
    in between that wants a table to itself (a migration, TRUNCATE, LOCK TABLE) would wait for the import, the
    second connection's read behind it, and the import for that read: a wait the server cannot see. When the
    locks cannot be had within ``READER_LOCK_TIMEOUT``, None: the import reads on its own connection."""
    reader = conn.engine.connect()
    try:
        reader.exec_driver_sql(f"SET LOCAL lock_timeout = '{READER_LOCK_TIMEOUT}'")
        reader.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN ACCESS SHARE MODE")
    except DBAPIError:
        reader.close()
        return None
    return reader


_switches = threading.Lock()
_faster = 0  # BackgroundWrites alive in this process
_saved_interval = 0.0


def _faster_switches(on: bool) -> None:
    """Python's thread switch interval at most SWITCH_INTERVAL while any BackgroundWrites lives, as it was
    once the last one closes."""
    global _faster, _saved_interval
    with _switches:
        if on:
            if _faster == 0:
                _saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(_saved_interval, SWITCH_INTERVAL))
            _faster += 1
        else:
            _faster -= 1
            if _faster == 0:
                sys.setswitchinterval(_saved_interval)
