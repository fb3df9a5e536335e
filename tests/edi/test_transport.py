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
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko
import pytest

from edi.transport import (
    AlreadyExists,
    AuthFailed,
    BadName,
    ConnectFailed,
    HostKeyChanged,
    HostKeyUnknown,
    Inbox,
    KeyFileError,
    NotFound,
    SkippedFile,
    TransportConfig,
    TransportConfigError,
    TransportError,
    TransportTimeout,
    fetch_host_key,
    format_remote_name,
    open_transport,
    trust_host_key,
)
from edi.transport import base as base_module
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


#: One of our temporary names: ``.<name>.edi-<12 hex digits>.part``.
OUR_TEMP = re.compile(r"\.(?P<name>.*)\.edi-[0-9a-f]{12}\.part")


def bounded(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()`` in a thread, which must be done within ``seconds`` (a hang fails the test instead of
    hanging it); its exception, if any, is raised here."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed over to the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("result")


def age(path: Path, seconds: float) -> Path:
    """Make ``path`` look ``seconds`` old."""
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


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


def test_directory_two_uploads_of_one_name(tmp_path: Path, claims_file: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A second upload of the same name starts, and ends, while the first is half way: each writes its own
    temporary file, the second wins whole, the first is refused, and no half file is ever published."""
    cfg = directory_config(tmp_path)
    other = tmp_path / "other.837"
    other.write_bytes(CLAIMS.replace(b"ST*837", b"ST*838"))
    real_copy = shutil.copyfileobj
    state = {"first": True}

    def copy_with_a_rival(src, dst, length=0):  # type: ignore[no-untyped-def]
        if not state["first"]:
            return real_copy(src, dst, length)
        state["first"] = False
        dst.write(src.read(len(CLAIMS) // 2))
        with open_transport(cfg, clearinghouse="hub") as rival:
            rival.upload(other, "hub-000000001.837")
        return real_copy(src, dst, length)

    monkeypatch.setattr(directory_module.shutil, "copyfileobj", copy_with_a_rival)
    with open_transport(cfg, clearinghouse="hub") as mailbox, pytest.raises(AlreadyExists):
        mailbox.upload(claims_file, "hub-000000001.837")
    assert names(Path(cfg.outbox)) == ["hub-000000001.837"]  # no temporary file left either
    assert (Path(cfg.outbox) / "hub-000000001.837").read_bytes() == other.read_bytes()


def test_directory_upload_removes_old_leftovers(tmp_path: Path, claims_file: Path) -> None:
    """Our temporary files more than an hour old are leftovers of a crash: the next upload removes them.
    Younger ones (an upload in progress elsewhere) and other tools' files stay."""
    cfg = directory_config(tmp_path)
    outbox = Path(cfg.outbox)
    old = outbox / ".hub-0.837.edi-0123456789ab.part"
    old.write_bytes(b"half")
    age(old, 7200)
    young = outbox / ".hub-1.837.edi-ba9876543210.part"
    young.write_bytes(b"half")
    for foreign in (".hub-2.837.part", ".report.filepart", "notes.part"):
        (outbox / foreign).write_bytes(b"theirs")
        age(outbox / foreign, 7200)
    with open_transport(cfg, clearinghouse="hub") as mailbox:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert not old.exists()
    assert names(outbox) == [".hub-1.837.edi-ba9876543210.part", ".hub-2.837.part", ".report.filepart",
                             "hub-000000001.837", "notes.part"]


def test_inbox_names_a_transport_cannot_fetch(tmp_path: Path) -> None:
    """Hidden files are not the clearinghouse's: not listed. A name with a control character or a backslash
    is set aside with the reason. Every name listed, the longest a file system allows included, downloads,
    into any local path (the temporary name beside it is shortened to fit)."""
    cfg = directory_config(tmp_path)
    inbox = Path(cfg.inbox)
    long_name = "R" * 250 + ".835"  # 254 bytes: its temporary name must be shortened
    for name in (".DS_Store", ".hub-1.835.part", long_name, "ok.999", "bad\nname.835", "back\\slash.835"):
        (inbox / name).write_bytes(REMIT)
    with open_transport(cfg, clearinghouse="hub") as mailbox:
        listed = mailbox.list_inbox()
        assert isinstance(listed, Inbox) and isinstance(listed, list)
        assert [f.name for f in listed] == [long_name, "ok.999"]
        assert listed.skipped == [SkippedFile("back\\slash.835", "holds a folder separator"),
                                  SkippedFile("bad\nname.835", "holds a control character")]
        for remote in listed:
            assert mailbox.download(remote.name, tmp_path / "got" / remote.name).read_bytes() == REMIT
        longest = tmp_path / "got" / ("L" * 255)
        assert mailbox.download(long_name, longest).read_bytes() == REMIT
    assert names(tmp_path / "got") == sorted([long_name, "ok.999", "L" * 255])


def test_the_longest_names_upload(tmp_path: Path, claims_file: Path, sftp_server: SFTPTestServer) -> None:
    """A name of 255 bytes (what file systems allow; here with 2-byte characters) uploads: the temporary
    name beside it is shortened to fit. One byte more is refused before anything is sent."""
    longest = "é" * 125 + "x.837"  # 250 + 5 bytes
    assert len(longest.encode()) == 255
    for cfg, outbox in ((directory_config(tmp_path), tmp_path / "hub" / "out"),
                        (sftp_server.config(), sftp_server.path("/out"))):
        with open_transport(cfg, clearinghouse="hub") as mailbox:
            mailbox.upload(claims_file, longest)
            with pytest.raises(BadName, match="is longer than 255 bytes"):
                mailbox.upload(claims_file, "x" + longest)
        assert names(outbox) == [longest]
        assert (outbox / longest).read_bytes() == CLAIMS


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
    nothing), and the next upload of the same file succeeds beside the leftover temporary file, which an
    upload on a later connection removes once it is an hour old."""
    sftp_server.fail_writes("*hub-000000001.837*", after=10_000)
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox, \
            pytest.raises(TransportError) as err:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert err.value.code == "transport.io"
    assert str(err.value) == f"hub: upload of hub-000000001.837 to /out: the connection to 127.0.0.1:" \
        f"{sftp_server.port} was lost"
    assert not err.value.outcome_unknown
    [leftover] = names(sftp_server.path("/out"))  # only a temporary name
    assert OUR_TEMP.fullmatch(leftover) and OUR_TEMP.fullmatch(leftover)["name"] == "hub-000000001.837"
    assert sftp_server.path(f"/out/{leftover}").stat().st_size <= 10_000

    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert names(sftp_server.path("/out")) == sorted([leftover, "hub-000000001.837"])  # too young to go
    assert sftp_server.path("/out/hub-000000001.837").read_bytes() == CLAIMS

    age(sftp_server.path(f"/out/{leftover}"), 7200)
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
        mailbox.upload(claims_file, "hub-000000002.837")
    assert names(sftp_server.path("/out")) == ["hub-000000001.837", "hub-000000002.837"]


def test_sftp_upload_removes_only_our_old_leftovers(sftp_server: SFTPTestServer, claims_file: Path) -> None:
    out = sftp_server.path("/out")
    for name, seconds in ((".a.837.edi-0123456789ab.part", 7200), (".b.837.edi-ba9876543210.part", 60),
                          (".c.837.part", 7200), (".d.837.filepart", 7200)):
        (out / name).write_bytes(b"half")
        age(out / name, seconds)
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
        mailbox.upload(claims_file, "hub-000000001.837")
    assert names(out) == [".b.837.edi-ba9876543210.part", ".c.837.part", ".d.837.filepart", "hub-000000001.837"]

    (out / "hub-000000001.837").unlink()
    out.chmod(0o300)  # an outbox that cannot be listed (write-only): uploads work, nothing is swept
    try:
        age(out / ".b.837.edi-ba9876543210.part", 7200)
        with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
            mailbox.upload(claims_file, "hub-000000001.837")
    finally:
        out.chmod(0o700)
    if os.geteuid() != 0:  # root lists whatever the mode
        assert ".b.837.edi-ba9876543210.part" in names(out)


def test_sftp_two_uploads_of_one_name(sftp_server: SFTPTestServer, claims_file: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Another upload of the same name (another process, another connection) starts and ends while the first
    is half way: each writes its own temporary file; the rival's file is published whole, the first upload is
    refused (``transport.exists``) and removes its temporary file."""
    other = tmp_path / "other.837"
    other.write_bytes(CLAIMS.replace(b"ST*837", b"ST*838"))
    real_write = paramiko.SFTPFile.write
    state = {"first": True}

    def write_with_a_rival(self, data):  # type: ignore[no-untyped-def]
        if state["first"]:
            state["first"] = False
            with open_transport(sftp_server.config(), clearinghouse="hub") as rival:
                rival.upload(other, "hub-000000001.837")
        return real_write(self, data)

    monkeypatch.setattr(paramiko.SFTPFile, "write", write_with_a_rival)
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox, \
            pytest.raises(AlreadyExists, match="the outbox already holds /out/hub-000000001.837"):
        mailbox.upload(claims_file, "hub-000000001.837")
    assert names(sftp_server.path("/out")) == ["hub-000000001.837"]
    assert sftp_server.path("/out/hub-000000001.837").read_bytes() == other.read_bytes()


def test_sftp_inbox_names_a_transport_cannot_fetch(sftp_server: SFTPTestServer, tmp_path: Path) -> None:
    """As for a folder: hidden files unlisted, unfetchable names (a control character, a backslash, bytes
    that are not UTF-8, which paramiko's own listing cannot even read) set aside with the reason, and every
    name listed downloads into any local path."""
    long_name = "R" * 250 + ".835"
    for name in (".DS_Store", long_name, "ok.999", "bad\x1bname.835", "back\\slash.835"):
        sftp_server.put_inbox(name, REMIT)
    (sftp_server.path("/in") / os.fsdecode(b"latin-\xe9.835")).write_bytes(REMIT)
    with open_transport(sftp_server.config(), clearinghouse="hub") as mailbox:
        listed = mailbox.list_inbox()
        assert [f.name for f in listed] == [long_name, "ok.999"]
        assert [(f.name, f.size) for f in listed] == [(long_name, len(REMIT)), ("ok.999", len(REMIT))]
        assert listed.skipped == [SkippedFile("back\\slash.835", "holds a folder separator"),
                                  SkippedFile("bad\x1bname.835", "holds a control character"),
                                  SkippedFile(os.fsdecode(b"latin-\xe9.835"), "is not valid text")]
        for remote in listed:
            assert mailbox.download(remote.name, tmp_path / "got" / remote.name).read_bytes() == REMIT
        assert mailbox.download(long_name, tmp_path / "got" / ("L" * 255)).read_bytes() == REMIT
        with pytest.raises(BadName, match="starts with a dot"):
            mailbox.download(".DS_Store", tmp_path / "got" / "x")
    assert names(tmp_path / "got") == sorted([long_name, "ok.999", "L" * 255])


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


@pytest.mark.parametrize("at", ["open", "subsystem", "sftp"])
def test_a_session_that_stalls_after_the_login_times_out(sftp_server: SFTPTestServer, at: str) -> None:
    """The login succeeds, then the server says nothing more: when the session channel is asked for, when the
    sftp subsystem is, or when the SFTP greeting is sent. Each step is bounded by ``timeout``."""
    sftp_server.stall_sessions(at)
    cfg = sftp_server.config(timeout=0.5)
    started = time.monotonic()
    with pytest.raises(TransportTimeout) as err:
        bounded(5, lambda: open_transport(cfg, clearinghouse="hub").connect())
    assert time.monotonic() - started < 3
    assert str(err.value) == f"hub: 127.0.0.1:{sftp_server.port}: the SFTP session did not start within 0.5 s"
    assert err.value.code == "transport.timeout" and err.value.transient


def test_a_trickling_download_times_out(sftp_server: SFTPTestServer, tmp_path: Path) -> None:
    """Each read is answered in 0.2 s, well within the 0.5 s timeout, but with one byte: the 100 bytes would
    take 20 s. A transfer gets twice ``timeout`` plus its size at 64 KiB/s, all told."""
    sftp_server.put_inbox("slow.999", b"9" * 100)
    sftp_server.trickle_reads("slow.999", 0.2)
    sftp_server.put_inbox("quick.999", b"9" * 100)
    started = time.monotonic()
    with open_transport(sftp_server.config(timeout=0.5), clearinghouse="hub") as mailbox:
        with pytest.raises(TransportTimeout) as err:
            bounded(5, lambda: mailbox.download("slow.999", tmp_path / "got" / "slow.999"))
        assert time.monotonic() - started < 2.5
        assert err.value.code == "transport.timeout"
        assert str(err.value).startswith("hub: download of /in/slow.999: not done within 1 s (")
        assert str(err.value).endswith(" of 100 bytes; a transfer may take 1 s plus its size at 64 KiB/s)")
        assert names(tmp_path / "got") == []  # no temporary file left behind
        # the session is reopened for what comes next
        assert mailbox.download("quick.999", tmp_path / "got" / "quick.999").read_bytes() == b"9" * 100
    assert sftp_server.connections == 2


def test_a_slow_upload_times_out(sftp_server: SFTPTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each write is answered in 0.2 s (within the timeout): 32 of them take 6.4 s, more than the 2 x 0.5 s
    plus 1 MiB at the floor rate (made 1 MiB/s here, to keep the test short) allowed. Nothing is published."""
    monkeypatch.setattr(base_module, "MIN_TRANSFER_RATE", 1 << 20)
    big = tmp_path / "big.837"
    big.write_bytes(b"x" * (1 << 20))
    sftp_server.slow_writes("*big.837*", 0.2)
    started = time.monotonic()
    with open_transport(sftp_server.config(timeout=0.5), clearinghouse="hub") as mailbox, \
            pytest.raises(TransportTimeout) as err:
        bounded(5, lambda: mailbox.upload(big, "big.837"))
    assert time.monotonic() - started < 3.5
    assert str(err.value).startswith("hub: upload of big.837 to /out: not done within 2 s (")
    assert str(err.value).endswith(" of 1048576 bytes; a transfer may take 1 s plus its size at 1024 KiB/s)")
    assert not err.value.outcome_unknown
    assert "big.837" not in names(sftp_server.path("/out"))


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


def test_key_then_password(sftp_server: SFTPTestServer, ssh_keys: SSHKeys, monkeypatch: pytest.MonkeyPatch) -> None:
    """key_file and password_env: the key is tried, then the password, on the same connection (asyncssh
    drops a client that asks for the login service twice, as paramiko does by itself)."""
    monkeypatch.setenv("EDI_TEST_HUB_PASSWORD", sftp_server.password)
    cfg = sftp_server.config(key_file=str(ssh_keys.stranger_key), password_env="EDI_TEST_HUB_PASSWORD")
    with open_transport(cfg, clearinghouse="hub") as mailbox:  # a key the server does not know
        assert mailbox.list_inbox() == []
    assert sftp_server.connections == 1

    sftp_server.refuse_keys()  # a server that takes passwords only: the registered key is not even offered
    with open_transport(sftp_server.config(password_env="EDI_TEST_HUB_PASSWORD"), clearinghouse="hub") as mailbox:
        assert mailbox.list_inbox() == []
    assert sftp_server.connections == 2

    monkeypatch.setenv("EDI_TEST_HUB_PASSWORD", "wrong " + sftp_server.password)
    with pytest.raises(AuthFailed, match="with its key and the password;"), \
            open_transport(replace(cfg, retries=2), clearinghouse="hub"):
        pass
    assert sftp_server.connections == 3 and sftp_server.logins_refused == 1  # refused: not tried again


def test_timing_that_no_connection_could_use_is_refused(sftp_server: SFTPTestServer) -> None:
    for key, value in (("timeout", float("nan")), ("timeout", float("inf")), ("timeout", 0),
                       ("retry_delay", float("nan")), ("retry_delay", float("-inf")), ("retry_delay", -1)):
        with pytest.raises(TransportConfigError, match=f"^hub: {key} must be a finite number of seconds"):
            open_transport(sftp_server.config(**{key: value}), clearinghouse="hub")
    with pytest.raises(TransportConfigError, match="^hub: retries must be a whole number"):
        open_transport(sftp_server.config(retries=-1), clearinghouse="hub")
    assert sftp_server.connections == 0


def test_a_variable_name_that_may_be_the_secret_is_not_echoed(sftp_server: SFTPTestServer, ssh_keys: SSHKeys) -> None:
    pasted = "hunter2 Sup3r-secret"
    for cfg in (sftp_server.config(key_file=None, password_env=pasted),
                sftp_server.config(key_file=str(ssh_keys.client_key_encrypted), passphrase_env=pasted)):
        option = "password_env" if cfg.password_env else "passphrase_env"
        with pytest.raises(TransportConfigError) as err, open_transport(cfg, clearinghouse="hub"):
            pass
        assert str(err.value) == (f"hub: the environment variable named by {option} is not set (and its name, not "
                                  "shown, is not one an environment variable would have, capitals, digits and "
                                  "_: is it the secret itself?)")
        assert "hunter2" not in str(err.value)


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


def test_openssh_key_then_password(sshd_server, ssh_keys: SSHKeys, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """OpenSSH answers a password attempt after a refused key on the same connection: refused here (the
    tests know no system password), and sshd's log shows the password was checked."""
    monkeypatch.setenv("EDI_TEST_HUB_PASSWORD", "not-the-password")
    cfg = sshd_server.config(key_file=str(ssh_keys.stranger_key), password_env="EDI_TEST_HUB_PASSWORD", retries=2)
    with pytest.raises(AuthFailed, match="with its key and the password;"), open_transport(cfg, clearinghouse="hub"):
        pass
    log_text = (sshd_server.workdir / "sshd.log").read_text(errors="replace")
    failed = re.findall(r"Failed (publickey|password) for \S+ from 127\.0\.0\.1 port (\d+)", log_text)
    assert [method for method, _ in failed] == ["publickey", "password"]  # once each: not retried
    assert failed[0][1] == failed[1][1]  # from the same client port: one connection

    with open_transport(replace(cfg, key_file=str(ssh_keys.client_key)), clearinghouse="hub") as mailbox:
        assert mailbox.list_inbox() == []  # the registered key: the password is not needed
