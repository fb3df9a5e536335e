"""What every benchmark script needs: best-of-N timing, a process's peak RSS, a large input made of copies.

Imported after the script has taken its own folder off ``sys.path`` (``benchmarks/tokenize.py`` would hide the
standard library's ``tokenize``) and put the project root on it.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def best_of(fn: Callable[[Path], int], path: Path, runs: int) -> tuple[float, int]:
    """The best wall time of ``runs`` calls of ``fn(path)``, and what the last one returned."""
    best, count = float("inf"), 0
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        count = fn(path)
        best = min(best, time.perf_counter() - t)
    return best, count


def vmhwm_mb() -> float:
    """This process's peak resident memory (VmHWM: its own high-water mark, which unlike ru_maxrss does not
    count the memory of a parent it was forked from)."""
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(ln for ln in status if ln.startswith("VmHWM")).split()[1]) / 1024


def peak_rss_mb(module: str, function: str, path: Path) -> float:
    """Peak RSS of a fresh process running ``benchmarks.<module>.<function>(path)``."""
    code = (f"import sys; sys.path.insert(0, sys.argv[2]); from benchmarks.{module} import {function}; "
            f"from benchmarks.common import vmhwm_mb; from pathlib import Path; {function}(Path(sys.argv[1])); "
            "print(vmhwm_mb())")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(ROOT)], check=True, capture_output=True,
                         text=True).stdout
    return float(out.strip().splitlines()[-1])


def repeated(path: Path, big: Path, mb: float) -> int:
    """Write copies of ``path`` to ``big`` until it holds at least ``mb`` MB; returns its size in bytes."""
    data = path.read_bytes()
    written = 0
    with open(big, "wb") as fp:
        while written < mb * 1e6:
            fp.write(data)
            written += len(data)
    return written


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """The URL of a new PostgreSQL schema on the server of ``base``, dropped with everything in it afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    from edi.ledger.db import resolve_url

    schema = f"edi_bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(resolve_url(base))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
