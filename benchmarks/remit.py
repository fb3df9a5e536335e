"""835 reader throughput and memory, next to the floor and the peers measured in the same run.

    python benchmarks/remit.py [--claims 50000] [--per-st 5000] [--runs 3] [--rss-mb 200] [--peers DIR]

1. Generates a balanced ~20 MB 835 (benchmarks/synth.py, seeded): 50,000 claims in 10 transaction sets,
   with reversals and their corrections, denials, secondary payments, claim- and line-level CAS and two PLB
   segments per transaction.
2. Times, best of ``--runs``: the floor (the whole file in memory, ``split`` on ``~`` and ``*`` and a
   ``Decimal`` for each CLP04: no model, no checks) and edi's full reader (``read_remittances``: every
   ``ClaimPayment``, ``ServicePayment``, ``Adjustment`` and ``ProviderAdjustment`` built, envelope checks and
   line, claim and transaction balancing on), which streams the file in 1 MiB chunks.
3. Measures the peak RSS of a fresh process reading a ``--rss-mb`` file with edi's reader.
4. When peers are installed in their own virtual environments (``../shared/docs/peers/mkvenvs.sh DIR``
   makes ``DIR/venvs/edi-835-parser`` and ``DIR/venvs/x12sdk``), runs each once on the same file in a
   separate process and reports its time and what it returned.

Targets (issue 3): at least 10 MB/s, and peak RSS under 100 MB for a 200 MB file. MB = 10**6 bytes.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # keep stdlib `tokenize` importable

import argparse  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import best_of, peak_rss_mb, repeated  # noqa: E402
from benchmarks.synth import write_835  # noqa: E402
from edi.model import ClaimPayment  # noqa: E402
from edi.x835.reader import read_remittances  # noqa: E402

PEERS = {
    "edi-835-parser": (
        "import sys, warnings; warnings.simplefilter('ignore')\n"
        "from edi_835_parser import parse\n"
        "ts = parse(sys.argv[1])\n"
        "print('claims', ts.count_claims())\n"
    ),
    "x12sdk": (
        "import sys\n"
        "from x12sdk.io import X12ModelReader\n"
        "n = 0\n"
        "with X12ModelReader(sys.argv[1]) as r:\n"
        "    for m in r.models():\n"
        "        n += sum(1 for _ in m.claims())\n"
        "print('claims', n)\n"
    ),
}


def floor(path: Path) -> int:
    data = path.read_bytes()
    n = 0
    total = Decimal(0)
    for seg in data.split(b"~"):
        els = seg.split(b"*")
        if els[0].strip() == b"CLP":
            total += Decimal(els[4].decode())
            n += 1
    return n


def edi_reader(path: Path) -> int:
    reader = read_remittances(str(path))
    n = 0
    for item in reader:
        if isinstance(item, ClaimPayment):
            n += 1
    if any(p.is_error for p in reader.problems):
        raise SystemExit(f"the generated file has problems: {reader.problems[:3]}")
    return n


def run_peer(python: Path, code: str, path: Path, timeout: int) -> str:
    t = time.perf_counter()
    try:
        r = subprocess.run([str(python), "-c", code, str(path)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"did not finish in {timeout} s"
    secs = time.perf_counter() - t
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1][:90]
        return f"failed after {secs:.1f} s: {last}"
    size = path.stat().st_size / 1e6
    return f"{secs:6.1f} s  {size / secs:5.2f} MB/s  ({r.stdout.strip()})"


def main() -> None:
    ap = argparse.ArgumentParser(description="edi 835 reader benchmark")
    ap.add_argument("--claims", type=int, default=50000)
    ap.add_argument("--per-st", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rss-mb", type=int, default=200, help="file size for the memory test (0 to skip)")
    ap.add_argument("--peers", default=os.path.join(tempfile.gettempdir(), "edi-peers"),
                    help="folder made by mkvenvs.sh (venvs/<package>/bin/python); skipped when absent")
    ap.add_argument("--peer-timeout", type=int, default=600)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.835"
        with open(path, "wb") as fp:
            totals = write_835(fp, a.claims, per_st=a.per_st)
        size = path.stat().st_size / 1e6
        f_time = e_time = float("inf")
        for _ in range(a.runs):  # interleaved, so both see the same machine
            t, f_n = best_of(floor, path, 1)
            f_time = min(f_time, t)
            t, e_n = best_of(edi_reader, path, 1)
            e_time = min(e_time, t)
        print(f"file: {size:.1f} MB, {totals['clps']:,} claim payments in {totals['transactions']} transaction "
              f"sets, best of {a.runs} runs")
        print(f"{'':34}{'seconds':>9}{'MB/s':>8}{'claims/s':>11}")
        print(f"{'floor (split + Decimal, no model)':34}{f_time:9.2f}{size / f_time:8.1f}{f_n / f_time:11,.0f}")
        print(f"{'edi read_remittances (full model)':34}{e_time:9.2f}{size / e_time:8.1f}{e_n / e_time:11,.0f}")
        print(f"edi: {size / e_time:.1f} MB/s (target at least 10 MB/s), {f_time / e_time:.0%} of the floor")
        for name, code in PEERS.items():
            python = Path(a.peers) / "venvs" / name / "bin" / "python"
            if python.exists():
                print(f"{name:34}{run_peer(python, code, path, a.peer_timeout)}")
            else:
                print(f"{name:34}not installed ({python} absent; see ../shared/docs/peers/mkvenvs.sh)")
        if a.rss_mb:
            big = Path(tmp) / "big.835"
            written = repeated(path, big, a.rss_mb)
            rss = peak_rss_mb("remit", "edi_reader", big)
            print(f"peak RSS reading {written / 1e6:.0f} MB: {rss:.0f} MB (target under 100 MB)")


if __name__ == "__main__":
    main()
