"""The claims build: coded encounters -> checked claims -> one 837 file per clearinghouse -> the ledger.

    result = build_files(["visits.ndjson"], config, ledger=Ledger(), out_dir="out", today=date.today(),
                         now=datetime.now())

The mappers' layer over edi's public APIs: ``mappings`` reads, checks and maps the encounters,
``edi.x837.writer`` writes the claims, the ledger (``edi.ledger.Ledger``) hands out control numbers and records
what was built. Each item of the input goes through named stages as one ``BuiltClaim``:

1. **read** (``mappings.sources``): an ``(Encounter | None, problems)`` per item;
2. **check**, 3. **map**, 4. **format** (``prepare``, through ``mappings.claims.map_item``): the claim as the 837
   will carry it, its fingerprint, its ledger row, and its ``Bucket`` (clearinghouse, kind, payer); its text and
   row are pickled where they are made (``SpooledClaim``). ``prepared`` runs stages 1-4 for every input, in input
   order, in this process or, for NDJSON with ``jobs`` > 1, in forked worker processes fed blocks of lines;
5. **batch checks** (``mappings.claims.batch_checked``, here, in input order): ids unique in the batch,
   originals not already billed, corrections not already sent. ``spool_claims`` puts each good claim in a
   temporary file of its bucket, so memory does not grow with the input; a bad encounter is reported and
   skipped (with ``strict``, nothing is written);
6. **write** (``write_interchange``): one interchange per clearinghouse and run (``<clearinghouse>-<ISA13>.837``
   in ``out_dir``): a functional group per claim kind, and inside it the transaction sets of each payer, at most
   ``claims_per_st`` claims each. ISA13/GS06/ST02 come from the ledger, so they never repeat across runs. The
   file is written under a temporary name (hashed as it is written) and renamed when complete; each claim's
   ledger row, with its place in the file (ISA13, ST02, the CLM's segment number), goes to a spool of rows;
7. **record** (``record_file``): as soon as a file is written, the ledger records it as built from what was
   written (no second read), exactly as ``Ledger.record_837`` would record the file
   (tests/mappings/test_build.py).
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import pickle
import tempfile
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache, wraps
from itertools import islice
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from edi.ledger import ClaimRow, Ledger, LineRow, claim_row
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
    group_by_billing,
    write_transaction,
)
from mappings.checks import BatchChecks, ClaimKey
from mappings.claims import batch_checked, map_item
from mappings.config import Config
from mappings.encounter import Encounter
from mappings.sources import detect_format, read_encounters
from mappings.sources.json_source import ndjson_line

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


# -- the record that goes through the stages ---------------------------------------------------------------------


class Bucket(NamedTuple):
    """Where a claim goes: the interchange of its clearinghouse, the functional group of its kind, the transaction
    sets of its payer (a payer key of edi.toml). The spool keeps one file per bucket."""

    clearinghouse: str
    kind: str
    payer: str

    def __reduce__(self) -> tuple:
        return (tuple.__new__, (Bucket, tuple(self)))  # as ClaimKey's: rebuilt without running Python code


@dataclass(slots=True)
class BuiltClaim:
    """One item of the input on its way through the build.

    ``key``, ``found``, ``checked`` and ``problems`` are those of ``mappings.claims.MappedClaim`` (``problems``
    filled in by the batch checks); ``bucket`` is where the claim goes; ``spooled`` its ``SpooledClaim``, pickled
    where it was made (None when the item makes no claim that can be written). It holds no ``Claim``: a worker
    process sends it back cheaply, and this process only copies the spooled bytes into the spool."""

    key: ClaimKey | None
    found: list[Problem]
    checked: list[Problem] = field(default_factory=list)
    bucket: Bucket | None = None
    spooled: bytes | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def writable(self) -> bool:
        return self.spooled is not None

    def __reduce__(self) -> tuple:
        # its fields as constructor arguments: quicker to pickle and unpickle than the state a slotted dataclass
        # gives by default (and ``problems`` is not sent: the batch checks fill it in here)
        return (BuiltClaim, (self.key, self.found, self.checked, self.bucket, self.spooled))


class SpooledClaim(NamedTuple):
    """A claim waiting in the spool to be written: its 837 text (``FormattedClaim`` without its ``Claim``) and its
    ledger row, plain (see ``_PlainRows``) and pickled: writing only passes the row on, with its place in the
    file, to the spool of rows, and a transaction set's claims wait in memory while it is written."""

    text: FormattedClaim
    row: bytes


@dataclass(frozen=True, slots=True)
class TransactionSet:
    """What the ledger records of a written transaction set (``Ledger.record_written``): the writer's
    ``WrittenTransaction`` without its claims' segment numbers, which went into their ledger rows; so a run
    keeps one of these per transaction set and nothing per claim until the file is recorded."""

    interchange: str
    group: str
    control_number: str
    batch_id: str
    version: str
    claim_count: int

    @classmethod
    def of(cls, t: WrittenTransaction) -> TransactionSet:
        return cls(t.interchange, t.group, t.control_number, t.batch_id, t.version, t.claim_count)


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """What stage 6 hands stage 7: the file, its transaction sets, its sha256 and size (taken as it was written)
    and the spool key of its claims' placed rows."""

    file: BuiltFile
    transactions: list[TransactionSet]
    sha256: str
    size: int
    rows: tuple[str, str]


# -- spooling ------------------------------------------------------------------------------------------------------


def _ordinal(day: date | None) -> int | None:
    return day.toordinal() if day is not None else None


def _from_ordinal(n: int | None) -> date | None:
    return date.fromordinal(n) if n is not None else None


class _PlainRows:
    """How rows of a ``NamedTuple`` class travel through a spool: as plain tuples of its fields, in its order, with
    the fields named in ``convert`` turned into simpler values and back (money as text, dates as ordinals: about
    twice as fast to pickle and unpickle as the named tuples with ``Decimal`` and ``date`` inside). Positions
    come from the class's ``_fields``, so a new field needs no edit here unless it needs converting."""

    def __init__(self, cls: Any, convert: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]]) -> None:
        names: tuple[str, ...] = cls._fields
        self._make = cls._make
        self._index = {name: i for i, name in enumerate(names)}
        self._out = tuple((self._index[name], out) for name, (out, _) in convert.items())
        self._back = tuple((self._index[name], back) for name, (_, back) in convert.items())

    def plain(self, row: tuple) -> tuple:
        values = list(row)
        for i, out in self._out:
            values[i] = out(values[i])
        return tuple(values)

    def typed(self, plain: tuple, **changes: Any) -> Any:
        """The row ``plain`` holds, with the fields named in ``changes`` set (as the plain form holds them)."""
        values = list(plain)
        for name, value in changes.items():
            values[self._index[name]] = value
        for i, back in self._back:
            values[i] = back(values[i])
        return self._make(values)


_LINES = _PlainRows(LineRow, {"charge": (str, Decimal), "service_date": (_ordinal, _from_ordinal)})


def _plain_lines(lines: tuple[LineRow, ...]) -> tuple:
    return tuple(map(_LINES.plain, lines))


def _typed_lines(lines: tuple) -> tuple[LineRow, ...]:
    return tuple(map(_LINES.typed, lines))


_ROWS = _PlainRows(ClaimRow, {"charge": (str, Decimal), "service_date": (_ordinal, _from_ordinal),
                              "lines": (_plain_lines, _typed_lines)})

_dumps = pickle.dumps
_load = pickle.load
_PROTOCOL = pickle.HIGHEST_PROTOCOL


def spooled(text: FormattedClaim, row: ClaimRow) -> bytes:
    """The spool's record of a claim (a ``SpooledClaim`` of plain values), pickled."""
    return _dumps((text.without_claim(), _dumps(_ROWS.plain(row), _PROTOCOL)), _PROTOCOL)


def _unspooled(record: tuple) -> SpooledClaim:
    text, row = record
    return SpooledClaim(FormattedClaim(*text), row)


class Spool:
    """Records waiting to be written: pickled to one temporary file per key, read back in order."""

    def __init__(self, folder: str, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix
        self.files: dict[Hashable, tuple[str, BinaryIO]] = {}
        self.counts: dict[Hashable, int] = {}

    def add(self, key: Hashable, record: object) -> None:
        self.add_pickled(key, _dumps(record, _PROTOCOL))

    def add_pickled(self, key: Hashable, pickled: bytes) -> None:
        """A record already pickled (by a worker process: this one only copies the bytes)."""
        entry = self.files.get(key)
        if entry is None:
            path = os.path.join(self.folder, f"{self.prefix}{len(self.files)}.pickle")
            entry = self.files[key] = (path, open(path, "wb"))  # noqa: SIM115 - closed in close()
            self.counts[key] = 0
        entry[1].write(pickled)
        self.counts[key] += 1

    def close(self, key: Hashable = None) -> None:
        """Close the file of ``key`` (its records can then be read), or of every key."""
        for k, (_, fp) in self.files.items():
            if key is None or k == key:
                fp.close()

    def read(self, key: Hashable) -> Iterator[Any]:
        if key not in self.files:
            return
        with open(self.files[key][0], "rb") as fp:
            for _ in range(self.counts[key]):
                yield _load(fp)


class _Rows:
    """The ledger rows of one written file, read again from the spool on each iteration (a retried database
    transaction reads them again). The spool holds each claim's pickled row with its place in the file: its
    ISA13, ST02 and CLM segment number."""

    def __init__(self, spool: Spool, key: Hashable) -> None:
        self.spool = spool
        self.key = key

    def __iter__(self) -> Iterator[ClaimRow]:
        typed, loads = _ROWS.typed, pickle.loads
        for row, interchange, transaction, segment in self.spool.read(self.key):
            yield typed(loads(row), interchange=interchange, transaction=transaction, segment=segment)


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


# -- stages 1-4: read, check, map, format --------------------------------------------------------------------------


def prepare(encounter: Encounter | None, found: list[Problem], config: Config, today: date) -> BuiltClaim:
    """Check, map and format one item of a source (what ``read_encounters`` yields), and make its spool record:
    everything done to an encounter that does not depend on the others (a worker process may do it)."""
    mapped = map_item(encounter, found, config, today=today, write=True)
    text, key = mapped.text, mapped.key
    if encounter is None or key is None or mapped.claim is None or text is None or text.claim is None:
        return BuiltClaim(key, found, mapped.checked)
    row = claim_row(text.claim, fingerprint=key.fingerprint)
    bucket = _bucket(config.payers[encounter.payer].clearinghouse, mapped.claim.kind, encounter.payer)
    return BuiltClaim(key, found, mapped.checked, bucket, spooled(text, row))


#: One ``Bucket`` object per bucket: a worker's block of claims pickles it once, and this process unpickles it once.
_bucket = cache(Bucket)


def prepared(inputs: Iterable[str], fmt: str | None, config: Config, today: date, jobs: int) -> Iterator[BuiltClaim]:
    """Stages 1-4 for every item of every input, in input order: by this process, or for an NDJSON file with
    ``jobs`` > 1 by that many forked worker processes (other formats, and standard input, by this one)."""
    parallel = jobs > 1 and "fork" in multiprocessing.get_all_start_methods()
    for path in inputs:
        detected = fmt or (detect_format(path) if parallel and path != "-" else None)  # sniffed once
        if parallel and detected == "ndjson" and path != "-" and os.path.isfile(path):
            yield from _prepared_in_workers(path, config, today, jobs)
        else:
            for encounter, found in read_encounters(path, detected):
                yield prepare(encounter, found, config, today)


#: NDJSON lines per task sent to a worker, and tasks in flight per worker (memory stays bounded).
TASK_LINES = 500
TASKS_AHEAD = 3

_worker_state: tuple[Config, date] | None = None


def _prepared_in_workers(path: str, config: Config, today: date, jobs: int) -> Iterator[BuiltClaim]:
    """``prepare`` for each line of an NDJSON file, by ``jobs`` forked worker processes, in file order. The file
    is read here in blocks of lines (decoded by the workers); at most ``jobs * TASKS_AHEAD`` blocks are out at a
    time."""
    global _worker_state
    _worker_state = (config, today)  # inherited by the forked workers
    pending: deque[Future[list[BuiltClaim]]] = deque()
    # (not multiprocessing.Pool: its worker-handling thread spins while results wait in their pipe, which cost
    # this process about 4 us of CPU a claim, and took the interpreter from the threads doing the work)
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_worker_started)
    try:
        for task in _line_blocks(path):
            pending.append(pool.submit(_prepare_lines, *task))
            if len(pending) >= jobs * TASKS_AHEAD:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)  # (after a failure: the blocks not started are dropped)
        _worker_state = None


def _worker_started() -> None:
    """In a worker, once forked: what it inherited (the configuration, the code sets, the modules) is moved out
    of the garbage collector's sight (``gc.freeze``; ``build_files`` froze most of it before the fork already).
    Those objects live as long as the worker, and each full collection would otherwise walk them all, writing
    to their pages (which then stop being shared with this process). Objects made afterwards are collected as
    before."""
    gc.freeze()


def _line_blocks(path: str) -> Iterator[tuple[str, int, list[bytes]]]:
    with open(path, "rb") as fp:
        first = 1
        while True:
            lines = list(islice(fp, TASK_LINES))
            if not lines:
                return
            yield path, first, lines
            first += len(lines)


def _prepare_lines(path: str, first: int, lines: list[bytes]) -> list[BuiltClaim]:
    """In a worker: read (decode) and ``prepare`` each of ``lines`` (line ``first`` onwards of NDJSON file
    ``path``)."""
    assert _worker_state is not None, "set by _prepared_in_workers before the workers are forked"
    config, today = _worker_state
    out = []
    for n, raw in enumerate(lines, first):
        item = ndjson_line(raw, n, path)
        if item is not None:
            out.append(prepare(item[0], item[1], config, today))
    return out


# -- stage 5: the batch checks, and the spool --------------------------------------------------------------------


def spool_claims(claims: Iterable[BuiltClaim], spool: Spool, result: BuildResult, progress: Progress | None
                 ) -> None:
    """Count and report every batch-checked item; spool each good claim in its bucket, name each bad one in
    ``result.skipped``."""
    for claim in claims:
        result.encounters += 1
        if progress is not None:
            progress(result.encounters)
        problems = claim.problems
        result.problems += problems
        if claim.spooled is not None and not has_errors(problems):
            spool.add_pickled(claim.bucket, claim.spooled)
            continue
        name = next((p.where.record for p in problems if p.where.record), f"#{result.encounters}")
        if name in result.skipped:  # two bad encounters with one id: both kept
            name = f"{name} (#{result.encounters})"
        result.skipped[name] = [p for p in problems if p.is_error]


# -- stage 6: write ------------------------------------------------------------------------------------------------


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_billing_text = attrgetter("text.billing")


def write_interchange(clearinghouse: str, spool: Spool, rows: Spool, config: Config, ledger: Ledger,
                      out_dir: str, now: datetime, claims_per_st: int) -> tuple[WrittenFile | None, list[Problem]]:
    """Write one clearinghouse's interchange from the spool; its claims' placed ledger rows go to ``rows``.
    Returns the written file (None when nothing was written) and the problems that stopped it."""
    ch = config.clearinghouses[clearinghouse]
    sub = config.submitter
    sender = Party(sub.isa_qualifier or "ZZ", sub.isa_id or sub.id, sub.gs_id or sub.isa_id or sub.id)
    receiver = Party(ch.isa_qualifier, ch.isa_id, ch.gs_id)
    control = ledger.control_numbers(f"{ch.isa_qualifier}:{ch.isa_id}")
    fd, tmp = tempfile.mkstemp(prefix=f".{clearinghouse}-", suffix=".837.part", dir=out_dir)
    claims = 0
    transactions: list[TransactionSet] = []
    try:
        with os.fdopen(fd, "wb") as raw:
            out = _HashingFile(raw)
            w = InterchangeWriter(out, sender, receiver, control=control, now=now, usage=ch.usage)
            isa13 = f"{w.interchange_number:09d}"
            rows_key = (clearinghouse, isa13)
            for kind in ("professional", "institutional"):
                buckets = sorted(b for b in spool.files if b.clearinghouse == clearinghouse and b.kind == kind)
                if not buckets:
                    continue
                w.begin_group("HC", VERSIONS[kind])
                for bucket in buckets:
                    submitter = config.submitter_for(bucket.payer)
                    for n, chunk in enumerate(_chunks(map(_unspooled, spool.read(bucket)), claims_per_st), 1):
                        batch_id = f"{isa13}-{bucket.payer[:20]}-{n}"[:50]
                        problems = batch_problems(submitter, batch_id, len(chunk), claims_per_st)
                        if has_errors(problems):
                            raise ClaimsRefused(problems)
                        ordered: tuple[SpooledClaim, ...] = group_by_billing(chunk, _billing_text)
                        t = write_transaction(w, [c.text for c in ordered], submitter, kind, batch_id, now)
                        for c, segment in zip(ordered, t.segments, strict=True):
                            rows.add(rows_key, (c.row, isa13, t.control_number, segment))
                        transactions.append(TransactionSet.of(t))
                        claims += len(chunk)
                        del chunk, ordered, t  # else they live on while the next chunk is read: two in memory
                w.end_group()
            w.close()
        final = os.path.join(out_dir, f"{clearinghouse}-{isa13}.837")
        _publish(tmp, final)
    except FileExistsError:
        os.unlink(tmp)
        return None, [Problem(
            "build.exists", f"{final} already exists and was not replaced: it holds an earlier interchange (a "
            "ledger with other control numbers for this clearinghouse, or its isa_id changed). Nothing of "
            f"{clearinghouse} was written or recorded; build into another --out folder", ERROR, Where(file=final))]
    except ClaimsRefused as exc:
        os.unlink(tmp)
        return None, list(exc.problems)
    except BaseException:
        os.unlink(tmp)
        raise
    built = BuiltFile(final, clearinghouse, isa13, claims, len(transactions))
    return WrittenFile(built, transactions, out.sha.hexdigest(), out.size, rows_key), []


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


# -- stage 7: record -----------------------------------------------------------------------------------------------


def record_file(written: WrittenFile, rows: Spool, ledger: Ledger, receiver: str) -> tuple[bool, list[Problem]]:
    """Record a written file in the ledger as built, from its spooled rows (``receiver``: the clearinghouse's
    ISA08). Returns whether the ledger took it, and the problems to report. A file the ledger refuses (its claims
    already stand: another build billed them at the same moment) must not be sent, so it is removed."""
    f = written.file
    recorded = ledger.record_written(f.path, _Rows(rows, written.rows), written.transactions,
                                     sha256=written.sha256, size=written.size, status="built", receiver=receiver)
    problems = [p for p in recorded.problems if p.code.startswith("ledger.")]
    if recorded.outcome != "refused":
        return True, problems
    os.unlink(f.path)
    problems.append(Problem("build.record", f"{f.path}: {recorded.message}; the file was removed", ERROR,
                            Where(file=f.path)))
    return False, problems


# -- the build -----------------------------------------------------------------------------------------------------


def _collector_spared(build: Callable[..., BuildResult]) -> Callable[..., BuildResult]:
    """``build`` run with the objects that exist before it (the modules, SQLAlchemy's, the configuration and its
    code sets) frozen out of the garbage collector's sight (``gc.freeze``), and given back to it afterwards
    (``gc.unfreeze``). A build's objects die young, but so many pass through the oldest generation that it is
    collected again and again, and each full collection walked the whole heap: at 100,000 claims, 16 of them took
    half a second of this process's time, which no other core can share (worker processes inherit the freeze).
    Nothing is collected any later than it would be but garbage cycles of objects older than the build, kept until
    it ends. A caller that froze objects itself (``gc.get_freeze_count()``) keeps its arrangement untouched."""

    @wraps(build)
    def spared(*args: Any, **kwargs: Any) -> BuildResult:
        if gc.get_freeze_count():
            return build(*args, **kwargs)
        gc.freeze()
        try:
            return build(*args, **kwargs)
        finally:
            gc.unfreeze()

    return spared


@_collector_spared
def build_files(inputs: Iterable[str], config: Config, *, ledger: Ledger, out_dir: str, today: date, now: datetime,
                fmt: str | None = None, strict: bool = False, claims_per_st: int = DEFAULT_CLAIMS_PER_ST,
                validate_deep: bool = False, progress: Progress | None = None, jobs: int = 1) -> BuildResult:
    """See the module docstring. With ``jobs`` > 1, NDJSON inputs are read, checked, mapped and formatted by
    that many worker processes; the result is the same, in the same order. ``progress(n)`` is called after
    each of the ``n`` items read."""
    result = BuildResult()
    clock = time.perf_counter
    started = clock()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edi-build-") as spool_dir:
        spool = Spool(spool_dir, "bucket")
        batch = BatchChecks(ledger.billed_checker(), ledger.corrections_checker())
        try:
            spool_claims(batch_checked(prepared(inputs, fmt, config, today, jobs), batch), spool, result, progress)
        finally:
            batch.close()
            spool.close()
        result.timings["encounters"] = clock() - started
        if strict and result.skipped:
            result.written = False
            return result
        result.timings["write"] = result.timings["record"] = 0.0
        for done in publish_files(spool, spool_dir, config, ledger, out_dir, now, claims_per_st):
            result.problems += done.problems
            result.timings["write"] += done.write_seconds
            result.timings["record"] += done.record_seconds
            if done.kept:
                result.files.append(done.file)
                result.claims += done.file.claims
    if validate_deep:
        started = clock()
        for f in result.files:
            result.validation.append(validate_path(f.path, deep=True))
        result.timings["validate"] = clock() - started
    return result


@dataclass
class Published:
    """One clearinghouse's interchange after stages 6 and 7: ``file`` written (None when the batch was refused or
    the name taken), ``kept`` when the ledger recorded it (a file it refused is removed), every problem, and the
    seconds each stage took."""

    clearinghouse: str
    file: BuiltFile | None
    kept: bool
    problems: list[Problem]
    write_seconds: float
    record_seconds: float


def publish_files(spool: Spool, spool_dir: str, config: Config, ledger: Ledger, out_dir: str, now: datetime,
                  claims_per_st: int) -> Iterator[Published]:
    """Stages 6 and 7 for every clearinghouse with claims in ``spool`` (closed): its interchange written, then
    recorded at once. Each file is recorded as soon as it is written: a failure on a later one cannot leave a
    written file that the ledger does not know (built again by the next run, it could be billed twice). Used by
    the build and by the claims to the next payer (``mappings.secondary``)."""
    clock = time.perf_counter
    rows = Spool(spool_dir, "rows")
    try:
        for clearinghouse in sorted({b.clearinghouse for b in spool.files}):
            started = clock()
            written, problems = write_interchange(clearinghouse, spool, rows, config, ledger, out_dir, now,
                                                  claims_per_st)
            wrote = clock() - started
            kept = False
            started = clock()
            if written is not None:
                rows.close(written.rows)
                kept, more = record_file(written, rows, ledger, config.clearinghouses[clearinghouse].isa_id)
                problems = [*problems, *more]
            yield Published(clearinghouse, written.file if written is not None else None, kept, problems, wrote,
                            clock() - started if written is not None else 0.0)
    finally:
        rows.close()
