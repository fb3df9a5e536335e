"""The claims pipeline: coded encounters -> checked claims -> one 837 file per clearinghouse -> the ledger.

    result = build_files(["visits.ndjson"], config, ledger=Ledger(), out_dir="out", today=date.today(),
                         now=datetime.now())

It joins the layers and owns none of them: ``mappings`` reads and checks encounters and maps them to claims,
``edi.x837.writer`` writes them, the ledger hands out control numbers and records what was built.

* Each encounter is checked, mapped, checked again as the 837 will carry it and formatted once (``_work``),
  by this process or, for NDJSON with ``jobs`` > 1, by forked worker processes fed blocks of lines (the
  batch checks, ids unique and not already billed, stay here, in input order). A bad encounter is reported
  and skipped (with ``strict``, nothing is written).
* Each claim's text and ledger row are spooled to temporary files per (clearinghouse, kind, payer), so
  memory does not grow with the input.
* Each clearinghouse gets one interchange per run (``<clearinghouse>-<ISA13>.837`` in ``out_dir``): a
  functional group per claim kind, and inside it the transaction sets of each payer, at most
  ``claims_per_st`` claims each. ISA13/GS06/ST02 come from the ledger, so they never repeat across runs.
* A file is written under a temporary name (hashed as it is written) and renamed when complete, then
  recorded in the ledger as built from what was written: each claim with its ISA13, ST02 and CLM segment
  number, exactly as ``Ledger.record_837`` would record the file (tests/edi/test_pipeline.py).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from edi.ledger.record import ClaimRow, LineRow, claim_row
from edi.model import Source
from edi.problems import ERROR, Problem, Where, has_errors
from edi.validate import ValidationReport, validate_path
from edi.x12.writer import InterchangeWriter, Party
from edi.x837.formats import VERSIONS
from edi.x837.writer import (
    DEFAULT_CLAIMS_PER_ST,
    ClaimsRefused,
    FormattedClaim,
    WrittenTransaction,
    batch_problems,
    format_claim,
    group_by_billing,
    write_transaction,
)
from mappings.claims import encounter_to_claim

Progress = Callable[[int], None]


@dataclass
class BuiltFile:
    path: str
    clearinghouse: str
    interchange: str
    claims: int
    transactions: int


@dataclass
class BuildResult:
    files: list[BuiltFile] = field(default_factory=list)
    claims: int = 0
    encounters: int = 0
    skipped: dict[str, list[Problem]] = field(default_factory=dict)  # encounter id -> why
    problems: list[Problem] = field(default_factory=list)
    validation: list[ValidationReport] = field(default_factory=list)
    written: bool = True
    #: wall seconds per phase: "encounters" (read, check, map and format every encounter, spool the claims),
    #: "write" (the 837 files), "record" (the ledger), "validate" (deep validation, when asked)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems) and all(r.ok for r in self.validation)


class _Spool:
    """Records waiting to be written: pickled to one temporary file per key, read back in order. A record is
    a small tuple of strings and numbers (a claim's text and its ledger row), cheap to pickle."""

    def __init__(self, folder: str, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix
        self.files: dict[object, tuple[str, BinaryIO]] = {}
        self.counts: dict[object, int] = {}

    def add(self, key: object, record: object) -> None:
        self.add_pickled(key, _dumps(record, pickle.HIGHEST_PROTOCOL))

    def add_pickled(self, key: object, pickled: bytes) -> None:
        """A record already pickled (by a worker process: this one only copies the bytes)."""
        entry = self.files.get(key)
        if entry is None:
            path = os.path.join(self.folder, f"{self.prefix}{len(self.files)}.pickle")
            entry = self.files[key] = (path, open(path, "wb"))  # noqa: SIM115 - closed in close()
            self.counts[key] = 0
        entry[1].write(pickled)
        self.counts[key] += 1

    def close(self, key: object = None) -> None:
        """Close the file of ``key`` (its records can then be read), or of every key."""
        for k, (_, fp) in self.files.items():
            if key is None or k == key:
                fp.close()

    def read(self, key: object) -> Iterator:
        if key not in self.files:
            return
        with open(self.files[key][0], "rb") as fp:
            for _ in range(self.counts[key]):
                yield _load(fp)


_dumps = pickle.dumps
_load = pickle.load


def _plain(row: ClaimRow) -> tuple:
    """A ledger row as plain strings and numbers (money as text, dates as ordinals): about twice as fast to
    pickle and unpickle as the named tuples with Decimal and date inside."""
    sd = row.service_date
    return (*row[:5], str(row.charge), sd.toordinal() if sd else None, *row[7:13],
            tuple((ln[0], ln[1], ln[2], ln[3], str(ln[4]), ln[5], ln[6].toordinal() if ln[6] else None, ln[7])
                  for ln in row.lines), row.fingerprint)


def _row(plain: tuple) -> ClaimRow:
    sd = plain[6]
    return ClaimRow(*plain[:5], Decimal(plain[5]), _fromordinal(sd) if sd else None, *plain[7:13],
                    tuple(LineRow(ln[0], ln[1], ln[2], ln[3], Decimal(ln[4]), ln[5],
                                  _fromordinal(ln[6]) if ln[6] else None, ln[7]) for ln in plain[13]),
                    plain[14])


def _placed(plain: tuple, interchange: str, transaction: str, segment: int) -> tuple:
    """A ``_plain`` row with its place in the written file (ISA13, ST02, the CLM's segment number)."""
    return (*plain[:10], interchange, transaction, segment, *plain[13:])


_fromordinal = date.fromordinal


class _Rows:
    """The ledger rows of one written file, read again from the spool on each iteration (a retried database
    transaction reads them again)."""

    def __init__(self, spool: _Spool, key: object) -> None:
        self.spool = spool
        self.key = key

    def __iter__(self) -> Iterator[ClaimRow]:
        return map(_row, self.spool.read(self.key))


class _HashingFile:
    """A binary file that hashes (sha256) and counts what is written to it."""

    def __init__(self, fp: BinaryIO) -> None:
        self.fp = fp
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.fp.write(data)


# -- one encounter, and the stream of them -----------------------------------------------------------------------

#: What ``_work`` makes of one source item: (id, frequency, file) or None when the source gave no encounter;
#: source problems; check, mapping and writer problems; the spool record, pickled (the claim's text,
#: ``FormattedClaim.without_claim``, and its ledger row, ``_plain``) when it can be written, else None; and its
#: spool bucket (clearinghouse, kind, payer). Pickled where it is made, so a worker's record is only copied.
Unit = tuple


def _work(enc, found: list[Problem], config, today: date) -> Unit:
    """Everything done to one encounter that does not depend on the others (a worker process may do it)."""
    if enc is None:
        return None, found, (), None, None
    claim, checked = encounter_to_claim(enc, config, today=today)
    key = (enc.id, enc.frequency, enc.source.file if enc.source else None)
    if claim is None:
        return key, found, checked, None, None
    formatted, more = format_claim(claim, claim.kind)
    if formatted is None:
        return key, found, [*checked, *more], None, None
    bucket = (config.payers[enc.payer].clearinghouse, claim.kind, enc.payer)
    fingerprint = _fingerprint(formatted)
    row = claim_row(formatted.claim)._replace(fingerprint=fingerprint)
    record = _dumps((formatted.without_claim(), _plain(row)), pickle.HIGHEST_PROTOCOL)
    return (*key, fingerprint, claim.total_charge), found, checked, record, bucket


def _fingerprint(formatted: FormattedClaim) -> str:
    """sha256 of a claim's 837 text (its billing provider, subscriber, patient and claim loops, which hold no
    envelope or HL numbers): the same encounter and configuration always give the same one."""
    h = hashlib.sha256()
    for part in (formatted.billing, formatted.subscriber, formatted.patient, formatted.body):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\x00")
    return h.hexdigest()


class _EncounterKey:
    """What the batch checks need of an encounter (``mappings.checks.BatchChecks``): its id, frequency, file
    and the fingerprint and charge of the claim it makes (None when it makes none), and where its problems sit."""

    __slots__ = ("id", "frequency", "source", "fingerprint", "charge")

    def __init__(self, id: str, frequency: str, file: str | None,  # noqa: A002 - the encounter's id
                 fingerprint: str | None = None, charge: Decimal | None = None) -> None:
        self.id = id
        self.frequency = frequency
        self.source = Source(file=file, record=id)
        self.fingerprint = fingerprint
        self.charge = charge

    def where(self, element: str | None = None) -> Where:
        return Where(file=self.source.file, record=self.id, element=element)


def _units(inputs: Iterable[str], fmt: str | None, config, today: date, jobs: int) -> Iterator[Unit]:
    """``_work`` for every item of every input, in input order."""
    from mappings.sources import detect_format, read_encounters

    parallel = jobs > 1 and "fork" in multiprocessing.get_all_start_methods()
    for path in inputs:
        detected = fmt or (detect_format(path) if parallel and path != "-" else None)  # sniffed once
        if parallel and detected == "ndjson" and path != "-" and os.path.isfile(path):
            yield from _units_parallel(path, config, today, jobs)
        else:
            for enc, found in read_encounters(path, detected):
                yield _work(enc, found, config, today)


#: NDJSON lines per task sent to a worker, and tasks in flight per worker (memory stays bounded).
TASK_LINES = 500
TASKS_AHEAD = 3

_worker_state: tuple = ()


def _units_parallel(path: str, config, today: date, jobs: int) -> Iterator[Unit]:
    """``_work`` for each line of an NDJSON file, by ``jobs`` forked worker processes, in file order. The file
    is read here in blocks of lines; at most ``jobs * TASKS_AHEAD`` blocks are out at a time."""
    global _worker_state
    _worker_state = (config, today)  # inherited by the forked workers
    pending: deque = deque()
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for task in _line_blocks(path):
                pending.append(pool.apply_async(_work_lines, task))
                if len(pending) >= jobs * TASKS_AHEAD:
                    yield from pending.popleft().get()
            while pending:
                yield from pending.popleft().get()
    finally:
        _worker_state = ()


def _line_blocks(path: str) -> Iterator[tuple[str, int, list[bytes]]]:
    with open(path, "rb") as fp:
        first = 1
        while True:
            lines = list(islice(fp, TASK_LINES))
            if not lines:
                return
            yield path, first, lines
            first += len(lines)


def _work_lines(path: str, first: int, lines: list[bytes]) -> list[Unit]:
    """In a worker: ``_work`` for each of ``lines`` (line ``first`` onwards of NDJSON file ``path``)."""
    from mappings.sources.json_source import ndjson_line

    config, today = _worker_state
    out = []
    for n, raw in enumerate(lines, first):
        item = ndjson_line(raw, n, path)
        if item is not None:
            out.append(_work(item[0], item[1], config, today))
    return out


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_files(inputs: Iterable[str], config, *, ledger, out_dir: str, today: date, now: datetime,
                fmt: str | None = None, strict: bool = False, claims_per_st: int = DEFAULT_CLAIMS_PER_ST,
                validate_deep: bool = False, progress: Progress | None = None, jobs: int = 1) -> BuildResult:
    """See the module docstring. ``config`` is a ``mappings.config.Config``; ``ledger`` an ``edi.ledger.Ledger``.
    With ``jobs`` > 1, NDJSON inputs are checked, mapped and formatted by that many worker processes (other
    formats, and standard input, by this one); the result is the same, in the same order."""
    from mappings.checks import BatchChecks

    result = BuildResult()
    clock = time.perf_counter
    started = clock()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edi-build-") as spool_dir:
        spool = _Spool(spool_dir, "bucket")
        batch = BatchChecks(ledger.billed_checker(), ledger.corrections_checker())
        for key, found, checked, record, bucket in _units(inputs, fmt, config, today, jobs):
            result.encounters += 1
            if progress is not None:
                progress(result.encounters)
            if key is None:  # the source could not give an encounter
                problems = found
            else:
                problems = batch.problems(_EncounterKey(*key), found, checked, record is not None)
            result.problems += problems
            if record is not None and not has_errors(problems):
                spool.add_pickled(bucket, record)
                continue
            name = next((p.where.record for p in problems if p.where.record), f"#{result.encounters}")
            if name in result.skipped:  # two bad encounters with one id: both kept
                name = f"{name} (#{result.encounters})"
            result.skipped[name] = [p for p in problems if p.is_error]
        spool.close()
        result.timings["encounters"] = clock() - started
        if strict and result.skipped:
            result.written = False
            return result
        rows = _Spool(spool_dir, "rows")
        result.timings["write"] = result.timings["record"] = 0.0
        try:
            for ch_key in sorted({k[0] for k in spool.files}):
                # each file is recorded as soon as it is written: a failure on a later one cannot leave a written
                # file that the ledger does not know (built again by the next run, it could be billed twice)
                started = clock()
                built = _write_interchange(ch_key, spool, rows, config, ledger, out_dir, now, claims_per_st, result)
                result.timings["write"] += clock() - started
                if built is None:
                    continue
                started = clock()
                f, txs, sha, size, rows_key = built
                rows.close(rows_key)
                result.files.append(f)
                recorded = ledger.record_written(f.path, _Rows(rows, rows_key), txs, sha256=sha, size=size,
                                                 status="built", receiver=config.clearinghouses[ch_key].isa_id)
                result.problems += [p for p in recorded.problems if p.code.startswith("ledger.")]
                if recorded.outcome == "refused":
                    # the ledger does not know this file (its claims already stand: another build billed them at
                    # the same moment): it must not be sent, so it goes
                    os.unlink(f.path)
                    result.files.remove(f)
                    result.claims -= f.claims
                    result.problems.append(Problem("build.record", f"{f.path}: {recorded.message}; the file was "
                                                   "removed", ERROR, Where(file=f.path)))
                result.timings["record"] += clock() - started
        finally:
            rows.close()
    if validate_deep:
        started = clock()
        for f in result.files:
            result.validation.append(validate_path(f.path, deep=True))
        result.timings["validate"] = clock() - started
    return result


def _write_interchange(ch_key: str, spool: _Spool, rows: _Spool, config, ledger, out_dir: str, now: datetime,
                       claims_per_st: int, result: BuildResult) -> tuple[BuiltFile, list, str, int, tuple] | None:
    """Write one clearinghouse's interchange from the spool; its ledger rows go to ``rows``. Returns the file,
    its transaction sets, sha256, size and the rows' spool key (None when the batch was refused)."""
    ch = config.clearinghouses[ch_key]
    sub = config.submitter
    sender = Party(sub.isa_qualifier or "ZZ", sub.isa_id or sub.id, sub.gs_id or sub.isa_id or sub.id)
    receiver = Party(ch.isa_qualifier, ch.isa_id, ch.gs_id)
    control = ledger.control_numbers(f"{ch.isa_qualifier}:{ch.isa_id}")
    fd, tmp = tempfile.mkstemp(prefix=f".{ch_key}-", suffix=".837.part", dir=out_dir)
    claims = 0
    transactions: list[WrittenTransaction] = []
    try:
        with os.fdopen(fd, "wb") as raw:
            out = _HashingFile(raw)
            w = InterchangeWriter(out, sender, receiver, control=control, now=now, usage=ch.usage)
            isa13 = f"{w.interchange_number:09d}"
            rows_key = ("rows", ch_key, isa13)
            for kind in ("professional", "institutional"):
                keys = sorted(k for k in spool.files if k[0] == ch_key and k[1] == kind)
                if not keys:
                    continue
                w.begin_group("HC", VERSIONS[kind])
                for key in keys:
                    submitter = config.submitter_for(key[2])
                    for n, chunk in enumerate(_chunks(spool.read(key), claims_per_st), 1):
                        batch_id = f"{isa13}-{key[2][:20]}-{n}"[:50]
                        problems = batch_problems(submitter, batch_id, len(chunk), claims_per_st)
                        if has_errors(problems):
                            raise ClaimsRefused(problems)
                        ordered = group_by_billing(chunk, _billing_text)
                        t = write_transaction(w, [FormattedClaim(*text) for text, _ in ordered], submitter, kind,
                                              batch_id, now)
                        for (_, row), segment in zip(ordered, t.segments, strict=True):
                            rows.add(rows_key, _placed(row, isa13, t.control_number, segment))
                        transactions.append(t)
                        claims += len(chunk)
                w.end_group()
            w.close()
        final = os.path.join(out_dir, f"{ch_key}-{isa13}.837")
        _publish(tmp, final)
    except FileExistsError:
        os.unlink(tmp)
        result.problems.append(Problem(
            "build.exists", f"{final} already exists and was not replaced: it holds an earlier interchange (a "
            "ledger with other control numbers for this clearinghouse, or its isa_id changed). Nothing of "
            f"{ch_key} was written or recorded; build into another --out folder", ERROR, Where(file=final)))
        return None
    except ClaimsRefused as exc:
        os.unlink(tmp)
        result.problems += list(exc.problems)
        return None
    except BaseException:
        os.unlink(tmp)
        raise
    result.claims += claims
    return (BuiltFile(final, ch_key, isa13, claims, len(transactions)), transactions, out.sha.hexdigest(), out.size,
            rows_key)


def _publish(tmp: str, final: str) -> None:
    """Give the written file its name, never replacing a file of that name (FileExistsError): a hard link
    claims the name atomically; where the file system has none, a check then a rename."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise
    except OSError:  # no hard links here
        if os.path.lexists(final):
            raise FileExistsError(final) from None
        os.replace(tmp, final)
        return
    os.unlink(tmp)


def _billing_text(record: tuple) -> str:
    return record[0][1]
