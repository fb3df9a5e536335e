"""Ledger bugs the mutation fuzzer found (issue #18), each as the smallest input that showed it, on SQLite and
PostgreSQL (the ``db`` fixture).

* Two replacements (frequency 7) recorded from two files left a claim billed twice: the second file's
  replacement of claim RB named, by its payer claim number (REF*F8), the replacement of claim RA that the same
  file had just recorded, and replaced that one instead of the RB that stood.
* A NUL character in an 835 (here in a remark code, MOA03) crashed `edi remit import` on PostgreSQL, whose text
  cannot hold it, while SQLite kept it: both now keep it as the four characters ``\\x00``.
* A 277CA claim charge (STC04) of more than 26 digits crashed `edi acks import` (InvalidOperation): its size
  was checked after quantizing it to cents.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest
from x12text import interchange

from edi.acks.model import ClaimAck
from edi.acks.reader import parse_acks
from edi.ledger import Ledger


def claims_837(*claims: str, control: int) -> bytes:
    """An 837P from SUBMITTER to CH01 with one subscriber and payer SYNTH01, and the given claim loops (CLM and
    what follows it, one segment a line)."""
    return interchange(f"""
        BHT*0019*00*BATCH{control}*20250301*1200*CH~
        NM1*41*2*SYNTH BILLING*****46*SUBMITTER~
        PER*IC*BILLING OFFICE*TE*5555550100~
        NM1*40*2*CLEARINGHOUSE*****46*CH01~
        HL*1**20*1~
        NM1*85*2*SYNTH CLINIC*****XX*1234567893~
        N3*1 MAIN ST~
        N4*SPRINGFIELD*IL*627010001~
        REF*EI*990000001~
        HL*2*1*22*0~
        SBR*P*18*******CI~
        NM1*IL*1*DOE*JANE****MI*M123~
        NM1*PR*2*SYNTH HEALTH PLAN*****PI*SYNTH01~
        {"".join(claims)}
    """, control=control, functional_id="HC", version="005010X222A1", st01="837", st03="005010X222A1")


def replacement(pcn: str, charge: str, icn: str | None = None) -> str:
    """A replacement claim (CLM05-3 = 7) of one line, naming the claim it replaces by REF*F8 when ``icn``."""
    return "\n".join([f"CLM*{pcn}*{charge}***11:B:7*Y*A*Y*Y~", *([f"REF*F8*{icn}~"] if icn else []),
                      "HI*ABK:E119~", "LX*1~", f"SV1*HC:99213*{charge}*UN*1***1~", "DTP*472*D8*20250115~", ""])


def test_a_replacement_replaces_the_claim_that_stands_with_its_number(tmp_path, db):
    """The fuzzer's find, shrunk: the first file holds replacements of RA (REF*F8 ICNA) and RB (no REF*F8),
    whose originals this ledger never held: each is recorded on its own and stands. The second file replaces
    both again, RB's replacement also naming ICNA. RB's new replacement must replace the RB that stands, not
    RA's replacement that carries ICNA: else RA no longer stands at all and RB stands, billed, twice."""
    ledger = Ledger(db)
    first = tmp_path / "first.837"
    first.write_bytes(claims_837(replacement("RA", "100", "ICNA"), replacement("RB", "80"), control=1))
    second = tmp_path / "second.837"
    second.write_bytes(claims_837(replacement("RA", "100", "ICNA"), replacement("RB", "80", "ICNA"), control=2))
    recorded = ledger.record_837(str(first))
    assert recorded.outcome == "imported", recorded.message
    assert [p.code for p in recorded.problems] == ["ledger.claim.original_unknown"] * 2
    recorded = ledger.record_837(str(second))
    assert recorded.outcome == "imported", recorded.message
    assert recorded.recorded.replaced == 2 and not recorded.problems

    assert [(c.patient_control_number, c.status, c.billed) for c in ledger.claims()] == [
        ("RA", "replaced", D(0)), ("RB", "replaced", D(0)), ("RA", "submitted", D(100)), ("RB", "submitted", D(80))]
    assert ledger.check() == []
    ledger.close()


def test_a_replacement_named_only_by_payer_claim_number_still_replaces_it(tmp_path, db):
    """When nothing stands with the replacement's number for its payer, REF*F8 still finds the claim it replaces
    (a replacement that corrects the patient control number): RC is replaced by RD."""
    ledger = Ledger(db)
    first = tmp_path / "first.837"
    first.write_bytes(claims_837(replacement("RC", "60", "ICNC"), control=3))
    second = tmp_path / "second.837"
    second.write_bytes(claims_837(replacement("RD", "65", "ICNC"), control=4))
    assert ledger.record_837(str(first)).outcome == "imported"
    recorded = ledger.record_837(str(second))
    assert recorded.outcome == "imported" and recorded.recorded.replaced == 1, recorded.message
    assert [(c.patient_control_number, c.status, c.billed) for c in ledger.claims()] == [
        ("RC", "replaced", D(0)), ("RD", "submitted", D(65))]
    assert ledger.check() == []
    ledger.close()


def test_a_replacement_after_a_rejected_one_replaces_the_claim_that_stands_again(tmp_path, db):
    """The same mistake by another road: RE stands; its replacement is rejected by a 277CA, so RE stands again
    (its charge given back); the corrected replacement then replaced the newest claim of its number, the rejected
    replacement, and RE stood beside it, billed twice. It replaces RE."""
    ledger = Ledger(db)
    for name, claim, control in (("o.837", "CLM*RE*70***11:B:1*Y*A*Y*Y~\nHI*ABK:E119~\nLX*1~\n"
                                  "SV1*HC:99213*70*UN*1***1~\nDTP*472*D8*20250115~\n", 7),
                                 ("r1.837", replacement("RE", "75"), 8)):
        path = tmp_path / name
        path.write_bytes(claims_837(claim, control=control))
        assert ledger.record_837(str(path)).outcome == "imported"
    rejecting = tmp_path / "r.277"
    rejecting.write_bytes(ca277("75").replace(b"TRN*2*BIG1~", b"TRN*2*RE~").replace(b"STC*A2:20:PR",
                                                                                    b"STC*A7:562:85"))
    assert ledger.import_acks(str(rejecting)).acknowledged.claims_rejected == 1
    assert [(c.status, c.billed) for c in ledger.claims()] == [("submitted", D(70)), ("rejected", D(0))]
    corrected = tmp_path / "r2.837"
    corrected.write_bytes(claims_837(replacement("RE", "80"), control=9))
    assert ledger.record_837(str(corrected)).recorded.replaced == 1
    assert [(c.status, c.billed) for c in ledger.claims()] == [("replaced", D(0)), ("rejected", D(0)),
                                                               ("submitted", D(80))]
    assert ledger.check() == []
    ledger.close()


# -- a NUL character in a value the ledger keeps ----------------------------------------------------------------

def remit_835(nul: str) -> bytes:
    """An 835 paying claim PCN1 80 of its 100, with ``nul`` in its trace number (TRN02), its payee's name, its
    payer claim number (CLP07), a remark code (MOA03, where the fuzzer put it) and a provider adjustment's
    reference (PLB03-2)."""
    return interchange(f"""
        BPR*I*75*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250301~
        TRN*1*EFT{nul}1*1512345678~
        N1*PR*SYNTH HEALTH PLAN~
        N1*PE*SYNTH{nul}CLINIC*XX*1234567893~
        LX*1~
        CLP*PCN1*1*100*80**12*ICN{nul}1*11*1~
        CAS*CO*45*20~
        NM1*QC*1*DOE*JANE****MI*M123~
        MOA***{nul}MA130~
        PLB*1234567893*20251231*WO:REF{nul}9*5~
    """)


def test_a_nul_in_an_835_is_kept_as_backslash_x00_on_every_database(tmp_path, db):
    """PostgreSQL refused the NUL (a DataError out of the COPY: a traceback); SQLite kept it. Now both keep the
    four characters \\x00 in its place, with a warning, and read back the same."""
    ledger = Ledger(db)
    billed = tmp_path / "c.837"
    billed.write_bytes(claims_837("CLM*PCN1*100***11:B:1*Y*A*Y*Y~\nHI*ABK:E119~\nLX*1~\n"
                                  "SV1*HC:99213*100*UN*1***1~\nDTP*472*D8*20250115~\n", control=5))
    assert ledger.record_837(str(billed)).outcome == "imported"
    path = tmp_path / "nul.835"
    path.write_bytes(remit_835("\x00"))
    result = ledger.import_835(str(path))
    assert result.outcome == "imported", result.message
    assert [p.code for p in result.problems if p.code.startswith("ledger.text")] == ["ledger.text.nul"]
    story = ledger.claim("PCN1")
    paid = story["claims"][0]["remittances"][0]
    assert paid["trace_number"] == "EFT\\x001" and paid["payer_claim_number"] == "ICN\\x001"
    assert [a["remarks"] for a in paid["adjustments"]] == ["\\x00MA130"]
    assert [(c.patient_control_number, c.status, c.paid) for c in ledger.claims()] == [("PCN1", "paid", D(80))]
    rec = ledger.reconcile()
    assert [(p["trace_number"], p["amount"]) for p in rec["payments"]] == [("EFT\\x001", "75.00")]
    assert ledger.check() == []
    ledger.close()


def test_a_file_without_a_nul_is_read_once_for_it_and_kept_as_it_is(tmp_path, db):
    """The same 835 with no NUL: nothing is rewritten, no warning; and the escape's own text, written out in the
    file as the four characters \\x00, is kept as it is."""
    ledger = Ledger(db)
    path = tmp_path / "plain.835"
    path.write_bytes(remit_835("\\x00"))
    result = ledger.import_835(str(path))
    assert result.outcome == "imported", result.message
    assert not [p for p in result.problems if p.code.startswith("ledger.text")]
    assert [p["trace_number"] for p in ledger.reconcile()["payments"]] == ["EFT\\x001"]
    ledger.close()


def test_a_nul_in_an_837_and_a_277ca_is_kept_alike(tmp_path, db):
    """The claim number of an 837 (CLM01) and the payer's name in a 277CA that rejects it (quoted in the claim's
    status reason) hold a NUL: recorded, linked and rejected on both databases, each NUL kept as \\x00."""
    ledger = Ledger(db)
    billed = tmp_path / "c.837"
    billed.write_bytes(claims_837("CLM*P\x001*100***11:B:1*Y*A*Y*Y~\nHI*ABK:E119~\nLX*1~\n"
                                  "SV1*HC:99213*100*UN*1***1~\nDTP*472*D8*20250115~\n", control=6))
    recorded = ledger.record_837(str(billed))
    assert recorded.outcome == "imported", recorded.message
    assert [p.code for p in recorded.problems] == ["ledger.text.nul"]
    ack = tmp_path / "a.277"
    ack.write_bytes(ca277("100").replace(b"TRN*2*BIG1~", b"TRN*2*P\x001~").replace(b"STC*A2:20:PR", b"STC*A7:562:85")
                    .replace(b"NM1*PR*2*SYNTH HEALTH PLAN", b"NM1*PR*2*SYNTH\x00PLAN"))
    acked = ledger.import_acks(str(ack))
    assert acked.outcome == "imported", acked.message
    assert acked.acknowledged.claims_rejected == 1
    [claim] = ledger.claims()
    assert claim.patient_control_number == "P\\x001" and claim.status == "rejected"
    assert claim.status_reason.startswith("277CA from SYNTH\\x00PLAN: A7:562:85")
    assert ledger.check() == []
    ledger.close()


def test_a_nul_in_an_837_batch_id_is_kept_too(tmp_path, db):
    """BHT03 (the batch id, written on the transaction set's row) holds a NUL: recorded on both databases."""
    ledger = Ledger(db)
    billed = tmp_path / "b.837"
    billed.write_bytes(claims_837("CLM*P1*100***11:B:1*Y*A*Y*Y~\nHI*ABK:E119~\nLX*1~\n"
                                  "SV1*HC:99213*100*UN*1***1~\nDTP*472*D8*20250115~\n", control=7)
                       .replace(b"BHT*0019*00*BATCH7", b"BHT*0019*00*BAT\x00CH7"))
    recorded = ledger.record_837(str(billed))
    assert recorded.outcome == "imported", recorded.message
    assert "ledger.text.nul" in [p.code for p in recorded.problems]
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT batch_id FROM transactions").scalars().all() == ["BAT\\x00CH7"]
    assert ledger.check() == []
    ledger.close()


# -- a 277CA claim charge the ledger cannot keep ----------------------------------------------------------------

def ca277(charge: str) -> bytes:
    """A 277CA from payer SYNTH01 accepting claim BIG1 with total charge ``charge`` (STC04)."""
    return interchange(f"""
        BHT*0085*08*277CA1*20250306*1030*TH~
        HL*1**20*1~
        NM1*PR*2*SYNTH HEALTH PLAN*****PI*SYNTH01~
        TRN*1*RCPT1~
        HL*2*1*21*1~
        NM1*41*2*SYNTH BILLING*****46*SUBMITTER~
        TRN*2*BATCH0001~
        STC*A1:19:PR*20250306*WQ~
        HL*3*2*19*1~
        NM1*85*2*SYNTH CLINIC*****XX*1234567893~
        TRN*1*0~
        STC*A1:19:PR**WQ~
        HL*4*3*PT~
        NM1*QC*1*DOE*JANE****MI*M123~
        TRN*2*BIG1~
        STC*A2:20:PR*20250306*WQ*{charge}~
    """, functional_id="HN", version="005010X214", st01="277", st03="005010X214")


@pytest.mark.parametrize("digits", [27, 28])
def test_a_277ca_charge_of_more_digits_than_cents_can_take_is_reported_not_raised(tmp_path, db, digits):
    """27 and 28 digits are read (the reader's limit is 28), but in cents they are 29 and 30 digits: more than
    Decimal's precision, so quantizing first raised InvalidOperation."""
    path = tmp_path / "big.277"
    path.write_bytes(ca277("9" * digits))
    ledger = Ledger(db)
    result = ledger.import_acks(str(path))
    assert result.outcome == "imported", result.message
    assert [p.code for p in result.problems if p.code.startswith("ack.amount")] == ["ack.amount.unusable"]
    ledger.close()


@pytest.mark.parametrize("charge", [D("9" * 40), D("-1E+30"), D("1E+15"), D("12.345"), D("NaN"), D("sNaN"),
                                    D("Infinity"), D("-Infinity")])
def test_the_acks_importer_keeps_no_charge_it_cannot_hold(tmp_path, db, monkeypatch, charge):
    """The importer itself, given a crafted 277CA claim whose charge no reader gives today (40 digits, an
    exponent, NaN, infinities) or that the ledger cannot keep (1E+15 dollars, a fraction of a cent): reported
    as ``ack.amount.unusable`` and kept as none, never raised."""
    import edi.acks.reader

    path = tmp_path / "c.277"
    path.write_bytes(ca277("100"))
    items, _ = parse_acks(path.read_bytes(), str(path))

    def crafted(a):
        if not isinstance(a, ClaimAck):
            return a
        return dataclasses.replace(a, statuses=tuple(dataclasses.replace(s, amount=charge) for s in a.statuses))

    class Crafted(list):
        problems: list = []

    monkeypatch.setattr(edi.acks.reader, "read_acks", lambda _path: Crafted(crafted(a) for a in items))
    ledger = Ledger(db)
    result = ledger.import_acks(str(path))
    assert result.outcome == "imported", result.message
    assert [p.code for p in result.problems if p.code.startswith("ack.amount")] == ["ack.amount.unusable"]
    ledger.close()


def test_a_277ca_charge_the_ledger_can_keep_is_kept(tmp_path, db):
    """The check refuses only what it must: 999999999999999.99 (the largest amount) links claim BIG1 by it."""
    path = tmp_path / "ok.277"
    path.write_bytes(ca277("999999999999999.99"))
    ledger = Ledger(db)
    result = ledger.import_acks(str(path))
    assert result.outcome == "imported", result.message
    assert not [p for p in result.problems if p.code.startswith("ack.amount")]
    ledger.close()

