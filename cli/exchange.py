"""`edi claims submit`, `edi inbox fetch` and `edi transport trust`: files to and from clearinghouses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from cli import ledger, progress
from cli.output import (
    OK,
    PROBLEMS,
    USAGE,
    check_readable,
    console,
    err_console,
    esc,
    fail,
    folder_for_output,
    marked,
    print_json,
    printable,
    problem_table,
)

inbox_app = typer.Typer(help="Clearinghouse inboxes: fetch acknowledgements and remittances, and import them.",
                        no_args_is_help=True)
transport_app = typer.Typer(help="Clearinghouse connections: trust an SFTP server's host key.", no_args_is_help=True)

Config = Annotated[str, typer.Option("--config", help="The configuration file.")]
Clearinghouse = Annotated[str | None, typer.Option("--clearinghouse", help="Only this clearinghouse (its key in "
                                                   "the clearinghouses table of edi.toml).")]
STYLE = {"submitted": "green", "imported": "green", "already": "yellow", "seen": "dim", "skipped": "yellow",
         "refused": "red",
         "failed": "red", "unknown": "red"}


def _config(path: str):
    from cli.claims import load_config

    return load_config(path)


def _spinner(description: str):
    return progress.bar(description, unit="spinner")


def submit(
    files: Annotated[list[str] | None, typer.Argument(help="Built (or recorded) 837 files.", show_default=False)]
    = None,
    all_built: Annotated[bool, typer.Option("--all-built", help="Every 837 this ledger built that was never "
                                            "submitted.")] = False,
    clearinghouse: Clearinghouse = None,
    force: Annotated[bool, typer.Option("--force", help="Send a file that was submitted before once more.")]
    = False,
    config: Config = "edi.toml",
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per file, in a list on stdout.")] = False,
    db: ledger.Db = None,
) -> None:
    """Upload built 837 files to their clearinghouse (its [clearinghouses.NAME.transport] in edi.toml), record
    each submission and mark its claims submitted. A file is sent once (--force to send it again), only if this
    ledger built or recorded it, and only to the clearinghouse its ISA08 names."""
    from mappings.exchange import ExchangeError
    from mappings.exchange import submit as send

    if bool(files) == all_built:
        fail("give the 837 files to submit, or --all-built (not both)")
    if files:
        check_readable(files, stdin=False)
    cfg = _config(config)
    led = ledger.open_ledger(db)
    with _spinner("submitting") as bar:
        try:
            results = send(None if all_built else files, cfg, led, now=datetime.now(), clearinghouse=clearinghouse,
                           force=force, progress=lambda n: bar.update(description=f"{n} files sent"))
        except ExchangeError as exc:
            fail(str(exc))
    if json_:
        print_json([r.as_dict() for r in results])
    else:
        for r in results:
            console.print(marked(f"{esc(r.file)}: [{STYLE[r.outcome]}]{r.outcome}[/] - {esc(r.message)}"))
        if all_built and not results:
            console.print("no built file waits to be submitted")
    raise typer.Exit(_exit(results))


def _exit(results) -> int:
    """0 when every file went through; 2 when the configuration cannot be used as it is (a variable it names is
    not set); else 1."""
    if any(p.code == "transport.config" for r in results for p in r.problems):
        return USAGE
    return OK if all(r.ok for r in results) else PROBLEMS


@inbox_app.command("fetch")
def fetch(
    clearinghouse: Clearinghouse = None,
    archive: Annotated[str, typer.Option("--archive", help="Where downloaded files are kept: "
                                         "ARCHIVE/<clearinghouse>/<date>/<name>.")] = "inbox",
    config: Config = "edi.toml",
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per inbox file, in a list on stdout.")]
    = False,
    db: ledger.Db = None,
) -> None:
    """Download each new file of the clearinghouses' inboxes into the archive, import it by what it holds (TA1,
    999, 277CA, 835), and delete or move it on the server once imported if after_fetch says so. A file seen
    before is not fetched again; content imported before is never imported twice. Exit 1 when a file could not
    be fetched or imported."""
    from mappings.exchange import ExchangeError
    from mappings.exchange import fetch as get

    # the archive is made for what is downloaded, and removed again if the fetch fails before anything is
    with folder_for_output("--archive", archive, mode=0o700):
        cfg = _config(config)
        led = ledger.open_ledger(db)
        with _spinner("fetching") as bar:
            try:
                results = get(cfg, led, now=datetime.now(), archive=archive, clearinghouse=clearinghouse,
                              progress=lambda n: bar.update(description=f"{n} inbox files"))
            except ExchangeError as exc:
                fail(str(exc))
    if json_:
        print_json([r.as_dict() for r in results])
    else:
        seen = new = 0
        for r in results:
            if r.outcome == "seen":
                seen += 1
                continue
            new += bool(r.remote_name) and r.outcome != "skipped"
            where = printable(f"{r.clearinghouse}:{r.remote_name}" if r.remote_name else r.clearinghouse)
            outcome = r.outcome if r.ok or r.outcome != "imported" else "imported with errors"
            console.print(marked(f"{esc(where)}: [{STYLE[r.outcome] if r.ok else 'red'}]{outcome}[/] - "
                                 f"{esc(printable(r.message))}" + (" (removed from the server)" if r.removed else "")))
            shown = [p for p in r.problems if p.message != r.message and (p.is_error or r.outcome != "imported")]
            if shown:
                err_console.print(problem_table(shown))
        console.print(f"{new} new files" + (f", {seen} seen before" if seen else ""))
    raise typer.Exit(_exit(results))


@transport_app.command("trust")
def trust(
    name: Annotated[str, typer.Argument(help="The clearinghouse (its key in the clearinghouses table of edi.toml).")],
    yes: Annotated[bool, typer.Option("--yes", help="Trust the key shown without asking (compare its "
                                      "fingerprint with the one your clearinghouse gave you first).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a key of the same type already trusted for "
                                          "this server (after the clearinghouse told you it changed).")] = False,
    config: Config = "edi.toml",
) -> None:
    """Show the SFTP server's host key fingerprint and, once you confirm it is the one your clearinghouse gave
    you, add it to the known_hosts file of the configuration."""
    from edi.transport import TransportError, fetch_host_key, trust_host_key

    cfg = _config(config)
    ch = cfg.clearinghouses.get(name)
    if ch is None:
        fail(f"no clearinghouse {name!r} in {config} (there are: {', '.join(cfg.clearinghouses) or 'none'})")
    if ch.transport is None or ch.transport.kind != "sftp":
        fail(f"clearinghouse {name} has no sftp transport in {config}: there is no host key to trust")
    try:
        key_type, fingerprint, key = fetch_host_key(ch.transport, clearinghouse=name)
    except TransportError as exc:
        fail(f"{name}: {exc.message}", PROBLEMS)
    console.print(f"{name}: {ch.transport.address} offers a {key_type} host key, fingerprint {fingerprint}")
    if not yes and not typer.confirm("Is this the fingerprint your clearinghouse gave you?", default=False,
                                     err=True):
        fail("not trusted: nothing was written", PROBLEMS)
    try:
        added = trust_host_key(ch.transport, key, replace=replace)
    except TransportError as exc:
        fail(f"{name}: {exc.message}", PROBLEMS)
    where = ch.transport.known_hosts_path
    console.print(f"{name}: {'trusted' if added else 'already trusted'} in {where}")
