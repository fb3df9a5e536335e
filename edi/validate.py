"""Validation: our own fast checks, and pyx12's implementation-guide validation on request.

    report = validate_path("claims.837")                 # fast: syntax, envelopes, structure, balancing
    report = validate_path("claims.837", deep=True)      # + pyx12 TR3 validation (slow, about 0.15 MB/s)
    report.problems, report.ok

Fast checks stream: memory does not grow with the file. They are, in order: the tokenizer's syntax problems
(delimiters, garbage, over-long or empty segments, bad tags); envelope checks (counts, control numbers,
missing headers and trailers, versions); mandatory elements of common segments; HL numbering; and the checks
of each transaction type (837 structure and totals; 835 balancing once that reader is present).

``deep=True`` also runs pyx12 over the file and maps each finding into the same :class:`Problem` values,
codes ``pyx12.<level>.<pyx12 code>``, with the segment number pyx12 reports. pyx12 is slow and needs the
whole text in memory, so it is opt-in; ``progress(done, total)`` is called as it walks the segments.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from edi.problems import ERROR, WARNING, Problem, Problems, Where, by_position, has_errors, left_out
from edi.x12.envelope import ENVELOPE_TAGS, EnvelopeChecker, TransactionInfo
from edi.x12.io import CHUNK_SIZE, open_input
from edi.x12.segment import Delimiters, Segment
from edi.x12.syntax import MANDATORY, HierarchyChecker, check_segment
from edi.x12.tokenizer import Tokenizer

Progress = Callable[[int, int], None]


class TransactionCheck(Protocol):
    """The checks of one transaction type, fed one transaction set: its ST, its body segments, its SE (None
    when the SE is missing)."""

    def start(self, st: Segment, where: Where) -> None: ...

    def segment(self, seg: Segment, where: Where) -> list[Problem]: ...

    def end(self, where: Where, se: Segment | None = None) -> list[Problem]: ...


def _transaction_checks(st01: str) -> list[TransactionCheck]:
    """The fast checks for one transaction type (imported lazily: validation of a 999 needs no 837 code)."""
    if st01 == "837":
        from edi.x837.checks import Structure837

        return [Structure837()]
    if st01 == "835":
        from edi.x835.checks import Balancing835

        return [Balancing835()]
    return []


@dataclass
class ValidationReport:
    file: str
    problems: list[Problem] = field(default_factory=list)
    transactions: list[TransactionInfo] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    segments: int = 0
    bytes: int = 0
    deep: bool = False

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)

    @property
    def deep_ran(self) -> bool:
        """pyx12's validation was asked for and ran (it has no map for some files, and cannot frame others)."""
        return self.deep and not any(p.code in ("pyx12.map", "pyx12.unreadable") for p in self.problems)

    @property
    def left_out(self) -> dict[str, int]:
        """Problems counted but not kept (code -> how many): past ``KEEP_PER_CODE`` of one code."""
        return left_out(self.problems)

    def _count(self, severity) -> int:
        kept = {p.code: p.severity for p in self.problems}
        return (sum(1 for p in self.problems if p.severity is severity)
                + sum(n for code, n in self.left_out.items() if kept.get(code) is severity))

    @property
    def errors(self) -> int:
        return self._count(ERROR)

    @property
    def warnings(self) -> int:
        return self._count(WARNING)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "segments": self.segments,
            "bytes": self.bytes,
            "deep": self.deep,
            "deep_ran": self.deep_ran,
            "versions": self.versions,
            "transactions": [
                {"type": t.st01, "control_number": t.control, "version": t.version, "interchange": t.interchange,
                 "group": t.group, "segment": t.first_segment}
                for t in self.transactions
            ],
            "problems": [p.as_dict() for p in self.problems],
            "left_out": self.left_out,
        }


class FastChecker:
    """All fast checks, fed one segment at a time (so readers can run them while they read)."""

    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.envelope = EnvelopeChecker(file)
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        self._hier: HierarchyChecker | None = None
        self._checks: list[TransactionCheck] = []
        self._current: TransactionInfo | None = None
        self._body_where = self._where()  # where body segments sit: changes only with an envelope segment
        self.count = 0  # segments checked
        self._counted = 0  # the segments up to this number have been counted by the envelope checker
        self._last: list[str] = []  # the last segment's elements

    def _where(self) -> Where:
        env = self.envelope
        return Where(file=self.file, interchange=env.interchange.control if env.interchange else None,
                     group=env.group.control if env.group else None,
                     transaction=env.transaction.control if env.transaction else None)

    def segment(self, seg: Segment) -> None:
        """Check one segment."""
        env = self.envelope
        tag = seg.elements[0]  # seg.tag, without the property call (every segment)
        if tag in ENVELOPE_TAGS:
            self._envelope_segment(seg, tag)
            return
        env.segment(seg)
        where = self._body_where
        p = check_segment(seg, where)
        if p:
            self.problems.append(p)
        if self._current is None:
            return
        if tag == "HL" and self._hier is not None:
            self.problems += self._hier.hl(seg, where)
        for check in self._checks:
            found = check.segment(seg, where)
            if found:
                self.problems += found

    def _envelope_segment(self, seg: Segment, tag: str) -> None:
        env = self.envelope
        if self._current is not None:  # SE, or a header/trailer where SE is missing
            self._end_transaction(seg if tag == "SE" else None)
        env.segment(seg)
        where = self._body_where = self._where()
        if tag == "ST" and env.transaction is not None:
            self._current = env.transaction
            self._hier = HierarchyChecker()
            self._checks = _transaction_checks(env.transaction.st01)
            for check in self._checks:
                check.start(seg, where)
        if tag != "ISA":  # the ISA has its own fixed-width checks
            p = check_segment(seg, where)
            if p:
                self.problems.append(p)

    def run(self, elements: Iterable[list[str]], delimiters: Callable[[], Delimiters]) -> int:
        """Check segments given as element lists (``Tokenizer.elements``), numbered from ``self.count + 1``;
        returns how many. The same findings, in the same order, as ``segment()`` fed each one: body segments,
        which are nearly all of a file, are checked here without building a ``Segment`` (one is made only for a
        finding, an HL, or a check that wants one), the envelope checker counts them in runs, and an 835's body
        goes straight to the reader's dispatch."""
        env = self.envelope
        problems = self.problems
        envelope_tags = ENVELOPE_TAGS
        mandatory = MANDATORY.get
        idx = self.count
        counted = self._counted
        last = self._last
        parser, checks, hier, inside = self._state()
        where = self._body_where
        for els in elements:
            idx += 1
            tag = els[0]
            if tag in envelope_tags:
                body = idx - 1 - counted
                env.body(body, Segment(last, idx - 1) if body else None)
                counted = idx
                self._envelope_segment(Segment(els, idx, 0, delimiters()), tag)
                parser, checks, hier, inside = self._state()
                where = self._body_where
                last = els
                continue
            if not inside:  # outside a transaction set (rare): the envelope checker sees it, to report it
                body = idx - 1 - counted
                env.body(body, Segment(last, idx - 1) if body else None)
                env.segment(Segment(els, idx, 0, delimiters()))
                counted = idx
            last = els
            wanted = mandatory(tag)
            if wanted:
                n = len(els)
                for i in wanted:
                    if i >= n or not els[i]:
                        problems.append(check_segment(Segment(els, idx, 0, delimiters()), where))
                        break
            if not inside:
                continue
            if tag == "HL" and hier is not None:
                problems += hier.hl(Segment(els, idx, 0, delimiters()), where)
            if parser is not None:
                # RemitParser.feed(els, idx), inlined as the 835 reader does: this runs for every segment
                handler = parser._table.get(tag)
                if handler is not None:
                    handler(parser, els, idx)
                elif parser._loop is not None:
                    parser._stray(els, idx)
                if parser.problems:
                    problems += checks[0].take()  # the Balancing835 whose parser this is
            elif checks:
                seg = Segment(els, idx, 0, delimiters())
                for check in checks:
                    found = check.segment(seg, where)
                    if found:
                        problems += found
        self._counted = counted
        self._last = last
        ran = idx - self.count
        self.count = idx
        return ran

    def _state(self) -> tuple:
        """What ``run`` needs of the transaction set being read: the 835 reader when it is an 835 (fed
        directly), the other checks, the HL checker, and whether a transaction set is open."""
        if self._current is None:
            return None, (), None, False
        parser = None
        if len(self._checks) == 1:
            from edi.x835.checks import Balancing835

            check = self._checks[0]
            if isinstance(check, Balancing835):
                parser = check.parser
        return parser, self._checks, self._hier, True

    def finish_run(self) -> None:
        """After the last ``run``: the envelope checker counts the body segments since the last envelope one."""
        body = self.count - self._counted
        self.envelope.body(body, Segment(self._last, self.count) if body else None)
        self._counted = self.count

    def _end_transaction(self, se: Segment | None = None) -> None:
        t = self._current
        where = Where(file=self.file, interchange=t.interchange if t else None, group=t.group if t else None,
                      transaction=t.control if t else None)
        for check in self._checks:
            self.problems += check.end(where, se)
        self._checks = []
        self._hier = None
        self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._end_transaction()
        self.envelope.close()


def validate_stream(fp: BinaryIO, *, file: str, deep: bool = False, progress: Progress | None = None,
                    total_bytes: int | None = None) -> ValidationReport:
    """Validate a binary stream. Fast checks stream; ``deep`` keeps the text for pyx12."""
    tok = Tokenizer(file=file)
    fast = FastChecker(file)
    report = ValidationReport(file=file, deep=deep)
    kept: list[bytes] | None = [] if deep else None
    count = 0
    size = 0
    delimiters = lambda: tok.delimiters  # noqa: E731 - read when a Segment is made: the ISA may change them
    while True:
        chunk = fp.read(CHUNK_SIZE)
        if kept is not None and chunk:
            kept.append(chunk)
        size += len(chunk)
        count += fast.run(tok.elements(chunk), delimiters)
        if progress is not None and not deep and total_bytes:
            progress(size, total_bytes)
        if not chunk:
            break
    fast.finish_run()
    fast.close()
    report.segments = count
    report.bytes = size
    report.problems = tok.problems + fast.envelope.problems + fast.problems
    report.transactions = fast.envelope.transactions
    report.versions = sorted(fast.envelope.versions)
    if count == 0:  # nothing to validate is not a valid file (and pyx12 has nothing to read)
        report.problems.append(Problem("x12.file.empty", "the file holds no X12 segment" + (
            " (it is empty)" if size == 0 else ""), ERROR, Where(file=file)))
        return report
    if deep and kept is not None:
        report.problems += deep_validate(b"".join(kept), file=file, progress=progress, total_segments=count)
    report.problems = by_position(report.problems)
    return report


def validate_path(path: str, *, deep: bool = False, progress: Progress | None = None) -> ValidationReport:
    """Validate a file (``-`` for standard input). Raises ``OSError`` when it cannot be read."""
    with open_input(path) as fp:
        total = os.fstat(fp.fileno()).st_size if path != "-" else None
        return validate_stream(fp, file=path, deep=deep, progress=progress, total_bytes=total)


def validate_bytes(data: bytes, *, file: str = "<bytes>", deep: bool = False) -> ValidationReport:
    return validate_stream(io.BytesIO(data), file=file, deep=deep)


# -- pyx12 ----------------------------------------------------------------------------------------------------


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def deep_validate(data: bytes, *, file: str, progress: Progress | None = None,
                  total_segments: int = 0) -> list[Problem]:
    """pyx12's implementation-guide validation, as problems. Never raises on bad data."""
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.isascii():
        # pyx12 4.0 reads ASCII only; keep positions by replacing each non-ASCII character with one space
        text = "".join(c if c.isascii() else " " for c in text)
    param = pyx12.params.params()
    param.set("exclude_external_codes", "remark_code")  # pyx12's RARC list stops in 2014
    fd_json = io.StringIO()
    loops: dict[int, str] = {}
    seen = 0

    def callback(seg, src, node, valid):  # one call per segment
        nonlocal seen
        seen += 1
        if node is not None:
            loops[src.get_cur_line()] = node.get_path()
        if progress is not None and (seen % 500 == 0):
            progress(seen, total_segments or seen)

    capture = _LogCapture()
    logger = logging.getLogger("pyx12")
    old_propagate = logger.propagate
    logger.addHandler(capture)
    logger.propagate = False
    problems: list[Problem] = []
    try:
        pyx12.x12n_document.x12n_document(param=param, src_file=io.StringIO(text), fd_997=None, fd_html=None,
                                          fd_xmldoc=None, fd_json=fd_json, callback=callback)
    except pyx12.errors.EngineError as exc:
        return [Problem("pyx12.map", f"deep validation is not available for this file: {exc}", WARNING,
                        Where(file=file))]
    except Exception as exc:  # pyx12 raises assorted errors on input it cannot frame
        return [Problem("pyx12.unreadable", f"pyx12 could not read the file: {type(exc).__name__}: {exc}", ERROR,
                        Where(file=file))]
    finally:
        logger.removeHandler(capture)
        logger.propagate = old_propagate
    if progress is not None:
        progress(total_segments or seen, total_segments or seen)
    try:
        doc = json.loads(fd_json.getvalue() or '{"interchanges": []}')
    except json.JSONDecodeError:
        doc = {"interchanges": []}
    known: set[str] = set()

    def add(level: str, e: dict, line: int | None, tag: str | None = None, element: str | None = None,
            st: str | None = None) -> None:
        msg = e.get("err_str") or "pyx12 error"
        known.add(msg)
        loop = loops.get(line or -1, "")
        loop_id = loop.rsplit("/", 2)[-2] if loop.count("/") >= 2 else None
        problems.append(Problem(f"pyx12.{level}.{e.get('err_cde', '?')}", msg, ERROR,
                                Where(file=file, transaction=st, segment=line, tag=tag, element=element,
                                      loop=loop_id if loop_id not in ("ISA_LOOP", "GS_LOOP", "ST_LOOP") else None)))

    for isa in doc.get("interchanges", []):
        for e in isa.get("errors", []):
            add("isa", e, isa.get("cur_line"), "ISA")
        for gs in isa.get("groups", []):
            for e in gs.get("errors", []):
                add("gs", e, gs.get("cur_line"), "GS")
            for st in gs.get("transactions", []):
                stn = st.get("trn_set_control_num")
                for e in st.get("errors", []):
                    add("st", e, st.get("cur_line"), "ST", st=stn)
                for s in st.get("segments", []):
                    for e in s.get("errors", []):
                        add("segment", e, s.get("cur_line"), s.get("seg_id"), st=stn)
                    for el in s.get("elements", []):
                        ref = f"{s.get('seg_id')}{int(el['ele_pos']):02d}" if el.get("ele_pos") else None
                        for e in el.get("errors", []):
                            add("element", e, s.get("cur_line"), s.get("seg_id"), ref, st=stn)
    for message in capture.messages:
        first = message.splitlines()[0] if message else message
        if first and not any(k in first for k in known):
            problems.append(Problem("pyx12.log", first, ERROR, Where(file=file)))
    return problems
