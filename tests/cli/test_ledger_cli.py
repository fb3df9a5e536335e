"""`edi ledger ...` and `edi reconcile` as a user runs them: what every ledger command shares."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app
from edi.ledger import Ledger

runner = CliRunner(env={"COLUMNS": "200"})


def test_each_command_closes_the_ledger_it_opened(tmp_path, monkeypatch):
    """A command's ledger (and its pooled connections) is closed when the command ends, failed or not: many
    commands in one process (a script, the tests) do not pile up open connections."""
    closed: list[str] = []
    real = Ledger.close

    def close(self):
        closed.append(self.url)
        real(self)

    monkeypatch.setattr(Ledger, "close", close)
    db = f"sqlite:///{tmp_path / 'edi.db'}"
    ok = runner.invoke(app, ["ledger", "claims", "--json", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == [] and len(closed) == 1
    missing = runner.invoke(app, ["ledger", "claim", "NOSUCHCLAIM", "--db", db])
    assert missing.exit_code != 0 and len(closed) == 2
    rec = runner.invoke(app, ["reconcile", "--json", "--db", db])
    assert rec.exit_code == 0 and len(closed) == 3
