"""Posting the next payer's 835 against a claim to the next payer (edi.ledger.post, issue 17 item 4): which
adjustments stand for the prior payer's adjudication (``prior_impact``), a payer that reports the primary's part
under other codes, and ``ledger.claim.negative_balance`` when a claim to a next payer is taken off twice. On SQLite
and, when EDI_TEST_POSTGRES_URL is set, PostgreSQL. The worked scenario is in tests/mappings/test_secondary.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from x12text import interchange

from edi.ledger import Ledger
from edi.ledger.post import prior_impact
from edi.model import Adjustment
from mappings.build import build_files
from mappings.config import load_config
from mappings.secondary import build_secondary

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

PRIMARY_835 = """BPR*I*135.5*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250820~
TRN*1*EFTA*1512345678~
N1*PR*ACME SYNTHETIC HEALTH PLAN*XV*SYNACME1~
N1*PE*SYNTH FAMILY CLINIC*XX*1234567893~
CLP*ENC-C-0001*1*247.5*135.5*40*12*ICNA1*11*1~
CAS*CO*45*72~
CAS*PR*2*40~
NM1*QC*1*TESTPERSON*ALEX****MI*SYNM00001101~
"""
SECONDARY_835 = """BPR*I*{paid}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250915~
TRN*1*EFTB*1512345678~
N1*PR*SYNTHETIC BLUE PLAN*XV*SYNBLUE1~
N1*PE*SYNTH FAMILY CLINIC*XX*1234567893~
CLP*ENC-C-0001*20*247.5*{paid}*8*12*ICNB1*11*1~
{cas}NM1*QC*1*TESTPERSON*ALEX****MI*SYNM00001102~
"""


def a(group: str, reason: str, amount: str) -> Adjustment:
    return Adjustment(group, reason, D(amount))


def test_reason_23_first_then_one_code_whose_total_is_what_is_left():
    assert prior_impact([a("OA", "23", "207.5"), a("PR", "2", "8")], D("207.5")) == {0: D("207.5")}
    # the primary's part split: OA-23 its payment, CO-45 its contractual (the total that is left)
    assert prior_impact([a("OA", "23", "135.5"), a("CO", "45", "72"), a("PR", "2", "8")], D("207.5")) == {
        0: D("135.5"), 1: D("72")}
    # no reason 23 at all: the one code whose total is the prior payer's part
    assert prior_impact([a("CO", "45", "7.5"), a("OA", "209", "207.5")], D("207.5")) == {1: D("207.5")}
    # more than was taken off: the rest is the payer's own; PR never stands for the prior payer
    assert prior_impact([a("OA", "23", "220"), a("PR", "23", "5")], D("207.5")) == {0: D("207.5")}
    assert prior_impact([a("PR", "1", "207.5")], D("207.5")) == {}
    # a reversal: the negated amounts, up to the negated part
    assert prior_impact([a("OA", "23", "-207.5"), a("PR", "2", "-8")], D("-207.5")) == {0: D("-207.5")}
    assert prior_impact([a("OA", "23", "5")], D("-207.5")) == {}


@pytest.fixture
def scenario(db, tmp_path):
    """The two-coverage build, the primary's 835 (135.50 paid, CO-45 72.00, PR-2 40.00), the secondary claim."""
    config = load_config(str(SAMPLES / "edi.toml"))
    led = Ledger(db)
    result = build_files([str(SAMPLES / "encounters" / "two-coverages.json")], config, ledger=led,
                         out_dir=str(tmp_path / "out"), today=date(2025, 9, 1), now=datetime(2025, 9, 1, 12))
    assert result.ok, result.problems
    era = tmp_path / "primary.835"
    era.write_bytes(interchange(PRIMARY_835))
    assert led.import_835(str(era), payers=config.payer_matching()).outcome == "imported"
    assert build_secondary(led, config, ["ENC-C-0001"], out_dir=str(tmp_path / "sec"),
                           now=datetime(2025, 9, 10, 9)).built == 1
    yield led, config
    led.close()


def post_secondary(led: Ledger, config, tmp_path: Path, paid: str, cas: str) -> None:
    era = tmp_path / "secondary.835"
    era.write_bytes(interchange(SECONDARY_835.format(paid=paid, cas=cas)))
    assert led.import_835(str(era), payers=config.payer_matching()).outcome == "imported"


def figures(led: Ledger) -> tuple[str, str, str, dict]:
    (b,) = [b for b in led.claims() if (b.patient_control_number, b.payer) == ("ENC-C-0001", "SYNTHETIC BLUE PLAN")]
    return b.as_dict()["paid"], b.as_dict()["insurance_balance"], b.as_dict()["patient_responsibility"], \
        b.as_dict()["adjustments"]


def test_the_primarys_part_under_other_codes_is_not_taken_off_again(scenario, tmp_path):
    led, config = scenario
    post_secondary(led, config, tmp_path, "32", "CAS*OA*23*135.5~\nCAS*CO*45*72~\nCAS*PR*2*8~\n")
    assert figures(led) == ("32.00", "0.00", "8.00", {"CO": "0.00", "PR": "-32.00", "OA": "247.50", "PI": "0.00"})
    assert led.check() == []


def test_a_secondarys_own_contractual_adjustment_posts(scenario, tmp_path):
    led, config = scenario
    post_secondary(led, config, tmp_path, "22", "CAS*OA*23*207.5~\nCAS*CO*45*10~\nCAS*PR*2*8~\n")
    assert figures(led) == ("22.00", "0.00", "8.00", {"CO": "10.00", "PR": "-32.00", "OA": "247.50", "PI": "0.00"})
    assert led.check() == []


def test_a_claim_to_a_next_payer_below_zero_is_a_check_error(scenario, tmp_path):
    led, config = scenario
    # an 835 that pays what was left open and still moves 8.00 to the patient: taken off more than once
    post_secondary(led, config, tmp_path, "40", "CAS*OA*23*207.5~\nCAS*PR*2*8~\n")
    assert figures(led)[1] == "-8.00"
    assert [(p.code, p.where.record) for p in led.check()] == [("ledger.claim.negative_balance", "ENC-C-0001")]
