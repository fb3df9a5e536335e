"""`edi ledger`, `edi reconcile`, `edi claims record` and `edi remit import`: the ledger from the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.output import (
    OK,
    PROBLEMS,
    binary_stdout,
    check_readable,
    clean,
    console,
    err_console,
    esc,
    exit_code,
    fail,
    marked,
    print_json,
    problem_table,
    streamed,
)
from edi.encode import to_json
from edi.model import CLAIM_STATUSES

if TYPE_CHECKING:
    from edi.ledger import FileResult, Ledger

# edi.ledger (SQLAlchemy: a quarter of a second) is imported by the commands that open a ledger, not by every
# command: `edi remit show` and `edi x12 validate` start without it.

app = typer.Typer(help="The ledger: claim balances, one claim's story, write-offs, and the proof of its invariants.",
                  no_args_is_help=True)

Db = Annotated[str | None, typer.Option("--db", envvar="EDI_DATABASE_URL", show_envvar=True,
                                        help="SQLAlchemy URL of the ledger (default: sqlite:///edi.db here).")]


#: The ledgers the running command opened, closed (with their connections) when it ends (see cli.main).
_opened: list[Ledger] = []


def open_ledger(db: str | None, *, create: bool = False) -> Ledger:
    """The ledger ``db`` names. Only the commands that write a ledger's first rows (``create``: ledger init,
    claims build and record, remit import, acks import) make a new one, and say so on stderr; every other command
    refuses a ledger that does not exist (a mistyped --db must not look like an empty ledger)."""
    from edi.ledger import Ledger, LedgerError
    from edi.ledger.db import ledger_exists, resolve_url, shown_url

    if db is not None and not db.strip():  # not "no --db": the default ledger would be used by mistake
        fail("--db: give a database URL, such as sqlite:///edi.db")
    try:
        exists, place = ledger_exists(db)
        ledger = Ledger(db) if exists or create else None
    except LedgerError as exc:
        fail(str(exc))
    except Exception as exc:  # a database that cannot be reached or migrated: never the password in the message
        url = resolve_url(db)
        said = str(exc).splitlines()[0].replace(url, shown_url(url))
        fail(f"cannot open the ledger: {type(exc).__name__}: {said}")
    if ledger is None:
        fail(f"no ledger at {place}: nothing recorded there yet (edi ledger init makes one; --db or EDI_DATABASE_URL "
             "names another)")
    _opened.append(ledger)
    if not exists:
        err_console.print(f"edi: a new ledger at {place}")
    return ledger


def close_opened() -> None:
    """Close the ledgers the command opened (their pooled connections would otherwise stay open until the
    process ends: the tests run many commands in one process)."""
    while _opened:
        _opened.pop().close()


#: ``--json`` of the commands that import files: a list, one object per file.
FilesJson = Annotated[bool, typer.Option("--json", help="One JSON list on stdout: per file its outcome (the verb, "
                                         "already or refused), message, ok and problems.")]


def report_files(results: Iterable[FileResult], verb: str, *, json_: bool = False) -> int:
    """One line per file, then its problems (or, with ``json_``, a JSON list); the exit code for the lot: 0 when
    every file was taken (or had been) without an error, 1 when one was refused or taken with errors."""
    if json_:
        out = binary_stdout()
        out.write(b"[")
        code = OK
        for n, r in enumerate(results):
            out.write((b"\n" if not n else b",\n") + to_json({
                "file": r.file, "outcome": verb if r.outcome == "imported" else r.outcome, "message": r.message,
                "ok": r.ok, "problems": [p.as_dict() for p in r.problems]}))
            if not r.ok:
                code = PROBLEMS
        out.write(b"\n]\n")
        out.flush()
        return code
    code = OK
    for r in results:
        style = {"imported": "green", "already": "yellow", "refused": "red"}[r.outcome]
        console.print(marked(f"{esc(r.file)}: [{style}]{r.outcome if r.outcome != 'imported' else verb}[/] - "
                             f"{esc(r.message)}"))
        shown = [p for p in r.problems if p.message != r.message]  # the line above already said it
        if shown:
            err_console.print(problem_table(shown))
        if not r.ok:
            code = PROBLEMS
    return code


@app.command()
def init(db: Db = None) -> None:
    """Create the ledger's tables (or upgrade them); done automatically on first use too."""
    ledger = open_ledger(db, create=True)
    ledger.init()
    from edi.ledger.db import shown_url

    console.print(f"ledger ready: {shown_url(ledger.url)}")


@app.command("claims")
def claims_(
    status: Annotated[str | None, typer.Option("--status", help=f"Only claims in this status: "
                                               f"{', '.join(CLAIM_STATUSES)}.")] = None,
    payer: Annotated[str | None, typer.Option("--payer", help="Only claims whose payer name or id contains this.")]
    = None,
    older_than: Annotated[int | None, typer.Option("--older-than", min=0, max=36500, metavar="DAYS",
                                                   help="Only claims recorded at least this many days ago (with "
                                                   "--status submitted: claims nothing has answered).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many claims (the oldest).")]
    = None,
    json_: Annotated[bool, typer.Option("--json", help="A JSON list on stdout (one claim per line).")] = False,
    nl: Annotated[bool, typer.Option("--nl", help="Newline-delimited JSON: one object per claim.")] = False,
    db: Db = None,
) -> None:
    """One row per claim: billed, paid, adjustments, denied, written off, patient and insurance balances; with
    --status rejected, why each was rejected. Printed as the ledger is read, a page at a time."""
    if status is not None and status not in CLAIM_STATUSES:
        fail(f"--status must be one of {', '.join(CLAIM_STATUSES)}")
    if json_ and nl:
        fail("--json and --nl are two shapes of the same output: choose one")
    rows = open_ledger(db).iter_claims(status=status, payer=payer, older_than=older_than, limit=limit)
    with streamed("the ledger"):
        if json_ or nl:
            out = binary_stdout()
            n = 0
            if json_:
                out.write(b"[")
            for r in rows:
                if json_:
                    out.write((b"\n" if not n else b",\n") + to_json(r.as_dict()))
                else:
                    out.write(to_json(r.as_dict()) + b"\n")
                n += 1
            if json_:
                out.write(b"\n]\n" if n else b"]\n")
            out.flush()
            return
        n = _claims_table(rows, rejected=status == "rejected")
    console.print(f"{n} claims")


#: The columns of `edi ledger claims` (title, width, right-aligned): fixed, so that rows print as they are read
#: (a longer value widens its own row only).
_CLAIM_COLUMNS = (("claim", 20, False), ("payer", 20, False), ("status", 9, False), ("billed", 11, True),
                  ("paid", 11, True), ("CO", 10, True), ("PR", 10, True), ("OA", 10, True), ("PI", 10, True),
                  ("denied", 10, True), ("written off", 11, True), ("balance", 11, True))
_REJECTED_COLUMNS = (("claim", 20, False), ("payer", 20, False), ("billed", 11, True), ("why", 0, False))


def _fixed(columns, cells) -> str:
    line = "  ".join(c.rjust(w) if right else c.ljust(w) for (_, w, right), c in zip(columns, cells, strict=True))
    return clean(line.rstrip()) + "\n"


def _claims_table(rows, *, rejected: bool) -> int:
    """The claims as a table, streamed; returns how many."""
    columns = _REJECTED_COLUMNS if rejected else _CLAIM_COLUMNS
    console.print(marked("[bold]" + esc(_fixed(columns, [c[0] for c in columns]).rstrip("\n")) + "[/]"))
    out = sys.stdout
    n = 0
    batch: list[str] = []
    for r in rows:
        d = r.as_dict()
        payer = d["payer"] or ""
        payer = payer if len(payer) <= 20 else payer[:19] + "…"
        if rejected:
            cells = (d["patient_control_number"], payer, d["billed"], d.get("status_reason") or "")
        else:
            a = d["adjustments"]
            cells = (d["patient_control_number"], payer, d["status"], d["billed"], d["paid"], a["CO"], a["PR"],
                     a["OA"], a["PI"], d["denied"], d["written_off"], d["insurance_balance"])
        batch.append(_fixed(columns, cells))
        n += 1
        if len(batch) == 500:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))
    out.flush()
    return n


@app.command()
def claim(
    pcn: Annotated[str, typer.Argument(help="Patient control number (CLM01).")],
    json_: Annotated[bool, typer.Option("--json")] = False,
    db: Db = None,
) -> None:
    """A claim's whole story: submission, remittances, adjustments and every posting."""
    story = open_ledger(db).claim(pcn)
    if story is None:
        fail(f"no claim {pcn} in the ledger", PROBLEMS)
    if json_:
        print_json(story)
        return
    for c in story["claims"]:
        s, b = c["submission"], c["claim"]
        to = f" to {esc(b['payer'])}" if b.get("payer") else ""
        console.print(marked(f"[bold]Claim {esc(pcn)}[/]{to} ({esc(s['kind'])}, frequency {esc(s['frequency'])}) - "
                             f"[bold]{esc(b['status'])}[/]"))
        if c.get("prior_payer"):
            before = c["prior_payer"]
            console.print(f"  billed to the next payer for the {before['left_open']} "
                          f"{esc(before['payer'] or 'the payer before')} left open")
        console.print(f"  recorded {s['recorded']} from {s['file']} (ISA {s['interchange']}, ST {s['transaction']}, "
                      f"segment {s['segment']}): charge {s['charge']}, service date {s['service_date']}")
        for ln in c["lines"]:
            mods = f":{ln['modifiers']}" if ln["modifiers"] else ""
            console.print(f"    line {ln['line']}: {ln['procedure'] or ln['revenue_code']}{mods} {ln['charge']} "
                          f"x{ln['units']} on {ln['service_date']} ({ln['line_control_number']})")
        if b.get("status_reason"):  # why it was rejected
            console.print(f"  why {b['status']}: {b['status_reason']}")
        for a in c["acknowledgments"]:
            console.print(f"  acknowledgement {a['kind']} ({a['level']}) {a['outcome']} from {a['file']} "
                          f"(segment {a['segment']}, imported {a['imported']}): {a['reason'] or ''}"
                          + (f"; payer claim number {a['payer_claim_number']}" if a["payer_claim_number"] else ""))
        for p in c["remittances"]:
            adj = ", ".join(f"{a['group']}-{a['reason']} {a['amount']}{'' if a['posted'] else ' (not posted)'}"
                            for a in p["adjustments"])
            console.print(f"  remittance {p['trace_number']} ({p['payment_date']}, {p['payer']}): "
                          f"status {p['status']}, "
                          f"charge {p['charge']}, paid {p['paid']}" + (f", denied {p['denied']}" if p["denied"] else "")
                          + (f"; {adj}" if adj else ""))
        for e in c["entries"]:
            parts = ", ".join(f"{p['account']} {p['amount']}" for p in e["postings"])
            console.print(f"  entry {e['id']} {e['kind']} ({e['memo']}): {parts}")
        console.print(marked(f"  billed {b['billed']}, paid {b['paid']}, written off {b['written_off']}, patient "
                             f"{b['patient_responsibility']}, insurance balance [bold]{b['insurance_balance']}[/]"))
    payers = {c["claim"]["payer"] for c in story["claims"]}
    if len(payers) > 1:  # coordination of benefits: what is open over all of the number's payers
        t = story["total"]
        console.print(marked(f"Over its {len(payers)} payers: patient {t['patient_responsibility']}, insurance "
                             f"balance [bold]{t['insurance_balance']}[/]"))


@app.command()
def writeoff(
    pcn: Annotated[str, typer.Argument(help="Patient control number (CLM01).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept on the journal entry).")],
    amount: Annotated[str | None, typer.Option("--amount", help="How much (default: the whole open insurance "
                                               "balance).")] = None,
    db: Db = None,
) -> None:
    """Write off a claim's open insurance balance (a denial you will not appeal, a small balance)."""
    value = None
    if amount is not None:
        try:
            value = Decimal(amount.strip()) if amount.strip().replace(".", "", 1).isdigit() else None
        except InvalidOperation:
            value = None
        if value is None or value <= 0 or value.as_tuple().exponent < -2 or value >= 10 ** 13:
            fail(f"--amount {amount!r} is not an amount in dollars and cents, such as 125.40 (more than 0, at "
                 "most two decimals)")
        value = value.quantize(Decimal("0.01"))
    from edi.ledger import LedgerError

    try:
        written, left = open_ledger(db).write_off(pcn, reason, value)
    except LedgerError as exc:
        fail(str(exc), PROBLEMS)
    console.print(f"claim {pcn}: wrote off {written}; insurance balance now {left}")


@app.command("check")
def check_(
    json_: Annotated[bool, typer.Option("--json")] = False,
    db: Db = None,
) -> None:
    """Prove the invariants: every entry sums to zero, every claim balance equals its postings, every payment's
    cash equals its BPR02, no file or payment posted twice. Exit 1 naming any violation."""
    problems = open_ledger(db).check()
    if json_:
        print_json({"ok": not problems, "problems": [p.as_dict() for p in problems]})
    elif problems:
        console.print(problem_table(problems, title="ledger check: violations"))
    else:
        console.print(marked("ledger check: [green]ok[/] (entries balance, claim balances equal their postings, "
                             "payments equal their BPR02, nothing posted twice, one standing claim per number and "
                             "payer, every reference names a row)"))
    raise typer.Exit(exit_code(problems))


def reconcile(
    json_: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    db: Db = None,
) -> None:
    """Per payment: amount, claims matched and their paid total, unmatched claim payments, provider-level
    adjustments and whether BPR02 equals what was posted; totals; the suspense items."""
    rec = open_ledger(db).reconcile()
    t = rec["totals"]
    balances = t["balanced"] and not t["unbalanced_payments"]  # cash equals BPR02, and BPR02 equals the detail
    if json_:
        print_json(rec)
        raise typer.Exit(OK if balances else PROBLEMS)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("trace", "payer", "date", "amount", "matched", "paid", "unmatched", "in suspense", "PLB", "posted",
                ""):
        table.add_column(col, justify="left" if col in ("trace", "payer", "date", "") else "right", no_wrap=True,
                         max_width=20 if col == "payer" else None, overflow="ellipsis")
    for p in rec["payments"]:
        table.add_row(p["trace_number"], p["payer"] or p["payer_key"], p["payment_date"] or "", p["amount"],
                      str(p["claims_matched"]), p["matched_paid"], str(p["claims_unmatched"]), p["unmatched_paid"],
                      p["provider_adjustments"], p["posted"],
                      marked("[green]ok[/]" if p["balanced"] else "[red]differs[/]"))
    console.print(table)
    console.print(marked(f"{t['payments']} payments, {t['amount']} received; claims paid {t['matched_paid']}, in "
                         f"suspense {t['suspense']}, provider adjustments {t['provider_adjustments']}: "
                         + ("[green]every payment balances[/]" if balances
                            else "[red]some payments differ[/]" if not t["balanced"]
                            else f"[red]{t['unbalanced_payments']} payments do not balance: BPR02 differs from their "
                                 "claims and provider adjustments, the difference is in suspense[/]")))
    if rec["suspense"]:
        s = Table(title="suspense", title_justify="left", box=None, pad_edge=False, header_style="bold")
        for col in ("kind", "claim", "amount", "trace", "segment", "reason"):
            s.add_column(col)
        for i in rec["suspense"]:
            s.add_row(i["kind"], i["patient_control_number"] or "", i["amount"], i["trace_number"],
                      str(i["segment"] or ""), i["reason"])
        console.print(s)
    raise typer.Exit(OK if balances else PROBLEMS)


def record(
    files: Annotated[list[str], typer.Argument(help="837 files that were (or will be) submitted.")],
    json_: FilesJson = False,
    db: Db = None,
) -> None:
    """Record the claims of 837 files (charges posted), so that remittances can be reconciled against them."""
    check_readable(files, stdin=False)
    ledger = open_ledger(db, create=True)
    from cli.progress import over_files

    raise typer.Exit(report_files((ledger.record_837(f) for f in over_files(files, "recording")), "recorded",
                                  json_=json_))


def import_(
    files: Annotated[list[str], typer.Argument(help="835 files.")],
    config: Annotated[str | None, typer.Option(
        "--config", help="The configuration file whose payers' remit_ids and \\[remit] cross_payer say how an 835's "
        "payer is matched to the payer each claim was billed to (default: edi.toml here, when there is one).")]
    = None,
    json_: FilesJson = False,
    db: Db = None,
) -> None:
    """Post 835 remittances, one database transaction per file: the same file twice changes nothing, the same
    payment in another file is refused. A claim payment is matched within its payer: one naming a claim billed
    to another payer is held in suspense (or posted with a warning: \\[remit] cross_payer = "post")."""
    from pathlib import Path

    check_readable(files, stdin=False)
    payers = None
    if config is not None and not config.strip():
        fail("--config: give the configuration file (edi.toml)")
    if config is not None or Path("edi.toml").is_file():
        from cli.claims import load_config

        payers = load_config(config or "edi.toml").payer_matching()
    ledger = open_ledger(db, create=True)
    from cli.progress import over_files

    raise typer.Exit(report_files((ledger.import_835(f, payers=payers) for f in over_files(files, "posting")),
                                  "posted", json_=json_))
