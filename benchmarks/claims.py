"""Claims build throughput: generated NDJSON encounters to 837P files, as `edi claims build` does it.

    python benchmarks/claims.py [--encounters 100000]

Generates ``--encounters`` synthetic professional encounters (NDJSON, seeded; payers of samples/edi.toml),
then, in a fresh process, runs ``mappings.build.build_files`` with the sample configuration and a SQLite ledger
in a temporary folder: read, check (ICD-10-CM, NPI, shapes, dates...), map, spool, write one 837 per
clearinghouse, record the claims in the ledger. Deep (pyx12) validation is off. Prints claims/s for the whole
command, the time of its phases, the CPU each claim costs (in the workers, and in the main process, whose
writing and recording no other core can share) and what those costs allow with every core busy, and the
process's peak RSS (which does not grow with the input: claims are spooled to disk, not held).

Target (issue 5): at least 10,000 claims/s, memory that does not grow with the input.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # keep stdlib `tokenize` importable

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import vmhwm_mb  # noqa: E402

PROCEDURES = ["99211", "99212", "99213", "99214", "36415", "80053", "85025", "93000", "97110", "90834"]
DIAGNOSES = ["E11.9", "I10", "J06.9", "M54.50", "R07.89", "K21.9", "F32.9", "E78.5", "N39.0"]
PAYERS = ["acme", "blueplan", "medicare_b"]


def write_encounters(path: Path, n: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fp:
        for i in range(n):
            day = f"2025-{rng.randrange(1, 10):02d}-{rng.randrange(1, 28):02d}"
            dx = rng.sample(DIAGNOSES, rng.choice([1, 2, 3]))
            lines = [{"procedure": rng.choice(PROCEDURES), "charge": f"{rng.randrange(2500, 40000) / 100:.2f}",
                      "units": "1", "diagnosis_pointers": [1], "service_date": day}
                     for _ in range(rng.choice([1, 1, 2, 3]))]
            enc = {
                "id": f"BENCH{i:08d}", "kind": "professional", "payer": rng.choice(PAYERS),
                "billing_provider": {"npi": "1234567893", "name": "SYNTH FAMILY CLINIC", "tax_id": "990000001",
                                     "taxonomy": "207Q00000X",
                                     "address": {"line1": "100 SYNTHETIC WAY", "city": "SPRINGFIELD",
                                                 "state": "IL", "zip": "627010001"}},
                "subscriber": {"member_id": f"SYNM{i:08d}", "last_name": "TESTPERSON", "first_name": "ALEX",
                               "birth_date": "1980-01-01", "sex": "U",
                               "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL",
                                           "zip": "62701"}},
                "place_of_service": "11", "diagnoses": dx, "lines": lines,
            }
            fp.write(json.dumps(enc) + "\n")


def run(encounters: str, workdir: str, jobs: int = 1) -> dict:
    """In a fresh process: the build, timed (wall and CPU, this process's and its workers'), and the peak RSS."""
    import resource
    from datetime import date, datetime

    from edi.ledger import Ledger
    from mappings import load_config
    from mappings.build import build_files

    def cpu(who: int) -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    config = load_config(ROOT / "samples" / "edi.toml")
    ledger = Ledger(f"sqlite:///{workdir}/edi.db")
    main_cpu, workers_cpu = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    result = build_files([encounters], config, ledger=ledger, out_dir=f"{workdir}/out", today=date(2026, 1, 1),
                         now=datetime(2026, 1, 1, 12, 0), jobs=jobs)
    secs = time.perf_counter() - t
    main_cpu, workers_cpu = cpu(resource.RUSAGE_SELF) - main_cpu, cpu(resource.RUSAGE_CHILDREN) - workers_cpu
    ledger.close()
    rss = vmhwm_mb()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest finished worker
    return {"seconds": secs, "claims": result.claims, "skipped": len(result.skipped), "rss_mb": rss,
            "worker_rss_mb": workers, "timings": result.timings, "main_cpu": main_cpu, "workers_cpu": workers_cpu,
            "files": [f.path for f in result.files]}


def report_costs(r: dict, jobs: int) -> None:
    """Where the time goes: the phases, the CPU per claim, and what these costs allow on more cores."""
    n, ph = r["claims"], r["timings"]
    us = 1e6 / n
    print(f"phases: encounters {ph['encounters']:.1f} s (read, check, map, format, spool: "
          f"{f'{jobs} worker processes' if jobs > 1 else 'this process'}), write {ph['write']:.1f} s, "
          f"record {ph['record']:.1f} s (one core)")
    tail = ph["write"] + ph["record"]  # single-threaded: CPU time ~ wall time
    feed = max(r["main_cpu"] - tail, 0.0)  # this process during the encounters phase
    work = r["workers_cpu"] + feed
    print(f"CPU per claim: {r['workers_cpu'] * us:.0f} us in the workers, {r['main_cpu'] * us:.0f} us in this "
          f"process ({tail * us:.0f} us of it writing and recording, which no other core can share)")
    if jobs > 1:
        bounds = ", ".join(f"{cores} cores {n / (work / cores + tail):,.0f}" for cores in (2, 4, 8))
        print(f"at these costs, with every core busy in the encounters phase, claims/s cannot exceed: {bounds}")


def main() -> None:
    ap = argparse.ArgumentParser(description="edi claims build benchmark")
    ap.add_argument("--encounters", type=int, default=100000)
    ap.add_argument("--jobs", type=int, default=0, help="worker processes, as `edi claims build --jobs` (0: one "
                    "per CPU core, the command's default)")
    a = ap.parse_args()
    jobs = a.jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        enc = Path(tmp) / "encounters.ndjson"
        write_encounters(enc, a.encounters)
        code = ("import sys, json; sys.path.insert(0, sys.argv[3]); from benchmarks.claims import run; "
                "print(json.dumps(run(sys.argv[1], sys.argv[2], int(sys.argv[4]))))")
        out = subprocess.run([sys.executable, "-c", code, str(enc), tmp, str(ROOT), str(jobs)], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        size = sum(Path(f).stat().st_size for f in r["files"]) / 1e6
        print(f"{a.encounters:,} encounters ({enc.stat().st_size / 1e6:.1f} MB NDJSON) -> {r['claims']:,} claims in "
              f"{len(r['files'])} files ({size:.1f} MB), {r['skipped']} skipped")
        print(f"edi claims build --jobs {jobs} ({os.cpu_count()} CPU cores): {r['seconds']:.1f} s, "
              f"{r['claims'] / r['seconds']:,.0f} claims/s (target at least 10,000 claims/s)")
        print(f"peak RSS: {r['rss_mb']:.0f} MB (the main process; each worker: {r['worker_rss_mb']:.0f} MB)"
              if r.get("worker_rss_mb") else f"peak RSS: {r['rss_mb']:.0f} MB")
        report_costs(r, jobs)


if __name__ == "__main__":
    main()
