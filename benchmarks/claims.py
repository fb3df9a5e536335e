"""Claims build throughput: generated NDJSON encounters to 837P files, as `edi claims build` does it.

    python benchmarks/claims.py [--encounters 100000]

Generates ``--encounters`` synthetic professional encounters (NDJSON, seeded; payers of samples/edi.toml),
then, in a fresh process, runs ``edi.pipeline.build_files`` with the sample configuration and a SQLite ledger
in a temporary folder: read, check (ICD-10-CM, NPI, shapes, dates...), map, spool, write one 837 per
clearinghouse, record the claims in the ledger. Deep (pyx12) validation is off. Prints claims/s for the whole
command and for its parts, and the process's peak RSS (which does not grow with the input: claims are
spooled to disk, not held).

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
    """In a fresh process: the build, timed, and the peak RSS."""
    from datetime import date, datetime

    from edi.ledger import Ledger
    from edi.pipeline import build_files
    from mappings import load_config

    config = load_config(ROOT / "samples" / "edi.toml")
    ledger = Ledger(f"sqlite:///{workdir}/edi.db")
    t = time.perf_counter()
    result = build_files([encounters], config, ledger=ledger, out_dir=f"{workdir}/out", today=date(2026, 1, 1),
                         now=datetime(2026, 1, 1, 12, 0), jobs=jobs)
    secs = time.perf_counter() - t
    ledger.close()
    rss = vmhwm_mb()
    import resource

    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest finished worker
    return {"seconds": secs, "claims": result.claims, "skipped": len(result.skipped), "rss_mb": rss,
            "worker_rss_mb": workers,
            "files": [f.path for f in result.files]}


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


if __name__ == "__main__":
    main()
