"""What the whole-app command-line tests share: the commands discovered from the Typer app (a command added to
``cli.main.app`` is covered without a word here), a workspace with a ledger that holds data, a dump of that
ledger, and the check that a run ended the way the README promises (a documented exit code, no traceback)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

#: Exit codes the README documents: ok, problems in the data, usage or unreadable input, internal error (which
#: no test may see), interrupted.
DOCUMENTED = {0, 1, 2}

#: Arguments that are not files, with a value that names something the workspace's ledger or configuration holds.
#: Any other argument is taken for a file: a new command's argument is tried with every wrong kind of file until it
#: is named here.
NOT_FILES = {"pcn": "PCN0000001", "name": "synthhub"}

#: Options every run must give (required ones), with an ordinary value; a new required option must be added here
#: (``invocation`` says so).
REQUIRED_OPTIONS = {"--reason": "a test write-off", "--fee-schedule": str(SAMPLES / "fee_schedule.csv")}

#: Options a command needs to do anything, though Typer cannot say so (one of two is required), per command.
NEEDS = {"remit export": ["--out", "exported"]}

#: The file an ordinary run gives a command whose file is not X12 (below samples/).
FILE_FOR = {"ledger deposits import": "bank-deposits.csv"}

#: A sample of each kind of file (what a command that takes that kind is given when another option is tried).
SAMPLE_OF = {"835": "835/synthetic-payment.835", "837": "837/synthetic-claims.837", "999": "acks/synthetic-claims.999",
             "277ca": "acks/synthetic-claims.277", "encounters": "encounters/encounters.json"}


@dataclass
class Param:
    name: str
    opts: list[str]
    kind: str  # "argument" or "option"
    annotation: object
    is_flag: bool
    multiple: bool
    required: bool
    default: object
    help: str
    min: object = None
    max: object = None


@dataclass
class Command:
    path: tuple[str, ...]
    params: list[Param] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def arguments(self) -> list[Param]:
        return [p for p in self.params if p.kind == "argument"]

    @property
    def options(self) -> list[Param]:
        return [p for p in self.params if p.kind == "option"]

    @property
    def file_argument(self) -> Param | None:
        return next((p for p in self.arguments if p.name not in NOT_FILES), None)

    def option(self, opt: str) -> Param | None:
        return next((p for p in self.options if opt in p.opts), None)


def _annotation(p) -> object:
    """The Python type a parameter takes: ``int`` for whole numbers (typer 0.29 keeps the annotation; earlier
    versions say it by the click type, ``IntRange`` or ``INT``), else ``str``."""
    if hasattr(p, "type_descriptor"):
        return p.type_descriptor.annotation
    return int if type(getattr(p, "type", None)).__name__ in ("IntRange", "IntParamType") else str


def _bound(p, name: str) -> int | None:
    """An integer option's ``min`` or ``max``: on the parameter (typer 0.29) or on its ``IntRange`` type."""
    if hasattr(p, name):
        return getattr(p, name)
    return getattr(getattr(p, "type", None), name, None)


def commands() -> list[Command]:
    """Every command of ``edi``, walked from the Typer app's groups (``edi --help`` and each group's help list
    the same), with its parameters."""
    found: list[Command] = []

    def walk(cmd, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
            return
        params = []
        for p in cmd.params:
            if p.param_type_name not in ("argument", "option"):
                continue
            params.append(Param(
                name=p.name, opts=list(getattr(p, "opts", [])), kind=p.param_type_name, annotation=_annotation(p),
                is_flag=bool(getattr(p, "is_flag", False)), multiple=bool(getattr(p, "multiple", False)),
                required=bool(p.required), default=p.default, help=getattr(p, "help", None) or "",
                min=_bound(p, "min"), max=_bound(p, "max")))
        found.append(Command(path, params))

    walk(get_command(app), ())
    return found


# -- the kinds of file a user gives by mistake -------------------------------------------------------------------

KINDS = ("835", "837", "999", "277ca", "empty", "binary", "folder", "missing", "text")


def make_kind(kind: str, where: Path) -> str:
    """A file (or not) of ``kind`` in ``where``; its path."""
    target = where / f"given-{kind}"
    if kind in SAMPLE_OF:
        shutil.copyfile(SAMPLES / SAMPLE_OF[kind], target)
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "binary":  # a PNG's signature, then bytes of every value, NUL included
        target.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    elif kind == "folder":
        target.mkdir()
    elif kind == "text":
        target.write_text("Dear billing office,\nplease find our remittance attached.\n~*:^\n", encoding="utf-8")
    return str(target)


def kinds_taken(param: Param) -> set[str]:
    """The kinds of X12 file an argument takes, from its help text (``An 835 file``, ``TA1, 999 and 277CA
    files``, ``X12 files``: every kind)."""
    text = param.help
    if re.search(r"\bX12\b", text):
        return {"835", "837", "999", "277ca"}
    taken = {k for k, pattern in (("835", r"\b835\b"), ("837", r"\b837\b"), ("999", r"\b999\b"),
                                  ("277ca", r"\b277(CA)?\b")) if re.search(pattern, text)}
    return taken


# -- a workspace whose ledger holds data -------------------------------------------------------------------------

def seed_ledger(path: Path) -> None:
    """A ledger at ``path`` holding the sample 837's claims, its 999 and 277CA, and the sample 835."""
    from edi.ledger import Ledger

    ledger = Ledger(f"sqlite:///{path}")
    try:
        for how, sample in (("record_837", "837/synthetic-claims.837"), ("import_acks", "acks/synthetic-claims.999"),
                            ("import_acks", "acks/synthetic-claims.277"), ("import_835", "835/synthetic-payment.835")):
            result = getattr(ledger, how)(str(SAMPLES / sample))
            assert result.outcome == "imported", (sample, result.message)
    finally:
        ledger.close()


def dump(db: Path) -> list[str]:
    """Every row of every table of an SQLite ledger, as SQL text (what would be restored from it)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def listing(folder: Path) -> set[str]:
    """The files and folders below ``folder`` (the ledger's own -wal and -shm aside)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not re.search(r"\.db-(wal|shm|journal)$", p.name)}


runner = CliRunner(env={"COLUMNS": "200"})


@dataclass
class Run:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


_command = None


def run(args: list[str], **kwargs) -> Run:
    """``edi ARGS`` in this process. The click command is built from the app once (Typer builds it anew for each
    invoke, which is most of the time of a short run)."""
    global _command
    import typer.testing

    if _command is None:
        _command = get_command(app)
    real = typer.testing._get_command
    typer.testing._get_command = lambda _app: _command
    try:
        result = runner.invoke(app, args, **kwargs)
    finally:
        typer.testing._get_command = real
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return Run(args, result.exit_code, result.stdout, result.stderr, exc)


def assert_no_traceback(r: Run) -> None:
    """The run ended by itself: no exception escaped, none was reported as an internal error, and nothing on
    either stream looks like a traceback."""
    said = f"edi {' '.join(r.args)}: exit {r.exit_code}\nstdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-2000:]}"
    assert r.exception is None, f"{said}\nexception: {r.exception!r}"
    assert r.exit_code != 70 and "internal error" not in r.stderr, said
    for text in (r.stdout, r.stderr):
        assert "Traceback (most recent call last)" not in text, said
    assert r.exit_code in DOCUMENTED, said


def env_for(db: Path) -> dict[str, str]:
    return {"EDI_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200", "XDG_CACHE_HOME": str(db.parent / ".cache")}


def chdir(path: Path):
    class _Cd:
        def __enter__(self):
            self.old = os.getcwd()
            os.chdir(path)

        def __exit__(self, *exc):
            os.chdir(self.old)

    return _Cd()


def invocation(cmd: Command, file: str | None = None) -> list[str]:
    """The arguments of an ordinary run of ``cmd``: ``file`` (else a sample of the kind it takes) for its file
    argument, a known value for the others, the options it needs."""
    args = list(cmd.path)
    for p in cmd.arguments:
        if p.name in NOT_FILES:
            args.append(NOT_FILES[p.name])
        elif file is not None:
            args.append(file)
        elif cmd.name in FILE_FOR:
            args.append(str(SAMPLES / FILE_FOR[cmd.name]))
        else:
            taken = sorted(kinds_taken(p)) or ["encounters"]
            args.append(str(SAMPLES / SAMPLE_OF[taken[0]]))
    for p in cmd.options:
        if p.required:
            known = [o for o in p.opts if o in REQUIRED_OPTIONS]
            assert known, f"edi {cmd.name} requires {p.opts[0]}: add an ordinary value to clitools.REQUIRED_OPTIONS"
            args += [known[0], REQUIRED_OPTIONS[known[0]]]
    return args + NEEDS.get(cmd.name, [])
