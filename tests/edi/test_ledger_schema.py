"""The Alembic migrations build exactly the tables, columns and indexes that edi/ledger/schema.py declares."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from edi.ledger.db import ensure_schema
from edi.ledger.schema import metadata


def test_migrations_match_the_declared_schema(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    ensure_schema(engine)
    insp = inspect(engine)
    assert set(insp.get_table_names()) - {"alembic_version"} == set(metadata.tables)
    for name, table in metadata.tables.items():
        assert {c["name"] for c in insp.get_columns(name)} == {c.name for c in table.columns}, name
        declared = {i.name for i in table.indexes}
        assert declared <= {i["name"] for i in insp.get_indexes(name)}, name
    engine.dispose()
