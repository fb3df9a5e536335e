"""Several `edi remit import` processes against one PostgreSQL at once: every file is posted exactly once,
nothing deadlocks, and `edi ledger check` passes afterwards."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest
from test_ledger import claim, write_835, write_837

from edi.ledger import Ledger


def _import(args: tuple[str, str]) -> tuple[str, str]:
    url, path = args
    ledger = Ledger(url)
    try:
        result = ledger.import_835(path)
        return Path(path).name, result.outcome
    finally:
        ledger.close()


def _body(pcns: list[str]) -> tuple[str, str]:
    body = "".join(f"CLP*{p}*1*100*10**12*I{p}*11*1~\nCAS*CO*45*90~\nNM1*QC*1*DOE*JANE****MI*M123~\n" for p in pcns)
    return body, str(10 * len(pcns))


def test_four_processes_eight_files_and_a_duplicate(tmp_path, pg_url):
    if pg_url is None:
        pytest.skip("EDI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    pcns = [f"PCC{i:03d}" for i in range(40)]
    ledger = Ledger(pg_url)
    assert ledger.record_837(write_837(tmp_path, "claims.837", [claim(p, ("99213", "100")) for p in pcns])).ok
    ledger.close()
    files = []
    for k in range(8):
        # every claim is paid in small pieces by several files, in different orders, so that the importers
        # contend for the same claim rows
        mine = pcns[k * 5:(k + 1) * 5] + pcns[::-1][k * 3:(k * 3) + 3]
        body, amount = _body(mine)
        files.append(write_835(tmp_path, f"era{k}.835", body, amount, f"EFTC{k}"))
    shutil.copy(files[0], tmp_path / "era0-copy.835")
    files.append(str(tmp_path / "era0-copy.835"))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        outcomes = dict(pool.map(_import, [(pg_url, f) for f in files]))
    assert sorted(outcomes.values()) == ["already"] + ["imported"] * 8
    assert {outcomes["era0.835"], outcomes["era0-copy.835"]} == {"imported", "already"}
    ledger = Ledger(pg_url)
    try:
        assert ledger.check() == []
        rec = ledger.reconcile()
        assert sorted(p["trace_number"] for p in rec["payments"]) == [f"EFTC{k}" for k in range(8)]
        assert all(p["balanced"] for p in rec["payments"])
        paid = {c.patient_control_number: c.paid for c in ledger.claims()}
        expected: dict[str, int] = {}
        for k in range(8):
            for p in pcns[k * 5:(k + 1) * 5] + pcns[::-1][k * 3:(k * 3) + 3]:
                expected[p] = expected.get(p, 0) + 10
        assert {p: int(v) for p, v in paid.items()} == {p: expected.get(p, 0) for p in pcns}
    finally:
        ledger.close()


def _numbers(args: tuple[str, str, float]) -> list[int]:
    import time

    url, scope, start = args
    ledger = Ledger(url)
    try:
        control = ledger.control_numbers(scope)
        time.sleep(max(0.0, start - time.time()))  # every process asks at the same moment
        return [control.next("interchange") for _ in range(5)]
    finally:
        ledger.close()


def test_four_processes_take_control_numbers_of_a_new_receiver_at_once(pg_url):
    """The first number for a receiver is a new row: four processes asking at the same moment each get their own
    numbers (one crashed with a unique violation before)."""
    if pg_url is None:
        pytest.skip("EDI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    Ledger(pg_url).close()
    ctx = multiprocessing.get_context("spawn")
    import time

    for round_ in range(3):
        with ctx.Pool(4) as pool:
            got = pool.map(_numbers, [(pg_url, f"ZZ:NEWHUB{round_}", time.time() + 4)] * 4)
        numbers = sorted(n for part in got for n in part)
        assert numbers == list(range(1, 21)), numbers
