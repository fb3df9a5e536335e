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
        assert {(tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in insp.get_foreign_keys(name)} == {
            (tuple(c.name for c in fk.columns), fk.referred_table.name) for fk in table.foreign_key_constraints}, name
    engine.dispose()


def test_checked_references_are_the_foreign_keys_dropped(tmp_path):
    """Each reference that is not a foreign key is proven by `edi ledger check` instead."""
    from edi.ledger.schema import CHECKED_REFERENCES

    for table, column, referred in CHECKED_REFERENCES:
        c = metadata.tables[table].c[column]
        assert not c.foreign_keys and referred in metadata.tables, (table, column)
