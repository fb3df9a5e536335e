"""Reading one large 835 with several processes: where to cut it.

A payer's 835 file holds one transaction set (ST/SE) per payment, often hundreds. Each part of the file is a run
of whole transaction sets, read by :class:`edi.x835.reader.RemitReader` with ``part=(first, stop)``: every part
reads the file from its start (the envelope is checked throughout, the segments are numbered as in the whole
file) but parses only its own transaction sets. The items and problems of the parts, taken in order, are the
whole file's (tests/edi/test_x835_parts.py proves it on the samples, the corpus and broken files).

:func:`plan` finds where each transaction set starts from the bytes alone (the ISA gives the element separator
and the segment terminator; an ST segment is the terminator, optional line breaks, ``ST`` and the separator),
and cuts so that the parts finish together: a part that starts further in also tokenizes more of the file
before its own transaction sets, so the later parts are shorter (``skip_cost``: the cost of a skipped byte
against a parsed and printed one: 0.22 s against 1.63 s for `remit show --json` of the 20 MB benchmark file).
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from edi.problems import Problem, Problems, by_position

#: (first, stop): transaction sets ``first`` up to ``stop`` (None: to the end), numbered from 0 in file order.
Part = tuple[int, int | None]

#: A file smaller than this is read by one process: starting another costs more than it saves.
MIN_BYTES = 4 << 20
CHUNK = 1 << 20


def transaction_offsets(path: str) -> list[int]:
    """The byte offset of each ST segment of an X12 file (empty when it does not start with an ISA)."""
    with open(path, "rb") as fp:
        head = fp.read(106)
        if len(head) < 106 or head[:3] != b"ISA":
            return []
        separator, terminator = head[3:4], head[105:106]
        if separator.isalnum() or terminator.isalnum() or separator == terminator:
            return []
        pattern = re.compile(re.escape(terminator) + rb"[\r\n]*ST" + re.escape(separator))
        offsets: list[int] = []
        fp.seek(0)
        base, tail = 0, b""  # ``tail``: the end of the last chunk, where a match may begin
        while chunk := fp.read(CHUNK):
            data = tail + chunk
            start = base - len(tail)
            seen = offsets[-1] if offsets else -1  # a match inside ``tail`` was found with the chunk before
            offsets += [at for m in pattern.finditer(data) if (at := start + m.end() - 3) > seen]
            tail = data[-16:]
            base += len(chunk)
    return offsets


def plan(path: str, parts: int, *, skip_cost: float = 0.15, min_bytes: int = MIN_BYTES) -> list[Part]:
    """Up to ``parts`` runs of whole transaction sets covering the file, which finish at about the same time;
    one part ``[(0, None)]`` when the file is not worth cutting (standard input, not a regular file, smaller than
    ``min_bytes``, a single transaction set, not X12)."""
    whole: list[Part] = [(0, None)]
    if parts < 2 or path == "-":
        return whole
    try:
        size = os.stat(path).st_size
        if size < min_bytes or not os.path.isfile(path):
            return whole
        offsets = transaction_offsets(path)
    except OSError:
        return whole
    if len(offsets) < 2:
        return whole
    parts = min(parts, len(offsets))
    # Part k starts at byte s_k and parses l_k bytes after skipping s_k: they finish together when
    # l_k + r * s_k is the same u for every part, so s_(k+1) = (1 - r) * s_k + u, s_0 = 0, s_parts = size.
    r = min(max(skip_cost, 1e-6), 0.9)
    u = size * r / (1 - (1 - r) ** parts)
    cuts: list[int] = []
    for k in range(1, parts):
        start = u * (1 - (1 - r) ** k) / r
        i = bisect_left(offsets, start)
        if i < len(offsets) and i > 0 and start - offsets[i - 1] < offsets[i] - start:
            i -= 1
        if 0 < i < len(offsets) and (not cuts or i > cuts[-1]):
            cuts.append(i)
    if not cuts:
        return whole
    bounds = [0, *cuts, None]
    return [(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]  # type: ignore[misc]


def chosen_parts() -> int | None:
    """``EDI_READ_PARTS``: how many processes read an 835 of several transaction sets, whatever its size (1: one
    process); None when it is not set (or not a number)."""
    value = os.environ.get("EDI_READ_PARTS", "").strip()
    try:
        return max(1, int(value)) if value else None
    except ValueError:
        return None


def default_parts() -> int:
    """How many processes read a large 835: ``EDI_READ_PARTS`` when set, else the cores this process may run on,
    at most 4."""
    chosen = chosen_parts()
    if chosen is not None:
        return chosen
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def merge_problems(parts: Iterable[Sequence[list[Problem]]]) -> list[Problem]:
    """The problems of a file read in parts (each part's ``RemitReader.problem_sources``, in file order), as
    one reader of the whole file gives them: each source's problems part after part, the sources put together
    as the reader puts them, in file order (so that problems at the same segment keep their order, and the
    count of those left out is the whole file's)."""
    sources: list[Problems] = [Problems(), Problems(), Problems()]
    for found in parts:
        for merged, part in zip(sources, found, strict=True):
            merged.extend(part)
    return by_position(sources[0] + sources[1] + sources[2])
