"""A value longer than the ledger's column for it (edi.ledger.schema, the one source of the lengths) refuses the
file before anything is written, the same way on SQLite (which would keep it) and PostgreSQL (which raised
StringDataRightTruncation and printed the value): a ``ledger.value.too_long`` problem naming the element and the
lengths, never the value; the ledger unchanged and `edi ledger check` passing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from edi.ledger import Ledger

runner = CliRunner(env={"COLUMNS": "200"})
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
LONG_TRACE = "TRACE" + "7" * 76  # 81 characters
LONG_MEMBER = "MBR" + "4" * 78  # 81 characters

# (what the sample says, what the bad file says instead, the words the problem uses, the value)
CASES_835 = [
    ("CAS*PR*1*5~", "CAS*PRX*1*5~", "CAS01 (group code) has 3 characters, more than the 2", "PRX"),
    ("CLP*PCN0000001*1*", "CLP*PCN0000001*123*", "CLP02 (claim status) has 3 characters, more than the 2", "123"),
    ("ST*835*0001~", "ST*835*1234567890~", "ST02 (transaction set control number) has 10 characters", "1234567890"),
    ("TRN*1*EFT000000001*", f"TRN*1*{LONG_TRACE}*", "TRN02 (trace number) has 81 characters", LONG_TRACE),
]


def run(*args: str, db: str):
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def assert_untouched(db: str) -> None:
    rec = run("reconcile", "--json", db=db)
    assert json.loads(rec.stdout)["payments"] == []
    assert json.loads(run("ledger", "claims", "--json", db=db).stdout) == []
    assert json.loads(run("ledger", "check", "--json", db=db).stdout)["ok"] is True


@pytest.mark.parametrize(("old", "new", "words", "value"), CASES_835, ids=["cas01", "clp02", "st02", "trn02"])
def test_an_over_long_835_value_refuses_the_file_on_every_database(tmp_path, db, old, new, words, value):
    text = (SAMPLES / "835" / "synthetic-payment.835").read_text(encoding="utf-8")
    if old.startswith("ST*"):
        text = text.replace("SE*114*0001~", "SE*114*1234567890~")
    assert old in text
    path = tmp_path / "long.835"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = run("remit", "import", str(path), db=db)
    assert result.exit_code == 1, result.output
    assert "refused" in result.output and words in result.output, result.output
    assert value not in result.output  # never the value (it may be PHI)
    assert_untouched(db)


def test_an_over_long_member_id_refuses_the_837_on_every_database(tmp_path, db):
    text = (SAMPLES / "837" / "synthetic-claims.837").read_text(encoding="utf-8")
    path = tmp_path / "long.837"
    path.write_text(text.replace("MI*MBR96253980~", f"MI*{LONG_MEMBER}~", 1), encoding="utf-8")
    result = run("claims", "record", str(path), db=db)
    assert result.exit_code == 1, result.output
    assert "refused" in result.output and "member id (2010BA NM109) has 81 characters" in result.output
    assert LONG_MEMBER not in result.output
    assert_untouched(db)
    ledger = Ledger(db)
    try:
        refused = ledger.record_837(str(path))
    finally:
        ledger.close()
    assert refused.outcome == "refused" and [p.code for p in refused.problems] == ["ledger.value.too_long"]


def test_a_value_at_the_limit_is_kept(tmp_path, db):
    text = (SAMPLES / "835" / "synthetic-payment.835").read_text(encoding="utf-8")
    path = tmp_path / "at-limit.835"
    trace = "T" * 80
    path.write_text(text.replace("TRN*1*EFT000000001*", f"TRN*1*{trace}*", 1), encoding="utf-8")
    result = run("remit", "import", str(path), db=db)
    assert result.exit_code == 0, result.output
    assert json.loads(run("reconcile", "--json", db=db).stdout)["payments"][0]["trace_number"] == trace


def test_a_cas_quantity_of_fifteen_signed_digits_is_kept(tmp_path, db):
    """An X12 quantity (R) has up to 15 digits; with its sign and point that is 17 characters (migration 0010)."""
    text = (SAMPLES / "835" / "synthetic-payment.835").read_text(encoding="utf-8")
    quantity = "-12345678901.2345"
    assert len(quantity) == 17 and "CAS*PR*1*5~" in text
    path = tmp_path / "long-quantity.835"
    path.write_text(text.replace("CAS*PR*1*5~", f"CAS*PR*1*5*{quantity}~", 1), encoding="utf-8")
    result = run("remit", "import", str(path), db=db)
    assert result.exit_code == 0, result.output
    ledger = Ledger(db)
    try:
        from sqlalchemy import select

        from edi.ledger.schema import adjustments

        with ledger.engine.connect() as conn:
            kept = conn.execute(select(adjustments.c.quantity).where(adjustments.c.quantity.is_not(None))).scalars()
            assert quantity in list(kept)
    finally:
        ledger.close()
    assert json.loads(run("ledger", "check", "--json", db=db).stdout)["ok"] is True
