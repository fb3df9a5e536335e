"""The tokenizer, as worked examples. Every case is also fed one byte at a time: same segments, same problems."""

from __future__ import annotations

import pytest
from x12text import isa, x12

from edi.x12.segment import Delimiters
from edi.x12.tokenizer import Tokenizer, tokenize


def one_byte_at_a_time(data: bytes):
    tok = Tokenizer()
    segs = []
    for i in range(len(data)):
        segs += tok.feed(data[i:i + 1])
    segs += tok.close()
    return segs, tok.problems


def read(data: bytes):
    segs, problems = tokenize(data)
    slow, slow_problems = one_byte_at_a_time(data)
    assert [(s.elements, s.index, s.offset) for s in segs] == [(s.elements, s.index, s.offset) for s in slow]
    assert [(p.code, p.message) for p in problems] == [(p.code, p.message) for p in slow_problems]
    return segs, problems


SIMPLE = isa() + "GS*HP*SENDER*RECEIVER*20250101*1200*1*X*005010X221A1~ST*835*0001~BPR*I*150*C*ACH~SE*3*0001~" \
    "GE*1*1~IEA*1*000000001~"


def test_delimiters_come_from_the_isa():
    segs, problems = read(SIMPLE.encode())
    assert problems == []
    assert [s.tag for s in segs] == ["ISA", "GS", "ST", "BPR", "SE", "GE", "IEA"]
    assert segs[0].delimiters == Delimiters("*", ":", "^", "~")
    assert segs[3][2] == "150"
    assert segs[3][9] == ""  # beyond the end reads as empty
    assert [s.index for s in segs] == [1, 2, 3, 4, 5, 6, 7]
    assert segs[1].offset == 106  # right after the 106-character ISA


def test_other_delimiters_and_components_on_demand():
    text = isa(element="|", component=">", repetition="!", terminator="\n")
    text += "GS|HC|S|R|20250101|1200|1|X|005010X222A1\nST|837|0001\nSV1|HC>99213>25|100|UN|1\nHI|ABK>E119!ABF>I10\n"
    segs, problems = read(text.encode())
    assert problems == []
    sv1 = segs[3]
    assert sv1.components(1) == ["HC", "99213", "25"]
    assert sv1.component(1, 2) == "99213"
    assert segs[4].repetitions(1) == ["ABK>E119", "ABF>I10"]


def test_line_breaks_after_terminators_and_indentation_are_cosmetic():
    body = SIMPLE.replace("~", "~\r\n  ")
    segs, problems = read(body.encode())
    assert problems == []
    assert [s.tag for s in segs] == ["ISA", "GS", "ST", "BPR", "SE", "GE", "IEA"]
    assert body.encode()[segs[2].offset:segs[2].offset + 3] == b"ST*"


def test_newline_as_the_terminator_with_crlf():
    text = isa(terminator="\r\n") + "GS*HP*S*R*20250101*1200*1*X*005010X221A1\r\nST*835*0001\r\nSE*2*0001\r\n"
    segs, problems = read(text.encode())
    assert problems == []
    assert segs[0].delimiters.segment == "\n"
    assert segs[2].elements == ["ST", "835", "0001"]  # no trailing CR


def test_utf8_bom_is_skipped():
    segs, problems = read(b"\xef\xbb\xbf" + SIMPLE.encode())
    assert problems == []
    assert segs[0].offset == 3


def test_isa_with_wrong_padding_still_reads():
    text = "ISA*00* *00* *ZZ*SHORT *ZZ*RECEIVER*250101*1200*^*00501*000000001*0*P*:~GS*HC*A*B*20250101*1200*1*X*V~"
    segs, problems = read(text.encode())
    assert problems == []  # the tokenizer tolerates it; validation reports the width
    assert segs[1].tag == "GS"
    assert segs[0].delimiters.component == ":"


def test_4010_header_has_no_repetition_separator():
    segs, problems = read((isa(repetition="U", version="00401") + "GS*HC*A*B*20250101*1200*1*X*004010X098A1~").encode())
    assert segs[0].delimiters.repetition is None
    assert segs[1].repetitions(8) == ["004010X098A1"]


def test_several_interchanges_each_with_its_own_delimiters():
    first = isa(1) + "GS*HP*S*R*20250101*1200*1*X*005010X221A1~ST*835*0001~SE*2*0001~GE*1*1~IEA*1*000000001~\n"
    second = isa(2, element="|", terminator="\n", component=">") + "GS|HP|S|R|20250101|1200|2|X|005010X221A1\n" \
        "ST|835|0002\nSE|2|0002\nGE|1|2\nIEA|1|000000002\n"
    segs, problems = read((first + second).encode())
    assert problems == []
    assert [s.tag for s in segs].count("ISA") == 2
    assert segs[6].tag == "ISA" and segs[6].delimiters.element == "|"
    assert segs[7].elements == ["GS", "HP", "S", "R", "20250101", "1200", "2", "X", "005010X221A1"]


def test_bare_st_is_read_with_guessed_delimiters_and_a_warning():
    segs, problems = read(b"ST*835*0001~BPR*I*10*C*CHK~SVC*HC>99213*10*10~SE*4*0001~")
    assert [p.code for p in problems] == ["x12.delimiters.guessed"]
    assert problems[0].severity.value == "warning"
    assert segs[2].components(1) == ["HC", "99213"]  # the component separator was sniffed from SVC01


def test_garbage_between_interchanges_is_skipped_and_reported_once():
    data = (SIMPLE + "\nthis is not x12 at all\n" + SIMPLE.replace("000000001", "000000002")).encode()
    segs, problems = read(data)
    assert [p.code for p in problems] == ["x12.garbage"]
    assert [s.tag for s in segs].count("ISA") == 2


def test_unterminated_last_segment_is_kept_with_a_warning():
    segs, problems = read(SIMPLE.rstrip("~").encode())
    assert segs[-1].elements == ["IEA", "1", "000000001"]
    assert [p.code for p in problems] == ["x12.segment.unterminated"]


def test_empty_segment_and_bad_tag_are_problems_not_crashes():
    data = (isa() + "GS*HP*S*R*20250101*1200*1*X*V~~st*835*1~").encode()
    segs, problems = read(data)
    assert [p.code for p in problems] == ["x12.segment.empty", "x12.segment.tag"]
    assert segs[-1].tag == "st"


def test_a_segment_longer_than_the_limit_is_skipped_not_buffered():
    tok = Tokenizer(max_segment_length=1000)
    segs = tok.feed((isa() + "GS*HP*S*R*20250101*1200*1*X*V~NTE*").encode())
    for _ in range(50):
        segs += tok.feed(b"x" * 100)  # 5,000 bytes with no terminator
        assert len(tok._buf) <= 1000 + 100
    segs += tok.feed(b"xx~ST*835*0001~")
    segs += tok.close()
    assert [s.tag for s in segs] == ["ISA", "GS", "ST"]
    assert [p.code for p in tok.problems] == ["x12.segment.too_long"]


def test_non_ascii_text_keeps_byte_offsets_and_round_trips():
    data = (isa() + "GS*HC*S*R*20250101*1200*1*X*V~NM1*IL*1*MÜLLER*JOSÉ~N3*1 MAIN~").encode()
    segs, _ = read(data)
    assert segs[2][3] == "MÜLLER"
    assert data[segs[3].offset:segs[3].offset + 2] == b"N3"


def test_bytes_that_are_not_utf8_are_kept_escaped_with_a_warning_naming_the_segment():
    data = isa().encode() + b"NM1*IL*1*M\xdcLLER*\xe9~N3*1 MAIN~N4*X\xff"  # the last one unterminated
    segs, problems = read(data)
    assert segs[1].elements == ["NM1", "IL", "1", "M\\xDCLLER", "\\xE9"]
    assert segs[3].elements == ["N4", "X\\xFF"]
    assert segs[2].offset == data.index(b"N3")  # offsets stay the file's
    found = [(p.code, p.where.segment, p.where.tag) for p in problems if p.code == "x12.text.not_utf8"]
    assert found == [("x12.text.not_utf8", 2, "NM1"), ("x12.text.not_utf8", 4, "N4")]
    assert all("DCLLER" not in p.message for p in problems)  # never the value
    assert all(s.elements == [e.encode("utf-8").decode("utf-8") for e in s.elements] for s in segs)


def test_bytes_that_are_not_utf8_are_reported_per_segment_up_to_a_limit_then_once():
    from edi.x12.tokenizer import NOT_UTF8_REPORTED

    data = isa().encode() + b"N3*\xff~" * (NOT_UTF8_REPORTED + 50)
    _, problems = read(data)
    assert len([p for p in problems if p.code == "x12.text.not_utf8"]) == NOT_UTF8_REPORTED + 1


def test_feed_after_close_is_refused():
    tok = Tokenizer()
    tok.close()
    with pytest.raises(ValueError):
        tok.feed(b"ISA")


def test_segments_must_be_read_before_the_next_feed():
    tok = Tokenizer()
    pending = tok.segments(SIMPLE.encode())
    with pytest.raises(RuntimeError):
        tok.feed(b"more")
    assert len(list(pending)) == 7


def test_x12_helper_reads_like_a_file():
    segs, _ = read(x12("""
        ST*835*0001~
        BPR*I*1*C*CHK~
        SE*3*0001~
    """))
    assert [s.tag for s in segs] == ["ST", "BPR", "SE"]


class Careful(Tokenizer):
    """The tokenizer with its hot path (``_lean``: runs of segments made by C code) switched off: every piece
    goes through the careful loop. What the hot path gives must be exactly what this gives."""

    def _lean(self, pieces, start, step, end, lists):
        self._pos = start
        yield from self._split(pieces, step, True, end - start, lists)


NORMAL = ["CLP*A*1*10*10", "CAS*CO*45*1", "DTM*472*20250101", "LX*1"]
ODD = ["", "  NM1*QC*1*DOE", "ab*1", "\tREF*6R*X", "TOOLONG*1"]


def mixed_file(terminator: str, count: int, *, iea_every: int, odd_every: int, odd_break: str | None = None,
               break_every: int = 0) -> bytes:
    """Interchanges of ``count`` ordinary segments with, every ``odd_every``, an odd one (blank, indented, a bad
    tag), every ``iea_every`` an IEA and a new ISA, and (``break_every``) a line break ``odd_break`` instead of
    the terminator. The element separator is "|" when the terminator is "~...", else "*"."""
    sep = "|" if terminator.startswith("~") else "*"
    header = isa(element=sep, terminator=terminator)
    lines = []
    for i in range(1, count):
        if i % iea_every == 0:
            lines.append(f"IEA{sep}1{sep}000000001{terminator}{header}")
        elif i % odd_every == 0:
            lines.append(ODD[i // odd_every % len(ODD)].replace("*", sep) + terminator)
        else:
            end = odd_break if break_every and i % break_every == 100 else terminator
            lines.append(NORMAL[i % len(NORMAL)].replace("*", sep) + end)
    return (header + "".join(lines)).encode()


@pytest.mark.parametrize("terminator", ["~", "~\n", "~\r\n", "\n", "\r\n", "\n with some CR LF", "CR LF, some LF"])
@pytest.mark.parametrize("chunk", [1, 50, 4096, 1 << 20])
def test_the_hot_path_reads_exactly_what_the_careful_loop_reads(terminator, chunk):
    """Long runs of ordinary segments with, here and there, an odd one (blank, indented, a bad tag), the end of
    an interchange, or a line break other than the others."""
    other = {"\n with some CR LF": ("\n", "\r\n"), "CR LF, some LF": ("\r\n", "\n")}
    terminator, odd_break = other.get(terminator, (terminator, terminator))
    data = mixed_file(terminator, 1500, iea_every=400, odd_every=173, odd_break=odd_break, break_every=211)
    fast, careful = (read_in_pieces(data, chunk, kind=kind) for kind in (Tokenizer, Careful))
    assert fast == careful
    segs, problems = fast
    assert len(segs) > 1400 and {code for code, _, _ in problems} >= {"x12.segment.tag"}


@pytest.mark.parametrize("terminator", ["~", "~\n", "~\r\n", "\n", "\r\n"])
def test_a_feed_longer_than_the_window_reads_like_small_feeds(terminator):
    """A feed longer than the tokenizer's window (it reads such a feed a window at a time, to work in the CPU
    cache) gives exactly what the same bytes fed in small pieces give: segments, positions, element lists
    and problems, with odd segments and interchange ends here and there."""
    from edi.x12.tokenizer import _WINDOW

    data = mixed_file(terminator, 30000, iea_every=4000, odd_every=1733)
    assert len(data) > 2 * _WINDOW

    for method in ("segments", "elements"):
        assert read_in_pieces(data, None, method) == read_in_pieces(data, 997, method)
    segs, problems = read_in_pieces(data, None)
    assert len(segs) > 29000 and {code for code, _, _ in problems} >= {"x12.segment.tag"}


def read_in_pieces(data: bytes, size: int | None, method: str = "segments", max_segment_length: int = 1 << 20,
                   kind: type[Tokenizer] = Tokenizer):
    """What the tokenizer (or ``kind``) gives for ``data`` fed whole (``size`` None) or in pieces of ``size``
    bytes: segments (elements, number, offset, delimiters) or element lists, and problems (code, message,
    where)."""
    tok = kind(max_segment_length=max_segment_length)
    pieces = [data] if size is None else [data[i:i + size] for i in range(0, len(data), size)]
    out = []
    for piece in [*pieces, b""]:
        out += getattr(tok, method)(piece)
    if method == "segments":
        out = [(s.elements, s.index, s.offset, s.delimiters) for s in out]
    return out, [(p.code, p.message, p.where) for p in tok.problems]


ISA = isa().encode()


@pytest.mark.parametrize("data, limit, expected", [
    # segments after an IEA, with no new ISA: kept, with a warning, wherever the input is cut after the IEA
    (ISA + b"IEA*1*000000001~NM1*QC*1~", 1 << 20, {"x12.delimiters.reused"}),
    (ISA + b"\nIEA*1*000000001~\nNM1*QC*1~\n", 1 << 20, {"x12.delimiters.reused"}),
    # a segment of exactly the length limit is kept: the line break before it does not count
    (ISA + b"\nNTE*" + b"A" * 116 + b"~\nNM1*X~\n", 120, set()),
    (ISA[:-1] + b"\r\nNTE*" + b"A" * 116 + b"\r\nNM1*X\r\n", 120, set()),
    # a segment over the limit is reported at its first byte, not at the line break before it
    (ISA + b"\nNTE*" + b"A" * 125 + b"~\nNM1*X~\n", 120, {"x12.segment.too_long"}),
    # white space between two terminators is an empty segment, reported at its terminator
    (ISA + b"\nREF*1~\n~\nNM1*X~\n", 1 << 20, {"x12.segment.empty"}),
    (ISA + b"\nREF*1~\n~\nNM1*X~LX*1~", 1 << 20, {"x12.segment.empty"}),
])
def test_where_the_input_is_cut_changes_nothing(data, limit, expected):
    """Each of these once read differently when fed in small pieces than whole (a long feed is read a window
    at a time, so a whole file is cut too): now every piece size gives what the whole feed gives."""
    for method in ("segments", "elements"):
        whole = read_in_pieces(data, None, method, limit)
        assert {code for code, _, _ in whole[1]} == expected
        for size in range(1, 8):
            assert read_in_pieces(data, size, method, limit) == whole, (method, size)


def test_line_breaks_as_terminators_read_like_tildes():
    """A file whose segments end with a line break (LF or CR LF) gives the same segments as with "~\\n"."""
    lines = [f"DTM*472*2025{i % 12 + 1:02d}01" if i % 3 else f"CAS*CO*45*{i}" for i in range(700)]
    tilde, _ = tokenize((isa() + "\n" + "~\n".join(lines) + "~\n").encode())
    for brk in ("\n", "\r\n"):
        data = (isa(terminator=brk) + brk.join(lines) + brk).encode()
        segs, problems = tokenize(data)
        assert problems == []
        assert [s.elements for s in segs] == [s.elements for s in tilde]
        assert [s.index for s in segs] == list(range(1, 702))
        assert all(data[s.offset:].startswith(s.text().encode() + brk.encode()) for s in segs)


def test_blank_lines_and_stray_carriage_returns_with_line_break_terminators():
    for brk, body in (("\n", "LX*1\r\nLX*2\n\nLX*3\n  \nLX*4\n"), ("\r\n", "LX*1\r\nLX*2\nLX*3\r\n\r\nLX*4\r\n")):
        data = (isa(terminator=brk) + body).encode()
        segs, problems = read(data)
        assert problems == []
        assert [s.elements for s in segs[1:]] == [["LX", "1"], ["LX", "2"], ["LX", "3"], ["LX", "4"]]
        assert [data[s.offset:s.offset + 4] for s in segs[1:]] == [b"LX*1", b"LX*2", b"LX*3", b"LX*4"]
