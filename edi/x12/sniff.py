"""What an X12 file holds, read from its first segments: which transaction sets (ST01), which functional groups
(GS01), its receiver (ISA08, GS03), and whether it carries a TA1. For commands that must refuse a file that is
not theirs (an 835 given to `claims record`), and for `edi inbox fetch`, which sorts what it downloads by kind.

    what = sniff("in/file.x12")
    what.kind            # "837", "835", "ack" (TA1, 999, 997, 277), "other", or None (no X12 at all)

Only the start of the file is read (``limit`` segments), so a 2 GB remittance is sniffed in microseconds;
a file whose first transaction sets are of one kind and later ones of another is judged by the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edi.x12.io import open_input, read_chunks, with_end
from edi.x12.tokenizer import Tokenizer

#: Transaction sets that are acknowledgements.
ACK_SETS = frozenset({"999", "997", "277"})
#: What a file of each kind holds, in words (for the refusals of a file given to the wrong command).
KIND_WORDS = {"837": "837 claims", "835": "an 835 remittance", "ack": "acknowledgements (TA1, 999 or 277CA)",
              "other": "another transaction set", None: "no X12"}


@dataclass
class Sniffed:
    transaction_sets: list[str] = field(default_factory=list)  # ST01 values, in order, each once
    groups: list[str] = field(default_factory=list)  # GS01 values, in order, each once
    receivers: list[str] = field(default_factory=list)  # ISA08 values (stripped), in order, each once
    group_receivers: list[str] = field(default_factory=list)  # GS03 values, in order, each once
    interchanges: list[str] = field(default_factory=list)  # ISA13 values, in order
    ta1: bool = False
    segments: int = 0

    @property
    def kind(self) -> str | None:
        """``837``, ``835``, ``ack``, ``other`` or None (nothing that reads as X12)."""
        for st in self.transaction_sets:
            if st in ("837", "835"):
                return st
            if st in ACK_SETS:
                return "ack"
            return "other"
        if self.ta1:
            return "ack"
        return "other" if self.segments else None


def _once(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def sniff(path: str, *, limit: int | None = 200, chunk: int = 1 << 16) -> Sniffed:
    """See the module docstring; ``limit=None`` reads the whole file (every interchange's receiver). ``-`` is
    not accepted (it would consume standard input)."""
    if path == "-":
        raise ValueError("sniff() needs a file, not standard input")
    tok = Tokenizer(file=path)
    out = Sniffed()
    with open_input(path) as fp:
        # chunk by chunk, lazily: ``(*read_chunks(...), b"")`` read the whole file before the first segment
        for data in with_end(read_chunks(fp, chunk)):
            for els in tok.elements(data):
                out.segments += 1
                tag = els[0]
                if tag == "ST" and len(els) > 1:
                    _once(out.transaction_sets, els[1].strip())
                elif tag == "GS" and len(els) > 1:
                    _once(out.groups, els[1].strip())
                    if len(els) > 3:
                        _once(out.group_receivers, els[3].strip())
                elif tag == "ISA":
                    if len(els) > 8:
                        _once(out.receivers, els[8].strip())
                    if len(els) > 13:
                        out.interchanges.append(els[13].strip())
                elif tag == "TA1":
                    out.ta1 = True
                if limit is not None and out.segments >= limit:
                    return out
    return out
