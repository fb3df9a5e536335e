"""Problems: the one error value used everywhere in edi.

A stage never raises on bad data; it returns (or collects) ``Problem`` values. Each one carries a stable
``code`` that scripts can match on (``x12.se.count``, ``835.claim.unbalanced``), a severity, a message for a
person, and ``where`` it was found: file, interchange / group / transaction control numbers, the 1-based
segment number in the file and the segment tag.

Messages never quote element values that may hold patient data (names, member ids, birth dates); they name
elements by position (``NM103``) instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


ERROR = Severity.ERROR
WARNING = Severity.WARNING


@dataclass(frozen=True, slots=True)
class Where:
    """Where a problem was found. Every field is optional; fill what is known."""

    file: str | None = None
    interchange: str | None = None  # ISA13
    group: str | None = None  # GS06
    transaction: str | None = None  # ST02
    segment: int | None = None  # 1-based segment number in the file
    tag: str | None = None  # segment tag, e.g. "CLP"
    loop: str | None = None  # loop id when the reader knows it, e.g. "2100"
    element: str | None = None  # element reference, e.g. "CLP04"
    record: str | None = None  # a non-X12 source record, e.g. an encounter id

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


NOWHERE = Where()


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    severity: Severity = ERROR
    where: Where = NOWHERE

    @property
    def is_error(self) -> bool:
        return self.severity is ERROR

    def at(self, **where: Any) -> Problem:
        """A copy with some ``where`` fields filled in (existing ones are kept unless given)."""
        return replace(self, where=replace(self.where, **where))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity.value, "message": self.message}
        out.update(self.where.as_dict())
        return out

    def __str__(self) -> str:
        w = self.where
        pos = []
        if w.file:
            pos.append(w.file)
        if w.segment is not None:
            pos.append(f"segment {w.segment}" + (f" ({w.tag})" if w.tag else ""))
        prefix = ": ".join([", ".join(pos)] if pos else [])
        return f"{prefix + ': ' if prefix else ''}{self.severity.value} {self.code}: {self.message}"


def error(code: str, message: str, **where: Any) -> Problem:
    return Problem(code, message, ERROR, Where(**where) if where else NOWHERE)


def warning(code: str, message: str, **where: Any) -> Problem:
    return Problem(code, message, WARNING, Where(**where) if where else NOWHERE)


def by_position(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in file order (by segment number); those without a segment last, in their own order. A
    :class:`Problems` stays one (with its count of those left out)."""
    ordered = sorted(problems, key=lambda p: p.where.segment if p.where.segment is not None else 1 << 62)
    if isinstance(problems, Problems):
        return Problems(ordered, left_out=problems.left_out)
    return ordered


#: How many problems of one code a :class:`Problems` keeps.
KEEP_PER_CODE = 1000


class Problems(list):
    """A list of problems that keeps at most ``KEEP_PER_CODE`` of each code and counts the rest in
    ``left_out`` (code -> how many): a file of a million empty segments makes a thousand problem values and a
    count, not a million values (memory and time stay flat whatever the input). Lists joined with ``+`` add
    their counts."""

    def __init__(self, problems: Iterable[Problem] = (), *, left_out: dict[str, int] | None = None) -> None:
        super().__init__()
        self.left_out: dict[str, int] = dict(left_out or {})
        self._kept: dict[str, int] = {}
        self.extend(problems)

    def append(self, problem: Problem) -> None:
        code = problem.code
        n = self._kept.get(code, 0)
        if n >= KEEP_PER_CODE:
            self.left_out[code] = self.left_out.get(code, 0) + 1
            return
        self._kept[code] = n + 1
        super().append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.append(p)
        if isinstance(problems, Problems):
            for code, n in problems.left_out.items():
                self.left_out[code] = self.left_out.get(code, 0) + n

    def __iadd__(self, problems: Iterable[Problem]) -> Problems:  # type: ignore[override]
        self.extend(problems)
        return self

    def __add__(self, other: Iterable[Problem]) -> Problems:  # type: ignore[override]
        out = Problems(self)  # (extend counts what self left out)
        out.extend(other)
        return out

    def __radd__(self, other: Iterable[Problem]) -> Problems:
        out = Problems(other)
        out.extend(self)
        return out

    def insert(self, index: int, problem: Problem) -> None:  # keeps the cap: added where append would
        self.append(problem)

    def left_out_total(self) -> int:
        return sum(self.left_out.values())


def left_out(problems: Iterable[Problem]) -> dict[str, int]:
    """The problems ``problems`` counted but did not keep (code -> how many); {} for a plain list."""
    return dict(problems.left_out) if isinstance(problems, Problems) else {}


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity is ERROR for p in problems)
