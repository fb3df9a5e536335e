"""Segment, as worked examples: what a reader may rely on, however the segment was made (by hand, or by the
tokenizer's hot path, which builds segments by C code alone and works numbers and offsets out on demand)."""

from __future__ import annotations

import copy
import pickle

import pytest
from x12text import isa

from edi.x12.segment import Delimiters, Segment
from edi.x12.tokenizer import Tokenizer


def test_a_segment_made_by_hand():
    seg = Segment(["SVC", "HC:99213:25", "100", "80", "", "1"], index=14, offset=907)
    assert seg.tag == "SVC" and seg[0] == "SVC"
    assert seg[1] == "HC:99213:25" and seg[5] == "1"
    assert seg[6] == "" and seg[99] == ""  # beyond the end reads as empty
    assert len(seg) == 5  # elements, not counting the tag
    assert seg.elements == ["SVC", "HC:99213:25", "100", "80", "", "1"]
    assert (seg.index, seg.offset) == (14, 907)
    assert seg.delimiters == Delimiters()  # the default *, :, ^, ~
    assert seg.components(1) == ["HC", "99213", "25"]
    assert seg.component(1, 2) == "99213" and seg.component(1, 4) == "" and seg.component(4, 1) == ""
    assert seg.components(4) == [] and seg.components(9) == []
    assert seg.text() == "SVC*HC:99213:25*100*80**1"
    assert repr(seg) == "Segment('SVC*HC:99213:25*100*80**1', index=14, offset=907)"


def test_defaults_and_other_delimiters():
    seg = Segment(["HI", "ABK>E119!ABF>I10"], delimiters=Delimiters("|", ">", "!", "\n"))
    assert (seg.index, seg.offset) == (0, 0)
    assert seg.repetitions(1) == ["ABK>E119", "ABF>I10"]
    assert seg.components(1) == ["ABK", "E119!ABF", "I10"]  # components of the unsplit element
    assert seg.text() == "HI|ABK>E119!ABF>I10"
    assert Segment(["GS", "HC"], delimiters=Delimiters(repetition=None)).repetitions(1) == ["HC"]  # 4010


def test_equal_when_the_elements_are_wherever_they_were_read():
    a = Segment(["REF", "6R", "X"], index=3, offset=40)
    b = Segment(["REF", "6R", "X"], index=9, offset=700)
    assert a == b and hash(a) == hash(b)
    assert (a != b) is False  # != is the opposite of ==, not a comparison of tuples
    assert a != Segment(["REF", "6R", "Y"])
    assert len({a, b}) == 1
    assert a != ("REF", "6R", "X") and a != ["REF", "6R", "X"]  # a segment is no tuple or list of its values


def test_iterating_gives_the_tag_then_the_elements():
    seg = Segment(["N4", "CITY", "IL", "62701"])
    assert list(seg) == ["N4", "CITY", "IL", "62701"]
    assert "IL" in seg and "XX" not in seg
    assert seg.count("IL") == 1
    assert bool(Segment(["LX", "1"])) and not Segment(["SE"])  # truth is len(): elements besides the tag


def test_a_segment_cannot_be_ordered_or_changed_like_a_tuple():
    seg = Segment(["LX", "1"])
    with pytest.raises(TypeError):
        _ = seg < seg
    with pytest.raises(TypeError):
        _ = seg + seg
    with pytest.raises(TypeError):
        _ = seg * 2
    with pytest.raises(AttributeError):
        seg.tag = "XX"  # type: ignore[misc]


def test_copies_and_pickles_keep_elements_and_position():
    seg = Segment(["CLP", "PCN1", "1", "100"], index=14, offset=907, delimiters=Delimiters("|", ">", None, "~"))
    for twin in (copy.copy(seg), copy.deepcopy(seg), pickle.loads(pickle.dumps(seg))):
        assert type(twin) is Segment
        assert twin == seg
        assert (twin.index, twin.offset, twin.delimiters) == (14, 907, seg.delimiters)


def test_segments_from_a_tokenizer_fed_in_chunks_know_where_they_are():
    body = "".join(f"DTM*472*2025{i % 12 + 1:02d}01~\nCAS*CO*45*{i}~\n" for i in range(400))
    data = (isa() + "\n" + body + "IEA*1*000000001~\n").encode()
    tok = Tokenizer()
    segs = []
    for i in range(0, len(data), 9000):  # segments cross chunk ends; a chunk holds several runs of 256
        segs += tok.segments(data[i:i + 9000])
    segs += tok.segments(b"")
    assert tok.problems == []
    assert [s.index for s in segs] == list(range(1, 803))  # ISA, 800 segments, IEA
    for seg in segs:  # offsets point at the segment's bytes, the elements are those bytes
        raw = data[seg.offset:].split(b"~", 1)[0].decode()
        assert raw == seg.text() and raw.split("*") == seg.elements
        assert seg.delimiters == Delimiters("*", ":", "^", "~")
    assert isinstance(segs[500], Segment)
    assert segs[500] == Segment(segs[500].elements)
    assert segs[-1].tag == "IEA" and segs[-1][2] == "000000001" and segs[-1][3] == ""


def test_a_kept_segment_keeps_its_position_after_the_tokenizer_moved_on():
    data = (isa() + "\n" + "LX*1~\n" * 1000).encode()
    tok = Tokenizer()
    kept = [seg for seg in tok.segments(data) if seg.index in (2, 700)]
    list(tok.segments(b""))
    assert [(s.index, s.offset) for s in kept] == [(2, 107), (700, 107 + 698 * 6)]
    assert data[kept[1].offset:kept[1].offset + 5] == b"LX*1~"
