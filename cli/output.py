"""Rendering helpers shared by the commands: rich for people (problems and progress on stderr), JSON for
scripts (on stdout), and the exit codes the commands choose: 0 ok, 1 problems found in the data, 2 usage or
unreadable input (``cli.main`` adds 70 for an internal error and 130 for an interrupt)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from edi.encode import json_default
from edi.problems import KEEP_PER_CODE, Problem, left_out

OK, PROBLEMS, USAGE = 0, 1, 2

# Piped output (a file, `less`, a test) is not wrapped at 80 columns: tables stay one row per line.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
# No markup in what is printed: file names, messages and values print as they are (a "[/x]" in a claim's
# frequency or a file name once crashed rich, and "[submitter]" vanished from a configuration error). Styled
# text is built with ``marked()``, its values escaped with ``esc()``.
#: Control characters a value read from a file may hold (C0 but tab and line feed, DEL, C1): printed as they are,
#: an ESC sequence in a payer's name or a trace number would steer the terminal (clear it, retitle it, fake
#: lines). Everything printed for a person goes through ``clean``; JSON output escapes them by itself.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)}
_ONE_LINE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def clean(text: str) -> str:
    """``text`` with its control characters (but tab and line feed) shown as escapes (``\\x1b``)."""
    return text.translate(_CONTROL)


class _Console(Console):
    """rich's console, with the control characters of every string it renders shown as escapes."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(clean(text), **kwargs)


console = _Console(highlight=False, soft_wrap=True, width=_WIDTH, markup=False)
err_console = _Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

#: A value put inside ``marked()`` text, its brackets escaped.
esc = escape


def marked(markup: str) -> Text:
    """Text styled with rich markup (the values inside escaped with ``esc``; control characters shown as
    escapes)."""
    return Text.from_markup(clean(markup))


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, default=json_default, ensure_ascii=False)


def print_json(value: Any) -> None:
    sys.stdout.write(dumps(value) + "\n")


class GatheredOutput:
    """Bytes for standard output, gathered into writes of ``size`` bytes. Python's own buffer is 8 KB, and none at
    all under PYTHONUNBUFFERED (common in containers), where every claim of ``--json`` was a system call of its
    own. Whoever writes calls ``flush()`` at the end."""

    def __init__(self, out, size: int = 1 << 16) -> None:
        self.out = out
        self.size = size
        self.parts: list[bytes] = []
        self.pending = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.pending += len(data)
        if self.pending >= self.size:
            self.out.write(b"".join(self.parts))
            self.parts.clear()
            self.pending = 0

    def flush(self) -> None:
        if self.parts:
            self.out.write(b"".join(self.parts))
            self.parts.clear()
            self.pending = 0
        self.out.flush()


def binary_stdout() -> GatheredOutput:
    """Standard output for bytes (what was printed as text before is flushed first), gathered into large writes:
    call its ``flush()`` when done."""
    sys.stdout.flush()
    return GatheredOutput(sys.stdout.buffer)


def fail(message: str, code: int = USAGE) -> NoReturn:
    """Say what went wrong on stderr, in one line, and exit (never a traceback)."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def unreadable(path: str, *, stdin: bool = True) -> str | None:
    """Why ``path`` cannot be read as an input file (``"is a directory"``, ``"no such file"``), or None.
    ``-`` (standard input) is fine where ``stdin`` is."""
    if stdin and path == "-":
        return None
    p = Path(path)
    if p.is_dir():
        return "is a directory"
    if not p.exists():
        return "no such file"
    if p.is_socket():
        return "is a socket, not a file"
    if not os.access(p, os.R_OK):  # (not opened to find out: a named pipe would lose its writer)
        return "cannot be read (permission denied)"
    return None


def check_readable(paths: str | Iterable[str], *, stdin: bool = True) -> None:
    """``fail()`` (usage error) on the first of ``paths`` that cannot be read."""
    for path in [paths] if isinstance(paths, str) else paths:
        why = unreadable(path, stdin=stdin)
        if why:
            fail(f"{path}: {why}")


#: How many problems of one code a person is shown (the rest are counted on one line).
SHOWN_PER_CODE = 50


def problem_table(problems: Iterable[Problem], title: str | None = None) -> Table:
    """Problems for a person: segment number, tag, code and message (interchange and transaction control
    numbers are in --json)."""
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
    table.add_column("segment", justify="right", no_wrap=True)
    table.add_column("tag", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("message", overflow="fold")
    shown: dict[str, int] = {}
    more = left_out(problems)
    for p in problems:
        n = shown.get(p.code, 0)
        shown[p.code] = n + 1
        if n >= SHOWN_PER_CODE:
            more[p.code] = more.get(p.code, 0) + 1
            continue
        w = p.where
        style = "red" if p.is_error else "yellow"
        where = f"{w.record}: " if w.record else ""
        table.add_row("" if w.segment is None else str(w.segment), w.tag or "", Text(p.code, style=style),
                      where + p.message)
    for code, n in more.items():
        table.add_row("", "", Text(code, style="dim"), f"... and {n:,} more {code} (--json lists up to "
                      f"{KEEP_PER_CODE:,} of each code)")
    return table


def quiet_stdout() -> None:
    """Standard output was closed by the reader (a pipe into head): send the rest to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@contextmanager
def streamed(file: str) -> Iterator[None]:
    """Around a command that prints what it reads from ``file`` as it goes: a reader that leaves (`| head`) ends
    the command quietly (exit 0: nothing is wrong); a file that fails while it is read is one line (exit 2)."""
    try:
        yield
    except BrokenPipeError:
        quiet_stdout()
        raise typer.Exit(OK) from None
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")


def exit_code(problems: Iterable[Problem]) -> int:
    return PROBLEMS if any(p.is_error for p in problems) else OK


#: The command that reads each kind of X12 file (``edi.x12.sniff`` kinds), for refusals of the wrong file.
KIND_COMMANDS = {"837": "edi claims record", "835": "edi remit show", "ack": "edi acks show"}


def require_kind(path: str, kind: str) -> None:
    """Exit 1 with one line when ``path`` plainly holds another transaction than ``kind`` (from its first
    segments); nothing when it holds ``kind``, no X12 at all (the reader says so), or is standard input."""
    if path == "-":
        return
    from edi.x12.sniff import KIND_WORDS, sniff

    try:
        what = sniff(path).kind
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
    if what is None or what == kind:
        return
    hint = f" ({KIND_COMMANDS[what]} reads it)" if what in KIND_COMMANDS else ""
    fail(f"{path} holds {KIND_WORDS[what]}, not {KIND_WORDS[kind]}{hint}", PROBLEMS)


def printable(text: str) -> str:
    """``text`` on one line: like ``clean``, and tab and line feed shown as escapes too, so that a name read from a
    server cannot fake a line of its own."""
    return text.translate(_ONE_LINE)


def writable_folder(option: str, path: str, *, mode: int = 0o777) -> Path:
    """``path`` as a folder this process can write files into, made (with ``mode``) if it does not exist yet; a
    usage error naming ``option`` when it is a file, cannot be made or cannot be written to."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        fail(f"{option} {path}: is not a folder")
    try:
        target.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"{option} {path}: cannot be made ({exc.strerror or exc})")
    if not os.access(target, os.W_OK | os.X_OK):
        fail(f"{option} {path}: cannot be written to")
    return target


@contextmanager
def folder_for_output(option: str, path: str, *, mode: int = 0o777) -> Iterator[Path]:
    """``writable_folder`` around the work that writes into it: a folder made here (and the parents made for it) is
    removed again when the work leaves it empty (it failed, or had nothing to write), so a command that fails
    leaves nothing behind."""
    if not path.strip():  # not the current folder by accident
        fail(f"{option}: give a folder")
    target = Path(path)
    made = [p for p in (target, *target.parents) if not p.exists()]  # innermost first
    folder = writable_folder(option, path, mode=mode)
    try:
        yield folder
    finally:
        for p in made:
            try:
                p.rmdir()  # only an empty folder goes
            except OSError:
                break
