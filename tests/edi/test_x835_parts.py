"""Reading an 835 in parts (edi.x835.parts, RemitReader's ``part``): the parts' items, problems and segment
count, put together in order, are exactly what one reader of the whole file gives, for every way of cutting the
samples, the corpus's 835s and broken files (a transaction set without SE, one that is not an 835, an old version,
wrong counts, stray segments, two interchanges); and ``plan`` cuts where the transaction sets begin."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_rows
from x12text import payment_file as file_of
from x12text import payment_group as group
from x12text import payment_transaction as transaction

from benchmarks.synth import write_835
from edi.x835.parts import merge_problems, plan, transaction_offsets
from edi.x835.reader import RemitReader

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

def whole(path: str) -> tuple[list, list, int, dict]:
    reader = RemitReader(path)
    items = list(reader)
    return items, list(reader.problems), reader.segments, dict(getattr(reader.problems, "left_out", {}))


def in_parts(path: str, cuts: tuple[int, ...]) -> tuple[list, list, int, dict]:
    bounds = [0, *cuts, None]
    items, sources, segments = [], [], 0
    for first, stop in itertools.pairwise(bounds):
        reader = RemitReader(path, (first, stop))
        items += list(reader)
        sources.append(reader.problem_sources)
        segments = max(segments, reader.segments)
    problems = merge_problems(sources)
    return items, list(problems), segments, dict(getattr(problems, "left_out", {}))


def every_cut(path: str, most: int = 3):
    """Every cut into two parts, and into three when the file has few transaction sets (one cut past the last
    transaction set included: a part with nothing to read)."""
    n = max(len(transaction_offsets(path)), 1)
    for k in range(1, min(most, n + 1)):
        yield from itertools.combinations(range(1, n + 1), k)


def assert_parts_agree(path: str) -> None:
    expected = whole(path)
    for cuts in every_cut(path):
        assert in_parts(path, cuts) == expected, cuts


def test_a_clean_file_cut_anywhere_reads_the_same(tmp_path):
    path = file_of(tmp_path, group([transaction(n) for n in range(1, 6)]))
    items, problems, _, _ = whole(path)
    assert problems == [] and sum(type(i).__name__ == "ClaimPayment" for i in items) == 5
    assert_parts_agree(path)


@pytest.mark.parametrize("broken", [
    "no SE in the middle", "no SE at the end", "not an 835", "old version", "wrong SE count", "wrong GE count",
    "stray segment between", "two interchanges",
])
def test_a_broken_file_cut_anywhere_reads_the_same(tmp_path, broken):
    t = [transaction(n) for n in range(1, 5)]
    groups = None
    if broken == "no SE in the middle":
        t[1] = transaction(2, se=False)
    elif broken == "no SE at the end":
        t[3] = transaction(4, se=False)
    elif broken == "not an 835":
        t[2] = transaction(3, st01="999")
    elif broken == "old version":  # warned about once, at its first transaction set, in whichever part
        t = [transaction(n, st03="004010X091A1") for n in range(1, 5)]
    elif broken == "wrong SE count":
        t[2] = transaction(3, count=5)
    elif broken == "wrong GE count":
        groups = [group(t, count=7)]
    elif broken == "stray segment between":
        t[1] += "\nNTE*ADD*A NOTE WHERE NONE BELONGS~"
    elif broken == "two interchanges":
        groups = [group(t[:2]), group(t[2:])]
    path = file_of(tmp_path, *(groups or [group(t)]))
    assert whole(path)[1] or broken == "two interchanges", "the broken file has problems"
    assert_parts_agree(path)


def test_problems_over_the_cap_are_counted_once(tmp_path, monkeypatch):
    # more problems of one code than a list keeps: the parts keep the same ones and count the same rest
    monkeypatch.setattr("edi.problems.KEEP_PER_CODE", 2)
    path = file_of(tmp_path, group([transaction(n, count=99) for n in range(1, 7)]))
    _, problems, _, left_out = whole(path)
    assert left_out, problems
    assert_parts_agree(path)


def test_the_samples_cut_anywhere_read_the_same():
    for path in sorted((SAMPLES / "835").glob("*.835")) + sorted((SAMPLES / "demo").glob("*.835")):
        assert_parts_agree(str(path))


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is absent")
def test_the_corpus_835s_cut_anywhere_read_the_same():
    paths = [CORPUS / name for name, _ in corpus_rows() if name.startswith("835/")]
    assert paths
    for path in paths:
        assert_parts_agree(str(path))


def test_offsets_are_where_the_tokenizer_finds_each_st(tmp_path):
    path = file_of(tmp_path, group([transaction(n) for n in range(1, 4)]), group([transaction(9)]))
    data = Path(path).read_bytes()
    offsets = transaction_offsets(path)
    assert len(offsets) == 4 and all(data[o:o + 3] == b"ST*" for o in offsets)
    assert transaction_offsets(str(SAMPLES / "encounters" / "two-coverages.json")) == []  # not X12


def test_plan_cuts_a_large_file_into_parts_that_finish_together(tmp_path):
    path = tmp_path / "big.835"
    with open(path, "wb") as fp:
        write_835(fp, 4000, per_st=100)
    offsets = transaction_offsets(str(path))
    assert len(offsets) == 40
    assert plan(str(path), 1) == [(0, None)]
    assert plan(str(path), 2, min_bytes=path.stat().st_size + 1) == [(0, None)]  # too small to cut
    assert plan("-", 2) == [(0, None)]
    (a, b), (c, d) = plan(str(path), 2, min_bytes=0)
    assert (a, b == c, d) == (0, True, None)
    # the second part also tokenizes the first before its own: it gets fewer bytes (about 45%, not half)
    share = (path.stat().st_size - offsets[b]) / path.stat().st_size
    assert 0.40 < share < 0.5, share
    four = plan(str(path), 4, min_bytes=0)
    assert [p[0] for p in four] == sorted({p[0] for p in four}) and four[-1][1] is None and len(four) == 4
    assert_parts_agree_on(str(path), tuple(p[0] for p in four[1:]))


def assert_parts_agree_on(path: str, cuts: tuple[int, ...]) -> None:
    assert in_parts(path, cuts) == whole(path)


def test_a_single_transaction_set_is_not_cut(tmp_path):
    path = file_of(tmp_path, group([transaction(1)]))
    assert plan(path, 4, min_bytes=0) == [(0, None)]
