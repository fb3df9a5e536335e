from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/x12text.py
# The project root first: tests/edi, tests/cli and tests/mappings have no __init__.py and would otherwise be
# found as namespace packages named like the real ones.
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_rows() -> list[tuple[str, str]]:
    """(path below the corpus, notes) for each file of ../shared/corpus, or [] when it is absent."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    rows = []
    for line in manifest.read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split("\t")
        rows.append((fields[0], fields[8] if len(fields) > 8 else ""))
    return rows


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.exists():
        pytest.skip("../shared/corpus is absent")
    return CORPUS


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose tables live in a fresh schema (dropped afterwards), or None when
    EDI_TEST_POSTGRES_URL is not set."""
    import os
    import uuid

    base = os.environ.get("EDI_TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    from sqlalchemy import create_engine, text

    from edi.ledger.db import resolve_url

    name = f"edi_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(resolve_url(base))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{name}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, pg_url):
    """A ledger URL: a new SQLite file, then (when EDI_TEST_POSTGRES_URL is set) a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'edi.db'}"
    else:
        if pg_url is None:
            pytest.skip("EDI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
        yield pg_url
