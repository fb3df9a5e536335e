"""The benchmark scripts still run: each at a small size, checking what it prints (its figures are timings of the
machine it runs on, so they are not asserted; the README holds the full-size ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "EDI_DATABASE_URL"}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_end_to_end_goes_from_encounters_to_a_checked_ledger():
    out = run("benchmarks/end_to_end.py", "--claims", "2000")
    assert "SQLite: 2,000 claims built (0 skipped), 2,000 submitted, 2,000 answered" in out
    assert "reconcile balanced: True; ledger check: ok" in out
    for stage in ("build", "submit", "simulate", "fetch+import", "reconcile", "check", "total"):
        assert f"\n  {stage} " in out


def test_the_command_benchmark_times_each_command_beside_the_floor():
    out = run("benchmarks/cli.py", "--claims", "500", "--runs", "1", "--big-mb", "0", "--ledger-claims", "300",
              "--peers", "/nonexistent")
    for name in ("floor (split + Decimal", "edi remit show --json", "edi remit show --nl", "edi x12 validate",
                 "edi remit export --out DIR (CSV)", "edi ledger claims --nl", "edi reconcile", "Ledger.claim("):
        assert name in out, name
    assert "(exit " not in out  # every command succeeded
    assert "not installed" in out  # the peers were asked for where they are not
