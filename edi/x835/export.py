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
import shutil
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Protocol

import msgspec

from edi.encode import to_json
from edi.model import ZERO, ClaimPayment, RemittanceEnd
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
    def write(self, row: tuple) -> None:
        """One row: its values in the order of the table's ``COLUMNS``."""

    def write_many(self, rows: list[tuple]) -> None: ...

    def append(self, source: IO[bytes]) -> None: ...

    def close(self) -> None: ...


class CsvTable:
    """CSV as the standard library's ``csv.writer`` writes it (minimal quoting, ``\\r\\n`` line ends), a third
    faster: a row is joined with commas, and only a row whose text holds a quote, a line break or a comma inside a
    value (more commas than columns) is handed to ``csv.writer`` to be quoted."""

    def __init__(self, fp: IO[str], columns: tuple[str, ...], *, header: bool = True) -> None:
        self.fp = fp
        self.writer = csv.writer(fp)
        if header:
            self.writer.writerow(columns)
        self.commas = len(columns) - 1

    def write(self, row: tuple) -> None:
        self.write_many((row,))

    def write_many(self, rows: Iterable[tuple]) -> None:
        out = []
        commas = self.commas
        for row in rows:
            line = ",".join(["" if x is None else x if x.__class__ is str else str(x) for x in row])
            if line.count(",") == commas and '"' not in line and "\n" not in line and "\r" not in line:
                out.append(line)
            else:  # a value to quote: the csv module decides how, as it always has
                if out:
                    self.fp.write("\r\n".join(out) + "\r\n")
                    out = []
                self.writer.writerow(row)
        if out:
            self.fp.write("\r\n".join(out) + "\r\n")

    def append(self, source: IO[bytes]) -> None:
        _append(self.fp, source)

    def close(self) -> None:
        self.fp.close()


def _append(fp: IO, source: IO[bytes]) -> None:
    """The rows another writer of the same table wrote to ``source`` (a part of the file read by another
    process: see cli.parts), from where it stands, appended after this one's."""
    fp.flush()
    raw = getattr(fp, "buffer", fp)
    shutil.copyfileobj(source, raw, 1 << 20)
    raw.flush()


class NdjsonTable:
    """One JSON object per row and line. Rows become msgspec structs whose fields are the table's columns (no dict
    per row; msgspec writes them as objects in column order) and are encoded a claim's rows at a time."""

    def __init__(self, fp: IO[bytes], columns: tuple[str, ...]) -> None:
        self.fp = fp
        self.columns = columns
        self.row_type = msgspec.defstruct("Row", columns)

    def write(self, row: tuple) -> None:
        self.write_many((row,))

    def write_many(self, rows: Iterable[tuple]) -> None:
        make = self.row_type
        try:
            self.fp.write(_encode_lines([make(*row) for row in rows]))
        except UnicodeEncodeError:  # text that was not UTF-8 (a lone surrogate): escaped, row by row
            for row in rows:
                self.fp.write(to_json(dict(zip(self.columns, row, strict=True))) + b"\n")

    def append(self, source: IO[bytes]) -> None:
        _append(self.fp, source)

    def close(self) -> None:
        self.fp.close()


_encode_lines = msgspec.json.Encoder().encode_lines


def open_table(path: str, table: str, fmt: str) -> Table:
    """A CSV or NDJSON writer for ``table`` (claims, lines, adjustments) at ``path``."""
    # created readable by its owner only: the tables hold patient control numbers and payments
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return table_on(fd, table, fmt)


def table_on(fd: int, table: str, fmt: str, *, header: bool = True) -> Table:
    """A CSV or NDJSON writer for ``table`` on the open file descriptor ``fd`` (closed with it); ``header``: a
    CSV's first line names the columns (not in a part another table appends, see cli.parts)."""
    if fmt == "csv":
        return CsvTable(open(fd, "w", newline="", encoding="utf-8", buffering=1 << 20), COLUMNS[table],  # noqa: SIM115
                        header=header)
    return NdjsonTable(open(fd, "wb", buffering=1 << 20), COLUMNS[table])  # noqa: SIM115


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
        claims = tables["claims"].write if "claims" in tables else None
        lines, adjustments = (tables[t].write_many if t in tables else None for t in TABLES[1:])
        n_claims = n_lines = n_adjustments = 0
        try:
            for item in items:
                kind = type(item)
                if kind is ClaimPayment:
                    if claims:
                        claims(claim_row(item, path))
                        n_claims += 1
                    if lines and item.lines:
                        lines(line_rows(item, path))
                        n_lines += len(item.lines)
                    if adjustments:
                        rows = adjustment_rows(item, path)
                        adjustments(rows)
                        n_adjustments += len(rows)
                elif kind is RemittanceEnd and adjustments:
                    rows = provider_rows(item, path)
                    adjustments(rows)
                    n_adjustments += len(rows)
        finally:
            for table, n in zip(TABLES, (n_claims, n_lines, n_adjustments), strict=True):
                if table in self.counts:
                    self.counts[table] += n


class _Heads:
    """The leading values every row of one payment shares, made once per payment (the last one is kept: rows come
    payment by payment)."""

    __slots__ = ("remittance", "path", "claim", "short")

    def __init__(self) -> None:
        self.remittance = self.path = None
        self.claim: tuple = ()
        self.short: tuple = ()

    def of(self, r, path: str) -> _Heads:
        if r is not self.remittance or path != self.path:
            self.remittance, self.path = r, path
            payer, payee = (r.payer, r.payee) if r else (None, None)
            self.short = (path, r.control_number if r else None, r.trace_number if r else None)
            self.claim = (*self.short, _iso(r.payment_date if r else None), payer.name if payer else None,
                          (payer.reference("2U") or payer.id) if payer else None, payee.name if payee else None,
                          payee.id if payee and payee.id_qualifier == "XX" else None)
        return self


_heads = _Heads()


def claim_row(c: ClaimPayment, path: str) -> tuple:
    """A claim payment's row of the claims table (``COLUMNS["claims"]`` order)."""
    p = c.patient
    claim_adj = line_adj = ZERO
    for a in c.adjustments:
        claim_adj += a.amount
    for ln in c.lines:
        for a in ln.adjustments:
            line_adj += a.amount
    return _heads.of(c.remittance, path).claim + (
        c.patient_control_number, c.status, c.status_text, money(c.charge), money(c.paid),
        money(c.patient_responsibility), c.payer_claim_number, c.filing_indicator, c.facility_type, c.frequency,
        c.drg, p.last_or_org if p else None, p.first if p else None, p.id if p else None, _iso(c.statement_from),
        _iso(c.statement_to), money(claim_adj), money(line_adj), len(c.lines),
        c.source.segment if c.source else None,
    )


def line_rows(c: ClaimPayment, path: str) -> list[tuple]:
    """A claim payment's rows of the lines table (``COLUMNS["lines"]`` order)."""
    base = _heads.of(c.remittance, path).short + (c.patient_control_number, c.payer_claim_number, c.status)
    return [
        base + (n, ln.procedure_qualifier, ln.procedure, ":".join(ln.modifiers), ln.revenue_code,
                ln.original_procedure, money(ln.charge), money(ln.paid), money(ln.allowed), _quantity(ln.units),
                _iso(ln.service_date), _iso(ln.service_date_end), ln.line_control_number,
                money(ln.adjustment_total), " ".join(str(x.value) for x in ln.remarks) if ln.remarks else "",
                ln.source.segment if ln.source else None)
        for n, ln in enumerate(c.lines, 1)
    ]


def adjustment_rows(c: ClaimPayment, path: str) -> list[tuple]:
    """A claim payment's rows of the adjustments table (``COLUMNS["adjustments"]`` order): claim-level CAS, then
    each line's."""
    head = _heads.of(c.remittance, path).short
    who = (c.patient_control_number, c.payer_claim_number, c.status)
    claim = head + ("claim",) + who + (None, None, None)
    rows = [claim + (a.group, a.reason, money(a.amount), _quantity(a.quantity), None, None, None,
                     a.source.segment if a.source else None) for a in c.adjustments]
    for n, ln in enumerate(c.lines, 1):
        if ln.adjustments:
            line = head + ("line",) + who + (n, ln.line_control_number, ln.procedure)
            rows += [line + (a.group, a.reason, money(a.amount), _quantity(a.quantity), None, None, None,
                             a.source.segment if a.source else None) for a in ln.adjustments]
    return rows


def provider_rows(end: RemittanceEnd, path: str) -> list[tuple]:
    """A payment's PLB adjustments as rows of the adjustments table."""
    r = end.remittance
    return [(path, r.control_number, r.trace_number, "provider", None, None, None, None, None, None, None, a.reason,
             money(a.amount), None, a.provider_id, _iso(a.fiscal_period), a.reference,
             a.source.segment if a.source else None) for a in end.provider_adjustments]
