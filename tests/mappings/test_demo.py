"""`edi demo` runs the whole loop (build, submit, a simulated clearinghouse and payer, fetch, reconcile, check),
and what it prints agrees with `edi reconcile --json` on its workspace."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime

import pytest
from typer.testing import CliRunner

from cli.main import app
from mappings.demo import run_demo, source_date

runner = CliRunner(env={"COLUMNS": "200"})


def test_demo_runs_and_its_totals_equal_reconcile(tmp_path):
    result = runner.invoke(app, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    rec = runner.invoke(app, ["reconcile", "--json", "--db", f"sqlite:///{tmp_path / 'edi.db'}"])
    assert rec.exit_code == 0
    totals = json.loads(rec.stdout)["totals"]

    def shown(label: str) -> str:
        return re.search(rf"^{re.escape(label)}:\s+(.+)$", out, re.M).group(1).strip()

    assert shown("Payments received") == f"{totals['payments']} payments, {totals['amount']}"
    assert shown("Paid to claims") == totals["matched_paid"]
    assert shown("Unmatched (in suspense)") == totals["suspense"]
    assert shown("Provider adjustments") == totals["provider_adjustments"]
    assert shown("Every payment balances") == "yes"
    assert shown("Ledger check") == "ok"
    # the story the demo tells: claims rejected by the 277CA and denied by the 835, each listed by reason
    claims = json.loads(runner.invoke(app, ["ledger", "claims", "--json", "--db",
                                            f"sqlite:///{tmp_path / 'edi.db'}"]).stdout)
    by_status = Counter(c["status"] for c in claims)
    assert by_status["paid"] > 100 and by_status["denied"] > 0 and by_status["rejected"] > 0
    assert all(c["insurance_balance"] == "0.00" for c in claims if c["status"] == "paid")
    assert all(c["denied"] == c["billed"] == c["insurance_balance"] for c in claims if c["status"] == "denied")
    assert all("277CA" in c["status_reason"] for c in claims if c["status"] == "rejected")

    def listed(title: str) -> dict[str, int]:
        block = out.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0]
        return {line.split(None, 1)[1]: int(line.split(None, 1)[0]) for line in block.splitlines()}

    rejected = listed("Rejected by the 277CA, by reason")
    assert sum(rejected.values()) == by_status["rejected"]
    assert any("A3:33:IL" in reason for reason in rejected) and any("A7:254" in reason for reason in rejected)
    denied = listed("Denied, by reason")
    assert sum(denied.values()) == by_status["denied"] and set(denied) <= {"CO-50 N115", "CO-97 M15", "CO-197 M62"}
    assert totals["suspense"] == "0.00"
    assert (tmp_path / "out").is_dir() and len(list((tmp_path / "out").glob("*.837"))) == 2
    assert len(list((tmp_path / "clearinghouses").glob("*/outbox/processed/*.837"))) == 2
    assert f"what was fetched in {tmp_path / 'inbox'}" in out


def test_the_demo_shows_every_branch_of_the_payer(tmp_path):
    """With a fixed clock the demo's 837s, and so the payer's decisions, are always the same: every branch of the
    policy is in them, and the ledger holds each where it belongs."""
    r = run_demo(tmp_path / "ws", now=datetime(2026, 12, 4, 10, 0))
    assert r.ok and r.check == []
    branches = sum((a.branches for a in r.answered), Counter())
    for branch in ("paid", "denied", "line_denied", "split", "reversed", "late", "recouped", "rejected", "PR-1",
                   "PR-2", "PR-3"):
        assert branches[branch] > 0, branch
    assert sum(a.interest for a in r.answered) > 0 and sum(a.recoupments for a in r.answered) > 0
    assert all(f.outcome == "imported" for f in r.fetched)
    assert r.by_status["rejected"]["claims"] == branches["rejected"]
    assert r.by_status["denied"]["claims"] == branches["denied"]
    assert r.reconciliation["totals"]["balanced"]


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path):
    """The demo writes edi.toml, encounters, out and edi.db: in a folder holding any file it would replace a
    user's own configuration or 837s of the same names."""
    for name in ("edi.db", "edi.toml"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / name).write_text("mine")
        result = runner.invoke(app, ["demo", "--dir", str(folder)])
        assert result.exit_code == 2 and "not an empty folder" in result.stderr
        assert [p.name for p in folder.iterdir()] == [name] and (folder / name).read_text() == "mine"


def test_an_empty_dir_option_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for value in ("", "  "):
        result = runner.invoke(app, ["demo", "--dir", value])
        assert result.exit_code == 2 and "--dir: give a folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_with_source_date_epoch_two_demos_are_the_same(tmp_path):
    """SOURCE_DATE_EPOCH (the reproducible-builds convention) stands for the clock: two runs in different folders
    print the same summary, paths aside, and write byte-identical 837s and 835s (the payer's decisions are seeded
    with each 837's sha256, and an 837 carries the time it was built)."""
    epoch = CliRunner(env={"COLUMNS": "200", "SOURCE_DATE_EPOCH": "1759320000"})  # 2025-10-01 12:00 UTC
    runs = {}
    for name in ("first", "second"):
        result = epoch.invoke(app, ["demo", "--dir", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        runs[name] = result.stdout.replace(str(tmp_path / name), "<workspace>")
    assert runs["first"] == runs["second"]
    files = {name: sorted(p.relative_to(tmp_path / name) for p in (tmp_path / name).rglob("*")
                          if p.suffix in (".837", ".835")) for name in runs}
    assert files["first"] == files["second"]
    assert sum(p.suffix == ".837" for p in files["first"]) >= 4  # built, and each as the clearinghouse kept it
    assert sum(p.suffix == ".835" for p in files["first"]) >= 9  # the payer's answers, and as fetched
    for path in files["first"]:
        assert (tmp_path / "first" / path).read_bytes() == (tmp_path / "second" / path).read_bytes(), path
    isa = (tmp_path / "first" / "out" / "synthhub-000000001.837").read_text()[:106]
    assert isa.split("*")[9:11] == ["251001", "1200"]  # ISA09, ISA10: the epoch's instant, in UTC
    # the ledger recorded and posted at that instant too: everything stands by the end of 2025-10-01, nothing before
    db = f"sqlite:///{tmp_path / 'first' / 'edi.db'}"
    aging = {day: json.loads(runner.invoke(app, ["ledger", "aging", "--as-of", day, "--json", "--db", db]).stdout)
             for day in ("2025-09-30", "2025-10-01")}
    assert aging["2025-09-30"]["total"]["claims"] == 0 and aging["2025-10-01"]["total"]["claims"] > 50


def test_source_date_reads_the_variable_and_none_means_the_clock():
    assert source_date({}) is None and source_date({"SOURCE_DATE_EPOCH": ""}) is None
    assert source_date({"SOURCE_DATE_EPOCH": "0"}) == datetime(1970, 1, 1, 0, 0)
    assert source_date({"SOURCE_DATE_EPOCH": "1759320000"}) == datetime(2025, 10, 1, 12, 0)


@pytest.mark.parametrize("value", ["-1", "1.5", "soon", "1e9", "99999999999999999999"])
def test_a_source_date_epoch_that_is_not_whole_seconds_is_a_usage_error(tmp_path, value):
    result = CliRunner(env={"SOURCE_DATE_EPOCH": value}).invoke(app, ["demo", "--dir", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "SOURCE_DATE_EPOCH" in result.stderr
    assert not (tmp_path / "ws").exists()  # refused before anything is made


def test_a_source_date_epoch_before_the_encounters_is_refused(tmp_path):
    """At 1970-01-01 every encounter's date of service would be in the future and no claim could be built: the
    demo says so and makes nothing, rather than showing an empty ledger."""
    result = CliRunner(env={"SOURCE_DATE_EPOCH": "0"}).invoke(app, ["demo", "--dir", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "dates up to 2025-09-" in result.stderr and "1970-01-01" in result.stderr
    assert not (tmp_path / "ws").exists()
