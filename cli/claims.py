"""`edi claims`: record 837 files in the ledger (and, with the mappings, build them)."""

from __future__ import annotations

import typer

from cli import ledger

app = typer.Typer(help="Claims: record existing 837 files in the ledger.", no_args_is_help=True)
app.command("record")(ledger.record)
