"""Ledger throughput: record 50,000 claims from an 837, import their acknowledgements and the matching 835,
reconcile, check.

    python benchmarks/ledger.py [--claims 50000] [--postgres URL]

Generates (benchmarks/synth.py, seeded) an 837P of ``--claims`` claims, the clearinghouse's answer (a 999
accepting every transaction set and a 277CA accepting every claim) and the ~20 MB 835 that pays them, then
for SQLite (a file in a temporary folder) and, when a URL is given with ``--postgres`` or in
``EDI_TEST_POSTGRES_URL``, PostgreSQL (a fresh schema, dropped afterwards), each in a fresh process:
``Ledger.record_837``, ``Ledger.import_acks``, ``Ledger.import_835`` (one database transaction each),
``Ledger.reconcile`` and ``Ledger.check``. Prints claims/s for each stage and the process's peak RSS.

Targets (issue 4): at least 5,000 claims/s for the 835 import on both databases, peak RSS under 200 MB.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # keep stdlib `tokenize` importable

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import fresh_schema, vmhwm_mb  # noqa: E402


def stage_run(url: str, f837: str, f835: str, facks: str) -> dict:
    """Runs in a fresh process: the three stages, timed, and the peak RSS."""
    from edi.ledger import Ledger

    out = {}
    ledger = Ledger(url)
    t = time.perf_counter()
    r = ledger.record_837(f837)
    out["record"] = (time.perf_counter() - t, r.recorded.claims if r.recorded else 0, r.outcome)
    t = time.perf_counter()
    r = ledger.import_acks(facks)
    out["acks"] = (time.perf_counter() - t, r.acknowledged.claims if r.acknowledged else 0, r.outcome)
    t = time.perf_counter()
    r = ledger.import_835(f835)
    out["import"] = (time.perf_counter() - t, r.posted.claim_payments if r.posted else 0, r.outcome)
    t = time.perf_counter()
    rec = ledger.reconcile()
    out["reconcile"] = (time.perf_counter() - t, sum(p["claims_matched"] + p["claims_unmatched"]
                                                     for p in rec["payments"]), "ok")
    t = time.perf_counter()
    problems = ledger.check()
    verdict = "ok" if not problems else f"{len(problems)} violations"
    out["check"] = (time.perf_counter() - t, out["record"][1], verdict)  # the claims recorded, all checked
    ledger.close()
    out["rss_mb"] = vmhwm_mb()
    return out


def run_backend(name: str, url: str, f837: str, f835: str, facks: str) -> None:
    code = ("import sys, json; sys.path.insert(0, sys.argv[5]); from benchmarks.ledger import stage_run; "
            "print(json.dumps(stage_run(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])))")
    proc = subprocess.run([sys.executable, "-c", code, url, f837, f835, facks, str(ROOT)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        print(f"{name}: failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else '?'}")
        return
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{name}:")
    for stage in ("record", "acks", "import", "reconcile", "check"):
        secs, n, outcome = res[stage]
        print(f"  {stage:10}{secs:8.2f} s {n:>8,} claims {n / secs if secs else 0:>10,.0f} claims/s  ({outcome})")
    print(f"  peak RSS {res['rss_mb']:.0f} MB (target under 200 MB); import target at least 5,000 claims/s")


def main() -> None:
    ap = argparse.ArgumentParser(description="edi ledger benchmark")
    ap.add_argument("--claims", type=int, default=50000)
    ap.add_argument("--postgres", default=os.environ.get("EDI_TEST_POSTGRES_URL"))
    a = ap.parse_args()
    from benchmarks.synth import write_835, write_837, write_acks

    with tempfile.TemporaryDirectory() as tmp:
        f837, f835 = str(Path(tmp) / "claims.837"), str(Path(tmp) / "era.835")
        facks = str(Path(tmp) / "acks.x12")
        with open(f837, "wb") as fp:
            write_837(fp, a.claims)
        with open(facks, "wb") as fp:
            write_acks(fp, a.claims)
        with open(f835, "wb") as fp:
            totals = write_835(fp, a.claims)
        print(f"837: {Path(f837).stat().st_size / 1e6:.1f} MB, {a.claims:,} claims; 999 + 277CA: "
              f"{Path(facks).stat().st_size / 1e6:.1f} MB; 835: {Path(f835).stat().st_size / 1e6:.1f} MB, "
              f"{totals['clps']:,} claim payments")
        run_backend("SQLite", f"sqlite:///{tmp}/edi.db", f837, f835, facks)
        if a.postgres:
            with fresh_schema(a.postgres) as url:
                run_backend("PostgreSQL", url, f837, f835, facks)
        else:
            print("PostgreSQL: skipped (give --postgres URL or set EDI_TEST_POSTGRES_URL)")


if __name__ == "__main__":
    main()
