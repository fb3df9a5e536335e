"""Envelope checks: each broken envelope gives one problem with a stable code and a segment number."""

from __future__ import annotations

import pytest
from x12text import interchange, isa

from edi.x12.envelope import EnvelopeChecker
from edi.x12.tokenizer import tokenize


def check(data: bytes) -> list[tuple[str, int | None]]:
    segs, _ = tokenize(data)
    checker = EnvelopeChecker("test.x12")
    for seg in segs:
        checker.segment(seg)
    checker.close()
    return [(p.code, p.where.segment) for p in checker.problems]


GOOD = interchange("BPR*I*0*C*NON~\nTRN*1*1*1~")


def test_a_correct_envelope_has_no_problems():
    assert check(GOOD) == []


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("SE*4*0001", "SE*5*0001", [("x12.se.count", 6)]),
    ("SE*4*0001", "SE*4*0002", [("x12.se.control", 6)]),
    ("GE*1*1", "GE*2*1", [("x12.ge.count", 7)]),
    ("GE*1*1", "GE*1*9", [("x12.ge.control", 7)]),
    ("IEA*1*000000001", "IEA*3*000000001", [("x12.iea.count", 8)]),
    ("IEA*1*000000001", "IEA*1*000000002", [("x12.iea.control", 8)]),
])
def test_counts_and_control_numbers(old, new, expected):
    assert check(GOOD.replace(old.encode(), new.encode())) == expected


def test_missing_trailers_are_reported_at_the_end_with_the_last_segment():
    data = GOOD.split(b"SE*")[0]
    assert check(data) == [("x12.se.missing", 5), ("x12.ge.missing", 5), ("x12.iea.missing", 5)]


def test_a_new_st_while_one_is_open():
    data = GOOD.replace(b"TRN*1*1*1~", b"TRN*1*1*1~\nST*835*0002~")
    assert ("x12.se.missing", 6) in check(data)


def test_segments_outside_a_transaction_are_reported_once():
    data = GOOD.replace(b"GE*1*1~", b"NTE*X~\nNTE*Y~\nGE*1*1~")
    assert check(data) == [("x12.segment.outside", 7)]


def test_duplicate_transaction_control_number_in_a_group():
    data = GOOD.replace(b"GE*1*1~", b"ST*835*0001~\nSE*2*0001~\nGE*2*1~")
    assert check(data) == [("x12.st.duplicate", 7)]


def test_isa_width_short_is_an_error_long_a_warning():
    short = isa().replace("*SENDER         *", "*SENDER*")
    assert check((short + "IEA*0*000000001~").encode()) == [("x12.isa.short", 1)]
    long_ = isa().replace("*SENDER         *", "*SENDER AND MORE THAN FIFTEEN*")
    segs, _ = tokenize((long_ + "IEA*0*000000001~").encode())
    checker = EnvelopeChecker()
    for seg in segs:
        checker.segment(seg)
    assert [(p.code, p.severity.value) for p in checker.problems] == [("x12.isa.long", "warning")]


def test_versions_are_reported_and_4010_is_a_warning():
    data = GOOD.replace(b"005010X221A1", b"004010X091A1")
    segs, _ = tokenize(data)
    checker = EnvelopeChecker()
    for seg in segs:
        checker.segment(seg)
    assert checker.versions == {"004010X091A1"}
    assert [(p.code, p.severity.value) for p in checker.problems] == [("x12.version", "warning")]
    assert checker.transactions[0].st01 == "835"


def test_a_functional_group_must_be_of_its_transaction_sets_kind():
    """GS01 names what the group holds (HP for 835s, HC for 837s, FA for 999s): an 835 in an HC group is routed
    as claims by a receiver, so it is an error on the ST, naming GS01."""
    assert GOOD.count(b"GS*HP*") == 1
    assert check(GOOD.replace(b"GS*HP*", b"GS*HC*")) == [("x12.gs.functional_id", 3)]
    assert check(GOOD.replace(b"GS*HP*", b"GS*FA*")) == [("x12.gs.functional_id", 3)]
    # a transaction set the table does not know is not judged
    assert check(GOOD.replace(b"GS*HP*", b"GS*ZZ*").replace(b"ST*835*", b"ST*123*")) == []
