"""Amounts in an 835 are read by one rule (edi.x12.numeric.read_r, the X12 R type): an optional minus, digits,
an optional decimal point; at most 18 digits; money at most two decimals. Anything else is a problem with its
segment and a stable code in every command that reads the file, never a traceback and never a silent reading
(``Decimal()`` alone takes ``1E+25`` and ``27_3.86``)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from edi.x12.numeric import FRACTION, INVALID, TOO_LONG, read_r
from edi.x835.reader import parse_remittances

runner = CliRunner(env={"COLUMNS": "200"})
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "835" / "synthetic-payment.835"


@pytest.mark.parametrize(("text", "expected"), [
    ("273.86", D("273.86")), ("-5", D("-5")), ("0", D("0")), (".5", D("0.5")), ("7.", D("7")),
    ("12.500", D("12.500")),  # trailing zeros are not fractions of a cent
    ("9" * 16 + ".99", D("9" * 16 + ".99")),  # 18 digits: the most R 1/18 holds
    ("273.865", FRACTION), ("5.001", FRACTION),
    ("1E+25", INVALID), ("1e5", INVALID), ("1E+999999", INVALID), ("27_3.86", INVALID), ("+5", INVALID),
    (" 5", INVALID), ("5 ", INVALID), ("NaN", INVALID), ("Infinity", INVALID), ("-", INVALID), (".", INVALID),
    ("1.2.3", INVALID), ("--1", INVALID), ("1-", INVALID), ("\u0661\u0662", INVALID), ("", INVALID),
    ("1" * 19, TOO_LONG), ("12345678901234567890", TOO_LONG), ("-" + "1" * 18 + ".5", TOO_LONG),
    ("-" + "1" * 17 + ".5", D("-" + "1" * 17 + ".5")),  # the sign and the point are not digits
])
def test_the_x12_decimal_rule(text, expected):
    assert read_r(text, places=2) == expected


def test_quantities_take_15_digits_and_any_decimals():
    assert read_r("1.2345", 15) == D("1.2345")
    assert read_r("1" * 16, 15) == TOO_LONG


# (what the sample says, what a bad file says instead, the problem code, the segment's tag)
CASES = [
    ("CLP*PCN0000001*1*479.64*273.86*", "CLP*PCN0000001*1*479.64*273.865*", "835.amount.fraction", "CLP"),
    ("CAS*CO*45*5.04~", "CAS*CO*45*5.001~", "835.amount.fraction", "CAS"),
    ("CAS*CO*45*71.43~", "CAS*CO*45*1E+25~", "835.amount.invalid", "CAS"),
    ("BPR*I*2171.69*", "BPR*I*12345678901234567890*", "835.amount.too_long", "BPR"),
    ("BPR*I*2171.69*", "BPR*I*1E+999999*", "835.amount.invalid", "BPR"),
    ("CLP*PCN0000001*1*479.64*273.86*", "CLP*PCN0000001*1*479.64*27_3.86*", "835.amount.invalid", "CLP"),
    ("CAS*PR*1*5~", "CAS*PR*1*5*1E5~", "835.amount.invalid", "CAS"),  # CAS04, a quantity
    ("CAS*CO*45*104.31~", "CAS*CO*45*+104.31~", "835.amount.invalid", "CAS"),
]
IDS = ["clp04-three-decimals", "cas03-three-decimals", "cas03-exponent", "bpr02-20-digits", "bpr02-huge-exponent",
       "clp04-underscore", "cas04-exponent", "cas03-plus-sign"]


def bad_file(tmp_path: Path, old: str, new: str) -> str:
    text = SAMPLE.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    path = tmp_path / "bad.835"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(path)


def segment_of(path: str, new: str) -> int:
    """The 1-based number of the segment holding ``new``."""
    segments = Path(path).read_text(encoding="utf-8").replace("\n", "").split("~")
    return next(i for i, s in enumerate(segments, 1) if new.rstrip("~") in s + "*")


@pytest.mark.parametrize(("old", "new", "code", "tag"), CASES, ids=IDS)
def test_a_bad_amount_is_a_problem_at_its_segment(tmp_path, old, new, code, tag):
    path = bad_file(tmp_path, old, new)
    _, problems = parse_remittances(Path(path).read_bytes(), path)
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    assert found[0].where.tag == tag and found[0].where.segment == segment_of(path, new)
    assert found[0].is_error
    value = new.split("*")[-1].rstrip("~") if tag not in ("CLP", "BPR") else new.split("*")[-2]
    assert value not in found[0].message  # the problem names the element, never echoes the value


@pytest.mark.parametrize(("old", "new", "code", "tag"), CASES, ids=IDS)
def test_every_command_reports_it_without_a_traceback(tmp_path, old, new, code, tag):
    path = bad_file(tmp_path, old, new)
    show = runner.invoke(app, ["remit", "show", path])
    assert show.exit_code == 1, show.output
    assert show.exception is None or isinstance(show.exception, SystemExit)
    assert code in show.output and "Traceback" not in show.output
    as_json = runner.invoke(app, ["remit", "show", path, "--json"])
    assert as_json.exit_code == 1, as_json.output
    assert code in [p["code"] for p in json.loads(as_json.stdout)["problems"]]
    out = tmp_path / "out"
    exported = runner.invoke(app, ["remit", "export", path, "--out", str(out)])
    assert exported.exit_code == 1 and code in exported.output, exported.output
    assert exported.exception is None or isinstance(exported.exception, SystemExit)


@pytest.mark.parametrize(("old", "new", "code", "tag"), CASES, ids=IDS)
def test_import_refuses_the_file_and_posts_nothing(tmp_path, db, old, new, code, tag):
    path = bad_file(tmp_path, old, new)
    result = runner.invoke(app, ["remit", "import", path, "--db", db])
    assert result.exit_code == 1, result.output
    assert "refused" in result.output and code in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    rec = runner.invoke(app, ["reconcile", "--json", "--db", db])
    assert json.loads(rec.stdout)["payments"] == []
    check = runner.invoke(app, ["ledger", "check", "--json", "--db", db])
    assert json.loads(check.stdout)["ok"] is True


def test_amounts_the_ledger_cannot_sum_are_refused_before_anything_is_written(tmp_path, db):
    """Eighteen digits are X12 decimals, but twelve claims of ten quadrillion dollars overflow the ledger's
    64-bit cents (SQLite raised OverflowError half way): the file is refused, naming the element."""
    big = "9999999999999999.99"
    text = SAMPLE.read_text(encoding="utf-8")
    head, _, _ = text.partition("LX*1~")
    clps = "".join(f"CLP*BIG{i}*1*{big}*{big}**12*ICNBIG{i}*11*1~\n" for i in range(12))
    body = head.replace("BPR*I*2171.69*", f"BPR*I*{big}*") + "LX*1~\n" + clps
    segments = body.count("~") - 2  # ISA and GS are outside ST..SE
    path = tmp_path / "huge.835"
    path.write_text(body + f"SE*{segments + 1}*0001~\nGE*1*1~\nIEA*1*000000001~\n", encoding="utf-8")
    result = runner.invoke(app, ["remit", "import", str(path), "--db", db])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "refused" in result.output and "more than the ledger posts" in result.output
    assert json.loads(runner.invoke(app, ["reconcile", "--json", "--db", db]).stdout)["payments"] == []


def test_a_claim_amount_beyond_the_ledgers_range_names_its_element(tmp_path, db):
    text = SAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "huge-charge.835"
    path.write_text(text.replace("CLP*PCN0000001*1*479.64*", "CLP*PCN0000001*1*999999999999.99*", 1),
                    encoding="utf-8")
    result = runner.invoke(app, ["remit", "import", str(path), "--db", db])
    assert result.exit_code == 1, result.output
    assert "CLP03 is beyond 99,999,999,999.99 dollars" in result.output
    assert json.loads(runner.invoke(app, ["reconcile", "--json", "--db", db]).stdout)["payments"] == []
