"""Bank deposits and reassociation (edi.ledger.deposits), on SQLite and PostgreSQL: a bank export imported once
however often it is given, each 835 payment matched to its deposit by trace or by amount, a deposit that names a
payment's trace with another amount listed (never posted), and the transfers proven by `edi ledger check`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from test_ledger_reports import ACME, BLUE, Clock, claim, close_ledgers, open_ledger, record, remit  # noqa: F401

from edi.ledger import Ledger
from edi.ledger.deposits import BankLayout, DepositFileError, _reference_words, parse_amount, read_bank_csv
from edi.ledger.journal import Entry, Journal
from edi.ledger.schema import deposits

BANK = """Posting Date,Description,Amount,Bank Reference
06/03/2025,ACH CREDIT ACME HEALTH,780.25,TRN*1*EFT100*1512345678
06/05/2025,CHECK DEPOSIT BLUE PLAN,80.00,CHK200
06/12/2025,ACH CREDIT ACME HEALTH,150.00,
06/13/2025,ACH CREDIT SOMEONE ELSE,99.99,XYZ-1
06/14/2025,SERVICE FEE,-5.00,FEE
"""
LAYOUT = BankLayout(date="posting date", amount="amount", reference="bank reference", description="Description",
                    date_format="%m/%d/%Y")


def payments_ledger(db: str, tmp: Path) -> tuple[Ledger, Clock]:
    """Three 835 payments: EFT100 780.25 (ACME), CHK200 85.00 (BLUE), EFT300 150.00 (ACME, paid 2025-06-10)."""
    clock = Clock(datetime(2025, 5, 20, 9, 0))
    ledger = open_ledger(db, clock)
    record(ledger, tmp, "c.837", [claim("P1", ACME, date(2025, 5, 2), ("99213", "780.25")),
                                  claim("P2", BLUE, date(2025, 5, 3), ("99213", "85")),
                                  claim("P3", ACME, date(2025, 5, 4), ("99213", "150"))])
    clock.now = datetime(2025, 6, 11, 9, 0)
    for name, payer, trace, pcn, amount, day in (("p1.835", ACME, "EFT100", "P1", "780.25", date(2025, 6, 1)),
                                                 ("p2.835", BLUE, "CHK200", "P2", "85", date(2025, 6, 2)),
                                                 ("p3.835", ACME, "EFT300", "P3", "150", date(2025, 6, 10))):
        remit(ledger, tmp, name, payer, trace, amount, day, f"""
        CLP*{pcn}*1*{amount}*{amount}*0*12*ICN{pcn}*11*1~
        SVC*HC:99213*{amount}*{amount}**1~
        REF*6R*{pcn}-1~
        """)
    return ledger, clock


def bank_file(tmp: Path, text: str = BANK, name: str = "bank.csv") -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


def test_import_matches_by_trace_and_by_amount_and_lists_a_mismatch(tmp_path, db):
    ledger, clock = payments_ledger(db, tmp_path)
    clock.now = datetime(2025, 6, 15, 9, 0)
    result = ledger.import_deposits(bank_file(tmp_path), LAYOUT)
    assert (result.added, result.already, result.skipped) == (4, 0, 1)
    assert [m.as_dict() for m in result.matched] == [
        {"trace_number": "EFT100", "payer": "ACME HEALTH", "payment_date": "2025-06-01", "amount": "780.25",
         "deposit_date": "2025-06-03", "deposit_amount": "780.25", "reference": "TRN*1*EFT100*1512345678",
         "matched_by": "trace"},
        {"trace_number": "EFT300", "payer": "ACME HEALTH", "payment_date": "2025-06-10", "amount": "150.00",
         "deposit_date": "2025-06-12", "deposit_amount": "150.00", "reference": "", "matched_by": "amount"},
    ]
    report = ledger.deposits().as_dict()
    assert report["mismatches"] == [
        {"trace_number": "CHK200", "payer": "BLUE PLAN", "payment_date": "2025-06-02", "amount": "85.00",
         "deposit_date": "2025-06-05", "deposit_amount": "80.00", "reference": "CHK200", "matched_by": "trace",
         "difference": "-5.00"}]
    assert report["payments_without_deposit"] == []  # CHK200 is listed as a mismatch, not twice
    assert report["deposits_without_835"] == [
        {"deposit_date": "2025-06-13", "amount": "99.99", "reference": "XYZ-1",
         "description": "ACH CREDIT SOMEONE ELSE"}]
    assert report["totals"] == {"matched": 2, "matched_amount": "930.25", "payments_without_deposit": 0,
                                "payments_without_deposit_amount": "0.00", "deposits_without_835": 1,
                                "deposits_without_835_amount": "99.99", "mismatches": 1,
                                "undeposited_era_cash": "85.00", "bank": "930.25"}
    assert not ledger.deposits().ok
    assert ledger.check() == []


def test_the_same_bank_file_twice_changes_nothing(tmp_path, db):
    ledger, _ = payments_ledger(db, tmp_path)
    path = bank_file(tmp_path)
    ledger.import_deposits(path, LAYOUT)
    before = ledger.deposits().as_dict()
    again = ledger.import_deposits(path, LAYOUT)
    assert (again.added, again.already, again.skipped, again.matched) == (0, 4, 1, ())
    assert ledger.deposits().as_dict() == before
    # an export that overlaps it adds only its new row
    overlap = bank_file(tmp_path, BANK + "06/20/2025,ACH CREDIT BLUE PLAN,85.00,CHK200-B\n", "later.csv")
    later = ledger.import_deposits(overlap, LAYOUT)
    assert (later.added, later.already) == (1, 4)
    assert ledger.check() == []


def test_a_nul_in_a_bank_export_is_kept_as_text_on_every_database(tmp_path, db):
    """PostgreSQL text cannot hold a NUL (the import failed with an internal error): it is kept as the four
    characters \\x00, as everywhere else in the ledger, and the same on SQLite."""
    ledger, _ = payments_ledger(db, tmp_path)
    path = bank_file(tmp_path, BANK.replace("CHK200", "CHK\x00200").replace("BLUE PLAN", "BLUE\x00PLAN"))
    result = ledger.import_deposits(path, LAYOUT)
    assert (result.added, result.skipped) == (4, 1)
    kept = {d["reference"]: d["description"] for d in ledger.deposits().as_dict()["deposits_without_835"]}
    assert kept["CHK\\x00200"] == "CHECK DEPOSIT BLUE\\x00PLAN"
    assert ledger.check() == []


def test_the_database_refuses_a_deposit_twice(tmp_path, db):
    """Idempotence is a unique constraint, not a lookup: the same row (date, amount, reference, occurrence)
    cannot be inserted twice, whoever inserts it."""
    ledger, _ = payments_ledger(db, tmp_path)
    row = {"deposit_date": date(2025, 6, 3), "amount": D("10.00"), "reference": "R1", "occurrence": 1,
           "imported_at": datetime(2025, 6, 3)}
    with ledger.engine.begin() as conn:
        conn.execute(deposits.insert().values(**row))
    with pytest.raises(IntegrityError), ledger.engine.begin() as conn:
        conn.execute(deposits.insert().values(**row))


def test_two_identical_rows_of_one_file_are_two_deposits(tmp_path, db):
    ledger, _ = payments_ledger(db, tmp_path)
    text = "date,amount,reference\n2025-06-20,42.00,LOCKBOX\n2025-06-20,42.00,LOCKBOX\n"
    first = ledger.import_deposits(bank_file(tmp_path, text, "twin.csv"))
    assert (first.added, first.already) == (2, 0)
    second = ledger.import_deposits(bank_file(tmp_path, text, "twin.csv"))
    assert (second.added, second.already) == (0, 2)
    assert [d["amount"] for d in ledger.deposits().as_dict()["deposits_without_835"]] == ["42.00", "42.00"]


def test_a_payment_posted_after_its_deposit_is_matched_later(tmp_path, db):
    ledger, clock = payments_ledger(db, tmp_path)
    ledger.import_deposits(bank_file(tmp_path, "date,amount,reference\n2025-06-21,60.00,EFT400\n", "b.csv"))
    record(ledger, tmp_path, "c4.837", [claim("P4", ACME, date(2025, 5, 9), ("99213", "60"))], control=2)
    remit(ledger, tmp_path, "p4.835", ACME, "EFT400", "60", date(2025, 6, 20), """
    CLP*P4*1*60*60*0*12*ICNP4*11*1~
    """)
    waiting = ledger.deposits().as_dict()
    assert [p["trace_number"] for p in waiting["payments_without_deposit"]] == ["EFT100", "CHK200", "EFT300",
                                                                                  "EFT400"]
    assert [m.trace_number for m in ledger.match_deposits()] == ["EFT400"]
    assert ledger.match_deposits() == []
    assert ledger.deposits().as_dict()["totals"]["bank"] == "60.00"
    assert ledger.check() == []


def test_check_names_a_transfer_to_the_bank_no_match_explains(tmp_path, db):
    ledger, _ = payments_ledger(db, tmp_path)
    ledger.import_deposits(bank_file(tmp_path), LAYOUT)
    with ledger.engine.begin() as conn:  # money moved to the bank a second time, by hand
        j = Journal(conn, datetime(2025, 6, 30))
        e = Entry("deposit", memo="by hand")
        e.move("bank", "undeposited_era", D("780.25"))
        j.add(e)
        j.flush()
    assert [p.code for p in ledger.check()] == ["ledger.deposit.posted"]


def test_bank_exports_read_with_a_few_options(tmp_path):
    semicolons = "Datum;Betrag;Verwendungszweck\n03.06.2025;1.234,50;x\n"
    with pytest.raises(DepositFileError) as bad:
        read_bank_csv(bank_file(tmp_path, semicolons, "de.csv"), BankLayout(date="1", amount="2", reference="3",
                                                                          date_format="%d.%m.%Y", delimiter=";"))
    assert bad.value.errors == [(2, "amount '1.234,50' is not an amount in dollars and cents")]
    # credits and debits in two columns: the credit column is the amount; a debit row has none and is skipped
    rows, skipped = read_bank_csv(bank_file(tmp_path, 'd,credit,debit,ref\n2025-06-01,,12.00,A\n'
                                            '2025-06-02,"$1,250.5",,B\n', "cd.csv"),
                                  BankLayout(date="1", amount="credit", reference="ref"))
    assert skipped == 1
    assert [(r.line, r.deposit_date, r.amount, r.reference) for r in rows] == [(3, date(2025, 6, 2), D("1250.50"), "B")]
    with pytest.raises(DepositFileError) as missing:
        read_bank_csv(bank_file(tmp_path, "when,how much\n", "h.csv"))
    assert [m for _, m in missing.value.errors] == [
        "--date-column 'date' is not a column of the header (its columns: when, how much)",
        "--amount-column 'amount' is not a column of the header (its columns: when, how much)",
        "--reference-column 'reference' is not a column of the header (its columns: when, how much)"]
    with pytest.raises(DepositFileError) as dates:
        read_bank_csv(bank_file(tmp_path, "date,amount,reference\n2025-13-01,5.00,R\n", "d.csv"))
    assert dates.value.errors == [(2, "date '2025-13-01' does not read as '%Y-%m-%d' (--date-format)")]
    # the trace numbers a reference can name: itself, and each of its words, leading zeros aside
    assert _reference_words("TRN*1*00EFT100*1512345678") == {"TRN*1*00EFT100*1512345678", "TRN", "1", "EFT100",
                                                            "1512345678"}
    assert _reference_words("  ") == set()
    assert [parse_amount(t) for t in ("1,234.50", "$12", "(12.00)", "-3.5", "12.345", "abc", " 7.10 ")] == [
        D("1234.50"), D("12.00"), D("-12.00"), D("-3.50"), None, None, D("7.10")]


def _import(args: tuple[str, str]) -> tuple[int, int, int]:
    url, path = args
    ledger = Ledger(url)
    try:
        r = ledger.import_deposits(path, LAYOUT)
        return r.added, r.already, len(r.matched)
    finally:
        ledger.close()


def test_four_processes_importing_the_same_export_at_once_deposit_each_payment_once(tmp_path, pg_url):
    """On PostgreSQL, four processes import the same bank export at the same moment: each deposit is kept once,
    each payment matched once (the unique constraints decide), and the ledger check passes."""
    if pg_url is None:
        pytest.skip("EDI_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    import multiprocessing

    ledger, _ = payments_ledger(pg_url, tmp_path)
    ledger.close()
    path = bank_file(tmp_path)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = pool.map(_import, [(pg_url, path)] * 4)
    assert sum(a for a, _, _ in outcomes) == 4 and sum(m for _, _, m in outcomes) == 2, outcomes
    assert sorted(a + b for a, b, _ in outcomes) == [4, 4, 4, 4]
    ledger = Ledger(pg_url)
    try:
        assert ledger.deposits().as_dict()["totals"]["bank"] == "930.25"
        assert ledger.check() == []
    finally:
        ledger.close()
