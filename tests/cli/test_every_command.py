"""Every command of ``edi``, given every kind of file a user gives by mistake.

The commands are walked from the Typer app (``clitools.commands``): a command added to ``cli.main.app`` is tried
here without a word, its file argument with each of an 835, an 837, a 999, a 277CA, an empty file, a binary
file, a folder, a missing path and a text that is not X12 (``clitools.KINDS``). Each run must end by itself with
the exit code the README documents (2 for a path that cannot be read, 1 for a file refused for what it holds, 0
for the file the command takes), name the file it refuses, print no traceback, and leave the ledger and the
workspace as they were when it refused the file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from clitools import (
    KINDS,
    SAMPLES,
    assert_no_traceback,
    commands,
    dump,
    invocation,
    kinds_taken,
    listing,
    make_kind,
    run,
    seed_ledger,
)

COMMANDS = commands()
WITH_FILES = [c for c in COMMANDS if c.file_argument is not None]
BY_NAME = {c.name: c for c in COMMANDS}

#: Runs that end otherwise than the rule (0 for the kind a command takes, 1 for another, 2 for no file), and why.
EXIT = {
    ("claims submit", "837"): (1, "the sample 837 is addressed to a clearinghouse edi.toml does not name"),
    ("acks show", "277ca"): (1, "the sample 277CA rejects a claim"),
    ("ledger deposits import", "text"): (2, "a CSV whose header lacks the columns its options name: the options do "
                                            "not fit the file"),
}

#: Input-file options (beside the arguments), tried with every kind too.
FILE_OPTIONS = ("--config", "--descriptions")

#: Failures these tests found in code other engineers own, reported to the lead: (test, command, kind) -> what.
#: Marked xfail(strict): once fixed, the case passes, the run fails, and its line here must go.
KNOWN: dict[tuple[str, str, str], str] = {}


def cases(test: str, pairs):
    """``pytest.param``s of (command, kind), the known failures marked."""
    out = []
    for command, kind in pairs:
        why = KNOWN.get((test, command, kind))
        marks = [pytest.mark.xfail(strict=True, reason=f"reported to the lead: {why}")] if why else []
        out.append(pytest.param(command, kind, marks=marks, id=f"{command}-{kind}"))
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("template") / "edi.db"
    seed_ledger(db)
    return db


@pytest.fixture
def workspace(tmp_path, template, monkeypatch) -> Path:
    """A working folder with edi.toml and a ledger holding the samples (EDI_DATABASE_URL names it); traceback
    files of an internal error would go to a cache folder outside it."""
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copyfile(template, ws / "edi.db")
    shutil.copyfile(SAMPLES / "edi.toml", ws / "edi.toml")
    monkeypatch.chdir(ws)
    monkeypatch.setenv("EDI_DATABASE_URL", f"sqlite:///{ws / 'edi.db'}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return ws


def expected_exit(command: str, kind: str, taken: set[str]) -> int:
    if (command, kind) in EXIT:
        return EXIT[(command, kind)][0]
    if kind in ("missing", "folder"):
        return 2
    return 0 if kind in taken else 1


def test_the_commands_are_every_command_of_edi_help():
    """The walk finds what `edi --help` and each group's help list (a check of the discovery itself)."""
    names = set(BY_NAME)
    assert {"remit show", "remit import", "claims record", "claims build", "acks show", "x12 validate",
            "ledger check", "reconcile"} <= names
    top = run(["--help"])
    for group in {c.path[0] for c in COMMANDS if len(c.path) > 1}:
        assert group in top.stdout, group
        listed = run([group, "--help"]).stdout
        for c in COMMANDS:
            if c.path[0] == group and len(c.path) == 2:
                assert c.path[1] in listed, c.name
    assert {"remit show", "claims record", "acks import", "x12 view"} <= {c.name for c in WITH_FILES}
    assert "ledger claim" not in {c.name for c in WITH_FILES}  # PCN is not a file


@pytest.mark.parametrize(("command", "kind"), cases("file", [(c.name, k) for c in WITH_FILES for k in KINDS]))
def test_every_command_with_every_kind_of_file(command, kind, workspace):
    cmd = BY_NAME[command]
    given = make_kind(kind, workspace)
    ledger_before, files_before = dump(workspace / "edi.db"), listing(workspace)
    taken = kinds_taken(cmd.file_argument)

    r = run(invocation(cmd, given))

    assert_no_traceback(r)
    assert r.exit_code == expected_exit(command, kind, taken), (r.args, r.exit_code, r.stdout, r.stderr)
    if kind not in taken:  # refused: says which file, and changes nothing
        assert Path(given).name in r.stdout + r.stderr, (r.args, r.stdout, r.stderr)
        assert dump(workspace / "edi.db") == ledger_before, f"edi {command} changed the ledger given {kind}"
        assert listing(workspace) == files_before, f"edi {command} left files given {kind}"


@pytest.mark.parametrize(("command", "kind"), cases("json", [(c.name, k) for c in WITH_FILES if c.option("--json")
                                                             for k in KINDS]))
def test_json_output_is_json_whatever_the_file(command, kind, workspace):
    """With --json, standard output holds one JSON document, or nothing at all when the command refused to start
    (the reason is on stderr): never half a document, never a table."""
    cmd = BY_NAME[command]
    given = make_kind(kind, workspace)
    r = run([*invocation(cmd, given), "--json"])
    assert_no_traceback(r)
    assert r.exit_code == expected_exit(command, kind, kinds_taken(cmd.file_argument)), (r.args, r.stderr)
    if r.stdout.strip():
        json.loads(r.stdout)
    else:
        assert r.exit_code != 0 and r.stderr.strip(), (r.args, r.stderr)


STDIN = [c for c in WITH_FILES if "- for standard input" in c.file_argument.help
         or "(- for standard input)" in c.file_argument.help]
STDIN_KINDS = [k for k in KINDS if k not in ("folder", "missing")]


@pytest.mark.parametrize(("command", "kind"), cases("stdin", [(c.name, k) for c in STDIN for k in STDIN_KINDS]))
def test_standard_input_with_every_kind_of_content(command, kind, workspace):
    """``-`` reads standard input: the same content gets the same answer as in a file (a pipe cannot be sniffed
    twice, so the refusal of the wrong transaction has to come from reading it)."""
    cmd = BY_NAME[command]
    given = Path(make_kind(kind, workspace))
    ledger_before, files_before = dump(workspace / "edi.db"), listing(workspace)
    r = run(invocation(cmd, "-"), input=given.read_bytes())
    assert_no_traceback(r)
    assert r.exit_code == expected_exit(command, kind, kinds_taken(cmd.file_argument)), (r.args, kind, r.exit_code,
                                                                                          r.stdout, r.stderr)
    assert dump(workspace / "edi.db") == ledger_before
    assert listing(workspace) == files_before


@pytest.mark.parametrize(("command", "kind"), cases("option", [(f"{c.name} {o}", k) for c in COMMANDS
                                                               for o in FILE_OPTIONS if c.option(o) for k in KINDS]))
def test_every_input_file_option_with_every_kind_of_file(command, kind, workspace):
    """--config and --descriptions name files the command reads: anything but such a file is a usage error
    (exit 2) naming it, before anything is written. An empty --descriptions file is no descriptions."""
    name, option = command.rsplit(" ", 1)
    cmd = BY_NAME[name]
    given = make_kind(kind, workspace)
    ledger_before, files_before = dump(workspace / "edi.db"), listing(workspace)
    r = run([*invocation(cmd), option, given])
    assert_no_traceback(r)
    if option == "--descriptions" and kind == "empty":
        assert r.exit_code in (0, 1), (r.args, r.stderr)
        return
    assert r.exit_code == 2, (r.args, r.exit_code, r.stdout, r.stderr)
    first = r.stderr.strip().splitlines()[0]
    assert first.startswith("error:") and Path(given).name in first, r.stderr
    assert dump(workspace / "edi.db") == ledger_before
    assert listing(workspace) == files_before, f"edi {command} {kind} left files"


@pytest.mark.parametrize(("command", "kind"), cases("db", [(c.name, k) for c in COMMANDS if c.option("--db")
                                                           for k in KINDS]))
def test_every_ledger_option_with_every_kind_of_file(command, kind, workspace):
    """--db sqlite:///FILE with a file that is not a ledger: a usage error (exit 2) in one line; a path where nothing
    is (or an empty file, which SQLite takes for an empty database) is a new ledger only for the commands that write
    a ledger's first rows, and they say so. The workspace's own ledger is never touched, nor the file given."""
    cmd = BY_NAME[command]
    given = make_kind(kind, workspace)
    ledger_before = dump(workspace / "edi.db")
    given_before = Path(given).read_bytes() if Path(given).is_file() else None
    r = run([*invocation(cmd), "--db", f"sqlite:///{given}"])
    assert_no_traceback(r)
    if kind in ("missing", "empty"):
        if r.exit_code == 2:
            assert Path(given).name in r.stderr, r.stderr
        else:
            assert f"a new ledger at {given}" in r.stderr, (r.args, r.exit_code, r.stderr)
    else:
        assert r.exit_code == 2, (r.args, r.exit_code, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert dump(workspace / "edi.db") == ledger_before
    if given_before:
        assert Path(given).read_bytes() == given_before


def test_a_file_that_cannot_be_read_is_a_usage_error(workspace):
    """A file without read permission: exit 2 naming it, for every command that takes a file (root reads any
    file, so this runs only as another user)."""
    if os.geteuid() == 0:
        pytest.skip("root reads every file: permissions cannot be tried")
    locked = workspace / "locked.835"
    shutil.copyfile(SAMPLES / "835" / "synthetic-payment.835", locked)
    locked.chmod(0)
    for cmd in WITH_FILES:
        r = run(invocation(cmd, str(locked)))
        assert_no_traceback(r)
        assert r.exit_code == 2 and "locked.835" in r.stderr, (cmd.name, r.stderr)
