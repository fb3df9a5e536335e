"""Fast structural checks of an 837 transaction set (any 837 version), fed one segment at a time.

They catch what makes an 837 unreadable for a payer even when the envelope is right: a billing provider
level (HL03 = 20) without its billing provider name (NM1*85, loop 2010AA), a subscriber level (HL03 = 22)
without SBR, a claim (CLM) outside a subscriber or patient level, and a claim whose total (CLM02) differs
from the sum of its line charges (SV102 / SV203 / SV302).
"""

from __future__ import annotations

from decimal import Decimal

from edi.problems import ERROR, WARNING, Problem, Where
from edi.x12.numeric import CENT_PLACES, MONEY_DIGITS, read_r
from edi.x12.segment import Segment

_LINE_CHARGE = {"SV1": 2, "SV2": 3, "SV3": 2}


def _money(text: str) -> Decimal | None:
    """An X12 money amount, or None for anything else (sNaN, 1E+999999 or 27_3.86 would be summed, or raise)."""
    value = read_r(text, MONEY_DIGITS, CENT_PLACES) if text else None
    return value if isinstance(value, Decimal) else None


class Structure837:
    """Checks one 837 ST..SE. ``segment()`` and ``end()`` return problems."""

    def __init__(self) -> None:
        self.level: str | None = None  # HL03 of the current level
        self.hl_seg: Segment | None = None
        self.level_has: set[str] = set()
        self.claim: Segment | None = None
        self.claim_lines = Decimal(0)
        self.claim_has_lines = False
        self.claim_where: Where | None = None

    def _close_level(self, where: Where) -> list[Problem]:
        out: list[Problem] = []
        hl = self.hl_seg
        if hl is None:
            return out
        w = Where(file=where.file, interchange=where.interchange, group=where.group, transaction=where.transaction,
                  segment=hl.index, tag="HL")
        if self.level == "20" and "NM1*85" not in self.level_has:
            out.append(Problem("837.billing_provider.missing", "billing provider level (HL03 = 20) has no billing "
                               "provider name (NM1*85, loop 2010AA)", ERROR, w))
        if self.level == "22" and "SBR" not in self.level_has:
            out.append(Problem("837.subscriber.missing", "subscriber level (HL03 = 22) has no SBR segment", ERROR, w))
        return out

    def _close_claim(self) -> list[Problem]:
        clm, self.claim = self.claim, None
        if clm is None or not self.claim_has_lines:
            return []
        total = _money(clm[2])
        if total is None or total == self.claim_lines:
            return []
        assert self.claim_where is not None
        # SNIP type 3 (balancing): reported as a warning here; edi's own writer refuses such a claim.
        return [Problem("837.claim.total", f"CLM02 is {clm[2]} but the service lines add up to {self.claim_lines} "
                        f"(difference {total - self.claim_lines})", WARNING, self.claim_where)]

    def start(self, st: Segment, where: Where) -> None:
        pass

    def segment(self, seg: Segment, where: Where) -> list[Problem]:
        tag = seg.tag
        out: list[Problem] = []
        if tag == "HL":
            out += self._close_claim()
            out += self._close_level(where)
            self.level = seg[3]
            self.hl_seg = seg
            self.level_has = set()
        elif tag == "NM1":
            self.level_has.add("NM1*" + seg[1])
        elif tag == "SBR":
            self.level_has.add("SBR")
        elif tag == "CLM":
            out += self._close_claim()
            if self.level not in ("22", "23"):
                out.append(Problem("837.claim.level", "CLM outside a subscriber (22) or patient (23) level", ERROR,
                                   Where(file=where.file, interchange=where.interchange, group=where.group,
                                         transaction=where.transaction, segment=seg.index, tag=tag)))
            self.claim = seg
            self.claim_lines = Decimal(0)
            self.claim_has_lines = False
            self.claim_where = Where(file=where.file, interchange=where.interchange, group=where.group,
                                     transaction=where.transaction, segment=seg.index, tag=tag, element="CLM02")
        elif tag in _LINE_CHARGE and self.claim is not None:
            amount = _money(seg[_LINE_CHARGE[tag]])
            if amount is not None:
                self.claim_lines += amount
                self.claim_has_lines = True
        return out

    def end(self, where: Where, se: Segment | None = None) -> list[Problem]:
        return self._close_claim() + self._close_level(where)
