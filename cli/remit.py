"""`edi remit`: read 835 remittances (show, export). Importing them into the ledger is `edi remit import`."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Annotated

import typer

from cli import ledger
from cli.output import (
    PROBLEMS,
    binary_stdout,
    check_readable,
    clean,
    console,
    err_console,
    esc,
    exit_code,
    fail,
    folder_for_output,
    marked,
    problem_table,
    require_kind,
    streamed,
)
from cli.parts import Read, copy_out, read_in_parts
from cli.progress import over_files
from edi.encode import to_json as encode
from edi.model import ClaimPayment, Remittance, RemittanceEnd
from edi.x835.export import TABLES, Exporter, open_table, table_on
from edi.x835.views import (
    BEGIN,
    CLAIM,
    claim_json,
    claim_line_json,
    claim_remarks,
    load_descriptions,
    money,
    patient_name,
    payment_events,
    payment_head,
    provider_adjustments_json,
)

app = typer.Typer(help="835 remittances: show them like a paper EOB, export them as flat tables, post them to "
                  "the ledger.", no_args_is_help=True)
app.command("import")(ledger.import_)


@app.command()
def show(
    file: Annotated[str, typer.Argument(help="An 835 file, or - for standard input.")],
    json_: Annotated[bool, typer.Option("--json", help="One JSON object on stdout, written as the file is read "
                                        "(one claim per line).")] = False,
    nl: Annotated[bool, typer.Option("--nl", help="Newline-delimited JSON: one object per claim payment, with its "
                                     "payment's control number, trace number, payer id and date.")] = False,
    descriptions: Annotated[str | None, typer.Option(
        "--descriptions", help="CSV of code,description for CARC/RARC/PLB codes (their texts are licensed, so "
        "edi ships none).")] = None,
    html: Annotated[str | None, typer.Option(
        "--html", metavar="OUT", help="Write the remittance as a self-contained HTML page of EOBs to this new file "
        "(never replaced; readable by you only) instead of printing it.")] = None,
) -> None:
    """Show a remittance like a paper EOB: payments, claims with their patient, lines, adjustments, remark codes
    and the balancing verdict, printed as the file is read. Exit 1 when a balancing, envelope or content error
    was found."""
    if sum((json_, nl, html is not None)) > 1:
        fail("--json, --nl and --html are three shapes of the same output: choose one")
    if html is not None:
        _new_file("--html", html)
    check_readable(file)
    require_kind(file, "835")
    texts: dict[str, str] = {}
    if descriptions is not None:
        if not descriptions.strip():
            fail("--descriptions: give a CSV file of code,description")
        try:
            texts = load_descriptions(descriptions)
        except (OSError, ValueError) as exc:
            fail(f"--descriptions {descriptions}: {getattr(exc, 'strerror', None) or exc}")
    if html is not None:
        raise typer.Exit(_show_html(file, html, texts))
    with streamed(file):
        if json_:
            read = _show_json(file)
        else:
            read = read_in_parts(file, _show_lines if nl else _EobPart(texts), _splice_whole)
    if not json_:
        if read.problems:
            err_console.print(problem_table(read.problems, title=f"{file}: problems"))
        elif read.segments == 0:
            err_console.print(f"{file}: no X12 segments")
    payments = sum(r[0] for r in read.results)
    if read.segments and not payments and any(p.code == "835.transaction.other" for p in read.problems):
        # standard input, which cannot be looked at before it is read, held another transaction
        err_console.print(f"{'standard input' if file == '-' else file} holds no 835 transaction set "
                          "(edi remit show reads 835 remittances)")
        raise typer.Exit(PROBLEMS)
    raise typer.Exit(exit_code(read.problems) if read.segments else PROBLEMS)


# Each way of showing a remittance prints one part of the file (cli.parts: a large file is read by several
# processes, each part printed in turn) and returns a tuple whose first value is the payments it read.


def _show_lines(reader, k: int, direct: bool) -> tuple[int]:
    """``--nl``: one JSON object per claim payment."""
    items = _Counted(reader)
    out = binary_stdout()
    for item in items:
        if type(item) is ClaimPayment:
            out.write(encode(claim_line_json(item)) + b"\n")
    out.flush()
    return (items.payments,)


class _EobPart:
    """The EOB view of one part."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def __call__(self, reader, k: int, direct: bool) -> tuple[int]:
        items = _Counted(reader)
        _Eob(self.texts).show(items)
        sys.stdout.flush()
        return (items.payments,)


def _splice_whole(k: int, result, output) -> None:
    if output is not None:
        copy_out(output)


class _Counted:
    """A reader's items, counting the payments (835 transaction sets) among them."""

    def __init__(self, items) -> None:
        self.items = items
        self.payments = 0

    def __iter__(self):
        for item in self.items:
            if type(item) is Remittance:
                self.payments += 1
            yield item


def _new_file(option: str, path: str) -> None:
    """A usage error unless ``path`` names a file that can be made: not blank, not there yet, in a folder that
    exists."""
    if not path.strip():
        fail(f"{option}: give the name of the new file to write")
    target = Path(path)
    if os.path.lexists(target):
        fail(f"{option} {path}: already exists; edi never replaces a file")
    parent = target.parent
    if not parent.is_dir():
        fail(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        fail(f"{option} {path}: cannot be written to")


def _show_html(file: str, out: str, texts: dict[str, str]) -> int:
    """``--html``: the page written to a new file (0600: it names patients), removed again if writing fails."""
    from edi.report import render_remittance_html

    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        fail(f"--html {out}: {exc.strerror or exc}")
    try:
        with os.fdopen(fd, "wb") as fp:
            written, problems = render_remittance_html(file, fp, descriptions=texts)
    except BaseException as exc:
        os.unlink(out)
        if isinstance(exc, OSError):
            fail(f"{file}: {exc.strerror or exc}")
        raise
    if problems:
        err_console.print(problem_table(problems, title=f"{file}: problems"))
    console.print(f"{out}: {written} payment{'s' if written != 1 else ''} of {file}")
    return exit_code(problems) if written or problems else PROBLEMS


class _Payments:
    """Calls ``begin(remittance)``, ``claim(claim)`` and ``end(remittance_end or None, balanced)`` for the events of
    ``edi.x835.views.payment_events``: what is printed streams however many claims a transaction set holds."""

    def walk(self, items) -> None:
        begin, claim, end = self.begin, self.claim, self.end
        for event in payment_events(items):
            kind = event[0]
            if kind is CLAIM:
                claim(event[1])
            elif kind is BEGIN:
                begin(event[1])
            else:
                end(event[1], event[2])

    def begin(self, r: Remittance) -> None:
        raise NotImplementedError

    def claim(self, c: ClaimPayment) -> None:
        raise NotImplementedError

    def end(self, end: RemittanceEnd | None, balanced: bool) -> None:
        raise NotImplementedError


class _JsonPayments(_Payments):
    """``--json``: the object ``payment_json`` describes, one claim per line."""

    def __init__(self, out, *, continued: bool = False) -> None:
        self.out = out
        self.continued = continued  # a part after the first: a comma before its first payment, in case
        self.payments = 0
        self.claims = 0

    def begin(self, r: Remittance) -> None:
        head = encode(payment_head(r))
        first = not self.payments and not self.continued
        self.out.write((b"\n" if first else b",\n") + head[:-1] + b',"claims":[')
        self.payments += 1
        self.claims = 0

    def claim(self, c: ClaimPayment) -> None:
        self.out.write((b"\n" if not self.claims else b",\n") + encode(claim_json(c)))
        self.claims += 1

    def end(self, end: RemittanceEnd | None, balanced: bool) -> None:
        self.out.write((b"\n" if self.claims else b"") + b'],"provider_adjustments":'
                       + encode(provider_adjustments_json(end)) + (b',"balanced":true}' if balanced
                                                                   else b',"balanced":false}'))


def _show_json(file: str) -> Read:
    """One object (file, payments, problems), written as the file is read (in parts: see cli.parts)."""
    out = binary_stdout()
    out.write(b'{"file":' + encode(file) + b',"payments":[')
    out.flush()
    written = 0  # payments written so far

    def work(reader, k: int, direct: bool) -> tuple[int, int]:
        items = _Counted(reader)
        part = binary_stdout()
        # printed straight after what is written, its first payment knows whether one came before; captured,
        # it is written with a comma, which the splice drops when it holds the first payment
        payments = _JsonPayments(part, continued=bool(written) if direct else True)
        payments.walk(items)
        part.flush()
        return items.payments, payments.payments

    def splice(k: int, result: tuple[int, int], output) -> None:
        nonlocal written
        if output is not None:  # without its leading comma when it holds the first payment
            copy_out(output, skip=1 if not written and result[1] else 0)
        written += result[1]

    read = read_in_parts(file, work, splice)
    out = binary_stdout()
    out.write((b"\n]," if written else b"],") + b'"problems":'
              + encode([x.as_dict() for x in read.problems]) + b"}\n")
    out.flush()
    return read


def _code(group: str | None, reason: str, texts: dict[str, str]) -> str:
    key = f"{group}-{reason}" if group else reason
    text = texts.get(key) or texts.get(reason)
    return f"{key} {text}" if text else key


_METHODS = {"ACH": "EFT (ACH)", "CHK": "check", "NON": "no payment", "FWT": "wire", "BOP": "bank's option"}
#: The EOB's columns: (title, width, right-aligned). Widths are fixed (a streamed table cannot measure the rows
#: to come); a longer value widens its own row only.
_COLUMNS = (("claim / line", 24, False), ("patient", 24, False), ("status", 22, False), ("date", 10, False),
            ("charge", 11, True), ("paid", 11, True), ("patient resp.", 13, True), ("adjustments, remarks", 0, False))


def _row(*cells: str) -> str:
    """One row of the table, its columns where the header has them; a cell longer than its column (a claim number
    with its payer's claim number, a long name) pushes the next cells along, which go back to their column as soon
    as there is room again (one file read as it streams: the widths cannot come from the longest value)."""
    line = ""
    start = 0  # where the column begins
    for (_, width, right), cell in zip(_COLUMNS, cells, strict=True):
        at = max(start, len(line) + 2) if line else start
        if right:
            at = max(at, start + width - len(cell))
        line = line.ljust(at) + cell
        start += width + 2
    return clean(line.rstrip()) + "\n"


class _Eob(_Payments):
    """The human view, streamed: a header per payment, a row per claim and per line, the verdict at its end."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.out = sys.stdout
        self.claims = 0

    def show(self, reader) -> None:
        self.walk(reader)

    def begin(self, r: Remittance) -> None:
        payer = r.payer.name if r.payer else "(no payer)"
        payee = r.payee
        payee_text = (payee.name or "") + (f" ({payee.id_qualifier} {payee.id})" if payee.id else "") \
            if payee else "(no payee)"
        method = _METHODS.get(r.method, r.method)
        console.print(marked(f"[bold]Payment {esc(r.trace_number or '(no trace number)')}[/]  {esc(payer or '')} -> "
                             f"{esc(payee_text)}"))
        console.print(marked(f"  {esc(method or '')}, {esc(str(r.payment_date or 'no date'))}: "
                             f"[bold]{money(r.amount)}[/]{' debit' if r.credit_debit == 'D' else ''}   "
                             f"(transaction {esc(r.control_number or '')})"))
        console.print(marked("[bold]" + esc(_row(*(c[0] for c in _COLUMNS)).rstrip("\n")) + "[/]"))
        self.claims = 0

    def claim(self, c: ClaimPayment) -> None:
        texts = self.texts
        adj = [f"{_code(a.group, a.reason, texts)} {money(a.amount)}" for a in c.adjustments]
        adj += [_code(None, x, texts) for x in claim_remarks(c)]
        pcn = c.patient_control_number + (f" ({c.payer_claim_number})" if c.payer_claim_number else "")
        rows = [_row(pcn, patient_name(c) or "", c.status_text, str(c.statement_from or ""), money(c.charge) or "",
                     money(c.paid) or "", money(c.patient_responsibility) or "", ", ".join(adj))]
        for ln in c.lines:
            code = (ln.procedure or ln.revenue_code or "") + (":" + ":".join(ln.modifiers) if ln.modifiers else "")
            if ln.original_procedure:
                code += f" (billed {ln.original_procedure})"
            notes = [f"{_code(a.group, a.reason, texts)} {money(a.amount)}" for a in ln.adjustments]
            notes += [_code(None, str(x.value), texts) for x in ln.remarks]
            rows.append(_row(f"  {code}", "", "", str(ln.service_date or ""), money(ln.charge) or "",
                             money(ln.paid) or "", "", ", ".join(notes)))
        self.out.write("".join(rows))
        self.claims += 1

    def end(self, end: RemittanceEnd | None, balanced: bool) -> None:
        texts = self.texts
        if end and end.provider_adjustments:
            for a in end.provider_adjustments:
                console.print(f"  provider adjustment {_code(None, a.reason, texts)}"
                              f"{' ' + a.reference if a.reference else ''}: {money(a.amount)}")
        verdict = "[green]balanced[/]" if balanced else "[red]NOT balanced[/]"
        totals = f"{self.claims} claims, paid {money(end.paid_total)}" if end else \
            f"{self.claims} claims (the transaction set has no end)"
        plb = f", provider adjustments {money(end.provider_adjustment_total)}" if end and end.provider_adjustments \
            else ""
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
        check_readable(f, stdin=False)
        require_kind(f, "835")
        _require_x12(f)
    with contextlib.ExitStack() as stack:
        if out is not None:
            folder = stack.enter_context(folder_for_output("--out", out))
            for t in TABLES:
                targets.setdefault(t, (str(folder / f"{t}.{fmt}"), fmt))
        try:
            tables = {t: open_table(path, t, f) for t, (path, f) in targets.items()}
        except OSError as exc:
            fail(f"cannot write: {exc}")
        with Exporter(tables) as ex:
            for f in over_files(files, "exporting", thread=False):  # a large file is read by forked processes
                _export_file(ex, f, targets)
    for t, (path, _) in targets.items():
        err_console.print(f"{path}: {ex.counts[t]} {t}")
    if ex.problems:
        err_console.print(problem_table(ex.problems, title="problems"))
    raise typer.Exit(exit_code(ex.problems))


def _export_file(ex: Exporter, file: str, targets: dict[str, tuple[str, str]]) -> None:
    """One 835 into the tables, in parts (cli.parts): the first part straight into them, each other into files
    of its own, opened beside the tables before its process starts and unlinked at once (nothing is left behind
    however the command ends, and no file of yours is touched), appended in order."""
    pieces: dict[int, dict[str, IO[bytes]]] = {}  # part -> table -> its rows, until spliced

    def before_fork(k: int) -> None:
        pieces[k] = {t: tempfile.TemporaryFile(dir=Path(path).parent, prefix=".edi-part-")  # noqa: SIM115
                     for t, (path, _) in targets.items()}

    def work(reader, k: int, direct: bool) -> dict[str, int]:
        if direct:  # straight into the tables (their counts kept by the exporter)
            ex.add_items(reader, file)
            return {}
        tables = {t: table_on(os.dup(fp.fileno()), t, targets[t][1], header=False) for t, fp in pieces[k].items()}
        with Exporter(tables) as part:
            part.add_items(reader, file)
        return part.counts

    def splice(k: int, counts: dict[str, int], output) -> None:
        if not counts:  # written straight into the tables
            return
        for t, fp in pieces[k].items():
            fp.seek(0)
            ex.tables[t].append(fp)
            ex.counts[t] += counts[t]

    try:
        read = read_in_parts(file, work, splice, capture=False, before_fork=before_fork)
    finally:
        for files in pieces.values():
            for fp in files.values():
                fp.close()
    ex.problems += read.problems


def _require_x12(path: str) -> None:
    """Exit 1 naming ``path`` when it holds no X12 segment at all (empty, binary, other text): nothing to export,
    and no table is made for it."""
    from edi.x12.sniff import sniff

    try:
        found = sniff(path, limit=1)
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
    if not found.segments:
        fail(f"{path}: holds no X12 segment ({'it is empty' if os.path.getsize(path) == 0 else 'not an X12 file'}"
             "): nothing exported", PROBLEMS)


