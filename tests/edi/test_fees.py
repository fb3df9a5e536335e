"""Fee schedules: the CSV shared by the payer simulator and the underpayment report."""

from decimal import Decimal
from pathlib import Path

import pytest

from edi.fees import FeeScheduleError, load_fee_schedule, parse_fee_schedule

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "fee_schedule.csv"


def rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.strip().splitlines()]


def test_the_most_specific_row_prices_a_line():
    fees = parse_fee_schedule(rows("""
payer,code,modifier,allowed
*,99213,,90.00
acme,99213,,95.00
acme,99213,25,99.00
"""))
    assert fees.allowed("acme", "99213", ["25"]) == Decimal("99.00")      # payer, code and modifier
    assert fees.allowed("acme", "99213", ["59"]) == Decimal("95.00")      # payer and code
    assert fees.allowed("beta", "99213", ["25"]) == Decimal("90.00")      # any payer
    assert fees.allowed(None, "99213") == Decimal("90.00")
    assert fees.allowed("acme", "99214") is None                          # not priced
    assert fees.allowed("acme", "99213", [], units=Decimal("2")) == Decimal("190.00")


def test_the_first_billed_modifier_with_a_row_wins():
    fees = parse_fee_schedule(rows("payer,code,modifier,allowed\n*,20610,RT,10.00\n*,20610,59,20.00"))
    assert fees.fee("acme", "20610", ["59", "RT"]).allowed == Decimal("20.00")
    assert fees.fee("acme", "20610", ["rt"]).allowed == Decimal("10.00")


def test_every_bad_row_is_named_with_its_line():
    with pytest.raises(FeeScheduleError) as err:
        parse_fee_schedule(rows("""
payer,code,modifier,allowed
acme,99213,,92.505
acme,99213,TOOLONG,10
acme,,,-5
*,99213,,1e3
acme,99212,,10
acme,99212,,11
"""), file="fees.csv")
    lines = [n for n, _ in err.value.errors]
    assert lines == [2, 3, 4, 5, 7]
    assert "already priced on line 6" in err.value.errors[-1][1]
    assert str(err.value).startswith("fees.csv: line 2:")


def test_a_wrong_header_or_an_empty_file_is_refused():
    with pytest.raises(FeeScheduleError, match="header must be payer,code,modifier,allowed"):
        parse_fee_schedule(rows("code,allowed\n99213,10"))
    with pytest.raises(FeeScheduleError, match="empty"):
        parse_fee_schedule([])


def test_a_file_that_is_not_text_is_refused(tmp_path):
    bad = tmp_path / "fees.csv"
    bad.write_bytes(b"payer,code,modifier,allowed\n\xff\xfe,1,,2\n")
    with pytest.raises(FeeScheduleError, match="not UTF-8"):
        load_fee_schedule(bad)


def test_the_sample_schedule_prices_every_sample_encounter_line():
    import json
    fees = load_fee_schedule(SAMPLE)
    encounters = SAMPLE.parent / "encounters" / "encounters.ndjson"
    for text in encounters.read_text().splitlines():
        enc = json.loads(text)
        for line in enc["lines"]:
            code = line.get("procedure") or line.get("revenue_code")
            allowed = fees.allowed(enc["payer"], code, line.get("modifiers", []))
            assert allowed is not None, (enc["id"], code)
            assert allowed < Decimal(line["charge"]), (enc["id"], code)
