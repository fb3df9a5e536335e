"""Acknowledgements in the ledger, and one claim one bill: a worked scenario on SQLite and PostgreSQL.

Claims are recorded from two 837 files; a 999 rejects the transaction set of the first file and accepts the
second's; a 277CA accepts two claims of the second file and rejects one. `edi ledger claims --json` shows each
status and why; importing again changes nothing; the same batch re-sent under new control numbers bills nothing;
the corrected resubmission of the rejected claim is billed once; `edi ledger check` passes throughout.
"""

from __future__ import annotations

import dataclasses
import io
import json
import multiprocessing
import re
from datetime import datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from test_ledger import NOW, SUBMITTER, claim, runner, write_835
from x12text import isa

from cli.main import app
from edi.ledger import Ledger
from edi.model import Payer
from edi.x12.writer import CounterControlNumbers, Party
from edi.x837.writer import build_837


def write_837(tmp: Path, name: str, claims: list, control: int) -> str:
    """An 837 whose ISA13, GS06 and ST02 all count from ``control``."""
    out = io.BytesIO()
    build_837(out, claims, SUBMITTER, Party("ZZ", "SUBMITTER"), Party("ZZ", "CH01"),
              CounterControlNumbers(interchange=control, group=control, transaction=control), NOW, "T")
    path = tmp / name
    path.write_bytes(out.getvalue())
    return str(path)


def envelope_numbers(path: str) -> tuple[str, str, str]:
    """(ISA13, GS06, ST02) of an 837 with one group and one transaction set."""
    text = Path(path).read_text()
    isa13 = re.search(r"ISA\*(?:[^*]*\*){12}(\d{9})", text).group(1)
    gs06 = re.search(r"GS\*HC\*(?:[^*]*\*){4}(\d+)\*", text).group(1)
    st02 = re.search(r"ST\*837\*(\d+)", text).group(1)
    return isa13, gs06, st02


def ack_file(tmp: Path, name: str, body: str, *, control: int = 900, functional_id: str = "FA",
             st01: str = "999", version: str = "005010X231A1") -> str:
    """An acknowledgement from the clearinghouse CH01 to SUBMITTER: ISA/GS around body segments (each with its
    own ST...SE when st01 is given, else as they are: a TA1)."""
    segs = [line.strip() for line in body.strip().splitlines() if line.strip()]
    out = [isa(control, sender="CH01", receiver="SUBMITTER")]
    if st01:
        out += [f"GS*{functional_id}*CH01*SUBMITTER*20250305*1200*{control}*X*{version}~",
                f"ST*{st01}*0001*{version}~", *segs, f"SE*{len(segs) + 2}*0001~", f"GE*1*{control}~"]
    else:
        out += segs
    out.append(f"IEA*{1 if st01 else 0}*{control:09d}~")
    path = tmp / name
    path.write_text("\n".join(out) + "\n")
    return str(path)


def rejecting_999(tmp: Path, sent_837: str, name: str = "r.999") -> str:
    """A 999 from CH01 rejecting the (one) transaction set of ``sent_837``: IK5 R 5, AK9 R."""
    _, gs06, st02 = envelope_numbers(sent_837)
    return ack_file(tmp, name, f"AK1*HC*{gs06}*005010X222A1~\nAK2*837*{st02}*005010X222A1~\nIK5*R*5~\n"
                    "AK9*R*1*1*0~")


def ca277(tmp: Path, name: str, *claims: str, batch: str = "BATCH0001", payer_id: str = "SYNTH01",
          control: int = 900) -> str:
    """A 277CA from the payer to SUBMITTER: its source, receiver (batch id ``batch``) and provider levels, then a
    patient level per claim, each given as the segments of its 2200D loop (TRN*2, STC, REF, DTP)."""
    body = ["BHT*0085*08*277CA1*20250306*1030*TH~", "HL*1**20*1~",
            f"NM1*PR*2*SYNTH HEALTH PLAN*****PI*{payer_id}~", "TRN*1*RCPT1~", "HL*2*1*21*1~",
            "NM1*41*2*SYNTH BILLING*****46*SUBMITTER~", f"TRN*2*{batch}~", "STC*A1:19:PR*20250306*WQ~",
            "HL*3*2*19*1~", "NM1*85*2*SYNTH CLINIC*****XX*1234567893~", "TRN*1*0~", "STC*A1:19:PR**WQ~"]
    for k, segments in enumerate(claims, 4):
        body += [f"HL*{k}*3*PT~", "NM1*QC*1*DOE*JANE****MI*M123~", segments]
    return ack_file(tmp, name, "\n".join(body), functional_id="HN", st01="277", version="005010X214",
                    control=control)


def claims_json(url: str, *args: str) -> dict[str, dict]:
    result = runner.invoke(app, ["ledger", "claims", "--json", "--db", url, *args])
    assert result.exit_code == 0, result.output
    return {c["patient_control_number"]: c for c in json.loads(result.stdout)}


def clock_at(moment: datetime):
    return lambda: moment


def test_acknowledgements_set_statuses_and_one_claim_is_billed_once(tmp_path, db):
    ledger = Ledger(db, clock=clock_at(datetime(2025, 3, 1, 9, 0)))
    first = write_837(tmp_path, "first.837", [claim("R1", ("99213", "100")), claim("R2", ("99214", "150"))],
                      control=11)
    second = write_837(tmp_path, "second.837", [claim("C1", ("99213", "100")), claim("C2", ("99213", "120.50")),
                                                claim("C3", ("99215", "210"))], control=12)
    assert ledger.record_837(first).outcome == "imported"
    assert ledger.record_837(second).outcome == "imported"
    _, gs_first, st_first = envelope_numbers(first)
    _, gs_second, st_second = envelope_numbers(second)

    # the same batch re-sent by the EHR under new control numbers: every claim already stands, nothing is billed
    resent = write_837(tmp_path, "resent.837", [claim("C1", ("99213", "100")), claim("C2", ("99213", "120.50")),
                                                claim("C3", ("99215", "210"))], control=13)
    again = ledger.record_837(resent)
    assert again.outcome == "refused"
    assert [p.code for p in again.problems if p.code.startswith("ledger.")] == ["ledger.claim.standing"] * 3
    assert all(p.is_error for p in again.problems if p.code == "ledger.claim.standing")
    assert sum((c.billed for c in ledger.claims()), D(0)) == D("680.50")

    # a 999: the first file's transaction set rejected (a DTP missing in loop 2400 of claim R1), the second's
    # accepted; each in its own group
    nine = ack_file(tmp_path, "ack.999", f"""
        AK1*HC*{gs_first}*005010X222A1~
        AK2*837*{st_first}*005010X222A1~
        IK3*DTP*26*2400*3~
        CTX*CLM01:R1~
        IK5*R*5~
        AK9*R*1*1*0~
        AK1*HC*{gs_second}*005010X222A1~
        AK2*837*{st_second}*005010X222A1~
        IK5*A~
        AK9*A*1*1*1~
    """)
    # a 277CA from the payer: C1 accepted into adjudication (with its claim number), C2 rejected for invalid
    # information about the billing provider, C3 received; and a claim this ledger never billed
    two77 = ack_file(tmp_path, "ack.277", """
        BHT*0085*08*277CA0001*20250306*1030*TH~
        HL*1**20*1~
        NM1*PR*2*SYNTH HEALTH PLAN*****PI*SYNTH01~
        TRN*1*RCPT0001~
        DTP*050*D8*20250305~
        DTP*009*D8*20250306~
        HL*2*1*21*1~
        NM1*41*2*SYNTH BILLING*****46*SUBMITTER~
        TRN*2*BATCH0001~
        STC*A1:19:PR*20250306*WQ*430.50~
        QTY*90*2~
        QTY*AA*1~
        AMT*YU*310~
        AMT*YY*120.50~
        HL*3*2*19*1~
        NM1*85*2*SYNTH CLINIC*****XX*1234567893~
        TRN*1*0~
        STC*A1:19:PR**WQ*430.50~
        QTY*QA*2~
        QTY*QC*1~
        AMT*YU*310~
        AMT*YY*120.50~
        HL*4*3*PT~
        NM1*QC*1*DOE*JANE****MI*M123~
        TRN*2*C1~
        STC*A2:20:PR*20250306*WQ*100~
        REF*1K*ICN-C1~
        DTP*472*D8*20250115~
        HL*5*3*PT~
        NM1*QC*1*DOE*JANE****MI*M123~
        TRN*2*C2~
        STC*A7:562:85*20250306*U*120.50~
        DTP*472*D8*20250115~
        HL*6*3*PT~
        NM1*QC*1*DOE*JANE****MI*M123~
        TRN*2*C3~
        STC*A1:19:PR*20250306*WQ*210~
        DTP*472*D8*20250115~
        HL*7*3*PT~
        NM1*QC*1*ROE*RICHARD****MI*M999~
        TRN*2*NEVERBILLED~
        STC*A2:20:PR*20250306*WQ*55~
        DTP*472*D8*20250115~
    """, functional_id="HN", st01="277", version="005010X214")
    r999 = ledger.import_acks(nine)
    assert r999.outcome == "imported", r999.message
    assert (r999.acknowledged.transaction_sets, r999.acknowledged.sets_rejected,
            r999.acknowledged.claims_rejected) == (2, 1, 2)
    r277 = ledger.import_acks(two77)
    assert r277.outcome == "imported", r277.message
    a = r277.acknowledged
    assert (a.claims, a.claims_accepted, a.claims_rejected, a.unlinked) == (4, 2, 1, 1)
    assert [p.code for p in r277.problems if p.code == "ack.unlinked"] == ["ack.unlinked"]
    assert {(t["level"], t["accepted"], t["rejected"]) for t in a.provider_totals} == {("receiver", 2, 1),
                                                                                       ("provider", 2, 1)}

    shown = claims_json(db)
    assert {pcn: c["status"] for pcn, c in shown.items()} == {
        "R1": "rejected", "R2": "rejected", "C1": "accepted", "C2": "rejected", "C3": "accepted"}
    assert "999 transaction set" in shown["R1"]["status_reason"] and "DTP at 26 in loop 2400" in \
        shown["R1"]["status_reason"]
    assert shown["C2"]["status_reason"].startswith("277CA from SYNTH HEALTH PLAN: A7:562:85 ")
    assert "rejected for invalid information" in shown["C2"]["status_reason"]
    assert shown["C1"]["status_reason"].startswith("277CA from SYNTH HEALTH PLAN: A2:20:PR")
    # a rejected claim still counts in A/R until it is corrected: nobody has paid it
    assert shown["C2"]["insurance_balance"] == "120.50"
    story = ledger.claim("C1")["claims"][0]
    assert [(x["kind"], x["level"], x["outcome"]) for x in story["acknowledgments"]] == [
        ("999", "transaction", "accepted"), ("999", "group", "accepted"), ("277CA", "claim", "accepted")]
    assert story["acknowledgments"][2]["payer_claim_number"] == "ICN-C1"
    assert ledger.check() == []

    # the work list of rejections, in words
    rejected = runner.invoke(app, ["ledger", "claims", "--status", "rejected", "--db", db])
    assert rejected.exit_code == 0
    assert "A7:562:85" in rejected.stdout and "R2" in rejected.stdout and "C1" not in rejected.stdout

    # importing the same files again changes nothing
    before = claims_json(db)
    assert ledger.import_acks(nine).outcome == "already"
    assert ledger.import_acks(two77).outcome == "already"
    assert claims_json(db) == before

    # the corrected resubmission of C2 (same number and payer, frequency 1) is billed, once; the rejected claim
    # is replaced by it and leaves the balance
    fixed = write_837(tmp_path, "fixed.837", [claim("C2", ("99213", "125"))], control=14)
    recorded = ledger.record_837(fixed)
    assert recorded.outcome == "imported" and recorded.recorded.resubmitted == 1, recorded.message
    c2 = [c for c in ledger.claims() if c.patient_control_number == "C2"]
    assert [(c.status, c.billed, c.insurance_balance) for c in c2] == [("replaced", D(0), D(0)),
                                                                      ("submitted", D(125), D(125))]
    # and the same resubmission again is a claim that stands: refused
    assert ledger.record_837(write_837(tmp_path, "fixed-again.837", [claim("C2", ("99213", "125"))],
                                       control=15)).outcome == "refused"

    # a payer that adjudicates a rejected claim after all: the payment posts, says so, and the claim is paid
    era = write_835(tmp_path, "era.835", "CLP*R1*1*100*80**12*ICNR1*11*1~\nCAS*CO*45*20~\n"
                                         "NM1*QC*1*DOE*JANE****MI*M123~\n", "80", "EFTR1")
    posted = ledger.import_835(era)
    assert posted.outcome == "imported"
    assert [p.code for p in posted.problems if p.code == "ledger.claim.was_rejected"] == ["ledger.claim.was_rejected"]
    assert claims_json(db)["R1"]["status"] == "paid"
    assert ledger.check() == []
    assert sum((c.billed for c in ledger.claims()), D(0)) == D("685.00")  # 250 + 100 + 125 + 210
    ledger.close()


def test_claims_nothing_has_answered_after_thirty_days(tmp_path, db):
    ledger = Ledger(db, clock=clock_at(datetime(2025, 1, 1, 9, 0)))
    ledger.record_837(write_837(tmp_path, "old.837", [claim("OLD1", ("99213", "100")),
                                                      claim("OLD2", ("99213", "90"))], control=21))
    ledger.clock = clock_at(datetime(2025, 2, 20, 9, 0))
    ledger.record_837(write_837(tmp_path, "new.837", [claim("NEW1", ("99213", "80"))], control=22))
    ledger.clock = clock_at(datetime(2025, 3, 1, 9, 0))
    two77 = ca277(tmp_path, "a.277", "TRN*2*OLD2~\nSTC*A2:20:PR*20250301*WQ*90~\nDTP*472*D8*20250115~")
    assert ledger.import_acks(two77).outcome == "imported"
    lost = ledger.claims(status="submitted", older_than=30)
    assert [c.patient_control_number for c in lost] == ["OLD1"]
    ledger.close()
    out = runner.invoke(app, ["ledger", "claims", "--status", "submitted", "--older-than", "-1", "--db", db])
    assert out.exit_code == 2


def test_a_ta1_rejecting_an_interchange_rejects_its_claims(tmp_path, db):
    ledger = Ledger(db)
    path = write_837(tmp_path, "c.837", [claim("T1", ("99213", "100")), claim("T2", ("99213", "100"))], control=31)
    ledger.record_837(path)
    isa13, _, _ = envelope_numbers(path)
    ta1 = ack_file(tmp_path, "r.ta1", f"TA1*{isa13}*250301*0900*R*006~", st01="")
    result = ledger.import_acks(ta1)
    assert result.outcome == "imported" and result.acknowledged.claims_rejected == 2
    assert {c.status for c in ledger.claims()} == {"rejected"}
    assert "006" in ledger.claims()[0].status_reason
    unknown = ack_file(tmp_path, "u.ta1", "TA1*000000777*250301*0900*A*000~", st01="", control=901)
    kept = ledger.import_acks(unknown)
    assert kept.outcome == "imported" and kept.acknowledged.unlinked == 1
    ledger.close()


def test_files_that_hold_no_acknowledgement_are_refused(tmp_path, db):
    ledger = Ledger(db)
    claims_file = write_837(tmp_path, "c.837", [claim("W1", ("99213", "100"))], control=41)
    era = write_835(tmp_path, "era.835", "CLP*W1*1*100*100**12*I1*11*1~\n", "100", "EFTW1")
    empty = tmp_path / "empty.999"
    empty.write_bytes(b"")
    said = {claims_file: "c.837 holds 837 claims, not acknowledgements (TA1, 999 or 277CA): nothing changed "
                         "(edi claims record takes it)",
            era: "era.835 holds an 835 remittance, not acknowledgements (TA1, 999 or 277CA): nothing changed "
                 "(edi remit import takes it)",
            str(empty): "empty.999 holds no TA1, 999 or 277CA acknowledgement: nothing was imported"}
    for path, message in said.items():
        result = ledger.import_acks(path)
        assert (result.outcome, result.message) == ("refused", message)
    # the 835 was not taken for an acknowledgement: it can still be posted
    assert ledger.record_837(claims_file).outcome == "imported"
    assert ledger.import_835(era).outcome == "imported"
    ledger.close()


def test_acks_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'edi.db'}"
    ledger = Ledger(url)
    path = write_837(tmp_path, "c.837", [claim("K1", ("99213", "100"))], control=51)
    ledger.record_837(path)
    ledger.close()
    _, gs06, st02 = envelope_numbers(path)
    nine = ack_file(tmp_path, "a.999", f"AK1*HC*{gs06}*005010X222A1~\nAK2*837*{st02}*005010X222A1~\n"
                    "IK3*NM1*8*2010BA*8~\nIK4*9*67*6*BADVALUE~\nIK5*R*5~\nAK9*R*1*1*0~")
    shown = runner.invoke(app, ["acks", "show", nine])
    assert shown.exit_code == 1  # it rejects something
    assert "R Rejected" in shown.stdout or "rejected" in shown.stdout.lower()
    assert "BADVALUE" not in shown.stdout  # IK404 may copy patient data
    as_json = runner.invoke(app, ["acks", "show", nine, "--json"])
    doc = json.loads(as_json.stdout)
    assert [a["type"] for a in doc["acknowledgements"]] == ["TransactionSetAck", "GroupAck"]
    assert "BADVALUE" not in as_json.stdout
    imported = runner.invoke(app, ["acks", "import", nine, "--db", url])
    assert imported.exit_code == 0, imported.output
    assert "claims accepted 0, rejected 1" in imported.stdout
    again = runner.invoke(app, ["acks", "import", nine, "--db", url])
    assert again.exit_code == 0 and "already" in again.stdout
    assert runner.invoke(app, ["acks", "import", str(tmp_path / "missing.999"), "--db", url]).exit_code == 2
    assert runner.invoke(app, ["acks", "import", path, "--db", url]).exit_code == 1  # an 837 is refused
    story = runner.invoke(app, ["ledger", "claim", "K1", "--db", url])
    assert "acknowledgement 999 (transaction) rejected" in story.stdout


def _record(args: tuple[str, str]) -> tuple[str, str, int]:
    url, path = args
    ledger = Ledger(url)
    try:
        r = ledger.record_837(path)
        return Path(path).name, r.outcome, r.recorded.claims if r.recorded else 0
    finally:
        ledger.close()


def test_concurrent_records_of_the_same_claims_bill_them_once(tmp_path, pg_url):
    """Four processes record four files holding the same 30 claims (an EHR that re-sent a batch under new control
    numbers) at the same moment: exactly one file bills them; the others are refused."""
    if pg_url is None:
        pytest.skip("EDI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    Ledger(pg_url).close()  # the schema, made once
    pcns = [f"CC{i:03d}" for i in range(30)]
    files = [write_837(tmp_path, f"batch{k}.837", [claim(p, ("99213", "100")) for p in pcns], control=60 + k)
             for k in range(4)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        outcomes = pool.map(_record, [(pg_url, f) for f in files])
    assert sorted(o for _, o, _ in outcomes) == ["imported", "refused", "refused", "refused"], outcomes
    assert sum(n for _, _, n in outcomes) == 30
    ledger = Ledger(pg_url)
    try:
        assert ledger.check() == []
        assert len(ledger.claims()) == 30
        assert sum((c.billed for c in ledger.claims()), D(0)) == D(3000)
    finally:
        ledger.close()


def test_the_database_refuses_a_second_standing_claim(tmp_path, db):
    """Past the recorder's check, the partial unique index refuses a second standing original."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from edi.ledger.schema import claims

    ledger = Ledger(db)
    ledger.record_837(write_837(tmp_path, "c.837", [claim("U1", ("99213", "100"))], control=71))
    row = {"patient_control_number": "U1", "kind": "professional", "payer_id": "SYNTH01", "frequency": "1",
           "charge": D(100), "status": "submitted", "created_at": datetime(2025, 3, 1)}
    with pytest.raises(IntegrityError), ledger.engine.begin() as conn:
        conn.execute(insert(claims).values(**row))
    with ledger.engine.begin() as conn:  # another payer, or a rejected one, may share the number
        conn.execute(insert(claims).values(**{**row, "payer_id": "OTHER01"}))
        conn.execute(insert(claims).values(**{**row, "status": "rejected"}))
    ledger.close()


def test_ledger_check_names_a_claim_billed_twice(tmp_path):
    """A replacement (frequency 7) that stands beside a standing original of the same number is what the index
    cannot see; `edi ledger check` does."""
    from sqlalchemy import update

    from edi.ledger.schema import claims

    ledger = Ledger(f"sqlite:///{tmp_path / 'edi.db'}")
    ledger.record_837(write_837(tmp_path, "c.837", [claim("V1", ("99213", "100"))], control=81))
    ledger.record_837(write_837(tmp_path, "r.837", [claim("V1", ("99213", "100"), frequency="7", icn="ICNV1")],
                                control=82))
    assert ledger.check() == []
    with ledger.engine.begin() as conn:  # undo the replacement's bookkeeping by hand: both stand
        conn.execute(update(claims).where(claims.c.status == "replaced").values(status="submitted"))
    codes = {p.code for p in ledger.check()}
    assert "ledger.claim.standing_twice" in codes
    ledger.close()



def test_an_835_given_to_claims_record_is_refused_and_can_be_posted_afterwards(tmp_path, db):
    """The wrong command first: `claims record` of an 835 (or an empty file, or a 277CA) records nothing and
    remembers nothing, so the right command afterwards still posts the payment."""
    ledger = Ledger(db)
    ledger.record_837(write_837(tmp_path, "c.837", [claim("X1", ("99213", "100"))], control=91))
    era = write_835(tmp_path, "era.835", "CLP*X1*1*100*100**12*IX1*11*1~\nNM1*QC*1*DOE*JANE****MI*M123~\n",
                    "100", "EFTX1")
    empty = tmp_path / "empty.837"
    empty.write_bytes(b"")
    wrong = ledger.record_837(era)
    assert (wrong.outcome, wrong.message) == ("refused", "era.835 holds an 835 remittance, not 837 claims: nothing "
                                              "changed (edi remit import takes it)")
    nothing = ledger.record_837(str(empty))
    assert (nothing.outcome, nothing.message) == ("refused", "empty.837 holds no 837 claim: nothing was recorded")
    posted = ledger.import_835(era)
    assert posted.outcome == "imported" and posted.posted.matched == 1
    # and once posted, the 835 given to claims record again is named for what it is
    again = ledger.record_837(era)
    assert again.outcome == "refused" and [p.code for p in again.problems] == ["ledger.file.kind"]
    assert ledger.check() == []
    ledger.close()


# -- what a review found (each reproduced before its fix) ------------------------------------------------------

OTHER_PAYER = Payer("OTHER HEALTH PLAN", "PAYB01")


def claim_to(payer: Payer, pcn: str, *lines: tuple[str, str], frequency: str = "1", icn: str | None = None):
    return dataclasses.replace(claim(pcn, *lines, frequency=frequency, icn=icn), payer=payer)


def write_837_to(tmp: Path, name: str, claims: list, *, receiver: str, control: int = 1) -> str:
    """An 837 to ``receiver`` (ISA08) whose ISA13, GS06 and ST02 count from ``control``."""
    out = io.BytesIO()
    build_837(out, claims, SUBMITTER, Party("ZZ", "SUBMITTER"), Party("ZZ", receiver),
              CounterControlNumbers(interchange=control, group=control, transaction=control), NOW, "T")
    path = tmp / name
    path.write_bytes(out.getvalue())
    return str(path)


def ack_from(tmp: Path, name: str, sender: str, body: str, *, control: int = 900) -> str:
    path = Path(ack_file(tmp, name, body, control=control))
    path.write_text(path.read_text().replace("CH01".ljust(15), sender.ljust(15)).replace("*CH01*", f"*{sender}*"))
    return str(path)


def statuses(ledger: Ledger) -> dict[str, str]:
    return {c.patient_control_number: c.status for c in ledger.claims() if c.status not in ("replaced", "voided")}


def test_a_999_is_linked_to_the_clearinghouse_that_sends_it_never_to_another_with_the_same_numbers(tmp_path, db):
    ledger = Ledger(db)
    for name, receiver, pcn in (("a.837", "HUBA", "HA1"), ("b.837", "HUBB", "HB1")):
        assert ledger.record_837(write_837_to(tmp_path, name, [claim(pcn, ("99213", "100"))],
                                              receiver=receiver)).outcome == "imported"
    rejects = "AK1*HC*1*005010X222A1~\nAK2*837*0001*005010X222A1~\nIK5*R*5~\nAK9*R*1*1*0~"
    result = ledger.import_acks(ack_from(tmp_path, "b.999", "HUBB", rejects))
    assert result.acknowledged.claims_rejected == 1
    assert statuses(ledger) == {"HA1": "submitted", "HB1": "rejected"}
    # a TA1 from HUBA for interchange 1 rejects HUBA's claims only
    ta1 = ack_from(tmp_path, "a.ta1", "HUBA", "TA1*000000001*250301*0900*R*024~", control=901)
    Path(ta1).write_text(Path(ta1).read_text().replace("GS*", "").replace("IEA*1*", "IEA*0*"))
    ledger.import_acks(ack_file(tmp_path, "x.ta1", "TA1*000000001*250301*0900*R*024~", st01="", control=902)
                       .replace("x.ta1", "x.ta1"))  # from CH01: neither file went there
    assert statuses(ledger) == {"HA1": "submitted", "HB1": "rejected"}
    ledger.close()


def test_files_with_the_same_numbers_to_the_same_receiver_are_not_guessed_between(tmp_path, db):
    """An EHR that numbers every file from 1: a 999 for set 0001 cannot tell which file it answers. It is kept,
    unlinked, and rejects nothing."""
    ledger = Ledger(db)
    ledger.record_837(write_837_to(tmp_path, "mon.837", [claim("E1", ("99213", "100"))], receiver="CH01"))
    ledger.record_837(write_837_to(tmp_path, "tue.837", [claim("E2", ("99213", "100"))], receiver="CH01"))
    nine = ack_file(tmp_path, "n.999", "AK1*HC*1*005010X222A1~\nAK2*837*0001*005010X222A1~\nIK5*R*5~\nAK9*R*1*1*0~")
    result = ledger.import_acks(nine)
    assert result.outcome == "imported" and result.acknowledged.claims_rejected == 0
    assert result.acknowledged.unlinked == 2  # the set and its group
    assert statuses(ledger) == {"E1": "submitted", "E2": "submitted"}
    ledger.close()


def test_a_999_for_another_transaction_and_a_claim_status_response_change_nothing(tmp_path, db):
    ledger = Ledger(db)
    path = write_837(tmp_path, "c.837", [claim("N1", ("99213", "100"))], control=5)
    ledger.record_837(path)
    _, gs06, st02 = envelope_numbers(path)
    other = ack_file(tmp_path, "o.999", f"AK1*HS*{gs06}*005010X279A1~\nAK2*270*{st02}*005010X279A1~\nIK5*R*5~\n"
                     "AK9*R*1*1*0~")
    assert ledger.import_acks(other).acknowledged.claims_rejected == 0
    x212 = ack_file(tmp_path, "s.277", """
        BHT*0010*08*1*20250301*1030*DG~
        HL*1**20*1~
        NM1*PR*2*SYNTH HEALTH PLAN*****PI*SYNTH01~
        HL*2*1*21*1~
        NM1*41*2*SYNTH BILLING*****46*SUBMITTER~
        HL*3*2*19*1~
        NM1*85*2*SYNTH CLINIC*****XX*1234567893~
        HL*4*3*22*0~
        NM1*IL*1*DOE*JANE****MI*M123~
        TRN*2*N1~
        STC*A4:35*20250301~
    """, functional_id="HN", st01="277", version="005010X212")
    assert ledger.import_acks(x212).outcome == "imported"
    assert statuses(ledger) == {"N1": "submitted"}
    # AK102 0005 is GS06 5: numbers compare as numbers
    padded = ack_file(tmp_path, "p.999", f"AK1*HC*000{gs06}*005010X222A1~\nAK2*837*{st02}*005010X222A1~\n"
                      "IK5*R*5~\nAK9*R*1*1*0~", control=903)
    assert ledger.import_acks(padded).acknowledged.claims_rejected == 1
    ledger.close()


def test_a_group_rejected_whole_rejects_its_claims_whatever_its_sets_say(tmp_path, db):
    ledger = Ledger(db)
    path = write_837(tmp_path, "c.837", [claim("G1", ("99213", "100"))], control=6)
    ledger.record_837(path)
    _, gs06, st02 = envelope_numbers(path)
    nine = ack_file(tmp_path, "g.999", f"AK1*HC*{gs06}*005010X222A1~\nAK2*837*{st02}*005010X222A1~\nIK5*A~\n"
                    "AK9*R*1*1*0*5~")
    assert ledger.import_acks(nine).acknowledged.claims_rejected == 1
    assert statuses(ledger) == {"G1": "rejected"}
    ledger.close()


def test_a_replacement_or_void_for_one_payer_leaves_another_payers_claim_alone(tmp_path, db):
    ledger = Ledger(db)
    ledger.record_837(write_837(tmp_path, "a.837", [claim("X1", ("99213", "100"))], control=7))
    ledger.record_837(write_837(tmp_path, "b.837", [claim_to(OTHER_PAYER, "X1", ("99213", "100"))], control=19))
    ledger.record_837(write_837(tmp_path, "r.837", [claim("X1", ("99213", "110"), frequency="7", icn="I1")],
                                control=8))
    by_payer = {(c.payer, c.status): c.billed for c in ledger.claims()}
    assert by_payer == {("SYNTH HEALTH PLAN", "replaced"): 0, ("SYNTH HEALTH PLAN", "submitted"): 110,
                        ("OTHER HEALTH PLAN", "submitted"): 100}
    assert ledger.check() == []
    ledger.close()


def test_a_claim_rejected_by_the_wrong_payer_and_sent_to_the_right_one_is_billed_once(tmp_path, db):
    ledger = Ledger(db)
    path = write_837(tmp_path, "c.837", [claim("W1", ("99213", "100"))], control=9)
    ledger.record_837(path)
    ledger.import_acks(rejecting_999(tmp_path, path))
    moved = ledger.record_837(write_837(tmp_path, "right.837", [claim_to(OTHER_PAYER, "W1", ("99213", "100"))],
                                        control=10))
    assert moved.recorded.resubmitted == 1
    assert sum((c.billed for c in ledger.claims()), D(0)) == D(100)
    assert [(c.payer, c.status) for c in ledger.claims()] == [("SYNTH HEALTH PLAN", "replaced"),
                                                               ("OTHER HEALTH PLAN", "submitted")]
    assert ledger.check() == []
    ledger.close()


def test_a_rejected_replacement_or_void_gives_the_corrected_claim_back(tmp_path, db):
    ledger = Ledger(db)
    ledger.record_837(write_837(tmp_path, "c.837", [claim("P1", ("99213", "100")), claim("V1", ("99213", "80"))],
                                control=11))
    fixes = write_837(tmp_path, "f.837", [claim("P1", ("99213", "120"), frequency="7", icn="IP1"),
                                          claim("V1", ("99213", "80"), frequency="8", icn="IV1")], control=12)
    ledger.record_837(fixes)
    assert sum((c.billed for c in ledger.claims()), D(0)) == D(120)
    ledger.import_acks(rejecting_999(tmp_path, fixes))
    shown = [(c.patient_control_number, c.status, c.billed) for c in ledger.claims()]
    assert shown == [("P1", "submitted", D(100)), ("V1", "submitted", D(80)), ("P1", "rejected", D(0)),
                     ("V1", "rejected", D(0))]
    assert ledger.check() == []
    # the payer's payment for the original posts to it, not to the rejected replacement
    era = write_835(tmp_path, "era.835", "CLP*P1*1*100*100**12*IP1*11*1~\nNM1*QC*1*DOE*JANE****MI*M123~\n",
                    "100", "EFTP1")
    assert ledger.import_835(era).posted.matched == 1
    p1 = [c for c in ledger.claims() if c.patient_control_number == "P1"]
    assert [(c.status, c.insurance_balance) for c in p1] == [("paid", D(0)), ("rejected", D(0))]
    assert ledger.check() == []
    ledger.close()


def test_a_late_277ca_for_a_first_submission_leaves_its_resubmission_alone(tmp_path, db):
    ledger = Ledger(db)
    first = write_837(tmp_path, "first.837", [claim("L1", ("99213", "100"))], control=13)
    ledger.record_837(first)
    ledger.import_acks(rejecting_999(tmp_path, first))
    ledger.record_837(write_837(tmp_path, "again.837", [claim("L1", ("99213", "100"))], control=14))
    batch = re.search(r"BHT\*0019\*00\*([^*]+)\*", Path(first).read_text()).group(1)
    late = ca277(tmp_path, "late.277", "TRN*2*L1~\nSTC*A7:562:85*20250306*U*100~\nDTP*472*D8*20250115~",
                 batch=batch)
    assert ledger.import_acks(late).outcome == "imported"
    assert [(c.status, c.billed) for c in ledger.claims()] == [("replaced", D(0)), ("submitted", D(100))]
    ledger.close()


def test_over_long_values_and_odd_amounts_are_kept_cut_on_every_database(tmp_path, db):
    ledger = Ledger(db)
    long_pcn = "P" * 45
    odd = ca277(tmp_path, "odd.277", f"TRN*2*{long_pcn}~\nSTC*A2:20:PR*20250306*WQ*100.123~\nREF*1K*{'K' * 60}~",
                "TRN*2*BIG1~\nSTC*A2:20:PR*20250306*WQ*99999999999999999999~", payer_id="S" * 85)
    result = ledger.import_acks(odd)
    assert result.outcome == "imported", result.message
    codes = [p.code for p in result.problems]
    assert codes.count("ack.amount.unusable") == 2 and "ack.value.long" in codes
    ta1 = ack_file(tmp_path, "t.ta1", "TA1*0000000001234*250301*0900*REJ*006~", st01="", control=904)
    assert ledger.import_acks(ta1).outcome == "imported"
    ledger.close()


def test_every_frequency_that_bills_is_billed_once(tmp_path, db):
    """Frequency 6 (a corrected claim in some payers' use) or an institutional 2-5 bills like 1: recorded twice,
    it is billed once."""
    ledger = Ledger(db)
    ledger.record_837(write_837(tmp_path, "a.837", [claim("F6", ("99213", "100"), frequency="6")], control=15))
    again = ledger.record_837(write_837(tmp_path, "b.837", [claim("F6", ("99213", "100"), frequency="6")],
                                        control=16))
    assert again.outcome == "refused"
    assert sum((c.billed for c in ledger.claims()), D(0)) == D(100)
    ledger.close()


def test_a_void_then_a_new_claim_of_the_same_number_in_one_file(tmp_path, db):
    """The void withdraws the claim recorded before it, never the new one that follows it in the file."""
    ledger = Ledger(db)
    ledger.record_837(write_837(tmp_path, "a.837", [claim("Q1", ("99213", "100"))], control=17))
    void = Path(write_837(tmp_path, "v.837", [claim("Q1", ("99213", "100"), frequency="8", icn="IQ1")], control=18))
    new = Path(write_837(tmp_path, "n.837", [claim("Q1", ("99213", "90"))], control=20))
    both = tmp_path / "both.837"  # two interchanges in one file: the void, then the new claim
    both.write_bytes(void.read_bytes() + new.read_bytes())
    assert ledger.record_837(str(both)).outcome == "imported"
    assert [(c.status, c.billed) for c in ledger.claims()] == [("voided", D(0)), ("voided", D(0)),
                                                               ("submitted", D(90))]
    assert ledger.check() == []
    ledger.close()


def test_acks_show_prints_no_member_id_from_a_999_context(tmp_path):
    nine = ack_file(tmp_path, "m.999", "AK1*HC*1*005010X222A1~\nAK2*837*0001*005010X222A1~\n"
                    "IK3*NM1*8*2010BA*8~\nCTX*NM109:MEMBER98765~\nIK4*9*67*6~\nIK5*R*5~\nAK9*R*1*1*0~")
    for args in ([], ["--json"]):
        out = runner.invoke(app, ["acks", "show", nine, *args])
        assert out.exit_code == 1 and "MEMBER98765" not in out.stdout


def test_the_benchmarks_acknowledgements_answer_the_benchmarks_claims(tmp_path):
    """benchmarks/synth.py's 999 and 277CA, read back: every set accepted, every claim linked, the rejected ones
    rejected (the ledger benchmark times this import)."""
    from benchmarks.synth import write_837 as synth_837
    from benchmarks.synth import write_acks

    with open(tmp_path / "c.837", "wb") as fp:
        synth_837(fp, 12, per_st=5)
    with open(tmp_path / "a.x12", "wb") as fp:
        rejected = write_acks(fp, 12, per_st=5, rejected_every=4)
    ledger = Ledger(f"sqlite:///{tmp_path / 'edi.db'}")
    assert ledger.record_837(str(tmp_path / "c.837")).outcome == "imported"
    result = ledger.import_acks(str(tmp_path / "a.x12"))
    a = result.acknowledged
    assert (a.transaction_sets, a.sets_rejected, a.claims, a.claims_rejected, a.claims_accepted, a.unlinked) == (
        3, 0, 12, rejected, 12 - rejected, 0) and rejected == 3
    assert not [p for p in result.problems if p.is_error]
    assert ledger.check() == []
    ledger.close()
