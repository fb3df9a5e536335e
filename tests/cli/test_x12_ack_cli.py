"""`edi x12 ack` as a user runs it: the 999 on stdout or in a new file, one summary line per group on stderr,
exit 0 accepted / 1 rejected / 2 usage, and never a traceback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
GOOD = (SAMPLES / "837" / "professional-dependent.837").read_bytes()
BAD = GOOD.replace(b"SE*38*0001~", b"SE*37*0001~")


def _run(*args: str, input: bytes | None = None):
    result = runner.invoke(app, ["x12", "ack", *args], input=input)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_an_accepted_file_prints_the_999_and_exits_0(tmp_path):
    result = _run(_write(tmp_path, "claims.837", GOOD))
    assert result.exit_code == 0
    assert result.stdout.startswith("ISA*00*")
    assert "AK9*A*1*1*1~" in result.stdout
    assert result.stderr.strip().endswith("group 1 (HC 005010X222A1): accepted - 1 of 1 transaction sets accepted")


def test_a_rejected_file_exits_1_with_the_reason_on_stderr(tmp_path):
    result = _run(_write(tmp_path, "claims.837", BAD))
    assert result.exit_code == 1
    assert "IK5*R*4~" in result.stdout and "AK9*R*1*1*0~" in result.stdout
    assert "rejected - 0 of 1 transaction sets accepted; rejected: 837 0001 (4)" in result.stderr


def test_a_bad_interchange_trailer_is_a_ta1_and_exit_1(tmp_path):
    result = _run(_write(tmp_path, "claims.837", GOOD.replace(b"IEA*1*000000001", b"IEA*1*000000007")))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1] == "TA1*000000001*250301*0930*R*001~"
    assert "TA1 R 001" in result.stderr


def test_out_writes_a_new_private_file_and_never_replaces_one(tmp_path):
    src = _write(tmp_path, "claims.837", GOOD)
    out = tmp_path / "claims.999"
    result = _run(src, "--out", str(out), "--control-number", "17")
    assert result.exit_code == 0
    assert result.stdout == ""
    written = out.read_bytes()
    assert written.startswith(b"ISA*") and b"*000000017*" in written
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    again = _run(src, "--out", str(out))
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert out.read_bytes() == written


def test_out_in_a_missing_folder_is_a_usage_error(tmp_path):
    result = _run(_write(tmp_path, "claims.837", GOOD), "--out", str(tmp_path / "nope" / "claims.999"))
    assert result.exit_code == 2
    assert "error:" in result.stderr


def test_json_carries_the_verdict_and_the_acknowledgement(tmp_path):
    result = _run(_write(tmp_path, "claims.837", BAD), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["accepted"] is False
    group = doc["interchanges"][0]["groups"][0]
    assert (group["status"], group["received"], group["accepted"]) == ("R", 1, 0)
    assert group["sets"][0]["codes"] == ["4"]
    assert doc["ack"].startswith("ISA*") and "IK5*R*4~" in doc["ack"]


def test_deep_runs_pyx12_too(tmp_path):
    bad_date = GOOD.replace(b"DTP*472*D8*20250210~\nREF*6R*PCN0001-1", b"DTP*472*D8*2025-02-10~\nREF*6R*PCN0001-1")
    path = _write(tmp_path, "claims.837", bad_date)
    assert _run(path).exit_code == 0  # edi's fast checks do not read dates in 837s
    result = _run(path, "--deep")
    assert result.exit_code == 1
    assert "IK3*DTP*32*2400*8~\nCTX*CLM01:PCN0001~\nIK4*3*1251*8~" in result.stdout


def test_standard_input(tmp_path):
    result = _run("-", input=GOOD)
    assert result.exit_code == 0
    assert "AK9*A*1*1*1~" in result.stdout


def test_nothing_to_acknowledge_in_a_file_of_acknowledgements(tmp_path):
    ack = _run(_write(tmp_path, "claims.837", GOOD)).stdout.encode()
    result = _run(_write(tmp_path, "claims.999", ack), "--out", str(tmp_path / "again.999"))
    assert result.exit_code == 0
    assert "nothing to acknowledge" in result.stderr
    assert not (tmp_path / "again.999").exists()


@pytest.mark.parametrize(("make", "code", "words"), [
    (lambda d: str(d / "missing.837"), 2, "no such file"),
    (lambda d: str(d), 2, "is a directory"),
    (lambda d: _write(d, "empty.837", b""), 1, "the file is empty"),
    (lambda d: _write(d, "noise.bin", bytes(range(255, -1, -1)) + bytes(range(256)) * 8), 1, "not X12"),
    (lambda d: _write(d, "text.837", b"hello, this is not a claim file\n"), 1, "not X12"),
    (lambda d: _write(d, "bare.837", b"GS*HC*A*B*20250101*1200*1*X*005010X222A1~\nST*837*0001~\nSE*2*0001~\n"
                                     b"GE*1*1~\n"), 1, "no interchange header"),
])
def test_unusable_input_is_one_clear_line(tmp_path, make, code, words):
    out = tmp_path / "out.999"
    result = _run(make(tmp_path), "--out", str(out))
    assert result.exit_code == code
    assert words in result.stderr
    assert result.stderr.startswith("error:")
    assert not out.exists()


def test_unreadable_file_is_a_usage_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = Path(_write(tmp_path, "secret.837", GOOD))
    path.chmod(0)
    result = _run(str(path))
    assert result.exit_code == 2
    assert "permission denied" in result.stderr


def test_the_acknowledgement_comes_before_its_summary_on_a_terminal(tmp_path):
    """Run for real with both streams on one pipe (as a terminal shows them): the 999 first, then the line that
    says what it decided (it came first, above the acknowledgement it summarises)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "x12", "ack",
                           str(SAMPLES / "835" / "broken-segment-count.835")], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                          cwd=Path(__file__).resolve().parents[2])
    lines = done.stdout.splitlines()
    assert done.returncode == 1 and lines[0].startswith("ISA*") and lines[-2] == "IEA*1*000000001~"
    assert lines[-1].startswith("interchange 000000001, group 1 (HP 005010X221A1): rejected")
