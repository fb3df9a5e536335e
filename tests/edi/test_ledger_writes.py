"""edi.ledger.writes: an import's bulk writes, at once (Writes) or from a thread of their own (BackgroundWrites,
PostgreSQL only: these tests run when EDI_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import sys
import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, text
from sqlalchemy.exc import IntegrityError

from edi.ledger.db import resolve_url
from edi.ledger.writes import SWITCH_INTERVAL, BackgroundWrites, Writes

metadata = MetaData()
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("body", String(40), nullable=False))


@pytest.fixture
def engine(pg_url):
    if pg_url is None:
        pytest.skip("EDI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    engine = create_engine(resolve_url(pg_url))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def bodies(conn) -> list[tuple[int, str]]:
    return [tuple(r) for r in conn.execute(text("SELECT id, body FROM notes ORDER BY id"))]


def test_queued_writes_are_all_done_in_order_before_the_connection_is_used_again(engine):
    with engine.begin() as conn:
        writes = BackgroundWrites(conn)
        try:
            for k in range(0, 300, 100):  # three batches, each a COPY of 100 rows with awkward text
                writes.copy(notes, ("id", "body"), [(i, f"row {i}\ttab\\slash\nline") for i in range(k, k + 100)])
            writes.call(lambda c, n: c.execute(text("DELETE FROM notes WHERE id < :n"), {"n": n}), 10)
            rows = bodies(writes.connection())
        finally:
            writes.close()
    assert [i for i, _ in rows] == list(range(10, 300))
    assert rows[0] == (10, "row 10\ttab\\slash\nline")  # COPY's text escapes, done by psycopg's own formatter


def test_the_reader_sees_committed_data_only(engine):
    with engine.begin() as conn:
        conn.execute(notes.insert(), [{"id": 1, "body": "committed"}])
    with engine.begin() as conn:
        writes = BackgroundWrites(conn, read_tables=("notes",))
        try:
            writes.copy(notes, ("id", "body"), [(2, "not yet committed")])
            assert bodies(writes.connection()) == [(1, "committed"), (2, "not yet committed")]
            assert bodies(writes.reader()) == [(1, "committed")]
        finally:
            writes.close()


def test_ids_come_from_the_sequence_in_blocks_and_never_repeat(engine):
    with engine.begin() as conn:
        writes = BackgroundWrites(conn, id_block=5)
        try:
            taken = [writes.ids(notes, n) for n in (3, 3, 0, 7, 1)]
        finally:
            writes.close()
        after = conn.execute(text("SELECT nextval(pg_get_serial_sequence('notes', 'id'))")).scalar()
    flat = [i for ids in taken for i in ids]
    assert [len(ids) for ids in taken] == [3, 3, 0, 7, 1]
    assert flat == sorted(set(flat))  # increasing, no repeat
    assert after > flat[-1]  # the sequence is past every id handed out


def test_a_failed_write_is_raised_to_the_importer_and_what_was_queued_after_it_is_dropped(engine):
    interval = sys.getswitchinterval()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        writes = BackgroundWrites(conn)
        assert sys.getswitchinterval() == min(interval, SWITCH_INTERVAL)
        ok = False
        try:
            writes.copy(notes, ("id", "body"), [(1, "one"), (1, "the same id again")])  # a unique violation
            writes.copy(notes, ("id", "body"), [(2, "two")])
            writes.connection()  # raises the violation
            ok = True
        finally:
            writes.close(ok)
    assert sys.getswitchinterval() == interval  # given back
    with engine.connect() as conn:
        assert bodies(conn) == []  # the transaction was rolled back: nothing of it is left


def test_close_without_ok_drops_what_is_queued(engine):
    with engine.begin() as conn:
        writes = BackgroundWrites(conn)
        release = threading.Event()
        writes.call(lambda c: release.wait(5))  # holds the thread while more is queued and close() is called
        writes.copy(notes, ("id", "body"), [(1, "dropped")])
        threading.Timer(0.3, release.set).start()
        writes.close(ok=False)
        assert bodies(conn) == []
        with pytest.raises(RuntimeError):
            writes.copy(notes, ("id", "body"), [(2, "after close")])


def test_writes_on_sqlite_are_done_at_once(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        writes = Writes(conn)
        writes.copy(notes, ("id", "body"), [(1, "one")])
        assert bodies(conn) == [(1, "one")]  # no wait: it is already there
        assert writes.reader() is conn and writes.connection() is conn
        assert writes.ids(notes, 2) == [2, 3]
        writes.close()


def test_the_reader_takes_its_locks_up_front_or_is_not_used(engine, monkeypatch):
    """The second connection takes its table locks when the writes start (taken later, behind a statement that
    waits for the import's own locks, it would wait for ever); when it cannot have them soon, reads go to the
    import's own connection instead."""
    import edi.ledger.writes as writes_module

    with engine.begin() as conn:
        writes = BackgroundWrites(conn, read_tables=("notes",))
        try:
            locks = writes.connection().execute(text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'notes' AND l.mode = 'AccessShareLock' AND l.pid <> pg_backend_pid()")).scalar()
            assert locks >= 1 and writes.reader() is not writes.connection()
        finally:
            writes.close()
    monkeypatch.setattr(writes_module, "READER_LOCK_TIMEOUT", "200ms")
    with engine.connect() as other, engine.begin() as conn:
        other.execute(text("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE"))  # held until `other` ends
        writes = BackgroundWrites(conn, read_tables=("notes",))
        try:
            assert writes.reader() is writes.connection() is conn
        finally:
            writes.close()
        other.rollback()


def test_the_switch_interval_is_given_back_when_the_last_writes_close(engine):
    """Two imports in one process (threads): the interval stays short while either runs, and is given back
    once both are closed, whichever closes first."""
    interval = sys.getswitchinterval()
    fast = min(interval, SWITCH_INTERVAL)
    with engine.connect() as c1, engine.connect() as c2:
        a = BackgroundWrites(c1, read_tables=("notes",))
        b = BackgroundWrites(c2, read_tables=("notes",))
        a.close()
        assert sys.getswitchinterval() == fast  # b still runs
        b.close()
    assert sys.getswitchinterval() == interval


def test_bulk_rows_hold_dates_and_times_as_sqlalchemy_writes_them(tmp_path):
    """Bulk inserts hand the driver what SQLAlchemy itself would (the dialect's own processing: ISO text on
    SQLite), never a raw date for sqlite3's default adapters (deprecated since Python 3.12)."""
    from datetime import date, datetime

    from sqlalchemy import Date, DateTime

    from edi.ledger.journal import bulk_insert

    meta = MetaData()
    events = Table("events", meta, Column("id", Integer, primary_key=True), Column("day", Date),
                   Column("at", DateTime))
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    meta.create_all(engine)
    row = {"day": date(2025, 3, 1), "at": datetime(2025, 3, 1, 9, 30)}
    with engine.begin() as conn:
        conn.execute(events.insert(), [{"id": 1, **row}])  # SQLAlchemy's own way
        bulk_insert(conn, events, [{"id": 2, **row}])
        raw = conn.exec_driver_sql("SELECT day, at FROM events ORDER BY id").all()
        back = conn.execute(events.select().order_by(events.c.id)).all()
    assert raw[0] == raw[1] == ("2025-03-01", "2025-03-01 09:30:00.000000")
    assert [(r.day, r.at) for r in back] == [(row["day"], row["at"])] * 2
