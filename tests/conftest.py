from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/x12text.py

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
