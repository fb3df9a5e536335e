"""`edi ledger ...` and `edi reconcile` as a user runs them: what every ledger command shares."""

from __future__ import annotations

import json

import pytest
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
    assert runner.invoke(app, ["ledger", "init", "--db", db]).exit_code == 0 and len(closed) == 1
    ok = runner.invoke(app, ["ledger", "claims", "--json", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == [] and len(closed) == 2
    missing = runner.invoke(app, ["ledger", "claim", "NOSUCHCLAIM", "--db", db])
    assert missing.exit_code != 0 and len(closed) == 3
    rec = runner.invoke(app, ["reconcile", "--json", "--db", db])
    assert rec.exit_code == 0 and len(closed) == 4


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


def test_a_mistyped_database_is_refused_by_reading_commands_and_made_only_by_writing_ones(tmp_path):
    """`--db sqlite:///typo.db` must not look like an empty ledger: reading commands refuse a ledger that does not
    exist (exit 2, naming it) and create nothing; the commands that write a ledger's first rows make it and say so."""
    db = f"sqlite:///{tmp_path / 'typo.db'}"
    for args in (["ledger", "claims"], ["ledger", "claim", "X"], ["ledger", "check"], ["reconcile"],
                 ["ledger", "writeoff", "X", "--reason", "r"], ["inbox", "fetch"], ["claims", "submit", "--all-built"]):
        result = runner.invoke(app, [*args, "--db", db])
        assert result.exit_code == 2, (args, result.output)
        assert "no ledger at" in result.output and "typo.db" in result.output or "edi.toml" in result.output, args
        assert not (tmp_path / "typo.db").exists(), args
    made = runner.invoke(app, ["claims", "record", "samples/837/synthetic-claims.837", "--db", db])
    assert made.exit_code == 0 and "a new ledger at" in made.output
    assert runner.invoke(app, ["ledger", "claims", "--db", db]).exit_code == 0


@pytest.mark.parametrize("amount", ["0.001", "NaN", "sNaN", "-5", "0", "1e3", "1_000", "99999999999999", "", "x"])
def test_a_write_off_amount_that_is_not_dollars_and_cents_is_a_usage_error(tmp_path, amount):
    db = f"sqlite:///{tmp_path / 'edi.db'}"
    assert runner.invoke(app, ["claims", "record", "samples/837/synthetic-claims.837", "--db", db]).exit_code == 0
    result = runner.invoke(app, ["ledger", "writeoff", "PCN0000001", "--reason", "small balance", "--amount", amount,
                                 "--db", db])
    assert result.exit_code == 2 and "Traceback" not in result.output and "dollars and cents" in result.output
    fine = runner.invoke(app, ["ledger", "writeoff", "PCN0000001", "--reason", "small balance", "--amount", "12.5",
                               "--db", db])
    assert fine.exit_code == 0 and "wrote off 12.50" in fine.stdout


def test_remit_export_refuses_an_out_that_is_a_file_and_writes_owner_only_tables(tmp_path):
    import stat

    existing = tmp_path / "existing.csv"
    existing.write_text("keep me\n")
    for out in (str(existing), str(existing / "sub")):
        result = runner.invoke(app, ["remit", "export", "samples/835/synthetic-payment.835", "--out", out])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert existing.read_text() == "keep me\n"
    result = runner.invoke(app, ["remit", "export", "samples/835/synthetic-payment.835", "--out", str(tmp_path / "x")])
    assert result.exit_code == 0
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "x").iterdir()} == {0o600}


def _paid_ledger(db: str) -> Ledger:
    ledger = Ledger(db)
    ledger.record_837("samples/837/synthetic-claims.837")
    ledger.import_835("samples/835/synthetic-payment.835")
    return ledger


def test_claims_stream_the_same_rows_as_the_whole_list_in_every_shape(db):
    """`ledger claims` pages through the ledger (iter_claims): --json, --nl and --limit carry exactly the rows
    of Ledger.claims(), in the same order, however small the page."""
    from edi.ledger import views

    ledger = _paid_ledger(db)
    whole = [c.as_dict() for c in ledger.claims()]
    assert len(whole) >= 6
    as_json = runner.invoke(app, ["ledger", "claims", "--json", "--db", db])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == whole
    as_nl = runner.invoke(app, ["ledger", "claims", "--nl", "--db", db])
    assert [json.loads(x) for x in as_nl.stdout.splitlines()] == whole
    limited = runner.invoke(app, ["ledger", "claims", "--nl", "--limit", "4", "--db", db])
    assert [json.loads(x) for x in limited.stdout.splitlines()] == whole[:4]
    with ledger.engine.connect() as conn:  # pages of two claims: the page boundaries lose and repeat nothing
        assert [c.as_dict() for c in views.iter_claims(conn, page=2)] == whole
        assert [c.as_dict() for c in views.iter_claims(conn, page=2, limit=3)] == whole[:3]
        paid = [c.as_dict() for c in views.iter_claims(conn, page=2, status="paid")]
    assert paid == [c for c in whole if c["status"] == "paid"] and paid
    table = runner.invoke(app, ["ledger", "claims", "--db", db])
    assert table.exit_code == 0 and table.stdout.splitlines()[-1] == f"{len(whole)} claims"
    assert [x.split()[0] for x in table.stdout.splitlines()[1:-1]] == [c["patient_control_number"] for c in whole]
    both = runner.invoke(app, ["ledger", "claims", "--json", "--nl", "--db", db])
    assert both.exit_code == 2 and "choose one" in both.output
    ledger.close()


def test_each_imported_file_says_its_outcome_in_words_in_json_and_in_the_exit_code(tmp_path):
    """posted with errors, refused, already: each file's outcome is one word, and the exit code is 1 unless every
    file was taken cleanly (or had been)."""
    db = f"sqlite:///{tmp_path / 'edi.db'}"
    broken, good = "samples/835/broken-segment-count.835", "samples/835/synthetic-payment.835"
    first = runner.invoke(app, ["remit", "import", broken, good, "--json", "--db", db])
    assert first.exit_code == 1
    doc = json.loads(first.stdout)
    assert [(d["outcome"], d["ok"]) for d in doc] == [("posted", False), ("refused", False)]
    assert "x12.se.count" in {p["code"] for p in doc[0]["problems"]}
    assert "already posted" in doc[1]["message"]
    again = runner.invoke(app, ["remit", "import", broken, "--json", "--db", db])
    assert json.loads(again.stdout)[0]["outcome"] == "already"
    recorded = runner.invoke(app, ["claims", "record", "samples/837/synthetic-claims.837", "--json", "--db", db])
    assert recorded.exit_code == 0 and json.loads(recorded.stdout)[0]["outcome"] == "recorded"
    acks = runner.invoke(app, ["acks", "import", "samples/acks/synthetic-claims.999", "--json", "--db", db])
    assert acks.exit_code == 0 and json.loads(acks.stdout)[0]["outcome"] == "imported"
