"""The Alembic migrations build exactly the tables, columns and indexes that edi/ledger/schema.py declares."""

from __future__ import annotations

from pathlib import Path

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
        with engine.connect() as conn:  # the inspector leaves out indexes on expressions (claims_standing)
            made = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                                            (name,)).scalars())
        assert declared <= made, name
        assert {(tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in insp.get_foreign_keys(name)} == {
            (tuple(c.name for c in fk.columns), fk.referred_table.name) for fk in table.foreign_key_constraints}, name
    engine.dispose()


def ledger_at(tmp_path: Path, revision: str):
    """(URL, engine) of a new SQLite ledger migrated up to ``revision`` only: a ledger an older edi left."""
    from alembic import command
    from alembic.config import Config

    from edi.ledger.db import MIGRATIONS, make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
    return url, engine


def test_checked_references_are_the_foreign_keys_dropped(tmp_path):
    """Each reference that is not a foreign key is proven by `edi ledger check` instead."""
    from edi.ledger.schema import CHECKED_REFERENCES

    for table, column, referred in CHECKED_REFERENCES:
        c = metadata.tables[table].c[column]
        assert not c.foreign_keys and referred in metadata.tables, (table, column)


def test_migration_0003_keeps_the_rows_of_a_ledger_in_use(tmp_path):
    """Upgrading a SQLite ledger that holds entries, payments and suspense items (foreign keys enforced, as edi
    connects) keeps every row."""
    from datetime import datetime

    from sqlalchemy import text

    from edi.ledger import Ledger

    url, engine = ledger_at(tmp_path, "0002")
    now = datetime(2025, 3, 1).isoformat(" ")  # as SQLAlchemy stores times in SQLite (text)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO files (id, sha256, kind, name, size, imported_at) "
                          "VALUES (1, 'x', '837', 'c.837', 1, :n)"), {"n": now})
        conn.execute(text("INSERT INTO claims (id, patient_control_number, kind, charge, status, file_id, created_at) "
                          "VALUES (1, 'PCN1', 'professional', 10000, 'submitted', 1, :n)"), {"n": now})
        conn.execute(text("INSERT INTO claim_lines (id, claim_id, line_number, charge) VALUES (1, 1, 1, 10000)"))
        conn.execute(text("INSERT INTO journal_entries (id, kind, claim_id, file_id, created_at) "
                          "VALUES (1, 'charge', 1, 1, :n)"), {"n": now})
        conn.execute(text("INSERT INTO postings (id, entry_id, account, amount, claim_id, line_id) VALUES "
                          "(1, 1, 'insurance_ar', 10000, 1, 1), (2, 1, 'gross_charges', -10000, 1, 1)"))
        conn.execute(text("INSERT INTO remittances (id, file_id, payer_key, trace_number, amount, created_at) "
                          "VALUES (1, 1, 'P', 'T1', 0, :n)"), {"n": now})
        conn.execute(text("INSERT INTO claim_payments (id, remittance_id, claim_id, patient_control_number, status, "
                          "charge, paid) VALUES (1, 1, 1, 'PCN1', '4', 10000, 0), (2, 1, NULL, 'PCNX', '1', 0, 0)"))
        conn.execute(text("INSERT INTO suspense_items (remittance_id, claim_payment_id, kind, amount, reason) "
                          "VALUES (1, 2, 'unmatched_claim', 0, 'no such claim')"))
    engine.dispose()
    ledger = Ledger(url)  # migrates to the head
    assert ledger.check() == []
    [c] = ledger.claims()
    assert (c.billed, c.insurance_balance) == (100, 100)
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM claim_payments")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM suspense_items")).scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # enforced again
    ledger.close()


def test_migration_0006_marks_a_claim_billed_twice_and_check_names_it_until_it_is_voided(tmp_path):
    """A ledger recorded before claims_standing may hold one claim twice. The upgrade keeps every row and every
    amount, marks the later copy (duplicate_of), and `edi ledger check` names it until an 837 voids it."""
    import sys
    from datetime import datetime

    from sqlalchemy import text

    from edi.ledger import Ledger

    sys.path.insert(0, str(Path(__file__).parent))
    from test_ledger import claim, write_837

    url, engine = ledger_at(tmp_path, "0005")
    now = datetime(2025, 3, 1).isoformat(" ")
    with engine.begin() as conn:
        for i in (1, 2):
            conn.execute(text("INSERT INTO claims (id, patient_control_number, kind, payer_id, payer_name, charge, "
                              "status, created_at) VALUES (:i, 'TWICE1', 'professional', 'SYNTH01', 'SYNTH HEALTH "
                              "PLAN', 10000, 'submitted', :n)"), {"i": i, "n": now})
            conn.execute(text("INSERT INTO journal_entries (id, kind, claim_id, created_at) VALUES (:i, 'charge', :i, "
                              ":n)"), {"i": i, "n": now})
            conn.execute(text("INSERT INTO postings (entry_id, account, amount, claim_id) VALUES "
                              "(:i, 'insurance_ar', 10000, :i), (:i, 'gross_charges', -10000, :i)"), {"i": i})
    engine.dispose()
    ledger = Ledger(url)  # migrates to the head
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT id, duplicate_of FROM claims ORDER BY id")).all() == [(1, None), (2, 1)]
    assert [(p.code, p.where.record) for p in ledger.check()] == [("ledger.claim.standing_twice", "TWICE1")]
    assert sum(c.billed for c in ledger.claims()) == 200  # nothing was changed behind the user's back
    void = ledger.record_837(write_837(tmp_path, "void.837", [claim("TWICE1", ("99213", "100"), frequency="8",
                                                                    icn="ICN1")]))
    assert void.outcome == "imported", void.message
    assert ledger.check() == []
    assert [(c.status, c.billed) for c in ledger.claims()] == [("submitted", 100), ("voided", 0), ("voided", 0)]
    ledger.close()


def test_the_head_read_off_the_files_is_alembics():
    """Opening a ledger compares its version with the newest migration without importing Alembic: the two must
    agree."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from edi.ledger.db import MIGRATIONS, head_revision

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_a_ledger_behind_the_head_is_migrated_on_open(tmp_path):
    url, engine = ledger_at(tmp_path, "0007")
    engine.dispose()
    from edi.ledger import Ledger
    from edi.ledger.db import head_revision

    led = Ledger(url)
    with led.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
    led.close()
