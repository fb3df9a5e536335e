"""Progress bars (cli/progress.py): drawn on stderr for long work when stderr is a terminal, never otherwise."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import cli.progress
from cli.main import app

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
runner = CliRunner()

#: Commands with long work, as a user runs them on the samples (each in a fresh ledger).
LONG_WORK = {
    "validating synthetic-payment.835": ["x12", "validate", str(SAMPLES / "835" / "synthetic-payment.835")],
    "posting synthetic-payment.835 (1 of 1)": ["remit", "import", str(SAMPLES / "835" / "synthetic-payment.835")],
    "recording synthetic-claims.837 (1 of 1)": ["claims", "record", str(SAMPLES / "837" / "synthetic-claims.837")],
    "importing synthetic-claims.277 (2 of 2)": ["acks", "import", str(SAMPLES / "acks" / "synthetic-claims.999"),
                                                str(SAMPLES / "acks" / "synthetic-claims.277")],
}


@pytest.fixture
def terminal(monkeypatch) -> io.StringIO:
    """stderr as a terminal: what the bars draw lands in the returned buffer."""
    screen = io.StringIO()
    monkeypatch.setattr(cli.progress, "err_console", Console(file=screen, force_terminal=True, width=120))
    return screen


@pytest.mark.parametrize("shown", list(LONG_WORK))
def test_long_work_shows_a_bar_on_a_terminal(shown, terminal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, [*LONG_WORK[shown], "--db", f"sqlite:///{tmp_path / 'edi.db'}"]
                      if LONG_WORK[shown][0] != "x12" else LONG_WORK[shown])
    assert r.exit_code == 0, r.output
    drawn = terminal.getvalue()
    assert shown in drawn and "kB" in drawn and "━" in drawn  # by bytes: the files' sizes
    assert drawn.endswith("\x1b[2K")  # transient: the line is erased once the work is done


@pytest.mark.parametrize("shown", list(LONG_WORK))
def test_no_bar_when_stderr_is_not_a_terminal(shown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = LONG_WORK[shown] if LONG_WORK[shown][0] == "x12" else [*LONG_WORK[shown], "--db",
                                                                    f"sqlite:///{tmp_path / 'edi.db'}"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.stderr and "━" not in r.stderr and shown.split()[0] not in r.stderr


def test_a_bar_follows_what_the_library_reports(terminal):
    with cli.progress.bar("validating big.835", unit="bytes") as bar:
        bar(250_000, 1_000_000)
        bar(1_000_000, 1_000_000)
    drawn = terminal.getvalue()
    assert "validating big.835" in drawn and "1.0/1.0 MB" in drawn


def test_bars_do_nothing_off_a_terminal():
    with cli.progress.bar("anything", unit="items", total=3) as bar:
        bar.update(advance=1)
        bar(3, 3)
    assert not cli.progress.shown()
    with pytest.raises(ValueError), cli.progress.bar("anything", unit="lines"):
        pass
