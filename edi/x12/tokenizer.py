"""A sans-IO streaming X12 tokenizer: bytes in, ``Segment``s out.

    tok = Tokenizer(file="remit.835")
    for chunk in chunks:
        for seg in tok.feed(chunk):
            ...
    for seg in tok.close():          # end of input: flushes an unterminated last segment
        ...
    tok.problems                     # syntax problems found so far (warnings and errors)

The tokenizer owns no file and no socket. Chunks may be of any size: feeding one byte at a time gives the
same segments as feeding the whole file, and memory holds at most one incomplete segment (a segment longer
than ``max_segment_length`` is reported and skipped, never buffered without bound).

Delimiters come from each ISA: the element separator is the character after ``ISA``, the repetition
separator is ISA11 (none for a 4010 ``U``), the component separator is ISA16 and the segment terminator is
the character right after ISA16. The ISA is located by counting element separators, so an ISA whose fixed
width is off still reads. Line breaks after terminators, a newline used *as* the terminator, a UTF-8 BOM
and indentation are tolerated. A file that starts with a bare GS or ST is read with delimiters guessed
from that segment, with a warning saying so. Several interchanges per file may each use their own
delimiters.

Text is UTF-8. A byte that is not (a Latin-1 byte E9 for an e acute, a stray byte) is kept as four characters,
a backslash, ``x`` and two hex digits (``\\xE9``) in the element, with a warning (``x12.text.not_utf8``, naming the
segment, never the value): one rule, so that every reader, the ledger (whose drivers refuse text that is not
UTF-8), the exports and every output (which a UTF-8 locale encodes strictly) see printable text, and nothing
is lost or guessed. Byte offsets stay those of the file.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator
from itertools import chain, repeat
from operator import attrgetter, itemgetter

from edi.problems import ERROR, WARNING, Problem, Problems, Where
from edi.x12.segment import Delimiters, LazyOffsets, Run, Segment, make_segment

#: Whitespace that may precede a segment tag (after a terminator): never an X12 delimiter in practice.
_LEADING = " \t\r\n\x0b\x0c"
_WS_BYTES = b" \t\r\n\x0b\x0c"
_BOM = b"\xef\xbb\xbf"
_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
_ISA_ELEMENTS = 16
#: How far past "ISA" we look for the 16 element separators before calling the header broken.
_ISA_SEARCH = 512
#: A component separator guessed from a service or diagnosis composite when there is no ISA.
_COMPONENT_SNIFF = re.compile(
    rb"(?:SVC|SV1|SV2|SV3|HI)[^A-Za-z0-9 ](?:HC|AD|ER|IV|N4|NU|WK|ZZ|ABK|ABF|ABJ|APR|BK|BF|BJ|BP|BR|BQ)([^A-Za-z0-9 ])"
)

DEFAULT_MAX_SEGMENT_LENGTH = 1 << 20
#: A feed longer than this is read a window of this many bytes at a time, so that each window's text is
#: decoded, split and made into segments while it is still in the CPU cache (measured on a 20 MB 835 fed in
#: 1 MiB chunks: segments 8% faster, element lists 16%). The same segments as one feed: any chunking is.
_WINDOW = 1 << 17
_SNIFF_WINDOW = 1 << 16

_DETECT, _SEGMENTS, _SKIP = 0, 1, 2
#: Segments per run (a batch of element lists made at once, and a Run shared by their Segments): small enough
#: to stay in the CPU cache (and under the garbage collector's first threshold of 700 new objects), large
#: enough to make the per-run work negligible.
_BATCH = 256
#: A segment's place in its run of ``_BATCH``: small ints, which Python never allocates.
_PLACES = tuple(range(_BATCH))
_ELEMENTS = attrgetter("elements")
_TAG_OF = itemgetter(0)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


#: A byte that is not UTF-8, as ``_decode`` leaves it (a lone surrogate U+DC80..U+DCFF).
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
#: How many segments holding bytes that are not UTF-8 are reported one by one (then once more, in a sum).
NOT_UTF8_REPORTED = 20


def _hex(m: re.Match) -> str:
    return f"\\x{ord(m.group()) - 0xDC00:02X}"


def escape_bytes(text: str) -> str:
    """``text`` with each byte that was not UTF-8 (a lone surrogate from ``surrogateescape``) as ``\\xNN``."""
    return _NOT_UTF8.sub(_hex, text)


class Tokenizer:
    """Turn a byte stream into segments. See the module docstring."""

    def __init__(self, *, file: str | None = None, max_segment_length: int = DEFAULT_MAX_SEGMENT_LENGTH) -> None:
        self.file = file
        self.max_segment_length = max_segment_length
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        #: Delimiters of the interchange being read (None before the first header).
        self.delimiters: Delimiters | None = None
        self._buf = b""
        self._pos = 0  # absolute byte offset of self._buf[0]
        self._index = 0  # segments emitted so far
        self._state = _DETECT
        self._started = False  # the BOM check has been made
        self._term = b"~"
        self._term_str = "~"
        self._newline = False  # the terminator is a line break (strip a trailing CR)
        self._closed = False
        self._busy = False
        self._not_utf8 = 0  # segments found holding bytes that are not UTF-8
        self._garbage_at: int | None = None  # start of a run of skipped non-X12 bytes
        self._good_tags: set[str] = set()  # well-formed tags seen (never "IEA": it ends an interchange)

    # -- public API ---------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Segment]:
        """Add bytes; return the segments they complete. ``feed(b"")`` means end of input."""
        return list(self.segments(data))

    def close(self) -> list[Segment]:
        """End of input: return what is left (an unterminated last segment is kept, with a warning)."""
        return list(self.segments(b""))

    def segments(self, data: bytes) -> Iterator[Segment]:
        """Like :meth:`feed`, but yields the segments one by one (faster for streaming readers: nothing
        accumulates). The bytes are taken at once; iterate to the end before the next call."""
        start = self._take(data[:_WINDOW] if len(data) > _WINDOW else data)
        if start is None:
            return iter(())
        # The machine below yields *runs* (iterables of segments), flattened here: the consumer's next()
        # goes straight to the generator or list of the current run instead of through every generator
        # of the machine (see _segments).
        if len(data) > _WINDOW:
            return chain.from_iterable(self._windows(start, data, False))
        return chain.from_iterable(self._drive(*start, False))

    def elements(self, data: bytes) -> Iterator[list[str]]:
        """Like :meth:`segments`, but yields only each segment's element list (``[tag, el1, el2, ...]``), for
        readers that build their own objects. The n-th list yielded since the start of input is segment
        number n (``Segment.index``); the delimiters in force are ``self.delimiters``. Nothing is read
        until the iteration starts."""
        return chain.from_iterable(self._element_runs(data))

    def _element_runs(self, data: bytes) -> Iterator[Iterable[list[str]]]:
        start = self._take(data[:_WINDOW] if len(data) > _WINDOW else data)
        if start is not None:
            yield from self._windows(start, data, True) if len(data) > _WINDOW else self._drive(*start, True)

    def _windows(self, start: tuple[bytes, bool], data: bytes, lists: bool) -> Iterator[Iterable]:
        """The runs of ``data``, a feed longer than ``_WINDOW``, read a window at a time (the first one already
        taken as ``start``): as if the caller had fed it in pieces of that size, which gives the same segments."""
        yield from self._drive(*start, lists)
        for i in range(_WINDOW, len(data), _WINDOW):
            more = self._take(data[i:i + _WINDOW])
            if more is not None:
                yield from self._drive(*more, lists)

    def _take(self, data: bytes) -> tuple[bytes, bool] | None:
        """Accept the bytes of one feed: (buffer, end of input), or None when there is nothing to do."""
        if self._closed:
            if data:
                raise ValueError("feed() after end of input")
            return None
        if self._busy:
            raise RuntimeError("the segments of the previous feed() were not all read")
        eof = not data
        buf = self._buf + data if self._buf else data
        self._buf = b""
        if eof:
            self._closed = True
        self._busy = True
        return buf, eof

    def _drive(self, buf: bytes, eof: bool, lists: bool) -> Iterator[Iterable]:
        """Run the machine over ``buf``, yielding runs of segments (element lists when ``lists``)."""
        try:
            while buf:
                if self._state == _DETECT:
                    buf = self._detect(buf, eof)
                elif self._state == _SEGMENTS:
                    buf = yield from self._segments(buf, eof, lists)
                else:
                    buf = self._skip(buf, eof)
                if buf is None:  # need more data
                    break
            if eof:
                self._end_garbage()
        finally:
            self._busy = False

    def pop_problems(self) -> list[Problem]:
        """Problems found since the last call (and forget them)."""
        found, self.problems = self.problems, Problems()
        return found

    # -- the machine -------------------------------------------------------------------------------------

    def _problem(self, code: str, message: str, severity=ERROR, *, offset: int | None = None, **where) -> None:
        if offset is not None and "segment" not in where:
            message = f"{message} (byte {offset})"
        self.problems.append(Problem(code, message, severity, Where(file=self.file, **where)))

    def _keep(self, buf: bytes) -> None:
        self._buf = buf

    def _advance(self, buf: bytes, n: int) -> bytes:
        self._pos += n
        return buf[n:]

    # DETECT: at the start of the file or after an IEA, find the next interchange header.
    def _detect(self, buf: bytes, eof: bool) -> bytes | None:
        if not self._started:
            if len(buf) < len(_BOM) and _BOM.startswith(buf) and not eof:
                self._keep(buf)
                return None
            self._started = True
            if buf.startswith(_BOM):
                buf = self._advance(buf, len(_BOM))
        stripped = buf.lstrip(_WS_BYTES)
        buf = self._advance(buf, len(buf) - len(stripped))
        if not buf:
            return buf
        if len(buf) < 4 and not eof:
            # every choice below reads up to four bytes ("ISA" and its separator, a tag and the separator after
            # it): made on fewer, it would depend on where the input was cut
            self._keep(buf)
            return None
        if buf.startswith(b"ISA") and len(buf) >= 4:
            self._end_garbage()
            return self._read_isa(buf, eof)
        if self._garbage_at is not None:
            return self._garbage(buf, eof)
        if self.delimiters is None and buf[:2] in (b"GS", b"ST") and len(buf) >= 3:
            return self._bare_header(buf, eof)
        if self.delimiters is not None and self._looks_like_segment(buf):
            # After an IEA: segments go on with no ISA. Keep reading them with the same delimiters.
            self._problem("x12.delimiters.reused", "segments follow an IEA without a new ISA header; "
                          "they are read with the previous interchange's delimiters", WARNING, offset=self._pos)
            self._state = _SEGMENTS
            return buf
        return self._garbage(buf, eof)

    def _looks_like_segment(self, buf: bytes) -> bool:
        d = self.delimiters
        assert d is not None
        head = buf[:4]
        sep = d.element.encode("utf-8", "surrogateescape")
        k = head.find(sep)
        return 2 <= k <= 3 and head[:k].isalnum() and head[:k].isupper()

    def _garbage(self, buf: bytes, eof: bool) -> bytes | None:
        """Bytes that are not X12: skip to the next "ISA", reporting the skipped run once."""
        if self._garbage_at is None:
            self._garbage_at = self._pos
        k = buf.find(b"ISA", 1)
        if k >= 0:
            buf = self._advance(buf, k)
            self._end_garbage()
            return buf
        keep = 0 if eof else min(2, len(buf))  # the tail may begin an "ISA" completed by the next chunk
        buf = self._advance(buf, len(buf) - keep)
        if eof:
            self._end_garbage()
            return b""
        self._keep(buf)
        return None

    def _end_garbage(self) -> None:
        start, self._garbage_at = self._garbage_at, None
        if start is not None and self._pos > start:
            self._problem("x12.garbage", f"{self._pos - start} bytes that are not X12 were skipped",
                          offset=start)

    def _read_isa(self, buf: bytes, eof: bool) -> bytes | None:
        sep = buf[3:4]
        if sep.isalnum() or sep in _WS_BYTES:
            self._problem("x12.isa.delimiters", "the character after ISA is not a usable element separator",
                          offset=self._pos)
            return self._skip_header(buf)
        p = 3
        for _ in range(_ISA_ELEMENTS - 1):
            p = buf.find(sep, p + 1, _ISA_SEARCH)
            if p < 0:
                break
        need_more = p < 0 or len(buf) < p + 4
        if need_more:
            if not eof and len(buf) < _ISA_SEARCH:
                self._keep(buf)
                return None
            self._problem("x12.isa.truncated", "the ISA header is incomplete: fewer than 16 elements "
                          "or no segment terminator after ISA16", offset=self._pos)
            return self._skip_header(buf)
        # p is the separator before ISA16; ISA16 is one character, the terminator follows it.
        component = buf[p + 1:p + 2]
        term = buf[p + 2:p + 3]
        fields = buf[4:p].split(sep)
        isa11 = fields[10] if len(fields) > 10 else b""
        newline = False
        if term in (b"\r", b"\n"):
            if term == b"\r" and len(buf) > p + 3 and buf[p + 3:p + 4] == b"\n":
                term = b"\n"
            elif term == b"\r" and len(buf) <= p + 3 and not eof:
                self._keep(buf)
                return None
            newline = True
        repetition = None
        if len(isa11) == 1 and not isa11.isalnum() and isa11 not in (sep, component, term) and isa11 != b" ":
            repetition = _decode(isa11)
        delims = Delimiters(_decode(sep), _decode(component), repetition, "\n" if newline and term == b"\n"
                            else _decode(term))
        why = delims.check()
        if why:
            self._problem("x12.isa.delimiters", f"the ISA delimiters cannot be used: {why}", offset=self._pos)
            return self._skip_header(buf)
        self._set_delimiters(delims, term, newline)
        self._state = _SEGMENTS
        return buf

    def _skip_header(self, buf: bytes) -> bytes:
        """A broken ISA: nothing in this interchange can be read reliably; look for the next one."""
        k = buf.find(b"ISA", 3)
        if k < 0:
            self._advance(buf, len(buf))
            self._state = _DETECT
            self._started = True
            return b""
        return self._advance(buf, k)

    def _bare_header(self, buf: bytes, eof: bool) -> bytes | None:
        """A file that starts with GS or ST: guess the delimiters from that segment (and the component
        separator from the first composites of the first 64 KiB, which are awaited so that the guess does
        not depend on how the input is chunked)."""
        if not eof and len(buf) < _SNIFF_WINDOW:
            self._keep(buf)
            return None
        window = buf[:_ISA_SEARCH]
        sep = window[2:3]
        if sep.isalnum() or sep in _WS_BYTES:
            return self._garbage(buf, eof)
        # GS has 8 elements and ST up to 3; the last is alphanumeric, and the character after it ends the segment.
        want = 8 if window.startswith(b"GS") else 2
        p = 2
        for _ in range(want - 1):
            p = window.find(sep, p + 1)
            if p < 0:
                break
        if p >= 0:
            q = p + 1
            while q < len(window) and (window[q:q + 1].isalnum() or window[q:q + 1] in b" .-"):
                q += 1
            if want == 2 and window[q:q + 1] == sep:  # ST03
                q += 1
                while q < len(window) and (window[q:q + 1].isalnum() or window[q:q + 1] in b" .-"):
                    q += 1
            term = window[q:q + 1]
        else:
            term = b""
        if not term:
            if not eof and len(buf) < _ISA_SEARCH:
                self._keep(buf)
                return None
            return self._garbage(buf, eof)
        newline = term in (b"\r", b"\n")
        if term == b"\r" and window[q + 1:q + 2] == b"\n":
            term = b"\n"
        sniff = _COMPONENT_SNIFF.search(buf[:_SNIFF_WINDOW])
        component = _decode(sniff.group(1)) if sniff and sniff.group(1) not in (sep, term) else ":"
        repetition = "^" if "^" not in (_decode(sep), component, _decode(term)) else None
        delims = Delimiters(_decode(sep), component, repetition, _decode(term))
        if delims.check():
            return self._garbage(buf, eof)
        self._problem(
            "x12.delimiters.guessed",
            f"no ISA header: delimiters guessed from the {buf[:2].decode()} segment "
            f"(element {delims.element!r}, segment {delims.segment!r}, component {delims.component!r}"
            f"{', repetition ' + repr(delims.repetition) if delims.repetition else ''})",
            WARNING,
            offset=self._pos,
        )
        self._set_delimiters(delims, term, newline)
        self._state = _SEGMENTS
        return buf

    def _set_delimiters(self, delims: Delimiters, term: bytes, newline: bool) -> None:
        self.delimiters = delims
        self._term = term
        self._term_str = _decode(term)
        self._newline = newline

    # SEGMENTS: split on the terminator; after an IEA go back to DETECT (the next ISA may differ).
    def _segments(self, buf: bytes, eof: bool, lists: bool) -> Generator[Iterable, None, bytes | None]:
        """Split the complete segments of ``buf`` and yield them as runs: iterables that ``chain`` flattens.
        A run updates ``_pos``, ``_index`` and ``_state`` once it has been read to its end; when an IEA ended
        the interchange (the state is DETECT again) the bytes after it are returned for detection, else the
        unterminated tail is returned (None: keep it and wait for more data)."""
        origin = self._pos
        term = self._term
        last = buf.rfind(term)
        if last < 0:
            if eof:
                yield map(_ELEMENTS, self._last_piece(buf)) if lists else self._last_piece(buf)
                return b""
            if len(buf) > self.max_segment_length:
                # the limit is on the segment, without the line break before it (or a CR before a newline
                # terminator): as it is counted when the whole segment is in one block (see _split)
                lead = len(buf) - len(buf.lstrip(_WS_BYTES))  # (copies: only once over the limit)
                size = len(buf) - lead - (1 if self._newline and buf.endswith(b"\r") else 0)
                if size > self.max_segment_length:
                    self._too_long(size, offset=self._pos + lead)
                    self._state = _SKIP
                    return self._advance(buf, len(buf))
            self._keep(buf)
            return None
        rest = buf[last + len(term):]
        # the block before the last terminator, decoded without copying it out of buf first
        text = str(memoryview(buf)[:last], "utf-8", "surrogateescape")
        ascii_only = text.isascii()  # a flag of the str, and true exactly when the bytes are ASCII
        sep = self._term_str
        pieces = None
        lean = ascii_only  # the pieces can take the hot path (_lean)
        if not self._newline:
            # Split on "~\n" (or "~\r\n") when every terminator in the block is followed by it (as many
            # terminators as splits): the common layout then needs no stripping.
            for brk in ("\n", "\r\n"):
                split = text.split(sep + brk)
                if len(split) > 1 and text.count(sep) == len(split) - 1:
                    pieces, sep = split, sep + brk
                    break
        elif text.endswith("\r"):
            # Lines end with CR LF (the block stops before the last LF): split on CR LF when no other CR or LF
            # is left in the lines; else _split strips each line's CR.
            lines = text[:-1]
            split = lines.split("\r\n")
            if lines.count("\r") == len(split) - 1 == lines.count("\n"):
                pieces, sep = split, "\r\n"
            else:
                lean = False
        elif "\r" in text:
            lean = False  # some line ends with CR LF, some not
        if pieces is None:
            pieces = text.split(sep)
        # bytes this block covers: the block and the terminator after it (its line break, if any, is in rest)
        span = last + len(term)
        maxlen = self.max_segment_length
        if lean and (last <= maxlen or max(map(len, pieces)) <= maxlen):
            start = origin
            first = pieces[0]
            if first and first[0] in _LEADING:  # the line break after the previous block's last terminator
                s = first.lstrip(_LEADING)
                if s:
                    start += len(first) - len(s)
                    pieces[0] = s
                elif self._newline:  # a blank line
                    start += len(first) + len(sep)
                    del pieces[0]
                # else: white space and a terminator, an empty segment: _split reports it (its tag is no tag)
            yield from self._lean(pieces, start, len(sep), origin + span, lists)
        else:
            yield from self._split(pieces, len(sep), ascii_only, span, lists)
        if self._state == _DETECT:  # an IEA ended the interchange: the rest is read afresh
            return buf[self._pos - origin:]
        return rest

    def _lean(self, pieces: list[str], start: int, step: int, end: int, lists: bool) -> Iterator[Iterable]:
        """The hot path (ASCII, a printable terminator, no piece over the segment limit): the same as
        :meth:`_split` with the checks that cannot fire left out, as runs of at most ``_BATCH`` segments
        (element lists when ``lists``), each made and checked by C-level iteration (the runs stay small so
        that the lists are read while still in the CPU cache). ``start`` is the byte offset of the first
        piece, ``step`` the length of the separator after each piece and ``end`` the offset after them.

        Only segments whose tag is already known good (``_good_tags``: well-formed, not IEA) take the fast
        path; from a batch with anything else (an empty piece, white space before the tag, an IEA, a bad tag)
        on, :meth:`_split` reads the rest."""
        d = self.delimiters
        assert d is not None
        esep = d.element
        good = self._good_tags
        first = self._index + 1
        offsets = None if lists else LazyOffsets(pieces, start, step)  # shared by the runs of this block
        for i in range(0, len(pieces), _BATCH):
            part = pieces[i:i + _BATCH]
            batch = list(map(str.split, part, repeat(esep)))
            # segments: Segment(elements, index, offset, d) for each, by C code alone: the elements and the
            # segment's place in a Run that works out numbers and offsets when asked (see Segment)
            if not good.issuperset(map(_TAG_OF, batch)):
                k = self._lean_prefix(batch)
                if k < len(batch):
                    if k:
                        yield batch[:k] if lists else map(make_segment, zip(
                            batch[:k], _PLACES, repeat(Run(first + i, d, offsets, i))))
                    self._index = first + i + k - 1
                    self._pos = start + sum(map(len, pieces[:i + k])) + (i + k) * step
                    yield from self._split(pieces[i + k:], step, True, end - self._pos, lists)
                    return
            if lists:
                yield batch
            else:
                yield map(make_segment, zip(batch, _PLACES, repeat(Run(first + i, d, offsets, i))))
        self._index = first - 1 + len(pieces)
        self._pos = end

    def _lean_prefix(self, batch: list[list[str]]) -> int:
        """The number of leading element lists of ``batch`` that :meth:`_lean` would read (tags found well
        formed are remembered)."""
        good = self._good_tags
        for k, elements in enumerate(batch):
            tag = elements[0]
            if tag not in good:
                if tag[:1] <= " " or tag == "IEA" or not _TAG.match(tag):
                    return k
                good.add(tag)
        return len(batch)

    def _split(self, pieces: list[str], step: int, ascii_only: bool, span: int, lists: bool
               ) -> Generator[Iterable, None, None]:
        """Turn the pieces of a block into segments (element lists when ``lists``), yielded in runs of at most
        ``_BATCH`` like :meth:`_lean`'s. ``step`` is the length of the separator the pieces were split on
        (terminator and line break); ``span`` the bytes the pieces cover with their terminators. An IEA ends
        the run (the next interchange may use other delimiters): the state goes back to DETECT and ``_pos``
        is right after the IEA's terminator. ``_index`` and ``_pos`` are updated once the last run is read."""
        d = self.delimiters
        assert d is not None
        esep = d.element
        pos = self._pos
        base = pos
        idx = self._index
        newline = self._newline
        maxlen = self.max_segment_length
        good = self._good_tags
        lead = _LEADING
        batch: list[list[str]] = []  # the element lists of the run being filled, and their byte offsets
        offsets: list[int] = []
        add, place = batch.append, offsets.append
        end = base + span
        for piece in pieces:
            start = pos
            plen = len(piece) if ascii_only else len(piece.encode("utf-8", "surrogateescape"))
            pos += plen + step
            if piece[:1] <= " ":  # empty, or starts with a line break, space or control character
                s = piece.lstrip(lead)
                if not s:
                    if not newline:  # nothing but white space before a terminator (a blank line is no segment)
                        self._problem("x12.segment.empty", "an empty segment (two terminators in a row)",
                                      WARNING, offset=start + plen)  # where its terminator is
                    continue
                start += (len(piece) - len(s)) if ascii_only else len(
                    piece[: len(piece) - len(s)].encode("utf-8", "surrogateescape"))
                piece = s
            if newline and piece[-1:] == "\r":
                piece = piece[:-1]
            if plen > maxlen and (len(piece) if ascii_only else len(piece.encode("utf-8", "surrogateescape"))) > maxlen:
                self._too_long(plen, offset=start)  # the limit is on the segment, without white space around it
                continue
            elements = piece.split(esep)
            if not ascii_only and _NOT_UTF8.search(piece) is not None:
                elements = self._escape(elements, idx + 1)
            add(elements)
            place(start)
            idx += 1
            tag = elements[0]
            if tag not in good:
                if tag == "IEA":
                    end = base + min(pos - base, span)  # the last piece is followed by the terminator alone
                    self._state = _DETECT
                    break
                if _TAG.match(tag):
                    good.add(tag)
                else:
                    self._bad_tag(idx, tag)
            if len(batch) == _BATCH:
                yield batch if lists else self._run(batch, idx + 1 - _BATCH, offsets)
                batch, offsets = [], []
                add, place = batch.append, offsets.append
        if batch:
            yield batch if lists else self._run(batch, idx + 1 - len(batch), offsets)
        self._index = idx
        self._pos = end

    def _run(self, batch: list[list[str]], first: int, offsets: list[int]) -> Iterator[Segment]:
        """The segments of ``batch``, the element lists of segments number ``first`` on, found at ``offsets``
        (made by C code as in :meth:`_lean`)."""
        d = self.delimiters
        assert d is not None
        return map(make_segment, zip(batch, _PLACES, repeat(Run(first, d, offsets))))

    def _bad_tag(self, index: int, tag: str) -> None:
        self._problem("x12.segment.tag", "not a segment tag (two or three capital letters or digits, "
                      "starting with a letter)", segment=index, tag=tag[:3] if tag else "")

    def _last_piece(self, buf: bytes) -> Iterator[Segment]:
        """End of input inside a segment: keep it (data is never dropped) and say so."""
        s = buf.lstrip(_WS_BYTES)
        start = self._pos + len(buf) - len(s)
        s = s.rstrip(_WS_BYTES)
        self._pos += len(buf)
        if not s:
            return
        d = self.delimiters
        assert d is not None
        elements = _decode(s).split(d.element)
        if any(_NOT_UTF8.search(e) for e in elements):
            elements = self._escape(elements, self._index + 1)
        self._index += 1
        seg = Segment(elements, self._index, start, d)
        yield seg
        if not self._newline:
            self._problem("x12.segment.unterminated", "the last segment has no segment terminator", WARNING,
                          segment=seg.index, tag=seg.tag[:3])
        if seg.tag == "IEA":
            self._state = _DETECT
        elif not _TAG.match(seg.tag):
            self._bad_tag(seg.index, seg.tag)

    def _escape(self, elements: list[str], index: int) -> list[str]:
        """The elements of segment ``index`` with their bytes that are not UTF-8 escaped (see the module
        docstring), and the warning (the first ``NOT_UTF8_REPORTED`` segments one by one, then one sum)."""
        out = [escape_bytes(e) for e in elements]
        self._not_utf8 += 1
        if self._not_utf8 <= NOT_UTF8_REPORTED:
            self._problem("x12.text.not_utf8", "the segment holds bytes that are not UTF-8: each is kept as \\x "
                          "and its two hex digits (\\xE9 for the byte E9)", WARNING, segment=index,
                          tag=out[0][:3])
        elif self._not_utf8 == NOT_UTF8_REPORTED + 1:
            self._problem("x12.text.not_utf8", f"more than {NOT_UTF8_REPORTED} segments hold bytes that are not "
                          "UTF-8 (from this one on, not each reported): each is kept as \\x and its two hex digits",
                          WARNING, segment=index, tag=out[0][:3])
        return out

    def _too_long(self, n: int, offset: int | None = None) -> None:
        self._problem("x12.segment.too_long", f"a segment of more than {self.max_segment_length} bytes "
                      f"was skipped (is the segment terminator right?)", offset=self._pos if offset is None
                      else offset)

    # SKIP: inside an over-long segment; drop bytes up to the next terminator.
    def _skip(self, buf: bytes, eof: bool) -> bytes | None:
        k = buf.find(self._term)
        if k < 0:
            self._advance(buf, len(buf))
            if eof:
                return b""
            return None
        self._state = _SEGMENTS
        return self._advance(buf, k + len(self._term))


def tokenize(data: bytes, *, file: str | None = None) -> tuple[list[Segment], list[Problem]]:
    """Tokenize a whole byte string: (segments, problems). For tests and small inputs."""
    tok = Tokenizer(file=file)
    segs = tok.feed(data) if data else []
    segs += tok.close()
    return segs, tok.problems


def iter_segments(chunks: Iterable[bytes], tokenizer: Tokenizer) -> Iterator[Segment]:
    """Drive ``tokenizer`` over an iterable of byte chunks."""
    for chunk in chunks:
        if chunk:
            yield from tokenizer.segments(chunk)
    yield from tokenizer.segments(b"")
