"""Every 835 of the external corpus through the reader, checked against an independent count written here
with plain string splitting (no edi code): per transaction set, the number of claims, the sum of CLP04, the
sum of PLB amounts and the balancing verdict must agree."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from conftest import CORPUS, corpus_rows

from edi.model import ClaimPayment, RemittanceEnd
from edi.x835.reader import read_remittances
from edi.x835.views import payments

ROWS = [(n, notes) for n, notes in corpus_rows() if n.startswith("835/")]
pytestmark = pytest.mark.skipif(not ROWS, reason="../shared/corpus is absent")


def split_segments(data: bytes) -> list[list[str]]:
    """Segments as element lists, delimiters taken from the ISA the simple way (or guessed: * and ~)."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff \r\n")
    if text.startswith("ISA"):
        el = text[3]
        pos = -1
        for _ in range(16):
            pos = text.index(el, pos + 1)
        term = text[pos + 2]
    else:
        el, term = text[2], "~"
    if term in "\r\n":
        raw = text.replace("\r", "\n").split("\n")
    else:
        raw = text.split(term)
    return [s.strip().split(el) for s in raw if s.strip()]


def dec(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        return Decimal(0)


def independent(data: bytes) -> list[dict]:
    """Per 835 ST..SE: claims, sum CLP04, sum PLB, and whether all three balancing equations hold."""
    out = []
    cur = None
    level = None  # "claim" or "line"
    for els in split_segments(data):
        tag = els[0]

        def get(i: int, els: list[str] = els) -> str:
            return els[i] if i < len(els) else ""

        if tag == "ST" and get(1) == "835":
            cur = {"claims": 0, "paid": Decimal(0), "plb": Decimal(0), "bpr": Decimal(0), "debit": False, "ok": True}
            claim = line = None
        elif cur is None:
            continue
        elif tag == "BPR":
            cur["bpr"], cur["debit"] = dec(get(2)), get(3) == "D"
        elif tag == "CLP":
            if line is not None and line[0] - line[1] != line[2]:
                cur["ok"] = False
            if claim is not None and claim[0] - claim[1] != claim[2]:
                cur["ok"] = False
            cur["claims"] += 1
            cur["paid"] += dec(get(4))
            claim = [dec(get(3)), Decimal(0), dec(get(4))]  # charge, adjustments, paid
            line = None
            level = "claim"
        elif tag == "SVC" and claim is not None:
            if line is not None and line[0] - line[1] != line[2]:
                cur["ok"] = False
            line = [dec(get(2)), Decimal(0), dec(get(3))]
            level = "line"
        elif tag == "CAS" and claim is not None:
            total = sum((dec(get(i)) for i in (3, 6, 9, 12, 15, 18) if get(i)), Decimal(0))
            claim[1] += total
            if level == "line":
                line[1] += total
        elif tag == "PLB":
            if line is not None and line[0] - line[1] != line[2]:
                cur["ok"] = False
            if claim is not None and claim[0] - claim[1] != claim[2]:
                cur["ok"] = False
            claim = line = None
            cur["plb"] += sum((dec(get(i)) for i in range(4, len(els), 2) if get(i)), Decimal(0))
        elif tag == "SE":
            if line is not None and line[0] - line[1] != line[2]:
                cur["ok"] = False
            if claim is not None and claim[0] - claim[1] != claim[2]:
                cur["ok"] = False
            bpr = -cur["bpr"] if cur["debit"] else cur["bpr"]
            if bpr != cur["paid"] - cur["plb"]:
                cur["ok"] = False
            out.append(cur)
            cur = None
    return out


@pytest.mark.parametrize(("name", "notes"), ROWS, ids=[r[0] for r in ROWS])
def test_reader_agrees_with_an_independent_count(name, notes):
    path = CORPUS / name
    reader = read_remittances(str(path))
    items = list(reader)  # must not raise, whatever the file
    ours = []
    claims = 0
    for item in items:
        if isinstance(item, ClaimPayment):
            claims += 1
        if isinstance(item, RemittanceEnd):
            ours.append({"claims": item.claim_count, "paid": item.paid_total, "plb": item.provider_adjustment_total})
    verdicts = [p.balanced for p in payments(items)]
    expected = independent(path.read_bytes())
    assert [(t["claims"], t["paid"], t["plb"]) for t in ours] == [(t["claims"], t["paid"], t["plb"])
                                                                 for t in expected]
    assert verdicts == [t["ok"] for t in expected]
    assert claims == sum(t["claims"] for t in expected)


@pytest.mark.parametrize(("name", "notes"), [r for r in ROWS if "malformed on purpose" in r[1]],
                         ids=[r[0] for r in ROWS if "malformed on purpose" in r[1]])
def test_deliberately_broken_835s_give_problems_with_positions(name, notes):
    reader = read_remittances(str(CORPUS / name))
    list(reader)
    errors = [p for p in reader.problems if p.is_error]
    assert errors and all(p.where.segment is not None for p in errors)
