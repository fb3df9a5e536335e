"""Real SSH servers on 127.0.0.1 for transport tests (a helper module; import the fixtures you use).

* ``ssh_keys`` (session): an :class:`SSHKeys`: a host key, a second host key (to fake a changed one), an
  authorized client key (plain and passphrase-encrypted files) and a client key the server does not know.
* ``sftp_server`` (function): a started :class:`SFTPTestServer`: asyncssh's SFTP server in a background
  thread with its own event loop, on a free port, chrooted to a fresh folder holding ``out/`` and ``in/``.
  ``sftp_server.config(**changes)`` is a ready :class:`TransportConfig` for it (known_hosts trusting its
  key, the client key, timeout 5 s, retries 0, retry_delay 0.01 s); ``sftp_server.fail_writes(pattern, n)``
  drops the connection once ``n`` bytes of a matching file have been written; ``sftp_server.stall_opens(pattern)``
  never answers the opening of a matching file; ``stall_sessions(at)`` never answers a session's channel
  opening (``"open"``), its ``sftp`` subsystem request (``"subsystem"``) or the SFTP greeting (``"sftp"``);
  ``trickle_reads(pattern, delay)`` answers each read of a matching file with one byte after ``delay`` s;
  ``slow_writes(pattern, delay)`` answers each write after ``delay`` s; ``refuse_keys()`` offers password
  logins only; ``put_inbox(name, data)`` and ``path("/out/x")`` reach the served files; ``connections`` and
  ``logins_refused`` count what the server saw.
* ``silent_port`` (function): a port whose listener accepts TCP connections and never says a word.
* ``closed_port`` (function): a port nothing listens on (connection refused).
* ``sshd_server`` (function): OpenSSH's ``sshd`` (when ``/usr/sbin/sshd`` is installed; else the test is
  skipped) as an :class:`OpenSSHServer` with the same ``config()``; it serves the real file system. It takes
  passwords too (``PasswordAuthentication yes``), which, without PAM, it checks against the system's: the
  tests never know one, so a password login there is always refused (which shows that it was tried).

Use: ``pytest_plugins = ["sftp_server"]`` in a test module (tests/ is on sys.path); import the classes for
annotations under ``if TYPE_CHECKING:`` (a plain import before pytest registers the module costs its assertion
rewriting and a warning). Secrets for tests: ``ssh_keys.passphrase``, ``sftp_server.password``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import getpass
import os
import posixpath
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from edi.transport import TransportConfig

USER = "edi"
PASSPHRASE = "correct horse battery staple 7"  # the encrypted client key's passphrase (a test secret)
PASSWORD = "s3cret-Password-for-tests"  # the password the server accepts when started with one
SSHD = Path("/usr/sbin/sshd")


@dataclass(frozen=True)
class SSHKeys:
    folder: Path
    host_key: asyncssh.SSHKey
    other_host_key: asyncssh.SSHKey  # another host key: a known_hosts holding it sees a "changed" key
    client_key: Path  # OpenSSH private key, unencrypted, authorized on the servers
    client_key_encrypted: Path  # the same key encrypted with PASSPHRASE
    stranger_key: Path  # a private key no server authorizes
    client_public: str  # the authorized key's line (authorized_keys format)
    passphrase: str = PASSPHRASE

    def known_hosts_line(self, port: int, key: asyncssh.SSHKey | None = None) -> str:
        public = (key or self.host_key).export_public_key("openssh").decode("ascii").split()
        return f"[127.0.0.1]:{port} {public[0]} {public[1]}\n"


def make_keys(folder: Path) -> SSHKeys:
    """Generate the keys (Ed25519: fast) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    host = asyncssh.generate_private_key("ssh-ed25519")
    other = asyncssh.generate_private_key("ssh-ed25519")
    client = asyncssh.generate_private_key("ssh-ed25519", comment="edi-test")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    paths = {}
    for name, data in (("client", client.export_private_key("openssh")),
                       ("client-encrypted", client.export_private_key("openssh", PASSPHRASE, rounds=50)),
                       ("stranger", stranger.export_private_key("openssh")),
                       ("host", host.export_private_key("openssh"))):
        path = folder / name
        path.write_bytes(data)
        path.chmod(0o600)
        paths[name] = path
    return SSHKeys(folder=folder, host_key=host, other_host_key=other, client_key=paths["client"],
                   client_key_encrypted=paths["client-encrypted"], stranger_key=paths["stranger"],
                   client_public=client.export_public_key("openssh").decode("ascii"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class _WriteFault:
    pattern: str
    after: int
    times: int
    written: dict[bytes, int] = field(default_factory=dict)


class _ServerBase:
    """What both servers share: a known_hosts file and a TransportConfig for them."""

    keys: SSHKeys
    port: int
    workdir: Path
    outbox: str
    inbox: str

    def known_hosts(self, key: asyncssh.SSHKey | None = None, name: str = "known_hosts") -> Path:
        """A known_hosts file in the work folder trusting ``key`` (default: this server's host key)."""
        path = self.workdir / name
        path.write_text(self.keys.known_hosts_line(self.port, key), encoding="ascii")
        return path

    def config(self, **changes: Any) -> TransportConfig:
        base = TransportConfig(kind="sftp", outbox=self.outbox, inbox=self.inbox, host="127.0.0.1",
                               port=self.port, user=self.user, key_file=str(self.keys.client_key),
                               known_hosts=str(self.known_hosts()), timeout=5.0, retries=0, retry_delay=0.01)
        return replace(base, **changes)

    user = USER


class SFTPTestServer(_ServerBase):
    """asyncssh's SFTP server in a thread of its own, serving ``root`` as ``/`` (chroot), on a free port of
    127.0.0.1. Public key login with ``keys.client_key``; password login too when ``password`` is given."""

    def __init__(self, root: Path, keys: SSHKeys, *, workdir: Path, password: str | None = None) -> None:
        self.root, self.keys, self.workdir, self.password = root, keys, workdir, password
        self.outbox, self.inbox = "/out", "/in"
        self.port = 0
        self.connections = 0  # SSH connections accepted (retries show here)
        self.logins_refused = 0
        self._faults: list[_WriteFault] = []
        self._stalls: list[str] = []
        self._stall_sessions: str | None = None
        self._trickles: list[tuple[str, float]] = []
        self._slow_writes: list[tuple[str, float]] = []
        self.accept_keys = True
        self._release: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-test-server", daemon=True)
        self._acceptor: Any = None

    # files in the served folder
    def path(self, remote: str) -> Path:
        return self.root / remote.lstrip("/")

    def put_inbox(self, name: str, data: bytes) -> Path:
        path = self.path(posixpath.join(self.inbox, name))
        path.write_bytes(data)
        return path

    def fail_writes(self, pattern: str, after: int, times: int = 1) -> None:
        """Drop the client's connection once ``after`` bytes of a file whose name matches ``pattern``
        (fnmatch, on the base name) have been written, ``times`` times."""
        self._faults.append(_WriteFault(pattern, after, times))

    def stall_opens(self, pattern: str) -> None:
        """Never answer a request to open a file whose name matches ``pattern`` (until the server stops)."""
        self._stalls.append(pattern)

    def stall_sessions(self, at: str) -> None:
        """From now on, hang every new session after the login: never answer the opening of its channel
        (``"open"``), its request for the ``sftp`` subsystem (``"subsystem"``), or, the subsystem granted, the
        client's SFTP greeting (``"sftp"``)."""
        assert at in ("open", "subsystem", "sftp")
        self._stall_sessions = at

    def trickle_reads(self, pattern: str, delay: float) -> None:
        """Answer each read of a file whose name matches ``pattern`` with a single byte, after ``delay`` s
        (each request is answered well within a timeout longer than ``delay``; the file takes for ever)."""
        self._trickles.append((pattern, delay))

    def slow_writes(self, pattern: str, delay: float) -> None:
        """Answer each write into a file whose name matches ``pattern`` after ``delay`` s."""
        self._slow_writes.append((pattern, delay))

    def refuse_keys(self) -> None:
        """Offer password logins only (a server where the client's key is not registered at all)."""
        self.accept_keys = False

    def start(self) -> SFTPTestServer:
        for folder in (self.outbox, self.inbox):
            self.path(folder).mkdir(parents=True, exist_ok=True)
        self._thread.start()
        self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.port = self._acceptor.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

        if self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
        if self._acceptor is not None:
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> SFTPTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> Any:
        server = self

        def never_answer(*args: object) -> None:
            return None  # a request handler that sends no reply: the client waits

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                server.connections += 1
                self._conn = conn
                # the stalls that asyncssh offers no hook for: per connection, over its private dispatch
                if server._stall_sessions == "open":
                    handlers = dict(conn._packet_handlers)
                    handlers[asyncssh.constants.MSG_CHANNEL_OPEN] = never_answer
                    conn._packet_handlers = handlers
                elif server._stall_sessions == "subsystem":
                    create = conn.create_server_channel

                    def create_server_channel(*args: Any, **kwargs: Any) -> Any:
                        channel = create(*args, **kwargs)
                        channel._process_subsystem_request = never_answer
                        return channel

                    conn.create_server_channel = create_server_channel

            def begin_auth(self, username: str) -> bool:
                if not server.accept_keys:
                    self._conn.set_authorized_keys(None)
                return True

            def password_auth_supported(self) -> bool:
                return server.password is not None

            def validate_password(self, username: str, password: str) -> bool:
                ok = username == USER and password == server.password
                if not ok:
                    server.logins_refused += 1
                return ok

            def auth_completed(self) -> None:
                return None

        class SFTP(asyncssh.SFTPServer):
            def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
                super().__init__(chan, chroot=os.fsencode(server.root))
                self._names: dict[int, bytes] = {}
                self._cut = False  # the connection was cut: requests already read are not served

            async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
                if any(fnmatch.fnmatchcase(os.fsdecode(posixpath.basename(path)), p) for p in server._stalls):
                    assert server._release is not None
                    await server._release.wait()
                handle = super().open(path, pflags, attrs)
                self._names[id(handle)] = posixpath.basename(path)
                return handle

            def _delay(self, file_obj: object, rules: list[tuple[str, float]]) -> float | None:
                name = os.fsdecode(self._names.get(id(file_obj), b""))
                return next((delay for pattern, delay in rules if fnmatch.fnmatchcase(name, pattern)), None)

            async def read(self, file_obj: object, offset: int, size: int) -> bytes:
                delay = self._delay(file_obj, server._trickles)
                if delay is not None:
                    await asyncio.sleep(delay)
                    size = min(size, 1)
                return super().read(file_obj, offset, size)

            async def write(self, file_obj: object, offset: int, data: bytes) -> int:
                delay = self._delay(file_obj, server._slow_writes)
                if delay is not None:
                    await asyncio.sleep(delay)
                return self._write(file_obj, offset, data)

            def _write(self, file_obj: object, offset: int, data: bytes) -> int:
                if self._cut:
                    raise asyncssh.SFTPConnectionLost("connection lost")
                name = self._names.get(id(file_obj), b"")
                for fault in server._faults:
                    if fault.times > 0 and fnmatch.fnmatchcase(os.fsdecode(name), fault.pattern):
                        done = fault.written.get(name, 0)
                        if done + len(data) > fault.after:
                            fault.times -= 1
                            fault.written.pop(name, None)
                            super().write(file_obj, offset, data[: max(0, fault.after - done)])
                            self._cut = True
                            self.connection.abort()  # the network dies mid-file
                            raise asyncssh.SFTPFailure("connection lost")
                        fault.written[name] = done + len(data)
                return super().write(file_obj, offset, data)

        def sftp_factory(chan: asyncssh.SSHServerChannel) -> Any:
            if server._stall_sessions != "sftp":
                return SFTP(chan)

            async def never() -> SFTP:  # the subsystem is granted, the SFTP greeting never answered
                assert server._release is not None
                await server._release.wait()
                return SFTP(chan)

            return never()

        self._release = asyncio.Event()
        authorized = asyncssh.import_authorized_keys(self.keys.client_public)
        return await asyncssh.listen(
            "127.0.0.1", 0, server_factory=Server, server_host_keys=[self.keys.host_key],
            authorized_client_keys=authorized, sftp_factory=sftp_factory, allow_scp=False, login_timeout=30)


class OpenSSHServer(_ServerBase):
    """OpenSSH's sshd in the foreground (``sshd -D -e -f CONFIG``) on a free port of 127.0.0.1, with a
    generated host key and the client key authorized, logging in the current user; ``internal-sftp``
    serves the real file system, so ``outbox`` and ``inbox`` are absolute folders under ``workdir``."""

    def __init__(self, keys: SSHKeys, *, workdir: Path) -> None:
        self.keys, self.workdir = keys, workdir
        self.user = getpass.getuser()
        self.outbox, self.inbox = str(workdir / "out"), str(workdir / "in")
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> OpenSSHServer:
        w = self.workdir
        for folder in ("out", "in"):
            (w / folder).mkdir(parents=True, exist_ok=True)
        host_key = w / "ssh_host_ed25519_key"
        shutil.copyfile(self.keys.folder / "host", host_key)
        host_key.chmod(0o600)
        (w / "authorized_keys").write_text(self.keys.client_public + "\n", encoding="ascii")
        (w / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {w / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {w / 'authorized_keys'}\nStrictModes no\nUsePAM no\n"
            "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\nAllowTcpForwarding no\nX11Forwarding no\n"
            "Subsystem sftp internal-sftp\nLogLevel VERBOSE\n", encoding="ascii")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation folder sshd needs as root
        self._log = open(w / "sshd.log", "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(w / "sshd_config")],
                                         stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(w / 'sshd.log').read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("sshd did not answer within 10 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None
            self._log.close()

    def __enter__(self) -> OpenSSHServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- fixtures -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> SSHKeys:
    return make_keys(tmp_path_factory.mktemp("ssh-keys"))


@pytest.fixture
def sftp_server(tmp_path: Path, ssh_keys: SSHKeys) -> Iterator[SFTPTestServer]:
    root = tmp_path / "sftp-root"
    work = tmp_path / "sftp-client"
    root.mkdir()
    work.mkdir()
    with SFTPTestServer(root, ssh_keys, workdir=work, password=PASSWORD) as server:
        yield server


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that completes TCP connections (the kernel's backlog) and never sends a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def sshd_server(tmp_path: Path, ssh_keys: SSHKeys) -> Iterator[OpenSSHServer]:
    if not SSHD.exists():
        pytest.skip("OpenSSH's server is not installed (/usr/sbin/sshd; Debian: apt-get install openssh-server)")
    work = tmp_path / "sshd"
    work.mkdir()
    with OpenSSHServer(ssh_keys, workdir=work) as server:
        yield server
