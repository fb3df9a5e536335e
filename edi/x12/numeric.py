"""X12 numbers: the one rule for reading a decimal (data element type R) from a file.

X12 (5010, the "R" type): an optional leading minus sign, digits, and an optional decimal point; no plus sign,
no exponent, no spaces, no thousands separators. The element's maximum length counts the digits only (not the
sign or the point). Money amounts in the 835 and 837 are R 1/18 and, being dollars, carry at most two decimals
(trailing zeros beyond them are allowed: ``12.500`` is 12.50).

Python's ``Decimal()`` takes much more (``1E+25``, ``27_3.86``, ``+5``, `` 5``, ``NaN``, ``Infinity``, digits of
other scripts): reading an element with it alone is a silent misreading. ``read_r`` is what every reader calls.

    read_r("273.86", places=2)     -> Decimal("273.86")
    read_r("273.865", places=2)    -> FRACTION      (a string: the problem's last word)
    read_r("1E+25")                -> INVALID
    read_r("1" * 20)               -> TOO_LONG
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: Digits allowed in a money amount (R 1/18: BPR02, CLP03, CAS03, SVC02, AMT02, PLB04 ...).
MONEY_DIGITS = 18
#: Digits allowed in a quantity (R 1/15: CAS04, SVC05, QTY02, CLP12 ...).
QUANTITY_DIGITS = 15
#: Decimals a money amount may carry.
CENT_PLACES = 2

#: What ``read_r`` returns instead of a value: the last word of the problem code (``835.amount.invalid``).
INVALID = "invalid"
TOO_LONG = "too_long"
FRACTION = "fraction"

#: What the problems say for each.
WORDS = {
    INVALID: "is not an X12 decimal number (digits, an optional leading minus and decimal point; no exponent, "
             "sign +, spaces or underscores)",
    TOO_LONG: "has more digits than the element allows",
    FRACTION: "has fractions of a cent (more than two decimals)",
}

_R_CHARS = frozenset("0123456789.-")

#: The common, plainly good forms, for the readers' hot paths (one C call, then ``Decimal()``, which cannot fail
#: on what they match); anything else goes to ``read_r``, which decides. A money amount of at most 16 digits
#: before the point and two after; a quantity of at most 10 and 4.
money_match = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{0,2})?\Z").match
quantity_match = re.compile(r"-?[0-9]{1,10}(?:\.[0-9]{0,4})?\Z").match


def read_r(text: str, max_digits: int = MONEY_DIGITS, places: int | None = None) -> Decimal | str:
    """``text`` (not empty) as a Decimal when it is an X12 decimal of at most ``max_digits`` digits and, when
    ``places`` is given, no more than ``places`` significant decimals; else ``INVALID``, ``TOO_LONG`` or
    ``FRACTION``."""
    if not _R_CHARS.issuperset(text):  # only ASCII digits, point and minus: no exponent, _, +, space, NaN
        return INVALID
    try:
        value = Decimal(text)  # refuses "", "-", ".", "1.2.3", "1-", "--1"
    except InvalidOperation:
        return INVALID
    n = len(text)
    if n > max_digits and n - ("-" in text) - ("." in text) > max_digits:
        return TOO_LONG
    if places is not None:
        dot = text.find(".")
        if dot >= 0 and n - dot - 1 > places and text[dot + 1 + places:].strip("0"):
            return FRACTION
    return value
