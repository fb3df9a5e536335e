"""Every option of ``edi`` that takes a value, given the values people mistype.

The options are walked from the Typer app (``clitools.commands``): an option added to any command is tried here
without a word. Each is given NaN, sNaN, a negative number, a huge one, 1E+999999, fractional cents, an empty
value, blanks, an underscored number, a path that is a file, a folder that cannot be made and a date that does
not exist, in an ordinary run of its command. Whatever the value, the run ends by itself with a documented exit
code and no traceback, and a run that fails leaves the ledger and the workspace as they were. Where the option
says what it takes (a number in a range, an amount, a date, one of some words, a file to read, a place to write),
a value it cannot take is a usage error (exit 2) before anything is done.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clitools import (
    SAMPLES,
    Param,
    assert_no_traceback,
    commands,
    dump,
    invocation,
    listing,
    run,
    seed_ledger,
)

COMMANDS = commands()
BY_NAME = {c.name: c for c in COMMANDS}

#: The malformed values; FILE and UNMAKEABLE are placed in the workspace by the test.
VALUES = {
    "nan": "NaN", "snan": "sNaN", "negative": "-1", "huge": "1" + "0" * 30, "exponent": "1E+999999",
    "fraction_of_a_cent": "0.001", "empty": "", "blank": "  ", "underscored": "1_000",
    "a_file": "FILE", "unmakeable_folder": "UNMAKEABLE", "bad_date": "2025-02-30",
}

#: What an option takes, by its name (the command's name first, where one option name means two things).
WHAT = {
    "--amount": "amount", "--db": "database", "--config": "input", "--descriptions": "input",
    "--fee-schedule": "input", "--format": "choice", "--status": "choice", "--validate": "choice", "--by": "choice",
    "--basis": "choice", "--as-of": "date", "--since": "date", "--path": "new_file", "--dir": "folder",
    "--archive": "folder", "--to": "table_file",
    "claims build --out": "folder", "remit export --out": "folder", "simulate payer --out": "folder",
    "x12 ack --out": "new_file", "report html --out": "new_file",
}

#: Failures found here in code other engineers own, reported to the lead: (command option, value) -> what.
#: Marked xfail(strict): once fixed, the case passes, the run fails, and its line here must go.
KNOWN: dict[tuple[str, str], str] = {}


def what(command: str, p: Param) -> str:
    """What option ``p`` of ``command`` takes: int, amount, database, input, new_file, folder, table_file (a file
    named for its table: claims.csv), choice, date or text (anything: a name, a reason, a column)."""
    if p.annotation is int:
        return "int"
    return WHAT.get(f"{command} {p.opts[0]}") or WHAT.get(p.opts[0]) or "text"


def refused(kind: str, p: Param, name: str, value: str) -> bool | None:
    """Whether ``value`` must be a usage error for an option of ``kind``; None when either way is right."""
    if kind == "int":
        try:
            number = int(value)
        except ValueError:
            return True
        return (p.min is not None and number < p.min) or (p.max is not None and number > p.max)
    if kind in ("amount", "database", "input", "choice", "date", "table_file"):
        return True
    if kind in ("folder", "new_file"):
        return name in ("a_file", "unmakeable_folder", "empty", "blank")
    return None


def cases():
    out = []
    for c in COMMANDS:
        for p in c.options:
            if p.is_flag:
                continue
            for name in VALUES:
                label = f"{c.name} {p.opts[0]}"
                why = KNOWN.get((label, name))
                marks = [pytest.mark.xfail(strict=True, reason=f"reported to the lead: {why}")] if why else []
                out.append(pytest.param(c.name, p.opts[0], name, marks=marks, id=f"{label}={name}"))
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("template") / "edi.db"
    seed_ledger(db)
    return db


@pytest.fixture
def workspace(tmp_path, template, monkeypatch) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copyfile(template, ws / "edi.db")
    shutil.copyfile(SAMPLES / "edi.toml", ws / "edi.toml")
    (ws / "a-file.txt").write_text("not what any option takes\n", encoding="utf-8")
    monkeypatch.chdir(ws)
    monkeypatch.setenv("EDI_DATABASE_URL", f"sqlite:///{ws / 'edi.db'}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # `edi demo` without --dir makes its folder there
    (tmp_path / "tmp").mkdir()
    return ws


_ORDINARY: dict[str, int] = {}


def ordinary_exit(command: str, workspace: Path) -> int:
    """The exit code of the command's ordinary run (in a copy of the workspace, once per command)."""
    if command not in _ORDINARY:
        copy = workspace.parent / "ordinary"
        shutil.copytree(workspace, copy)
        import os

        here = os.getcwd()
        os.chdir(copy)
        try:
            _ORDINARY[command] = run(invocation(BY_NAME[command]),
                                     env={"EDI_DATABASE_URL": f"sqlite:///{copy / 'edi.db'}"}).exit_code
        finally:
            os.chdir(here)
            shutil.rmtree(copy)
    return _ORDINARY[command]


def test_the_options_are_found():
    """The walk sees options of every kind (a check of the discovery itself)."""
    found = {what(c.name, p) for c in COMMANDS for p in c.options if not p.is_flag}
    assert {"int", "amount", "database", "input", "folder", "new_file", "choice"} <= found


@pytest.mark.parametrize(("command", "option", "name"), cases())
def test_every_option_with_every_malformed_value(command, option, name, workspace):
    cmd = BY_NAME[command]
    p = cmd.option(option)
    value = {"FILE": str(workspace / "a-file.txt"), "UNMAKEABLE": "/proc/edi/cannot/be/made"}.get(VALUES[name],
                                                                                                  VALUES[name])
    args = invocation(cmd)
    while option in args:  # the option in its ordinary value (a required one) gives way to the malformed one
        i = args.index(option)
        del args[i:i + 2]
    args += [option, value]
    ledger_before, files_before = dump(workspace / "edi.db"), listing(workspace)

    r = run(args)

    assert_no_traceback(r)
    must = refused(what(command, p), p, name, value)
    if must is False and ordinary_exit(command, workspace) == 2:
        must = None  # the ordinary run is refused for another reason (no transport in the sample configuration)
    if must is not None:
        assert (r.exit_code == 2) == must, (r.args, r.exit_code, r.stdout[-500:], r.stderr[-1500:])
    if r.exit_code == 2:
        said = r.stderr.strip().splitlines()
        assert said and len(said) <= 15, r.stderr  # one line, or Typer's usage box
    if r.exit_code != 0:
        assert dump(workspace / "edi.db") == ledger_before, f"edi {command} {option} {value!r} changed the ledger"
    if r.exit_code == 2:
        assert listing(workspace) == files_before, f"edi {command} {option} {value!r} left files"
