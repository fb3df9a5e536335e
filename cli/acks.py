"""`edi acks`: read TA1, 999 and 277CA acknowledgements, and import them into the ledger."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from cli.ledger import Db, FilesJson, open_ledger, report_files
from cli.output import (
    PROBLEMS,
    check_readable,
    console,
    dumps,
    err_console,
    exit_code,
    problem_table,
    require_kind,
    streamed,
)
from cli.progress import over_files

app = typer.Typer(help="Acknowledgements: read TA1, 999 and 277CA files; import them to set claims accepted or "
                  "rejected.", no_args_is_help=True)

#: Fields left out of what is printed: they identify a patient (names, member ids, copies of bad data, and the
#: CTX segments of a 999, which may quote a member id).
PATIENT_FIELDS = frozenset({"member_id", "patient_last_name", "patient_first_name", "bad_value", "context"})
#: 999 business units (CTX) printed with their value: claim and trace numbers; others (NM109: a member id) not.
SHOWN_UNITS = frozenset({"CLM01", "TRN02", "CLP01"})


@app.command("import")
def import_(
    files: Annotated[list[str], typer.Argument(help="TA1, 999 and 277CA files.")],
    json_: FilesJson = False,
    db: Db = None,
) -> None:
    """Link each acknowledgement to what it acknowledges (TA1 and 999 by control numbers, 277CA by patient control
    number) and set claims accepted or rejected, one database transaction per file; the same file twice changes
    nothing. An acknowledgement of something the ledger does not hold is kept and reported."""
    check_readable(files, stdin=False)
    ledger = open_ledger(db, create=True)
    raise typer.Exit(report_files((ledger.import_acks(f) for f in over_files(files, "importing")), "imported",
                                  json_=json_))


def ack_json(item: Any) -> dict:
    """An acknowledgement as JSON-ready data (``type`` names it), without the fields that identify a patient."""
    out: dict[str, Any] = {"type": type(item).__name__}
    for f in dataclasses.fields(item):
        if f.name in PATIENT_FIELDS:
            continue
        value = getattr(item, f.name)
        if f.name == "business_unit" and value is not None and value[0] not in SHOWN_UNITS:
            value = (value[0], None)
        out[f.name] = _plain(value)
    for name in ("accepted", "outcome"):
        if hasattr(type(item), name) and isinstance(getattr(type(item), name), property):
            out[name] = getattr(item, name)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__name__ == "Source":
            return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
        return ack_json(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _line(item: Any) -> str:
    from edi.acks.model import ClaimAck, GroupAck, InterchangeAck, ProviderAck, ReceiverAck, TransactionSetAck

    seg = item.source.segment
    if isinstance(item, InterchangeAck):
        return (f"{seg:>7}  TA1    interchange {item.control_number}: {item.status} {item.status_words} - "
                f"{item.note_code} {item.note}")
    if isinstance(item, TransactionSetAck):
        said = f"{seg:>7}  999    set {item.transaction_set} {item.control_number} (group {item.group_control}): " \
               f"{item.status} {item.status_words}"
        if item.errors:
            said += " - " + "; ".join(item.errors)
        for e in item.segment_errors:
            said += (f"\n           {e.tag} at position {e.position}" + (f", loop {e.loop}" if e.loop else "")
                     + f": {e.code} {e.meaning}")
            if e.business_unit and e.business_unit[0] in SHOWN_UNITS:
                said += f" ({e.business_unit[0]} {e.business_unit[1]})"
            for x in e.elements:
                said += f"\n             element {x.position}" + (f" ({x.reference})" if x.reference else "") \
                        + f": {x.code} {x.meaning}"
        return said
    if isinstance(item, GroupAck):
        counts = f"{item.included} included, {item.received} received, {item.accepted_count} accepted"
        return (f"{seg:>7}  999    group {item.functional_id} {item.group_control}: {item.status} {item.status_words} "
                f"({counts})" + (" - " + "; ".join(item.errors) if item.errors else ""))
    if isinstance(item, ReceiverAck | ProviderAck):
        t = item.totals
        who = f"receiver {item.id or item.name}" if isinstance(item, ReceiverAck) else \
            f"provider {item.npi or item.name}"
        return (f"{seg:>7}  277CA  {who}: accepted {t.accepted_count if t.accepted_count is not None else '-'}"
                f" ({t.accepted_amount if t.accepted_amount is not None else '-'}), rejected "
                f"{t.rejected_count if t.rejected_count is not None else '-'}"
                f" ({t.rejected_amount if t.rejected_amount is not None else '-'})")
    if isinstance(item, ClaimAck):
        said = f"{seg:>7}  277CA  claim {item.patient_control_number}: {item.outcome}"
        if item.charge is not None:
            said += f", charge {item.charge}"
        if item.payer_claim_number:
            said += f", payer claim number {item.payer_claim_number}"
        for s in item.statuses:
            said += f"\n           {s.words()}"
        for ln in item.lines:
            said += f"\n           line {ln.procedure or ln.revenue_code or '?'}" + \
                (f" ({ln.line_control_number})" if ln.line_control_number else "") + ": " + \
                "; ".join(s.words() for s in ln.statuses)
        return said
    return f"{seg:>7}  {type(item).__name__}"


@app.command()
def show(
    file: Annotated[str, typer.Argument(help="A TA1, 999 or 277CA file, or - for standard input.")],
    json_: Annotated[bool, typer.Option("--json", help="One JSON object on stdout: {file, acknowledgements, "
                                        "problems}.")] = False,
) -> None:
    """Each acknowledgement of a file in words, as it is read: interchanges (TA1), transaction sets and groups
    (999, with every segment and element error), claims (277CA, every status code). Exit 1 when the file
    rejects something or has errors."""
    from edi.acks.model import GroupAck
    from edi.acks.reader import read_acks

    check_readable(file)
    require_kind(file, "ack")
    reader = read_acks(file)
    rejected = False
    count = 0
    out = console.file
    with streamed(file):
        if json_:
            out.write('{\n  "file": ' + dumps(file) + ',\n  "acknowledgements": [')
        for item in reader:
            accepted = getattr(item, "accepted", None)
            outcome = getattr(item, "outcome", None)
            if accepted is False and not (isinstance(item, GroupAck) and item.status == "P") or outcome == "rejected":
                rejected = True
            if json_:
                out.write(("\n    " if count == 0 else ",\n    ") + dumps(ack_json(item), indent=None))
            else:
                console.print(_line(item))
            count += 1
        if json_:
            out.write(("\n  ]" if count else "]") + ',\n  "problems": '
                      + dumps([p.as_dict() for p in reader.problems], indent=None) + "\n}\n")
    if not json_:
        if reader.problems:
            err_console.print(problem_table(reader.problems, title=f"{file}: problems"))
        if count == 0:
            err_console.print(f"{file}: no TA1, 999 or 277CA acknowledgement")
    code = exit_code(reader.problems)
    raise typer.Exit(PROBLEMS if (rejected or count == 0) else code)
