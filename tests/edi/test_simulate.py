"""The simulated payer, by worked examples: an 837 in; a 999, a 277CA and 835s out that pyx12 accepts, that
balance at every level, that come out byte for byte the same for the same seed, and that a ledger imports with the
right status and balance for every branch of the payer's policy."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from edi.acks.model import ClaimAck
from edi.acks.reader import parse_acks
from edi.fees import parse_fee_schedule
from edi.ledger import Ledger
from edi.model import (
    Address,
    Adjustment,
    Claim,
    ClaimPayment,
    Diagnosis,
    LineAdjudication,
    OtherPayer,
    Payer,
    Provider,
    RemittanceEnd,
    ServiceLine,
    Submitter,
    Subscriber,
)
from edi.simulate import Mailbox, Policy, SimulationError, answer_837, answer_mailbox
from edi.simulate.policy import Adjudicator
from edi.validate import validate_bytes
from edi.x12.writer import CounterControlNumbers, Party
from edi.x835.balance import check_claim, check_line, check_transaction
from edi.x835.reader import parse_remittances
from edi.x837.writer import build_837
from mappings.demo import synthetic_encounters

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
FEES = parse_fee_schedule([["payer", "code", "modifier", "allowed"], ["*", "99213", "", "92.50"],
                           ["*", "83036", "", "36.40"], ["acme", "99213", "", "96.00"]])
#: Every claim paid, with 20 % coinsurance: the figures of the worked examples follow from the fee schedule alone.
COINSURANCE_ONLY = Policy(deny=0, line_denied=0, split=0, reversed=0, late=0, recouped=0, deductible=0,
                          coinsurance=1, copay=0, ach=1)
BILLING = Provider("SYNTH CLINIC", npi="1234567893", tax_id="990000001",
                   address=Address("1 MAIN ST", "SPRINGFIELD", "IL", "627010001"))
SUBMITTER = Submitter("SYNTH BILLING", "SUBMITTER", "BILLING OFFICE", "5555550100", receiver_name="CLEARINGHOUSE",
                      receiver_id="CH01")
NOW = datetime(2025, 3, 1, 9, 0)


PAYER = Payer("SYNTH HEALTH PLAN", "SYNTH01")


def claim(pcn: str, *lines: tuple[str, str], member: str = "SYNM0001", diagnosis: str = "E119",
          payer: Payer = PAYER) -> Claim:
    sl = tuple(ServiceLine(number=i, charge=D(charge), units=D(1), service_date=date(2025, 1, 15), procedure=proc,
                           diagnosis_pointers=(1,), line_control_number=f"{pcn}-{i}")
               for i, (proc, charge) in enumerate(lines, 1))
    return Claim("professional", pcn, sum((ln.charge for ln in sl), D(0)), BILLING,
                 Subscriber(member, "DOE", "JANE", birth_date=date(1980, 1, 1), sex="F",
                            address=Address("2 ELM ST", "SPRINGFIELD", "IL", "62701")),
                 payer, (Diagnosis(diagnosis, "ABK"),), sl, place_of_service="11")


def write_837(path: Path, claims: list[Claim], control: int = 1) -> str:
    out = io.BytesIO()
    build_837(out, claims, SUBMITTER, Party("ZZ", "SUBMITTER"), Party("ZZ", "CH01"),
              CounterControlNumbers(interchange=control, group=control, transaction=control), NOW, "T")
    path.write_bytes(out.getvalue())
    return str(path)


def lines_of(path: str, tag: str) -> list[str]:
    return [s for s in Path(path).read_text().splitlines() if s.startswith(tag + "*")]


def assert_balanced(path: str) -> list:
    """Every SVC, CLP and transaction of the 835 balances (edi.x835.balance); returns the items read."""
    items, problems = parse_remittances(Path(path).read_bytes(), path)
    assert [p for p in problems if p.is_error] == [], [str(p) for p in problems]
    found = []
    for item in items:
        if isinstance(item, ClaimPayment):
            found += check_claim(item, path) + [p for ln in item.lines for p in check_line(ln, path)]
        elif isinstance(item, RemittanceEnd):
            found += check_transaction(item, path)
    assert found == [], [str(p) for p in found]
    return items


def assert_pyx12_valid(path: str) -> None:
    report = validate_bytes(Path(path).read_bytes(), deep=True)
    # pyx12's 835 map takes a second PLB for a second footer loop; the 835 TR3 repeats PLB
    errors = [p for p in report.problems if p.is_error and not (p.code == "pyx12.segment.4" and p.where.tag == "PLB")]
    assert errors == [], [str(p) for p in errors]
    assert report.transactions


# -- a worked example -------------------------------------------------------------------------------------------


def test_a_paid_claim_worked_example(tmp_path):
    """99213 billed 150.00, allowed 92.50: CO-45 57.50, coinsurance (PR-2) 20 % of 92.50 = 18.50, paid 74.00;
    83036 billed 50.00, allowed 36.40: CO-45 13.60, PR-2 7.28, paid 29.12. The claim: paid 103.12, PR 25.78."""
    src = write_837(tmp_path / "claims.837", [claim("PCN1", ("99213", "150"), ("83036", "50"))])
    out = tmp_path / "answers"
    out.mkdir()
    result = answer_837(src, out, fees=FEES, seed=1, policy=COINSURANCE_ONLY)
    assert [Path(f).name for f in result.files] == ["claims_1.999", "claims_2.277",
                                                    "claims_3_SYNTH01_20250315.835"]
    assert (result.claims, result.accepted, result.rejected, result.payments) == (1, 1, 0, 1)
    era = result.files[2]
    assert lines_of(era, "BPR")[0].startswith("BPR*I*103.12*C*ACH*CCP*")
    assert lines_of(era, "BPR")[0].endswith("*20250315~")  # received 2025-03-01 (BHT04), paid 14 days later
    icn = lines_of(era, "CLP")[0].split("*")[7]
    assert lines_of(era, "CLP") == [f"CLP*PCN1*1*200*103.12*25.78*12*{icn}*11*1~"]
    assert lines_of(era, "SVC") == ["SVC*HC:99213*150*74~", "SVC*HC:83036*50*29.12~"]
    assert lines_of(era, "CAS") == ["CAS*CO*45*57.5~", "CAS*PR*2*18.5~", "CAS*CO*45*13.6~", "CAS*PR*2*7.28~"]
    assert lines_of(era, "REF") [-2:] == ["REF*6R*PCN1-1~", "REF*6R*PCN1-2~"]
    assert lines_of(era, "AMT") == ["AMT*B6*92.5~", "AMT*B6*36.4~"]
    # the 277CA accepts it under the same payer claim number; the 999 accepts the set
    assert lines_of(result.files[1], "STC")[-1] == "STC*A2:20:PR*20250302*WQ*200~"
    assert lines_of(result.files[1], "REF") == [f"REF*1K*{icn}~"]
    assert lines_of(result.files[0], "IK5") == ["IK5*A~"]
    for f in result.files:
        assert_pyx12_valid(f)
    assert_balanced(era)


def test_a_payer_key_picks_its_own_fee_schedule_rows(tmp_path):
    src = write_837(tmp_path / "acme.837", [claim("PCN1", ("99213", "150"))])
    out = tmp_path / "answers"
    out.mkdir()
    result = answer_837(src, out, fees=FEES, seed=1, policy=COINSURANCE_ONLY, payer_keys={"SYNTH01": "acme"},
                        payer_names={"SYNTH01": "ACME SYNTHETIC HEALTH PLAN"})
    era = result.files[2]
    assert lines_of(era, "AMT") == ["AMT*B6*96~"]  # acme's row, not the * row (92.50)
    assert lines_of(era, "N1")[0] == "N1*PR*ACME SYNTHETIC HEALTH PLAN~"


def test_payer_edits_reject_in_the_277ca_and_nothing_is_paid(tmp_path):
    src = write_837(tmp_path / "edits.837", [claim("OK1", ("99213", "150")),
                                             claim("UNKNOWN1", ("99213", "150"), member="SYNX0001"),
                                             claim("DIAG1", ("99213", "150"), diagnosis="R69")])
    out = tmp_path / "answers"
    out.mkdir()
    result = answer_837(src, out, fees=FEES, seed=1, policy=COINSURANCE_ONLY)
    assert (result.accepted, result.rejected) == (1, 2)
    assert result.rejections == Counter({"A3:33:IL subscriber and subscriber id not found": 1,
                                         "A7:254 principal diagnosis code refused": 1})
    stc = lines_of(result.files[1], "STC")
    assert stc[-2:] == ["STC*A3:33:IL*20250302*U*150~", "STC*A7:254*20250302*U*150~"]
    assert "QTY*QA*1~" in Path(result.files[1]).read_text() and "QTY*QC*2~" in Path(result.files[1]).read_text()
    assert [c.split("*")[1] for c in lines_of(result.files[2], "CLP")] == ["OK1"]
    assert_pyx12_valid(result.files[1])


def test_a_transaction_set_the_999_rejects_gets_no_277ca_or_835(tmp_path):
    good = Path(write_837(tmp_path / "good.837", [claim("PCN1", ("99213", "150"))]))
    bad = tmp_path / "bad.837"
    bad.write_bytes(good.read_bytes().replace(b"\nSE*", b"\nSE*9"))  # a wrong segment count
    out = tmp_path / "answers"
    out.mkdir()
    result = answer_837(str(bad), out, fees=FEES, seed=1)
    assert (result.sets_rejected, result.not_acknowledged, result.accepted) == (1, 1, 0)
    assert [Path(f).name for f in result.files] == ["bad_1.999"]  # no claim to acknowledge in a 277CA
    assert lines_of(result.files[0], "IK5") == ["IK5*R*4~"]


def test_refusals(tmp_path):
    out = tmp_path / "answers"
    out.mkdir()
    with pytest.raises(SimulationError) as e:
        answer_837(str(SAMPLES / "835" / "synthetic-payment.835"), out, fees=FEES, seed=1)
    assert e.value.code == "simulate.not_837" and "an 835 remittance, not 837 claims" in e.value.message
    src = write_837(tmp_path / "c.837", [claim("PCN1", ("99213", "150"))])
    (out / "c_2.277").write_text("mine")
    with pytest.raises(SimulationError) as e:
        answer_837(src, out, fees=FEES, seed=1)
    assert e.value.code == "simulate.exists"
    assert sorted(p.name for p in out.iterdir()) == ["c_2.277"] and (out / "c_2.277").read_text() == "mine"


# -- the policy, claim by claim ----------------------------------------------------------------------------------


def test_each_claim_draws_the_same_number_of_values():
    """A claim's branch never shifts the draws of the claims after it: a rejected claim first, then a paid one,
    decides the second as it would have been decided alone in second place."""
    one = Adjudicator(FEES, Policy(), random.Random(5))
    two = Adjudicator(FEES, Policy(), random.Random(5))
    one(claim("A", ("99213", "150"), member="SYNX1"), payer_key=None, icn="I1")
    two(claim("B", ("83036", "50"), ("99213", "150")), payer_key=None, icn="I1")
    c = claim("C", ("99213", "150"), ("83036", "50"))
    assert one(c, payer_key=None, icn="I2") == two(c, payer_key=None, icn="I2")


def test_a_reversal_negates_every_amount_and_its_correction_drops_the_deductible():
    decide = Adjudicator(FEES, Policy(deny=0, line_denied=0, split=0, reversed=1), random.Random(3))
    o = decide(claim("R1", ("99213", "150"), ("83036", "50")), payer_key=None, icn="ICN1")
    assert o.branch == "reversed" and o.patient_share == "PR-1"
    (paid,), (reversal, corrected) = o.first, o.second
    # allowed 92.50 + 36.40 = 128.90; a deductible of 100.00 (this seed's draw) leaves 28.90 paid
    assert (paid.paid, paid.patient_responsibility) == (D("28.90"), D("100.00"))
    assert (reversal.status, reversal.icn, reversal.charge, reversal.paid) == ("22", "ICN1", D(-200), D("-28.90"))
    assert reversal.patient_responsibility == D("-100.00")
    assert [a for ln in reversal.lines for a in ln.adjustments] == [
        ("CO", "45", D("-57.50")), ("PR", "1", D("-92.50")), ("CO", "45", D("-13.60")), ("PR", "1", D("-7.50"))]
    assert (corrected.status, corrected.icn, corrected.patient_responsibility) == ("1", "ICN1C", 0)
    assert corrected.paid == D("92.50") + D("36.40")


# -- several seeds, byte for byte --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """500 synthetic encounters built into 837s (samples/edi.toml), recorded in an SQLite ledger."""
    from mappings.build import build_files
    from mappings.config import load_config

    tmp = tmp_path_factory.mktemp("sim")
    encounters = tmp / "encounters.json"
    encounters.write_text(json.dumps(list(synthetic_encounters(500, seed=23))))
    config = load_config(SAMPLES / "edi.toml")
    ledger = Ledger(f"sqlite:///{tmp / 'edi.db'}")
    built = build_files([str(encounters)], config, ledger=ledger, out_dir=str(tmp / "out"), today=date(2026, 1, 5),
                        now=datetime(2026, 1, 5, 10, 0))
    assert built.ok and built.claims == 500
    ledger.close()
    keys = {p.payer_id: k for k, p in config.payers.items()}
    return tmp, [f.path for f in built.files], keys


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_decisions(workspace, tmp_path):
    _, files, keys = workspace
    runs = {}
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        out = tmp_path / name
        out.mkdir()
        for f in files:
            answer_837(f, out, fees=FEES, seed=seed, payer_keys=keys)
        runs[name] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert runs["a"] == runs["b"] and len(runs["a"]) >= 6
    assert runs["a"] != runs["c"]
    assert not any(p.name.startswith(".") for p in (tmp_path / "a").iterdir())  # the staging folder is gone


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_file_passes_pyx12_and_every_835_balances(workspace, tmp_path, seed):
    """The first 837 of the workspace (about half of the 500 claims), answered with three seeds."""
    _, files, keys = workspace
    result = answer_837(files[0], tmp_path, fees=FEES, seed=seed, payer_keys=keys)
    assert result.payments >= 4 and result.rejected > 0
    for f in result.files:
        assert_pyx12_valid(f)
        if f.endswith(".835"):
            assert_balanced(f)


# -- 500 claims into a ledger ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def answered(workspace):
    """The 500 claims answered (seed 4) and every answer imported into the ledger, in the order of the names."""
    tmp, files, keys = workspace
    out = tmp / "answers"
    out.mkdir()
    results = [answer_837(f, out, fees=FEES, seed=4, payer_keys=keys) for f in files]
    ledger = Ledger(f"sqlite:///{tmp / 'edi.db'}")
    imported = []
    for p in sorted(out.iterdir()):
        r = ledger.import_835(str(p)) if p.suffix == ".835" else ledger.import_acks(str(p))
        imported.append(r)
    yield results, out, ledger, imported
    ledger.close()


def _sum(results, attribute):
    total = Counter() if isinstance(getattr(results[0], attribute), Counter) else 0
    for r in results:
        total += getattr(r, attribute)
    return total


def test_every_branch_occurs_in_500_claims(answered):
    results, out, _, imported = answered
    assert all(r.outcome == "imported" for r in imported), [(r.file, r.outcome, r.message) for r in imported]
    branches = _sum(results, "branches")
    for branch in ("paid", "denied", "line_denied", "split", "reversed", "late", "recouped", "rejected",
                   "PR-1", "PR-2", "PR-3"):
        assert branches[branch] > 0, branch
    assert _sum(results, "interest") > 0 and _sum(results, "recoupments") > 0
    assert set(_sum(results, "denials")) >= {"CO-50 N115", "CO-97 M15", "CO-197 M62", "CO-97 M15 (line)"}
    eras = sorted(out.glob("*.835"))
    assert any(p.name.split("_")[1] == "4" for p in eras)  # a second payment cycle
    text = "".join(p.read_text() for p in eras)
    assert "BPR*I*" in text and "*C*ACH*CCP*" in text and "*C*CHK*" in text
    assert any(len(lines_of(str(p), "TRN")) > 1 for p in eras)  # several payments in one file


def _answers(out: Path):
    """What the 835s and 277CAs say, claim by claim."""
    by_pcn: dict[str, list[ClaimPayment]] = {}
    plb: list = []
    for p in sorted(out.glob("*.835")):
        for item in assert_balanced(str(p)):
            if isinstance(item, ClaimPayment):
                by_pcn.setdefault(item.patient_control_number, []).append(item)
            elif isinstance(item, RemittanceEnd):
                plb += item.provider_adjustments
    acks: dict[str, ClaimAck] = {}
    for p in out.glob("*.277"):
        found, problems = parse_acks(p.read_bytes(), str(p))
        assert [x for x in problems if x.is_error] == []
        acks.update({a.patient_control_number: a for a in found if isinstance(a, ClaimAck)})
    return by_pcn, plb, acks


def test_each_branch_lands_in_the_ledger_with_its_status_and_balance(answered):
    results, out, ledger, _ = answered
    by_pcn, plb, acks = _answers(out)
    claims = {c.patient_control_number: c for c in ledger.claims()}
    seen = Counter()
    for pcn, c in claims.items():
        payments = by_pcn.get(pcn, [])
        statuses = [p.status for p in payments]
        if acks[pcn].statuses[0].codes[0].category in ("A3", "A7"):
            assert c.status == "rejected" and not payments and c.insurance_balance == c.billed
            seen["rejected"] += 1
        elif statuses == ["4"]:
            assert c.status == "denied" and c.denied == c.billed == c.insurance_balance and c.paid == 0
            seen["denied"] += 1
        elif "22" in statuses:
            reversal = payments[statuses.index("22")]
            assert statuses == ["1", "22", "1"] and reversal.payer_claim_number == payments[0].payer_claim_number
            assert c.status == "paid" and c.paid == payments[2].paid and c.insurance_balance == 0
            seen["reversed"] += 1
        elif statuses == ["1", "1"]:
            assert payments[0].payer_claim_number != payments[1].payer_claim_number
            assert c.status == "paid" and c.paid == payments[0].paid + payments[1].paid
            assert c.insurance_balance == 0
            seen["split"] += 1
        else:
            assert statuses == ["1"] and c.status == "paid" and c.insurance_balance == 0, (pcn, statuses, c)
            assert c.paid == payments[0].paid
            assert c.patient_responsibility == (payments[0].patient_responsibility or 0)
            if any(ln.paid == 0 and ln.remarks for ln in payments[0].lines):
                seen["line_denied"] += 1
    for kind in ("rejected", "denied", "reversed", "split", "line_denied"):
        assert seen[kind] > 0, kind
    # interest and recoupments are provider-level: they name a claim and never change its balance
    assert {a.reason for a in plb} == {"L6", "WO"}
    assert all(a.amount < 0 for a in plb if a.reason == "L6") and all(a.amount > 0 for a in plb if a.reason == "WO")
    rec = ledger.reconcile()["totals"]
    assert rec["balanced"] and rec["unbalanced_payments"] == 0 and D(rec["suspense"]) == 0
    assert D(rec["provider_adjustments"]) == sum((a.amount for a in plb), D(0))
    assert ledger.check() == []


# -- the clearinghouse -------------------------------------------------------------------------------------------


def test_a_mailbox_is_answered_once_and_other_files_are_left(tmp_path):
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    outbox.mkdir()
    inbox.mkdir()
    write_837(outbox / "claims.837", [claim("PCN1", ("99213", "150"))])
    (outbox / "notes.txt").write_text("not X12")
    (outbox / ".claims2.837.edi-x.part").write_text("an upload under way")
    box = Mailbox("hub", outbox, inbox)
    first = answer_mailbox(box, fees=FEES, seed=1)
    assert [Path(a.source) for a in first.answered] == [outbox / "processed" / "claims.837"]
    assert first.left == [(str(outbox / "notes.txt"), "holds no X12, not 837 claims: left in the outbox")]
    assert sorted(p.name for p in inbox.iterdir()) == ["claims_1.999", "claims_2.277",
                                                       "claims_3_SYNTH01_20250315.835"]
    again = answer_mailbox(box, fees=FEES, seed=1)
    assert again.answered == [] and len(again.left) == 1
    # the same name submitted again is answered under names of its own
    write_837(outbox / "claims.837", [claim("PCN2", ("99213", "150"))], control=2)
    third = answer_mailbox(box, fees=FEES, seed=1)
    assert [Path(a.source).name for a in third.answered] == ["claims.837.2"]
    assert sorted(p.name for p in inbox.iterdir() if p.name.startswith("claims.837.2")) == [
        "claims.837.2_1.999", "claims.837.2_2.277", "claims.837.2_3_SYNTH01_20250315.835"]
    with pytest.raises(SimulationError):
        answer_mailbox(Mailbox("hub", tmp_path / "missing", inbox), fees=FEES, seed=1)


def test_the_same_answers_land_alike_on_postgresql(workspace, answered, pg_url):
    """The 500 claims recorded from their 837s and every answer imported on PostgreSQL: each claim ends with the
    status and figures it has on SQLite, and the ledger check passes there too."""
    if pg_url is None:
        pytest.skip("EDI_TEST_POSTGRES_URL is not set")
    _, files, _ = workspace
    _, out, sqlite, _ = answered
    pg = Ledger(pg_url)
    try:
        for f in files:
            assert pg.record_837(f).outcome == "imported"
        for p in sorted(out.iterdir()):
            r = pg.import_835(str(p)) if p.suffix == ".835" else pg.import_acks(str(p))
            assert r.outcome == "imported", (p.name, r.message)

        def figures(ledger):
            return {c.patient_control_number: (c.status, c.billed, c.paid, c.denied, c.patient_responsibility,
                                               c.insurance_balance) for c in ledger.claims()}

        # claims built on SQLite were recorded as built, then submitted; on PostgreSQL recorded as submitted:
        # what the answers made of them is the same
        assert figures(pg) == figures(sqlite)
        assert pg.check() == []
    finally:
        pg.close()


def test_every_837_of_the_corpus_is_answered_and_every_835_balances(corpus, tmp_path):
    """Files written by other projects, broken ones included: each is answered or refused with a code (a file
    that is no 837 after all), never a crash, and what the payer writes balances."""
    answered = refused = 0
    for i, f in enumerate(sorted(p for p in corpus.rglob("*") if p.is_file() and "837" in str(p))):
        out = tmp_path / str(i)
        out.mkdir()
        try:
            result = answer_837(str(f), out, fees=FEES, seed=1)
        except SimulationError as exc:
            assert exc.code in ("simulate.not_837", "simulate.no_interchange"), (f, exc.code)
            refused += 1
            continue
        answered += 1
        for era in result.files:
            if era.endswith(".835"):
                assert_balanced(era)
    assert answered > 100 and refused < answered


def test_reading_the_envelope_of_a_large_837_reads_only_its_start(tmp_path):
    """The answer's parties come from the 837's first ISA and GS: read from its first chunk, not from the whole
    file held in memory (it once took 90 MB for a 95 MB 837)."""
    import tracemalloc

    from edi.simulate.payer import _envelope

    sample = (Path(__file__).resolve().parents[2] / "samples" / "837" / "synthetic-claims.837").read_bytes()
    big = tmp_path / "big.837"
    with open(big, "wb") as fp:
        for _ in range(20_000_000 // len(sample) + 1):
            fp.write(sample)
    tracemalloc.start()
    try:
        isa, gs = _envelope(str(big))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isa[0] == "ISA" and gs[0] == "GS"
    assert peak < 2_000_000, peak


# -- a claim to a next payer (coordination of benefits) ---------------------------------------------------------

PRIMARY = Payer("SYNTH PRIMARY PLAN", "SYNPRI1")


def next_payer_claim(pcn: str, responsibility: str, left: tuple[tuple[str, str, str, str], ...]) -> Claim:
    """PCN1's two lines billed to SYNTH01 as the ``responsibility`` payer, after SYNPRI1 adjudicated each line as
    (paid, CO-45, PR group reason, PR amount)."""
    base = claim(pcn, ("99213", "150"), ("83036", "50"))
    lines = tuple(replace(ln, adjudications=(LineAdjudication(
        "SYNPRI1", D(paid), D(1), procedure=ln.procedure, adjustments=(
            Adjustment("CO", "45", D(co)), Adjustment("PR", reason, D(pr)))),))
        for ln, (paid, co, reason, pr) in zip(base.lines, left, strict=True))
    paid = sum((D(x[0]) for x in left), D(0))
    prior = OtherPayer(PRIMARY, base.subscriber, paid=paid, adjudication_date=date(2025, 2, 1), claim_number="P1")
    return replace(base, payer=replace(PAYER, responsibility=responsibility), lines=lines, other_payers=(prior,))


def test_a_claim_to_a_next_payer_is_paid_at_most_what_the_payer_before_left(tmp_path):
    """SYNPRI1 left PR-2 18.50 on 99213 and PR-1 36.40 on 83036 (its deductible). SYNTH01 would pay, as primary,
    74.00 and 29.12 (allowed 92.50 and 36.40 less 20 % coinsurance): it pays 18.50 (all that was left) and 29.12
    (its own figure, less than the 36.40 left: 7.28 stays the patient's, under the reason SYNPRI1 gave, PR-1).
    The rest of each charge is the payer before's, OA-23; CLP02 = 2, processed as secondary."""
    secondary = next_payer_claim("PCN1", "S", (("74", "57.5", "2", "18.5"), ("0", "13.6", "1", "36.4")))
    src = write_837(tmp_path / "secondary.837", [secondary])
    out = tmp_path / "answers"
    out.mkdir()
    result = answer_837(src, out, fees=FEES, seed=1, policy=COINSURANCE_ONLY)
    assert dict(result.branches) == {"next_payer": 1, "PR-2": 1}
    era = result.files[2]
    icn = lines_of(era, "CLP")[0].split("*")[7]
    assert lines_of(era, "CLP") == [f"CLP*PCN1*2*200*47.62*7.28*12*{icn}*11*1~"]
    assert lines_of(era, "SVC") == ["SVC*HC:99213*150*18.5~", "SVC*HC:83036*50*29.12~"]
    assert lines_of(era, "CAS") == ["CAS*OA*23*131.5~", "CAS*OA*23*13.6~", "CAS*PR*1*7.28~"]
    assert_balanced(era)
    assert_pyx12_valid(era)

    tertiary = next_payer_claim("PCN2", "T", (("74", "57.5", "2", "18.5"), ("29.12", "13.6", "2", "7.28")))
    src = write_837(tmp_path / "tertiary.837", [tertiary], control=2)
    result = answer_837(src, out, fees=FEES, seed=1, policy=COINSURANCE_ONLY)
    assert [s.split("*")[2] for s in lines_of(result.files[2], "CLP")] == ["3"]  # processed as tertiary
    assert_balanced(result.files[2])


def test_a_payer_before_that_adjudicated_the_claim_as_a_whole_is_read_at_claim_level(tmp_path):
    """SYNPRI1 paid 74.00 with claim-level CAS only (CO-45 71.10, PR-1 54.90: no 2430 loops). The 54.90 left open
    is spread over the lines by their charges (150 and 50: 41.18 and 13.72, the cent left over on the last line):
    SYNTH01 pays at most that per line (41.18 of its 74.00, 13.72 of its 29.12), OA-23 the rest of each charge."""
    base = next_payer_claim("PCN9", "S", (("74", "57.5", "2", "18.5"), ("0", "13.6", "1", "36.4")))
    prior = replace(base.other_payers[0], paid=D("74"), adjustments=(Adjustment("CO", "45", D("71.10")),
                                                                     Adjustment("PR", "1", D("54.90"))))
    claim_level = replace(base, lines=tuple(replace(ln, adjudications=()) for ln in base.lines), other_payers=(prior,))
    src = write_837(tmp_path / "claim-level.837", [claim_level])
    out = tmp_path / "answers"
    out.mkdir()
    era = answer_837(src, out, fees=FEES, seed=1, policy=COINSURANCE_ONLY).files[2]
    icn = lines_of(era, "CLP")[0].split("*")[7]
    assert lines_of(era, "CLP") == [f"CLP*PCN9*2*200*54.9**12*{icn}*11*1~"]
    assert lines_of(era, "SVC") == ["SVC*HC:99213*150*41.18~", "SVC*HC:83036*50*13.72~"]
    assert lines_of(era, "CAS") == ["CAS*OA*23*108.82~", "CAS*OA*23*36.28~"]
    assert_balanced(era)
