"""JSON encounters: an array of encounter objects (``read_json``) or NDJSON, one object per line
(``read_ndjson``). Both stream: NDJSON holds one line at a time; an array is decoded one element at a time
from a growing window, so memory follows the largest encounter, not the file.

Numbers with a fraction are read as ``Decimal`` (never float). Problems before an encounter's id is known
name its position: ``line 12`` (NDJSON) or ``item 3`` (array).

An NDJSON line is first offered to ``mappings.decode.encounter_from_json_line`` (msgspec decoding into typed
structs, for well-formed encounters); whatever that fast path does not take (text outside ASCII, unknown keys,
other types, problems) is read by ``json`` and ``encounter_from_dict``, which give the same result for what
both read.

Codes: ``source.encoding`` (not UTF-8), ``source.json.syntax`` (with the line), ``source.json.shape`` (the
top level is not an array or object, or an NDJSON line is not an object).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from edi.problems import error
from mappings.decode import encounter_from_json_line
from mappings.encounter import encounter_from_dict
from mappings.sources import EncounterResult

CHUNK = 1 << 16
MAX_ITEM = 1 << 24  # an array item larger than this (16 MiB of text) is reported, not buffered further
_DECODER = json.JSONDecoder(parse_float=Decimal)
_WS = " \t\r\n"


def _loads(text: str) -> object:
    return _DECODER.decode(text)


def _unreadable(exc: ValueError | RecursionError) -> str:
    """Why valid-looking JSON could not be decoded: an integer longer than Python converts (4,300 digits by
    default), or nesting deeper than the decoder's recursion allows."""
    if isinstance(exc, RecursionError):
        return "the JSON is nested too deeply"
    return "a number is too long to read (more than 4,300 digits)"


def read_ndjson(stream: BinaryIO, *, file: str | None = None) -> Iterator[EncounterResult]:
    """One encounter per line; blank lines are skipped."""
    for n, raw in enumerate(stream, 1):
        found = ndjson_line(raw, n, file)
        if found is not None:
            yield found


def ndjson_line(raw: bytes, n: int, file: str | None = None) -> EncounterResult | None:
    """Line ``n`` (1-based) of an NDJSON file: its encounter and problems, or None for a blank line. What
    ``read_ndjson`` does per line, for callers that split the file themselves (the parallel build)."""
    if n == 1:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
    found = encounter_from_json_line(raw, file)
    return found if found is not None else parse_line(raw, n, file)


def parse_line(raw: bytes, n: int, file: str | None = None) -> EncounterResult | None:
    """``ndjson_line`` without its fast path (and after its byte order mark is removed): ``json`` then
    ``encounter_from_dict``. Reads any line, reporting what is wrong with it."""
    record = f"line {n}"
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, [error("source.encoding", "the line is not valid UTF-8", file=file, record=record)]
    if not line.strip():
        return None
    try:
        data = _loads(line)
    except json.JSONDecodeError as exc:
        return None, [error("source.json.syntax", f"not valid JSON: {exc.msg} (column {exc.colno})", file=file,
                            record=record)]
    except (ValueError, RecursionError) as exc:
        return None, [error("source.json.syntax", f"cannot be read: {_unreadable(exc)}", file=file, record=record)]
    if not isinstance(data, dict):
        return None, [error("source.json.shape", "each NDJSON line must be one encounter object", file=file,
                            record=record)]
    return encounter_from_dict(data, file=file, record=record)


class _Window:
    """Text decoded from the stream, of which ``buf[pos:]`` is not consumed yet."""

    def __init__(self, stream: BinaryIO, file: str | None) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # line breaks in the text already dropped from buf
        self.started = False
        self.file = file

    def more(self, size: int = 0) -> bool:
        """Read one more chunk (of ``size`` bytes, else ``CHUNK``); False at the end of the stream."""
        if self.eof:
            return False
        data = self.stream.read(size or CHUNK)
        text = self.decoder.decode(data, final=not data)
        if not self.started:
            text = text.removeprefix("\ufeff")
            self.started = bool(text)
        if not data:
            self.eof = True
        # drop what was consumed
        self.lines_before += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        return bool(data)

    def skip_ws(self) -> str | None:
        """The next non-blank character (not consumed), or None at the end of the stream."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self.more():
                return None

    def line(self, pos: int) -> int:
        return self.lines_before + self.buf.count("\n", 0, pos) + 1

    def value(self) -> tuple[object, None] | tuple[None, str]:
        """Decode the JSON value starting at ``pos``, reading more as needed; (value, None) or (None, message)."""
        size = CHUNK  # doubled on each retry, so a large item is decoded O(log n) times, not O(n)
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                message = f"{exc.msg} at line {self.line(exc.pos)}"  # before more() moves the window
                if len(self.buf) - self.pos > MAX_ITEM:
                    return None, message + " (or an item larger than 16 MiB)"
                if self.more(size):
                    size *= 2
                    continue
                return None, message
            except (ValueError, RecursionError) as exc:
                return None, _unreadable(exc)
            if end == len(self.buf) and not self.eof and self.more():
                continue  # a number or literal may go on in the next chunk
            self.pos = end
            return value, None


def read_json(stream: BinaryIO, *, file: str | None = None) -> Iterator[EncounterResult]:
    """A JSON array of encounters (or one encounter object), decoded element by element."""
    w = _Window(stream, file)
    try:
        first = w.skip_ws()
        if first is None:
            return
        if first == "{":
            data, message = w.value()
            if message is not None:
                yield None, [error("source.json.syntax", f"not valid JSON: {message}", file=file)]
                return
            yield encounter_from_dict(data, file=file, record="item 1")
            yield from _trailing(w, file)
            return
        if first != "[":
            yield None, [error("source.json.shape", "a JSON encounter file holds an array of encounter objects",
                               file=file)]
            return
        w.pos += 1
        n = 0
        while True:
            ch = w.skip_ws()
            if ch is None:
                yield None, [error("source.json.syntax", f"the array is not closed (line {w.line(w.pos)})",
                                   file=file)]
                return
            if ch == "]":
                w.pos += 1
                yield from _trailing(w, file)
                return
            if n:
                if ch != ",":
                    yield None, [error("source.json.syntax", f"expected ',' or ']' after item {n} (line "
                                       f"{w.line(w.pos)})", file=file, record=f"item {n + 1}")]
                    return
                w.pos += 1
                if w.skip_ws() is None:
                    continue
            n += 1
            record = f"item {n}"
            data, message = w.value()
            if message is not None:
                yield None, [error("source.json.syntax", f"not valid JSON: {message}", file=file, record=record)]
                return
            if not isinstance(data, dict):
                yield None, [error("source.json.shape", "each array item must be an encounter object", file=file,
                                   record=record)]
                continue
            yield encounter_from_dict(data, file=file, record=record)
    except UnicodeDecodeError:
        yield None, [error("source.encoding", "the file is not valid UTF-8", file=file)]


def _trailing(w: _Window, file: str | None) -> Iterator[EncounterResult]:
    if w.skip_ws() is not None:
        yield None, [error("source.json.syntax", f"unexpected text after the JSON value (line {w.line(w.pos)})",
                           file=file)]
