"""The external corpus (../shared/corpus, 241 files written by other projects): nothing crashes the reader,
clean files validate without errors, deliberately or accidentally broken ones are flagged with positions,
and every file with an ISA round-trips through the writer segment for segment."""

from __future__ import annotations

import pytest
from conftest import CORPUS, corpus_rows
from typer.testing import CliRunner

from cli.main import app
from edi.validate import validate_path
from edi.x12.tokenizer import tokenize
from edi.x12.writer import write_segments

ROWS = corpus_rows()
pytestmark = pytest.mark.skipif(not ROWS, reason="../shared/corpus is absent")
BROKEN = ("malformed on purpose", "accidental?")


def _ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize(("name", "notes"), ROWS, ids=_ids(ROWS))
def test_validation_verdict_matches_the_manifest(name, notes):
    report = validate_path(str(CORPUS / name))
    errors = [p for p in report.problems if p.is_error]
    if any(word in notes for word in BROKEN):
        assert errors, f"{name} is marked broken but no error was found"
        assert any(p.where.segment is not None for p in errors)
    else:
        assert errors == [], [str(p) for p in errors]


@pytest.mark.parametrize(("name", "notes"), ROWS, ids=_ids(ROWS))
def test_reading_then_writing_reproduces_the_segments(name, notes):
    data = (CORPUS / name).read_bytes()
    segs, _ = tokenize(data)
    if not segs or segs[0].tag != "ISA":
        pytest.skip("no ISA: nothing to take the delimiters from")
    # one interchange at a time, with its own delimiters
    start = 0
    for i, seg in enumerate(segs + [None]):
        if seg is None or (seg.tag == "ISA" and i > start):
            part = segs[start:i]
            again, problems = tokenize(write_segments(part, part[0].delimiters))
            assert [s.elements for s in again] == [s.elements for s in part]
            start = i


def test_the_command_exits_1_for_broken_and_0_for_clean(corpus):
    broken = [n for n, notes in ROWS if any(w in notes for w in BROKEN)][:5]
    clean = [n for n, notes in ROWS if not any(w in notes for w in BROKEN)][:5]
    runner = CliRunner()
    assert runner.invoke(app, ["x12", "validate", *(str(corpus / n) for n in clean)]).exit_code == 0
    for name in broken:
        assert runner.invoke(app, ["x12", "validate", str(corpus / name)]).exit_code == 1
