"""Progress bars for long work, on stderr, and only when stderr is a terminal: a script, a pipe or a log file gets
none (nothing to clean up, no control sequences in a log). Bars are transient: once the work is done the line is
gone and the command's own report follows.

Progress is counted in bytes where the work reads bytes the library reports (``validate_path``), by whole files
(their sizes) where it does not (``Ledger.import_835`` reads a file in one call), else by items (encounters)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from cli.output import err_console


def shown() -> bool:
    """Whether bars are drawn: stderr is a terminal (rich's own test, which honours TTY_COMPATIBLE and TERM=dumb)."""
    return err_console.is_terminal and not err_console.is_dumb_terminal


class Bar:
    """One task of a progress display; every method does nothing when bars are not shown."""

    def __init__(self, progress: Progress | None, task: TaskID | None, *, refresh: bool) -> None:
        self._progress = progress
        self._task = task
        self._refresh = refresh  # without a refresh thread, each update redraws

    def update(self, completed: int | None = None, *, total: int | None = None, advance: int | None = None,
               description: str | None = None) -> None:
        if self._progress is None or self._task is None:
            return
        kwargs: dict = {}
        if completed is not None:
            kwargs["completed"] = completed
        if total is not None:
            kwargs["total"] = total
        if advance is not None:
            kwargs["advance"] = advance
        if description is not None:
            kwargs["description"] = description
        self._progress.update(self._task, refresh=self._refresh, **kwargs)

    def __call__(self, done: int, total: int | None = None) -> None:
        """A ``progress(done, total)`` callback, as the library's functions take it."""
        self.update(done, total=total)


def _columns(unit: str) -> list[ProgressColumn]:
    if unit == "spinner":
        return [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()]
    if unit == "bytes":
        return [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                TimeRemainingColumn()]
    if unit == "files":  # moves only between files: a spinner and the time so far show the work goes on
        return [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                TimeElapsedColumn()]
    return [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]


@contextmanager
def bar(description: str, *, total: int | None = None, unit: str = "items", thread: bool = True) -> Iterator[Bar]:
    """A progress bar while the block runs: ``unit`` "bytes" (size, speed, time left), "files" (bytes counted a
    whole file at a time), "items" (done of total) or "spinner" (no total: the count goes in the description). The
    total may come with the first update. ``thread=False`` draws only on updates, with no refresh thread (for code
    that forks worker processes)."""
    if unit not in ("bytes", "files", "items", "spinner"):
        raise ValueError(f"unit {unit!r}: bytes, files, items or spinner")
    if not shown():
        yield Bar(None, None, refresh=False)
        return
    with Progress(*_columns(unit), console=err_console, transient=True, auto_refresh=thread) as progress:
        task = progress.add_task(description, total=total)
        yield Bar(progress, task, refresh=not thread)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size if path != "-" else 0
    except OSError:
        return 0


def over_files(paths: Iterable[str], verb: str, *, thread: bool = True) -> Iterator[str]:
    """Each of ``paths``, with a bar by bytes over all of them (each file counted whole once it is done), named by
    ``verb`` and the file at hand: for work that reads a file in one library call (``thread``: as ``bar``)."""
    paths = list(paths)
    sizes = [_size(p) for p in paths]
    with bar(verb, total=sum(sizes) or None, unit="files", thread=thread) as b:
        for i, (path, size) in enumerate(zip(paths, sizes, strict=True)):
            b.update(description=f"{verb} {Path(path).name} ({i + 1} of {len(paths)})")
            yield path
            b.update(advance=size)
