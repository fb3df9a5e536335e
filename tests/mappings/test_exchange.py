"""Submitting to a clearinghouse and fetching its answers, end to end, as a billing office's day goes:

build claims from the sample encounters, `edi claims submit` the clearinghouse's file; the test plays the
clearinghouse (it reads what arrived in its outbox and puts a 999, a 277CA accepting one claim and rejecting
another, and an 835 in the inbox); `edi inbox fetch` imports all three; `edi ledger claims --json` shows the claims
accepted, rejected and paid. Against a real SFTP server on 127.0.0.1 (asyncssh's, started by the test, and
OpenSSH's sshd where it is installed) and against the directory transport. Then the faults: a server that is down,
a connection cut during the upload, unknown and changed host keys, a refused login, the same inbox fetched twice,
a file in the inbox that is no acknowledgement.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner
from x12text import isa

from cli.main import app
from edi.ledger import Ledger
from mappings.config import load_config
from mappings.exchange import fetch, submit

pytest_plugins = ["sftp_server"]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
runner = CliRunner(env={"COLUMNS": "200"})
HUB = "SYNTHHUB"  # the sample synthhub clearinghouse's isa_id
SUBMITTER = "SYNBILL01"  # the sample submitter's id


def workspace(tmp: Path, transport: str) -> Path:
    """A folder with the sample edi.toml plus ``transport`` as synthhub's [transport] table."""
    ws = tmp / "office"
    ws.mkdir()
    (ws / "edi.toml").write_text((SAMPLES / "edi.toml").read_text() + "\n[clearinghouses.synthhub.transport]\n"
                                 + transport)
    return ws


def sftp_toml(server, **changes) -> str:
    c = server.config(**changes)
    lines = ['kind = "sftp"', f'host = "{c.host}"', f"port = {c.port}", f'user = "{c.user}"',
             f'outbox = "{c.outbox}"', f'inbox = "{c.inbox}"', f'known_hosts = "{c.known_hosts}"',
             f"timeout = {c.timeout}", f"retries = {c.retries}", f"retry_delay = {c.retry_delay}"]
    if c.key_file:
        lines.append(f'key_file = "{c.key_file}"')
    if c.password_env:
        lines.append(f'password_env = "{c.password_env}"')
    return "\n".join(lines) + '\nremote_name = "{clearinghouse}-{isa13}.837"\n'


def cli(ws: Path, *args: str):
    return runner.invoke(app, [*args, "--config", str(ws / "edi.toml"), "--db", f"sqlite:///{ws / 'edi.db'}"])


def build(ws: Path) -> Path:
    result = runner.invoke(app, ["claims", "build", str(SAMPLES / "encounters" / "encounters.json"), "--config",
                                 str(ws / "edi.toml"), "--out", str(ws / "out"), "--jobs", "1",
                                 "--db", f"sqlite:///{ws / 'edi.db'}"])
    assert result.exit_code == 0, result.output
    return ws / "out" / "synthhub-000000001.837"


def claims_json(ws: Path) -> dict[str, str]:
    result = runner.invoke(app, ["ledger", "claims", "--json", "--db", f"sqlite:///{ws / 'edi.db'}"])
    assert result.exit_code == 0, result.output
    return {c["patient_control_number"]: c["status"] for c in json.loads(result.stdout)}


# -- the clearinghouse's side ---------------------------------------------------------------------------------


def envelope(text: str) -> list[tuple[str, str, str]]:
    """(functional id, GS06, ST02) of each transaction set of an X12 text, in order."""
    out, gs = [], None
    for seg in re.split(r"~\s*", text):
        if seg.startswith("GS*"):
            gs = seg.split("*")
        elif seg.startswith("ST*"):
            out.append((gs[1], gs[6], seg.split("*")[2]))
    return out


def interchange(control: int, gs: str, version: str, body: list[str], st01: str) -> str:
    return "\n".join([isa(control, sender=HUB, receiver=SUBMITTER),
                      f"GS*{gs}*{HUB}*{SUBMITTER}*20250305*0800*{control}*X*{version}~",
                      f"ST*{st01}*0001*{version}~", *body, f"SE*{len(body) + 2}*0001~", f"GE*1*{control}~",
                      f"IEA*1*{control:09d}~"]) + "\n"


def answers(sent_837: str) -> dict[str, bytes]:
    """What the clearinghouse sends back for the file it received: a 999 accepting each transaction set, a 277CA
    accepting ENC-P-0001 and ENC-I-0002 and rejecting ENC-I-0001, and the payer's 835 paying ENC-P-0001."""
    body = []
    for group in sorted({g for _, g, _ in envelope(sent_837)}):
        sets = [st for _, g, st in envelope(sent_837) if g == group]
        version = "005010X222A1"
        body.append(f"AK1*HC*{group}*{version}~")
        for st in sets:
            body += [f"AK2*837*{st}*{version}~", "IK5*A~"]
        body.append(f"AK9*A*{len(sets)}*{len(sets)}*{len(sets)}~")
    nine = interchange(701, "FA", "005010X231A1", body, "999")
    claims = [("ENC-P-0001", "A2:20:PR", "WQ"), ("ENC-I-0001", "A7:562:85", "U"), ("ENC-I-0002", "A2:20:PR", "WQ")]
    body = ["BHT*0085*08*277CA0701*20250306*0800*TH~", "HL*1**20*1~",
            "NM1*PR*2*ACME SYNTHETIC HEALTH PLAN*****PI*SYNACME1~", "TRN*1*RCPT0701~", "HL*2*1*21*1~",
            f"NM1*41*2*SYNTHETIC BILLING SERVICE*****46*{SUBMITTER}~", "TRN*2*BATCH0701~", "STC*A1:19:PR~",
            "HL*3*2*19*1~", "NM1*85*2*SYNTH FAMILY CLINIC*****XX*1234567893~", "TRN*1*0~", "STC*A1:19:PR~"]
    for k, (pcn, stc, action) in enumerate(claims, 4):
        body += [f"HL*{k}*3*PT~", "NM1*QC*1*TESTPERSON*ALEX****MI*SYNM00000101~", f"TRN*2*{pcn}~",
                 f"STC*{stc}*20250306*{action}~"]
    two77 = interchange(702, "HN", "005010X214", body, "277")
    body = ["BPR*I*120.50*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20250310~",
            "TRN*1*EFT0701*1512345678~", "N1*PR*ACME SYNTHETIC HEALTH PLAN~", "N3*1 PAYER PLAZA~",
            "N4*CAPITAL CITY*IL*627010002~", "PER*BL*EDI*TE*5555550199~", "N1*PE*SYNTH FAMILY CLINIC*XX*1234567893~",
            "LX*1~", "CLP*ENC-P-0001*1*170.50*120.50**12*ACMEICN0701*11*1~", "CAS*CO*45*50~",
            "NM1*QC*1*TESTPERSON*ALEX****MI*SYNM00000101~"]
    era = interchange(703, "HP", "005010X221A1", body, "835")
    return {"ack-0701.999": nine.encode(), "ack-0702.277": two77.encode(), "era-0703.835": era.encode()}


# -- the day, end to end ---------------------------------------------------------------------------------------


@pytest.fixture(params=["sftp", "sshd", "directory"])
def mailbox(request, tmp_path):
    """(transport table for edi.toml, read a file of the outbox, put a file into the inbox, list the inbox)."""
    if request.param == "directory":
        hub = tmp_path / "hub"
        (hub / "out").mkdir(parents=True)
        (hub / "in").mkdir()
        table = f'kind = "directory"\noutbox = "{hub / "out"}"\ninbox = "{hub / "in"}"\n' \
                'remote_name = "{clearinghouse}-{isa13}.837"\n'
        return (table, lambda name: (hub / "out" / name).read_text(),
                lambda name, data: (hub / "in" / name).write_bytes(data),
                lambda: sorted(p.name for p in (hub / "in").iterdir() if p.is_file()))
    server = request.getfixturevalue("sftp_server" if request.param == "sftp" else "sshd_server")
    if request.param == "sftp":
        read = lambda name: server.path(f"/out/{name}").read_text()  # noqa: E731
        put = server.put_inbox
        listing = lambda: sorted(p.name for p in server.path("/in").iterdir() if p.is_file())  # noqa: E731
    else:
        read = lambda name: (Path(server.outbox) / name).read_text()  # noqa: E731
        put = lambda name, data: (Path(server.inbox) / name).write_bytes(data)  # noqa: E731
        listing = lambda: sorted(p.name for p in Path(server.inbox).iterdir() if p.is_file())  # noqa: E731
    return sftp_toml(server), read, put, listing


def test_build_submit_fetch_and_reconcile(tmp_path, mailbox):
    table, read_outbox, put_inbox, _ = mailbox
    ws = workspace(tmp_path, table)
    built = build(ws)
    sent = cli(ws, "claims", "submit", str(built))
    assert sent.exit_code == 0, sent.output
    # four claims: the fifth of the file is a void, which bills nothing
    assert "submitted - sent to synthhub as synthhub-000000001.837; 4 claims submitted" in sent.stdout
    assert set(claims_json(ws).values()) >= {"submitted"} and "built" not in {
        s for pcn, s in claims_json(ws).items() if pcn in ("ENC-P-0001", "ENC-I-0001", "ENC-I-0002")}
    arrived = read_outbox("synthhub-000000001.837")
    assert arrived == built.read_text()  # byte for byte
    for name, data in answers(arrived).items():
        put_inbox(name, data)
    got = cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox"))
    assert got.exit_code == 0, got.output
    for name in ("ack-0701.999", "ack-0702.277", "era-0703.835"):
        assert f"synthhub:{name}: imported" in got.stdout
    statuses = claims_json(ws)
    assert (statuses["ENC-P-0001"], statuses["ENC-I-0001"], statuses["ENC-I-0002"]) == ("paid", "rejected",
                                                                                        "accepted")
    assert statuses["ENC-P-0003"] == "submitted"  # nothing answered it
    archived = sorted(p.name for p in (ws / "inbox" / "synthhub").rglob("*") if p.is_file())
    assert archived == ["ack-0701.999", "ack-0702.277", "era-0703.835"]
    assert all((p.stat().st_mode & 0o077) == 0 for p in (ws / "inbox").rglob("*"))  # 0600 files, 0700 folders
    # the same inbox again: nothing is downloaded or imported twice
    again = cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox"))
    assert again.exit_code == 0 and "0 new files, 3 seen before" in again.stdout
    assert claims_json(ws) == statuses
    assert Ledger(f"sqlite:///{ws / 'edi.db'}").check() == []


def test_a_file_is_submitted_once_and_only_to_its_own_clearinghouse(tmp_path, sftp_server):
    ws = workspace(tmp_path, sftp_toml(sftp_server))
    built = build(ws)
    assert cli(ws, "claims", "submit", "--all-built").exit_code == 1  # testbridge has no transport: refused
    assert sftp_server.path("/out/synthhub-000000001.837").exists()
    again = cli(ws, "claims", "submit", str(built))
    assert again.exit_code == 1 and "not sent again (--force sends it again)" in again.stdout
    other = cli(ws, "claims", "submit", str(ws / "out" / "testbridge-000000001.837"), "--clearinghouse",
                "synthhub")
    assert other.exit_code == 1 and "is addressed to TESTBRIDGE (ISA08), not to synthhub" in other.stdout
    stranger = tmp_path / "elsewhere.837"
    stranger.write_bytes((SAMPLES / "837" / "synthetic-claims.837").read_bytes())
    unknown = cli(ws, "claims", "submit", str(stranger))
    assert unknown.exit_code == 1 and "is not an 837 this ledger built or recorded" in unknown.stdout
    assert cli(ws, "claims", "submit", str(built), "--clearinghouse", "nope").exit_code == 2
    assert cli(ws, "claims", "submit").exit_code == 2  # neither files nor --all-built


# -- faults --------------------------------------------------------------------------------------------------


def submitted(ws: Path) -> set[str]:
    return {pcn for pcn, s in claims_json(ws).items() if s == "submitted"}


def test_a_server_that_is_down_sends_nothing_and_marks_nothing(tmp_path, sftp_server, closed_port):
    ws = workspace(tmp_path, sftp_toml(sftp_server, port=closed_port))
    built = build(ws)
    result = cli(ws, "claims", "submit", str(built))
    assert result.exit_code == 1
    assert "failed - synthhub-000000001.837: not sent to synthhub" in result.stdout
    assert "Traceback" not in result.output
    assert submitted(ws) == set()


def test_a_connection_cut_during_the_upload_leaves_no_file_and_a_second_submit_succeeds(tmp_path, sftp_server):
    ws = workspace(tmp_path, sftp_toml(sftp_server))
    built = build(ws)
    sftp_server.fail_writes("*synthhub*", after=1000)
    cut = cli(ws, "claims", "submit", str(built))
    assert cut.exit_code == 1 and "failed" in cut.stdout
    assert not sftp_server.path("/out/synthhub-000000001.837").exists()
    assert submitted(ws) == set()
    retried = cli(ws, "claims", "submit", str(built))
    assert retried.exit_code == 0, retried.output
    assert sftp_server.path("/out/synthhub-000000001.837").read_bytes() == built.read_bytes()


def test_unknown_and_changed_host_keys_are_refused(tmp_path, sftp_server, ssh_keys):
    for known_hosts, said in ((tmp_path / "none", "transport.hostkey.unknown"),
                              (sftp_server.known_hosts(key=ssh_keys.other_host_key, name="changed"),
                               "transport.hostkey.changed")):
        ws_dir = tmp_path / said
        ws_dir.mkdir()
        ws = workspace(ws_dir, sftp_toml(sftp_server, known_hosts=str(known_hosts)))
        built = build(ws)
        config = load_config(ws / "edi.toml")
        ledger = Ledger(f"sqlite:///{ws / 'edi.db'}")
        [r] = submit([str(built)], config, ledger, now=datetime(2025, 3, 1))
        assert r.outcome == "failed" and r.problems[0].code == said
        assert "SHA256:" in r.message
        ledger.close()
        assert submitted(ws) == set()


def test_trusting_a_host_key_after_seeing_its_fingerprint(tmp_path, sftp_server):
    known = tmp_path / "known_hosts"
    ws = workspace(tmp_path, sftp_toml(sftp_server, known_hosts=str(known)))
    refused = runner.invoke(app, ["transport", "trust", "synthhub", "--config", str(ws / "edi.toml")], input="n\n")
    assert refused.exit_code == 1 and not known.exists()
    assert "SHA256:" in refused.stdout
    trusted = runner.invoke(app, ["transport", "trust", "synthhub", "--config", str(ws / "edi.toml")], input="y\n")
    assert trusted.exit_code == 0, trusted.output
    built = build(ws)
    assert cli(ws, "claims", "submit", str(built)).exit_code == 0


def test_a_refused_login_is_a_clear_error(tmp_path, sftp_server, ssh_keys):
    ws = workspace(tmp_path, sftp_toml(sftp_server, key_file=str(ssh_keys.stranger_key)))
    built = build(ws)
    result = cli(ws, "claims", "submit", str(built))
    assert result.exit_code == 1 and "Traceback" not in result.output
    config = load_config(ws / "edi.toml")
    ledger = Ledger(f"sqlite:///{ws / 'edi.db'}")
    [r] = submit([str(built)], config, ledger, now=datetime(2025, 3, 1))
    assert (r.outcome, r.problems[0].code) == ("failed", "transport.auth")
    ledger.close()


def test_garbage_in_the_inbox_is_reported_and_the_rest_imported(tmp_path, sftp_server):
    ws = workspace(tmp_path, sftp_toml(sftp_server))
    built = build(ws)
    assert cli(ws, "claims", "submit", str(built)).exit_code == 0
    arrived = sftp_server.path("/out/synthhub-000000001.837").read_text()
    for name, data in answers(arrived).items():
        sftp_server.put_inbox(name, data)
    sftp_server.put_inbox("notes.txt", b"the clearinghouse's newsletter, not X12\n")
    sftp_server.put_inbox("copy-of-era.835", answers(arrived)["era-0703.835"])  # the same content, another name
    config = load_config(ws / "edi.toml")
    ledger = Ledger(f"sqlite:///{ws / 'edi.db'}")
    results = {r.remote_name: r.outcome for r in fetch(config, ledger, now=datetime(2025, 3, 6),
                                                       archive=ws / "inbox")}
    # the inbox is read in name order: the copy comes first and is imported, the original is then "already"
    assert results == {"ack-0701.999": "imported", "ack-0702.277": "imported", "copy-of-era.835": "imported",
                       "era-0703.835": "already", "notes.txt": "unknown"}
    assert ledger.check() == []
    ledger.close()
    out = cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox"))
    assert out.exit_code == 0 and "5 seen before" in out.stdout  # the unknown file was reported once


def test_after_fetch_deletes_or_moves_only_what_was_imported(tmp_path, sftp_server):
    ws = workspace(tmp_path, sftp_toml(sftp_server) + 'after_fetch = "move:done"\n')
    built = build(ws)
    assert cli(ws, "claims", "submit", str(built)).exit_code == 0
    arrived = sftp_server.path("/out/synthhub-000000001.837").read_text()
    sftp_server.put_inbox("ack-0701.999", answers(arrived)["ack-0701.999"])
    sftp_server.put_inbox("notes.txt", b"not X12\n")
    got = cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox"))
    assert "(removed from the server)" in got.stdout
    assert sorted(p.name for p in sftp_server.path("/in").iterdir() if p.is_file()) == ["notes.txt"]
    assert sftp_server.path("/in/done/ack-0701.999").exists()


def test_unknown_clearinghouses_and_missing_transports_are_usage_errors(tmp_path):
    ws = tmp_path / "office"
    ws.mkdir()
    (ws / "edi.toml").write_text((SAMPLES / "edi.toml").read_text())
    for args in (["inbox", "fetch"], ["inbox", "fetch", "--clearinghouse", "nope"],
                 ["inbox", "fetch", "--clearinghouse", "synthhub"]):
        result = cli(ws, *args)
        assert result.exit_code == 2 and "Traceback" not in result.output, args


# -- what a review found (each reproduced before its fix) ------------------------------------------------------


def record(ws: Path, path: Path) -> None:
    result = runner.invoke(app, ["claims", "record", str(path), "--db", f"sqlite:///{ws / 'edi.db'}"])
    assert result.exit_code == 0, result.output


def directory_workspace(tmp: Path, extra: str = "") -> tuple[Path, Path]:
    hub = tmp / "hub"
    (hub / "out").mkdir(parents=True)
    (hub / "in").mkdir()
    ws = workspace(tmp, f'kind = "directory"\noutbox = "{hub / "out"}"\ninbox = "{hub / "in"}"\n{extra}')
    return ws, hub


def test_all_built_refuses_a_built_file_whose_content_changed(tmp_path):
    ws, hub = directory_workspace(tmp_path)
    built = build(ws)
    built.write_text(built.read_text().replace("CLM*ENC-P-0001*170.5", "CLM*ENC-P-0001*999.99"))
    result = cli(ws, "claims", "submit", "--all-built", "--clearinghouse", "synthhub")
    assert result.exit_code == 1 and "content changed since" in result.stdout
    assert list((hub / "out").iterdir()) == [] and submitted(ws) == set()


def test_all_built_for_one_clearinghouse_leaves_the_others_files_alone(tmp_path):
    ws, hub = directory_workspace(tmp_path)
    build(ws)
    result = cli(ws, "claims", "submit", "--all-built", "--clearinghouse", "synthhub")
    assert result.exit_code == 0, result.output
    assert "testbridge" not in result.stdout


def test_the_same_content_is_sent_once_in_a_run_and_once_across_processes(tmp_path):
    ws, hub = directory_workspace(tmp_path)
    built = build(ws)
    copy = tmp_path / "copy.837"
    copy.write_bytes(built.read_bytes())
    result = cli(ws, "claims", "submit", str(built), str(copy))
    assert result.exit_code == 1 and "sent in this run: not sent twice" in result.stdout
    assert len(list((hub / "out").iterdir())) == 1
    ledger = Ledger(f"sqlite:///{ws / 'edi.db'}")
    from edi.ledger import sha256_of

    rec = ledger.recorded_file(sha256_of(str(built))[0])
    # what a second process would do at the same moment: the database refuses a second unforced submission
    assert ledger.begin_submission(rec.id, clearinghouse="synthhub", remote_name="x", sha256="s", size=1) is None
    ledger.close()


def test_an_upload_the_ledger_could_not_confirm_is_not_sent_again_without_force(tmp_path, monkeypatch):
    ws, hub = directory_workspace(tmp_path)
    built = build(ws)

    def broken(self, submission_id):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Ledger, "finish_submission", broken)
    first = cli(ws, "claims", "submit", str(built))
    assert first.exit_code == 1 and "but the ledger could not record it" in first.stdout
    assert (hub / "out" / "synthhub-000000001.837").exists() and submitted(ws) == set()
    monkeypatch.undo()
    (hub / "out" / "synthhub-000000001.837").unlink()  # the clearinghouse picked it up
    again = cli(ws, "claims", "submit", str(built))
    assert again.exit_code == 1 and "did not finish, and the file may have arrived" in again.stdout
    assert list((hub / "out").iterdir()) == []  # not sent twice behind the user's back
    forced = cli(ws, "claims", "submit", str(built), "--force")
    assert forced.exit_code == 0, forced.output


def test_an_upload_whose_end_is_unknown_stays_unconfirmed(tmp_path, monkeypatch):
    from edi.transport import TransportError
    from edi.transport.directory import DirectoryTransport

    ws, hub = directory_workspace(tmp_path)
    built = build(ws)

    def lost(self, local_path, remote_name):
        exc = TransportError("the connection was lost after the rename was asked for")
        exc.outcome_unknown = True
        raise exc

    monkeypatch.setattr(DirectoryTransport, "upload", lost)
    assert cli(ws, "claims", "submit", str(built)).exit_code == 1
    monkeypatch.undo()
    again = cli(ws, "claims", "submit", str(built))
    assert again.exit_code == 1 and "did not finish" in again.stdout


def test_a_half_written_277ca_is_imported_with_errors_and_left_on_the_server(tmp_path):
    ws, hub = directory_workspace(tmp_path, 'after_fetch = "delete"\n')
    record(ws, SAMPLES / "837" / "synthetic-claims.837")
    (hub / "in" / "today.277").write_bytes((SAMPLES / "acks" / "synthetic-claims.277").read_bytes()[:1000])
    result = cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox"))
    assert result.exit_code == 1 and "imported with errors" in result.stdout
    assert (hub / "in" / "today.277").exists()


def test_a_file_the_importer_cannot_take_is_kept_reported_once_and_the_others_go_on(tmp_path, monkeypatch):
    ws, hub = directory_workspace(tmp_path)
    record(ws, SAMPLES / "837" / "synthetic-claims.837")
    (hub / "in" / "a.835").write_bytes((SAMPLES / "835" / "synthetic-payment.835").read_bytes())
    (hub / "in" / "b.999").write_bytes((SAMPLES / "acks" / "synthetic-claims.999").read_bytes())

    def crash(self, path, **kwargs):
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(Ledger, "import_835", crash)
    config = load_config(ws / "edi.toml")
    ledger = Ledger(f"sqlite:///{ws / 'edi.db'}")
    first = {r.remote_name: r.outcome for r in fetch(config, ledger, now=datetime(2025, 3, 6), archive=ws / "in")}
    assert first == {"a.835": "refused", "b.999": "imported"}
    again = {r.remote_name: r.outcome for r in fetch(config, ledger, now=datetime(2025, 3, 6), archive=ws / "in")}
    assert again == {"a.835": "seen", "b.999": "seen"}
    ledger.close()


def test_a_small_file_reused_under_its_name_with_new_content_is_fetched(tmp_path):
    import os

    ws, hub = directory_workspace(tmp_path)
    record(ws, SAMPLES / "837" / "synthetic-claims.837")
    first = (SAMPLES / "acks" / "synthetic-claims.277").read_bytes()
    daily = hub / "in" / "daily.277"
    daily.write_bytes(first)
    os.utime(daily, (1_741_000_000, 1_741_000_000))
    assert cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox")).exit_code == 0
    second = first.replace(b"STC*A2:20:PR*20250304*WQ*479.64", b"STC*A7:562:85*20250304*U*479.64")  # same size
    assert len(second) == len(first) and second != first
    daily.write_bytes(second)
    os.utime(daily, (1_741_000_000, 1_741_000_000))  # same name, size and time
    result = cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox"))
    assert "synthhub:daily.277: imported" in result.stdout, result.output


def test_archive_names_are_reserved_so_two_fetches_never_share_one(tmp_path):
    from mappings.exchange import _archive_path

    a = _archive_path(tmp_path, "hub", "ack.999", datetime(2025, 3, 6))
    b = _archive_path(tmp_path, "hub", "ack.999", datetime(2025, 3, 6))
    assert (a.name, b.name) == ("ack.999", "ack-2.999")
    odd = _archive_path(tmp_path, "hub", ".hidden\x1b[31m\nname", datetime(2025, 3, 6))
    assert odd.name == "hidden_[31m_name"


def test_usage_errors_of_inbox_fetch(tmp_path):
    ws, hub = directory_workspace(tmp_path)
    record(ws, SAMPLES / "837" / "synthetic-claims.837")
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    for archive in (str(a_file), str(a_file / "sub")):
        result = cli(ws, "inbox", "fetch", "--archive", archive)
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output


def test_a_missing_environment_variable_is_a_usage_error(tmp_path, sftp_server, monkeypatch):
    monkeypatch.delenv("EDI_TEST_NO_SUCH_PASSWORD", raising=False)
    ws = workspace(tmp_path, sftp_toml(sftp_server, key_file=None, password_env="EDI_TEST_NO_SUCH_PASSWORD"))
    built = build(ws)
    assert cli(ws, "claims", "submit", str(built)).exit_code == 2
    assert cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox")).exit_code == 2


def test_control_characters_from_a_server_are_printed_escaped():
    from cli.output import printable

    assert printable("fake\x1b[31m.835\nsynthhub:other: imported") == \
        "fake\\x1b[31m.835\\x0asynthhub:other: imported"


def test_an_inbox_name_that_cannot_be_fetched_safely_is_reported_escaped_and_left(tmp_path):
    ws, hub = directory_workspace(tmp_path)
    record(ws, SAMPLES / "837" / "synthetic-claims.837")
    odd = hub / "in" / "fake\nsynthhub:era.835: imported\x1b[2J.999"
    odd.write_bytes((SAMPLES / "acks" / "synthetic-claims.999").read_bytes())
    result = cli(ws, "inbox", "fetch", "--archive", str(ws / "inbox"))
    assert result.exit_code == 0 and "skipped" in result.stdout
    assert "\x1b" not in result.stdout and "\nsynthhub:era.835" not in result.stdout
    assert odd.exists()
