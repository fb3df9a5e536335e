"""Values longer than their column, found before anything is written, the same way on every database.

PostgreSQL refuses a value longer than its ``VARCHAR(n)`` (and its error quotes the value: PHI on stderr);
SQLite keeps it. So the ledger checks before writing, against the lengths ``edi.ledger.schema`` declares (the
one source: a column made longer there is longer here), and refuses the file with a problem that names the
element and the lengths, never the value:

    found = over_limit(claim_payments, ("id", "status", ...), rows)   # None, or (row index, column, limit)
    raise ValueTooLong(problem_for(found, ...))

The check runs column by column over a batch at C speed (``map``/``max``), and looks for the row only when a
column holds a value over its limit.
"""

from __future__ import annotations

from functools import cache
from operator import itemgetter

from sqlalchemy import String, Table

from edi.problems import ERROR, Problem, Where

#: The X12 element a column holds (for the problem's words); a column not named here is named as table.column.
ELEMENTS = {
    ("claim_payments", "patient_control_number"): "CLP01 (patient control number)",
    ("claim_payments", "status"): "CLP02 (claim status)",
    ("claim_payments", "payer_claim_number"): "CLP07 (payer claim number)",
    ("adjustments", "group_code"): "CAS01 (group code)",
    ("adjustments", "reason"): "a CAS reason code",
    ("adjustments", "quantity"): "a CAS quantity",
    ("adjustments", "remarks"): "the remark codes",
    ("remittances", "payer_key"): "TRN03 (or the payer's id or name)",
    ("remittances", "trace_number"): "TRN02 (trace number)",
    ("remittances", "handling"): "BPR01 (handling code)",
    ("remittances", "method"): "BPR04 (payment method)",
    ("remittances", "control_number"): "ST02 (transaction set control number)",
    ("provider_adjustments", "provider_id"): "PLB01 (provider id)",
    ("provider_adjustments", "reason"): "PLB03-1 (adjustment reason)",
    ("suspense_items", "patient_control_number"): "CLP01 (patient control number)",
    ("postings", "group_code"): "CAS01 (group code)",
    ("postings", "reason"): "an adjustment reason code",
    ("claims", "patient_control_number"): "CLM01 (patient control number)",
    ("claims", "payer_id"): "the payer id (2010BB NM109)",
    ("claims", "member_id"): "the member id (2010BA NM109)",
    ("claims", "payer_claim_number"): "REF*F8 (payer claim number)",
    ("claims", "billing_npi"): "the billing provider's NPI",
    ("claim_lines", "procedure"): "a procedure code",
    ("claim_lines", "modifiers"): "a line's modifiers",
    ("claim_lines", "revenue_code"): "a revenue code",
    ("claim_lines", "units"): "a line's units",
    ("claim_lines", "line_control_number"): "REF*6R (line control number)",
    ("transactions", "interchange"): "ISA13 (interchange control number)",
    ("transactions", "control_number"): "ST02 (transaction set control number)",
    ("transactions", "group_control"): "GS06 (group control number)",
}


class ValueTooLong(Exception):
    """A value of the file the ledger cannot hold (longer than its column; or, from edi.ledger.post, an amount
    beyond the range it posts): nothing of the file is written. ``problems`` says which, never the value."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problems = [problem]


@cache
def limits(table: Table, columns: tuple[str, ...], skip: frozenset[str] = frozenset()
           ) -> tuple[tuple[int, str, int], ...]:
    """(position in ``columns``, column name, length) of each column of ``table`` with a declared length (but
    those in ``skip``)."""
    out = []
    for i, name in enumerate(columns):
        t = table.c[name].type
        if isinstance(t, String) and t.length is not None and name not in skip:
            out.append((i, name, t.length))
    return tuple(out)


def over_limit(table: Table, columns: tuple[str, ...] | list[str], rows: list[tuple],
               skip: frozenset[str] = frozenset()) -> tuple[int, str, int] | None:
    """The first value of ``rows`` (tuples in the order of ``columns``) longer than its column, as (row index,
    column name, length); None when every value fits. ``skip`` names columns the caller fills with values of
    its own (never from a file)."""
    if not rows:
        return None
    for i, name, length in limits(table, tuple(columns), skip):
        get = itemgetter(i)
        if max(map(len, filter(None, map(get, rows))), default=0) > length:
            for k, row in enumerate(rows):
                value = row[i]
                if value and len(value) > length:
                    return k, name, length
    return None


def over_limit_dicts(table: Table, rows: list[dict]) -> tuple[int, str, int] | None:
    """``over_limit`` for rows given as dicts (every row with the keys of the first)."""
    if not rows:
        return None
    columns = tuple(rows[0])
    get = itemgetter(*columns) if len(columns) > 1 else (lambda r: (r[columns[0]],))
    return over_limit(table, columns, [get(r) for r in rows])


def too_long(table: Table, found: tuple[int, str, int], value: str, *, file: str | None, segment: int | None,
             transaction: str | None = None, verb: str = "posted") -> ValueTooLong:
    """The refusal for a value ``over_limit`` found: a problem naming the element, its length and the limit,
    never the value."""
    _, column, length = found
    what = ELEMENTS.get((table.name, column), f"{table.name}.{column}")
    return ValueTooLong(Problem("ledger.value.too_long",
                                f"{what} has {len(value)} characters, more than the {length} the ledger keeps: "
                                f"nothing from this file was {verb}", ERROR,
                                Where(file=file, transaction=transaction, segment=segment)))
