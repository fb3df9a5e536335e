"""Delimiters and segments: the two values of the X12 syntax layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add
from typing import Any

try:  # the C accessor namedtuple fields use: reads a tuple item without going through __getitem__
    from _collections import _tuplegetter
except ImportError:  # pragma: no cover - Pythons without it

    def _tuplegetter(index: int, doc: str | None) -> Any:
        return property(lambda self: tuple.__getitem__(self, index), doc=doc)


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 delimiters. ``repetition`` is None for 4010-style headers (ISA11 = ``U``)."""

    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"

    def chars(self) -> tuple[str, ...]:
        return tuple(c for c in (self.element, self.component, self.repetition, self.segment) if c)

    def check(self) -> str | None:
        """Why this set cannot be used, or None when it can."""
        chars = self.chars()
        if any(len(c) != 1 for c in chars):
            return "every delimiter must be exactly one character"
        if len(set(chars)) != len(chars):
            return "delimiters must all differ"
        for c in chars:
            if c.isalnum() or c == " ":
                return f"delimiter {c!r} is a letter, digit or space, which data may contain"
        return None


DEFAULT_DELIMITERS = Delimiters()


class Run:
    """Where a run of segments read together is: the number of its first segment, the delimiters in force
    and the byte offsets. A segment holds its run and its place ``k`` in it, so that the tokenizer stores
    nothing per segment but the segment itself (see :class:`Segment`): segment ``k`` of the run is number
    ``first + k`` and starts at byte ``offsets[base + k]``. ``offsets`` is a list or a :class:`LazyOffsets`
    shared by the runs of one block of input."""

    __slots__ = ("first", "delimiters", "_offsets", "_base")

    def __init__(self, first: int, delimiters: Delimiters, offsets: Sequence[int], base: int = 0) -> None:
        self.first = first
        self.delimiters = delimiters
        self._offsets = offsets
        self._base = base

    def offset(self, k: int) -> int:
        """Byte offset of segment ``k`` of the run."""
        return self._offsets[self._base + k]


class LazyOffsets:
    """The byte offsets of ``pieces``, pieces of ASCII text that follow one another from byte ``start`` with
    ``step`` separator bytes after each, worked out on first use (most segments are never asked where they
    are): piece ``i`` starts at ``start + sum(len(p) + step for p in pieces[:i])``."""

    __slots__ = ("_pieces", "_start", "_step", "_list")

    def __init__(self, pieces: list[str], start: int, step: int) -> None:
        self._pieces: list[str] | None = pieces
        self._start = start
        self._step = step
        self._list: list[int] | None = None

    def __getitem__(self, i: int) -> int:
        offsets = self._list
        if offsets is None:
            pieces = self._pieces
            assert pieces is not None
            offsets = self._list = list(accumulate(map(add, map(len, pieces), repeat(self._step)),
                                                   initial=self._start))
            self._pieces = None  # the pieces are no longer needed
        return offsets[i]


class _SegmentType(type):
    """Segment's metaclass: ``Segment(elements, index, offset, delimiters)`` builds a segment of its own run.
    The tokenizer builds segments with :data:`make_segment` instead."""

    def __call__(cls, elements: list[str], index: int = 0, offset: int = 0,
                 delimiters: Delimiters = DEFAULT_DELIMITERS) -> Any:
        return type.__call__(cls, (elements, 0, Run(index, delimiters, [offset])))


class Segment(tuple, metaclass=_SegmentType):
    """One segment as read: its tag, elements and position.

        seg = Segment(["CLP", "PCN1", "1", "100"], index=14, offset=907)

    ``seg[0]`` is the tag and ``seg[n]`` the n-th element as written (composites and repetitions unsplit);
    an element beyond the end reads as ``""``. ``len(seg)`` counts the elements without the tag, and
    iterating gives the tag and then the elements. ``index`` is the 1-based segment number in the file and
    ``offset`` the byte offset of its first character. Two segments are equal when their elements are.

    A tokenizer builds hundreds of thousands of these a second, so a segment is a tuple (built and freed by
    C code, see :data:`make_segment`) holding ``(elements, k, run)``: its number, offset and delimiters are
    those of place ``k`` of a :class:`Run` shared with the segments read with it. Use the attributes, not the
    tuple's items (``elements[0]`` is the tag: hot loops read it so, ``tag`` being a property).
    """

    __slots__ = ()

    elements: list[str] = _tuplegetter(0, "``[tag, element 1, element 2, ...]`` as written.")
    _k: int = _tuplegetter(1, None)
    _run: Run = _tuplegetter(2, None)

    @property
    def tag(self) -> str:
        """The segment tag, ``seg[0]``."""
        return self.elements[0]

    @property
    def index(self) -> int:
        """The 1-based segment number in the file."""
        return self._run.first + self._k

    @property
    def offset(self) -> int:
        """The byte offset of the segment's first character."""
        return self._run.offset(self._k)

    @property
    def delimiters(self) -> Delimiters:
        """The delimiters of the interchange the segment was read in."""
        return self._run.delimiters

    def __getitem__(self, i: int) -> str:
        try:
            return self.elements[i]
        except IndexError:
            return ""

    def __len__(self) -> int:
        """Number of elements, not counting the tag."""
        return len(self.elements) - 1

    def __iter__(self):
        return iter(self.elements)

    def __contains__(self, value: object) -> bool:
        return value in self.elements

    def count(self, value: object) -> int:
        """How many times ``value`` is the tag or an element."""
        return self.elements.count(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Segment):
            return self.elements == other.elements
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Segment):
            return self.elements != other.elements
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.elements))

    def _not_supported(self, other: object) -> Any:
        return NotImplemented

    # a segment is no tuple to order, add or repeat
    __lt__ = __le__ = __gt__ = __ge__ = __add__ = __mul__ = __rmul__ = _not_supported

    def __reduce__(self) -> tuple[Any, ...]:
        return Segment, (self.elements, self.index, self.offset, self.delimiters)

    def __repr__(self) -> str:
        return f"Segment({self.text()!r}, index={self.index}, offset={self.offset})"

    def components(self, i: int) -> list[str]:
        """Components of element ``i`` (a one-item list for a simple element, ``[]`` when absent)."""
        value = self[i]
        if not value:
            return []
        return value.split(self._run.delimiters.component)

    def component(self, i: int, j: int) -> str:
        """Component ``j`` (1-based) of element ``i``, ``""`` when absent."""
        parts = self.components(i)
        return parts[j - 1] if 0 < j <= len(parts) else ""

    def repetitions(self, i: int) -> list[str]:
        """Repetitions of element ``i`` (a one-item list when it does not repeat, ``[]`` when absent)."""
        value = self[i]
        if not value:
            return []
        rep = self._run.delimiters.repetition
        return value.split(rep) if rep else [value]

    def text(self) -> str:
        """The segment as it was written, without its terminator."""
        return self._run.delimiters.element.join(self.elements)


#: ``make_segment((elements, k, run))``: a Segment, built by C code alone (``type.__call__`` bound to
#: Segment skips the metaclass's ``__call__``), for ``map`` in the tokenizer's hot loop.
make_segment = type.__call__.__get__(Segment)
