"""Fee schedules: what a payer's contract allows for a procedure or revenue code.

One CSV, shared by the payer simulator (which pays at the allowed amount) and by ``edi ledger variance`` (which
finds lines paid below it). Its header is ``payer,code,modifier,allowed``:

- ``payer``: a payer key of ``edi.toml`` (``acme``), or ``*`` for every payer without a row of its own;
- ``code``: a procedure code (HCPCS/CPT, ``99213``) or a revenue code (``0450``), as billed;
- ``modifier``: empty, or one procedure modifier (``25``) the amount applies to;
- ``allowed``: the contracted amount per unit, in dollars with at most two decimal places (``92.50``).

A line is priced by the most specific row: the payer's row for the code and one of the line's modifiers (in the
order billed), then the payer's row for the code alone, then the same two for ``*``. Rows are validated whole:
every bad row is reported with its line number, and a schedule with any is refused.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

HEADER = ("payer", "code", "modifier", "allowed")
ANY_PAYER = "*"
_CODE = re.compile(r"[A-Za-z0-9]{1,48}")
_MODIFIER = re.compile(r"[A-Za-z0-9]{2}")
_PAYER = re.compile(r"[A-Za-z0-9_.-]{1,64}|\*")
_MAX_ALLOWED = Decimal("99999999.99")


class FeeScheduleError(ValueError):
    """A fee schedule that cannot be used; ``errors`` holds (line number, message) for every bad row."""

    def __init__(self, file: str, errors: list[tuple[int, str]]) -> None:
        self.file = file
        self.errors = errors
        shown = "; ".join(f"line {n}: {m}" if n else m for n, m in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{file}: {shown}{more}")


@dataclass(frozen=True, slots=True)
class Fee:
    """One row: ``allowed`` per unit for ``code`` (with ``modifier``, or any when empty) at ``payer``."""

    payer: str
    code: str
    modifier: str
    allowed: Decimal
    line: int


class FeeSchedule:
    """Contracted amounts, looked up by payer key, code and modifiers."""

    def __init__(self, fees: Iterable[Fee] = (), *, source: str = "") -> None:
        self.source = source
        self._fees: dict[tuple[str, str, str], Fee] = {}
        for fee in fees:
            self._fees[(fee.payer, fee.code, fee.modifier)] = fee

    def __len__(self) -> int:
        return len(self._fees)

    def __iter__(self):
        return iter(self._fees.values())

    def payers(self) -> set[str]:
        return {p for p, _, _ in self._fees}

    def fee(self, payer: str | None, code: str, modifiers: Iterable[str] = ()) -> Fee | None:
        """The row that prices ``code`` for ``payer`` (a payer key; None looks at ``*`` only), or None."""
        code = code.strip().upper()
        mods = [m.strip().upper() for m in modifiers if m and m.strip()]
        for key in ((payer, ANY_PAYER) if payer and payer != ANY_PAYER else (ANY_PAYER,)):
            for mod in mods:
                hit = self._fees.get((key, code, mod))
                if hit is not None:
                    return hit
            hit = self._fees.get((key, code, ""))
            if hit is not None:
                return hit
        return None

    def allowed(self, payer: str | None, code: str, modifiers: Iterable[str] = (),
                units: Decimal | int | None = None) -> Decimal | None:
        """The contracted amount for ``units`` of ``code`` (one unit when None), in cents; None when no row."""
        fee = self.fee(payer, code, modifiers)
        if fee is None:
            return None
        n = Decimal(1) if units is None else Decimal(units)
        return (fee.allowed * n).quantize(Decimal("0.01"))


def parse_fee_schedule(rows: Iterable[list[str]], *, file: str = "fee schedule") -> FeeSchedule:
    """A schedule from CSV rows (the header first). Raises FeeScheduleError naming every bad row."""
    errors: list[tuple[int, str]] = []
    fees: list[Fee] = []
    seen: dict[tuple[str, str, str], int] = {}
    it = iter(rows)
    header = next(it, None)
    if header is None:
        raise FeeScheduleError(file, [(0, "the file is empty; its first line must be " + ",".join(HEADER))])
    if tuple(h.strip().lower().lstrip("\ufeff") for h in header) != HEADER:
        raise FeeScheduleError(file, [(1, "the header must be " + ",".join(HEADER) + f", not {','.join(header)}")])
    for n, row in enumerate(it, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 4:
            errors.append((n, f"expected 4 columns ({','.join(HEADER)}), found {len(row)}"))
            continue
        payer, code, modifier, allowed = (c.strip() for c in row)
        bad = []
        if not _PAYER.fullmatch(payer):
            bad.append(f"payer {payer!r} is not a payer key of edi.toml or *")
        if not _CODE.fullmatch(code):
            bad.append(f"code {code!r} is not a procedure or revenue code")
        if modifier and not _MODIFIER.fullmatch(modifier):
            bad.append(f"modifier {modifier!r} is not two letters or digits")
        amount = _amount(allowed)
        if amount is None:
            bad.append(f"allowed {allowed!r} is not an amount in dollars with at most two decimal places")
        if bad:
            errors.append((n, "; ".join(bad)))
            continue
        key = (payer, code.upper(), modifier.upper())
        if key in seen:
            errors.append((n, f"{payer} {code}{' ' + modifier if modifier else ''} is already priced on line "
                              f"{seen[key]}"))
            continue
        seen[key] = n
        fees.append(Fee(payer, code.upper(), modifier.upper(), amount, n))
    if errors:
        raise FeeScheduleError(file, errors)
    return FeeSchedule(fees, source=file)


def _amount(text: str) -> Decimal | None:
    if not re.fullmatch(r"\d{1,8}(\.\d{1,2})?", text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None
    return value if value <= _MAX_ALLOWED else None


def load_fee_schedule(path: str | Path) -> FeeSchedule:
    """Read a fee schedule CSV. Raises OSError when it cannot be read, FeeScheduleError when it is not valid."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fp:
            return parse_fee_schedule(csv.reader(fp), file=str(path))
    except UnicodeDecodeError as exc:
        raise FeeScheduleError(str(path), [(0, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except csv.Error as exc:
        raise FeeScheduleError(str(path), [(0, f"not CSV: {exc}")]) from None

