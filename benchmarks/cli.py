"""The commands as a user runs them: whole processes, output included, next to the floor and the peers.

    python benchmarks/cli.py [--claims 50000] [--runs 3] [--big-mb 216] [--ledger-claims 100000]
                             [--postgres URL] [--peers DIR]

1. Generates the seeded ~20 MB, 50,000-claim 835 of ``benchmarks/remit.py`` (benchmarks/synth.py).
2. Runs each command as a fresh process with its output sent to /dev/null (or a temporary folder), best of
   ``--runs``, and reads each one's peak RSS from the kernel (``wait4``): ``edi remit show --json``, ``--nl`` and the
   human view, ``edi x12 validate``, ``edi remit export`` to CSV and to NDJSON (``remit show`` and ``export`` read
   the file with one process per core, see cli.parts; ``--json`` and CSV are timed again with one process).
   Beside them in the same run: the floor (a fresh Python process that reads the file, splits it on ``~`` and
   ``*`` and makes a ``Decimal`` of each CLP04: no model, no checks, no output) and, when their virtual
   environments exist
   (``../shared/docs/peers/mkvenvs.sh DIR``), edi-835-parser 1.8 and x12sdk 2.2 parsing the same file (no output).
3. Memory as the input grows: ``edi remit show --json`` on copies of the file adding up to ``--big-mb`` MB.
4. Ledger views: records ``--ledger-claims`` claims and posts their 835 in a SQLite ledger (and, with ``--postgres``,
   a fresh PostgreSQL schema), then times ``edi ledger claims`` (table, ``--json``, ``--nl``), ``edi ledger claim``,
   ``edi reconcile`` and ``edi ledger check`` as processes, and ``Ledger.claim(pcn)`` alone.

Targets (issue 11): remit show --json at least 8 MB/s, 3x edi-835-parser and 15x x12sdk, peak RSS under 100 MB and
flat; remit show at least 5 MB/s; x12 validate at least 12 MB/s; remit export at least 8 MB/s; ledger claims streams
100,000 claims in under 5 s with flat memory; ledger claim under 100 ms. MB = 10**6 bytes.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]  # keep stdlib `tokenize` importable

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import fresh_schema, repeated  # noqa: E402
from benchmarks.remit import PEERS  # noqa: E402
from benchmarks.synth import write_835, write_837  # noqa: E402

FLOOR = (
    "import sys\n"
    "from decimal import Decimal\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "n, total = 0, Decimal(0)\n"
    "for seg in data.split(b'~'):\n"
    "    els = seg.split(b'*')\n"
    "    if els[0].strip() == b'CLP':\n"
    "        total += Decimal(els[4].decode())\n"
    "        n += 1\n"
    "print('claims', n)\n"
)


def edi_command() -> list[str]:
    """The installed ``edi`` beside this interpreter, or ``python -m cli.main`` from the checkout."""
    exe = Path(sys.executable).with_name("edi")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cli.main"]


def timed(argv: list[str], *, env: dict | None = None, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
          timeout: float = 1800) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of one process, its output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env, cwd=ROOT)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return float("inf"), 0.0, -9
        time.sleep(0.002)
    secs = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return secs, usage.ru_maxrss / 1024, proc.returncode


def best(argv: list[str], runs: int, *, before=None, env: dict | None = None) -> tuple[float, float, int]:
    results = []
    for _ in range(runs):
        if before:
            before()
        results.append(timed(argv, env=env))
    secs = min(r[0] for r in results)
    return secs, max(r[1] for r in results), results[-1][2]


def line(name: str, secs: float, size_mb: float | None, rss: float, code: int, floor: float | None = None,
         extra: str = "") -> None:
    rate = f"{size_mb / secs:8.1f}" if size_mb else f"{'':8}"
    ratio = f"{floor / secs:7.0%}" if floor else f"{'':7}"
    flag = "" if code in (0, None) else f"  (exit {code})"
    print(f"  {name:44}{secs:8.2f}{rate}{ratio}{rss:8.0f}{flag}{extra}")


def remit_commands(path: Path, claims: int, runs: int, peers: Path, tmp: Path) -> None:
    size = path.stat().st_size / 1e6
    edi = edi_command()
    print(f"835: {size:.1f} MB; each command a fresh process, output to /dev/null, best of {runs}")
    print(f"  {'':44}{'seconds':>8}{'MB/s':>8}{'floor':>7}{'RSS MB':>8}")
    floor_secs, floor_rss, _ = best([sys.executable, "-c", FLOOR, str(path)], runs)
    line("floor (split + Decimal, no model, no output)", floor_secs, size, floor_rss, 0, floor_secs)
    results: dict[str, float] = {}
    export_dir = tmp / "export"

    def clear_export() -> None:
        shutil.rmtree(export_dir, ignore_errors=True)

    for name, args, before in (
        ("edi remit show --json", ["remit", "show", "--json", str(path)], None),
        ("edi remit show --nl", ["remit", "show", "--nl", str(path)], None),
        ("edi remit show (the EOB view)", ["remit", "show", str(path)], None),
        ("edi x12 validate", ["x12", "validate", str(path)], None),
        ("edi remit export --out DIR (CSV)", ["remit", "export", str(path), "--out", str(export_dir)], clear_export),
        ("edi remit export --format ndjson", ["remit", "export", str(path), "--out", str(export_dir), "--format",
                                              "ndjson"], clear_export),
    ):
        secs, rss, code = best(edi + args, runs, before=before)
        results[name] = secs
        line(name, secs, size, rss, code, floor_secs)
    # the same commands with one process (a large 835 is read by one process per core: cli.parts)
    one = {**os.environ, "EDI_READ_PARTS": "1"}
    for name, args, before in (
        ("edi remit show --json, one process", ["remit", "show", "--json", str(path)], None),
        ("edi remit export (CSV), one process", ["remit", "export", str(path), "--out", str(export_dir)],
         clear_export),
    ):
        secs, rss, code = best(edi + args, runs, before=before, env=one)
        line(name, secs, size, rss, code, floor_secs)
    # x12sdk 2.2 fails on a transaction with two PLB segments: the peers read (and edi is timed again on) the
    # same claims written with one PLB per transaction
    same = tmp / "one-plb.835"
    with open(same, "wb") as fp:
        write_835(fp, claims, one_plb=True)
    mine, mine_rss, mine_code = best(edi + ["remit", "show", "--json", str(same)], runs)
    line("edi remit show --json (one PLB per ST)", mine, size, mine_rss, mine_code, floor_secs)
    for name, code in PEERS.items():
        python = peers / "venvs" / name / "bin" / "python"
        if not python.exists():
            print(f"  {name:44}not installed ({python} absent; see ../shared/docs/peers/mkvenvs.sh)")
            continue
        with open(tmp / f"{name}.stderr", "w+") as err:
            secs, rss, rc = timed([str(python), "-c", code, str(same)], stderr=err)
            err.seek(0)
            said = (err.read().strip().splitlines() or ["?"])[-1][:80]
        if rc != 0:
            print(f"  {name:44}failed after {secs:.1f} s: {said}")
            continue
        line(f"{name} (parse only, no output)", secs, size, rss, rc, floor_secs,
             f"   edi remit show --json is {secs / mine:.1f}x faster")


def memory_growth(path: Path, tmp: Path, big_mb: int) -> None:
    if not big_mb:
        return
    big = tmp / "big.835"
    written = repeated(path, big, big_mb)
    edi = edi_command()
    small = timed(edi + ["remit", "show", "--json", str(path)])
    large = timed(edi + ["remit", "show", "--json", str(big)])
    print(f"memory as the input grows: edi remit show --json peak RSS {small[1]:.0f} MB on "
          f"{path.stat().st_size / 1e6:.0f} MB, {large[1]:.0f} MB on {written / 1e6:.0f} MB "
          f"({written / 1e6 / large[0]:.1f} MB/s)")
    big.unlink()


def ledger_views(name: str, url: str, claims: int, tmp: Path, runs: int) -> None:
    f837, f835 = tmp / "views.837", tmp / "views.835"
    if not f837.exists():
        with open(f837, "wb") as fp:
            write_837(fp, claims)
        with open(f835, "wb") as fp:
            write_835(fp, claims)
    env = {**os.environ, "EDI_DATABASE_URL": url}
    edi = edi_command()
    t = time.perf_counter()
    for args in (["claims", "record", str(f837)], ["remit", "import", str(f835)]):
        rc = subprocess.run(edi + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT).returncode
        if rc not in (0, 1):
            print(f"{name}: edi {' '.join(args[:2])} failed (exit {rc})")
            return
    print(f"ledger views, {name}: {claims:,} claims recorded and paid in {time.perf_counter() - t:.0f} s; "
          f"best of {runs}")
    print(f"  {'':44}{'seconds':>8}{'':8}{'':7}{'RSS MB':>8}")
    pcn = f"PCN{claims // 2:07d}"
    for label, args in (
        ("edi ledger claims (table)", ["ledger", "claims"]),
        ("edi ledger claims --json", ["ledger", "claims", "--json"]),
        ("edi ledger claims --nl", ["ledger", "claims", "--nl"]),
        ("edi ledger claims --limit 100", ["ledger", "claims", "--limit", "100"]),
        (f"edi ledger claim {pcn}", ["ledger", "claim", pcn]),
        ("edi reconcile", ["reconcile"]),
        ("edi ledger check", ["ledger", "check"]),
    ):
        results = []
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.Popen(edi + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    cwd=ROOT)
            _, status, usage = os.wait4(proc.pid, 0)
            results.append((time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)))
        line(label, min(r[0] for r in results), None, max(r[1] for r in results), results[-1][2])
    from edi.ledger import Ledger

    ledger = Ledger(url)
    ledger.claim(pcn)  # connection and statement caches warm, as in a long-lived process
    start = time.perf_counter()
    story = ledger.claim(pcn)
    print(f"  Ledger.claim({pcn}) alone: {(time.perf_counter() - start) * 1000:.0f} ms "
          f"({len(story['claims']) if story else 0} claim)")
    ledger.close()


def main() -> None:
    # The commands run as on a user's machine, with Python's bytecode cache: an installed edi has its .pyc files,
    # and PYTHONDONTWRITEBYTECODE (set on some machines) would compile a checkout's modules again in every process.
    # The first of each command's runs writes the cache; the best of the runs is reported.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    ap = argparse.ArgumentParser(description="edi commands as whole processes, beside the floor and the peers")
    ap.add_argument("--claims", type=int, default=50000, help="claims in the generated 835")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-mb", type=int, default=216, help="size of the memory-growth input (0 to skip)")
    ap.add_argument("--ledger-claims", type=int, default=100000, help="claims in the ledger views' ledger (0 skips)")
    ap.add_argument("--postgres", default=None, help="also time the ledger views on this PostgreSQL URL")
    ap.add_argument("--peers", default=os.path.join(tempfile.gettempdir(), "edi-peers"),
                    help="folder made by mkvenvs.sh (venvs/<package>/bin/python); skipped when absent")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        path = tmp / "synthetic.835"
        with open(path, "wb") as fp:
            write_835(fp, a.claims)
        remit_commands(path, a.claims, a.runs, Path(a.peers), tmp)
        memory_growth(path, tmp, a.big_mb)
        if a.ledger_claims:
            ledger_views("SQLite", f"sqlite:///{tmp / 'views.db'}", a.ledger_claims, tmp, a.runs)
            if a.postgres:
                with fresh_schema(a.postgres) as url:
                    ledger_views("PostgreSQL", url, a.ledger_claims, tmp, a.runs)


if __name__ == "__main__":
    main()
