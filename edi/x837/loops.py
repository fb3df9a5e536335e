"""Loop detection for the 837 reader: one table per claim kind, every transition in this module.

A transition is keyed by ``(loop, tag, qualifier)``: the loop the new one is a child of, the segment that
opens it, and its qualifier (NM101 for NM1, HL03 for HL, None for any other segment). The reader walks its
stack of open loops from the innermost outwards and takes the first key that matches, so ``LX`` seen inside
2310B opens a new 2400 under 2300, and ``NM1*82`` opens 2420A inside a service line but 2310B inside a claim.

Each loop carries a ``role``: which object its segments describe (``billing``, ``subscriber``, ``payer``,
``patient``, ``claim``, ``line``, a provider role such as ``rendering``, or an other payer's part:
``other_payer`` (2320), ``other_subscriber`` (2330A), ``other_payer_name`` (2330B), ``line_adjudication``
(2430)). The reader's handlers are keyed by ``(role, tag)``; loops whose content the reader does not keep
(other payers' provider ids in 2330C-I, pay-to address, ambulance locations...) have no role, so their NM1 or
N3 never overwrites a claim's.

An NM1 or HL that no transition knows opens an :data:`UNKNOWN_NAME` / :data:`UNKNOWN_LEVEL` loop, so what
follows it is not mistaken for the loop before it.
"""

from __future__ import annotations

from typing import NamedTuple

from edi.model import ClaimKind


class Loop(NamedTuple):
    id: str
    role: str | None
    leaf: bool = False  # a name loop (opened by NM1): it has no child loops


ROOT = Loop("ST", "header")
UNKNOWN_NAME = Loop("?", None, leaf=True)
UNKNOWN_LEVEL = Loop("HL?", "unknown_level")

#: The element that qualifies a loop-opening segment.
QUALIFIER_ELEMENT = {"NM1": 1, "HL": 3}
#: Segments that always open a loop: when no transition matches, they open an unknown one.
ALWAYS_OPEN = {"NM1": UNKNOWN_NAME, "HL": UNKNOWN_LEVEL}

Key = tuple[str, str, str | None]


def _names(parent: str, entries: dict[str, tuple[str, str | None]]) -> dict[Key, Loop]:
    """NM1 transitions under ``parent``: NM101 -> (loop id, role)."""
    return {(parent, "NM1", code): Loop(loop, role, leaf=True) for code, (loop, role) in entries.items()}


_COMMON: dict[Key, Loop] = {
    ("ST", "HL", "20"): Loop("2000A", "billing"),
    ("2000A", "HL", "22"): Loop("2000B", "subscriber"),
    ("2000B", "HL", "23"): Loop("2000C", "patient"),
    # tolerated: a subscriber or patient level without its parent level, a claim outside any level
    ("ST", "HL", "22"): Loop("2000B", "subscriber"),
    ("ST", "HL", "23"): Loop("2000C", "patient"),
    ("ST", "CLM", None): Loop("2300", "claim"),
    ("2000B", "CLM", None): Loop("2300", "claim"),
    ("2000C", "CLM", None): Loop("2300", "claim"),
    ("2300", "SBR", None): Loop("2320", "other_payer"),
    ("2300", "LX", None): Loop("2400", "line"),
    ("2400", "LIN", None): Loop("2410", None),
    ("2400", "SVD", None): Loop("2430", "line_adjudication"),
    ("2400", "LQ", None): Loop("2440", None),
    **_names("ST", {"41": ("1000A", "submitter"), "40": ("1000B", "receiver")}),
    **_names("2000A", {"85": ("2010AA", "billing"), "87": ("2010AB", None), "PE": ("2010AC", None)}),
    **_names("2000B", {"IL": ("2010BA", "subscriber"), "PR": ("2010BB", "payer")}),
    **_names("2000C", {"QC": ("2010CA", "patient")}),
    **_names("2320", {"IL": ("2330A", "other_subscriber"), "PR": ("2330B", "other_payer_name")}),
}

_PROFESSIONAL: dict[Key, Loop] = {
    **_COMMON,
    **_names("2300", {"DN": ("2310A", "referring"), "P3": ("2310A", None), "82": ("2310B", "rendering"),
                      "77": ("2310C", "facility"), "FA": ("2310C", "facility"), "DQ": ("2310D", None),
                      "PW": ("2310E", None), "45": ("2310F", None)}),
    **_names("2320", {"DN": ("2330C", None), "P3": ("2330C", None), "82": ("2330D", None), "77": ("2330E", None),
                      "DQ": ("2330F", None), "85": ("2330G", None)}),
    **_names("2400", {"82": ("2420A", "line_rendering"), "QB": ("2420B", None), "77": ("2420C", None),
                      "DQ": ("2420D", None), "DK": ("2420E", None), "DN": ("2420F", None), "P3": ("2420F", None),
                      "PW": ("2420G", None), "45": ("2420H", None)}),
}

_INSTITUTIONAL: dict[Key, Loop] = {
    **_COMMON,
    **_names("2300", {"71": ("2310A", "attending"), "72": ("2310B", "operating"), "ZZ": ("2310C", None),
                      "73": ("2310C", None), "82": ("2310D", "rendering"), "77": ("2310E", "facility"),
                      "FA": ("2310E", "facility"), "DN": ("2310F", "referring")}),
    **_names("2320", {"71": ("2330C", None), "72": ("2330D", None), "ZZ": ("2330E", None), "77": ("2330F", None),
                      "82": ("2330G", None), "DN": ("2330H", None), "85": ("2330I", None)}),
    **_names("2400", {"72": ("2420A", None), "ZZ": ("2420B", None), "82": ("2420C", "line_rendering"),
                      "DN": ("2420D", None)}),
}

TRANSITIONS: dict[ClaimKind, dict[Key, Loop]] = {"professional": _PROFESSIONAL, "institutional": _INSTITUTIONAL}

#: Tags that may open a loop (the others always stay in the current loop).
OPENERS = frozenset(tag for table in TRANSITIONS.values() for (_, tag, _) in table)


def enter(stack: list[Loop], table: dict[Key, Loop], tag: str, qualifier: str | None) -> None:
    """Update ``stack`` (outermost first) for a segment that may open a loop (``tag`` in :data:`OPENERS`)."""
    for depth in range(len(stack) - 1, -1, -1):
        parent = stack[depth].id
        found = table.get((parent, tag, qualifier)) or table.get((parent, tag, None))
        if found is not None:
            del stack[depth + 1:]
            stack.append(found)
            return
    unknown = ALWAYS_OPEN.get(tag)
    if unknown is None:
        return
    if unknown is UNKNOWN_LEVEL:
        del stack[1:]
    while stack[-1].leaf:
        stack.pop()
    stack.append(unknown)
