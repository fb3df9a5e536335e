"""`edi remit`: read 835 remittances (show, export). Importing them into the ledger is `edi remit import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import ledger
from cli.output import (
    PROBLEMS,
    check_readable,
    console,
    dumps,
    err_console,
    esc,
    exit_code,
    fail,
    marked,
    problem_table,
    require_kind,
    streamed,
    writable_folder,
)
from edi.x835.export import TABLES, Exporter, open_table
from edi.x835.reader import read_remittances
from edi.x835.views import Payment, load_descriptions, money, payment_json, payments

app = typer.Typer(help="835 remittances: show them like a paper EOB, export them as flat tables, post them to "
                  "the ledger.", no_args_is_help=True)
app.command("import")(ledger.import_)


@app.command()
def show(
    file: Annotated[str, typer.Argument(help="An 835 file, or - for standard input.")],
    json_: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    descriptions: Annotated[str | None, typer.Option(
        "--descriptions", help="CSV of code,description for CARC/RARC/PLB codes (their texts are licensed, so "
        "edi ships none).")] = None,
) -> None:
    """Show a remittance: payments, claims, lines, adjustments and the balancing verdict. Exit 1 when a
    balancing, envelope or content error was found."""
    check_readable(file)
    require_kind(file, "835")
    texts: dict[str, str] = {}
    if descriptions:
        try:
            texts = load_descriptions(descriptions)
        except (OSError, ValueError) as exc:
            fail(f"descriptions: {exc}")
    reader = read_remittances(file)
    with streamed(file):
        if json_:
            _show_json(file, reader)
        else:
            for p in payments(reader):
                _render_payment(p, texts)
    if not json_:
        if reader.problems:
            err_console.print(problem_table(reader.problems, title=f"{file}: problems"))
        elif reader.segments == 0:
            err_console.print(f"{file}: no X12 segments")
    raise typer.Exit(exit_code(reader.problems) if reader.segments else PROBLEMS)


def _show_json(file: str, reader) -> None:
    """Streams the payments: one object, written as it is read."""
    out = console.file
    out.write('{\n  "file": ' + dumps(file) + ',\n  "payments": [')
    first = True
    for p in payments(reader):
        out.write(("\n" if first else ",\n") + _indent(dumps(payment_json(p)), 4))
        first = False
    out.write(("\n  ]" if not first else "]") + ',\n  "problems": ' +
              _indent(dumps([x.as_dict() for x in reader.problems]), 2).lstrip() + "\n}\n")


def _indent(text: str, n: int) -> str:
    """Each line of JSON text indented: split at "\\n" only (splitlines() also splits at U+2028, U+2029 and
    U+0085, which a value may hold: the output was not JSON any more)."""
    pad = " " * n
    return "\n".join(pad + line for line in text.split("\n"))


def _code(group: str | None, reason: str, texts: dict[str, str]) -> str:
    key = f"{group}-{reason}" if group else reason
    text = texts.get(key) or texts.get(reason)
    return f"{key} {text}" if text else key


def _render_payment(p: Payment, texts: dict[str, str]) -> None:
    r = p.remittance
    payer = r.payer.name if r.payer else "(no payer)"
    payee = r.payee
    payee_text = f"{payee.name}" + (f" ({payee.id_qualifier} {payee.id})" if payee and payee.id else "") \
        if payee else "(no payee)"
    method = {"ACH": "EFT (ACH)", "CHK": "check", "NON": "no payment", "FWT": "wire", "BOP": "bank's option"}.get(
        r.method, r.method)
    console.print(marked(f"[bold]Payment {esc(r.trace_number or '(no trace number)')}[/]  {esc(payer)} -> "
                         f"{esc(payee_text)}"))
    console.print(marked(f"  {esc(method or '')}, {esc(str(r.payment_date or 'no date'))}: [bold]{money(r.amount)}[/]"
                         f"{' debit' if r.credit_debit == 'D' else ''}   (transaction {esc(r.control_number or '')})"))
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col, justify in (("claim / line", "left"), ("status", "left"), ("date", "left"), ("charge", "right"),
                         ("paid", "right"), ("patient resp.", "right"), ("adjustments", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for c in p.claims:
        adj = ", ".join(f"{_code(a.group, a.reason, texts)} {money(a.amount)}" for a in c.adjustments)
        table.add_row(marked(f"[bold]{esc(c.patient_control_number)}[/]" + (f" ({esc(c.payer_claim_number)})"
                      if c.payer_claim_number else "")), c.status_text, str(c.statement_from or ""),
                      money(c.charge), money(c.paid), money(c.patient_responsibility) or "", adj)
        for ln in c.lines:
            code = ln.procedure + (":" + ":".join(ln.modifiers) if ln.modifiers else "")
            if ln.original_procedure:
                code += f" (billed {ln.original_procedure})"
            remarks = " ".join(_code(None, str(x.value), texts) for x in ln.remarks)
            adj = ", ".join(f"{_code(a.group, a.reason, texts)} {money(a.amount)}" for a in ln.adjustments)
            table.add_row(f"  {code}", "", str(ln.service_date or ""), money(ln.charge), money(ln.paid), "",
                          (adj + (f"; {remarks}" if remarks else "")).strip("; "))
    console.print(table)
    end = p.end
    if end and end.provider_adjustments:
        for a in end.provider_adjustments:
            console.print(f"  provider adjustment {_code(None, a.reason, texts)}"
                          f"{' ' + a.reference if a.reference else ''}: {money(a.amount)}")
    verdict = "[green]balanced[/]" if p.balanced else "[red]NOT balanced[/]"
    totals = f"{len(p.claims)} claims, paid {money(end.paid_total)}" if end else f"{len(p.claims)} claims"
    plb = f", provider adjustments {money(end.provider_adjustment_total)}" if end and end.provider_adjustments else ""
    console.print(marked(f"  {totals}{plb}: {verdict}\n"))


@app.command("export")
def export(
    files: Annotated[list[str], typer.Argument(help="835 files.")],
    to: Annotated[list[str] | None, typer.Option(
        "--to", help="Output file; its name says the table (claims, lines or adjustments) and its extension the "
        "format (.csv, .ndjson). Repeat for several tables.")] = None,
    out: Annotated[str | None, typer.Option("--out", help="Folder to write claims, lines and adjustments in.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or ndjson (with --out).")] = "csv",
) -> None:
    """Flatten remittances into claims, lines and adjustments tables (claim-level CAS and PLB included),
    streaming in constant memory."""
    if not to and not out:
        fail("say where to write: --to claims.csv (repeatable) or --out DIR [--format csv|ndjson]")
    if fmt not in ("csv", "ndjson"):
        fail("--format is csv or ndjson")
    targets: dict[str, tuple[str, str]] = {}
    for path in to or []:
        name = Path(path).name.lower()
        table = next((t for t in TABLES if name.startswith(t) or name.startswith(t.rstrip("s"))), None)
        ext = Path(path).suffix.lower()
        if table is None:
            fail(f"--to {path}: the file name must start with claims, lines or adjustments")
        if ext not in (".csv", ".ndjson", ".jsonl"):
            fail(f"--to {path}: the extension must be .csv or .ndjson")
        targets[table] = (path, "csv" if ext == ".csv" else "ndjson")
    for f in files:
        check_readable(f)
        require_kind(f, "835")
    if out:
        writable_folder("--out", out)
        for t in TABLES:
            targets.setdefault(t, (str(Path(out) / f"{t}.{fmt}"), fmt))
    try:
        tables = {t: open_table(path, t, f) for t, (path, f) in targets.items()}
    except OSError as exc:
        fail(f"cannot write: {exc}")
    with Exporter(tables) as ex:
        for f in files:
            ex.add_file(f)
    for t, (path, _) in targets.items():
        err_console.print(f"{path}: {ex.counts[t]} {t}")
    if ex.problems:
        err_console.print(problem_table(ex.problems, title="problems"))
    raise typer.Exit(exit_code(ex.problems))


