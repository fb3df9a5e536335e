"""`edi simulate`: a payer and a clearinghouse on this machine, answering 837s with 999, 277CA and 835 files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import (
    OK,
    PROBLEMS,
    USAGE,
    check_readable,
    console,
    fail,
    folder_for_output,
    print_json,
    require_kind,
)

app = typer.Typer(help="A simulated payer and clearinghouse: 837 claims answered with 999, 277CA and 835 files "
                  "(synthetic, for trying the whole loop).", no_args_is_help=True)

FeeOption = Annotated[str | None, typer.Option("--fee-schedule", help="Fee schedule CSV (payer,code,modifier,"
                                               "allowed); by default the sample one installed with edi.",
                                               show_default=False)]
SeedOption = Annotated[str, typer.Option("--seed", help="Seed of the payer's decisions: the same seed and the same "
                                         "837 give the same files.")]
JsonOption = Annotated[bool, typer.Option("--json", help="What was answered, as JSON on stdout.")]
MAX_SEED = 2**63 - 1


def _seed(text: str) -> int:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        fail(f"--seed {text!r} is not a whole number")
    if not 0 <= value <= MAX_SEED:
        fail(f"--seed {value} is out of range (0 to {MAX_SEED})")
    return value


def _fees(path: str | None):
    from edi.fees import FeeScheduleError, load_fee_schedule

    if path is None:
        from importlib import resources

        with resources.as_file(resources.files("samples").joinpath("fee_schedule.csv")) as sample:
            return load_fee_schedule(sample)
    check_readable(path, stdin=False)
    try:
        return load_fee_schedule(path)
    except FeeScheduleError as exc:
        fail(f"--fee-schedule {exc}")
    except OSError as exc:
        fail(f"--fee-schedule {path}: {exc.strerror or exc}")


def _payers(config) -> tuple[dict[str, str], dict[str, str]]:
    """837 payer id -> fee schedule payer key, and -> payer name, from edi.toml's [payers]."""
    if config is None:
        return {}, {}
    return ({p.payer_id: key for key, p in config.payers.items()},
            {p.payer_id: p.name for p in config.payers.values()})


def _render(answered) -> None:
    for a in answered:
        sets = f", {a.sets_rejected} transaction sets rejected by the 999" if a.sets_rejected else ""
        console.print(f"{a.source}: {a.claims} claims: {a.accepted} accepted, {a.rejected} rejected (277CA){sets}; "
                      f"{a.payments} payments, {a.paid:.2f} paid")
        for f in a.files:
            console.print(f"  wrote {f}")


@app.command()
def payer(
    claims: Annotated[list[str], typer.Argument(help="837 files (837P, 837I) to answer.", show_default=False)],
    fee_schedule: FeeOption = None,
    config: Annotated[str | None, typer.Option("--config", help="edi.toml: its payers table tells which fee schedule "
                                               "rows price which 837 payer id (without it, the * rows price "
                                               "all).", show_default=False)] = None,
    seed: SeedOption = "1",
    out: Annotated[str, typer.Option("--out", help="Folder for the answers.")] = ".",
    json_: JsonOption = False,
) -> None:
    """Answer 837 files as a payer and its clearinghouse would: a 999, a 277CA and 835 payments for each."""
    from edi.simulate import SimulationError, answer_837

    number = _seed(seed)
    check_readable(claims, stdin=False)
    for path in claims:
        require_kind(path, "837")
    fees = _fees(fee_schedule)
    if config is not None and not config.strip():
        fail("--config: give a file (or leave the option out: the * rows of the fee schedule then price every payer)")
    cfg = _load_config(config) if config is not None else None
    keys, names = _payers(cfg)
    stems = {}
    for path in claims:
        stem = Path(path).name.rsplit(".", 1)[0]
        if stem in stems:
            fail(f"{path} and {stems[stem]} would give answers of the same names in {out}: answer them into "
                 "different folders")
        stems[stem] = path
    answered = []
    with folder_for_output("--out", out) as folder:  # a folder made here goes again if nothing is written
        for path in claims:
            try:
                answered.append(answer_837(path, folder, fees=fees, seed=number, payer_keys=keys,
                                           payer_names=names))
            except SimulationError as exc:
                fail(exc.message, PROBLEMS if exc.code == "simulate.not_837" else USAGE)
            except OSError as exc:
                fail(f"{out}: {exc.strerror or exc}")
    if json_:
        print_json([a.as_dict() for a in answered])
    else:
        _render(answered)
    raise typer.Exit(PROBLEMS if any(a.problems for a in answered) else OK)


@app.command()
def clearinghouse(
    config: Annotated[str, typer.Option("--config", help="edi.toml: each clearinghouse with a directory transport "
                                        "is answered.")] = "edi.toml",
    fee_schedule: FeeOption = None,
    seed: SeedOption = "1",
    json_: JsonOption = False,
) -> None:
    """Answer the 837s in the outbox of each directory clearinghouse of edi.toml, into its inbox.

    So `edi claims submit` and `edi inbox fetch` run against it: a 999, a 277CA and 835s for each 837. Answered
    837s move to the outbox's processed/ folder, so none is answered twice; files that are not 837s are left where
    they are."""
    from edi.simulate import Mailbox, SimulationError, answer_mailbox

    number = _seed(seed)
    cfg = _load_config(config)
    fees = _fees(fee_schedule)
    keys, names = _payers(cfg)
    boxes = [Mailbox(ch.key, Path(ch.transport.outbox), Path(ch.transport.inbox))
             for ch in cfg.clearinghouses.values() if ch.transport is not None and ch.transport.kind == "directory"]
    if not boxes:
        fail(f"{config}: no clearinghouse has a directory transport ([clearinghouses.NAME.transport] with kind = "
             "\"directory\"): nothing to answer")
    results = []
    for box in boxes:
        try:
            results.append(answer_mailbox(box, fees=fees, seed=number, payer_keys=keys, payer_names=names))
        except SimulationError as exc:
            fail(exc.message)
        except OSError as exc:
            fail(f"{box.name}: {exc.strerror or exc} ({exc.filename})" if exc.filename else f"{box.name}: {exc}")
    if json_:
        print_json([r.as_dict() for r in results])
    else:
        for r in results:
            if not (r.answered or r.left or r.failed):
                console.print(f"{r.mailbox}: nothing to answer")
            _render(r.answered)
            for file, why in r.left:
                console.print(f"{file}: {why}")
            for file, code, message in r.failed:
                console.print(f"{file}: {code}: {message}")
    bad = any(r.failed or any(a.problems for a in r.answered) for r in results)
    raise typer.Exit(PROBLEMS if bad else OK)


def _load_config(path: str):
    from cli.claims import load_config

    return load_config(path)
