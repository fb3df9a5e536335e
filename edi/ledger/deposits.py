"""Bank deposits and reassociation: which 835 payment reached the bank, and which did not.

An 835 says a payer sent money (BPR02, with the trace number TRN02 the payer also gives the bank); the bank's
export says what arrived. ``read_bank_csv`` reads the export (the columns and date format are chosen by the
caller: every bank lays it out its own way), ``import_deposits`` keeps each deposit once (the unique
``deposits_line``: the same export imported twice, or two that overlap, add nothing), and ``match_deposits``
pairs each payment with its deposit:

* by trace: the deposit's reference holds the payment's TRN02 (alone, or as one word of a longer reference such
  as an ACH addenda ``TRN*1*12345*1512345678``; leading zeros aside), and the amounts are equal;
* by amount: no deposit names the payment's trace, and exactly one deposit of exactly its amount arrived from
  3 days before to 10 days after its payment date, and no other payment could claim that deposit.

A match posts the transfer (bank debited, undeposited ERA cash credited, by the amount) in one journal entry; a
deposit whose reference names a payment but whose amount differs is a mismatch: listed, never posted. The
entry carries no ``remittance_id`` (`edi ledger check` sums a payment's cash entries to prove they equal its
BPR02); ``deposit_matches`` links it to the payment instead, and :func:`check` proves every such transfer.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import BigInteger, exists, func, select, type_coerce
from sqlalchemy.engine import Connection

from edi.ledger.journal import Entry, Journal, insert_returning_ids
from edi.ledger.schema import deposit_matches, deposits, journal_entries, postings, remittances
from edi.ledger.writes import keep_nul
from edi.problems import ERROR, Problem, Where

ZERO = Decimal(0)
CENT = Decimal("0.01")
#: How far a deposit's date may be from the payment date of the 835 it answers, for a match by amount alone.
DAYS_BEFORE, DAYS_AFTER = 3, 10
_MAX_AMOUNT = Decimal("99999999999.99")
_WORDS = re.compile(r"[^0-9A-Za-z]+")


class DepositFileError(ValueError):
    """A bank export that cannot be imported as laid out; ``errors`` holds (line number, message) pairs (line
    0: the file or its header). Nothing is imported from such a file. ``refused``: the file is no bank export
    at all (empty, not text, not CSV, an X12 file), as opposed to one the layout's columns or formats do not fit."""

    def __init__(self, file: str, errors: list[tuple[int, str]], *, refused: bool = False) -> None:
        self.file = file
        self.errors = errors
        self.refused = refused
        shown = "; ".join(f"line {n}: {m}" if n else m for n, m in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{file}: {shown}{more}")


@dataclass(frozen=True, slots=True)
class BankLayout:
    """Where a bank's export keeps each value: a column is named by its header (any case) or its number
    (1 for the first). ``date_format`` is a ``strptime`` format. Rows whose amount is empty, zero or negative
    (a debit) are not deposits and are skipped."""

    date: str = "date"
    amount: str = "amount"
    reference: str = "reference"
    description: str | None = None
    date_format: str = "%Y-%m-%d"
    delimiter: str = ","


@dataclass(frozen=True, slots=True)
class BankRow:
    line: int
    deposit_date: date
    amount: Decimal
    reference: str
    description: str | None


@dataclass(frozen=True, slots=True)
class DepositImport:
    """What an import did: deposits added, rows already held (the same file again), rows skipped (debits,
    empty amounts), and the payments matched afterwards."""

    file: str
    added: int
    already: int
    skipped: int
    matched: tuple[DepositMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class DepositMatch:
    trace_number: str
    payer: str | None
    payment_date: date | None
    amount: Decimal
    deposit_date: date
    deposit_amount: Decimal
    reference: str
    matched_by: str  # trace, amount (a mismatch: trace)

    def as_dict(self) -> dict:
        return {"trace_number": self.trace_number, "payer": self.payer, "payment_date": _iso(self.payment_date),
                "amount": _m(self.amount), "deposit_date": _iso(self.deposit_date),
                "deposit_amount": _m(self.deposit_amount), "reference": self.reference,
                "matched_by": self.matched_by}


@dataclass(frozen=True, slots=True)
class PaymentItem:
    trace_number: str
    payer: str | None
    payment_date: date | None
    amount: Decimal

    def as_dict(self) -> dict:
        return {"trace_number": self.trace_number, "payer": self.payer, "payment_date": _iso(self.payment_date),
                "amount": _m(self.amount)}


@dataclass(frozen=True, slots=True)
class DepositItem:
    deposit_date: date
    amount: Decimal
    reference: str
    description: str | None

    def as_dict(self) -> dict:
        return {"deposit_date": _iso(self.deposit_date), "amount": _m(self.amount), "reference": self.reference,
                "description": self.description}


@dataclass(frozen=True, slots=True)
class DepositReport:
    """Where each 835 payment's money stands: matched to a deposit; with no deposit yet; a deposit with no
    835 (the ERA that never came); a deposit that names a payment but holds another amount. ``undeposited`` is
    the balance of undeposited ERA cash, ``banked`` what the ledger has moved to the bank."""

    matched: tuple[DepositMatch, ...]
    payments_without_deposit: tuple[PaymentItem, ...]
    deposits_without_835: tuple[DepositItem, ...]
    mismatches: tuple[DepositMatch, ...]
    undeposited: Decimal
    banked: Decimal

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict:
        return {
            "matched": [m.as_dict() for m in self.matched],
            "payments_without_deposit": [p.as_dict() for p in self.payments_without_deposit],
            "deposits_without_835": [d.as_dict() for d in self.deposits_without_835],
            "mismatches": [m.as_dict() | {"difference": _m(m.deposit_amount - m.amount)} for m in self.mismatches],
            "totals": {
                "matched": len(self.matched), "matched_amount": _m(sum((m.amount for m in self.matched), ZERO)),
                "payments_without_deposit": len(self.payments_without_deposit),
                "payments_without_deposit_amount": _m(sum((p.amount for p in self.payments_without_deposit),
                                                          ZERO)),
                "deposits_without_835": len(self.deposits_without_835),
                "deposits_without_835_amount": _m(sum((d.amount for d in self.deposits_without_835), ZERO)),
                "mismatches": len(self.mismatches),
                "undeposited_era_cash": _m(self.undeposited), "bank": _m(self.banked),
            },
        }


def _m(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


# -- reading the bank's export ----------------------------------------------------------------------------------


def parse_amount(text: str) -> Decimal | None:
    """A bank's amount: ``1,234.50``, ``$1234.5``, ``-12.00`` or ``(12.00)`` (negative); None when not an
    amount in dollars and cents."""
    t = text.strip().replace(",", "").replace("$", "").replace(" ", "")
    negative = t.startswith("(") and t.endswith(")")
    if negative:
        t = t[1:-1]
    if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?|[+-]?\.\d{1,2}", t):
        return None
    try:
        value = Decimal(t)
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None
    if abs(value) > _MAX_AMOUNT:
        return None
    return (-value if negative else value).quantize(CENT)


def _column(header: list[str], wanted: str, option: str, errors: list[tuple[int, str]]) -> int | None:
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    w = wanted.strip()
    if w.isdigit():
        n = int(w)
        if 1 <= n <= len(header):
            return n - 1
        errors.append((0, f"{option} {w}: the header has {len(header)} columns"))
        return None
    if w.lower() in names:
        return names.index(w.lower())
    shown = ", ".join(h.strip().lstrip("\ufeff") for h in header) or "(none)"
    errors.append((0, f"{option} {wanted!r} is not a column of the header (its columns: {shown})"))
    return None


def read_bank_csv(path: str | Path, layout: BankLayout = BankLayout()) -> tuple[list[BankRow], int]:
    """The deposits of a bank export, and how many rows were skipped (debits, empty or zero amounts). Raises
    OSError when the file cannot be read and DepositFileError naming every row (or column) that cannot be read:
    then nothing should be imported."""
    file = str(path)
    errors: list[tuple[int, str]] = []
    rows: list[BankRow] = []
    skipped = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as fp:
            reader = csv.reader(fp, delimiter=layout.delimiter)
            header = next(reader, None)
            if header is None:
                raise DepositFileError(file, [(0, "the file is empty: its first line must name the columns")],
                                       refused=True)
            if layout.delimiter.join(header).lstrip("\ufeff \t").startswith("ISA"):
                raise DepositFileError(file, [(0, "holds X12 (an interchange), not a bank export")], refused=True)
            cols = {}
            for key, option in (("date", "--date-column"), ("amount", "--amount-column"),
                                ("reference", "--reference-column"), ("description", "--description-column")):
                wanted = getattr(layout, key)
                if wanted is not None:
                    cols[key] = _column(header, wanted, option, errors)
            if errors:
                raise DepositFileError(file, errors)
            for row in reader:
                n = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) < len(header):
                    row = row + [""] * (len(header) - len(row))
                raw_amount = row[cols["amount"]].strip()
                if not raw_amount:
                    skipped += 1
                    continue
                amount = parse_amount(raw_amount)
                raw_date = row[cols["date"]].strip()
                try:
                    day = datetime.strptime(raw_date, layout.date_format).date()
                except ValueError:
                    day = None
                bad = []
                if amount is None:
                    bad.append(f"amount {raw_amount!r} is not an amount in dollars and cents")
                if day is None:
                    bad.append(f"date {raw_date!r} does not read as {layout.date_format!r} (--date-format)")
                # a NUL is kept as the text \x00, as everywhere in the ledger (PostgreSQL text cannot hold one)
                reference = keep_nul(row[cols["reference"]].strip())
                if len(reference) > 200:
                    bad.append(f"reference has {len(reference)} characters, more than 200")
                if bad:
                    errors.append((n, "; ".join(bad)))
                    continue
                if amount <= 0:
                    skipped += 1
                    continue
                description = keep_nul(row[cols["description"]].strip()) or None if "description" in cols else None
                rows.append(BankRow(n, day, amount, reference, description))
    except UnicodeDecodeError as exc:
        raise DepositFileError(file, [(0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")],
                               refused=True) from None
    except csv.Error as exc:
        raise DepositFileError(file, [(0, f"not CSV: {exc}")], refused=True) from None
    if errors:
        raise DepositFileError(file, errors)
    return rows, skipped


# -- keeping them ------------------------------------------------------------------------------------------------


def import_deposits(conn: Connection, rows: Iterable[BankRow], *, source: str, now: datetime) -> tuple[int, int]:
    """Insert the deposits not held yet, inside the caller's transaction: (added, already held). Identical rows of
    one file are told apart by their occurrence; the unique ``deposits_line`` drops what is held already (also
    when another process imports the same file at the same moment)."""
    seen: Counter = Counter()
    added = already = 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for r in rows:
        key = (r.deposit_date, r.amount, r.reference)
        seen[key] += 1
        stmt = (insert(deposits).values(deposit_date=r.deposit_date, amount=r.amount, reference=r.reference,
                                        description=r.description, occurrence=seen[key], source=source,
                                        imported_at=now)
                .on_conflict_do_nothing(index_elements=["deposit_date", "amount", "reference", "occurrence"])
                .returning(deposits.c.id))
        if conn.execute(stmt).first() is None:
            already += 1
        else:
            added += 1
    return added, already


# -- matching ----------------------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return text.strip().upper().lstrip("0") or "0"


def _reference_words(reference: str) -> set[str]:
    """The trace numbers a bank reference can name: the whole reference, and each of its words (split at anything
    but letters and digits), leading zeros aside; none for an empty reference."""
    if not reference.strip():
        return set()
    return {_norm(reference), *(_norm(w) for w in _WORDS.split(reference) if w)}


def _open_payments(conn: Connection) -> list:
    """The payments with money (BPR02 above zero) that no deposit answers yet."""
    matched = exists().where(deposit_matches.c.remittance_id == remittances.c.id)
    return conn.execute(select(remittances.c.id, remittances.c.trace_number, remittances.c.payer_name,
                               remittances.c.payer_key, remittances.c.payment_date, remittances.c.amount)
                        .where(remittances.c.amount > 0, ~matched).order_by(remittances.c.id)).all()


def _open_deposits(conn: Connection) -> list:
    matched = exists().where(deposit_matches.c.deposit_id == deposits.c.id)
    return conn.execute(select(deposits.c.id, deposits.c.deposit_date, deposits.c.amount, deposits.c.reference,
                               deposits.c.description)
                        .where(~matched).order_by(deposits.c.deposit_date, deposits.c.id)).all()


def _pair(payments: list, banked: list) -> tuple[list[tuple], list[tuple]]:
    """(matches, mismatches) among open payments and open deposits: each a list of (payment, deposit, how)."""
    matches: list[tuple] = []
    mismatches: list[tuple] = []
    used: set[int] = set()
    # each deposit under the trace numbers its reference can name, so that a payment finds the deposits naming
    # its trace by one look-up, not by a pass over every deposit
    words: dict[str, list] = {}
    for d in banked:
        for w in _reference_words(d.reference):
            words.setdefault(w, []).append(d)
    by_trace: dict[int, list] = {}
    named: set[int] = set()  # deposits that name some payment's trace: never matched by amount alone
    for p in payments:
        hits = words.get(_norm(p.trace_number), [])
        by_trace[p.id] = hits
        named.update(d.id for d in hits)
    unmatched = []
    for p in payments:
        hits = by_trace[p.id]
        same = [d for d in hits if d.amount == p.amount and d.id not in used]
        if same:
            used.add(same[0].id)
            matches.append((p, same[0], "trace"))
        elif hits:
            mismatches.append((p, hits[0], "trace"))
        else:
            unmatched.append(p)

    def window(p, d) -> bool:
        if p.payment_date is None:
            return False
        return p.payment_date - timedelta(days=DAYS_BEFORE) <= d.deposit_date <= p.payment_date + timedelta(
            days=DAYS_AFTER)

    free: dict[Decimal, list] = {}
    for d in banked:
        if d.id not in used and d.id not in named:
            free.setdefault(d.amount, []).append(d)
    candidates = {p.id: [d for d in free.get(p.amount, ()) if window(p, d)] for p in unmatched}
    claimed = Counter(d.id for ds in candidates.values() for d in ds)
    for p in unmatched:
        ds = candidates[p.id]
        if len(ds) == 1 and claimed[ds[0].id] == 1:
            used.add(ds[0].id)
            matches.append((p, ds[0], "amount"))
    return matches, mismatches


def _match_value(p, d, how: str) -> DepositMatch:
    return DepositMatch(p.trace_number, p.payer_name or p.payer_key, p.payment_date, p.amount, d.deposit_date,
                        d.amount, d.reference, how)


def match_deposits(conn: Connection, *, now: datetime) -> list[DepositMatch]:
    """Pair open payments with open deposits (see the module docstring) and post each transfer, inside the
    caller's transaction. Returns the new matches."""
    pairs, _ = _pair(_open_payments(conn), _open_deposits(conn))
    if not pairs:
        return []
    journal = Journal(conn, now)
    for p, d, _how in pairs:
        e = Entry("deposit", memo=f"deposit {d.deposit_date.isoformat()} of payment {p.trace_number}")
        e.move("bank", "undeposited_era", p.amount)
        journal.add(e)
    entry_ids = journal.flush()
    insert_returning_ids(conn, deposit_matches, [
        {"deposit_id": d.id, "remittance_id": p.id, "entry_id": entry_id, "matched_by": how, "matched_at": now}
        for (p, d, how), entry_id in zip(pairs, entry_ids, strict=True)])
    return [_match_value(p, d, how) for p, d, how in pairs]


def deposit_report(conn: Connection) -> DepositReport:
    """Matched payments (oldest first), payments with no deposit yet, deposits with no 835, mismatches, and the
    undeposited ERA cash and bank balances (sums in SQL)."""
    matched = tuple(
        DepositMatch(r.trace_number, r.payer_name or r.payer_key, r.payment_date, r.amount, r.deposit_date,
                     r.deposit_amount, r.reference, r.matched_by)
        for r in conn.execute(
            select(remittances.c.trace_number, remittances.c.payer_name, remittances.c.payer_key,
                   remittances.c.payment_date, remittances.c.amount, deposits.c.deposit_date,
                   deposits.c.amount.label("deposit_amount"), deposits.c.reference, deposit_matches.c.matched_by)
            .join(remittances, remittances.c.id == deposit_matches.c.remittance_id)
            .join(deposits, deposits.c.id == deposit_matches.c.deposit_id)
            .order_by(deposits.c.deposit_date, deposit_matches.c.id)))
    payments, banked = _open_payments(conn), _open_deposits(conn)
    # what a match would pair now (none, right after match_deposits) stays listed as open on both sides
    _, bad = _pair(payments, banked)
    mismatched_p = {p.id for p, _, _ in bad}
    mismatched_d = {d.id for _, d, _ in bad}
    balances = dict(conn.execute(select(postings.c.account, func.sum(type_coerce(postings.c.amount, BigInteger)))
                                 .where(postings.c.account.in_(("undeposited_era", "bank")))
                                 .group_by(postings.c.account)).all())
    return DepositReport(
        matched=matched,
        payments_without_deposit=tuple(PaymentItem(p.trace_number, p.payer_name or p.payer_key, p.payment_date,
                                                   p.amount) for p in payments if p.id not in mismatched_p),
        deposits_without_835=tuple(DepositItem(d.deposit_date, d.amount, d.reference, d.description)
                                   for d in banked if d.id not in mismatched_d),
        mismatches=tuple(_match_value(p, d, how) for p, d, how in bad),
        undeposited=Decimal(balances.get("undeposited_era") or 0) / 100,
        banked=Decimal(balances.get("bank") or 0) / 100,
    )


# -- the proof ---------------------------------------------------------------------------------------------------


def check(conn: Connection) -> list[Problem]:
    """`edi ledger check`'s proof of the deposits: every transfer to the bank is a deposit entry named by exactly
    one match, moving exactly the payment's BPR02, which equals the deposit's amount (``ledger.deposit.posted``);
    no payment and no deposit is matched twice (``ledger.deposit.twice``: the unique constraints forbid it)."""
    found: list[Problem] = []

    def bad(code: str, message: str, record: str | None = None) -> None:
        found.append(Problem(code, message, ERROR, Where(record=record)))

    for column, what in ((deposit_matches.c.remittance_id, "payment"), (deposit_matches.c.deposit_id, "deposit")):
        for ref, n in conn.execute(select(column, func.count()).group_by(column).having(func.count() > 1)):
            bad("ledger.deposit.twice", f"{what} {ref} is matched to {n} deposits: its money reached the bank "
                f"{n} times in the ledger")
    bank = type_coerce(postings.c.amount, BigInteger)
    per_entry = {
        e: (b or 0, u or 0) for e, b, u in conn.execute(
            select(postings.c.entry_id,
                   func.sum(bank).filter(postings.c.account == "bank"),
                   func.sum(bank).filter(postings.c.account == "undeposited_era"))
            .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
            .where(journal_entries.c.kind == "deposit").group_by(postings.c.entry_id))}
    named: set[int] = set()
    for entry_id, trace, amount, deposit_amount in conn.execute(
            select(deposit_matches.c.entry_id, remittances.c.trace_number,
                   type_coerce(remittances.c.amount, BigInteger), type_coerce(deposits.c.amount, BigInteger))
            .join(remittances, remittances.c.id == deposit_matches.c.remittance_id)
            .join(deposits, deposits.c.id == deposit_matches.c.deposit_id)):
        named.add(entry_id)
        b, u = per_entry.get(entry_id, (0, 0))
        if not (b == amount == -u == deposit_amount):
            bad("ledger.deposit.posted", f"payment {trace}: BPR02 {Decimal(amount) / 100}, deposit "
                f"{Decimal(deposit_amount) / 100}, but its transfer moved {Decimal(b) / 100} to the bank and "
                f"{Decimal(-u) / 100} from undeposited ERA cash", trace)
    for entry_id in sorted(set(per_entry) - named):
        bad("ledger.deposit.posted", f"journal entry {entry_id} moves money to the bank but no deposit match names "
            "it")
    return found


__all__ = ["BankLayout", "BankRow", "DepositFileError", "DepositImport", "DepositMatch", "DepositReport",
           "check", "deposit_report", "import_deposits", "match_deposits", "read_bank_csv"]
