"""Property tests of the syntax layer: whatever the delimiters and values, writing then reading is lossless,
chunking never changes the result, and a value holding a delimiter is refused."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from edi.x12.segment import Delimiters
from edi.x12.tokenizer import Tokenizer, tokenize
from edi.x12.writer import DelimiterInData, format_segment

# Characters X12 data may carry (basic and extended character sets, no control characters).
DELIMITER_CHARS = "*~:^|>!\x1c\x1d\x1e\x1f`"
DATA_CHARS = "".join(c for c in string.ascii_letters + string.digits + " \"&'()+,-./;?=%@[]_{}\\<#$"
                     if c not in DELIMITER_CHARS)


@st.composite
def delimiter_sets(draw) -> Delimiters:
    chars = draw(st.lists(st.sampled_from(DELIMITER_CHARS), min_size=4, max_size=4, unique=True))
    return Delimiters(element=chars[0], component=chars[1], repetition=chars[2], segment=chars[3])


tags = st.from_regex(r"[A-Z][A-Z0-9]{1,2}", fullmatch=True).filter(lambda t: t not in ("ISA", "IEA", "GS", "ST"))
values = st.text(alphabet=DATA_CHARS, max_size=12)
segments = st.tuples(tags, st.lists(st.one_of(values, st.tuples(values, values)), max_size=8))


def isa_for(d: Delimiters) -> str:
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "S".ljust(15), "ZZ", "R".ljust(15), "250101", "1200",
              d.repetition, "00501", "000000001", "0", "T", d.component]
    return d.element.join(fields) + d.segment


def written(d: Delimiters, segs) -> tuple[bytes, list[list[str]]]:
    texts = []
    for tag, vals in segs:
        vals = [v for v in vals]
        texts.append(format_segment(tag, vals, d))
    data = (isa_for(d) + "".join(t + d.segment for t in texts)).encode("utf-8", "surrogateescape")
    return data, [t.split(d.element) for t in texts]


@settings(max_examples=200, deadline=None)
@given(delimiter_sets(), st.lists(segments, min_size=1, max_size=10))
def test_random_segments_round_trip_through_writer_and_tokenizer(d, segs):
    data, expected = written(d, segs)
    read, problems = tokenize(data)
    assert problems == []
    assert [s.elements for s in read[1:]] == expected
    for (_tag, vals), seg in zip(segs, read[1:], strict=True):
        for i, v in enumerate(vals, 1):
            if isinstance(v, tuple) and any(v):
                assert seg.components(i) == [c for c in v][: len(seg.components(i))]


@settings(max_examples=100, deadline=None)
@given(delimiter_sets(), st.lists(segments, min_size=1, max_size=6), st.data())
def test_any_chunking_gives_the_same_segments(d, segs, data):
    raw, _ = written(d, segs)
    whole, _ = tokenize(raw)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=8)))
    tok = Tokenizer()
    chunked = []
    last = 0
    for cut in cuts + [len(raw)]:
        if cut > last:  # feed(b"") would mean end of input
            chunked += tok.feed(raw[last:cut])
        last = cut
    chunked += tok.close()
    assert [(s.elements, s.index, s.offset) for s in chunked] == [(s.elements, s.index, s.offset) for s in whole]


def test_one_byte_at_a_time_equals_whole_on_a_generated_file():
    d = Delimiters("*", ":", "^", "~")
    raw, _ = written(d, [("NM1", ["IL", "1", "DOE"]), ("SV1", [("HC", "99213"), "10"])] * 20)
    whole, _ = tokenize(raw)
    tok = Tokenizer()
    slow = []
    for i in range(len(raw)):
        slow += tok.feed(raw[i:i + 1])
    slow += tok.close()
    assert [(s.elements, s.offset) for s in slow] == [(s.elements, s.offset) for s in whole]


@settings(max_examples=200, deadline=None)
@given(delimiter_sets(), values, values, st.integers(0, 3))
def test_an_element_containing_a_delimiter_is_refused(d, before, after, which):
    bad = before + d.chars()[which] + after
    try:
        format_segment("NTE", ["ADD", bad], d)
    except DelimiterInData as exc:
        assert exc.element == "NTE02"
    else:
        raise AssertionError("a delimiter inside a value was written")
