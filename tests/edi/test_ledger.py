"""The ledger, scenario by scenario, on SQLite always and on PostgreSQL when EDI_TEST_POSTGRES_URL is set.

Each scenario records claims from an 837 written by edi, posts inline 835s, and asserts the numbers that
`edi ledger claims --json` and `edi reconcile --json` print; `edi ledger check` must pass after each one.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner
from x12text import interchange

from cli.main import app
from edi.ledger import InjectedFailure, Ledger
from edi.model import Address, Claim, Diagnosis, Payer, Provider, ServiceLine, Submitter, Subscriber
from edi.x12.writer import CounterControlNumbers, Party
from edi.x837.writer import build_837

runner = CliRunner(env={"COLUMNS": "200"})
NOW = datetime(2025, 3, 1, 9, 0)
BILLING = Provider("SYNTH CLINIC", npi="1234567893", tax_id="990000001",
                   address=Address("1 MAIN ST", "SPRINGFIELD", "IL", "627010001"))
PAYER = Payer("SYNTH HEALTH PLAN", "SYNTH01")
SUBMITTER = Submitter("SYNTH BILLING", "SUBMITTER", "BILLING OFFICE", "5555550100", receiver_name="CLEARINGHOUSE",
                      receiver_id="CH01")


def claim(pcn: str, *lines: tuple[str, str], frequency: str = "1", icn: str | None = None) -> Claim:
    """A professional claim; each line is (procedure, charge), line control numbers PCN-1, PCN-2..."""
    sl = tuple(ServiceLine(number=i, charge=D(charge), units=D(1), service_date=date(2025, 1, 15), procedure=proc,
                           diagnosis_pointers=(1,), line_control_number=f"{pcn}-{i}")
               for i, (proc, charge) in enumerate(lines, 1))
    return Claim("professional", pcn, sum((ln.charge for ln in sl), D(0)), BILLING,
                 Subscriber("M123", "DOE", "JANE", birth_date=date(1980, 1, 1), sex="F",
                            address=Address("2 ELM ST", "SPRINGFIELD", "IL", "62701")),
                 PAYER, (Diagnosis("E119", "ABK"),), sl, frequency=frequency, place_of_service="11",
                 payer_claim_number=icn)


def write_837(tmp: Path, name: str, claims: list[Claim], control: int = 1) -> str:
    out = io.BytesIO()
    build_837(out, claims, SUBMITTER, Party("ZZ", "SUBMITTER"), Party("ZZ", "CH01"),
              CounterControlNumbers(interchange=control), NOW, "T")
    path = tmp / name
    path.write_bytes(out.getvalue())
    return str(path)


REMIT_HEADER = """
BPR*I*{amount}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250301~
TRN*1*{trace}*1512345678~
N1*PR*SYNTH HEALTH PLAN~
N3*1 PAYER PLAZA~
N4*CAPITAL CITY*IL*627010002~
PER*BL*EDI*TE*5555550199~
N1*PE*SYNTH CLINIC*XX*1234567893~
"""


def write_835(tmp: Path, name: str, body: str, amount: str, trace: str) -> str:
    path = tmp / name
    path.write_bytes(interchange(REMIT_HEADER.format(amount=amount, trace=trace) + body))
    return str(path)




def cli(*args: str, db: str):
    result = runner.invoke(app, [*args, "--db", db])
    return result


def claims_json(db: str) -> dict[str, dict]:
    result = cli("ledger", "claims", "--json", db=db)
    assert result.exit_code == 0, result.output
    return {c["patient_control_number"]: c for c in json.loads(result.stdout)}


def assert_check(db: str) -> None:
    result = cli("ledger", "check", "--json", db=db)
    assert json.loads(result.stdout) == {"ok": True, "problems": []}, result.stdout
    assert result.exit_code == 0


def test_full_payment_with_co45_and_pr2(tmp_path, db):
    path = write_837(tmp_path, "c.837", [claim("PCN1", ("99213", "150"), ("81002", "50"))])
    assert cli("claims", "record", path, db=db).exit_code == 0
    remit = write_835(tmp_path, "r.835", """
    CLP*PCN1*1*200*120*30*12*ICN1*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*150*90**1~
    DTM*472*20250115~
    CAS*CO*45*40~
    CAS*PR*2*20~
    REF*6R*PCN1-1~
    SVC*HC:81002*50*30**1~
    DTM*472*20250115~
    CAS*CO*45*10~
    CAS*PR*2*10~
    REF*6R*PCN1-2~
    """, "120", "EFT1")
    result = cli("remit", "import", remit, db=db)
    assert result.exit_code == 0, result.output
    c = claims_json(db)["PCN1"]
    assert c == {"patient_control_number": "PCN1", "payer": "SYNTH HEALTH PLAN", "status": "paid",
                 "billed": "200.00", "paid": "120.00",
                 "adjustments": {"CO": "50.00", "PR": "30.00", "OA": "0.00", "PI": "0.00"}, "denied": "0.00",
                 "written_off": "0.00", "patient_responsibility": "30.00", "insurance_balance": "0.00",
                 "remittances": ["EFT1"]}
    story = json.loads(cli("ledger", "claim", "PCN1", "--json", db=db).stdout)
    kinds = [e["kind"] for e in story["claims"][0]["entries"]]
    assert kinds == ["charge", "payment"]
    assert_check(db)


def test_denial_stays_open_until_written_off(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN2", ("99214", "100"))]), db=db)
    remit = write_835(tmp_path, "r.835", """
    CLP*PCN2*4*100*0**12*ICN2*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99214*100*0**1~
    CAS*CO*50*100~
    REF*6R*PCN2-1~
    LQ*HE*N115~
    """, "0", "REMIT2")
    assert cli("remit", "import", remit, db=db).exit_code == 0
    c = claims_json(db)["PCN2"]
    assert (c["status"], c["denied"], c["insurance_balance"], c["adjustments"]["CO"]) == (
        "denied", "100.00", "100.00", "0.00")
    result = cli("ledger", "writeoff", "PCN2", "--reason", "not medically necessary; no appeal", db=db)
    assert result.exit_code == 0, result.output
    c = claims_json(db)["PCN2"]
    assert (c["written_off"], c["insurance_balance"], c["denied"]) == ("100.00", "0.00", "100.00")
    again = cli("ledger", "writeoff", "PCN2", "--reason", "twice", db=db)
    assert again.exit_code == 1 and "no open insurance balance" in again.stderr
    story = json.loads(cli("ledger", "claim", "PCN2", "--json", db=db).stdout)["claims"][0]
    denial = story["remittances"][0]
    assert denial["denied"] == "100.00"
    assert denial["adjustments"][0] == {"level": "line", "group": "CO", "reason": "50", "amount": "100.00",
                                        "remarks": "N115", "posted": False, "line_denial": False}
    assert_check(db)


def test_claim_without_service_lines_and_a_split_claim(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN3", ("99213", "80")),
                                                          claim("PCN4", ("99213", "100"), ("36415", "20"))]), db=db)
    remit = write_835(tmp_path, "r.835", """
    CLP*PCN3*1*80*60**12*ICN3*11*1~
    CAS*CO*45*20~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCN4*1*100*70**12*ICN4A*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    MOA***MA15~
    SVC*HC:99213*100*70**1~
    CAS*CO*45*30~
    REF*6R*PCN4-1~
    CLP*PCN4*1*20*15**12*ICN4B*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    MOA***MA15~
    SVC*HC:36415*20*15**1~
    CAS*CO*45*5~
    REF*6R*PCN4-2~
    """, "145", "EFT3")
    assert cli("remit", "import", remit, db=db).exit_code == 0
    c = claims_json(db)
    assert (c["PCN3"]["paid"], c["PCN3"]["adjustments"]["CO"], c["PCN3"]["insurance_balance"]) == (
        "60.00", "20.00", "0.00")
    assert (c["PCN4"]["paid"], c["PCN4"]["adjustments"]["CO"], c["PCN4"]["insurance_balance"]) == (
        "85.00", "35.00", "0.00")
    assert_check(db)


def test_reversal_then_correction_and_reversal_alone(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN5", ("99213", "100")),
                                                          claim("PCN6", ("99213", "100"))]), db=db)
    first = write_835(tmp_path, "r1.835", """
    CLP*PCN5*1*100*80**12*ICN5*11*1~
    CAS*CO*45*20~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCN6*1*100*70**12*ICN6*11*1~
    CAS*CO*45*30~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "150", "EFT5")
    assert cli("remit", "import", first, db=db).exit_code == 0
    second = write_835(tmp_path, "r2.835", """
    CLP*PCN5*22*-100*-80**12*ICN5*11*1~
    CAS*CO*45*-20~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCN5*1*100*90**12*ICN5B*11*1~
    CAS*CO*45*10~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCN6*22*-100*-70**12*ICN6*11*1~
    CAS*CO*45*-30~
    NM1*QC*1*DOE*JANE****MI*M123~
    PLB*1234567893*20251231*FB:EFT6*-60~
    """, "0", "EFT6")
    result = cli("remit", "import", second, db=db)
    assert result.exit_code == 0, result.output
    c = claims_json(db)
    assert (c["PCN5"]["status"], c["PCN5"]["paid"], c["PCN5"]["adjustments"]["CO"], c["PCN5"]["insurance_balance"]) \
        == ("paid", "90.00", "10.00", "0.00")
    assert (c["PCN6"]["status"], c["PCN6"]["paid"], c["PCN6"]["adjustments"]["CO"], c["PCN6"]["insurance_balance"]) \
        == ("reversed", "0.00", "0.00", "100.00")
    story = json.loads(cli("ledger", "claim", "PCN6", "--json", db=db).stdout)["claims"][0]
    reversal = [e for e in story["entries"] if e["kind"] == "reversal"][0]
    payment = [e for e in story["entries"] if e["kind"] == "payment"][0]
    assert sorted((p["account"], D(p["amount"])) for p in reversal["postings"]) == sorted(
        (p["account"], -D(p["amount"])) for p in payment["postings"])
    rec = json.loads(cli("reconcile", "--json", db=db).stdout)
    assert [(p["trace_number"], p["amount"], p["posted"], p["balanced"]) for p in rec["payments"]] == [
        ("EFT5", "150.00", "150.00", True), ("EFT6", "0.00", "0.00", True)]
    assert_check(db)


def test_a_file_that_reverses_and_refers_back_to_its_own_earlier_payments(tmp_path, db, monkeypatch):
    """One file, posted in batches of two claim payments: a payment, then (in later batches) its reversal and
    correction, a reversal of a payment in the very same batch, and a claim payment known only by a payer
    claim number this file paid earlier. On PostgreSQL the batches are written by a thread while the next is
    read, and the claims are matched on a second connection: what refers back to this file's own payments
    must still find them (the numbers equal SQLite's)."""
    import edi.ledger.post as post

    monkeypatch.setattr(post, "BATCH", 2)
    cli("claims", "record", write_837(tmp_path, "c.837", [claim(f"PCS{i}", ("99213", "100")) for i in range(1, 5)]),
        db=db)
    remit = write_835(tmp_path, "r.835", """
    CLP*PCS1*1*100*80**12*ICNS1*11*1~
    CAS*CO*45*20~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS2*1*100*70**12*ICNS2*11*1~
    CAS*CO*45*30~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS3*1*100*60**12*ICNS3*11*1~
    CAS*CO*45*40~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS1*22*-100*-80**12*ICNS1*11*1~
    CAS*CO*45*-20~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS1*1*100*90**12*ICNS1B*11*1~
    CAS*CO*45*10~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS3*22*-100*-60**12*ICNS3*11*1~
    CAS*CO*45*-40~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS4*1*100*100**12*ICNS4*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS4*22*-100*-100**12*ICNS4*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCS9X*2*0*5**12*ICNS2*11*1~
    CAS*OA*23*-5~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "165", "EFTS")
    result = cli("remit", "import", remit, db=db)
    assert result.exit_code == 0, result.output
    assert "ledger.reversal.original_unknown" not in result.stderr  # every reversal found its payment
    c = claims_json(db)
    got = {pcn: (c[pcn]["status"], c[pcn]["paid"], c[pcn]["insurance_balance"]) for pcn in c}
    assert got == {
        "PCS1": ("paid", "90.00", "0.00"),  # paid, reversed in a later batch, corrected
        "PCS2": ("paid", "75.00", "0.00"),  # paid 70, then 5 more on a payment known only by ICNS2
        "PCS3": ("reversed", "0.00", "100.00"),  # paid, reversed in a later batch
        "PCS4": ("reversed", "0.00", "100.00"),  # paid, reversed in the same batch
    }
    rec = json.loads(cli("reconcile", "--json", db=db).stdout)
    assert rec["suspense"] == [] and rec["payments"][0]["balanced"] is True
    assert_check(db)


def test_plb_interest_and_recoupment_never_touch_claim_balances(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN7", ("99213", "100"))]), db=db)
    remit = write_835(tmp_path, "r.835", """
    CLP*PCN7*1*100*100**12*ICN7*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    PLB*1234567893*20251231*L6:PCN7*-2.5*WO:CLAIMID:PCN7*40~
    """, "62.5", "EFT7")
    assert cli("remit", "import", remit, db=db).exit_code == 0
    c = claims_json(db)["PCN7"]
    assert (c["paid"], c["insurance_balance"]) == ("100.00", "0.00")
    rec = json.loads(cli("reconcile", "--json", db=db).stdout)
    p = rec["payments"][0]
    assert (p["amount"], p["matched_paid"], p["provider_adjustments"], p["posted"], p["balanced"]) == (
        "62.50", "100.00", "37.50", "62.50", True)
    ledger = Ledger(db)
    from sqlalchemy import select

    from edi.ledger.schema import claims as claims_table
    from edi.ledger.schema import provider_adjustments
    with ledger.engine.connect() as conn:
        pcn7 = conn.execute(select(claims_table.c.id).where(claims_table.c.patient_control_number == "PCN7")).scalar()
        named = conn.execute(select(provider_adjustments.c.reason, provider_adjustments.c.claim_id)
                             .order_by(provider_adjustments.c.id)).all()
    ledger.close()
    assert [tuple(r) for r in named] == [("L6", pcn7), ("WO", pcn7)]
    assert_check(db)


def test_payment_for_an_unknown_claim_goes_to_suspense(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN8", ("99213", "100"))]), db=db)
    remit = write_835(tmp_path, "r.835", """
    CLP*PCN8*1*100*100**12*ICN8*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*NOBODY99*1*50*45**12*ICN99*11*1~
    CAS*CO*45*5~
    NM1*QC*1*ROE*RICHARD****MI*M999~
    """, "145", "EFT8")
    result = cli("remit", "import", remit, db=db)
    assert result.exit_code == 0, result.output
    assert "ledger.claim.unmatched" in result.stderr
    rec = json.loads(cli("reconcile", "--json", db=db).stdout)
    p = rec["payments"][0]
    assert (p["claims_matched"], p["claims_unmatched"], p["unmatched_paid"], p["balanced"]) == (1, 1, "45.00", True)
    assert rec["suspense"] == [{"kind": "unmatched_claim", "patient_control_number": "NOBODY99", "amount": "45.00",
                                "reason": "no claim with this patient control number or payer claim number",
                                "trace_number": "EFT8", "segment": 13}]
    assert rec["totals"]["suspense"] == "45.00"
    assert_check(db)


def test_the_same_file_twice_and_the_same_payment_in_another_file(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN9", ("99213", "100"))]), db=db)
    body = """
    CLP*PCN9*1*100*100**12*ICN9*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    """
    remit = write_835(tmp_path, "r.835", body, "100", "EFT9")
    assert cli("remit", "import", remit, db=db).exit_code == 0
    before = claims_json(db)
    again = cli("remit", "import", remit, db=db)
    assert again.exit_code == 0 and "already" in again.stdout and "nothing changed" in again.stdout
    other = write_835(tmp_path, "r-copy.835", body + "NTE*ADD*RESENT~\n", "100", "EFT9")
    dup = cli("remit", "import", other, db=db)
    assert dup.exit_code == 1 and "refused" in dup.stdout and "already posted from another file" in dup.stdout
    assert claims_json(db) == before
    assert len(json.loads(cli("reconcile", "--json", db=db).stdout)["payments"]) == 1
    assert_check(db)


def test_the_same_payment_with_a_padded_trace_or_no_trn03_is_not_posted_twice(tmp_path, db):
    """A payment is the same whatever padding its TRN02 carries, and whether or not a resent file keeps TRN03
    (found by an attack on the importer: each posted the money again, and ledger check said nothing)."""
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN8", ("99213", "100"))]), db=db)
    body = "CLP*PCN8*1*100*100**12*ICN8*11*1~\nNM1*QC*1*DOE*JANE****MI*M123~\n"
    assert cli("remit", "import", write_835(tmp_path, "r.835", body, "100", "EFT8T"), db=db).exit_code == 0
    before = claims_json(db)
    padded = write_835(tmp_path, "padded.835", body, "100", " EFT8T ")
    no_trn03 = tmp_path / "no-trn03.835"
    no_trn03.write_bytes(Path(write_835(tmp_path, "x.835", body, "100", "EFT8T")).read_bytes()
                         .replace(b"TRN*1*EFT8T*1512345678~", b"TRN*1*EFT8T~"))
    for path in (padded, str(no_trn03)):
        dup = cli("remit", "import", path, db=db)
        assert dup.exit_code == 1 and "already posted from another file" in dup.stdout, (path, dup.output)
    assert claims_json(db) == before
    assert_check(db)


def test_a_file_another_process_recorded_at_the_same_moment_is_already_there(tmp_path, db, monkeypatch):
    """Two importers can both find a file new and race to write its row; the loser's unique violation (raised by
    the driver, inside COPY on PostgreSQL) must read as "already", never as a crash or a half import."""
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCR1", ("99213", "100"))]), db=db)
    remit = write_835(tmp_path, "r.835", "CLP*PCR1*1*100*100**12*ICNR1*11*1~\nNM1*QC*1*DOE*JANE****MI*M1~\n",
                      "100", "EFTR1")
    assert cli("remit", "import", remit, db=db).exit_code == 0
    before = claims_json(db)
    asked = []
    known = Ledger._known

    def not_yet_committed(self, conn, sha):  # what the loser saw: the winner had not committed when it looked
        asked.append(sha)
        return None if len(asked) == 1 else known(self, conn, sha)

    monkeypatch.setattr(Ledger, "_known", not_yet_committed)
    led = Ledger(db)
    try:
        result = led.import_835(remit)
    finally:
        led.close()
    assert result.outcome == "already" and "another process" in result.message
    assert len(asked) == 2  # the unique violation was recognised as the same file
    monkeypatch.undo()
    assert claims_json(db) == before
    assert_check(db)


def test_the_same_payment_posted_by_another_process_at_the_same_moment_is_refused(tmp_path, db, monkeypatch):
    """Two importers posting the same payment (payer + trace number) from two files: the one that looked before
    the other committed meets the unique constraint, and gets a refusal, not a crash."""
    if db.startswith("sqlite"):
        pytest.skip("SQLite writers hold the write lock from BEGIN: this race cannot happen there")
    from edi.ledger.post import RemittancePoster

    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCR2", ("99213", "100"))]), db=db)
    body = "CLP*PCR2*1*100*100**12*ICNR2*11*1~\nNM1*QC*1*DOE*JANE****MI*M1~\n"
    assert cli("remit", "import", write_835(tmp_path, "r.835", body, "100", "EFTR2"), db=db).exit_code == 0
    before = claims_json(db)
    start = RemittancePoster._start

    def looked_too_early(self, rem):  # the "already posted?" query runs before the other process committed
        real = self.db

        class Blind:
            first = True

            def __getattr__(self, name):
                return getattr(real, name)

            def execute(self, *args, **kwargs):
                if Blind.first:
                    Blind.first = False
                    return type("Nothing", (), {"scalar": staticmethod(lambda: None)})()
                return real.execute(*args, **kwargs)

        blind = Blind()
        with monkeypatch.context() as m:
            m.setattr(RemittancePoster, "db", property(lambda poster: blind))
            return start(self, rem)

    monkeypatch.setattr(RemittancePoster, "_start", looked_too_early)
    other = write_835(tmp_path, "r-copy.835", body + "NTE*ADD*RESENT~\n", "100", "EFTR2")
    dup = cli("remit", "import", other, db=db)
    monkeypatch.undo()
    assert dup.exit_code == 1 and "refused" in dup.stdout and "another process" in dup.stdout, dup.output
    assert claims_json(db) == before
    assert_check(db)


def test_a_failure_half_way_leaves_the_database_as_it_was(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim(f"PCF{i}", ("99213", "100")) for i in range(5)]),
        db=db)
    body = "".join(f"CLP*PCF{i}*1*100*90**12*ICNF{i}*11*1~\nCAS*CO*45*10~\nNM1*QC*1*DOE*JANE****MI*M123~\n"
                   for i in range(5))
    remit = write_835(tmp_path, "r.835", body, "450", "EFTF")
    before = claims_json(db)
    ledger = Ledger(db)
    with pytest.raises(InjectedFailure):
        ledger.import_835(remit, fail_after=3)
    ledger.close()
    import gc

    assert gc.isenabled()  # the import pauses the cycle collector, and gives it back even on failure
    assert claims_json(db) == before
    rec = json.loads(cli("reconcile", "--json", db=db).stdout)
    assert rec["payments"] == [] and rec["suspense"] == []
    assert cli("remit", "import", remit, db=db).exit_code == 0  # and the file still imports afterwards
    assert claims_json(db)["PCF4"]["paid"] == "90.00"
    assert_check(db)


def test_replacement_and_void(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c1.837", [claim("PCN10", ("99213", "100")),
                                                           claim("PCN11", ("99213", "100"))]), db=db)
    paid = write_835(tmp_path, "r.835", """
    CLP*PCN10*1*100*80**12*ICN10*11*1~
    CAS*CO*45*20~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "80", "EFT10")
    assert cli("remit", "import", paid, db=db).exit_code == 0
    later = write_837(tmp_path, "c2.837", [claim("PCN10", ("99214", "140"), frequency="7", icn="ICN10"),
                                           claim("PCN11", ("99213", "100"), frequency="8", icn="ICN11")], control=2)
    result = cli("claims", "record", later, db=db)
    assert result.exit_code == 0, result.output
    rows = json.loads(cli("ledger", "claims", "--json", db=db).stdout)
    by = [(r["patient_control_number"], r["status"], r["billed"], r["paid"], r["insurance_balance"]) for r in rows]
    assert by == [
        ("PCN10", "replaced", "0.00", "80.00", "-100.00"),  # its charge moved to the replacement; the payer's
        ("PCN11", "voided", "0.00", "0.00", "0.00"),        # reversal of ICN10 will bring it back to zero
        ("PCN10", "submitted", "140.00", "0.00", "140.00"),
        ("PCN11", "voided", "0.00", "0.00", "0.00"),
    ]
    reprocess = write_835(tmp_path, "r2.835", """
    CLP*PCN10*22*-100*-80**12*ICN10*11*1~
    CAS*CO*45*-20~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCN10*1*140*110**12*ICN10B*11*7~
    CAS*CO*45*30~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "30", "EFT11")
    assert cli("remit", "import", reprocess, db=db).exit_code == 0
    rows = json.loads(cli("ledger", "claims", "--json", db=db).stdout)
    by = [(r["patient_control_number"], r["status"], r["paid"], r["insurance_balance"]) for r in rows]
    assert by[0] == ("PCN10", "replaced", "0.00", "0.00")
    assert by[2] == ("PCN10", "paid", "110.00", "0.00")
    assert_check(db)


def test_a_payment_that_reaches_a_replaced_claim_leaves_it_replaced(tmp_path, db, monkeypatch):
    """A payer may still pay on a replaced claim's payer claim number: the money is posted to that claim, which
    stays replaced (its charges moved to the replacement), so `edi ledger check` holds; a later claim payment
    with the replaced claim's number is not matched to it (suspense), on both databases alike, even when the
    two fall in different batches (on PostgreSQL the claims are matched on a second connection)."""
    import edi.ledger.post as post

    cli("claims", "record", write_837(tmp_path, "c1.837", [claim("PCR1", ("99213", "100"))]), db=db)
    paid = write_835(tmp_path, "r1.835", """
    CLP*PCR1*1*100*80**12*ICNR1*11*1~
    CAS*CO*45*20~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "80", "EFTR1")
    assert cli("remit", "import", paid, db=db).exit_code == 0
    replaced = cli("claims", "record", write_837(tmp_path, "c2.837", [
        claim("PCR2", ("99213", "100"), frequency="7", icn="ICNR1")], control=2), db=db)
    assert replaced.exit_code == 0, replaced.output
    monkeypatch.setattr(post, "BATCH", 1)
    later = write_835(tmp_path, "r2.835", """
    CLP*PCRX*2*0*5**12*ICNR1*11*1~
    CAS*OA*23*-5~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCR1*1*10*7**12*ICNR9*11*1~
    CAS*CO*45*3~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "12", "EFTR2")
    result = cli("remit", "import", later, db=db)
    assert result.exit_code == 0, result.output
    c = json.loads(cli("ledger", "claims", "--json", db=db).stdout)
    assert [(r["patient_control_number"], r["status"], r["paid"]) for r in c] == [
        ("PCR1", "replaced", "85.00"), ("PCR2", "submitted", "0.00")]
    rec = json.loads(cli("reconcile", "--json", db=db).stdout)
    assert [(s["kind"], s["patient_control_number"], s["amount"]) for s in rec["suspense"]] == [
        ("unmatched_claim", "PCR1", "7.00")]
    assert_check(db)


def test_check_names_a_violation(tmp_path, db):
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN12", ("99213", "100"))]), db=db)
    ledger = Ledger(db)
    from sqlalchemy import insert

    from edi.ledger.schema import journal_entries, postings
    with ledger.engine.begin() as conn:  # a broken entry, as a bug or a hand edit would leave it
        entry = conn.execute(insert(journal_entries).values(kind="payment", created_at=NOW)
                             .returning(journal_entries.c.id)).scalar()
        conn.execute(insert(postings).values(entry_id=entry, account="undeposited_era", amount=D("5")))
    ledger.close()
    result = cli("ledger", "check", "--json", db=db)
    assert result.exit_code == 1
    assert [p["code"] for p in json.loads(result.stdout)["problems"]] == ["ledger.entry.unbalanced"]


def test_check_reports_every_orphaned_reference(tmp_path, db):
    """The references that are not foreign keys (schema.CHECKED_REFERENCES) are proven by `edi ledger check`:
    point each one, in turn, at a row that does not exist and check names it."""
    from sqlalchemy import text

    from edi.ledger.schema import CHECKED_REFERENCES

    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN13", ("99213", "150"), ("81002", "50"))]),
        db=db)
    remit = write_835(tmp_path, "r.835", """
    CLP*PCN13*1*200*150**12*ICN13*11*1~
    NM1*QC*1*DOE*JANE****MI*M123~
    SVC*HC:99213*150*110**1~
    DTM*472*20250115~
    CAS*CO*45*40~
    REF*6R*PCN13-1~
    SVC*HC:81002*50*40**1~
    DTM*472*20250115~
    CAS*CO*45*10~
    REF*6R*PCN13-2~
    """, "150", "EFT13")
    assert cli("remit", "import", remit, db=db).exit_code == 0
    assert_check(db)
    ledger = Ledger(db)
    try:
        for table, column, referred in CHECKED_REFERENCES:
            with ledger.engine.begin() as conn:
                row_id, value = conn.execute(text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL "
                                                  "ORDER BY id LIMIT 1")).one()
                conn.execute(text(f"UPDATE {table} SET {column} = 999999 WHERE id = :i"), {"i": row_id})
            problems = ledger.check()
            orphans = [p.message for p in problems if p.code == "ledger.reference.orphan"]
            assert orphans == [f"1 {table} rows name a {column} that is not in {referred}: "
                               f"{table} {row_id} -> 999999"], (table, column, problems)
            with ledger.engine.begin() as conn:
                conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :i"), {"v": value, "i": row_id})
            assert ledger.check() == []
    finally:
        ledger.close()


def test_check_goes_through_the_claims_a_chunk_at_a_time(tmp_path, db, monkeypatch):
    """`edi ledger check` reads the claims' balances a range of ids at a time (a large ledger is never held whole):
    the chunks, gaps between ids included, give exactly the claims of the one-piece view, and a claim whose
    balance is broken is named whichever chunk it falls in."""
    from sqlalchemy import insert, text

    from edi.ledger import views
    from edi.ledger.schema import journal_entries, postings

    cli("claims", "record", write_837(tmp_path, "c.837", [claim(f"PCK{i}", ("99213", "100")) for i in range(7)]),
        db=db)
    ledger = Ledger(db)
    with ledger.engine.begin() as conn:  # a gap in the ids: the fourth claim never was (as after a rollback)
        gone = conn.execute(text("SELECT id FROM claims WHERE patient_control_number = 'PCK3'")).scalar()
        conn.execute(text("DELETE FROM claim_lines WHERE claim_id = :i"), {"i": gone})
        conn.execute(text("DELETE FROM postings WHERE entry_id IN "
                          "(SELECT id FROM journal_entries WHERE claim_id = :i)"), {"i": gone})
        conn.execute(text("DELETE FROM journal_entries WHERE claim_id = :i"), {"i": gone})
        conn.execute(text("DELETE FROM claims WHERE id = :i"), {"i": gone})
    with ledger.engine.connect() as conn:
        whole = views.claim_balances(conn)
        chunks = list(views.iter_claim_balances(conn, chunk=2))
    assert [b.patient_control_number for b in whole] == [f"PCK{i}" for i in (0, 1, 2, 4, 5, 6)]
    assert [b for c in chunks for b in c] == whole and all(len(c) <= 2 for c in chunks)
    with ledger.engine.begin() as conn:  # the last claim's A/R moves without its counterpart
        last = whole[-1].id
        entry = conn.execute(insert(journal_entries).values(kind="payment", created_at=NOW)
                             .returning(journal_entries.c.id)).scalar()
        conn.execute(insert(postings), [
            {"entry_id": entry, "account": "insurance_ar", "amount": D("-5"), "claim_id": last},
            {"entry_id": entry, "account": "suspense", "amount": D("5"), "claim_id": None}])
    ledger.close()
    real = views.iter_claim_balances
    monkeypatch.setattr(views, "iter_claim_balances", lambda conn: real(conn, chunk=2))
    result = cli("ledger", "check", "--json", db=db)
    assert result.exit_code == 1
    assert [(p["code"], p["record"]) for p in json.loads(result.stdout)["problems"]] == [
        ("ledger.claim.balance", "PCK6")]


def test_a_statement_waiting_for_the_import_does_not_stall_it(tmp_path, db, monkeypatch):
    """PostgreSQL: while an import runs, another session asks for a table the import writes to, for itself
    (a migration, TRUNCATE, LOCK TABLE); it must wait for the import, and the import must not wait for it (its
    second connection, which reads claims, took its locks up front and does not queue behind that request)."""
    if db.startswith("sqlite"):
        pytest.skip("SQLite writers hold the write lock from BEGIN: nothing can queue between them")
    import threading
    import time

    from sqlalchemy import create_engine, text

    import edi.ledger.post as post
    from edi.ledger.db import resolve_url

    monkeypatch.setattr(post, "BATCH", 1)
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCD1", ("99213", "100"))]), db=db)
    remit = write_835(tmp_path, "r.835", """
    CLP*PCD1*1*100*90**12*ICND1*11*1~
    CAS*CO*45*10~
    NM1*QC*1*DOE*JANE****MI*M123~
    CLP*PCDX*2*0*5**12*ICND1*11*1~
    CAS*OA*23*-5~
    NM1*QC*1*DOE*JANE****MI*M123~
    """, "95", "EFTD")
    other = create_engine(resolve_url(db))
    seen: dict = {}

    def exclusive() -> None:
        with other.connect() as c:
            c.execute(text("SET lock_timeout = '3s'"))
            start = time.monotonic()
            c.execute(text("LOCK TABLE claim_payments IN ACCESS EXCLUSIVE MODE"))  # raises if it timed out
            seen["waited"] = time.monotonic() - start
            c.rollback()

    real = post.RemittancePoster._candidates
    batches = []

    def candidates(self, batch):
        batches.append(batch)
        if len(batches) == 2:  # the first batch is written: the import holds its lock on claim_payments
            self.writes.connection()  # waits until that batch is written
            seen["thread"] = threading.Thread(target=exclusive)
            seen["thread"].start()
            time.sleep(0.5)  # the request is queued behind the import
        return real(self, batch)

    monkeypatch.setattr(post.RemittancePoster, "_candidates", candidates)
    ledger = Ledger(db)
    start = time.monotonic()
    result = ledger.import_835(remit)
    took = time.monotonic() - start
    seen["thread"].join()
    ledger.close()
    other.dispose()
    assert result.outcome == "imported"
    assert took < 2.5 and seen["waited"] >= 0.4  # the other session waited for the import, not the reverse


def test_a_file_that_replaces_and_voids_its_own_claims(tmp_path, db, monkeypatch):
    """One 837 file (two interchanges) holds claims and, in later batches of the recorder (batches of one claim
    here), a replacement of one and a void of another: on PostgreSQL the rows are written by a thread while the
    next batch is built, and the replacement and the void must still find the originals this file recorded."""
    import edi.ledger.record as record

    monkeypatch.setattr(record, "BATCH", 1)
    first = write_837(tmp_path, "a.837", [claim("PCO1", ("99213", "100")), claim("PCO2", ("99213", "80"))])
    later = write_837(tmp_path, "b.837", [claim("PCO1", ("99214", "140"), frequency="7", icn="ICNO1"),
                                          claim("PCO2", ("99213", "80"), frequency="8", icn="ICNO2")], control=2)
    path = tmp_path / "c.837"  # one file, two interchanges
    path.write_bytes(Path(first).read_bytes() + Path(later).read_bytes())
    path = str(path)
    result = cli("claims", "record", path, db=db)
    assert result.exit_code == 0, result.output
    assert "original_unknown" not in result.output + result.stderr
    c = json.loads(cli("ledger", "claims", "--json", db=db).stdout)
    assert [(r["patient_control_number"], r["status"], r["billed"], r["insurance_balance"]) for r in c] == [
        ("PCO1", "replaced", "0.00", "0.00"), ("PCO2", "voided", "0.00", "0.00"),
        ("PCO1", "submitted", "140.00", "140.00"), ("PCO2", "voided", "0.00", "0.00")]
    assert_check(db)


def test_reconcile_does_not_say_every_payment_balances_when_one_does_not(tmp_path, db):
    """A payment whose BPR02 differs from its claims is posted (the difference to suspense), and reconcile says
    it does not balance (it said "every payment balances" before)."""
    cli("claims", "record", write_837(tmp_path, "c.837", [claim("PCN7", ("99213", "100"))]), db=db)
    body = "CLP*PCN7*1*100*90**12*ICN7*11*1~\nCAS*CO*45*10~\nNM1*QC*1*DOE*JANE****MI*M123~\n"
    cli("remit", "import", write_835(tmp_path, "r.835", body, "100", "EFT7"), db=db)
    rec = cli("reconcile", db=db)
    assert rec.exit_code == 1 and "1 payments do not balance" in rec.stdout and "every payment balances" not in \
        rec.stdout
    as_json = json.loads(cli("reconcile", "--json", db=db).stdout)
    assert as_json["totals"]["unbalanced_payments"] == 1 and as_json["payments"][0]["detail_balanced"] is False
    assert_check(db)
