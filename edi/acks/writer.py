"""The acknowledgement a receiver would send for an X12 file: a 999 (005010X231A1) per functional group, and a
TA1 when the interchange envelope is bad or its ISA14 asked for one.

    result = acknowledge("claims.837")               # edi's fast checks
    result = acknowledge("claims.837", deep=True)    # + pyx12's implementation-guide (TR3) checks
    result.data                                      # the acknowledgement interchange(s), as bytes
    result.accepted                                  # every interchange, group and transaction set passed
    for line in result.summary(): ...                # one line per TA1 and per group, for people

The file is validated with :mod:`edi.validate` (``deep=True`` adds pyx12), then read once more to learn its
envelopes (ISA / GS / ST ranges, control numbers, versions) and, for the segments in error only, their loop
and the claim (CLM01) they sit in. Each problem is then mapped, with the one table below, to where a receiver
reports it:

- **TA1** (interchange): TA101 the received ISA13, TA102/TA103 its ISA09/ISA10, TA104 ``R`` for an error,
  ``E`` for a warning only, ``A`` (note ``000``) when nothing is wrong but ISA14 = 1 asked for a TA1; TA105 the
  note of the first finding in file order. It is written right after the ISA, before the GS, in the same
  interchange as the 999s. A ``TA1*...*R`` means the receiver refuses the whole interchange; the 999 that
  follows still answers each group on its own findings, so that one answer shows all that is wrong.
- **999**, one ST per received functional group: AK1 (GS01, GS06, GS08); per transaction set an AK2 (ST01, ST02,
  ST03 or else GS08), an IK3 per segment in error (IK301 tag; IK302 position counted from ST = 1; IK303 loop;
  IK304 code), a ``CTX*CLM01:<claim>`` when the segment sits inside an 837 claim, an IK4 per element in error
  (IK401 position, ``5:2`` for a component; IK402 the data element number from pyx12's map of the guide; IK403
  code; never IK404: no received value is copied), and IK5; then AK9 (status, GE01, sets received, sets
  accepted, group codes).

Statuses: a set with an error-severity finding is rejected (``IK5*R``); with warning findings only, accepted
with errors (``E``); else ``A``. IK502..IK506 are the set-level codes, then ``5`` when any segment is in error.
AK901 is ``R`` when the group itself is in error (AK904 is then 0) or no set was accepted, ``P`` when some were,
``E`` when all were and one had errors, else ``A``.

IK303 is the X12 loop identifier, data element 447, which is at most 4 characters: the TR3's loop id without
its letter suffix (2010AA is written 2010, 2000B 2000); :class:`SegmentResult` keeps the full TR3 id. Header
and trailer segments belong to no loop and have none.

What is *not* acknowledged: a functional group of acknowledgements (GS01 = FA: a 999 or TA1 is never
answered), a group whose GS01 is not one a 999 answers (TA1 024), a transaction set whose ST01 is not one the
999's AK201 lists (counted received, not accepted), transaction sets outside a group (TA1 022). Segments
outside any interchange and bytes that are not X12 are kept in :attr:`AckResult.notes` (errors there make
the result not accepted). A file with no interchange at all raises :class:`AckError`.

The table (edi and pyx12 problem code -> where it goes; ``-`` = not a 999/TA1 finding; ``(w)`` = a warning in
edi, so it gives ``E``, never ``R``):

================================  =========================================================================
problem code                      999 / TA1
================================  =========================================================================
x12.iea.control                   TA105 001 (control number in header and trailer do not match)
x12.iea.count                     TA105 021 (invalid number of included groups)
x12.iea.missing                   TA105 023 (premature end of file)
x12.isa.control                   TA105 018;  x12.isa.usage: 020;  x12.isa.elements: 022
x12.isa.short, x12.isa.long (w)   by element: ISA01 010, 02 011, 03 012, 04 013, 05 005, 06 006, 07 007,
                                  08 008, 09 014, 10 015, 11 022, 12 017, 13 018, 14 019, 15 020, 16 027
(ISA12 not 00501)                 TA105 003 (an X12 version edi does not take) or 017 (not a version)
(ISA09 / ISA10 / ISA14 invalid)   TA105 014 / 015 / 019
x12.segment.outside,              TA105 022 (invalid control structure)
x12.gs.missing, x12.st.missing
x12.gs.elements, (GS01 unknown)   TA105 024 (invalid interchange content: a bad GS)
x12.ge.control                    AK905 4;  x12.ge.count: 5;  x12.ge.missing: 3;  x12.gs.control: 6;
                                  x12.gs.duplicate: 19
(GS08 not 00501...)               AK905 2 (functional group version not supported)
x12.se.count                      IK502 4;  x12.se.control: 3;  x12.se.missing: 2;  x12.st.control: 7;
                                  x12.st.duplicate: 23;  x12.st.version (w): 19
(ST01 not the GS01's set)         IK502 6;  (ST01 a 999 cannot answer): 1, and no AK2
x12.element.missing               IK304 8 + IK403 1; on an envelope segment by element: GS01 AK905 1,
                                  GS06 6, GS08 2, other GS TA105 024, GE01 AK905 5, GE02 4, ST01 IK502 6,
                                  ST02 7, ST03 19, SE01 4, SE02 3, IEA01 TA105 021, IEA02 001, ISA as above
x12.hl.number / .parent /         IK304 8 + IK403 I12 (implementation pattern) on HL01 / HL02 / HL04
.children (w)
x12.segment.tag                   IK304 1 (unrecognized segment ID)
837.billing_provider.missing      IK3 NM1, loop 2010AA, IK304 3, at the position after its HL
837.subscriber.missing            IK3 SBR, loop 2000B, IK304 3, at the position after its HL
837.claim.level                   IK304 2 (unexpected segment)
835.amount.missing (w)            IK403 1;  835.amount.invalid (w): 6;  835.date.invalid (w): 8;
                                  835.cas.reason (w): 2;  835.cas.empty (w): 1 on CAS02;
                                  835.plb.empty (w): 1 on PLB03;  835.n1.entity (w): 7 on N101
835.bpr.missing / .trn.missing    IK3 BPR / TRN, IK304 3;  835.payer/payee.missing (w): IK3 N1, loop
(w)                               1000A / 1000B, IK304 3
837.claim.total, 835.*.unbalanced - balancing (SNIP type 3) is a 277CA edit, not a 999 one
835.claim.patient_responsibility, -
835.segment.unexpected (reader's
own loop model), 835.transaction.*,
835.version, x12.version (checked
per ISA / GS above), x12.segment.
empty / unterminated, x12.delimiters.*
pyx12.isa.N / pyx12.gs.N /        TA105 N / AK905 N / IK502 N (pyx12 already uses the X12 codes there), except
pyx12.st.N                        its trailer counts and control numbers (TA105 001 021 023, AK905 3 4 5, IK502
                                  2 3 4): edi's envelope reader makes those (pyx12's misses the IEA of some
                                  files); and a repeated GS06, which pyx12 calls 6: AK905 19
pyx12.segment.N                   IK304 N, except: "Segment ... not found" -> 2 (unexpected segment; 1 only
                                  when the tag is in no loop of the guide; pyx12 says 1); "... marked as not
                                  used" -> I4; seg-level "8" with its element named in the message -> the IK4
                                  (too many elements 3, too many components 13, syntax rule P/C/L/R 2 and E 10,
                                  mandatory composite missing 1, composite not used I10)
pyx12.segment.HL1 / HL2 / LX      IK304 8 + IK403 I12 on HL01 / HL02 / LX01 (pyx12's 999 drops these)
pyx12.element.N                   IK304 8 + IK403 N; "... marked as Not Used" -> I10 (pyx12 says 10, which
                                  in 5010 means exclusion condition violated)
pyx12.log                         pyx12's ISA / GS / ST element errors (logged only): read back from
                                  "Line:n ELE:code" and placed by element as for x12.element.missing (ISA11
                                  of an interchange before 5010, the standards identifier then: TA105 016)
pyx12: leading space, SEG1        - formatting only, no data: edi reads indentation and trailing separators
(trailing separators)
pyx12.segment.4 on PLB (FOOTER)   - pyx12's 835 map models the footer as a loop of one; the TR3 repeats PLB
835 ST03 "not used" (pyx12.log)   - many 835s carry ST03; edi takes both
pyx12.map, pyx12.unreadable       notes: what pyx12 could not check is not a finding about the file
================================  =========================================================================
"""

from __future__ import annotations

import io
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from xml.etree import ElementTree

from edi.problems import ERROR, Problem, Severity, Where, by_position
from edi.validate import ValidationReport, validate_path, validate_stream
from edi.x12.io import read_segments
from edi.x12.segment import DEFAULT_DELIMITERS, Segment
from edi.x12.tokenizer import Tokenizer
from edi.x12.writer import (
    ControlNumbers,
    CounterControlNumbers,
    InterchangeWriter,
    Party,
    forbidden_characters,
    format_segment,
)

#: GS08 and ST03 of every 999 edi writes.
IMPLEMENTATION = "005010X231A1"

#: The functional groups a 999 answers (its AK101 code list) and the transaction set each one carries.
FUNCTIONAL_IDS = {"HC": "837", "HP": "835", "HN": "277", "HR": "276", "HS": "270", "HB": "271", "HI": "278",
                  "BE": "834", "RA": "820"}
#: The transaction sets a 999 answers (its AK201 code list).
ACKNOWLEDGED_SETS = frozenset(FUNCTIONAL_IDS.values())

# -- code words -----------------------------------------------------------------------------------------------

STATUS_WORDS = {"A": "accepted", "E": "accepted with errors", "P": "partially accepted", "R": "rejected"}

#: TA105 (I18).
TA1_NOTES = {
    "000": "no error", "001": "control number in header and trailer do not match",
    "002": "standard in ISA11 not supported", "003": "version of the controls not supported",
    "004": "segment terminator invalid", "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID", "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID", "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier", "011": "invalid authorization information value",
    "012": "invalid security information qualifier", "013": "invalid security information value",
    "014": "invalid interchange date", "015": "invalid interchange time",
    "016": "invalid interchange standards identifier", "017": "invalid interchange version ID",
    "018": "invalid interchange control number", "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value", "021": "invalid number of included groups",
    "022": "invalid control structure", "023": "improper (premature) end of file",
    "024": "invalid interchange content (e.g. an invalid GS segment)", "025": "duplicate interchange control number",
    "026": "invalid data element separator", "027": "invalid component element separator",
}
#: AK905 (716).
GROUP_CODES = {
    "1": "functional group not supported", "2": "functional group version not supported",
    "3": "functional group trailer missing", "4": "group control number in header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax", "19": "group control number not unique within the interchange",
}
#: IK502 (718).
SET_CODES = {
    "1": "transaction set not supported", "2": "transaction set trailer missing",
    "3": "control number in header and trailer do not match",
    "4": "number of included segments does not match actual count", "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier", "7": "missing or invalid transaction set control number",
    "18": "transaction set not in functional group", "19": "invalid implementation convention reference",
    "23": "control number not unique within the functional group",
}
#: IK304 (620).
SEGMENT_CODES = {
    "1": "unrecognized segment ID", "2": "unexpected segment", "3": "required segment missing",
    "4": "loop occurs over maximum times", "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set", "7": "segment not in proper sequence",
    "8": "segment has data element errors", "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing", "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use", "I9": "implementation dependent 'not used' segment present",
}
#: IK403 (621).
ELEMENT_CODES = {
    "1": "required data element missing", "2": "conditional required data element missing",
    "3": "too many data elements", "4": "data element too short", "5": "data element too long",
    "6": "invalid character in data element", "7": "invalid code value", "8": "invalid date",
    "9": "invalid time", "10": "exclusion condition violated", "12": "too many repetitions",
    "13": "too many components", "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing", "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions", "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}


class AckError(ValueError):
    """The file holds nothing a receiver could acknowledge (empty, not X12, no interchange header)."""


# -- the table ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Where a problem goes. ``level``: ``interchange`` (TA105), ``group`` (AK905), ``set`` (IK502),
    ``segment`` (IK304 ``code``) or ``element`` (IK304 8 and IK403 ``code``, on ``position`` when the problem
    does not name its element). ``tag`` and ``loop`` name a missing segment (loop ``""``: a header segment,
    in no loop); ``after`` puts it after the segment the problem names (an HL whose segment is missing)."""

    level: str
    code: str
    position: int | None = None
    tag: str | None = None
    loop: str | None = None
    after: bool = False


def _ta(code: str) -> Target:
    return Target("interchange", code)


def _grp(code: str) -> Target:
    return Target("group", code)


def _set(code: str) -> Target:
    return Target("set", code)


def _seg(code: str, tag: str | None = None, loop: str | None = None, after: bool = False) -> Target:
    return Target("segment", code, tag=tag, loop=loop, after=after)


def _ele(code: str, position: int | None = None) -> Target:
    return Target("element", code, position)


#: The ISA elements' TA105 notes.
ISA_NOTES = {1: "010", 2: "011", 3: "012", 4: "013", 5: "005", 6: "006", 7: "007", 8: "008", 9: "014", 10: "015",
             11: "022", 12: "017", 13: "018", 14: "019", 15: "020", 16: "027"}
_BY_ISA_ELEMENT = Target("interchange", "by element")

#: An envelope segment's element in error (an empty mandatory element, or pyx12's logged element errors).
ENVELOPE_ELEMENTS: dict[str, Target] = {
    "GS01": _grp("1"), "GS06": _grp("6"), "GS08": _grp("2"), "GS": _ta("024"),
    "GE01": _grp("5"), "GE02": _grp("4"), "GE": _grp("5"),
    "ST01": _set("6"), "ST02": _set("7"), "ST03": _set("19"), "ST": _set("6"),
    "SE01": _set("4"), "SE02": _set("3"), "SE": _set("4"),
    "IEA01": _ta("021"), "IEA02": _ta("001"), "IEA": _ta("022"), "ISA": _BY_ISA_ELEMENT,
}

#: edi's problem codes. A code that is absent, or maps to None, is not an acknowledgement finding.
RULES: dict[str, Target | None] = {
    "x12.iea.control": _ta("001"), "x12.iea.count": _ta("021"), "x12.iea.missing": _ta("023"),
    "x12.isa.control": _ta("018"), "x12.isa.usage": _ta("020"), "x12.isa.elements": _ta("022"),
    "x12.isa.short": _BY_ISA_ELEMENT, "x12.isa.long": _BY_ISA_ELEMENT,
    "x12.segment.outside": _ta("022"), "x12.gs.missing": _ta("022"), "x12.st.missing": _ta("022"),
    "x12.gs.elements": _ta("024"),
    "x12.ge.control": _grp("4"), "x12.ge.count": _grp("5"), "x12.ge.missing": _grp("3"),
    "x12.gs.control": _grp("6"), "x12.gs.duplicate": _grp("19"),
    "x12.se.count": _set("4"), "x12.se.control": _set("3"), "x12.se.missing": _set("2"),
    "x12.st.control": _set("7"), "x12.st.duplicate": _set("23"), "x12.st.version": _set("19"),
    "x12.element.missing": _ele("1"),
    "x12.hl.number": _ele("I12", 1), "x12.hl.parent": _ele("I12", 2), "x12.hl.children": _ele("I12", 4),
    "x12.segment.tag": _seg("1"),
    "837.billing_provider.missing": _seg("3", "NM1", "2010AA", after=True),
    "837.subscriber.missing": _seg("3", "SBR", "2000B", after=True),
    "837.claim.level": _seg("2"),
    "837.claim.total": None,
    "835.amount.missing": _ele("1"), "835.amount.invalid": _ele("6"), "835.date.invalid": _ele("8"),
    "835.cas.reason": _ele("2"), "835.cas.empty": _ele("1", 2), "835.plb.empty": _ele("1", 3),
    "835.n1.entity": _ele("7", 1),
    "835.bpr.missing": _seg("3", "BPR", ""), "835.trn.missing": _seg("3", "TRN", ""),
    "835.payer.missing": _seg("3", "N1", "1000A"), "835.payee.missing": _seg("3", "N1", "1000B"),
    "835.line.unbalanced": None, "835.claim.unbalanced": None, "835.transaction.unbalanced": None,
    "835.claim.patient_responsibility": None, "835.segment.unexpected": None, "835.transaction.other": None,
    "835.transaction.unterminated": None, "835.version": None,
    "x12.version": None, "x12.segment.empty": None, "x12.segment.unterminated": None,
    "x12.delimiters.guessed": None, "x12.delimiters.reused": None,
}
#: Trailer-missing codes: reported at the segment after the container they belong to.
_MISSING_TRAILERS = {"x12.se.missing": "set", "x12.ge.missing": "group", "x12.iea.missing": "interchange"}
#: Problems about what pyx12 could not do, not about the file.
_TOOL_NOTES = frozenset({"pyx12.map", "pyx12.unreadable", "pyx12.log"})
#: pyx12's envelope trailer findings (counts, control numbers, missing trailers): edi's envelope checks make the
#: same ones from its own reading of the file, which also reads the files pyx12's reader gets wrong.
_PYX12_ENVELOPE_COUNTS = {"isa": frozenset({"001", "021", "023"}), "gs": frozenset({"3", "4", "5"}),
                          "st": frozenset({"2", "3", "4"})}
_IK304 = frozenset(SEGMENT_CODES)
_IK403 = frozenset({*ELEMENT_CODES, "11"})
_IK502 = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "15", "16", "17", "18", "19",
                    "23", "24", "25", "26", "27", "I5", "I6"})
_AK905 = frozenset({"1", "2", "3", "4", "5", "6", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "23",
                    "24", "25", "26"})
_TA105 = frozenset(f"{n:03d}" for n in range(32))

_REF_IN_PARENS = re.compile(r"\(([A-Z][A-Z0-9]{1,2}?)(\d{2})(?:-(\d{2}))?\)")
_REF = re.compile(r"\b([A-Z][A-Z0-9]{1,2}?)(\d{2})\b")
_MISSING_LOOP = re.compile(r'Mandatory loop ".*" \(([0-9A-Z_]+)\) missing')
_MISSING_SEGMENT = re.compile(r'Mandatory segment ".*" \(([A-Z][A-Z0-9]{1,2})\) missing')
_TOO_MANY = re.compile(r"Too many elements in segment .* Has (\d+), should have (\d+)")
_SYNTAX = re.compile(r"Syntax Error \(([A-Z])\d+\)")
_LOG = re.compile(r"Line:(\d+) (ISA|GS|ST|SEG|ELE):(\S+) - (.*)")
_WRAPPERS = frozenset({"ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "FOOTER"})


def _element_of(ref: str | None) -> tuple[str, int] | None:
    """``("NM1", 3)`` for ``"NM103"``."""
    if not ref or len(ref) < 4 or not ref[-2:].isdigit():
        return None
    return ref[:-2], int(ref[-2:])


# -- pyx12's maps: data element numbers and loops -------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _SegmentDef:
    tag: str
    qualifier: int | None  # the element whose code tells this segment from its namesakes (NM101, HL03...)
    codes: frozenset[str]

    def matches(self, els: list[str]) -> bool:
        if els[0] != self.tag:
            return False
        q = self.qualifier
        return q is None or (len(els) > q and els[q] in self.codes)


@dataclass(eq=False, slots=True)
class _LoopDef:
    id: str
    wrapper: bool  # ISA_LOOP, HEADER, DETAIL...: not a loop of the guide
    parent: _LoopDef | None
    segments: list[_SegmentDef] = field(default_factory=list)
    loops: list[_LoopDef] = field(default_factory=list)

    def has_segment(self, tag: str) -> bool:
        return any(s.tag == tag for s in self.segments)


@dataclass(eq=False, slots=True)
class _MapIndex:
    """What edi reads from one pyx12 map: data element numbers by (tag, "NN" or "NN-MM"), the segment tags the
    guide uses, and its loop tree."""

    refs: dict[tuple[str, str], str]
    tags: frozenset[str]
    loops: dict[str, _LoopDef]
    body: _LoopDef | None  # ST_LOOP

    def loop_with(self, tag: str, start: str | None) -> str | None:
        """The loop, ``start`` or one of its ancestors, that holds segment ``tag``."""
        node = self.loops.get(start or "")
        while node is not None:
            if not node.wrapper and node.has_segment(tag):
                return node.id
            node = node.parent
        return None


def _map_dir():
    return resources.files("pyx12") / "map"


@lru_cache(maxsize=1)
def _catalog() -> tuple[tuple[str, str, str, str], ...]:
    """(ISA12, GS01, GS08, file) for each map pyx12 registers."""
    try:
        root = ElementTree.fromstring((_map_dir() / "maps.xml").read_bytes())
    except (OSError, ModuleNotFoundError, ElementTree.ParseError):
        return ()
    return tuple((v.get("icvn", ""), m.get("fic", ""), m.get("vriic", ""), m.text or "")
                 for v in root.iter("version") for m in v.iter("map"))


def _find_map(icvn: str, fic: str, vriic: str) -> _MapIndex | None:
    """The map for a group (ISA12, GS01, GS08); a close version (005010X222 for X222A1) when none is exact."""
    best, best_len = None, 0
    for v, f, r, name in _catalog():
        if v != icvn or f != fic or not r:
            continue
        if r == vriic:
            return _load_map(name)
        common = len(r) if vriic.startswith(r) else (len(vriic) if r.startswith(vriic) else 0)
        if common >= 10 and common > best_len:
            best, best_len = name, common
    return _load_map(best) if best else None


@lru_cache(maxsize=16)
def _load_map(name: str) -> _MapIndex | None:
    try:
        root = ElementTree.fromstring((_map_dir() / name).read_bytes())
    except (OSError, ModuleNotFoundError, ElementTree.ParseError):
        return None
    refs: dict[tuple[str, str], str] = {}
    tags: set[str] = set()
    loops: dict[str, _LoopDef] = {}

    def codes_of(el: ElementTree.Element) -> frozenset[str]:
        vc = el.find("valid_codes")
        if vc is None or vc.get("external"):
            return frozenset()
        return frozenset(c.text or "" for c in vc.findall("code"))

    def segment(el: ElementTree.Element) -> _SegmentDef:
        tag = el.get("xid") or ""
        tags.add(tag)
        qualifier, qcodes = None, frozenset()
        for child in el:
            seq = (child.findtext("seq") or "").strip()
            if not seq.isdigit():
                continue
            ref = child.findtext("data_ele") or ""
            refs.setdefault((tag, f"{int(seq):02d}"), ref)
            if child.tag == "composite":
                for sub in child.findall("element"):
                    sseq = (sub.findtext("seq") or "").strip()
                    if sseq.isdigit():
                        refs.setdefault((tag, f"{int(seq):02d}-{int(sseq):02d}"), sub.findtext("data_ele") or "")
            elif qualifier is None and int(seq) <= 3:
                found = codes_of(child)
                if found:
                    qualifier, qcodes = int(seq), found
        return _SegmentDef(tag, qualifier, qcodes)

    def loop(el: ElementTree.Element, parent: _LoopDef | None) -> _LoopDef:
        lid = el.get("xid") or ""
        node = _LoopDef(lid, el.get("type") in ("explicit", "wrapper") or lid in _WRAPPERS, parent)
        for child in el:
            if child.tag == "segment":
                node.segments.append(segment(child))
            elif child.tag == "loop":
                node.loops.append(loop(child, node))
        loops.setdefault(lid, node)
        return node

    for child in root:
        if child.tag == "loop":
            loop(child, None)
    return _MapIndex(refs, frozenset(tags), loops, loops.get("ST_LOOP"))


class _LoopTracker:
    """Follows the loops of one transaction set, segment by segment, on a pyx12 map: a segment stays in the
    current loop when the loop holds it, enters a child loop it starts, else closes loops until one of them
    (or a loop beside it) takes it. Enough to name the loop of a segment in error; pyx12 does the real walk."""

    def __init__(self, index: _MapIndex) -> None:
        self.path: list[_LoopDef] = [index.body] if index.body else []

    def _enter(self, loop: _LoopDef, els: list[str]) -> list[_LoopDef] | None:
        for child in loop.loops:
            if child.wrapper:
                if any(s.matches(els) for s in child.segments):
                    return [child]
                deeper = self._enter(child, els)
                if deeper:
                    return [child, *deeper]
            elif child.segments and child.segments[0].matches(els):
                return [child]
        return None

    def feed(self, els: list[str]) -> str | None:
        path = self.path
        for depth in range(len(path) - 1, -1, -1):
            loop = path[depth]
            if any(s.matches(els) for s in loop.segments):
                del path[depth + 1:]
                break
            entered = self._enter(loop, els)
            if entered:
                del path[depth + 1:]
                path.extend(entered)
                break
        return self.current()

    def current(self) -> str | None:
        for loop in reversed(self.path):
            if not loop.wrapper:
                return loop.id
        return None


# -- what the received file holds -----------------------------------------------------------------------------


@dataclass(slots=True)
class _SegmentInfo:
    """A segment some problem names: its tag and elements (read to place an IK4, never written), its loop
    as edi's tracker sees it, and the claim (CLM01) it sits in."""

    tag: str
    elements: list[str]
    loop: str | None
    claim: str | None


@dataclass(eq=False, slots=True)
class _ElementError:
    position: int
    component: int | None
    reference: str | None
    code: str


@dataclass(eq=False, slots=True)
class _SegmentError:
    tag: str
    position: int
    loop: str | None
    code: str
    severity: Severity
    claim: str | None
    elements: dict[tuple[int, int | None, str], _ElementError] = field(default_factory=dict)


@dataclass(eq=False, slots=True)
class _Set:
    st: list[str]
    start: int
    last: int
    group: _Group | None
    interchange: _Interchange | None
    se: list[str] | None = None
    skip: str | None = None  # why it gets no AK2
    opaque: bool = False  # its ST01 is wrong for the group: its content is not read as that transaction
    codes: list[tuple[Severity, str]] = field(default_factory=list)
    errors: dict[tuple[str, int, str], _SegmentError] = field(default_factory=dict)
    info: dict[int, _SegmentInfo] = field(default_factory=dict)

    @property
    def st01(self) -> str:
        return _at(self.st, 1)

    @property
    def control(self) -> str:
        return _at(self.st, 2).strip()


@dataclass(eq=False, slots=True)
class _Group:
    gs: list[str]
    start: int
    last: int
    interchange: _Interchange | None
    ge: list[str] | None = None
    skip: str | None = None  # why it gets no 999
    sets: list[_Set] = field(default_factory=list)
    codes: list[tuple[Severity, str]] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class _Interchange:
    isa: list[str]
    start: int
    last: int
    iea: list[str] | None = None
    groups: list[_Group] = field(default_factory=list)
    loose: list[_Set] = field(default_factory=list)  # transaction sets outside any group
    notes: list[tuple[Severity, int, int, str]] = field(default_factory=list)  # severity, segment, order, TA105


def _at(els: list[str], i: int) -> str:
    return els[i] if len(els) > i else ""


class _Envelopes:
    """The second read: ISA / GS / ST ranges and values, and the segments problems name."""

    def __init__(self, wanted: set[int], track: set[tuple[str | None, str | None, str | None]]) -> None:
        self.wanted = wanted
        self.track = track  # (ISA13, GS06, ST02) of the sets whose problems name no loop
        self.interchanges: list[_Interchange] = []
        self.groups: list[_Group] = []
        self.sets: list[_Set] = []
        self.outside: list[tuple[str, int]] = []  # (what, segment) read outside any interchange
        self.envelope_tags: dict[int, str] = {}
        self._ic: _Interchange | None = None
        self._group: _Group | None = None
        self._set: _Set | None = None
        self._tracker: _LoopTracker | None = None
        self._claim: str | None = None

    def _close_set(self) -> None:
        self._set = None
        self._tracker = None
        self._claim = None

    def feed(self, seg: Segment) -> None:
        els = seg.elements
        n = seg.index
        tag = els[0]
        if tag == "ISA":
            self._close_set()
            self._group = None
            self._ic = _Interchange(list(els), n, n)
            self.interchanges.append(self._ic)
            self._check_isa(self._ic, n)
        elif tag == "GS":
            self._close_set()
            self._group = _Group(list(els), n, n, self._ic)
            self.groups.append(self._group)
            if self._ic is not None:
                self._ic.groups.append(self._group)
                self._check_gs(self._group, n)
            else:
                self.outside.append(("functional group", n))
        elif tag == "ST":
            self._close_set()
            s = self._set = _Set(list(els), n, n, self._group, self._ic)
            self.sets.append(s)
            if self._group is not None:
                self._group.sets.append(s)
                self._check_st(s)
            elif self._ic is not None:
                self._ic.loose.append(s)
            else:
                self.outside.append(("transaction set", n))
            if (self._ic is not None and self._group is not None
                    and (_at(self._ic.isa, 13).strip(), _at(self._group.gs, 6).strip(), s.control) in self.track):
                index = _find_map(_at(self._ic.isa, 12), _at(self._group.gs, 1), _at(self._group.gs, 8))
                self._tracker = _LoopTracker(index) if index is not None else None
        elif tag in ("SE", "GE", "IEA"):
            if self._set is not None:
                if tag == "SE":
                    self._set.se = list(els)
                self._set.last = n
                self._note(self._set, n, els, None)
            self._close_set()
            if tag == "GE" and self._group is not None:
                self._group.ge = list(els)
                self._group.last = n
                self._group = None
            elif tag == "IEA":
                if self._group is not None:
                    self._group.last = n - 1
                self._group = None
                if self._ic is not None:
                    self._ic.iea = list(els)
                    self._ic.last = n
                else:
                    self.outside.append(("interchange trailer", n))
                self._ic = None
        else:
            s = self._set
            if s is not None:
                if tag == "HL":
                    self._claim = None
                elif tag == "CLM":
                    self._claim = _at(els, 1)
                loop = self._tracker.feed(els) if self._tracker is not None else None
                self._note(s, n, els, loop)
        if tag in ("ISA", "GS", "ST", "SE", "GE", "IEA"):
            self.envelope_tags[n] = tag
        for c in (self._ic, self._group, self._set):
            if c is not None:
                c.last = n

    def _note(self, s: _Set, n: int, els: list[str], loop: str | None) -> None:
        if n in self.wanted:
            s.info[n] = _SegmentInfo(els[0], list(els), loop, self._claim if s.st01 == "837" else None)

    # -- checks the fast validation does not make, which decide the TA1 and the AK9 ------------------------

    def _check_isa(self, ic: _Interchange, n: int) -> None:
        isa = ic.isa
        version = _at(isa, 12)
        if version != "00501":
            ic.notes.append((ERROR, n, 12, "003" if re.fullmatch(r"00[2-9]0\d", version) else "017"))
        if not _valid_date6(_at(isa, 9)):
            ic.notes.append((ERROR, n, 9, "014"))
        if not _valid_time4(_at(isa, 10)):
            ic.notes.append((ERROR, n, 10, "015"))
        if _at(isa, 14) not in ("0", "1"):
            ic.notes.append((ERROR, n, 14, "019"))

    def _check_gs(self, g: _Group, n: int) -> None:
        fic = _at(g.gs, 1)
        if fic == "FA":
            g.skip = "a group of acknowledgements (GS01 FA) is never acknowledged"
        elif fic not in FUNCTIONAL_IDS:
            g.skip = f"GS01 {_printable(fic) or '(empty)'} is not a functional group a 999 answers"
            if g.interchange is not None:
                g.interchange.notes.append((ERROR, n, 1, "024"))
        if not _at(g.gs, 8).startswith("00501"):
            g.codes.append((ERROR, "2"))

    def _check_st(self, s: _Set) -> None:
        g = s.group
        assert g is not None
        if s.st01 not in ACKNOWLEDGED_SETS:
            s.skip = f"ST01 {_printable(s.st01) or '(empty)'} is not a transaction set a 999 answers"
            s.codes.append((ERROR, "1"))
            s.opaque = True
        elif FUNCTIONAL_IDS.get(_at(g.gs, 1), s.st01) != s.st01:
            s.codes.append((ERROR, "6"))
            s.opaque = True


def _valid_date6(text: str) -> bool:
    if len(text) != 6 or not text.isdigit():
        return False
    try:
        date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return False
    return True


def _valid_time4(text: str) -> bool:
    return len(text) == 4 and text.isdigit() and int(text[:2]) < 24 and int(text[2:]) < 60


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable() and c.isascii())[:20]


# -- the answer, as values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ElementResult:
    """An IK4: ``position`` as written (``"3"``, ``"5:2"``), ``reference`` the data element number."""

    position: str
    reference: str | None
    code: str

    @property
    def meaning(self) -> str:
        return ELEMENT_CODES.get(self.code, self.code)


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """An IK3: the segment in error. ``loop`` is the TR3's loop id (IK303 carries its first 4 characters);
    ``claim`` the CLM01 of the claim it sits in (sent as CTX), when it is inside an 837 claim."""

    tag: str
    position: int
    loop: str | None
    code: str
    claim: str | None
    elements: tuple[ElementResult, ...]
    segment: int  # the segment number in the received file

    @property
    def meaning(self) -> str:
        return SEGMENT_CODES.get(self.code, self.code)


@dataclass(frozen=True, slots=True)
class SetResult:
    """An AK2 loop and its IK5 (``acknowledged`` False: the set got no AK2, see ``reason``)."""

    st01: str
    control: str
    version: str
    status: str
    codes: tuple[str, ...]
    segments: tuple[SegmentResult, ...]
    segment: int  # the ST's segment number
    acknowledged: bool = True
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass(frozen=True, slots=True)
class GroupResult:
    """The 999 of one functional group (AK1 .. AK9), or why there is none (``acknowledged`` False)."""

    functional_id: str
    control: str
    version: str
    status: str
    included: int
    received: int
    accepted_count: int
    codes: tuple[str, ...]
    sets: tuple[SetResult, ...]
    segment: int  # the GS's segment number
    acknowledged: bool = True
    reason: str | None = None
    ack_control: str | None = None  # ST02 of the 999 that answers it

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass(frozen=True, slots=True)
class InterchangeResult:
    """One received interchange: its TA1 (None when none is sent) and its groups."""

    control: str
    date: str
    time: str
    ta1_status: str | None
    ta1_note: str | None
    groups: tuple[GroupResult, ...]
    segment: int  # the ISA's segment number
    ack_control: str | None = None  # ISA13 of the interchange that answers it (None: nothing written)

    @property
    def accepted(self) -> bool:
        return self.ta1_status != "R" and all(g.accepted for g in self.groups if g.status)


@dataclass
class AckResult:
    """What :func:`acknowledge` found and wrote."""

    file: str
    data: bytes
    interchanges: list[InterchangeResult]
    notes: list[Problem]
    report: ValidationReport

    @property
    def accepted(self) -> bool:
        """True when a receiver takes everything: no TA1 R, every group A or E, nothing left unanswered."""
        return all(i.accepted for i in self.interchanges) and not any(
            p.is_error and p.code not in _TOOL_NOTES for p in self.notes)

    def summary(self) -> list[str]:
        """One line per TA1 and per functional group, for people."""
        lines = []
        for ic in self.interchanges:
            if ic.ta1_status:
                lines.append(f"interchange {ic.control}: TA1 {ic.ta1_status} {ic.ta1_note} "
                             f"({STATUS_WORDS[ic.ta1_status]}: {TA1_NOTES.get(ic.ta1_note or '', ic.ta1_note)})")
            for g in ic.groups:
                head = f"interchange {ic.control}, group {g.control} ({g.functional_id} {g.version})"
                if not g.acknowledged:
                    lines.append(f"{head}: not acknowledged - {g.reason}")
                    continue
                text = (f"{head}: {STATUS_WORDS.get(g.status, g.status)} - {g.accepted_count} of {g.received} "
                        f"transaction sets accepted")
                if g.codes:
                    text += "; " + ", ".join(f"AK905 {c} {GROUP_CODES.get(c, '')}".rstrip() for c in g.codes)
                rejected = [s for s in g.sets if not s.accepted]
                if rejected:
                    text += "; rejected: " + ", ".join(
                        f"{s.st01} {s.control} ({', '.join(s.codes) or 'no AK2'})" for s in rejected[:5])
                    if len(rejected) > 5:
                        text += f" and {len(rejected) - 5} more"
                lines.append(text)
        return lines

    def as_dict(self) -> dict[str, Any]:
        def seg(s: SegmentResult) -> dict[str, Any]:
            return {"tag": s.tag, "position": s.position, "loop": s.loop, "code": s.code, "meaning": s.meaning,
                    "claim": s.claim, "segment": s.segment,
                    "elements": [{"position": e.position, "reference": e.reference, "code": e.code,
                                  "meaning": e.meaning} for e in s.elements]}

        return {
            "file": self.file,
            "accepted": self.accepted,
            "interchanges": [{
                "control": ic.control, "segment": ic.segment, "ack_control": ic.ack_control,
                "ta1": None if ic.ta1_status is None else {"status": ic.ta1_status, "note": ic.ta1_note,
                                                           "meaning": TA1_NOTES.get(ic.ta1_note or "")},
                "groups": [{
                    "functional_id": g.functional_id, "control": g.control, "version": g.version,
                    "acknowledged": g.acknowledged, "reason": g.reason, "status": g.status,
                    "included": g.included, "received": g.received, "accepted": g.accepted_count,
                    "codes": list(g.codes), "segment": g.segment, "ack_control": g.ack_control,
                    "sets": [{"type": s.st01, "control": s.control, "version": s.version, "status": s.status,
                              "codes": list(s.codes), "acknowledged": s.acknowledged, "reason": s.reason,
                              "segment": s.segment, "errors": [seg(e) for e in s.segments]} for s in g.sets],
                } for g in ic.groups],
            } for ic in self.interchanges],
            "notes": [p.as_dict() for p in self.notes],
        }


# -- the entry points -----------------------------------------------------------------------------------------


def acknowledge(path: str, *, deep: bool = False, sender: Party | None = None, receiver: Party | None = None,
                control_number: int = 1, controls: ControlNumbers | None = None, now: datetime | None = None,
                usage: str | None = None, progress: Callable[[int, int], None] | None = None) -> AckResult:
    """The acknowledgement of the X12 file at ``path`` (``-``: standard input). See the module docstring.

    ``sender`` / ``receiver``: the 999's ISA and GS parties, by default the received interchange's receiver
    and sender. ``control_number``: ISA13 and GS06 of the first interchange written (ST02 counts from 0001),
    or ``controls`` hands them out. ``usage``: ISA15, by default the received one. Raises :class:`AckError`
    when the file has no interchange, ``OSError`` when it cannot be read."""
    if path == "-":
        return acknowledge_bytes(sys.stdin.buffer.read(), file="-", deep=deep, sender=sender, receiver=receiver,
                                 control_number=control_number, controls=controls, now=now, usage=usage,
                                 progress=progress)
    report = validate_path(path, deep=deep, progress=progress)
    return _acknowledge(report, lambda: read_segments(path, Tokenizer(file=path)), path, sender, receiver,
                        controls or CounterControlNumbers(control_number, control_number, 1), now, usage)


def acknowledge_bytes(data: bytes, *, file: str = "<bytes>", deep: bool = False, sender: Party | None = None,
                      receiver: Party | None = None, control_number: int = 1, controls: ControlNumbers | None = None,
                      now: datetime | None = None, usage: str | None = None,
                      progress: Callable[[int, int], None] | None = None) -> AckResult:
    """:func:`acknowledge` for X12 held in memory."""
    report = validate_stream(io.BytesIO(data), file=file, deep=deep, progress=progress, total_bytes=len(data))

    def segments() -> Iterator[Segment]:
        tok = Tokenizer(file=file)
        yield from tok.feed(data)
        yield from tok.close()

    return _acknowledge(report, segments, file, sender, receiver,
                        controls or CounterControlNumbers(control_number, control_number, 1), now, usage)


def _acknowledge(report: ValidationReport, segments: Callable[[], Iterable[Segment]], file: str,
                 sender: Party | None, receiver: Party | None, controls: ControlNumbers, now: datetime | None,
                 usage: str | None) -> AckResult:
    problems = report.problems
    wanted: set[int] = set()
    track: set[tuple[str | None, str | None, str | None]] = set()
    for p in problems:
        w = p.where
        if w.segment is not None:
            wanted.add(w.segment)
            target = RULES.get(p.code)
            if not w.loop and w.transaction is not None and target is not None and target.level in (
                    "segment", "element"):
                track.add((w.interchange, w.group, w.transaction))
    env = _Envelopes(wanted, track)
    for seg in segments():
        env.feed(seg)
    if not env.interchanges:
        if report.segments == 0 and report.bytes == 0:
            raise AckError(f"{file}: the file is empty: nothing to acknowledge")
        if report.segments == 0:
            raise AckError(f"{file}: not X12 (no segment could be read): nothing to acknowledge")
        raise AckError(f"{file}: no interchange header (ISA): a receiver cannot acknowledge a file without one")
    notes = _place_all(problems, env, file)
    results, data = _write(env, sender, receiver, controls, now or datetime.now(), usage, notes, file)
    for what, n in env.outside:
        notes.append(Problem("ack.outside", f"{what} outside any interchange (no ISA before it): not acknowledged",
                             ERROR, Where(file=file, segment=n)))
    return AckResult(file=file, data=data, interchanges=results, notes=by_position(notes), report=report)


# -- placing problems -----------------------------------------------------------------------------------------


class _Placer:
    def __init__(self, env: _Envelopes, problems: list[Problem]) -> None:
        self.env = env
        self._starts = {kind: [c.start for c in items] for kind, items in
                        (("interchange", env.interchanges), ("group", env.groups), ("set", env.sets))}
        self._items = {"interchange": env.interchanges, "group": env.groups, "set": env.sets}
        # pyx12 names the loop of the segments it flags: the best loop for any finding at that segment
        self.pyx12_loops = {p.where.segment: p.where.loop for p in problems
                            if p.code.startswith("pyx12.") and p.where.segment is not None and p.where.loop
                            and p.where.loop not in _WRAPPERS}

    def find(self, kind: str, n: int, before: bool = False):
        starts, items = self._starts[kind], self._items[kind]
        if before:  # a trailer found missing at segment n: the container that started before n
            i = bisect_left(starts, n) - 1
            if i < 0:
                i = bisect_right(starts, n) - 1
            return items[i] if i >= 0 else None
        i = bisect_right(starts, n) - 1
        if i >= 0 and items[i].start <= n <= items[i].last:
            return items[i]
        return None


def _place_all(problems: list[Problem], env: _Envelopes, file: str) -> list[Problem]:
    """Record each problem on its interchange, group, set or segment; return those that belong nowhere."""
    placer = _Placer(env, problems)
    return [p for p in problems if not _place(p, placer)]


def _place(p: Problem, placer: _Placer) -> bool:
    """Record ``p`` on the container it belongs to. False when it belongs nowhere (kept as a note)."""
    code = p.code
    n = p.where.segment
    if code.startswith("pyx12."):
        if code == "pyx12.log":
            return _place_log(p, placer)
        if n is None:
            return False
        target = _pyx12_target(p, placer)
    else:
        if code not in RULES:
            return False
        target = RULES[code]
        if target is None:
            return True
        if n is None:
            return False
        if code == "x12.element.missing":
            found = _element_of(p.where.element)
            if found and found[0] in ENVELOPE_ELEMENTS:
                target = _envelope_target(found[0], found[1])
    if target is None:
        return True
    return _record(p, target, n, placer, before=code in _MISSING_TRAILERS)


def _envelope_target(tag: str, position: int) -> Target | None:
    if tag == "ISA":
        return Target("interchange", ISA_NOTES.get(position, "022"), position)
    return ENVELOPE_ELEMENTS.get(f"{tag}{position:02d}") or ENVELOPE_ELEMENTS.get(tag)


def _pyx12_target(p: Problem, placer: _Placer) -> Target | None:
    level, _, code = p.code[len("pyx12."):].partition(".")
    msg = p.message
    if level in ("isa", "gs", "st") and code in _PYX12_ENVELOPE_COUNTS.get(level, ()):
        return None  # edi's own envelope reader decides these (pyx12 misses the IEA of some files)
    if level == "isa":
        return _ta(code) if code in _TA105 else _ta("022")
    if level == "gs":
        if code == "6" and "not unique" in msg:
            return _grp("19")  # pyx12 says 6 (control number syntax) for a repeated GS06
        return _grp(code) if code in _AK905 else None
    if level == "st":
        return _set(code) if code in _IK502 else _set("5")
    if level == "element":
        if "marked as Not Used" in msg:
            return _ele("I10")
        return _ele(code) if code in _IK403 else _seg("8")
    if level != "segment":
        return None
    if code == "HL1":
        return _ele("I12", 1)
    if code == "HL2":
        return _ele("I12", 2)
    if code == "LX":
        return _ele("I12", 1)
    if code == "SEG1" or "leading space" in msg:
        return None
    if code == "4" and p.where.tag == "PLB" and "FOOTER" in msg:
        return None
    if code == "1" and "not found" in msg:
        index = _index_for(placer, p.where.segment)
        known = index is None or (p.where.tag or "") in index.tags
        return _seg("2" if known else "1")
    if code == "2" and "marked as not used" in msg:
        return _seg("I4")
    if code == "3":
        m = _MISSING_LOOP.search(msg)
        if m and m.group(1) not in _WRAPPERS:
            return _seg("3", p.where.tag, m.group(1))
        return _seg("3", p.where.tag)
    if code == "8":
        return _seg8(p)
    return _seg(code) if code in _IK304 else _seg("8")


def _seg8(p: Problem) -> Target:
    """pyx12's segment-level "8": the element the message names becomes the IK4."""
    msg = p.message
    m = _TOO_MANY.search(msg)
    if m:
        return _ele("3", int(m.group(2)) + 1)
    refs = [(t, int(pos)) for t, pos, _ in _REF_IN_PARENS.findall(msg) if t == p.where.tag]
    if "Too many sub-elements" in msg and refs:
        return _ele("13", refs[-1][1])
    if "Mandatory composite" in msg and refs:
        return _ele("1", refs[-1][1])
    if "marked as Not Used" in msg and refs:
        return _ele("I10", refs[-1][1])
    m = _SYNTAX.search(msg)
    if m:
        named = [int(pos) for t, pos in _REF.findall(msg[m.end():]) if t == p.where.tag]
        if named:
            # resolved against the segment in _record (which element is empty or present)
            return Target("element", "10" if m.group(1) == "E" else "2", None, tag="syntax:" + ",".join(
                str(x) for x in named))
    return _seg("8")


def _place_log(p: Problem, placer: _Placer) -> bool:
    """pyx12's logged-only errors (its ISA / GS / ST element errors): ``Line:n ELE:code - message``."""
    m = _LOG.search(p.message)
    if not m:
        return False
    n, kind, code, msg = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    tag = placer.env.envelope_tags.get(n)
    if kind == "ISA":
        target = _ta(code) if code in _TA105 else _ta("022")
    elif kind == "GS":
        target = _grp(code) if code in _AK905 else _ta("024")
    elif kind == "ST":
        target = _set(code) if code in _IK502 else _set("5")
    elif tag is not None:  # an element of an envelope segment
        refs = [(t, int(pos)) for t, pos, _ in _REF_IN_PARENS.findall(msg) if t == tag]
        if not refs:
            return False
        if tag == "ST" and refs[0][1] == 3:
            s = placer.find("set", n)
            if s is not None and s.st01 == "835":
                return True  # the 835 TR3 leaves ST03 unused, many payers send it: edi takes both
        target = _envelope_target(tag, refs[0][1])
    else:
        return False
    if target is None:
        return True
    return _record(p, target, n, placer)


def _index_for(placer: _Placer, n: int | None) -> _MapIndex | None:
    if n is None:
        return None
    s = placer.find("set", n)
    if s is None or s.group is None or s.interchange is None:
        return None
    return _find_map(_at(s.interchange.isa, 12), _at(s.group.gs, 1), _at(s.group.gs, 8))


def _record(p: Problem, target: Target, n: int, placer: _Placer, before: bool = False) -> bool:
    sev = p.severity
    level = target.level
    if level == "interchange":
        ic = placer.find("interchange", n, before)
        if ic is None:
            return False
        code, order = target.code, target.position or 0
        if target is _BY_ISA_ELEMENT:
            found = _element_of(p.where.element)
            order = found[1] if found else 0
            code = ISA_NOTES.get(order, "022")
        if order == 11 and _at(ic.isa, 12) != "00501":
            code = "016"  # before 5010, ISA11 was the standards identifier (U)
        ic.notes.append((sev, n, order, code))
        return True
    if level == "group":
        g = placer.find("group", n, before)
        if g is None:
            return False
        g.codes.append((sev, target.code))
        return True
    s = placer.find("set", n, before)
    if s is None:
        return False
    if level == "set":
        s.codes.append((sev, target.code))
        return True
    if s.opaque:
        return True  # a set of the wrong type: rejected by its ST01 alone (IK502 6 or 1)
    # a segment in error
    info = s.info.get(n)
    if target.tag and not target.tag.startswith("syntax:"):
        tag = target.tag
    else:
        tag = p.where.tag or (info.tag if info else "")
    tag = "".join(c for c in tag.upper() if c.isalnum())[:3]
    position = n - s.start + 1 + (1 if target.after else 0)
    index = _index_for(placer, n)
    loop = _loop_for(p, target, info, placer, index, n, tag)
    if level == "segment":
        _add_segment_error(s, tag, position, loop, target.code, sev, info)
        return True
    # an element in error
    pos, comp = _element_position(p, target, info, tag)
    err = _add_segment_error(s, tag, position, loop, "8", sev, info)
    if pos is not None and err is not None:
        key = f"{pos:02d}" if comp is None else f"{pos:02d}-{comp:02d}"
        ref = index.refs.get((tag, key)) if index is not None else None
        err.elements.setdefault((pos, comp, target.code),
                                _ElementError(pos, comp, ref if ref and ref.isdigit() else None, target.code))
    return True


def _add_segment_error(s: _Set, tag: str, position: int, loop: str | None, code: str, sev: Severity,
                       info: _SegmentInfo | None) -> _SegmentError | None:
    if len(tag) < 2 or not tag[0].isalpha():
        s.codes.append((sev, "5"))  # no tag a 999 can name: the set is still in error
        return None
    key = (tag, position, code)
    err = s.errors.get(key)
    if err is None:
        err = s.errors[key] = _SegmentError(tag, position, loop, code, sev, info.claim if info else None)
    elif sev is ERROR:
        err.severity = ERROR
    return err


def _loop_for(p: Problem, target: Target, info: _SegmentInfo | None, placer: _Placer, index: _MapIndex | None,
              n: int, tag: str) -> str | None:
    if target.loop is not None:
        return target.loop or None  # "": a header segment, in no loop
    here = p.where.loop if p.where.loop and p.where.loop not in _WRAPPERS else None
    here = here or placer.pyx12_loops.get(n) or (info.loop if info else None)
    if p.code == "pyx12.segment.3" and _MISSING_SEGMENT.search(p.message) and index is not None:
        return index.loop_with(tag, here) or here
    return here


def _element_position(p: Problem, target: Target, info: _SegmentInfo | None, tag: str) -> tuple[int | None,
                                                                                                  int | None]:
    if target.tag and target.tag.startswith("syntax:"):
        named = [int(x) for x in target.tag[len("syntax:"):].split(",")]
        els = info.elements if info else []
        if target.code == "2":  # conditional: the first named element that is empty
            pick = next((x for x in named if not _at(els, x)), named[-1])
        else:  # exclusion: the second named element that is present
            present = [x for x in named if _at(els, x)]
            pick = present[1] if len(present) > 1 else named[-1]
        return pick, None
    if target.position is not None:
        return target.position, None
    found = _element_of(p.where.element)
    if found is None:
        return None, None
    pos = found[1]
    comp = None
    for t, epos, sub in _REF_IN_PARENS.findall(p.message):
        if t == tag and int(epos) == pos and sub:
            comp = int(sub)
            break
    return pos, comp


# -- writing --------------------------------------------------------------------------------------------------


_WRITABLE = frozenset(forbidden_characters(DEFAULT_DELIMITERS))


def _clean(value: str, limit: int | None = None) -> str | None:
    """A received value echoed in the 999, without what the 999 cannot carry (its delimiters, controls)."""
    out = "".join(c for c in value.strip() if c not in _WRITABLE)
    if limit is not None:
        out = out[:limit]
    return out or None


def _party(qualifier: str, ident: str, application: str) -> Party:
    q = _clean(qualifier, 2) or ""
    i = _clean(ident, 15) or "UNKNOWN"
    a = _clean(application, 15)
    return Party(q if len(q) == 2 else "ZZ", i, a if a and len(a) >= 2 else None)


def _set_status(s: _Set) -> tuple[str, tuple[str, ...]]:
    errors = any(sev is ERROR for sev, _ in s.codes) or any(e.severity is ERROR for e in s.errors.values())
    status = "R" if errors else ("E" if s.codes or s.errors else "A")
    codes: list[str] = []
    for _, c in s.codes:
        if c not in codes:
            codes.append(c)
    if s.errors and "5" not in codes:
        codes.append("5")
    return status, tuple(codes[:5])


def _ta1(ic: _Interchange) -> tuple[str | None, str | None]:
    notes = sorted(ic.notes, key=lambda x: (x[0] is not ERROR, x[1], x[2]))
    if notes:
        sev, _, _, code = notes[0]
        return ("R" if sev is ERROR else "E"), code
    if _at(ic.isa, 14) == "1":
        return "A", "000"
    return None, None


def _write(env: _Envelopes, sender: Party | None, receiver: Party | None, controls: ControlNumbers, now: datetime,
           usage: str | None, notes: list[Problem], file: str) -> tuple[list[InterchangeResult], bytes]:
    out = io.BytesIO()
    results: list[InterchangeResult] = []
    for ic in env.interchanges:
        ta1_status, ta1_note = _ta1(ic)
        groups: list[GroupResult] = []
        answer = [g for g in ic.groups if g.skip is None]
        ack_isa = None
        w = None
        if ta1_status or answer:
            first = answer[0].gs if answer else []
            me = sender or _party(_at(ic.isa, 7), _at(ic.isa, 8), _at(first, 3) or _at(ic.isa, 8))
            them = receiver or _party(_at(ic.isa, 5), _at(ic.isa, 6), _at(first, 2) or _at(ic.isa, 6))
            use = usage or (_at(ic.isa, 15) if _at(ic.isa, 15) in ("P", "T", "I") else "P")
            w = InterchangeWriter(out, me, them, control=controls, now=now, usage=use)
            ack_isa = f"{w.interchange_number:09d}"
            if ta1_status:
                out.write((format_segment("TA1", _ta1_values(ic, now, ta1_status, ta1_note or "000"))
                           + w.end).encode("ascii"))
            if answer:
                w.begin_group("FA", IMPLEMENTATION)
        for g in ic.groups:
            groups.append(_answer_group(g, w if g.skip is None else None))
        if w is not None:
            if answer:
                w.end_group()
            w.close()
        if ic.loose:
            notes.append(Problem("ack.no_group", f"{len(ic.loose)} transaction set(s) outside a functional group: "
                                 "no 999 can answer them", ERROR,
                                 Where(file=file, interchange=_at(ic.isa, 13).strip(), segment=ic.loose[0].start)))
        results.append(InterchangeResult(
            control=_at(ic.isa, 13).strip(), date=_at(ic.isa, 9), time=_at(ic.isa, 10), ta1_status=ta1_status,
            ta1_note=ta1_note, groups=tuple(groups), segment=ic.start, ack_control=ack_isa))
    return results, out.getvalue()


def _ta1_values(ic: _Interchange, now: datetime, status: str, note: str) -> list[str]:
    control = _at(ic.isa, 13).strip()
    if not (control.isdigit() and len(control) <= 9):
        control = "0"
    day, time = _at(ic.isa, 9), _at(ic.isa, 10)
    return [control.zfill(9), day if _valid_date6(day) else now.strftime("%y%m%d"),
            time if _valid_time4(time) else now.strftime("%H%M"), status, note]


def _answer_group(g: _Group, w: InterchangeWriter | None) -> GroupResult:
    sets: list[SetResult] = []
    for s in g.sets:
        status, codes = _set_status(s)
        if s.skip:
            status = "R"
        version = _at(s.st, 3) or _at(g.gs, 8)
        segments = tuple(
            SegmentResult(e.tag, e.position, e.loop, e.code, e.claim,
                          tuple(ElementResult(str(x.position) if x.component is None
                                              else f"{x.position}:{x.component}", x.reference, x.code)
                                for x in sorted(e.elements.values(), key=lambda x: (x.position, x.component or 0))),
                          s.start + e.position - 1)
            for e in sorted(s.errors.values(), key=lambda e: (e.position, e.tag, e.code)))
        sets.append(SetResult(s.st01, s.control, version, status, codes, segments, s.start,
                              acknowledged=s.skip is None, reason=s.skip))
    received = len(g.sets)
    accepted = sum(1 for s in sets if s.accepted and s.acknowledged)
    group_codes: list[str] = []
    for _, c in g.codes:
        if c not in group_codes:
            group_codes.append(c)
    group_error = any(sev is ERROR for sev, _ in g.codes)
    if group_error:
        status, accepted = "R", 0
    elif received and accepted == 0:
        status = "R"
    elif accepted < received:
        status = "P"
    elif any(s.status == "E" for s in sets):
        status = "E"
    else:
        status = "A"
    ge01 = _at(g.ge, 1) if g.ge else ""
    included = int(ge01) if ge01.isdigit() and len(ge01) <= 9 else received
    base = dict(functional_id=_at(g.gs, 1), control=_at(g.gs, 6).strip(), version=_at(g.gs, 8),
                included=included, received=received, sets=tuple(sets), segment=g.start)
    if w is None:
        base["sets"] = tuple(SetResult(r.st01, r.control, r.version, "", (), (), r.segment, acknowledged=False,
                                       reason=g.skip) for r in sets)
        return GroupResult(status="", accepted_count=0, codes=(), acknowledged=False, reason=g.skip, **base)
    st02 = w.begin_transaction("999", IMPLEMENTATION)
    w.segment("AK1", [_at(g.gs, 1), _clean(_at(g.gs, 6)), _clean(_at(g.gs, 8), 12)])
    for s, r in zip(g.sets, sets, strict=True):
        if s.skip:
            continue
        w.segment("AK2", [_clean(r.st01), _clean(r.control), _clean(r.version, 35)])
        for e in r.segments:
            loop = e.loop[:4] if e.loop else None
            w.segment("IK3", [e.tag, str(e.position), loop, e.code])
            claim = _ctx_value(e.claim)
            if claim is not None:
                w.segment("CTX", [("CLM01", claim)])
            for x in e.elements:
                pos = tuple(x.position.split(":")) if ":" in x.position else x.position
                w.segment("IK4", [pos, x.reference, x.code])
        w.segment("IK5", [r.status, *r.codes])
    w.segment("AK9", [status, str(included), str(received), str(accepted), *group_codes[:5]])
    w.end_transaction()
    return GroupResult(status=status, accepted_count=accepted, codes=tuple(group_codes), ack_control=st02, **base)


def _ctx_value(claim: str | None) -> str | None:
    """The CLM01 for a CTX, or None when the 999 cannot carry it as it is (it is never altered)."""
    if not claim or len(claim) > 35 or not claim.isascii() or not claim.isprintable():
        return None
    if any(c in _WRITABLE for c in claim):
        return None
    return claim
