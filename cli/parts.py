"""A large 835 read by several processes at once (``edi remit show``, ``edi remit export``).

The file is cut into runs of whole transaction sets (``edi.x835.parts.plan``). This process reads the first part
and prints it as it goes, so the first lines come as soon as they would from one process; each other part is read
by a forked process at the same time, which prints into a temporary file (``capture``: its standard output is
that file) or writes its own part files (``edi remit export``). When this process has finished its part, it
takes the others' in order: ``splice(k, result, output)`` appends part ``k``'s output where it belongs. The parts'
problems are put together in file order, each once (see ``RemitReader``'s ``part``).

A part whose process failed (killed, out of memory) is read again by this process: the output is the same, only
later. Nothing is cut when standard output is a terminal or not a file descriptor (a test's captured output),
for standard input, a file under 4 MB (unless ``EDI_READ_PARTS`` asks for parts) or of a single transaction
set, or with ``EDI_READ_PARTS=1``.
"""

from __future__ import annotations

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

#: ``work(reader, k)``: reads and prints part ``k`` (its items from ``reader``), returns what ``splice`` needs
#: (picklable: it crosses from the forked process).
Work = Callable[[RemitReader, int], Any]
#: ``splice(k, result, output)``: puts part ``k``'s output in place (``output``: its captured standard output,
#: positioned at its start; None for the first part, printed already).
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


def read_in_parts(file: str, work: Work, splice: Splice, *, capture: bool = True) -> Read:
    """Read ``file`` with ``work`` in as many parts as are worth it (one when cutting is not possible: see the
    module's docstring), calling ``splice`` for each part in order."""
    parts = [(0, None)]
    if hasattr(os, "fork") and (_stdout_is_a_file() or not capture):
        parts = plan(file, default_parts(), min_bytes=0 if chosen_parts() else MIN_BYTES)
    read = Read()
    sources: list = []  # each part's problem sources (edi.x835.parts.merge_problems)
    children: list[_Child] = []
    try:
        for k, part in enumerate(parts[1:], 1):
            children.append(_start(file, part, k, work, capture))
        reader = RemitReader(file, parts[0] if len(parts) > 1 else None)
        result = work(reader, 0)
        splice(0, result, None)
        _add(read, sources, result, reader.problem_sources, reader.segments, reader.bytes)
        for child in children:
            found = child.finish()
            if found is None:  # the process failed: read its part here
                found = _run(file, child.part, child.k, work, child.output)
            result, problems, segments, nbytes = found
            if child.output is not None:
                child.output.seek(0)
            splice(child.k, result, child.output)
            _add(read, sources, result, problems, segments, nbytes)
    finally:
        for child in children:
            child.stop()
    read.problems = merge_problems(sources)
    return read


def _add(read: Read, sources: list, result, problems, segments: int, nbytes: int) -> None:
    read.results.append(result)
    sources.append(problems)
    read.segments = max(read.segments, segments)
    read.bytes = max(read.bytes, nbytes)


def _run(file: str, part: Part, k: int, work: Work, output: IO[bytes] | None) -> tuple:
    """Part ``k`` read by this process, its standard output sent to ``output`` (when given) meanwhile."""
    saved = None
    if output is not None:
        sys.stdout.flush()
        saved = os.dup(1)
        output.seek(0)
        output.truncate()
        os.dup2(output.fileno(), 1)
    try:
        reader = RemitReader(file, part)
        result = work(reader, k)
        sys.stdout.flush()
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
    return result, reader.problem_sources, reader.segments, reader.bytes


class _Child:
    """A forked process reading one part; ``finish()`` its result (None when it failed)."""

    def __init__(self, part: Part, k: int, pid: int, results: int, output: IO[bytes] | None) -> None:
        self.part, self.k, self.pid, self.results, self.output = part, k, pid, results, output

    def finish(self) -> tuple | None:
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
    output = tempfile.TemporaryFile(prefix="edi-part-") if capture else None  # noqa: SIM115 - closed by _Child
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the forked process: read the part, print to ``output``, send the result, leave
        code = 1
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            if output is not None:
                os.dup2(output.fileno(), 1)
            reader = RemitReader(file, part)
            result = work(reader, k)
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
