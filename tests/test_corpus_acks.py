"""Every 999, TA1 and 277CA of the external corpus through the acknowledgement reader, checked against an
independent count written here with plain string splitting (no edi code): accepted and rejected transaction
sets (IK5), group statuses (AK9) and TA1 statuses, and for a 277CA the accepted and rejected claims (the STC
categories of each 2200D, after its HL*..*PT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi.acks import ClaimAck, GroupAck, InterchangeAck, TransactionSetAck, parse_acks, read_acks

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
FOLDERS = ("999", "TA1", "277CA")
FILES = sorted(f"{folder}/{p.name}" for folder in FOLDERS if (CORPUS / folder).is_dir()
               for p in (CORPUS / folder).iterdir() if p.is_file())
pytestmark = pytest.mark.skipif(not FILES, reason=f"no acknowledgement files under {CORPUS} (999, TA1, 277CA): "
                                "the external corpus is absent")

ACCEPTED = {"A0", "A1", "A2", "A5"}
REJECTED = {"A3", "A4", "A6", "A7", "A8"}


def split_segments(data: bytes) -> list[list[str]]:
    """Segments as element lists. The terminator is the character after ISA16, the 106th of a fixed-width ISA
    (found by counting 16 element separators, since some files pad their ISA badly)."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    assert text.startswith("ISA"), "every acknowledgement file of the corpus starts with an ISA"
    el = text[3]
    pos = 3
    for _ in range(15):
        pos = text.index(el, pos + 1)
    term = text[pos + 2]  # ISA16 is one character
    if term in "\r\n":
        raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    else:
        raw = text.replace("\r", "").replace("\n", "").split(term)
    return [s.strip().split(el) for s in raw if s.strip()]


def independent(data: bytes) -> dict:
    sets = {"accepted": 0, "rejected": 0}
    groups: list[str] = []
    ta1: list[str] = []
    claims = {"accepted": 0, "rejected": 0, "other": 0}
    segments = split_segments(data)
    comp = segments[0][16] if len(segments[0]) > 16 else ":"
    patient = in_claim = False
    categories: set[str] | None = None

    def end_claim() -> None:
        if categories is not None:
            key = "rejected" if categories & REJECTED else "accepted" if categories & ACCEPTED else "other"
            claims[key] += 1

    for els in segments:
        tag = els[0]

        def get(i: int, els: list[str] = els) -> str:
            return els[i] if i < len(els) else ""

        if tag in ("IK5", "AK5"):
            sets["accepted" if get(1) in ("A", "E") else "rejected"] += 1
        elif tag == "AK9":
            groups.append(get(1))
        elif tag == "TA1":
            ta1.append(get(4))
        elif tag in ("HL", "SE"):
            end_claim()
            categories = None
            patient = tag == "HL" and get(3) == "PT"
            in_claim = False
        elif tag == "TRN" and patient:
            end_claim()
            categories = set()
            in_claim = True
        elif tag == "SVC":
            in_claim = False  # the STCs of a 2220D line are the line's
        elif tag == "STC" and in_claim:
            for i in (1, 10, 11):
                if get(i):
                    categories.add(get(i).split(comp)[0])
    return {"sets": sets, "groups": groups, "ta1": ta1, "claims": claims}


def ours(items: list) -> dict:
    sets = {"accepted": 0, "rejected": 0}
    groups, ta1 = [], []
    claims = {"accepted": 0, "rejected": 0, "other": 0}
    for item in items:
        if isinstance(item, TransactionSetAck):
            sets["accepted" if item.accepted else "rejected"] += 1
        elif isinstance(item, GroupAck):
            groups.append(item.status)
        elif isinstance(item, InterchangeAck):
            ta1.append(item.status)
        elif isinstance(item, ClaimAck):
            claims[item.outcome] += 1
    return {"sets": sets, "groups": groups, "ta1": ta1, "claims": claims}


@pytest.mark.parametrize("name", FILES)
def test_reader_agrees_with_an_independent_count(name):
    path = CORPUS / name
    reader = read_acks(str(path))
    items = list(reader)  # must not raise, whatever the file
    assert items, "every acknowledgement file of the corpus acknowledges something"
    assert ours(items) == independent(path.read_bytes())
    assert all(p.where.segment is not None for p in reader.problems if p.is_error)
    assert not any(p.code == "ack.transaction.unexpected" for p in reader.problems)
    # the streaming reader and the in-memory parser read alike
    assert (items, reader.problems) == parse_acks(path.read_bytes(), file=str(path))


def test_the_corpus_covers_each_kind_of_acknowledgement():
    totals = {"sets": 0, "groups": 0, "ta1": 0, "claims": 0}
    for name in FILES:
        counted = independent((CORPUS / name).read_bytes())
        totals["sets"] += sum(counted["sets"].values())
        totals["groups"] += len(counted["groups"])
        totals["ta1"] += len(counted["ta1"])
        totals["claims"] += sum(counted["claims"].values())
    assert all(totals.values()), totals
