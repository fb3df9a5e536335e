"""Transaction-independent syntax checks on single segments and on HL hierarchies (WEDI SNIP type 1).

``MANDATORY`` lists, for the segments claims and remittances are made of, the elements the X12 standard
marks mandatory (M) in every transaction that uses the segment. An empty mandatory element is an error
whatever the implementation guide says, so this is safe to check before knowing the transaction.

``HierarchyChecker`` checks HL segments inside one transaction set: HL01 counts 1, 2, 3...; HL02 names an
earlier HL; HL04 says whether children follow.
"""

from __future__ import annotations

from edi.problems import ERROR, WARNING, Problem, Where
from edi.x12.segment import Segment

MANDATORY: dict[str, tuple[int, ...]] = {
    # envelopes
    "GS": (1, 2, 3, 4, 5, 6, 7, 8),
    "ST": (1, 2),
    "SE": (1, 2),
    "GE": (1, 2),
    "IEA": (1, 2),
    "TA1": (1, 2, 3, 4),
    # shared by claims, remittances and acknowledgments
    "BHT": (1, 2),
    "NM1": (1, 2),
    "N1": (1,),
    "N3": (1,),
    "REF": (1,),
    "PER": (1,),
    "DTP": (1, 2, 3),
    "DTM": (1,),
    "HL": (1, 3),
    "AMT": (1, 2),
    "LX": (1,),
    # 837
    "SBR": (1,),
    "CLM": (1, 2, 5),
    "HI": (1,),
    "SV1": (1, 2),
    # 835
    "BPR": (1, 2, 3, 4),
    "TRN": (1, 2),
    "CLP": (1, 2),  # CLP03/CLP04 are M too; the 835 reader reports them with the amounts
    "CAS": (1, 2, 3),
    "SVC": (1, 2),
    "PLB": (1, 2, 3, 4),
    # 999 / 277
    "AK1": (1, 2),
    "AK2": (1, 2),
    "IK3": (1, 2),
    "IK4": (1, 3),
    "IK5": (1,),
    "AK9": (1, 2, 3, 4),
    "STC": (1,),
}


def check_segment(seg: Segment, where: Where) -> Problem | None:
    """The first empty mandatory element of ``seg``, as a problem; None when all are present."""
    wanted = MANDATORY.get(seg.tag)
    if not wanted:
        return None
    els = seg.elements
    n = len(els)
    for i in wanted:
        if i >= n or not els[i]:
            ref = f"{seg.tag}{i:02d}"
            return Problem("x12.element.missing", f"{ref} is mandatory in every X12 {seg.tag} segment but is empty",
                           ERROR, _with(where, seg, ref))
    return None


def _with(where: Where, seg: Segment, element: str | None = None) -> Where:
    return Where(file=where.file, interchange=where.interchange, group=where.group, transaction=where.transaction,
                 segment=seg.index, tag=seg.tag, element=element)


class HierarchyChecker:
    """HL numbering and parent links inside one transaction set. Feed HL segments only."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, str]] = {}  # HL01 -> (HL03 level code, HL04 child code)
        self.expected = 1

    def hl(self, seg: Segment, where: Where) -> list[Problem]:
        out: list[Problem] = []
        hl01, hl02, hl03, hl04 = seg[1], seg[2], seg[3], seg[4]
        if hl01 != str(self.expected):
            out.append(Problem("x12.hl.number", f"HL01 is {hl01 or '(empty)'}; hierarchical levels are numbered "
                               f"1, 2, 3... and {self.expected} was expected", ERROR, _with(where, seg, "HL01")))
        if hl02 and hl02 not in self.seen:
            out.append(Problem("x12.hl.parent", f"HL02 names parent {hl02}, which is not an earlier HL01", ERROR,
                               _with(where, seg, "HL02")))
        if hl02 and hl02 in self.seen and self.seen[hl02][1] == "0":
            out.append(Problem("x12.hl.children", f"HL {hl02} says it has no children (HL04 = 0) but HL {hl01} "
                               "names it as parent", WARNING, _with(where, seg, "HL04")))
        if hl01.isdigit():
            self.expected = int(hl01) + 1
        self.seen[hl01] = (hl03, hl04)
        return out
