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


def test_the_sqlite_ledger_is_readable_by_its_owner_only(tmp_path):
    """The ledger holds patient data: edi.db and its -wal and -shm files are created 0600, whatever the umask."""
    import os
    import stat

    from typer.testing import CliRunner

    from cli.main import app

    db = tmp_path / "edi.db"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(app, ["ledger", "init", "--db", f"sqlite:///{db}"])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(app, ["claims", "record", "samples/837/synthetic-claims.837", "--db",
                                          f"sqlite:///{db}"])
    finally:
        os.umask(old)
    made = [p for p in tmp_path.iterdir() if p.name.startswith("edi.db")]
    assert db in made
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in made} == {p.name: 0o600 for p in made}


def test_a_database_password_is_never_printed(tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    for url in ("postgresql://billing:s3cretpw@127.0.0.1:1/edi", "postgresql://billing:s3cretpw@127.0.0.1:notaport/edi",
                "nosuchdriver://billing:s3cretpw@host/edi"):
        result = CliRunner().invoke(app, ["ledger", "init", "--db", url])
        assert result.exit_code == 2, (url, result.output)
        assert "s3cretpw" not in result.output, result.output
