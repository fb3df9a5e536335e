"""What a billing office looks at: `edi ledger aging|denials|variance|deposits` and `edi report html`.

Thin: parse, call the ledger (edi.ledger.reports and edi.ledger.deposits through the ``Ledger`` facade), render.
Listings that grow with the ledger are written to --json as they are read."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.ledger import Db, open_ledger
from cli.output import OK, PROBLEMS, USAGE, check_readable, console, dumps, err_console, fail, marked, problem_table

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "over 120")

AsOf = Annotated[str | None, typer.Option("--as-of", metavar="YYYY-MM-DD",
                                          help="The day the figures are as of (default: today).")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
Config = Annotated[str | None, typer.Option(
    "--config", help="The configuration file: payer keys for the fee schedule, appeal_days for deadlines (default: "
    "edi.toml here, when there is one).")]
Descriptions = Annotated[str | None, typer.Option(
    "--descriptions", help="CSV of code,description for CARC/RARC codes (their texts are licensed: edi ships none).")]


def _day(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} {text!r} is not a date (YYYY-MM-DD, such as 2025-09-30)")


def _config(path: str | None):
    """The configuration, or None when no --config was given and there is no edi.toml here."""
    if path is None:
        if not Path("edi.toml").is_file():
            return None
        path = "edi.toml"
    from cli.claims import load_config

    return load_config(path)


def _descriptions(path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    if not path.strip():
        fail("--descriptions: give the name of a file")
    check_readable(path, stdin=False)
    from edi.x835.views import load_descriptions

    try:
        return load_descriptions(path)
    except UnicodeDecodeError as exc:
        fail(f"--descriptions {path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        fail(f"--descriptions {path}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"--descriptions {exc}")


def _stream_list(items, indent: int = 2) -> int:
    """Write a JSON array of ``as_dict()`` values as they come (each on its own lines); returns how many."""
    out = console.file
    pad = " " * indent
    n = 0
    out.write("[")
    for item in items:
        text = dumps(item.as_dict() if hasattr(item, "as_dict") else item)
        out.write(("\n" if n == 0 else ",\n") + "\n".join(pad + "  " + ln for ln in text.split("\n")))
        n += 1
    out.write(("\n" + pad + "]") if n else "]")
    return n


def _table(*columns: str, right: tuple[str, ...] = ()) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for c in columns:
        table.add_column(c, justify="right" if c in right else "left", no_wrap=True,
                         max_width=28 if c in ("payer", "description", "reference") else None, overflow="ellipsis")
    return table


# -- aging -------------------------------------------------------------------------------------------------------


def aging(
    as_of: AsOf = None,
    by: Annotated[str, typer.Option("--by", help="payer (totals per payer) or claim (each open claim).")] = "payer",
    basis: Annotated[str, typer.Option("--basis", help="Age from the date of service, or of submission (the "
                                       "first upload of its 837, else when it was recorded).")] = "service",
    json_: Json = False,
    db: Db = None,
) -> None:
    """Open insurance and patient balances by age: 0-30, 31-60, 61-90, 91-120 and over 120 days, per payer with
    totals (or per claim)."""
    day = _day("--as-of", as_of) or date.today()
    if by not in ("payer", "claim"):
        fail(f"--by must be payer or claim, not {by!r}")
    if basis not in ("service", "submission"):
        fail(f"--basis must be service or submission, not {basis!r}")
    ledger = open_ledger(db)
    total = ledger.aging(as_of=day, basis=basis)
    if by == "payer":
        if json_:
            console.file.write(dumps(total.as_dict()) + "\n")
            return
        table = _table("payer", *BUCKETS, "insurance", "patient", "claims", right=(*BUCKETS, "insurance", "patient",
                                                                                   "claims"))
        for r in (*total.rows, total.total):
            d = r.as_dict()
            table.add_row(d["payer"] or d["payer_id"] or "(no payer)", *d["insurance"].values(), d["insurance_total"],
                          d["patient_total"], str(d["claims"]))
        console.print(f"A/R aging as of {day.isoformat()} (insurance balance by days since {basis})")
        console.print(table)
        return
    rows = ledger.aging_claims(as_of=day, basis=basis)
    if json_:
        out = console.file
        out.write('{\n  "as_of": ' + dumps(day.isoformat()) + ',\n  "basis": ' + dumps(basis)
                  + ',\n  "by": "claim",\n  "buckets": ' + dumps(list(BUCKETS), indent=None) + ',\n  "claims": ')
        _stream_list(rows)
        out.write(',\n  "total": ' + "\n  ".join(dumps(total.total.as_dict()).split("\n")) + "\n}\n")
        return
    table = _table("claim", "payer", "status", "since", "age", "bucket", "insurance", "patient",
                   right=("age", "insurance", "patient"))
    for r in rows:
        d = r.as_dict()
        bucket = next((b for b in BUCKETS if d["insurance"][b] != "0.00" or d["patient"][b] != "0.00"), "")
        table.add_row(d["claim"], d["payer"] or "", d["status"], d["basis_date"] or "", str(d["age"]), bucket,
                      d["insurance_total"], d["patient_total"])
    console.print(table)
    t = total.total.as_dict()
    console.print(f"{t['claims']} open claims: insurance {t['insurance_total']}, patient {t['patient_total']}")


# -- denials -----------------------------------------------------------------------------------------------------


def denials(
    since: Annotated[str | None, typer.Option("--since", metavar="YYYY-MM-DD",
                                              help="Only denials paid (by 835 payment date) on or after this day.")]
    = None,
    as_of: AsOf = None,
    config: Config = None,
    descriptions: Descriptions = None,
    json_: Json = False,
    db: Db = None,
) -> None:
    """The denial work list: denied claims and denied lines of paid claims, with group, reason and remark codes,
    amount, payer, age and appeal deadline (appeal_days of each payer in edi.toml); a summary by reason and payer."""
    start = _day("--since", since)
    day = _day("--as-of", as_of) or date.today()
    cfg = _config(config)
    texts = _descriptions(descriptions)
    appeal = {p.payer_id: p.appeal_days for p in cfg.payers.values() if p.appeal_days} if cfg else {}
    ledger = open_ledger(db)
    summary = ledger.denial_summary(since=start)
    items = ledger.denials(as_of=day, since=start, appeal_days=appeal)
    if json_:
        out = console.file
        out.write('{\n  "as_of": ' + dumps(day.isoformat()) + ',\n  "since": ' + dumps(start and start.isoformat())
                  + ',\n  "items": ')
        _stream_list(items)
        out.write(',\n  "summary": ' + "\n  ".join(dumps(summary.as_dict()).split("\n")) + "\n}\n")
        return
    table = _table("claim", "line", "payer", "denied on", "codes", "amount", "age", "appeal by",
                   right=("amount", "age"))
    for d in items:
        codes = "; ".join(" ".join([f"{c.group}-{c.reason}", str(c.amount), *c.remarks]) for c in d.codes)
        late = d.days_left is not None and d.days_left < 0
        table.add_row(d.claim, f"{d.line} {d.procedure or ''}" if d.line else "claim", d.payer or "",
                      d.denied_on.isoformat() if d.denied_on else "", codes, str(d.amount),
                      "" if d.age is None else str(d.age),
                      marked(f"[red]{d.appeal_by.isoformat()} (past)[/]") if late
                      else (d.appeal_by.isoformat() if d.appeal_by else ""))
    console.print(table)
    s = _table("reason", "description", "items", "amount", right=("items", "amount"))
    for g, r, n, a in summary.by_reason:
        s.add_row(f"{g}-{r}", texts.get(f"{g}-{r}") or texts.get(r) or "", str(n), str(a))
    console.print(s)
    p = _table("payer", "items", "amount", right=("items", "amount"))
    for name, pid, n, a in summary.by_payer:
        p.add_row(name or pid or "(no payer)", str(n), str(a))
    console.print(p)
    console.print(f"{summary.items} denials, {summary.amount}")


# -- variance ----------------------------------------------------------------------------------------------------


def variance(
    fee_schedule: Annotated[str, typer.Option("--fee-schedule", help="The fee schedule CSV (payer,code,modifier,"
                                              "allowed), as the payer simulator takes.")],
    config: Config = None,
    all_lines: Annotated[bool, typer.Option("--all", help="List every priced line, not only those paid other than "
                                            "the contract.")] = False,
    json_: Json = False,
    db: Db = None,
) -> None:
    """Lines paid below (or above) the contract: the allowed amount the payer applied (AMT*B6, else charge minus
    CO adjustments) against the fee schedule, by payer and procedure, with the money at stake."""
    fees = _fees(fee_schedule)
    cfg = _config(config)
    keys = {p.payer_id: k for k, p in cfg.payers.items()} if cfg else {}
    if cfg is None:
        err_console.print("edi: no edi.toml (--config): only the fee schedule's * rows price the lines")
    from edi.ledger.reports import VarianceSummary

    ledger = open_ledger(db)
    problems: list = []
    summary = VarianceSummary()

    def lines():
        for line in ledger.variance(fees, keys, problems):
            summary.add(line)
            if all_lines or line.status in ("below", "above"):
                yield line

    if json_:
        out = console.file
        out.write('{\n  "fee_schedule": ' + dumps(fee_schedule) + ',\n  "lines": ')
        _stream_list(lines())
        out.write(',\n  "summary": ' + "\n  ".join(dumps(summary.as_dict()).split("\n"))
                  + ',\n  "problems": ' + dumps([p.as_dict() for p in problems], indent=None) + "\n}\n")
        return
    table = _table("claim", "payer", "procedure", "charge", "applied", "from", "contract", "difference", "paid",
                   right=("charge", "applied", "contract", "difference", "paid"))
    for v in lines():
        d = v.as_dict()
        code = d["procedure"] + (":" + ":".join(d["modifiers"]) if d["modifiers"] else "")
        table.add_row(d["claim"], d["payer"] or "", code, d["charge"], d["applied"], d["applied_from"],
                      d["contract"] or "", d["difference"] or "", d["paid"])
    console.print(table)
    s = summary.as_dict()
    by = _table("payer", "procedure", "lines", "at stake", right=("lines", "at stake"))
    for row in s["below_contract"]:
        by.add_row(row["payer"] or "", row["procedure"], str(row["lines"]), row["at_stake"])
    console.print(by)
    n = s["lines"]
    console.print(f"{n['below']} lines below contract ({s['at_stake']} at stake), {n['above']} above, {n['equal']} "
                  f"equal, {n['unpriced']} with no fee schedule row")
    if problems:
        err_console.print(problem_table(problems))


def _fees(path: str):
    if not path.strip():
        fail("--fee-schedule: give the name of a file")
    check_readable(path, stdin=False)
    from edi.fees import FeeScheduleError, load_fee_schedule

    try:
        return load_fee_schedule(path)
    except FeeScheduleError as exc:
        fail(f"--fee-schedule {exc}")
    except OSError as exc:
        fail(f"--fee-schedule {path}: {exc.strerror or exc}")


# -- deposits ----------------------------------------------------------------------------------------------------

deposits_app = typer.Typer(help="Bank deposits: import the bank's CSV export, match 835 payments to deposits. "
                           "Alone, lists payments matched, payments with no deposit yet, deposits with no 835 and "
                           "amount mismatches (exit 1 when there is one).", invoke_without_command=True)


@deposits_app.callback()
def deposits(ctx: typer.Context, json_: Json = False, db: Db = None) -> None:
    """Payments matched to deposits, payments with no deposit yet, deposits with no 835 (the ERA that never came),
    and deposits whose amount differs from the payment they name (exit 1 when there is one)."""
    if ctx.invoked_subcommand is not None:
        return
    report = open_ledger(db).deposits()
    d = report.as_dict()
    if json_:
        console.file.write(dumps(d) + "\n")
        raise typer.Exit(OK if report.ok else PROBLEMS)
    _print_deposits(d)
    raise typer.Exit(OK if report.ok else PROBLEMS)


def _print_deposits(d: dict) -> None:
    if d["matched"]:
        t = _table("trace", "payer", "payment date", "amount", "deposited", "reference", "by",
                   right=("amount",))
        for m in d["matched"]:
            t.add_row(m["trace_number"], m["payer"] or "", m["payment_date"] or "", m["amount"], m["deposit_date"],
                      m["reference"], m["matched_by"])
        console.print(marked("[bold]matched[/]"))
        console.print(t)
    if d["mismatches"]:
        t = _table("trace", "payer", "835 amount", "deposit", "deposit amount", "difference",
                   right=("835 amount", "deposit amount", "difference"))
        for m in d["mismatches"]:
            t.add_row(m["trace_number"], m["payer"] or "", m["amount"], m["deposit_date"], m["deposit_amount"],
                      m["difference"])
        console.print(marked("[bold red]amounts differ[/] (not posted: the deposit names the payment's trace)"))
        console.print(t)
    if d["payments_without_deposit"]:
        t = _table("trace", "payer", "payment date", "amount", right=("amount",))
        for p in d["payments_without_deposit"]:
            t.add_row(p["trace_number"], p["payer"] or "", p["payment_date"] or "", p["amount"])
        console.print(marked("[bold]payments with no deposit yet[/]"))
        console.print(t)
    if d["deposits_without_835"]:
        t = _table("date", "amount", "reference", "description", right=("amount",))
        for x in d["deposits_without_835"]:
            t.add_row(x["deposit_date"], x["amount"], x["reference"], x["description"] or "")
        console.print(marked("[bold]deposits with no 835[/]"))
        console.print(t)
    s = d["totals"]
    console.print(f"{s['matched']} matched ({s['matched_amount']}), {s['payments_without_deposit']} payments with no "
                  f"deposit ({s['payments_without_deposit_amount']}), {s['deposits_without_835']} deposits with no 835 "
                  f"({s['deposits_without_835_amount']}), {s['mismatches']} amount mismatches; undeposited ERA cash "
                  f"{s['undeposited_era_cash']}, bank {s['bank']}")


@deposits_app.command("import")
def deposits_import(
    file: Annotated[str, typer.Argument(help="The bank's CSV export (a header line, then one row per transaction).")],
    date_column: Annotated[str, typer.Option("--date-column", help="The column of the date: its header, or its "
                                             "number (1 is the first).")] = "date",
    amount_column: Annotated[str, typer.Option("--amount-column", help="The column of the amount (a credit "
                                               "column works: empty, zero and negative rows are skipped).")]
    = "amount",
    reference_column: Annotated[str, typer.Option("--reference-column", help="The column that holds the trace "
                                                  "number or reference.")] = "reference",
    description_column: Annotated[str | None, typer.Option("--description-column", help="A column of "
                                                           "description to keep (the payer's name, often).")]
    = None,
    date_format: Annotated[str, typer.Option("--date-format", help="How dates are written, as strftime says: "
                                             "%Y-%m-%d (2025-09-03), %m/%d/%Y (09/03/2025), %d.%m.%Y...")]
    = "%Y-%m-%d",
    delimiter: Annotated[str, typer.Option("--delimiter", help="The column separator (one character; tab: "
                                           "\\t).")] = ",",
    json_: Json = False,
    db: Db = None,
) -> None:
    """Import a bank export's deposits (the same file twice adds nothing) and match the 835 payments waiting for
    them: each match moves the payment from undeposited ERA cash to the bank in the ledger."""
    check_readable(file, stdin=False)
    sep = "\t" if delimiter in ("\\t", "tab") else delimiter
    if len(sep) != 1:
        fail(f"--delimiter must be one character, not {delimiter!r}")
    if "%" not in date_format:
        fail(f"--date-format {date_format!r} has no % field (such as %Y-%m-%d)")
    from edi.ledger.deposits import BankLayout, DepositFileError

    layout = BankLayout(date=date_column, amount=amount_column, reference=reference_column,
                        description=description_column, date_format=date_format, delimiter=sep)
    ledger = open_ledger(db)
    try:
        result = ledger.import_deposits(file, layout)
    except DepositFileError as exc:  # not a bank export at all: refused (1); the options do not fit it: usage (2)
        fail(f"{exc} (nothing imported)", PROBLEMS if exc.refused else USAGE)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    if json_:
        console.file.write(dumps({"file": file, "added": result.added, "already": result.already,
                                  "skipped": result.skipped, "matched": [m.as_dict() for m in result.matched]})
                           + "\n")
        return
    console.print(f"{file}: {result.added} deposits added, {result.already} already held, {result.skipped} rows "
                  f"skipped (debits, empty amounts); {len(result.matched)} payments matched")
    for m in result.matched:
        console.print(f"  {m.trace_number} ({m.payer or ''}) {m.amount} deposited {m.deposit_date.isoformat()} "
                      f"(by {m.matched_by})")


@deposits_app.command("match")
def deposits_match(json_: Json = False, db: Db = None) -> None:
    """Match the payments and deposits still open (after new 835s were posted)."""
    matched = open_ledger(db).match_deposits()
    if json_:
        console.file.write(dumps([m.as_dict() for m in matched]) + "\n")
        return
    console.print(f"{len(matched)} payments matched")
    for m in matched:
        console.print(f"  {m.trace_number} ({m.payer or ''}) {m.amount} deposited {m.deposit_date.isoformat()} "
                      f"(by {m.matched_by})")


# -- the HTML report ---------------------------------------------------------------------------------------------

report_app = typer.Typer(help="Reports for people: one self-contained HTML file.", no_args_is_help=True)


@report_app.command("html")
def report_html(
    out: Annotated[str, typer.Option("--out", help="The new HTML file to write (never replaced: choose another "
                                     "name).")] = "report.html",
    as_of: AsOf = None,
    config: Config = None,
    fee_schedule: Annotated[str | None, typer.Option("--fee-schedule", help="A fee schedule CSV: adds the "
                                                     "underpayments.")] = None,
    descriptions: Descriptions = None,
    remittances: Annotated[bool, typer.Option("--remittances/--no-remittances", help="A page per 835 payment, "
                                              "like a paper EOB (read again from the 835 files).")] = True,
    db: Db = None,
) -> None:
    """One self-contained HTML report (inline CSS and SVG, no script): headline figures, aging by payer, denials
    by reason, rejections awaiting correction, payments and deposits, underpayments, and a remittance page per 835
    payment. Prints well too."""
    day = _day("--as-of", as_of) or date.today()
    if not out.strip():
        fail("--out: give the name of the new file to write")
    target = Path(out)
    if target.is_dir():
        fail(f"--out {out}: is a folder")
    if os.path.lexists(target):
        fail(f"{out}: already exists; edi never replaces a file (choose another --out)")
    if not target.parent.is_dir() if str(target.parent) else False:
        fail(f"--out {out}: the folder {target.parent} does not exist")
    if not os.access(target.parent if str(target.parent) else Path("."), os.W_OK):
        fail(f"--out {out}: cannot be written to")
    cfg = _config(config)
    fees = _fees(fee_schedule) if fee_schedule is not None else None
    texts = _descriptions(descriptions)
    from edi.report import ReportOptions, render_report

    options = ReportOptions(
        as_of=day, fees=fees, descriptions=texts,
        payer_keys={p.payer_id: k for k, p in cfg.payers.items()} if cfg else {},
        appeal_days={p.payer_id: p.appeal_days for p in cfg.payers.values() if p.appeal_days} if cfg else {},
        now=datetime.now(), remittances=remittances)
    ledger = open_ledger(db)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        problems = render_report(ledger, str(tmp), options)
        os.link(tmp, target)  # whole, and never over a file that appeared meanwhile
    except FileExistsError:
        fail(f"{out}: already exists; edi never replaces a file (choose another --out)")
    except OSError as exc:
        fail(f"--out {out}: {exc.strerror or exc}")
    finally:
        if tmp.exists():
            tmp.unlink()
    if problems:
        err_console.print(problem_table(problems))
    console.print(f"{out}: report as of {day.isoformat()} written")
