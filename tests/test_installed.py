"""`edi demo` as a newcomer runs it: the command installed by a fresh, non-editable `pip install .` in a virtual
environment of its own (`.ci/run` makes one and names its `edi` in EDI_INSTALLED), run from outside the checkout.
It exits 0, says the ledger check passed, and its summary's totals are those of `edi reconcile --json` on the same
workspace."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

INSTALLED = os.environ.get("EDI_INSTALLED")
CHECKOUT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not INSTALLED, reason="EDI_INSTALLED (an edi installed by `pip install .`, which "
                                "`.ci/run` makes) is not set")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDI_DATABASE_URL")}
    return subprocess.run([INSTALLED, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_installed_demo_runs_the_loop_and_agrees_with_reconcile(tmp_path):
    python = Path(INSTALLED).with_name("python")
    where = subprocess.run([str(python), "-c", "import edi; print(edi.__file__)"], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert not where.startswith(str(CHECKOUT)), f"edi is imported from the checkout ({where}), not installed"
    workspace = tmp_path / "demo"
    demo = run("demo", "--dir", str(workspace), cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stdout + demo.stderr
    assert re.search(r"^Ledger check:\s+ok$", demo.stdout, re.M), demo.stdout
    received = re.search(r"^Payments received:\s+(\d+) payments, (-?[\d.]+)$", demo.stdout, re.M)
    paid = re.search(r"^Paid to claims:\s+(-?[\d.]+)$", demo.stdout, re.M)
    assert received and paid, demo.stdout
    rec = run("reconcile", "--json", cwd=workspace)
    assert rec.returncode == 0, rec.stdout + rec.stderr
    totals = json.loads(rec.stdout)["totals"]
    assert (int(received[1]), received[2], paid[1]) == (totals["payments"], totals["amount"], totals["matched_paid"])
    assert totals["payments"] > 0
    check = run("ledger", "check", cwd=workspace)
    assert check.returncode == 0 and "ok" in check.stdout
