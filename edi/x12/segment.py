"""Delimiters and segments: the two values of the X12 syntax layer."""

from __future__ import annotations

from dataclasses import dataclass


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


class Segment:
    """One segment as read: its tag, elements and position.

    ``seg[0]`` is the tag and ``seg[n]`` the n-th element as written (composites and repetitions unsplit);
    an element beyond the end reads as ``""``. ``index`` is the 1-based segment number in the file and
    ``offset`` the byte offset of its first character.
    """

    __slots__ = ("tag", "elements", "index", "offset", "delimiters")

    def __init__(
        self,
        elements: list[str],
        index: int = 0,
        offset: int = 0,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
    ) -> None:
        self.tag = elements[0]
        self.elements = elements
        self.index = index
        self.offset = offset
        self.delimiters = delimiters

    def __getitem__(self, i: int) -> str:
        try:
            return self.elements[i]
        except IndexError:
            return ""

    def __len__(self) -> int:
        """Number of elements, not counting the tag."""
        return len(self.elements) - 1

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Segment):
            return self.elements == other.elements
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.elements))

    def __repr__(self) -> str:
        return f"Segment({self.text()!r}, index={self.index}, offset={self.offset})"

    def components(self, i: int) -> list[str]:
        """Components of element ``i`` (a one-item list for a simple element, ``[]`` when absent)."""
        value = self[i]
        if not value:
            return []
        return value.split(self.delimiters.component)

    def component(self, i: int, j: int) -> str:
        """Component ``j`` (1-based) of element ``i``, ``""`` when absent."""
        parts = self.components(i)
        return parts[j - 1] if 0 < j <= len(parts) else ""

    def repetitions(self, i: int) -> list[str]:
        """Repetitions of element ``i`` (a one-item list when it does not repeat, ``[]`` when absent)."""
        value = self[i]
        if not value:
            return []
        rep = self.delimiters.repetition
        return value.split(rep) if rep else [value]

    def text(self) -> str:
        """The segment as it was written, without its terminator."""
        return self.delimiters.element.join(self.elements)
