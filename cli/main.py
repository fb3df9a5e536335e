"""The `edi` command line: one Typer app, a sub-app per noun. Commands parse, call the library, render.

Whatever a command meets, it ends with one of the documented exit codes, never a raw traceback: 0 ok, 1 problems
in the data, 2 usage (Typer's own usage errors included), 70 an internal error (a bug in edi: one line on stderr
names an error id and a file holding the traceback), 130 interrupted (Ctrl-C). A reader that leaves early
(`edi remit show big.835 | head`) ends the command quietly."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from cli import acks, claims, exchange, ledger, remit, reports, simulate, x12
from cli.output import quiet_stdout

#: The exit code of an internal error (sysexits' EX_SOFTWARE), and of a command interrupted by Ctrl-C (128 + SIGINT).
INTERNAL, INTERRUPTED = 70, 130

# What may be a value in an exception's message: a quoted string ('SMITH', "273.865"), a word holding a digit (a
# member id, an amount) or a word in capitals (X12 values are: names, ids, codes). Masked in the traceback file,
# which a user is asked to send us; the prose around them stays (EDI_DEBUG=1 prints the message as it is).
_VALUE = re.compile(r"(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)\"[^\"\n]*\"(?!\w)|\b\w*\d\w*\b|\b[A-Z][A-Z_]+\b")
#: The first line of an exception in a traceback: its (dotted) type, then its message.
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")
#: Lines of a formatted traceback that are the format's own.
_CHAIN = ("Traceback (most recent call last):", "During handling of the above exception",
          "The above exception was the direct cause")


def _masked(message: str) -> str:
    return _VALUE.sub("…", message)


def crash_folder() -> Path:
    """Where traceback files go: the user's cache folder (``$XDG_CACHE_HOME/edi``, else ``~/.cache/edi``), or a
    folder of the user's own under the temporary folder when that cannot be made."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(base) / "edi", Path(tempfile.gettempdir()) / f"edi-{os.getuid()}"):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    raise OSError("neither the cache folder nor the temporary folder can be written")


def _write_traceback(error_id: str, command: str, exc: BaseException) -> Path:
    """The traceback of ``exc`` in a new file (0600): frames and exception types as they are, the values in the
    messages masked, no local variables (they hold patient data)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        edi_version = version("edi")
    except PackageNotFoundError:
        edi_version = "(not installed)"
    lines = [f"edi internal error {error_id}", f"when: {datetime.now(UTC).isoformat(timespec='seconds')}",
             f"command: {command}", f"edi {edi_version}, Python {sys.version.split()[0]}, {sys.platform}",
             "values in the messages below are masked (…); EDI_DEBUG=1 prints them on the terminal", ""]
    body = "".join(traceback.TracebackException.from_exception(exc).format()).splitlines()
    text = "\n".join(lines + [_mask_line(line) for line in body]) + "\n"
    path = crash_folder() / f"crash-{datetime.now(UTC):%Y%m%d-%H%M%S}-{error_id}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fp:
        fp.write(text)
    return path


def _mask_line(line: str) -> str:
    """A line of a formatted traceback as it may be written down: frames and source lines (indented) and the
    format's own lines as they are; an exception's message (its first line after the type, and every line after
    it) masked."""
    if not line or line.startswith((" ", "\t")) or line.startswith(_CHAIN):
        return line
    m = _EXCEPTION_LINE.match(line)
    return f"{m.group(1)}: {_masked(m.group(2))}" if m else _masked(line)


def report_crash(command: str, exc: BaseException) -> int:
    """One line on stderr for an unexpected exception (what failed, an error id, where its traceback was written),
    the traceback itself with EDI_DEBUG=1; the exit code."""
    error_id = uuid.uuid4().hex[:8]
    try:
        where = f"its traceback is in {_write_traceback(error_id, command, exc)}"
    except OSError as why:
        where = f"its traceback could not be written ({why.strerror or why})"
    if os.environ.get("EDI_DEBUG", "") not in ("", "0"):
        traceback.print_exception(exc, file=sys.stderr)
    else:
        where += "; EDI_DEBUG=1 prints it"
    sys.stderr.write(f"edi: internal error in `{command}` ({type(exc).__name__}, error id {error_id}): a bug in "
                     f"edi, please report it; {where}\n")
    return INTERNAL


def flush_quietly() -> None:
    """Flush standard output; when its reader has left (a pipe into head), drop what is left, without a word."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
    except (OSError, ValueError):  # closed already
        pass


def _stdout_to_devnull() -> None:
    """What is still written to standard output goes nowhere (its reader left); nothing when it is no file."""
    with contextlib.suppress(OSError, ValueError):  # not a file (a test's capture)
        quiet_stdout()


class EdiGroup(TyperGroup):
    """The top-level group: runs the command and turns what escapes it into one line and an exit code. Typer's
    usage errors (exit 2) and a command's own exit pass through."""

    def invoke(self, ctx):  # noqa: ANN001 - click's signature
        try:
            try:
                return super().invoke(ctx)
            finally:
                ledger.close_opened()
        except (typer.Exit, typer.Abort, TyperException):  # a command's own exit; Typer's usage errors (exit 2)
            raise
        except KeyboardInterrupt:
            flush_quietly()
            sys.stderr.write("\nedi: interrupted\n")
            raise typer.Exit(INTERRUPTED) from None
        except BrokenPipeError:
            _stdout_to_devnull()
            raise typer.Exit(0) from None
        except SystemExit as exc:  # rich's console meets a closed pipe with SystemExit(1), stdout sent to /dev/null
            if isinstance(exc.__context__, BrokenPipeError):
                raise typer.Exit(0) from None
            raise
        except Exception as exc:
            raise typer.Exit(report_crash(_command_path(exc, ctx), exc)) from None


def _command_path(exc: BaseException, ctx) -> str:  # noqa: ANN001 - a click context
    """``edi remit show``: the command that failed, without its arguments (they may name a patient's file): the
    innermost command context the exception passed through."""
    path = ctx.command_path or "edi"
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        inner = frame.f_locals.get("ctx")
        if isinstance(inner, type(ctx)) and inner.command_path:
            path = inner.command_path
    return path


app = typer.Typer(
    cls=EdiGroup,  # the top-level handler: every command's unexpected exception, Ctrl-C and a closed pipe
    name="edi",
    help="Healthcare claim interchange: build 837 claims, read 835 remittances and acknowledgements, "
    "and reconcile payments against bills in a ledger.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold patient data
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"edi {version('edi')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("edi (not installed)")
        raise typer.Exit(0)


@app.callback()
def _each_command(ctx: typer.Context, _v: bool = typer.Option(False, "--version", callback=_version,
                                                                is_eager=True, help="Print edi's version.")) -> None:
    ctx.call_on_close(ledger.close_opened)


app.add_typer(x12.app, name="x12")
app.add_typer(remit.app, name="remit")
claims.app.command("submit")(exchange.submit)
app.add_typer(claims.app, name="claims")
app.add_typer(acks.app, name="acks")
app.add_typer(exchange.inbox_app, name="inbox")
app.add_typer(exchange.transport_app, name="transport")
app.add_typer(ledger.app, name="ledger")
app.add_typer(simulate.app, name="simulate")
app.command("reconcile")(ledger.reconcile)
app.command("init")(claims.init)
app.command("demo")(claims.demo)
# what a billing office looks at (cli/reports.py): aging, denials, variance, deposits; the HTML report
ledger.app.command("aging")(reports.aging)
ledger.app.command("denials")(reports.denials)
ledger.app.command("variance")(reports.variance)
ledger.app.add_typer(reports.deposits_app, name="deposits")
app.add_typer(reports.report_app, name="report")


def main() -> None:  # console script entry point
    try:
        app()
    finally:  # what is still buffered for a reader that left (`| head`) is dropped, without a word
        flush_quietly()


if __name__ == "__main__":  # pragma: no cover
    main()
