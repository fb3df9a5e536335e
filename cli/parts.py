"""A large 835 read by several processes at once (``edi remit show``, ``edi remit export``).

The file is cut into runs of whole transaction sets (``edi.x835.parts.plan``). This process reads the first part
and prints it as it goes, so the first lines come as soon as they would from one process; each other part is read
by a forked process at the same time, which prints into a temporary file (``capture``: its standard output is
that file) or writes its own part files (``edi remit export``). When this process has finished its part, it
takes the others' in order: ``splice(k, result, output)`` appends part ``k``'s output where it belongs. The parts'
problems are put together in file order, each once (see ``RemitReader``'s ``part``).

A part whose process failed (killed, out of memory, out of temporary space: the captured output goes to
``TMPDIR``) is read again by this process, printing straight to its output: the output is the same, only later.
Nothing is cut when standard output is a terminal or not a file descriptor (a test's captured output), for
standard input, a file under 4 MB (unless ``EDI_READ_PARTS`` asks for parts) or of a single transaction set, or
with ``EDI_READ_PARTS=1``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from edi.problems import Problem, Problems
from edi.x835.parts import MIN_BYTES, Part, chosen_parts, default_parts, merge_problems, plan
from edi.x835.reader import RemitReader

#: ``work(reader, k, direct)``: reads and prints part ``k`` (its items from ``reader``), returns what ``splice``
#: needs (picklable: it crosses from the forked process). ``direct``: it prints straight to this process's output
#: (or tables), after every part before it (the first part; a part whose process failed); else to its own (a
#: forked process's captured standard output, or its part files), put in place later by ``splice``.
Work = Callable[[RemitReader, int, bool], Any]
#: ``splice(k, result, output)``: puts part ``k``'s output in place (``output``: its captured standard output,
#: positioned at its start; None when it was printed directly, or wrote part files).
Splice = Callable[[int, Any, IO[bytes] | None], None]


@dataclass
class Read:
    """What reading the file in parts found: each part's ``work`` result in order, the problems (file order)
    and the segments and bytes read."""

    results: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=Problems)
    segments: int = 0
    bytes: int = 0


def _stdout_is_a_file() -> bool:
    """Standard output is a file descriptor a forked process can print to (a file or a pipe, not a terminal)."""
    try:
        return sys.stdout.fileno() == 1 and not os.isatty(1)
    except (AttributeError, OSError, ValueError):
        return False


def read_in_parts(file: str, work: Work, splice: Splice, *, capture: bool = True,
                  before_fork: Callable[[int], None] | None = None) -> Read:
    """Read ``file`` with ``work`` in as many parts as are worth it (one when cutting is not possible: see the
    module's docstring), calling ``splice`` for each part in order. ``before_fork(k)`` runs in this process before
    part ``k``'s process starts: what it opens there (files the part writes, unlinked) the part inherits.

    While the parts' processes run, SIGTERM and SIGHUP end this process the way Ctrl-C does (its ``finally``
    blocks run: the processes are stopped, their files closed), and each of them ends when this one does."""
    parts = [(0, None)]
    if hasattr(os, "fork") and (_stdout_is_a_file() or not capture):
        parts = plan(file, default_parts(), min_bytes=0 if chosen_parts() else MIN_BYTES)
    read = Read()
    sources: list = []  # each part's problem sources (edi.x835.parts.merge_problems)
    children: list[_Child] = []
    handlers = _leave_on_signals() if len(parts) > 1 else {}

    def here(part: Part | None, k: int) -> None:  # read and printed by this process, straight out
        reader = RemitReader(file, part)
        result = work(reader, k, True)
        splice(k, result, None)
        _add(read, sources, result, reader.problem_sources, reader.segments, reader.bytes)

    try:
        for k, part in enumerate(parts[1:], 1):
            if before_fork is not None:
                before_fork(k)
            children.append(_start(file, part, k, work, capture))
        here(parts[0] if len(parts) > 1 else None, 0)
        for child in children:
            found = child.finish()
            if found is None:  # the process failed (killed, out of memory or temporary space): read its part here
                here(child.part, child.k)
                continue
            result, problems, segments, nbytes = found
            if child.output is not None:
                child.output.seek(0)
            splice(child.k, result, child.output)
            _add(read, sources, result, problems, segments, nbytes)
    finally:
        for child in children:
            child.stop()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    read.problems = merge_problems(sources)
    return read


_ENDING = (signal.SIGTERM, signal.SIGHUP)


def _leave(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def _leave_on_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise SystemExit in this process (the handlers before, to put back)."""
    before = {}
    for signum in _ENDING:
        with contextlib.suppress(ValueError, OSError):  # not the main thread: left as they are
            before[signum] = signal.signal(signum, _leave)
    return before


def _end_with_parent(parent: int) -> None:
    """In a part's process: the default action on SIGINT, SIGTERM and SIGHUP (it has nothing to clean up), SIGTERM
    when the process that forked it ends (Linux's parent-death signal), and an exit at once if it has already."""
    for signum in (signal.SIGINT, *_ENDING):
        signal.signal(signum, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _add(read: Read, sources: list, result, problems, segments: int, nbytes: int) -> None:
    read.results.append(result)
    sources.append(problems)
    read.segments = max(read.segments, segments)
    read.bytes = max(read.bytes, nbytes)


class _Child:
    """A forked process reading one part; ``finish()`` its result (None when it failed)."""

    def __init__(self, part: Part, k: int, pid: int, results: int, output: IO[bytes] | None) -> None:
        self.part, self.k, self.pid, self.results, self.output = part, k, pid, results, output

    def finish(self) -> tuple | None:
        if self.results < 0:  # never started
            return None
        with os.fdopen(self.results, "rb") as fp:
            self.results = -1
            data = fp.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if status != 0 or not data:
            return None
        try:
            return pickle.loads(data)
        except Exception:  # noqa: BLE001 - a truncated result: read the part again
            return None

    def stop(self) -> None:
        """Ends the process if it still runs (this one is leaving early: a closed pipe, an interrupt)."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = 0
        if self.results >= 0:
            os.close(self.results)
            self.results = -1
        if self.output is not None:
            self.output.close()


def _start(file: str, part: Part, k: int, work: Work, capture: bool) -> _Child:
    """A forked process reading part ``k``; one that could not be started (no temporary file, pipe or process to
    be had) is a failed one: this process reads the part itself."""
    output = None
    try:
        output = tempfile.TemporaryFile(prefix="edi-part-") if capture else None  # noqa: SIM115 - closed by _Child
        read_end, write_end = os.pipe()
    except OSError:
        if output is not None:
            output.close()
        return _Child(part, k, 0, -1, None)
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        if output is not None:
            output.close()
        return _Child(part, k, 0, -1, None)
    if pid == 0:  # the forked process: read the part, print to ``output``, send the result, leave
        code = 1
        try:
            os.close(read_end)
            _end_with_parent(parent)
            if output is not None:
                os.dup2(output.fileno(), 1)
            reader = RemitReader(file, part)
            result = work(reader, k, False)
            sys.stdout.flush()
            data = pickle.dumps((result, reader.problem_sources, reader.segments, reader.bytes),
                                protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as fp:
                fp.write(data)
            code = 0
        except BaseException:  # noqa: BLE001 - the parent reads the part again
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return _Child(part, k, pid, read_end, output)


def copy_out(source: IO[bytes], skip: int = 0) -> None:
    """Append ``source`` (from its current position, ``skip`` bytes further) to standard output."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    out.flush()
    source.seek(skip, os.SEEK_CUR)
    shutil.copyfileobj(source, out, 1 << 20)
    out.flush()
