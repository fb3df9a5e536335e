"""Envelope checks: ISA/IEA, GS/GE and ST/SE, as a streaming checker that returns problems.

    checker = EnvelopeChecker(file="claims.837")
    for seg in segments:
        checker.segment(seg)          # also keeps checker.interchange / group / transaction current
    checker.close()                   # trailers still missing at the end of input
    checker.problems

It checks SE01 (segments from ST to SE inclusive), ST02 = SE02, GE01 (transaction sets in the group),
GS06 = GE02, IEA01 (groups in the interchange), ISA13 = IEA02, missing headers and trailers, duplicate
control numbers, segments outside any transaction set, the fixed width of the ISA, and it reports the
version of each group and transaction (a warning for anything that is not 5010).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edi.problems import ERROR, WARNING, Problem, Problems, Where
from edi.x12.segment import Segment

#: ISA01..ISA16 fixed widths.
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


@dataclass(slots=True)
class TransactionInfo:
    """What the checker learned about one ST..SE (also used by validate to pick transaction checks)."""

    st01: str
    control: str
    version: str  # ST03, else the group's GS08
    interchange: str | None
    group: str | None
    first_segment: int  # segment number of the ST
    segments: int = 0  # counted so far, ST included


#: GS01, the functional identifier, for each transaction set it may hold (X12-DIGEST: pyx12's control map).
FUNCTIONAL_IDS = {"837": "HC", "835": "HP", "999": "FA", "997": "FA", "277": "HN", "276": "HR", "270": "HS",
                  "271": "HB", "834": "BE", "820": "RA", "278": "HI"}


@dataclass(slots=True)
class _Group:
    control: str
    version: str
    functional_id: str = ""
    transactions: int = 0
    st_controls: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Interchange:
    control: str
    groups: int = 0
    gs_controls: set[str] = field(default_factory=set)


class EnvelopeChecker:
    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        self.interchange: _Interchange | None = None
        self.group: _Group | None = None
        self.transaction: TransactionInfo | None = None
        #: Every transaction set seen, in order (for reports: type, control number, version).
        self.transactions: list[TransactionInfo] = []
        self.versions: set[str] = set()
        self._outside_reported = False
        self._last: Segment | None = None

    # -- reporting -------------------------------------------------------------------------------------------

    def _where(self, seg: Segment | None, element: str | None = None) -> Where:
        return Where(
            file=self.file,
            interchange=self.interchange.control if self.interchange else None,
            group=self.group.control if self.group else None,
            transaction=self.transaction.control if self.transaction else None,
            segment=seg.index if seg is not None else None,
            tag=seg.tag if seg is not None else None,
            element=element,
        )

    def _add(self, code: str, message: str, seg: Segment | None, severity=ERROR, element: str | None = None):
        self.problems.append(Problem(code, message, severity, self._where(seg, element)))

    # -- the machine -----------------------------------------------------------------------------------------

    def segment(self, seg: Segment) -> None:
        self._last = seg
        tag = seg.elements[0]  # seg.tag, without the property call (every segment)
        if tag not in _ENVELOPE:
            t = self.transaction
            if t is not None:
                t.segments += 1
            elif tag == "TA1" and self.interchange is not None and self.group is None:
                pass  # an interchange acknowledgment lives directly inside ISA..IEA
            elif not self._outside_reported:
                self._outside_reported = True
                self._add("x12.segment.outside", "segment outside any transaction set (ST..SE); "
                          "later ones in this stretch are not reported", seg)
            return
        _ENVELOPE[tag](self, seg)

    def body(self, count: int, last: Segment | None) -> None:
        """``count`` non-envelope segments, ``last`` the last of them: the same as feeding each one to
        :meth:`segment`, for readers that only call ``segment()`` for envelope segments."""
        if count <= 0:
            return
        t = self.transaction
        if t is not None:
            t.segments += count
            self._last = last
        elif last is not None:
            self.segment(last)  # outside a transaction set: reported once, like segment() does

    def _isa(self, seg: Segment) -> None:
        if self.interchange is not None:
            self._close_group(seg)
            self._add("x12.iea.missing", f"interchange {self.interchange.control} has no IEA trailer", seg)
            self.interchange = None
        self._outside_reported = False
        n = len(seg)
        if n != 16:
            self._add("x12.isa.elements", f"ISA has {n} elements; it must have 16", seg)
        for i, width in enumerate(ISA_WIDTHS[:n], 1):
            value = seg[i]
            if len(value) < width:
                self._add("x12.isa.short", f"ISA{i:02d} is {len(value)} characters; the ISA is fixed-width and "
                          f"ISA{i:02d} must be exactly {width} (pad with spaces or zeros)", seg,
                          element=f"ISA{i:02d}")
            elif len(value) > width:
                self._add("x12.isa.long", f"ISA{i:02d} is {len(value)} characters where the fixed-width ISA "
                          f"allows {width}; it was read by its separators, but a strict receiver rejects it", seg,
                          WARNING, element=f"ISA{i:02d}")
        control = seg[13].strip()
        if control and not control.isdigit():
            self._add("x12.isa.control", "ISA13 interchange control number must be 9 digits", seg,
                      element="ISA13")
        if seg[15] and seg[15] not in ("P", "T", "I"):
            self._add("x12.isa.usage", "ISA15 usage indicator must be P (production), T (test) or I", seg,
                      element="ISA15")
        self.interchange = _Interchange(control=control)

    def _gs(self, seg: Segment) -> None:
        if self.group is not None:
            self._close_group(seg)
        if self.interchange is None:
            self._add("x12.isa.missing", "functional group (GS) outside an interchange: no ISA header", seg)
        if len(seg) < 8:
            self._add("x12.gs.elements", f"GS has {len(seg)} elements; it must have 8", seg)
        control = seg[6].strip()
        if not control.isdigit():
            self._add("x12.gs.control", "GS06 group control number must be numeric", seg, element="GS06")
        version = seg[8]
        ic = self.interchange
        if ic is not None:
            ic.groups += 1
            if control in ic.gs_controls:
                self._add("x12.gs.duplicate", f"group control number {control} is used twice in one "
                          "interchange", seg, element="GS06")
            ic.gs_controls.add(control)
        self.group = _Group(control=control, version=version, functional_id=seg[1].strip())
        self._version(version, seg, "GS08")

    def _version(self, version: str, seg: Segment, element: str) -> None:
        if version in self.versions:
            return
        self.versions.add(version)
        if not version.startswith("00501"):
            self._add("x12.version", f"version {version or '(none)'} is not 5010 (00501...): its syntax and "
                      "envelopes are checked, its content is read as far as it allows", seg, WARNING, element)

    def _st(self, seg: Segment) -> None:
        if self.transaction is not None:
            self._add("x12.se.missing", f"transaction set {self.transaction.control} has no SE trailer", seg)
            self.transaction = None
        if self.group is None:
            self._add("x12.gs.missing", "transaction set (ST) outside a functional group: no GS header", seg)
        control = seg[2].strip()
        if not 4 <= len(control) <= 9:
            self._add("x12.st.control", "ST02 transaction set control number must be 4 to 9 characters", seg,
                      element="ST02")
        g = self.group
        version = seg[3] or (g.version if g else "")
        if g is not None:
            g.transactions += 1
            if control in g.st_controls:
                self._add("x12.st.duplicate", f"transaction set control number {control} is used twice in one "
                          "group", seg, element="ST02")
            g.st_controls.add(control)
            wanted = FUNCTIONAL_IDS.get(seg[1].strip())
            if wanted and g.functional_id and g.functional_id != wanted:
                self._add("x12.gs.functional_id", f"a {seg[1].strip()} transaction set belongs in a functional group "
                          f"whose GS01 is {wanted}, but this group's GS01 is {g.functional_id}: a receiver routes "
                          "the group by GS01", seg, element="GS01")
            if seg[3] and g.version and seg[3] != g.version:
                self._add("x12.st.version", f"ST03 {seg[3]} differs from GS08 {g.version}", seg, WARNING,
                          element="ST03")
        self._outside_reported = False
        self.transaction = TransactionInfo(
            st01=seg[1], control=control, version=version,
            interchange=self.interchange.control if self.interchange else None,
            group=g.control if g else None, first_segment=seg.index, segments=1,
        )
        self.transactions.append(self.transaction)
        if seg[3]:
            self._version(seg[3], seg, "ST03")

    def _se(self, seg: Segment) -> None:
        t = self.transaction
        if t is None:
            self._add("x12.st.missing", "SE trailer without a transaction set header (ST)", seg)
            return
        t.segments += 1
        declared = seg[1]
        if declared != str(t.segments):
            self._add("x12.se.count", f"SE01 says {declared or '(empty)'} segments; transaction set {t.control} "
                      f"has {t.segments} (ST and SE included)", seg, element="SE01")
        if seg[2].strip() != t.control:
            self._add("x12.se.control", f"SE02 {seg[2] or '(empty)'} does not match ST02 {t.control}", seg,
                      element="SE02")
        self.transaction = None

    def _close_group(self, seg: Segment) -> None:
        """A new GS or ISA arrives while a group is open: its GE is missing."""
        if self.transaction is not None:
            self._add("x12.se.missing", f"transaction set {self.transaction.control} has no SE trailer", seg)
            self.transaction = None
        if self.group is not None:
            self._add("x12.ge.missing", f"functional group {self.group.control} has no GE trailer", seg)
            self.group = None

    def _ge(self, seg: Segment) -> None:
        if self.transaction is not None:
            self._add("x12.se.missing", f"transaction set {self.transaction.control} has no SE trailer", seg)
            self.transaction = None
        g = self.group
        if g is None:
            self._add("x12.gs.missing", "GE trailer without a functional group header (GS)", seg)
            return
        if seg[1] != str(g.transactions):
            self._add("x12.ge.count", f"GE01 says {seg[1] or '(empty)'} transaction sets; group {g.control} has "
                      f"{g.transactions}", seg, element="GE01")
        if seg[2].strip() != g.control:
            self._add("x12.ge.control", f"GE02 {seg[2] or '(empty)'} does not match GS06 {g.control}", seg,
                      element="GE02")
        self.group = None
        self._outside_reported = False

    def _iea(self, seg: Segment) -> None:
        self._close_group(seg)
        ic = self.interchange
        if ic is None:
            self._add("x12.isa.missing", "IEA trailer without an interchange header (ISA)", seg)
            return
        if seg[1] != str(ic.groups):
            self._add("x12.iea.count", f"IEA01 says {seg[1] or '(empty)'} functional groups; interchange "
                      f"{ic.control} has {ic.groups}", seg, element="IEA01")
        if seg[2].strip() != ic.control:
            self._add("x12.iea.control", f"IEA02 {seg[2] or '(empty)'} does not match ISA13 {ic.control}", seg,
                      element="IEA02")
        self.interchange = None
        self._outside_reported = False

    def close(self) -> None:
        """End of input: report the trailers that never came."""
        if self.transaction is not None:
            self._add("x12.se.missing", f"transaction set {self.transaction.control} ends without an SE trailer",
                      self._last)
            self.transaction = None
        if self.group is not None:
            self._add("x12.ge.missing", f"functional group {self.group.control} ends without a GE trailer", self._last)
            self.group = None
        if self.interchange is not None:
            self._add("x12.iea.missing", f"interchange {self.interchange.control} ends without an IEA trailer",
                      self._last)
            self.interchange = None


_ENVELOPE = {"ISA": EnvelopeChecker._isa, "GS": EnvelopeChecker._gs, "ST": EnvelopeChecker._st,
             "SE": EnvelopeChecker._se, "GE": EnvelopeChecker._ge, "IEA": EnvelopeChecker._iea}

#: The envelope segment tags (everything else is body).
ENVELOPE_TAGS = frozenset(_ENVELOPE)
