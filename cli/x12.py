"""`edi x12`: look at any X12 file, validate it, and write the acknowledgement a receiver would send."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import progress
from cli.output import (
    PROBLEMS,
    USAGE,
    check_readable,
    clean,
    console,
    dumps,
    err_console,
    esc,
    exit_code,
    fail,
    marked,
    print_json,
    problem_table,
    quiet_stdout,
    streamed,
    unreadable,
)
from edi.validate import ValidationReport, validate_path
from edi.x12.io import read_segments
from edi.x12.tokenizer import Tokenizer

if TYPE_CHECKING:
    from edi.acks.writer import AckResult

app = typer.Typer(help="Read any X12 file: view its segments, validate its syntax and envelopes, acknowledge it.",
                  no_args_is_help=True)

_LEVEL_OPEN = {"ISA": 0, "GS": 1, "ST": 2}
_LEVEL_CLOSE = {"SE": 2, "GE": 1, "IEA": 0}


@app.command()
def view(
    file: Annotated[str, typer.Argument(help="An X12 file, or - for standard input.")],
    json_: Annotated[bool, typer.Option("--json", help="Emit a JSON array of segments with their positions.")] = False,
) -> None:
    """Show one segment per line, indented by envelope level, with segment numbers."""
    check_readable(file)
    tok = Tokenizer(file=file)
    with streamed(file):  # `edi x12 view big.835 | head`: the reader left, nothing is wrong
        count = _view_json(file, tok) if json_ else _view_text(file, tok)
    if tok.problems:
        err_console.print(problem_table(tok.problems, title=f"{file}: syntax problems"))
    if count == 0:  # an empty file (or only blanks) is not an X12 file that happens to be short
        err_console.print(f"{file}: no X12 segments")
        raise typer.Exit(PROBLEMS)
    raise typer.Exit(exit_code(tok.problems))


def _view_text(file: str, tok: Tokenizer) -> int:
    """Prints each segment; how many there were."""
    out = console.file
    level = 0
    count = 0
    for seg in read_segments(file, tok):
        count += 1
        tag = seg.tag
        if tag in _LEVEL_OPEN:
            level = _LEVEL_OPEN[tag]
            indent = level
            level += 1
        elif tag in _LEVEL_CLOSE:
            level = _LEVEL_CLOSE[tag]
            indent = level
        else:
            indent = level
        out.write(f"{seg.index:>7}  {'  ' * indent}{clean(seg.text())}\n")
    return count


def _view_json(file: str, tok: Tokenizer) -> int:
    """Prints the segments as a JSON array; how many there were."""
    out = console.file
    out.write("[")
    count = 0
    for seg in read_segments(file, tok):
        item = {"segment": seg.index, "offset": seg.offset, "tag": seg.tag, "elements": seg.elements[1:]}
        out.write(("\n  " if count == 0 else ",\n  ") + dumps(item, indent=None))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


@app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="X12 files (- for standard input).")],
    deep: Annotated[bool, typer.Option("--deep", help="Also run pyx12's implementation-guide (TR3) "
                                       "validation: thorough but slow (about 0.15 MB/s).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the reports as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line per file.")] = False,
) -> None:
    """Check syntax, envelopes (counts, control numbers, trailers) and structure; exit 1 on any error."""
    reports: list[ValidationReport] = []
    any_unreadable = False
    for file in files:
        why = unreadable(file)
        if why:
            err_console.print(marked(f"[bold red]error:[/] {esc(file)}: {esc(why)}"))
            any_unreadable = True
            continue
        try:
            report = _validate_one(file, deep)
        except OSError as exc:
            err_console.print(marked(f"[bold red]error:[/] {esc(file)}: {esc(str(exc.strerror or exc))}"))
            any_unreadable = True
            continue
        reports.append(report)
        if not json_:
            _render(report, quiet)
    if json_:
        print_json({"ok": all(r.ok for r in reports) and not any_unreadable,
                    "files": [r.as_dict() for r in reports]})
    if any_unreadable:
        raise typer.Exit(USAGE)
    raise typer.Exit(exit_code(p for r in reports for p in r.problems))


def _validate_one(file: str, deep: bool) -> ValidationReport:
    """The fast checks report bytes read; pyx12's (``deep``) segments checked."""
    if not deep:
        with progress.bar(f"validating {Path(file).name}", unit="bytes") as bar:
            return validate_path(file, progress=bar)
    with progress.bar(f"pyx12 {Path(file).name}") as bar:
        return validate_path(file, deep=True, progress=bar)


def _deep_note(report: ValidationReport) -> str:
    """Whether pyx12's validation ran: a file it has no map for (or cannot read) is not "ok (deep)"."""
    if not report.deep:
        return ""
    if not report.deep_ran:
        return " (deep validation could not run: the fast checks only)"
    return " (deep)"


def _render(report: ValidationReport, quiet: bool) -> None:
    kinds = ", ".join(sorted({f"{t.st01} {t.version}".strip() for t in report.transactions})) or "no transaction sets"
    verdict = "[green]ok[/]" if report.ok else "[red]invalid[/]"
    console.print(marked(f"{esc(report.file)}: {verdict} - {report.segments} segments, {len(report.transactions)} "
                         f"transaction sets ({esc(kinds)}); {report.errors} errors, {report.warnings} warnings"
                         + _deep_note(report)))
    if report.problems and not quiet:
        console.print(problem_table(report.problems))


@app.command()
def ack(
    file: Annotated[str, typer.Argument(help="The X12 file to acknowledge, or - for standard input.")],
    out: Annotated[str | None, typer.Option("--out", help="Write the acknowledgement to this new file (never "
                                            "replaced) instead of standard output.")] = None,
    deep: Annotated[bool, typer.Option("--deep", help="Also run pyx12's implementation-guide (TR3) checks: "
                                       "thorough but slow (about 0.15 MB/s).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print what was found as JSON on stdout (with the "
                                        "acknowledgement as \"ack\" unless --out is given).")] = False,
    control_number: Annotated[int, typer.Option("--control-number", min=1, max=999_999_999,
                                                help="ISA13 and GS06 of the acknowledgement.")] = 1,
) -> None:
    """Write the 999 (005010X231A1), and a TA1 when the envelope is bad or ISA14 asks, that a receiver would
    send for FILE; exit 1 when anything in it is rejected."""
    from edi.acks.writer import AckError  # imported here: the writer's code tables cost other commands' start-up

    check_readable(file)
    if out is not None and not out.strip():
        fail("--out: give the name of the new file to write")
    if out is not None and os.path.lexists(out):
        fail(f"{out}: already exists; edi never replaces a file (choose another --out)")
    try:
        result = _acknowledge_one(file, deep, control_number)
    except AckError as exc:
        fail(str(exc), PROBLEMS)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    if out is not None and result.data:
        _write_new(out, result.data)
    if not json_ and out is None and result.data:  # the acknowledgement first, its summary after it
        try:
            sys.stdout.buffer.write(result.data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            quiet_stdout()
    for line in result.summary():
        err_console.print(line)
    for note in result.notes:
        err_console.print(f"note: {note.where.segment or '-'}: {note.code}: {note.message}")
    if not result.data:
        err_console.print(f"{file}: nothing to acknowledge")
    if json_:
        doc = result.as_dict()
        doc["out"] = out
        doc["ack"] = None if out is not None else result.data.decode("utf-8", "replace")
        print_json(doc)
    raise typer.Exit(0 if result.accepted else PROBLEMS)


def _acknowledge_one(file: str, deep: bool, control_number: int) -> AckResult:
    from edi.acks.writer import acknowledge

    if not deep:
        return acknowledge(file, control_number=control_number)
    with progress.bar(f"pyx12 {Path(file).name}") as bar:
        return acknowledge(file, deep=True, control_number=control_number, progress=bar)


def _write_new(out: str, data: bytes) -> None:
    """Create ``out`` (mode 0600: an acknowledgement names claims) and write ``data``; never replace a file."""
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{out}: already exists; edi never replaces a file (choose another --out)")
    except OSError as exc:
        fail(f"{out}: {exc.strerror or exc}")
    with os.fdopen(fd, "wb") as fp:
        fp.write(data)
