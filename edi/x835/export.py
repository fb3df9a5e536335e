"""835 remittances as flat tables, for spreadsheets and pandas: claims, lines and adjustments.

Nothing is lost: the adjustments table holds every CAS triplet at claim level *and* line level, and every
PLB provider-level adjustment (``level`` = claim, line or provider), which is what other 835-to-DataFrame
tools drop. Rows stream as the reader reads: a 1 GB file exports in constant memory.

    with Exporter({"claims": open_table("claims.csv"), "adjustments": open_table("adj.ndjson")}) as ex:
        ex.add_file("era.835")
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from decimal import Decimal
from operator import itemgetter
from typing import IO, Protocol

from edi.encode import to_json
from edi.model import ClaimPayment, RemittanceEnd
from edi.problems import Problem
from edi.x835.reader import read_remittances
from edi.x835.views import money

TABLES = ("claims", "lines", "adjustments")

COLUMNS: dict[str, tuple[str, ...]] = {
    "claims": (
        "file", "transaction", "trace_number", "payment_date", "payer_name", "payer_id", "payee_name", "payee_npi",
        "patient_control_number", "status", "status_text", "charge", "paid", "patient_responsibility",
        "payer_claim_number", "filing_indicator", "facility_type", "frequency", "drg", "patient_last_name",
        "patient_first_name", "patient_id", "statement_from", "statement_to", "claim_adjustments",
        "line_adjustments", "line_count", "segment",
    ),
    "lines": (
        "file", "transaction", "trace_number", "patient_control_number", "payer_claim_number", "claim_status",
        "line", "procedure_qualifier", "procedure", "modifiers", "revenue_code", "original_procedure", "charge",
        "paid", "allowed", "units", "service_date", "service_date_end", "line_control_number", "adjustments",
        "remarks", "segment",
    ),
    "adjustments": (
        "file", "transaction", "trace_number", "level", "patient_control_number", "payer_claim_number",
        "claim_status", "line", "line_control_number", "procedure", "group", "reason", "amount", "quantity",
        "provider_id", "fiscal_period", "reference", "segment",
    ),
}


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def _quantity(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class Table(Protocol):
    def write(self, row: dict) -> None: ...

    def close(self) -> None: ...


class CsvTable:
    def __init__(self, fp: IO[str], columns: tuple[str, ...]) -> None:
        self.fp = fp
        writer = csv.writer(fp)
        writer.writerow(columns)
        # Each row is a dict with exactly these keys, picked in C: about three times csv.DictWriter's speed (a
        # missing key is a KeyError, as DictWriter's extrasaction="raise" refused an extra one).
        self._pick = itemgetter(*columns)
        self._put = writer.writerow

    def write(self, row: dict) -> None:
        self._put(self._pick(row))

    def close(self) -> None:
        self.fp.close()


class NdjsonTable:
    def __init__(self, fp: IO[str], columns: tuple[str, ...]) -> None:
        self.fp = fp

    def write(self, row: dict) -> None:
        self.fp.write(to_json(row).decode() + "\n")

    def close(self) -> None:
        self.fp.close()


def open_table(path: str, table: str, fmt: str) -> Table:
    """A CSV or NDJSON writer for ``table`` (claims, lines, adjustments) at ``path``."""
    # created readable by its owner only: the tables hold patient control numbers and payments
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fp = open(fd, "w", newline="" if fmt == "csv" else None, encoding="utf-8")  # noqa: SIM115 - closed by Table
    cls = CsvTable if fmt == "csv" else NdjsonTable
    return cls(fp, COLUMNS[table])


class Exporter:
    """Streams 835 files into the given tables. ``problems`` collects each file's reader problems."""

    def __init__(self, tables: dict[str, Table]) -> None:
        unknown = set(tables) - set(TABLES)
        if unknown:
            raise ValueError(f"unknown table(s): {', '.join(sorted(unknown))}; choose from {', '.join(TABLES)}")
        self.tables = tables
        self.problems: list[Problem] = []
        self.counts = dict.fromkeys(tables, 0)

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, *exc) -> None:
        for t in self.tables.values():
            t.close()

    def add_file(self, path: str) -> None:
        reader = read_remittances(path)
        self.add_items(reader, path)
        self.problems += reader.problems

    def add_items(self, items: Iterable, path: str) -> None:
        tables = self.tables
        claims, lines, adjustments = (tables[t].write if t in tables else None for t in TABLES)
        n_claims = n_lines = n_adjustments = 0
        try:
            for item in items:
                kind = type(item)
                if kind is ClaimPayment:
                    if claims:
                        claims(claim_row(item, path))
                        n_claims += 1
                    if lines and item.lines:
                        for row in line_rows(item, path):
                            lines(row)
                            n_lines += 1
                    if adjustments:
                        for row in adjustment_rows(item, path):
                            adjustments(row)
                            n_adjustments += 1
                elif kind is RemittanceEnd and adjustments:
                    for row in provider_rows(item, path):
                        adjustments(row)
                        n_adjustments += 1
        finally:
            for table, n in zip(TABLES, (n_claims, n_lines, n_adjustments), strict=True):
                if table in self.counts:
                    self.counts[table] += n


def _payment(c: ClaimPayment) -> dict:
    r = c.remittance
    return {"transaction": r.control_number if r else None, "trace_number": r.trace_number if r else None}


def claim_row(c: ClaimPayment, path: str) -> dict:
    r = c.remittance
    payer, payee = (r.payer, r.payee) if r else (None, None)
    p = c.patient
    claim_adj = sum((a.amount for a in c.adjustments), Decimal(0))
    line_adj = sum((ln.adjustment_total for ln in c.lines), Decimal(0))
    return {
        "file": path, **_payment(c), "payment_date": _iso(r.payment_date if r else None),
        "payer_name": payer.name if payer else None, "payer_id": (payer.reference("2U") or payer.id) if payer else None,
        "payee_name": payee.name if payee else None,
        "payee_npi": payee.id if payee and payee.id_qualifier == "XX" else None,
        "patient_control_number": c.patient_control_number, "status": c.status, "status_text": c.status_text,
        "charge": money(c.charge), "paid": money(c.paid),
        "patient_responsibility": money(c.patient_responsibility),
        "payer_claim_number": c.payer_claim_number, "filing_indicator": c.filing_indicator,
        "facility_type": c.facility_type, "frequency": c.frequency, "drg": c.drg,
        "patient_last_name": p.last_or_org if p else None, "patient_first_name": p.first if p else None,
        "patient_id": p.id if p else None, "statement_from": _iso(c.statement_from),
        "statement_to": _iso(c.statement_to),
        "claim_adjustments": money(claim_adj), "line_adjustments": money(line_adj), "line_count": len(c.lines),
        "segment": c.source.segment if c.source else None,
    }


def line_rows(c: ClaimPayment, path: str) -> Iterable[dict]:
    base = {"file": path, **_payment(c), "patient_control_number": c.patient_control_number,
            "payer_claim_number": c.payer_claim_number, "claim_status": c.status}
    for n, ln in enumerate(c.lines, 1):
        yield {
            **base, "line": n, "procedure_qualifier": ln.procedure_qualifier, "procedure": ln.procedure,
            "modifiers": ":".join(ln.modifiers), "revenue_code": ln.revenue_code,
            "original_procedure": ln.original_procedure, "charge": money(ln.charge), "paid": money(ln.paid),
            "allowed": money(ln.allowed), "units": _quantity(ln.units), "service_date": _iso(ln.service_date),
            "service_date_end": _iso(ln.service_date_end), "line_control_number": ln.line_control_number,
            "adjustments": money(ln.adjustment_total), "remarks": " ".join(str(r.value) for r in ln.remarks),
            "segment": ln.source.segment if ln.source else None,
        }


def adjustment_rows(c: ClaimPayment, path: str) -> Iterable[dict]:
    base = {"file": path, **_payment(c), "patient_control_number": c.patient_control_number,
            "payer_claim_number": c.payer_claim_number, "claim_status": c.status, "provider_id": None,
            "fiscal_period": None, "reference": None}
    for a in c.adjustments:
        yield {**base, "level": "claim", "line": None, "line_control_number": None, "procedure": None,
               "group": a.group, "reason": a.reason, "amount": money(a.amount), "quantity": _quantity(a.quantity),
               "segment": a.source.segment if a.source else None}
    for n, ln in enumerate(c.lines, 1):
        for a in ln.adjustments:
            yield {**base, "level": "line", "line": n, "line_control_number": ln.line_control_number,
                   "procedure": ln.procedure, "group": a.group, "reason": a.reason, "amount": money(a.amount),
                   "quantity": _quantity(a.quantity), "segment": a.source.segment if a.source else None}


def provider_rows(end: RemittanceEnd, path: str) -> Iterable[dict]:
    r = end.remittance
    for a in end.provider_adjustments:
        yield {"file": path, "transaction": r.control_number, "trace_number": r.trace_number, "level": "provider",
               "patient_control_number": None, "payer_claim_number": None, "claim_status": None, "line": None,
               "line_control_number": None, "procedure": None, "group": None, "reason": a.reason,
               "amount": money(a.amount), "quantity": None, "provider_id": a.provider_id,
               "fiscal_period": _iso(a.fiscal_period), "reference": a.reference,
               "segment": a.source.segment if a.source else None}
