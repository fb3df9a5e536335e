"""`edi simulate payer` and `edi simulate clearinghouse`: answers written, refusals in one line, and the whole loop
(`claims build`, `claims submit`, `simulate clearinghouse`, `inbox fetch`) against a directory clearinghouse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CLAIMS = str(SAMPLES / "837" / "synthetic-claims.837")
FEES = str(SAMPLES / "fee_schedule.csv")
runner = CliRunner(env={"COLUMNS": "200"})


def simulate(*args: str, env: dict | None = None):
    return runner.invoke(app, ["simulate", *args], env=env)


def test_payer_writes_a_999_a_277ca_and_835s(tmp_path):
    out = tmp_path / "answers"
    r = simulate("payer", CLAIMS, "--fee-schedule", FEES, "--out", str(out), "--seed", "5")
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert names[:2] == ["synthetic-claims_1.999", "synthetic-claims_2.277"]
    assert names[2:] and all(n.startswith("synthetic-claims_") and n.endswith(".835") for n in names[2:])
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{CLAIMS}: 6 claims: ") and "accepted" in first and "payments" in first
    assert [line.strip() for line in r.stdout.splitlines()[1:]] == [f"wrote {out / n}" for n in names]
    # answered again into the same folder: nothing is replaced
    again = simulate("payer", CLAIMS, "--fee-schedule", FEES, "--out", str(out), "--seed", "5")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_payer_json_and_the_same_seed_gives_the_same_bytes(tmp_path):
    docs = []
    for name in ("a", "b"):
        r = simulate("payer", CLAIMS, "--fee-schedule", FEES, "--out", str(tmp_path / name), "--seed", "11",
                     "--json")
        assert r.exit_code == 0, r.output
        docs.append(json.loads(r.stdout))
    (doc,) = docs[0]
    assert doc["claims"] == 6 and doc["accepted"] + doc["rejected"] == 6 and len(doc["files"]) >= 3
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a == b


@pytest.mark.parametrize(("args", "code", "words"), [
    (["missing.837"], 2, "missing.837: no such file"),
    ([str(SAMPLES / "835" / "synthetic-payment.835")], 1, "holds an 835 remittance, not 837 claims"),
    ([str(SAMPLES / "acks" / "synthetic-claims.999")], 1, "not 837 claims"),
    ([CLAIMS, "--seed", "abc"], 2, "--seed 'abc' is not a whole number"),
    ([CLAIMS, "--seed", "-1"], 2, "--seed -1 is out of range"),
    ([CLAIMS, "--fee-schedule", "nowhere.csv"], 2, "nowhere.csv: no such file"),
    ([CLAIMS, "--config", "nowhere.toml"], 2, "nowhere.toml"),
])
def test_payer_refusals_are_one_line(tmp_path, args, code, words):
    r = simulate("payer", *args, "--out", str(tmp_path / "out"))
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_bad_fee_schedule_is_named_by_its_line(tmp_path):
    bad = tmp_path / "fees.csv"
    bad.write_text("payer,code,modifier,allowed\n*,99213,,ninety\n")
    r = simulate("payer", CLAIMS, "--fee-schedule", str(bad), "--out", str(tmp_path / "out"))
    assert r.exit_code == 2 and "line 2: allowed 'ninety' is not an amount" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_an_out_folder_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "f").write_text("x")
    r = simulate("payer", CLAIMS, "--out", str(tmp_path / "f"))
    assert r.exit_code == 2 and "is not a folder" in r.stderr


# -- the whole loop through a directory clearinghouse ------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    from mappings.demo import directory_transports

    (tmp_path / "edi.toml").write_text(directory_transports((SAMPLES / "edi.toml").read_text(),
                                                            ["synthhub", "testbridge"], folder="mail"))
    for ch in ("synthhub", "testbridge"):
        for box in ("outbox", "inbox"):
            (tmp_path / "mail" / ch / box).mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path, {"EDI_DATABASE_URL": f"sqlite:///{tmp_path / 'edi.db'}", "COLUMNS": "200"}


def edi(env: dict, *args: str):
    r = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in r.output
    return r


def test_claims_submit_simulate_clearinghouse_inbox_fetch(workspace):
    ws, env = workspace
    assert edi(env, "claims", "build", str(SAMPLES / "encounters" / "encounters.json")).exit_code in (0, 1)
    assert edi(env, "claims", "submit", "--all-built").exit_code == 0
    assert sorted(p.name for p in (ws / "mail" / "synthhub" / "outbox").iterdir()) == ["synthhub-000000001.837"]

    r = edi(env, "simulate", "clearinghouse", "--seed", "3")
    assert r.exit_code == 0, r.output
    assert "synthhub/outbox/processed/synthhub-000000001.837: 5 claims:" in r.stdout
    assert [p.name for p in (ws / "mail" / "synthhub" / "outbox").iterdir()] == ["processed"]
    inbox = sorted(p.name for p in (ws / "mail" / "synthhub" / "inbox").iterdir())
    assert inbox[:2] == ["synthhub-000000001_1.999", "synthhub-000000001_2.277"] and len(inbox) >= 3

    fetched = edi(env, "inbox", "fetch", "--json")
    assert fetched.exit_code == 0, fetched.output
    outcomes = {(f["clearinghouse"], f["remote_name"]): f["outcome"] for f in json.loads(fetched.stdout)}
    assert set(outcomes.values()) == {"imported"} and len(outcomes) >= 6
    claims = json.loads(edi(env, "ledger", "claims", "--json").stdout)
    assert {c["status"] for c in claims} <= {"paid", "denied", "rejected", "voided", "accepted"}
    assert all(c["status"] != "paid" or c["insurance_balance"] == "0.00" for c in claims)
    rec = json.loads(edi(env, "reconcile", "--json").stdout)["totals"]
    assert rec["balanced"] and rec["unbalanced_payments"] == 0 and rec["suspense"] == "0.00"
    assert edi(env, "ledger", "check").exit_code == 0

    # answered once: a second run finds nothing; a file that is not an 837 is left where it is
    (ws / "mail" / "testbridge" / "outbox" / "readme.txt").write_text("hello")
    again = edi(env, "simulate", "clearinghouse", "--json")
    assert again.exit_code == 0
    doc = {r["clearinghouse"]: r for r in json.loads(again.stdout)}
    assert doc["synthhub"]["answered"] == [] and doc["testbridge"]["answered"] == []
    assert [Path(x["file"]).resolve() for x in doc["testbridge"]["left"]] == [
        (ws / "mail" / "testbridge" / "outbox" / "readme.txt").resolve()]
    assert edi(env, "inbox", "fetch").stdout.startswith("0 new files")


def test_clearinghouse_needs_a_directory_transport(tmp_path):
    r = simulate("clearinghouse", "--config", str(SAMPLES / "edi.toml"))
    assert r.exit_code == 2 and "no clearinghouse has a directory transport" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_clearinghouse_with_a_missing_outbox_is_a_usage_error(workspace):
    ws, env = workspace
    (ws / "mail" / "testbridge" / "outbox").rmdir()
    r = edi(env, "simulate", "clearinghouse")
    assert r.exit_code == 2 and "outbox" in r.stderr and "is not a folder" in r.stderr


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--out", "", "--out: give a folder"), ("--out", "  ", "--out: give a folder"),
    ("--config", "", "--config: give a file")])
def test_an_empty_option_is_not_taken_for_its_default(tmp_path, monkeypatch, option, value, words):
    monkeypatch.chdir(tmp_path)
    args = ["payer", CLAIMS, option, value] + (["--out", "answers"] if option != "--out" else [])
    r = simulate(*args)
    assert r.exit_code == 2 and words in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []
