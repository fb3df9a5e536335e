"""Transports, case by case: a drop folder, then a real SFTP server on 127.0.0.1 (asyncssh, in a thread; see
tests/sftp_server.py), and OpenSSH's sshd when it is installed.

Each case is a worked example of what a billing team meets: an 837 goes up and appears whole or not at all,
responses come down 0600, a server that is down or silent fails fast with a clear message, a host key that is
unknown or changed is refused with its fingerprint, a refused login is not retried, and no secret is ever in
a message or a log.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko
import pytest

from edi.transport import (
    AlreadyExists,
    AuthFailed,
    BadName,
    ConnectFailed,
    HostKeyChanged,
    HostKeyUnknown,
    KeyFileError,
    NotFound,
    TransportConfig,
    TransportConfigError,
    TransportError,
    TransportTimeout,
    fetch_host_key,
    format_remote_name,
    open_transport,
    trust_host_key,
)
from edi.transport import directory as directory_module

if TYPE_CHECKING:
    from sftp_server import SFTPTestServer, SSHKeys

pytest_plugins = ["sftp_server"]  # fixtures: ssh_keys, sftp_server, silent_port, closed_port, sshd_server

CLAIMS = b"ISA*00*          *00*          *ZZ*SYNBILL01      *ZZ*SYNTHHUB       *250301*0900*^*00501*000000001*0*T*:~" \
    + b"GS*HC*SYNBILL01*SYNTHHUB*20250301*0900*1*X*005010X222A1~" + b"ST*837*0001*005010X222A1~" * 2000
REMIT = b"ISA*00*...~ST*835*0001~BPR*I*776*C*ACH~SE*3*0001~"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def claims_file(tmp_path: Path) -> Path:
    path = tmp_path / "synthhub-000000001.837"
    path.write_bytes(CLAIMS)
    return path


# -- the remote name pattern ----------------------------------------------------------------------------------


def test_remote_name_pattern() -> None:
    now = datetime(2025, 3, 1, 9, 5, 7)
    assert format_remote_name("{name}", name="hub-000000001.837", now=now) == "hub-000000001.837"
    assert format_remote_name("{clearinghouse}_{isa13}_{date}{time}.x12", name="a.837", isa13="000000042",
                              clearinghouse="hub", now=now) == "hub_000000042_20250301090507.x12"
    with pytest.raises(BadName, match=r"uses \{sender\}"):
        format_remote_name("{sender}.837", name="a", now=now)
    with pytest.raises(BadName, match="folder separator"):
        format_remote_name("up/{name}", name="a", now=now)


# -- directory ------------------------------------------------------------------------------------------------


def directory_config(tmp_path: Path, **changes: object) -> TransportConfig:
    for folder in ("out", "in"):
        (tmp_path / "hub" / folder).mkdir(parents=True, exist_ok=True)
    return replace(TransportConfig(kind="directory", outbox=str(tmp_path / "hub" / "out"),
                                   inbox=str(tmp_path / "hub" / "in")), **changes)


def test_directory_upload_list_download(tmp_path: Path, claims_file: Path) -> None:
    cfg = directory_config(tmp_path)
    outbox, inbox = Path(cfg.outbox), Path(cfg.inbox)
    (inbox / "b-999.x12").write_bytes(b"999")
    (inbox / "a-remit.835").write_bytes(REMIT)
    (inbox / ".c.835.part").write_bytes(b"half")  # someone's upload in progress: not listed
    (inbox / "archive").mkdir()  # folders are not listed
    (inbox / "link.835").symlink_to(inbox / "a-remit.835")  # nor symbolic links

    with open_transport(cfg, clearinghouse="hub") as mailbox:
        assert mailbox.upload(claims_file, "hub-000000001.837") == str(outbox / "hub-000000001.837")
        listed = mailbox.list_inbox()
        got = mailbox.download("a-remit.835", tmp_path / "fetched" / "new" / "a-remit.835")

    assert names(outbox) == ["hub-000000001.837"]  # no temporary file left behind
    assert (outbox / "hub-000000001.837").read_bytes() == CLAIMS
    assert [(f.name, f.size) for f in listed] == [("a-remit.835", len(REMIT)), ("b-999.x12", 3)]
    assert listed[0].mtime.tzinfo is not None
    assert got.read_bytes() == REMIT
    assert mode(got) == 0o600 and mode(got.parent) == 0o700 and mode(got.parent.parent) == 0o700
    assert names(got.parent) == ["a-remit.835"]


def test_directory_upload_refuses_to_replace(tmp_path: Path, claims_file: Path) -> None:
    cfg = directory_config(tmp_path)
    already = Path(cfg.outbox) / "hub-000000001.837"
    already.write_bytes(b"sent yesterday")
    with open_transport(cfg, clearinghouse="hub") as mailbox, pytest.raises(AlreadyExists) as err:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert err.value.code == "transport.exists"
    assert "already exists; nothing was replaced" in str(err.value)
    assert already.read_bytes() == b"sent yesterday"
    assert names(Path(cfg.outbox)) == ["hub-000000001.837"]


def test_directory_upload_is_atomic(tmp_path: Path, claims_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up half way: nothing appears under the final name, and the next try succeeds."""
    cfg = directory_config(tmp_path)
    real_copy = shutil.copyfileobj

    def copy_half_then_fail(src, dst, length=0):  # type: ignore[no-untyped-def]
        dst.write(src.read(1000))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(directory_module.shutil, "copyfileobj", copy_half_then_fail)
    with open_transport(cfg, clearinghouse="hub") as mailbox:
        with pytest.raises(TransportError, match="No space left on device") as err:
            mailbox.upload(claims_file, "hub-000000001.837")
        assert err.value.code == "transport.io"
        assert names(Path(cfg.outbox)) == []
        monkeypatch.setattr(directory_module.shutil, "copyfileobj", real_copy)
        mailbox.upload(claims_file, "hub-000000001.837")
    assert (Path(cfg.outbox) / "hub-000000001.837").read_bytes() == CLAIMS


def test_directory_after_fetch_and_errors(tmp_path: Path) -> None:
    cfg = directory_config(tmp_path, after_fetch="move:processed")
    inbox = Path(cfg.inbox)
    (inbox / "r1.835").write_bytes(REMIT)
    (inbox / "r2.835").write_bytes(REMIT)
    with open_transport(cfg, clearinghouse="hub") as mailbox:
        assert mailbox.after_fetch("r1.835") == str(inbox / "processed" / "r1.835")
        (inbox / "r1.835").write_bytes(b"again")  # the same name comes again: never replaces the first
        with pytest.raises(AlreadyExists):
            mailbox.after_fetch("r1.835")
        mailbox.remove("r2.835")
        with pytest.raises(NotFound, match="the inbox has no file r2.835") as err:
            mailbox.download("r2.835", tmp_path / "x")
        assert err.value.code == "transport.notfound"
        with pytest.raises(BadName, match="folder separator"):
            mailbox.download("../hub/out/x", tmp_path / "x")
        with pytest.raises(BadName, match="starts with a dot"):
            mailbox.upload(tmp_path / "x", ".hidden")
        mailbox.download("r1.835", tmp_path / "local.835")
        with pytest.raises(AlreadyExists, match="local.835 already exists"):
            mailbox.download("r1.835", tmp_path / "local.835")
        assert mailbox.download("r1.835", tmp_path / "local.835", replace=True).read_bytes() == b"again"
    assert (inbox / "processed" / "r1.835").read_bytes() == REMIT
    assert names(inbox) == ["processed", "r1.835"]

    gone = replace(cfg, outbox=str(tmp_path / "unmounted"))
    with open_transport(gone, clearinghouse="hub") as mailbox, pytest.raises(NotFound) as err:
        mailbox.upload(tmp_path / "local.835", "a.837")
    assert str(err.value) == f"hub: the outbox {tmp_path / 'unmounted'} is not a folder (is the share mounted?)"


# -- SFTP: the everyday path ----------------------------------------------------------------------------------


def test_sftp_upload_list_download(sftp_server: SFTPTestServer, claims_file: Path, tmp_path: Path) -> None:
    sftp_server.put_inbox("hub-20250301.835", REMIT)
    sftp_server.put_inbox("hub-20250301.999", b"999")
    sftp_server.put_inbox(".hub-20250302.835.part", b"half")  # an upload in progress
    sftp_server.path("/in/archive").mkdir()

    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
        assert mailbox.upload(claims_file, "hub-000000001.837") == "/out/hub-000000001.837"
        listed = mailbox.list_inbox()
        local = mailbox.download("hub-20250301.835", tmp_path / "inbox" / "hub" / "hub-20250301.835")
        assert mailbox.move("hub-20250301.835", "processed") == "/in/processed/hub-20250301.835"
        mailbox.remove("hub-20250301.999")

    assert names(sftp_server.path("/out")) == ["hub-000000001.837"]
    assert sftp_server.path("/out/hub-000000001.837").read_bytes() == CLAIMS
    assert [(f.name, f.size) for f in listed] == [("hub-20250301.835", len(REMIT)), ("hub-20250301.999", 3)]
    assert local.read_bytes() == REMIT
    assert mode(local) == 0o600 and mode(local.parent) == 0o700 and mode(local.parent.parent) == 0o700
    assert names(local.parent) == ["hub-20250301.835"]  # the temporary download file is gone
    assert names(sftp_server.path("/in")) == [".hub-20250302.835.part", "archive", "processed"]
    assert sftp_server.connections == 1  # one connection for the whole block


def test_sftp_upload_is_atomic(sftp_server: SFTPTestServer, claims_file: Path) -> None:
    """The connection dies 10,000 bytes into the upload: no file has the final name (the clearinghouse sees
    nothing), and the next upload of the same file succeeds over the leftover temporary file."""
    sftp_server.fail_writes("*hub-000000001.837*", after=10_000)
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox, \
            pytest.raises(TransportError) as err:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert err.value.code == "transport.io"
    assert str(err.value) == f"hub: upload of hub-000000001.837 to /out: the connection to 127.0.0.1:" \
        f"{sftp_server.port} was lost"
    assert not err.value.outcome_unknown
    assert names(sftp_server.path("/out")) == [".hub-000000001.837.part"]  # only the temporary name
    assert sftp_server.path("/out/.hub-000000001.837.part").stat().st_size <= 10_000

    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert names(sftp_server.path("/out")) == ["hub-000000001.837"]
    assert sftp_server.path("/out/hub-000000001.837").read_bytes() == CLAIMS


def test_sftp_upload_retries_after_a_lost_connection(sftp_server: SFTPTestServer, claims_file: Path) -> None:
    sftp_server.fail_writes("*.837*", after=5_000)
    delays: list[float] = []
    with open_transport(sftp_server.config(retries=2, retry_delay=0.25), clearinghouse="hub",
                        sleep=delays.append) as mailbox:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert delays == [0.25]
    assert sftp_server.connections == 2
    assert names(sftp_server.path("/out")) == ["hub-000000001.837"]
    assert sftp_server.path("/out/hub-000000001.837").read_bytes() == CLAIMS


def test_sftp_upload_refuses_to_replace(sftp_server: SFTPTestServer, claims_file: Path) -> None:
    sftp_server.path("/out/hub-000000001.837").write_bytes(b"sent yesterday")
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox, \
            pytest.raises(AlreadyExists) as err:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert str(err.value) == ("hub: upload of hub-000000001.837 to /out: the outbox already holds "
                              "/out/hub-000000001.837; nothing was replaced")
    assert err.value.code == "transport.exists"
    assert sftp_server.path("/out/hub-000000001.837").read_bytes() == b"sent yesterday"
    assert names(sftp_server.path("/out")) == ["hub-000000001.837"]


def test_sftp_missing_files_and_folders(sftp_server: SFTPTestServer, tmp_path: Path) -> None:
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
        with pytest.raises(NotFound) as err:
            mailbox.download("absent.835", tmp_path / "absent.835")
        assert err.value.code == "transport.notfound"
        assert not (tmp_path / "absent.835").exists() and names(tmp_path) == ["sftp-client", "sftp-root"]
    with open_transport(sftp_server.config(inbox="/nowhere"), clearinghouse="hub") as mailbox, \
            pytest.raises(NotFound, match="listing the inbox /nowhere: no such file or folder"):
        mailbox.list_inbox()


# -- SFTP: servers that are down, silent, or not who they say -------------------------------------------------


def test_a_request_that_is_never_answered_times_out(sftp_server: SFTPTestServer, tmp_path: Path) -> None:
    sftp_server.put_inbox("slow.835", REMIT)
    sftp_server.stall_opens("slow.835")
    started = time.monotonic()
    with open_transport(sftp_server.config(timeout=0.5), clearinghouse="hub") as mailbox, \
            pytest.raises(TransportTimeout) as err:
        mailbox.download("slow.835", tmp_path / "got" / "slow.835")
    assert time.monotonic() - started < 3
    assert str(err.value) == (f"hub: download of /in/slow.835: no answer from 127.0.0.1:{sftp_server.port} "
                              "within 0.5 s")
    assert names(tmp_path / "got") == []  # no temporary file left behind


def test_server_down_fails_after_the_retries(sftp_server: SFTPTestServer, closed_port: int) -> None:
    delays: list[float] = []
    cfg = sftp_server.config(port=closed_port, retries=3, retry_delay=0.01)
    started = time.monotonic()
    with pytest.raises(ConnectFailed) as err:
        open_transport(cfg, clearinghouse="hub", sleep=delays.append).connect()
    assert time.monotonic() - started < 2
    assert str(err.value) == (f"hub: 127.0.0.1:{closed_port}: connection refused (is the server up, and the "
                              "port right?) (4 attempts)")
    assert err.value.code == "transport.connect"
    assert delays == [0.01, 0.02, 0.04]  # exponential backoff


def test_server_down_with_real_sleeps_is_fast(sftp_server: SFTPTestServer, closed_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectFailed, match=r"\(3 attempts\)"), \
            open_transport(sftp_server.config(port=closed_port, retries=2, retry_delay=0.01), clearinghouse="hub"):
        pass
    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_times_out(sftp_server: SFTPTestServer, silent_port: int) -> None:
    """TCP is accepted, but no SSH greeting ever comes: an error after ``timeout``, not a hang."""
    cfg = sftp_server.config(port=silent_port, timeout=0.5, retries=1, retry_delay=0.01)
    started = time.monotonic()
    with pytest.raises(TransportTimeout) as err, open_transport(cfg, clearinghouse="hub"):
        pass
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 4
    assert err.value.code == "transport.timeout"
    assert f"hub: 127.0.0.1:{silent_port}: no SSH greeting" in str(err.value)
    assert "within 0.5 s" in str(err.value) and str(err.value).endswith("(2 attempts)")


def test_unknown_host_key_is_refused(sftp_server: SFTPTestServer, ssh_keys: SSHKeys) -> None:
    empty = sftp_server.workdir / "empty_known_hosts"
    empty.write_text("# nothing trusted yet\n")
    cfg = sftp_server.config(known_hosts=str(empty), retries=3)
    with pytest.raises(HostKeyUnknown) as err, open_transport(cfg, clearinghouse="hub"):
        pass
    fp = ssh_keys.host_key.get_fingerprint("sha256")
    assert str(err.value) == (f"hub: the host key of [127.0.0.1]:{sftp_server.port} is not in {empty} "
                              f"(ssh-ed25519 {fp}); check this fingerprint with the clearinghouse, then run "
                              "`edi transport trust hub`")
    assert (err.value.code, err.value.key_type, err.value.fingerprint) == ("transport.hostkey.unknown",
                                                                         "ssh-ed25519", fp)
    assert sftp_server.connections == 1  # never retried

    missing = sftp_server.config(known_hosts=str(sftp_server.workdir / "absent" / "known_hosts"))
    with pytest.raises(HostKeyUnknown), open_transport(missing, clearinghouse="hub"):
        pass


def test_changed_host_key_is_refused(sftp_server: SFTPTestServer, ssh_keys: SSHKeys) -> None:
    old = sftp_server.known_hosts(ssh_keys.other_host_key, name="old_known_hosts")
    cfg = sftp_server.config(known_hosts=str(old), retries=3)
    with pytest.raises(HostKeyChanged) as err, open_transport(cfg, clearinghouse="hub"):
        pass
    new_fp, old_fp = ssh_keys.host_key.get_fingerprint("sha256"), ssh_keys.other_host_key.get_fingerprint("sha256")
    assert err.value.code == "transport.hostkey.changed"
    assert str(err.value) == (f"hub: the host key of [127.0.0.1]:{sftp_server.port} has CHANGED: it presented "
                              f"ssh-ed25519 {new_fp}, not the ssh-ed25519 {old_fp} that {old} holds for it; "
                              "refused (this can be an attack); confirm the new key with the clearinghouse before "
                              "trusting it")
    assert sftp_server.connections == 1


def test_known_hosts_lines_are_matched_as_openssh_does(sftp_server: SFTPTestServer, ssh_keys: SSHKeys) -> None:
    name = f"[127.0.0.1]:{sftp_server.port}"
    key = ssh_keys.known_hosts_line(sftp_server.port).split(" ", 1)[1]
    other = ssh_keys.known_hosts_line(sftp_server.port, ssh_keys.other_host_key).split(" ", 1)[1]
    hashed = paramiko.HostKeys.hash_host(name)

    def connects(text: str) -> bool:
        path = sftp_server.workdir / "known_hosts_case"
        path.write_text(text)
        try:
            with open_transport(sftp_server.config(known_hosts=str(path)), clearinghouse="hub"):
                return True
        except HostKeyUnknown:
            return False

    assert connects(f"not a host key line\n@cert-authority * {key}example.org {other}{hashed} {key}")
    assert connects(f"example.org,[127.0.0.?]:{sftp_server.port} {key}")
    assert not connects(f"*,!{name} {key}")  # a negated name wins
    assert not connects(f"127.0.0.1 {key}")  # on another port than 22 the name is [host]:port
    assert not connects(f"@cert-authority {name} {key}")  # markers trust nothing


def test_fetch_and_trust_a_host_key(sftp_server: SFTPTestServer, ssh_keys: SSHKeys, tmp_path: Path) -> None:
    """What `edi transport trust NAME` will do: show the key, then record it (file 0600, folder 0700)."""
    known = tmp_path / "home" / ".ssh" / "known_hosts"
    cfg = sftp_server.config(known_hosts=str(known))
    key_type, fp, key = fetch_host_key(cfg, clearinghouse="hub")
    assert (key_type, fp) == ("ssh-ed25519", ssh_keys.host_key.get_fingerprint("sha256"))
    assert not known.exists()  # fetching trusts nothing

    assert trust_host_key(cfg, key) is True
    assert mode(known) == 0o600 and mode(known.parent) == 0o700
    assert known.read_text() == f"[127.0.0.1]:{sftp_server.port} ssh-ed25519 {key.get_base64()}\n"
    assert trust_host_key(cfg, key) is False  # already there: nothing added
    with open_transport(cfg, clearinghouse="hub") as mailbox:
        assert mailbox.list_inbox() == []

    other = paramiko.PKey.from_type_string("ssh-ed25519", ssh_keys.other_host_key.public_data)
    with pytest.raises(HostKeyChanged, match="already holds another ssh-ed25519 key"):
        trust_host_key(cfg, other)
    with known.open("a") as f:
        f.write("# a comment kept\nexample.org ssh-ed25519 " + key.get_base64() + "\n")
    assert trust_host_key(cfg, other, replace=True) is True
    lines = known.read_text().splitlines()
    assert lines == ["# a comment kept", f"example.org ssh-ed25519 {key.get_base64()}",
                     f"[127.0.0.1]:{sftp_server.port} ssh-ed25519 {other.get_base64()}"]
    with pytest.raises(HostKeyChanged), open_transport(cfg, clearinghouse="hub"):
        pass


# -- SFTP: logins and secrets ---------------------------------------------------------------------------------


def test_a_refused_login_is_not_retried(sftp_server: SFTPTestServer, ssh_keys: SSHKeys) -> None:
    cfg = sftp_server.config(key_file=str(ssh_keys.stranger_key), retries=3)
    with pytest.raises(AuthFailed) as err, open_transport(cfg, clearinghouse="hub"):
        pass
    assert err.value.code == "transport.auth"
    assert str(err.value) == (f"hub: 127.0.0.1:{sftp_server.port}: the server refused the login of user edi "
                              "with its key; check user, key_file (the key registered with the clearinghouse) "
                              "and the password")
    assert sftp_server.connections == 1


def test_password_from_the_environment(sftp_server: SFTPTestServer, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = sftp_server.config(key_file=None, password_env="EDI_TEST_HUB_PASSWORD", retries=3)
    monkeypatch.setenv("EDI_TEST_HUB_PASSWORD", sftp_server.password)
    with open_transport(cfg, clearinghouse="hub") as mailbox:
        assert mailbox.list_inbox() == []

    monkeypatch.setenv("EDI_TEST_HUB_PASSWORD", "wrong " + sftp_server.password)
    with pytest.raises(AuthFailed, match="with the password;"), open_transport(cfg, clearinghouse="hub"):
        pass
    assert sftp_server.logins_refused == 1  # one try, not four

    monkeypatch.delenv("EDI_TEST_HUB_PASSWORD")
    with pytest.raises(TransportConfigError) as err, open_transport(cfg, clearinghouse="hub"):
        pass
    assert str(err.value) == "hub: the environment variable EDI_TEST_HUB_PASSWORD (named by password_env) is not set"
    assert err.value.code == "transport.config"


def test_key_passphrase_from_the_environment(sftp_server: SFTPTestServer, ssh_keys: SSHKeys,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    encrypted = str(ssh_keys.client_key_encrypted)
    cfg = sftp_server.config(key_file=encrypted, passphrase_env="EDI_TEST_KEY_PASSPHRASE")
    monkeypatch.setenv("EDI_TEST_KEY_PASSPHRASE", ssh_keys.passphrase)
    with open_transport(cfg, clearinghouse="hub") as mailbox:
        assert mailbox.list_inbox() == []

    monkeypatch.setenv("EDI_TEST_KEY_PASSPHRASE", "not the passphrase")
    with pytest.raises(KeyFileError) as err, open_transport(cfg, clearinghouse="hub"):
        pass
    assert str(err.value) == (f"hub: key_file {encrypted} cannot be decrypted with the passphrase from "
                              "EDI_TEST_KEY_PASSPHRASE, or is not a private key")
    assert err.value.code == "transport.key"

    with pytest.raises(KeyFileError, match="is encrypted: name the environment variable that holds its "
                       "passphrase with passphrase_env"), \
            open_transport(replace(cfg, passphrase_env=None), clearinghouse="hub"):
        pass
    connections = sftp_server.connections
    with pytest.raises(KeyFileError, match="does not exist"), \
            open_transport(replace(cfg, key_file=encrypted + ".absent"), clearinghouse="hub"):
        pass
    assert sftp_server.connections == connections  # key problems are found before connecting


def test_no_secret_in_any_message_or_log(sftp_server: SFTPTestServer, ssh_keys: SSHKeys, silent_port: int,
                                         monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("EDI_TEST_PASSWORD", "wrong-" + sftp_server.password)
    monkeypatch.setenv("EDI_TEST_PASSPHRASE", "wrong-" + ssh_keys.passphrase)
    secret_cfgs = [
        sftp_server.config(key_file=None, password_env="EDI_TEST_PASSWORD"),
        sftp_server.config(key_file=str(ssh_keys.stranger_key), password_env="EDI_TEST_PASSWORD"),
        sftp_server.config(key_file=str(ssh_keys.client_key_encrypted), passphrase_env="EDI_TEST_PASSPHRASE"),
        sftp_server.config(port=silent_port, timeout=0.3, password_env="EDI_TEST_PASSWORD"),
    ]
    messages = []
    for cfg in secret_cfgs:
        with pytest.raises(TransportError) as err, open_transport(cfg, clearinghouse="hub"):
            pass
        messages += [str(err.value), repr(err.value), repr(cfg)]
        cause = err.value.__cause__ or err.value.__context__
        messages += [repr(cause)] if cause is not None else []
    text = "\n".join(messages + [record.getMessage() for record in caplog.records])
    assert "refused the login" in text and "cannot be decrypted" in text and "no SSH greeting" in text
    for secret in (sftp_server.password, ssh_keys.passphrase):
        assert secret not in text


# -- OpenSSH ----------------------------------------------------------------------------------------------------


def test_openssh_server_round_trip(sshd_server, claims_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same transport against OpenSSH's own sshd and internal-sftp (skipped when sshd is absent)."""
    inbox = Path(sshd_server.inbox)
    (inbox / "hub-20250301.835").write_bytes(REMIT)
    with open_transport(sshd_server.config(), clearinghouse="hub") as mailbox:
        final = mailbox.upload(claims_file, "hub-000000001.837")
        with pytest.raises(AlreadyExists):
            mailbox.upload(claims_file, "hub-000000001.837")
        listed = mailbox.list_inbox()
        local = mailbox.download("hub-20250301.835", tmp_path / "fetched" / "hub-20250301.835")
        mailbox.after_fetch("hub-20250301.835")
    assert final == f"{sshd_server.outbox}/hub-000000001.837"
    assert names(Path(sshd_server.outbox)) == ["hub-000000001.837"]
    assert Path(final).read_bytes() == CLAIMS
    assert [f.name for f in listed] == ["hub-20250301.835"]
    assert local.read_bytes() == REMIT and mode(local) == 0o600
    assert os.path.exists(inbox / "hub-20250301.835")  # after_fetch = "leave"
