"""`edi claims`: build 837 files from coded encounters, record existing 837 files in the ledger."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli import ledger, progress
from cli.output import (
    OK,
    PROBLEMS,
    check_readable,
    console,
    err_console,
    esc,
    fail,
    folder_for_output,
    marked,
    print_json,
    problem_table,
)

#: Workers by default (each holds about 70 MB): more cores than this are left to the database and the rest.
DEFAULT_MAX_JOBS = 8
#: The most --jobs takes: each is a forked process, and a mistyped count must not fork thousands.
MAX_JOBS = 64

app = typer.Typer(help="Claims: build 837P/837I files from coded encounters, or record existing 837 files.",
                  no_args_is_help=True)
app.command("record")(ledger.record)

FORMATS = ("json", "ndjson", "csv", "fhir")


def load_config(path: str):
    from mappings.config import ConfigError
    from mappings.config import load_config as load

    if not path.strip():
        fail("--config: give the configuration file (edi.toml)")
    if not Path(path).is_file():
        fail(f"{path}: no such configuration file (run `edi init` to write a starter edi.toml)")
    try:
        return load(path)
    except ConfigError as exc:
        fail(str(exc))


@app.command()
def build(
    inputs: Annotated[list[str], typer.Argument(help="Encounter files: JSON, NDJSON, CSV or a FHIR R4 Bundle.")],
    fmt: Annotated[str | None, typer.Option("--format", help=f"One of {', '.join(FORMATS)} (default: detected "
                                            "from the extension or content).")] = None,
    out: Annotated[str, typer.Option("--out", help="Folder for the 837 files.")] = "out",
    config: Annotated[str, typer.Option("--config", help="The configuration file.")] = "edi.toml",
    validate: Annotated[str | None, typer.Option("--validate", help="`deep` validates each file with pyx12 "
                                                 "(slow).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Write nothing when any encounter has an error.")]
    = False,
    claims_per_st: Annotated[int, typer.Option("--claims-per-st", min=1, max=5000)] = 5000,
    jobs: Annotated[int, typer.Option("--jobs", min=0, max=MAX_JOBS, help="Worker processes for NDJSON input (0: "
                                      f"one per CPU core, at most {DEFAULT_MAX_JOBS}; 1: none).")] = 0,
    json_: Annotated[bool, typer.Option("--json", help="The summary as JSON on stdout.")] = False,
    db: ledger.Db = None,
) -> None:
    """Map, check and write claims: one 837 per clearinghouse, recorded in the ledger as built."""
    from mappings.build import build_files

    if fmt is not None and fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}")
    if validate not in (None, "deep"):
        fail("--validate takes `deep`")
    check_readable(inputs)
    if "-" in inputs and fmt is None:
        fail("standard input (-) needs --format: there is no file name to detect it from")
    piped = next((p for p in inputs if p != "-" and not Path(p).is_file()), None)
    if piped is not None and fmt is None:  # detecting the format would read what the pipe gives only once
        fail(f"{piped} is a pipe, not a file: give --format (it can be read only once)")
    # --out is made once the inputs are known readable, and removed again if nothing was written into it
    with folder_for_output("--out", out):
        cfg = load_config(config)
        led = ledger.open_ledger(db, create=True)
        # no refresh thread: worker processes are forked, and forking a process that runs threads is asking for
        # trouble
        with progress.bar("reading encounters", unit="spinner", thread=False) as bar:

            def read(n: int) -> None:
                if n % 500 == 0:
                    bar.update(description=f"{n:,} encounters read")

            result = build_files(inputs, cfg, ledger=led, out_dir=out, today=date.today(), now=datetime.now(),
                                 fmt=fmt, strict=strict, claims_per_st=claims_per_st, validate_deep=validate == "deep",
                                 progress=read, jobs=jobs or min(os.cpu_count() or 1, DEFAULT_MAX_JOBS))
    summary = {
        "encounters": result.encounters, "claims_written": result.claims, "written": result.written,
        "skipped": {k: [p.as_dict() for p in v] for k, v in result.skipped.items()},
        "files": [{"path": f.path, "clearinghouse": f.clearinghouse, "interchange": f.interchange,
                   "claims": f.claims, "transactions": f.transactions} for f in result.files],
        "problems": [p.as_dict() for p in result.problems],
        "validation": [r.as_dict() for r in result.validation],
    }
    if json_:
        print_json(summary)
    else:
        for f in result.files:
            console.print(f"{f.path}: {f.claims} claims in {f.transactions} transaction sets "
                          f"(ISA13 {f.interchange}, {f.clearinghouse})")
        console.print(marked(f"{result.encounters} encounters: {result.claims} claims written, "
                             f"{len(result.skipped)} skipped"
                             + ("" if result.written else " - [red]--strict: nothing was written[/]")))
        # a problem with a whole input (not a file of encounters, unreadable) names the file; the others their
        # encounter
        whole = [p for p in result.problems if p.where.file and p.where.record is None and p.where.segment is None]
        for p in whole:
            err_console.print(marked(f"[{'red' if p.is_error else 'yellow'}]{'error' if p.is_error else 'warning'}:[/]"
                                     f" {esc(p.where.file)}: {esc(p.message)} ({esc(p.code)})"))
        rest = [p for p in result.problems if p not in whole]
        if rest:
            err_console.print(problem_table(rest, title="problems (skipped encounters and warnings)"))
        for r in result.validation:
            verdict = "[green]valid[/]" if r.ok else f"[red]{r.errors} errors[/]"
            console.print(marked(f"{esc(r.file)}: pyx12 {verdict}"))
            if r.problems:
                err_console.print(problem_table(r.problems))
    raise typer.Exit(OK if result.ok and result.written else PROBLEMS)


#: What ``edi claims secondary --all-ready`` counts rather than lists: claims no next payer will be billed for.
_SETTLED = {"nothing_left": "with nothing left to the patient", "denied": "denied",
            "crossed_over": "crossed over by the payer"}


@app.command()
def secondary(
    pcn: Annotated[list[str] | None, typer.Argument(help="Patient control numbers of claims whose primary 835 is "
                                                      "posted.", show_default=False)] = None,
    all_ready: Annotated[bool, typer.Option("--all-ready", help="Every claim a payer's 835 adjudicated whose 837 "
                                            "names a coverage not billed yet.")] = False,
    out: Annotated[str, typer.Option("--out", help="Folder for the 837 files.")] = "out",
    config: Annotated[str, typer.Option("--config", help="The configuration file.")] = "edi.toml",
    json_: Annotated[bool, typer.Option("--json", help="One result per claim, as JSON on stdout.")] = False,
    db: ledger.Db = None,
) -> None:
    """Bill the next payer (coordination of benefits): for each claim whose primary 835 is posted, the secondary
    837 carrying the primary's adjudication, one file per clearinghouse, recorded in the ledger."""
    from mappings.secondary import build_secondary

    if bool(pcn) == all_ready:
        fail("give claim numbers or --all-ready (one of the two)")
    with folder_for_output("--out", out):
        cfg = load_config(config)
        led = ledger.open_ledger(db)
        result = build_secondary(led, cfg, pcn or None, all_ready=all_ready, out_dir=out, now=datetime.now())
    if json_:
        print_json(result.as_dict())
    else:
        # --all-ready runs every day: a claim that will never go to a next payer (nothing left, denied, crossed
        # over by the payer) is counted, not listed again and again (--json lists every claim)
        settled: dict[str, int] = {}
        for c in result.claims:
            if all_ready and c.outcome in _SETTLED and not c.problems:
                settled[c.outcome] = settled.get(c.outcome, 0) + 1
                continue
            mark = "[green]built[/]" if c.outcome == "built" else f"[yellow]{esc(c.outcome)}[/]"
            console.print(marked(f"{esc(c.patient_control_number)}: {mark}: {esc(c.message)}"
                                 + (f" -> {esc(c.file)}" if c.file else "")))
        counted = "".join(f", {n} {_SETTLED[k]}" for k, n in settled.items())
        console.print(f"{len(result.claims)} claims: {result.built} claims to the next payer written{counted}")
        problems = [*result.problems, *(p for c in result.claims for p in c.problems)]
        if problems:
            err_console.print(problem_table(problems))
    raise typer.Exit(OK if result.ok else PROBLEMS)


def init(
    path: Annotated[str, typer.Option("--path", help="Where to write the configuration.")] = "edi.toml",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter edi.toml in the current folder."""
    from mappings.config import starter_toml

    if not path.strip():
        fail("--path: give the file to write (edi.toml)")
    target = Path(path)
    if target.is_dir():
        fail(f"{path} is a folder (give the file to write: --path {Path(path) / 'edi.toml'})")
    if target.exists() and not force:
        fail(f"{path} already exists (use --force to overwrite it)")
    try:
        target.write_text(starter_toml(), encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot be written ({exc.strerror or exc})")
    console.print(f"wrote {path}: fill in your submitter, clearinghouses and payers")


def demo(
    directory: Annotated[str | None, typer.Option("--dir", help="Workspace folder, new or empty (default: a new "
                                                  "temporary folder).")] = None,
) -> None:
    """The whole loop on synthetic data: build claims, submit them to a simulated clearinghouse, fetch and import
    its 999, 277CA and 835 answers, reconcile, check the ledger. With SOURCE_DATE_EPOCH set, every date is that
    instant's and two runs give the same files and figures."""
    import tempfile
    from collections import Counter

    from mappings.demo import run_demo, source_date

    if directory is not None and not directory.strip():  # not a new temporary folder, nor one named by blanks
        fail("--dir: give a folder (or leave the option out: the demo then makes a temporary one)")
    try:
        now = source_date()  # SOURCE_DATE_EPOCH: a reproducible run; else the clock
    except ValueError as exc:
        fail(str(exc))
    workspace = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="edi-demo-"))
    try:
        r = run_demo(workspace, now=now)
    except (FileExistsError, ValueError) as exc:  # a folder not empty; a SOURCE_DATE_EPOCH before the encounters
        fail(str(exc))
    except OSError as exc:  # a folder that cannot be made or written
        fail(f"{directory}: {exc.strerror or exc}")
    console.print(marked(f"[bold]edi demo[/] in {esc(str(r.workspace))}"))
    console.print(f"  configuration  {r.config}")
    console.print(f"  encounters     {r.encounters}")
    for f in r.built.files:
        console.print(f"  837 built      {f.path} ({f.claims} claims)")
    for s in r.submitted:
        console.print(f"  submitted      {s.file} ({s.message})")
    for a in r.answered:
        console.print(f"  answered       {a.source} ({a.accepted} claims accepted, {a.rejected} rejected; "
                      f"{a.payments} payments in {sum(f.endswith('.835') for f in a.files)} 835 files)")
    kinds = Counter(f.kind or "other" for f in r.fetched if f.outcome == "imported")
    console.print(f"  fetched        {sum(kinds.values())} files imported ("
                  + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")")
    for f in r.fetched:
        if not f.ok:
            console.print(f"  not imported   {f.clearinghouse}:{f.remote_name} ({f.outcome}: {f.message})")
    console.print(f"  ledger         {r.database}\n")
    from rich.table import Table

    table = Table(title="Claims by status", title_justify="left", box=None, pad_edge=False, header_style="bold")
    for col in ("status", "claims", "billed", "paid", "adjusted", "patient resp.", "denied", "open balance"):
        table.add_column(col, justify="left" if col == "status" else "right")
    for status, s in sorted(r.by_status.items()):
        table.add_row(status, str(s["claims"]), *(f"{s[k]:.2f}" for k in ("billed", "paid", "adjusted",
                      "patient_responsibility", "denied", "open_balance")))
    totals = r.totals
    table.add_row(marked("[bold]all[/]"), str(totals["claims"]), *(marked(f"[bold]{totals[k]:.2f}[/]") for k in (
        "billed", "paid", "adjusted", "patient_responsibility", "denied", "open_balance")))
    console.print(table)
    t = r.reconciliation["totals"]
    console.print(f"\nPayments received:        {t['payments']} payments, {t['amount']}")
    console.print(f"Paid to claims:           {t['matched_paid']}")
    console.print(f"Unmatched (in suspense):  {t['suspense']}")
    console.print(f"Provider adjustments:     {t['provider_adjustments']}")
    console.print(f"Every payment balances:   {'yes' if t['balanced'] and not t['unbalanced_payments'] else 'NO'}")
    console.print("Ledger check:             " + ("ok" if not r.check else f"{len(r.check)} violations"))
    if r.check:
        err_console.print(problem_table(r.check))
    decided = sum((a.branches for a in r.answered), Counter())
    console.print(f"\nThe payer decided: {decided['paid']} paid, {decided['line_denied']} paid with a line denied, "
                  f"{decided['split']} split in two, {decided['reversed']} paid then reversed and corrected, "
                  f"{decided['late']} paid late with interest, {decided['recouped']} paid then partly recouped, "
                  f"{decided['denied']} denied, {decided['rejected']} rejected; the patient's share: "
                  f"{decided['PR-1']} deductibles, {decided['PR-2']} coinsurance, {decided['PR-3']} copays")
    for title, counts in (("Rejected by the 277CA, by reason", r.rejections), ("Denied, by reason", r.denials)):
        console.print(f"\n{title}:" + ("" if counts else " none"))
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            console.print(f"  {n:4d}  {reason}")
    console.print(f"\nFiles: 837s in {r.workspace / 'out'}, the clearinghouses' folders in "
                  f"{r.workspace / 'clearinghouses'} (answered 837s in each outbox's processed/), what was fetched "
                  f"in {r.archive}")
    # where EDI_DATABASE_URL names another ledger, the commands need --db to read the workspace's
    db = " --db sqlite:///edi.db" if os.environ.get("EDI_DATABASE_URL") else ""
    console.print(f"\nLook around: cd {r.workspace} && edi reconcile{db} && edi ledger claims{db} && "
                  f"edi ledger claim ENC-I-0002{db}")
    raise typer.Exit(OK if r.ok else PROBLEMS)
