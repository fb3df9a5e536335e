"""Connecting to the ledger database and keeping its schema current.

The database is a SQLAlchemy URL: ``--db`` on the command line, else ``EDI_DATABASE_URL``, else the SQLite
file ``edi.db`` in the working folder. PostgreSQL goes through psycopg 3 (``postgresql+psycopg://...``; a
plain ``postgresql://`` URL is given that driver). The schema is managed by the Alembic migrations shipped
in this package and applied on first use; ``edi ledger init`` applies them explicitly.

Writers run each unit of work (one file) in one database transaction through :func:`transaction`, which
retries the whole unit when PostgreSQL reports a serialization failure or a deadlock.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

DEFAULT_URL = "sqlite:///edi.db"
ENV_VAR = "EDI_DATABASE_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


class LedgerError(Exception):
    """A ledger operation that cannot be done (bad database URL, a schema newer than this edi...)."""


def resolve_url(url: str | None = None) -> str:
    url = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def shown_url(url: str) -> str:
    """``url`` as it may be printed: its password masked."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        secret = {k: "***" for k in parsed.query if k.lower() in ("password", "passwd", "pass", "sslpassword")}
        if secret:
            return parsed.update_query_dict(secret).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")
        return parsed.render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: show its scheme only
        return url.split("://", 1)[0] + "://..." if "://" in url else "(a database URL)"


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file of ``url`` readable by its owner only (0600) before SQLite does (it would use the
    umask: 0644 as a rule); SQLite gives its -wal and -shm files the same mode. The ledger holds patient data."""
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database
    except Exception:
        return
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def make_engine(url: str | None = None, *, schema: str | None = None) -> Engine:
    """An engine for ``url`` (see module docstring). ``schema`` (PostgreSQL) puts every table in that schema
    (tests use one schema each)."""
    url = resolve_url(url)
    try:
        if url.startswith("sqlite"):
            _private_sqlite_file(url)
            engine = create_engine(url, connect_args={"timeout": 60})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
                dbapi_conn.isolation_level = None  # transactions are begun explicitly, below
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn):  # pragma: no cover - trivial
                # BEGIN IMMEDIATE: a writer takes the write lock up front, so two importers never deadlock
                # on a lock upgrade; the second waits (busy timeout) and then runs.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            opts = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
            engine = create_engine(url, pool_pre_ping=True, **opts)
    except Exception as exc:  # bad URL, missing driver: never the password in the message
        said = str(exc).replace(url, shown_url(url))
        raise LedgerError(f"cannot use database {shown_url(url)!r}: {said}") from exc
    return engine


def ledger_exists(url: str | None = None) -> tuple[bool, str]:
    """Whether ``url`` holds an edi ledger already (its migrations table), without creating anything; and what
    to call the place in a message (the SQLite file, or the URL with its password masked)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    url = resolve_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if not database or database == ":memory:":
            return False, url
        if not Path(database).is_file():
            return False, database
        place = database
    else:
        place = shown_url(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).has_table("alembic_version"), place
    finally:
        engine.dispose()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database). Safe to run concurrently:
    on PostgreSQL it holds an advisory lock while migrating."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to change its constraints (DROP TABLE, then the copy renamed): with foreign
            # keys enforced, dropping a table that other rows reference fails. Off for the migration (a PRAGMA
            # that only works outside a transaction, hence on the driver before the first statement), then
            # proven afterwards with foreign_key_check.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(724573)"))
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise LedgerError(f"the migration left rows whose references are broken: {broken[:5]}")
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(724573)"))
                conn.commit()
            if sqlite:
                conn.rollback()
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


_REVISION = re.compile(r'^(down_revision|revision) = "([^"]*)"', re.M)


def head_revision() -> str | None:
    """The newest migration's revision, read off the migration files (importing Alembic to ask it costs a
    quarter of a second, on every command that opens a ledger); None when they do not form one line."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def ensure_schema(engine: Engine) -> None:
    """Apply the migrations if the database has none yet or is behind."""
    head = head_revision()
    if head is not None:
        with engine.connect() as conn:
            try:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            except Exception:  # no such table: a new database
                current = None
            conn.rollback()
        if current == [head]:
            return
    migrate(engine)


def refresh_statistics(engine: Engine, tables: tuple[str, ...]) -> None:
    """PostgreSQL: ANALYZE those of ``tables`` whose planner statistics are missing or stale by autovacuum's own
    rule (more rows changed since the last analyze than 50 + 10% of the table), in a short transaction of its
    own. An 835 import reads claims and their lines by the batch: without statistics (claims recorded a moment
    ago, autovacuum not yet by, or off) the planner reads the whole table for each batch instead of the index.
    Does nothing on SQLite, and skips a table the user may not analyze."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        stale = [name for name, in conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.oid = ANY(CAST(:tables AS regclass[])) AND (c.reltuples < 0 "
            "OR (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL) "
            "OR s.n_mod_since_analyze > 50 + 0.1 * c.reltuples) AND pg_has_role(c.relowner, 'USAGE')"),
            {"tables": list(tables)})]
        for name in stale:
            conn.execute(text(f'ANALYZE "{name}"'))
        conn.commit()


@contextmanager
def driver(conn: Connection, statement: str) -> Iterator[Any]:
    """The DBAPI connection under ``conn``, for the statements edi sends past SQLAlchemy (COPY, array binds,
    batch reads); the driver's errors come out as SQLAlchemy's own (``IntegrityError``, ``OperationalError``...,
    the original as ``.orig``), so that callers handle them alike: a unique violation is a duplicate, a
    deadlock or serialization failure is retried by :func:`transaction`."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield conn.connection.driver_connection
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error, dialect=conn.dialect) from exc


_RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock detected


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if getattr(exc.orig, "sqlstate", None) in _RETRYABLE:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def transaction(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 5) -> T:
    """Run ``work(conn)`` in one transaction, committed at the end, rolled back on any error. Retried (from
    the start) on a serialization failure or a deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            if attempt < attempts and _retryable(exc):
                time.sleep(0.05 * attempt)
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover
