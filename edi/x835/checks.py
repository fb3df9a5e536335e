"""835 checks for ``edi x12 validate``: the reader's content and balancing findings, as a streaming check.

``edi x12 validate`` judges syntax and envelopes; what the 835 reader finds in the content (balancing, SNIP
type 3; amounts or dates that do not read; a missing BPR) is reported there as warnings with the reader's
codes, so a file whose envelopes and segments are right validates. ``edi remit show`` and the ledger treat
the same findings as errors.
"""

from __future__ import annotations

from dataclasses import replace

from edi.problems import WARNING, Problem, Where
from edi.x12.segment import Segment
from edi.x835.reader import RemitParser


class Balancing835:
    """Feeds one 835 transaction set (ST..SE, fed by validation) to the reader and returns its problems."""

    def __init__(self) -> None:
        self.parser: RemitParser | None = None

    def take(self) -> list[Problem]:
        """The reader's problems since the last call, errors made warnings."""
        found, self.parser.problems = self.parser.problems, []
        return [replace(p, severity=WARNING) if p.is_error else p for p in found]

    def start(self, st: Segment, where: Where) -> None:
        self.parser = RemitParser(where.file)
        self.parser.interchange = where.interchange
        self.parser.group = where.group
        self.parser.segment(st)

    def segment(self, seg: Segment, where: Where) -> list[Problem]:
        if self.parser is None:
            return []
        self.parser.segment(seg)
        return self.take() if self.parser.problems else []

    def end(self, where: Where, se: Segment | None = None) -> list[Problem]:
        if self.parser is None:
            return []
        if se is not None:
            self.parser.segment(se)
        else:
            self.parser.close()
        return self.take()
