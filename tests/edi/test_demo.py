"""`edi demo` runs the whole loop, and what it prints agrees with `edi reconcile --json` on its workspace."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from cli.main import app

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
    # the story the demo tells: a payment with CO/PR, a denial, a reversal and correction, PLB, suspense
    claims = {c["patient_control_number"]: c for c in json.loads(runner.invoke(
        app, ["ledger", "claims", "--json", "--db", f"sqlite:///{tmp_path / 'edi.db'}"]).stdout)}
    assert claims["ENC-P-0001"]["status"] == "paid" and claims["ENC-P-0001"]["adjustments"]["PR"] == "29.00"
    assert claims["ENC-P-0003"]["status"] == "denied" and claims["ENC-P-0003"]["insurance_balance"] == "402.40"
    assert claims["ENC-I-0002"]["paid"] == "6350.00" and claims["ENC-I-0002"]["insurance_balance"] == "0.00"
    assert totals["suspense"] == "60.00" and totals["provider_adjustments"] == "-4.25"
    assert (tmp_path / "out").is_dir() and len(list((tmp_path / "out").glob("*.837"))) == 2


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
