"""Text that is not UTF-8 (a Latin-1 byte in a payer name, a patient control number, a trace number, a member
id) follows one rule: it is kept as ``\\xNN`` escapes, with an ``x12.text.not_utf8`` warning naming the segment.

Every command that reads such a file runs to its end, without a traceback, under a C.UTF-8 locale and under
en_US.UTF-8 (where Python encodes standard output strictly: the escapes are what made these commands crash);
the ledger stores the escaped text on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
runner = CliRunner(env={"COLUMNS": "200"})


def _locales() -> list[tuple[str, dict[str, str]]]:
    """C.UTF-8, and en_US.UTF-8 when installed, else its strict standard output emulated."""
    listed = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().split()
    strict = ({"LC_ALL": "en_US.UTF-8"} if "en_us.utf8" in listed
              else {"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"})
    return [("C.UTF-8", {"LC_ALL": "C.UTF-8"}), ("en_US.UTF-8", strict)]


LOCALES = _locales()


def bad_835(tmp: Path) -> Path:
    """The sample 835 with a byte that is not UTF-8 in the payer's name, a trace number, a claim number and a
    member id."""
    data = (SAMPLES / "835" / "synthetic-payment.835").read_bytes()
    data = data.replace(b"N1*PR*SYNTH HEALTH PLAN", b"N1*PR*SYNTH H\xc9ALTH PLAN", 1)
    data = data.replace(b"TRN*1*EFT000000001", b"TRN*1*EFT\xff00000001", 1)
    data = data.replace(b"CLP*PCN0000001", b"CLP*PCN\xe90000001", 1)
    data = re.sub(rb"(NM1\*QC\*1\*[^~]*\*MI\*)", lambda m: m.group(1) + b"M\xdc", data, count=1)
    path = tmp / "latin1.835"
    path.write_bytes(data)
    return path


def bad_837(tmp: Path) -> Path:
    data = (SAMPLES / "837" / "synthetic-claims.837").read_bytes()
    data = data.replace(b"MI*MBR96253980~", b"MI*MBR\xe96253980~", 1).replace(b"NM1*IL*1*WILSON", b"NM1*IL*1*W\xcfLSON",
                                                                            1)
    path = tmp / "latin1.837"
    path.write_bytes(data)
    return path


def edi(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k not in ("LANG", "PYTHONIOENCODING")}
    full.update(env, COLUMNS="200", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, env=full, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize(("name", "env"), LOCALES, ids=[n for n, _ in LOCALES])
def test_every_reading_command_prints_the_escapes_under_each_locale(tmp_path, name, env):
    path = str(bad_835(tmp_path))
    runs = {
        "remit show": edi(["remit", "show", path], env, tmp_path),
        "remit show --json": edi(["remit", "show", path, "--json"], env, tmp_path),
        "x12 view": edi(["x12", "view", path], env, tmp_path),
        "x12 validate": edi(["x12", "validate", path], env, tmp_path),
        "remit export": edi(["remit", "export", path, "--out", str(tmp_path / "out")], env, tmp_path),
        "remit import": edi(["remit", "import", path, "--db", f"sqlite:///{tmp_path / 'edi.db'}"], env, tmp_path),
        "claims record": edi(["claims", "record", str(bad_837(tmp_path)), "--db",
                              f"sqlite:///{tmp_path / 'edi.db'}"], env, tmp_path),
    }
    for what, run in runs.items():
        err = run.stderr.decode("utf-8")
        assert b"Traceback" not in run.stdout + run.stderr, f"{what} under {name}: {err}"
        assert run.returncode == 0, f"{what} under {name}: {err}"
        run.stdout.decode("utf-8")  # every byte written is UTF-8
    assert "SYNTH H\\xC9ALTH PLAN" in runs["remit show"].stdout.decode()
    doc = json.loads(runs["remit show --json"].stdout)
    assert doc["payments"][0]["trace_number"] == "EFT\\xFF00000001"
    assert doc["payments"][0]["claims"][0]["patient_control_number"] == "PCN\\xE90000001"
    assert {p["tag"] for p in doc["problems"] if p["code"] == "x12.text.not_utf8"} == {"TRN", "N1", "CLP", "NM1"}
    assert "x12.text.not_utf8" in runs["x12 validate"].stdout.decode()
    assert "EFT\\xFF00000001" in runs["x12 view"].stdout.decode()
    claims_csv = (tmp_path / "out" / "claims.csv").read_text(encoding="utf-8")
    assert "PCN\\xE90000001" in claims_csv


def test_the_ledger_stores_the_escaped_text_on_every_database(tmp_path, db):
    recorded = runner.invoke(app, ["claims", "record", str(bad_837(tmp_path)), "--db", db])
    assert recorded.exit_code == 0, recorded.output
    posted = runner.invoke(app, ["remit", "import", str(bad_835(tmp_path)), "--db", db])
    assert posted.exit_code == 0, posted.output
    assert "x12.text.not_utf8" in posted.output
    rec = json.loads(runner.invoke(app, ["reconcile", "--json", "--db", db]).stdout)
    assert rec["payments"][0]["trace_number"] == "EFT\\xFF00000001"
    assert rec["payments"][0]["payer"] == "SYNTH H\\xC9ALTH PLAN"
    assert [s["patient_control_number"] for s in rec["suspense"]] == ["PCN\\xE90000001"]
    check = runner.invoke(app, ["ledger", "check", "--json", "--db", db])
    assert json.loads(check.stdout)["ok"] is True
