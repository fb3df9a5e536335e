"""The whole loop, end to end: encounters to a reconciled, checked ledger through a simulated clearinghouse.

    python benchmarks/end_to_end.py [--claims 100000] [--postgres URL] [--jobs N]

Generates ``--claims`` synthetic encounters (NDJSON, seeded: ``mappings.demo.synthetic_encounters``, professional and
institutional, for the payers of samples/edi.toml, a few the payer rejects), then, in a fresh process, with the
sample configuration given a directory transport per clearinghouse and a ledger in SQLite (a file in a temporary
folder) or, with ``--postgres URL`` (or ``EDI_TEST_POSTGRES_URL``), PostgreSQL (a fresh schema, dropped afterwards):

1. build: ``edi claims build`` (check, map, write the 837s, record the claims as built);
2. submit: ``edi claims submit --all-built`` into the clearinghouses' outboxes;
3. simulate: ``edi simulate clearinghouse``: a 999, a 277CA and 835s for each 837, into the inboxes;
4. fetch+import: ``edi inbox fetch``: every answer downloaded, archived and imported;
5. reconcile and check: ``edi reconcile``, ``edi ledger check``.

Prints, per stage, the wall time, claims/s and the CPU each claim costs (this process's, and the build's worker
processes'), the total, and the peak RSS of the process (and of the largest build worker).

Targets (issue 14): 100,000 claims from encounters to a reconciled, checked ledger in under 90 s on SQLite on a
2-core machine; peak RSS flat (under 300 MB per process).
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

STAGES = ("build", "submit", "simulate", "fetch+import", "reconcile", "check")


def write_encounters(path: Path, n: int) -> None:
    from mappings.demo import synthetic_encounters

    with open(path, "w", encoding="utf-8") as fp:
        for enc in synthetic_encounters(n, seed=17, prefix="E2E"):
            fp.write(json.dumps(enc) + "\n")


def run(encounters: str, workdir: str, url: str, jobs: int) -> dict:
    """In a fresh process: the stages, timed (wall, and CPU of this process and its children), and the peak RSS."""
    import resource
    from datetime import datetime

    from edi.fees import load_fee_schedule
    from edi.ledger import Ledger
    from edi.simulate import Mailbox, answer_mailbox
    from mappings.build import build_files
    from mappings.config import load_config
    from mappings.demo import directory_transports
    from mappings.exchange import fetch, submit

    def cpu() -> tuple[float, float]:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    work = Path(workdir)
    sample = (ROOT / "samples" / "edi.toml").read_text(encoding="utf-8")
    config_path = work / "edi.toml"
    config_path.write_text(directory_transports(sample, ["synthhub", "testbridge"]), encoding="utf-8")
    config = load_config(config_path)
    for ch in config.clearinghouses.values():
        Path(ch.transport.outbox).mkdir(parents=True)
        Path(ch.transport.inbox).mkdir(parents=True)
    fees = load_fee_schedule(ROOT / "samples" / "fee_schedule.csv")
    keys = {p.payer_id: k for k, p in config.payers.items()}
    names = {p.payer_id: p.name for p in config.payers.values()}
    now = datetime(2026, 1, 5, 10, 0)
    ledger = Ledger(url)
    out: dict = {"stages": {}}

    edi_rss = 0.0

    def stage(name: str, fn):
        nonlocal edi_rss
        reset = reset_peak_rss()
        c0 = cpu()
        t = time.perf_counter()
        value = fn()
        c1 = cpu()
        peak = vmhwm_mb()
        edi_rss = max(edi_rss, peak)
        out["stages"][name] = {"seconds": time.perf_counter() - t, "cpu": c1[0] - c0[0], "workers_cpu": c1[1] - c0[1],
                               "rss_mb": peak if reset else None}
        return value

    built = stage("build", lambda: build_files([encounters], config, ledger=ledger, out_dir=str(work / "out"),
                                               today=now.date(), now=now, jobs=jobs))
    sent = stage("submit", lambda: submit(None, config, ledger, now=now))
    answered = stage("simulate", lambda: [
        a for ch in config.clearinghouses.values()
        for a in answer_mailbox(Mailbox(ch.key, Path(ch.transport.outbox), Path(ch.transport.inbox)), fees=fees,
                                seed=1, payer_keys=keys, payer_names=names).answered])
    fetched = stage("fetch+import", lambda: fetch(config, ledger, now=now, archive=work / "archive"))
    rec = stage("reconcile", ledger.reconcile)
    problems = stage("check", ledger.check)
    ledger.close()  # edi_rss is the stages' peak: pyx12's comparison below holds a whole transaction set in memory
    out["pyx12"] = pyx12_cost(work / "archive")
    out.update(claims=built.claims, skipped=len(built.skipped), submitted=sum(s.claims for s in sent),
               answered=sum(a.claims for a in answered), rejected=sum(a.rejected for a in answered),
               payments=sum(a.payments for a in answered), answers=sum(len(a.files) for a in answered),
               imported=sum(1 for f in fetched if f.outcome == "imported"), fetched=len(fetched),
               not_imported=[f"{f.remote_name}: {f.outcome} {f.message}" for f in fetched if not f.ok][:5],
               balanced=rec["totals"]["balanced"], check="ok" if not problems else f"{len(problems)} violations",
               rss_mb=edi_rss, worker_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return out


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux: ``5`` written to ``/proc/self/clear_refs``), so that
    each stage's peak is its own; False where that cannot be done (the stage's peak is then not shown)."""
    try:
        with open("/proc/self/clear_refs", "w") as fp:
            fp.write("5")
    except OSError:
        return False
    return True


def pyx12_cost(archive: Path) -> dict:
    """pyx12's deep validation of one 835 transaction set (the first of the smallest 835 fetched), for comparison
    with the stages above: seconds, and per claim."""
    from edi.validate import validate_bytes

    smallest = min((p for p in archive.rglob("*.835")), key=lambda p: p.stat().st_size)
    one: list[str] = []
    with open(smallest, encoding="utf-8") as fp:  # up to the first SE only: the file may hold 100 MB
        for line in fp:
            one.append(line.rstrip("\n"))
            if line.startswith("SE*"):
                break
    one += [f"GE*1*{one[1].split('*')[6]}~", f"IEA*1*{one[0].split('*')[13]}~"]
    data = ("\n".join(one) + "\n").encode()
    claims = sum(1 for line in one if line.startswith("CLP*"))
    t = time.perf_counter()
    report = validate_bytes(data, deep=True)
    return {"seconds": time.perf_counter() - t, "claims": claims, "segments": len(one),
            "errors": sum(1 for p in report.problems if p.is_error and p.code.startswith("pyx12")
                          and not (p.code == "pyx12.segment.4" and p.where.tag == "PLB"))}


def report(label: str, r: dict) -> None:
    n = r["claims"]
    total = sum(s["seconds"] for s in r["stages"].values())
    print(f"{label}: {n:,} claims built ({r['skipped']} skipped), {r['submitted']:,} submitted, {r['answered']:,} "
          f"answered ({r['rejected']:,} rejected by the 277CA, {r['payments']} payments), {r['imported']} of "
          f"{r['fetched']} answer files imported; reconcile balanced: {r['balanced']}; ledger check: {r['check']}")
    for problem in r["not_imported"]:
        print(f"  not imported: {problem}")
    print(f"  {'stage':<13}{'seconds':>9}{'claims/s':>11}{'CPU us/claim':>14}{'peak MB':>9}")
    for name in STAGES:
        s = r["stages"][name]
        cpu = (s["cpu"] + s["workers_cpu"]) * 1e6 / n
        rss = f"{s['rss_mb']:>9.0f}" if s.get("rss_mb") is not None else f"{'-':>9}"
        print(f"  {name:<13}{s['seconds']:>9.1f}{n / s['seconds']:>11,.0f}{cpu:>14,.0f}{rss}")
    print(f"  {'total':<13}{total:>9.1f}{n / total:>11,.0f}")
    workers = f"; each build worker at most {r['worker_rss_mb']:.0f} MB" if r["worker_rss_mb"] else ""
    print(f"  peak RSS {r['rss_mb']:.0f} MB (edi's stages){workers}")
    p = r["pyx12"]
    print(f"  for comparison, pyx12's deep validation of one 835 transaction set ({p['claims']:,} claims, "
          f"{p['segments']:,} segments): {p['seconds']:.1f} s, {p['seconds'] * 1e6 / max(p['claims'], 1):,.0f} us "
          f"per claim ({p['errors']} errors)")


def one(label: str, url: str, enc: Path, work: Path, jobs: int) -> None:
    code = ("import sys, json; sys.path.insert(0, sys.argv[4]); from benchmarks.end_to_end import run; "
            "print(json.dumps(run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[5]))))")
    out = subprocess.run([sys.executable, "-c", code, str(enc), str(work), url, str(ROOT), str(jobs)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    report(label, json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description="edi end-to-end benchmark: encounters to a reconciled, checked ledger")
    ap.add_argument("--claims", type=int, default=100000)
    ap.add_argument("--postgres", default=None, help="also run on PostgreSQL (a fresh schema, dropped afterwards); "
                    "default: $EDI_TEST_POSTGRES_URL when set")
    ap.add_argument("--jobs", type=int, default=0, help="build worker processes (0: one per CPU core, as `edi claims "
                    "build`)")
    ap.add_argument("--skip-sqlite", action="store_true", help="run on PostgreSQL only (with --postgres)")
    a = ap.parse_args()
    if a.skip_sqlite and not (a.postgres or os.environ.get("EDI_TEST_POSTGRES_URL")):
        ap.error("--skip-sqlite needs --postgres URL (or EDI_TEST_POSTGRES_URL)")
    jobs = a.jobs or min(os.cpu_count() or 1, 8)
    pg = a.postgres or os.environ.get("EDI_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        enc = Path(tmp) / "encounters.ndjson"
        t = time.perf_counter()
        write_encounters(enc, a.claims)
        print(f"{a.claims:,} encounters generated ({enc.stat().st_size / 1e6:.1f} MB NDJSON) in "
              f"{time.perf_counter() - t:.1f} s; build with {jobs} worker processes ({os.cpu_count()} CPU cores)")
        if not a.skip_sqlite:
            work = Path(tmp) / "sqlite"
            work.mkdir()
            one("SQLite", f"sqlite:///{work / 'edi.db'}", enc, work, jobs)
        if pg:
            work = Path(tmp) / "postgres"
            work.mkdir()
            with fresh_schema(pg) as url:
                one("PostgreSQL", url, enc, work, jobs)


if __name__ == "__main__":
    main()
