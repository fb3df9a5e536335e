"""Tokenizer throughput and memory, next to the floor measured in the same run.

    python benchmarks/tokenize.py [--claims 50000] [--runs 5] [--rss-mb 200]

1. Generates a ~20 MB 835 (benchmarks/synth.py, seeded) in a temporary folder.
2. Times, interleaved and best of ``--runs``: the floor, a bare ``bytes.split`` loop over the whole file in
   memory (``for seg in data.split(b"~"): seg.split(b"*")``), which builds nothing and checks nothing; and
   edi's tokenizer streaming the file in 1 MiB chunks, two ways: ``segments()``, a ``Segment`` object (tag,
   elements, segment number, byte offset) per segment, and ``elements()``, the element lists the 835 and 837
   readers consume (same splitting and checks, numbers by count, no object per segment).
3. Measures peak RSS of a separate process that tokenizes a ``--rss-mb`` file (the 835 repeated).

Prints MB/s and segments/s for both and the ratio (target: at least 50% of the floor), and peak RSS
(target: under 80 MB for 200 MB). MB = 10**6 bytes.
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's tokenize module: keep its folder off the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import best_of, peak_rss_mb, repeated  # noqa: E402
from benchmarks.synth import write_835  # noqa: E402
from edi.x12.tokenizer import Tokenizer  # noqa: E402

CHUNK = 1 << 20


def floor(path: Path) -> int:
    data = path.read_bytes()
    n = 0
    for seg in data.split(b"~"):
        seg.split(b"*")
        n += 1
    return n


def ours(path: Path, method: str = "segments") -> int:
    """edi's tokenizer streaming ``path`` in 1 MiB chunks: ``segments()`` (a ``Segment`` per segment) or, with
    ``method="elements"``, the element-list path the 835 and 837 readers use (``Tokenizer.elements``: the same
    splitting and checks, segment numbers by count, no object per segment)."""
    tok = Tokenizer(file=str(path))
    run = getattr(tok, method)
    n = 0
    with open(path, "rb") as fp:
        while chunk := fp.read(CHUNK):
            for _ in run(chunk):
                n += 1
    for _ in run(b""):
        n += 1
    return n


def ours_elements(path: Path) -> int:
    return ours(path, "elements")


def main() -> None:
    ap = argparse.ArgumentParser(description="edi tokenizer benchmark")
    ap.add_argument("--claims", type=int, default=50000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rss-mb", type=int, default=200, help="size of the file for the memory test (0 to skip)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.835"
        with open(path, "wb") as fp:
            write_835(fp, a.claims)
        size = path.stat().st_size / 1e6
        f_time = o_time = e_time = float("inf")
        f_n = o_n = e_n = 0
        for _ in range(a.runs):  # interleave, so all see the same machine
            t, f_n = best_of(floor, path, 1)
            f_time = min(f_time, t)
            t, o_n = best_of(ours, path, 1)
            o_time = min(o_time, t)
            t, e_n = best_of(ours_elements, path, 1)
            e_time = min(e_time, t)
        print(f"file: {size:.1f} MB, {o_n:,} segments ({a.claims:,} claims), best of {a.runs} runs")
        print(f"{'':24}{'seconds':>9}{'MB/s':>9}{'segments/s':>14}")
        print(f"{'floor (bytes.split)':24}{f_time:9.3f}{size / f_time:9.1f}{f_n / f_time:14,.0f}")
        print(f"{'edi segments()':24}{o_time:9.3f}{size / o_time:9.1f}{o_n / o_time:14,.0f}")
        print(f"{'edi elements()':24}{e_time:9.3f}{size / e_time:9.1f}{e_n / e_time:14,.0f}")
        print(f"edi / floor speed: segments() {f_time / o_time:.0%}, elements() {f_time / e_time:.0%} "
              "(target at least 50%)")
        if a.rss_mb:
            big = Path(tmp) / "big.835"
            written = repeated(path, big, a.rss_mb)
            os.sync()
            rss = peak_rss_mb("tokenize", "ours", big)
            print(f"peak RSS tokenizing {written / 1e6:.0f} MB: {rss:.0f} MB (target under 80 MB)")


if __name__ == "__main__":
    main()
