"""`edi remit show` and `edi remit export` reading a file in parts (cli.parts: one process per part, their output
put together in order): run as a user runs them (a process whose output is a file), with ``EDI_READ_PARTS`` asking
for parts and for one process, the output, the messages and the exit code are the same, byte for byte; and a
part whose process dies is read again by the first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from x12text import payment_file, payment_group, payment_transaction

from benchmarks.synth import write_835
from cli.parts import read_in_parts
from edi.model import ClaimPayment
from edi.x835.reader import RemitReader

ROOT = Path(__file__).resolve().parents[2]


def edi(*args: str, parts: int, cwd: Path) -> tuple[int, bytes, bytes]:
    env = {**os.environ, "EDI_READ_PARTS": str(parts), "COLUMNS": "160"}
    done = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, env=env, cwd=cwd,
                          timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """A generated 835 of 12 transaction sets, and a broken one (a transaction set without SE, one that is not an
    835, a wrong SE count)."""
    folder = tmp_path_factory.mktemp("parts")
    generated = folder / "generated.835"
    with open(generated, "wb") as fp:
        write_835(fp, 600, per_st=50)
    t = [payment_transaction(n) for n in range(1, 7)]
    t[1] = payment_transaction(2, se=False)
    t[3] = payment_transaction(4, st01="999")
    t[4] = payment_transaction(5, count=4)
    broken = payment_file(folder, payment_group(t), name="broken.835")
    return {"generated": str(generated), "broken": broken}


@pytest.mark.parametrize("name", ["generated", "broken"])
@pytest.mark.parametrize("shape", [["--json"], ["--nl"], []])
def test_show_in_parts_prints_what_one_process_prints(files, tmp_path, name, shape):
    one = edi("remit", "show", *shape, files[name], parts=1, cwd=tmp_path)
    assert one[0] == {"generated": 0, "broken": 1}[name], one[2]
    assert one[1], "something was printed"
    for parts in (2, 3):
        assert edi("remit", "show", *shape, files[name], parts=parts, cwd=tmp_path) == one


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_export_in_parts_writes_what_one_process_writes(files, tmp_path, fmt):
    outputs = {}
    for parts in (1, 3):
        out = tmp_path / f"out{parts}"
        out.mkdir()
        (out / f"claims.{fmt}.part1").write_text("a file of yours\n")  # a name the parts once used: left alone
        done = edi("remit", "export", files["generated"], files["broken"], "--format", fmt, "--out", str(out),
                   parts=parts, cwd=tmp_path)
        assert (out / f"claims.{fmt}.part1").read_text() == "a file of yours\n"
        (out / f"claims.{fmt}.part1").unlink()
        outputs[parts] = done[0], done[2].replace(str(out).encode(), b"OUT"), {
            p.name: p.read_bytes() for p in sorted(out.iterdir())}  # nothing else is left in the folder
    assert outputs[3] == outputs[1]
    code, _, tables = outputs[1]
    assert code == 1 and sorted(tables) == [f"{t}.{fmt}" for t in ("adjustments", "claims", "lines")]
    claims = sum(type(item) is ClaimPayment for f in ("generated", "broken") for item in RemitReader(files[f]))
    assert claims > 600 and tables[f"claims.{fmt}"].count(b"\n") == claims + (fmt == "csv")  # and a header


def test_a_part_whose_process_dies_is_read_again(files, tmp_path, monkeypatch):
    # `edi remit export`'s way (each part writes its own files), with the second part's process killed as it starts
    monkeypatch.setenv("EDI_READ_PARTS", "3")
    parent = os.getpid()

    def work(reader, k, direct):
        if k == 1 and os.getpid() != parent:
            os._exit(9)
        assert direct == (os.getpid() == parent)  # a part read again here is printed straight
        claims = [c.patient_control_number for c in reader if type(c) is ClaimPayment]
        (tmp_path / f"part{k}").write_text("\n".join(claims))
        return len(claims)

    spliced = []
    read = read_in_parts(files["generated"], work, lambda k, n, output: spliced.append((k, n)), capture=False)
    whole = [c.patient_control_number for c in RemitReader(files["generated"]) if type(c) is ClaimPayment]
    assert [k for k, _ in spliced] == [0, 1, 2] and sum(n for _, n in spliced) == len(whole)
    assert read.results == [n for _, n in spliced] and read.problems == [] and read.segments > 0
    assert "\n".join((tmp_path / f"part{k}").read_text() for k in range(3)).split("\n") == whole


#: `edi` whose second part's process dies as it starts reading (cli.parts reads that part again, straight out).
DYING = """
import os, sys
import cli.parts
from edi.x835.reader import RemitReader

parent = os.getpid()


class Dying(RemitReader):
    def __iter__(self):
        if os.getpid() != parent and self.part is not None and self.part[0] > 0 and self.part[1] is not None:
            os._exit(9)
        return super().__iter__()


cli.parts.RemitReader = Dying
from cli.main import main
main()
"""


@pytest.mark.parametrize("shape", [["--json"], ["--nl"], []])
def test_a_part_whose_process_dies_is_printed_in_its_place(files, tmp_path, shape):
    one = edi("remit", "show", *shape, files["generated"], parts=1, cwd=tmp_path)
    env = {**os.environ, "EDI_READ_PARTS": "3", "COLUMNS": "160"}
    done = subprocess.run([sys.executable, "-c", DYING, "remit", "show", *shape, files["generated"]],
                          capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == one


def processes_reading(path: str) -> list[int]:
    """The processes whose command line names ``path``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if path.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux's /proc to find the processes")
@pytest.mark.parametrize("shape", [["remit", "show", "--json"], ["remit", "export", "--out", "OUT"]])
def test_terminated_it_stops_its_parts_and_leaves_nothing(tmp_path, shape):
    big = tmp_path / "big-to-stop.835"
    with open(big, "wb") as fp:
        write_835(fp, 20000, per_st=100)
    out = tmp_path / "out"
    args = [str(out) if a == "OUT" else a for a in shape]
    env = {**os.environ, "EDI_READ_PARTS": "3", "TMPDIR": str(tmp_path)}
    with open(tmp_path / "stdout", "wb") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", *args, str(big)], stdout=stdout,
                                stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while len(processes_reading(str(big))) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(processes_reading(str(big))) == 3, "the three parts did not start"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while processes_reading(str(big)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert processes_reading(str(big)) == []
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["big-to-stop.835", "stdout", *(["out"] if out.exists() else [])])
    if out.exists():  # the tables as far as they got; no part of them
        assert sorted(p.name for p in out.iterdir()) == ["adjustments.csv", "claims.csv", "lines.csv"]
