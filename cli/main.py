"""The `edi` command line: one Typer app, a sub-app per noun. Commands parse, call the library, render."""

from __future__ import annotations

import typer

from cli import acks, claims, exchange, ledger, remit, x12

app = typer.Typer(
    name="edi",
    help="Healthcare claim interchange: build 837 claims, read 835 remittances and acknowledgements, "
    "and reconcile payments against bills in a ledger.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold patient data
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"edi {version('edi')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("edi (not installed)")
        raise typer.Exit(0)


@app.callback()
def _each_command(ctx: typer.Context, _v: bool = typer.Option(False, "--version", callback=_version,
                                                                is_eager=True, help="Print edi's version.")) -> None:
    ctx.call_on_close(ledger.close_opened)


app.add_typer(x12.app, name="x12")
app.add_typer(remit.app, name="remit")
claims.app.command("submit")(exchange.submit)
app.add_typer(claims.app, name="claims")
app.add_typer(acks.app, name="acks")
app.add_typer(exchange.inbox_app, name="inbox")
app.add_typer(exchange.transport_app, name="transport")
app.add_typer(ledger.app, name="ledger")
app.command("reconcile")(ledger.reconcile)
app.command("init")(claims.init)
app.command("demo")(claims.demo)


def main() -> None:  # console script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
