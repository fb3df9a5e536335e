"""The top-level handler of ``edi`` (cli/main.py): whatever escapes a command ends as one line and a documented exit
code, never a raw traceback; Ctrl-C and a reader that leaves early (``| head``) end the command quietly."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.x12
from cli.main import INTERNAL, INTERRUPTED, app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "samples" / "835" / "synthetic-payment.835")
runner = CliRunner()


def _raise(exc: BaseException):
    def boom(*args, **kwargs):
        raise exc

    return boom


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("EDI_DEBUG", raising=False)
    return tmp_path / "cache" / "edi"


def test_an_internal_error_is_one_line_an_id_and_a_private_traceback_file(cache, monkeypatch):
    monkeypatch.setattr(cli.x12, "validate_path", _raise(ValueError("bad amount '273.865' for member ABC123456")))
    r = runner.invoke(app, ["x12", "validate", SAMPLE])

    assert r.exit_code == INTERNAL == 70
    assert r.stdout == "" and "Traceback" not in r.stderr
    line, = r.stderr.splitlines()
    assert "internal error in `edi x12 validate`" in line and "ValueError" in line and "please report it" in line
    assert "EDI_DEBUG=1" in line
    error_id = re.search(r"error id ([0-9a-f]{8})", line).group(1)
    path = Path(re.search(r"traceback is in (\S+?);", line).group(1))
    assert path.parent == cache and error_id in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700
    text = path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and 'cli/x12.py", line' in text
    assert f"edi internal error {error_id}" in text and "command: edi x12 validate" in text
    # what the file holds may be sent to us: the values in the message are masked, and no argument is written
    assert "273.865" not in text and "ABC123456" not in text and "ValueError: bad amount … for member …" in text
    assert "synthetic-payment" not in text


def test_edi_debug_prints_the_traceback(cache, monkeypatch):
    monkeypatch.setenv("EDI_DEBUG", "1")
    monkeypatch.setattr(cli.x12, "validate_path", _raise(KeyError("PCN0000001")))
    r = runner.invoke(app, ["x12", "validate", SAMPLE])
    assert r.exit_code == INTERNAL
    assert "Traceback (most recent call last)" in r.stderr and "KeyError: 'PCN0000001'" in r.stderr
    assert r.stderr.splitlines()[-1].startswith("edi: internal error in `edi x12 validate` (KeyError")


def test_a_traceback_file_goes_to_the_temporary_folder_when_the_cache_cannot_be_written(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file: no folder can be made below it
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(cli.x12, "validate_path", _raise(RuntimeError("x")))
    r = runner.invoke(app, ["x12", "validate", SAMPLE])
    assert r.exit_code == INTERNAL
    path = Path(re.search(r"traceback is in (\S+?);", r.stderr).group(1))
    assert path.parent == tmp_path / "tmp" / f"edi-{os.getuid()}" and path.is_file()


def test_ctrl_c_is_one_line_and_exit_130(cache, monkeypatch):
    monkeypatch.setattr(cli.x12, "validate_path", _raise(KeyboardInterrupt()))
    r = runner.invoke(app, ["x12", "validate", SAMPLE])
    assert r.exit_code == INTERRUPTED == 130
    assert r.stderr.strip() == "edi: interrupted" and not cache.exists()


def test_a_closed_pipe_ends_the_command_quietly(cache, monkeypatch):
    monkeypatch.setattr(cli.x12, "_render", _raise(BrokenPipeError(32, "Broken pipe")))  # while it prints
    r = runner.invoke(app, ["x12", "validate", SAMPLE])
    assert r.exit_code == 0 and r.stderr == "" and not cache.exists()


def test_usage_errors_keep_exit_2(cache):
    for args in (["remit", "show"], ["ledger", "claims", "--older-than", "soon"], ["no-such-command"],
                 ["x12", "ack", SAMPLE, "--control-number", "0"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert not cache.exists()


@pytest.mark.parametrize("args", [["remit", "show"], ["x12", "view"], ["remit", "show", "--json"]])
def test_a_reader_that_leaves_early_ends_the_command_with_0_and_nothing_on_stderr(tmp_path, args):
    """`edi remit show big.835 | head -1`, run for real: the pipe closes while edi writes."""
    from benchmarks.synth import write_835

    big = tmp_path / "big.835"
    with big.open("wb") as fp:
        write_835(fp, 3000)
    cmd = [sys.executable, "-c", "from cli.main import main; main()", *args[:2], str(big), *args[2:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.stdout.readline()
    proc.stdout.close()  # head -1 has what it wanted
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert err == b"" and not (tmp_path / "cache").exists()


def test_a_message_of_several_lines_and_names_in_capitals_are_masked_too(cache, monkeypatch):
    """A database error quotes its parameters on lines of their own; X12 values (names, ids) are capitals."""
    monkeypatch.setattr(cli.x12, "validate_path", _raise(RuntimeError("no payer SAMPLE PLAN for DOE\n"
                                                                      "[parameters: ('JANE', 'M123')]")))
    r = runner.invoke(app, ["x12", "validate", SAMPLE])
    text = Path(re.search(r"traceback is in (\S+?);", r.stderr).group(1)).read_text(encoding="utf-8")
    assert "RuntimeError: no payer … … for …" in text and "[parameters: (…, …)]" in text
    for value in ("SAMPLE", "DOE", "JANE", "M123"):
        assert value not in text.split("Traceback (most recent call last):")[1].split("RuntimeError")[1], value
