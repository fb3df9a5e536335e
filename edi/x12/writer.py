"""Segments to bytes, and envelopes around them.

Two ways to write a segment:

* :func:`format_segment` builds a *new* segment from values. A plain string is one element; a tuple is a
  composite (its components joined by the component separator); a :class:`Repeat` is a repeated element.
  Every value is checked against all four delimiters, because a ``:`` inside a plain element would be read
  back as a composite. Trailing empty elements and components are dropped, as X12 requires.
* :func:`format_raw` writes a segment *as read* (``Segment.elements``), whose elements may already contain
  component and repetition separators; only the element separator and the terminator are refused.

A value that contains a delimiter is never written: :class:`DelimiterInData` names the element.

:class:`InterchangeWriter` streams ISA / GS / ST ... SE / GE / IEA to a binary file with correct counts and
matching control numbers, taken from an injected :class:`ControlNumbers` allocator, and the clock injected too,
so that the same input always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO, Protocol, Union

from edi.x12.segment import DEFAULT_DELIMITERS, Delimiters, Segment


class DelimiterInData(ValueError):
    """A value contains a delimiter character; writing it would corrupt the file."""

    def __init__(self, element: str, char: str) -> None:
        self.element = element
        self.char = char
        super().__init__(f"{element} contains the delimiter {char!r}; it cannot be written without corrupting "
                         "the file")


class Repeat(tuple):
    """A repeated element: ``Repeat(("A", "B"))`` is written ``A^B`` (with ``^`` the repetition separator)."""


Value = Union[str, None, tuple, Repeat]


def _check(value: str, forbidden: frozenset[str], name: str) -> str:
    if forbidden.isdisjoint(value):  # one pass over the value, in C: the common case
        return value
    raise DelimiterInData(name, next(ch for ch in value if ch in forbidden))


@lru_cache(maxsize=64)
def _forbidden_set(forbidden: str) -> frozenset[str]:
    return frozenset(forbidden)


#: Characters no new value may hold whatever the delimiters: control characters (C0 with CR and LF, DEL, C1
#: with NEL) and the Unicode line and paragraph separators, which X12's character sets leave out and which break
#: line-oriented tools downstream, and lone surrogates, which UTF-8 cannot encode (one would fail the write
#: half-way, or, as surrogateescape, put a byte that is not UTF-8 in the file).
UNWRITABLE = "".join(map(chr, [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000)]))


@lru_cache(maxsize=64)
def forbidden_characters(d: Delimiters) -> str:
    """Characters no value may contain with these delimiters: the delimiters, then ``UNWRITABLE``."""
    return "".join(d.chars()) + UNWRITABLE


def _composite(value: tuple, d: Delimiters, forbidden: frozenset[str], tag: str, i: int) -> str:
    """Element ``i`` of segment ``tag``, a composite (its name is worked out only for an error)."""
    parts = ["" if c is None else c if type(c) is str else str(c) for c in value]
    while parts and parts[-1] == "":
        parts.pop()
    if not all(map(forbidden.isdisjoint, parts)):  # one C-level pass in the common case: composites are many
        for j, c in enumerate(parts, 1):
            _check(c, forbidden, f"{tag}{i:02d}-{j}")  # raises, naming the first bad component
    return d.component.join(parts)


def format_segment(tag: str, elements: Sequence[Value], delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
    """One new segment, without terminator. See the module docstring for the value forms."""
    return segment_formatter(delimiters)(tag, elements)


@lru_cache(maxsize=64)
def segment_formatter(d: Delimiters) -> Callable[[str, Sequence[Value]], str]:
    """``format_segment`` for one delimiter set, with its checks prepared: the writers' hot path (a plain
    string element costs one C-level ``isdisjoint``; element names are worked out only for an error)."""
    forbidden = _forbidden_set(forbidden_characters(d))
    isdisjoint = forbidden.isdisjoint
    join = d.element.join

    def fmt(tag: str, elements: Sequence[Value]) -> str:
        out = [tag]
        append = out.append
        for i, value in enumerate(elements, 1):
            kind = type(value)
            if kind is str:
                if not isdisjoint(value):
                    raise DelimiterInData(f"{tag}{i:02d}", next(ch for ch in value if ch in forbidden))
                append(value)
            elif value is None:
                append("")
            elif kind is tuple:
                append(_composite(value, d, forbidden, tag, i))
            elif isinstance(value, Repeat):
                if d.repetition is None:
                    raise ValueError(f"{tag}{i:02d} repeats, but these delimiters have no repetition separator")
                append(d.repetition.join(_composite(r, d, forbidden, tag, i) if isinstance(r, tuple)
                                         else _check(str(r), forbidden, f"{tag}{i:02d}") for r in value))
            elif isinstance(value, tuple):
                append(_composite(value, d, forbidden, tag, i))
            else:
                append(_check(str(value), forbidden, f"{tag}{i:02d}"))
        while len(out) > 1 and out[-1] == "":
            out.pop()
        return join(out)

    return fmt


def segment_end(d: Delimiters, line_break: str = "\n") -> str:
    """What ends each written segment: the terminator, then ``line_break`` unless the terminator is one."""
    return d.segment + (line_break if d.segment not in "\r\n" else "")


def format_raw(elements: Sequence[str], delimiters: Delimiters) -> str:
    """A segment as read (composites and repetitions already joined), without terminator."""
    forbidden = _forbidden_set(delimiters.element + delimiters.segment)
    tag = elements[0]
    for i, value in enumerate(elements):
        if i == 0:
            _check(value, forbidden, "segment tag")
        else:
            _check(value, forbidden, f"{tag}{i:02d}")
    return delimiters.element.join(elements)


def write_segments(segments: Iterable[Segment], delimiters: Delimiters, *, line_break: str = "\n") -> bytes:
    """Segments as read, written again with ``delimiters`` (raw: composites are not re-delimited)."""
    end = segment_end(delimiters, line_break)
    return "".join(format_raw(s.elements, delimiters) + end for s in segments).encode("utf-8", "surrogateescape")


# -- envelopes ------------------------------------------------------------------------------------------------


class ControlNumbers(Protocol):
    """Hands out control numbers. ``kind`` is ``"interchange"`` (ISA13), ``"group"`` (GS06) or
    ``"transaction"`` (ST02). The ledger provides one that never repeats across runs."""

    def next(self, kind: str) -> int: ...


class CounterControlNumbers:
    """In-memory control numbers, each kind counting up from its own start (for tests and one-off files)."""

    def __init__(self, interchange: int = 1, group: int = 1, transaction: int = 1) -> None:
        self._next = {"interchange": interchange, "group": group, "transaction": transaction}

    def next(self, kind: str) -> int:
        n = self._next[kind]
        self._next[kind] = n + 1
        return n


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange sender or receiver: ISA05/ISA06 (or ISA07/ISA08) and the GS02/GS03 application code."""

    qualifier: str
    id: str
    application: str | None = None  # GS02/GS03; defaults to ``id``

    @property
    def gs_code(self) -> str:
        return self.application or self.id


class EnvelopeError(ValueError):
    """The envelope cannot be written (a value does not fit its fixed width, a trailer without header...)."""


def _fixed(value: str, width: int, name: str) -> str:
    if len(value) > width:
        raise EnvelopeError(f"{name} is {len(value)} characters; the ISA allows {width}")
    return value.ljust(width)


class InterchangeWriter:
    """Stream one interchange to ``out``. Counts and control numbers are kept right by construction.

        w = InterchangeWriter(out, sender, receiver, control=numbers, now=clock())
        w.begin_group("HC", "005010X222A1")
        w.begin_transaction("837", implementation="005010X222A1")
        w.segment("BHT", ["0019", "00", "1", "20260101", "1200", "CH"])
        ...
        w.end_transaction(); w.end_group(); w.close()
    """

    def __init__(
        self,
        out: BinaryIO,
        sender: Party,
        receiver: Party,
        *,
        control: ControlNumbers,
        now: datetime,
        usage: str = "P",
        ack_requested: bool = False,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
        line_break: str = "\n",
        version: str = "00501",
    ) -> None:
        if usage not in ("P", "T", "I"):
            raise EnvelopeError(f"ISA15 usage must be P, T or I, not {usage!r}")
        why = delimiters.check()
        if why:
            raise EnvelopeError(f"unusable delimiters: {why}")
        if delimiters.repetition is None and version >= "00501":
            raise EnvelopeError("a 5010 interchange needs a repetition separator (ISA11)")
        self.out = out
        self.delimiters = delimiters
        self._format = segment_formatter(delimiters)
        self.now = now
        self.control = control
        self.end = segment_end(delimiters, line_break)
        self.interchange_number = control.next("interchange")
        if not 0 < self.interchange_number <= 999_999_999:
            raise EnvelopeError(f"interchange control number {self.interchange_number} does not fit ISA13")
        self.groups = 0
        self.transactions_in_group = 0
        self.segments_in_transaction = 0
        self.group_number: int | None = None
        self.transaction_number: str | None = None
        self.segment_count = 0  # all segments written, envelopes included
        isa = [
            "ISA", "00", " " * 10, "00", " " * 10,
            _fixed(sender.qualifier, 2, "ISA05"), _fixed(sender.id, 15, "ISA06"),
            _fixed(receiver.qualifier, 2, "ISA07"), _fixed(receiver.id, 15, "ISA08"),
            now.strftime("%y%m%d"), now.strftime("%H%M"),
            delimiters.repetition or "U", version, f"{self.interchange_number:09d}",
            "1" if ack_requested else "0", usage, delimiters.component,
        ]
        for i, v in enumerate(isa[1:], 1):
            _check(v, _forbidden_set(delimiters.element + delimiters.segment), f"ISA{i:02d}")
        self._emit(delimiters.element.join(isa))
        self._sender = sender
        self._receiver = receiver

    def _emit(self, text: str) -> None:
        self.out.write((text + self.end).encode("utf-8", "surrogateescape"))
        self.segment_count += 1

    def begin_group(self, functional_id: str, version: str) -> int:
        if self.group_number is not None:
            raise EnvelopeError("begin_group() inside an open group")
        self.group_number = self.control.next("group")
        if not 0 < self.group_number <= 999_999_999:
            raise EnvelopeError(f"group control number {self.group_number} does not fit GS06")
        self.groups += 1
        self.transactions_in_group = 0
        self._emit(format_segment("GS", [
            functional_id, self._sender.gs_code, self._receiver.gs_code, self.now.strftime("%Y%m%d"),
            self.now.strftime("%H%M"), str(self.group_number), "X", version,
        ], self.delimiters))
        return self.group_number

    def begin_transaction(self, st01: str, implementation: str | None = None) -> str:
        if self.group_number is None:
            raise EnvelopeError("begin_transaction() outside a group")
        if self.transaction_number is not None:
            raise EnvelopeError("begin_transaction() inside an open transaction")
        number = self.control.next("transaction")
        if not 0 < number <= 999_999_999:
            raise EnvelopeError(f"transaction control number {number} does not fit ST02")
        self.transaction_number = f"{number:04d}"
        self.transactions_in_group += 1
        self.segments_in_transaction = 0
        self._emit(format_segment("ST", [st01, self.transaction_number, implementation], self.delimiters))
        self.segments_in_transaction = 1
        return self.transaction_number

    def segment(self, tag: str, elements: Sequence[Value]) -> None:
        """A body segment of the open transaction (values are checked for delimiters)."""
        if self.transaction_number is None:
            raise EnvelopeError(f"{tag} written outside a transaction")
        self._emit(self._format(tag, elements))
        self.segments_in_transaction += 1

    def write_formatted(self, text: str, count: int) -> None:
        """``count`` whole body segments of the open transaction, already formatted and terminated (as
        :func:`format_segment` and :attr:`end` make them: values checked for delimiters by whoever formatted)."""
        if self.transaction_number is None:
            raise EnvelopeError("segments written outside a transaction")
        self.out.write(text.encode("utf-8", "surrogateescape"))
        self.segments_in_transaction += count
        self.segment_count += count

    def end_transaction(self) -> int:
        if self.transaction_number is None:
            raise EnvelopeError("end_transaction() without begin_transaction()")
        count = self.segments_in_transaction + 1
        self._emit(format_segment("SE", [str(count), self.transaction_number], self.delimiters))
        self.transaction_number = None
        return count

    def end_group(self) -> None:
        if self.group_number is None or self.transaction_number is not None:
            raise EnvelopeError("end_group() without an open group, or with a transaction still open")
        self._emit(format_segment("GE", [str(self.transactions_in_group), str(self.group_number)],
                                  self.delimiters))
        self.group_number = None

    def close(self) -> None:
        if self.group_number is not None:
            raise EnvelopeError("close() with a group still open")
        self._emit(format_segment("IEA", [str(self.groups), f"{self.interchange_number:09d}"], self.delimiters))


@dataclass(frozen=True, slots=True)
class Transaction:
    """One ST..SE body for :func:`build_interchange`: ST01, ST03 and the body segments as (tag, values)."""

    st01: str
    body: Sequence[tuple[str, Sequence[Value]]]
    implementation: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    functional_id: str
    version: str
    transactions: Sequence[Transaction]


def build_interchange(out: BinaryIO, sender: Party, receiver: Party, groups: Iterable[Group], **options) -> int:
    """Write a whole interchange from in-memory groups; returns ISA13. Options as :class:`InterchangeWriter`."""
    w = InterchangeWriter(out, sender, receiver, **options)
    for g in groups:
        w.begin_group(g.functional_id, g.version)
        for t in g.transactions:
            w.begin_transaction(t.st01, t.implementation)
            for tag, values in t.body:
                w.segment(tag, values)
            w.end_transaction()
        w.end_group()
    w.close()
    return w.interchange_number
