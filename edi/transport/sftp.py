"""The ``sftp`` transport: a clearinghouse's SFTP mailbox, through paramiko.

Why paramiko: its API is synchronous, which fits a command-line tool that moves a few files and exits (no
event loop to run); it is the SSH library most Python tools use, pure Python over ``cryptography``; and it
reads OpenSSH's ``known_hosts`` files (hashed names included) and private key formats, so the keys a billing
team already has work unchanged.

Safety, in the order a connection meets it:

* **Timeouts everywhere.** ``timeout`` bounds the TCP connect, the wait for the server's SSH greeting, the
  key exchange, the login, each step of opening the SFTP session (the channel, the ``sftp`` subsystem, the
  SFTP greeting) and every SFTP request, so a server that accepts the connection and then says nothing is
  an error after that long, never a hang. A whole upload or download must also end within twice ``timeout``
  plus its size at 64 KiB/s (``MIN_TRANSFER_RATE``): a server that answers every request but trickles the
  bytes is a ``transport.timeout`` too. Where paramiko has no timeout of its own (the subsystem request, a
  transfer), a watchdog closes the connection when the time is up, which ends the blocked call.
* **Host keys are checked, never trusted on first use.** The key the server presents must be the one the
  configured ``known_hosts`` file (default ``~/.ssh/known_hosts``) holds for it (``host``, or ``[host]:port``
  on another port than 22). An unknown key is refused (``transport.hostkey.unknown``, with its type and
  SHA256 fingerprint, to be checked with the clearinghouse and trusted with ``edi transport trust NAME``);
  a different key is refused (``transport.hostkey.changed``). :func:`fetch_host_key` and
  :func:`trust_host_key` are that command's two steps.
* **Secrets only from the environment.** ``passphrase_env`` names the variable holding the key file's
  passphrase, ``password_env`` the one holding a password. Their values are read when connecting and
  appear in no message and no log; nor does a variable name that does not look like one (capitals, digits
  and ``_``), in case it is the secret pasted in its place.
* **Key, then password.** With both ``key_file`` and ``password_env``, the key is tried first and the
  password after it on the same connection (also when the server accepted the key only as a first factor).
  The second attempt does not ask for the login service again: OpenSSH tolerates that, other servers
  (asyncssh) drop the connection.
* **Retries for what may pass.** A refused or reset connection and a timeout are retried ``retries`` times
  with exponential backoff (``retry_delay``, doubled each time). A refused login or host key is not: trying
  again cannot help, and repeated failed logins can lock the account. Reads (listing, downloads) retry on a
  lost connection too; an upload retries only until its final rename has been asked for, because after that
  the file may already be in the outbox (a second attempt would then be refused as ``transport.exists``,
  which says so).
* **Atomic uploads.** The file is written under a temporary name of its own in the outbox
  (``.<name>.edi-<random>.part``, opened with CREATE|EXCL, so two uploads of one name never share it), its
  size checked, then renamed with SFTP's plain rename, which does not replace an existing file (the server
  refuses; the name is also checked before sending a byte). The first upload of each connection removes our
  temporary files more than an hour old from the outbox (leftovers of lost connections; best effort:
  an outbox that cannot be listed is left as it is). The age is the server's clock against ours, so a
  server clock more than an hour behind could make a concurrent upload's file look old: that upload then
  fails (its rename finds nothing) and nothing half-written is ever published.
* **Only fetchable names are listed.** ``list_inbox`` leaves out hidden files and sets aside (``skipped``)
  the names that cannot be fetched safely, including names that are not UTF-8, which paramiko's own listing
  cannot even read.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import os
import posixpath
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO, TypeVar

import paramiko
from paramiko.auth_handler import AuthOnlyHandler
from paramiko.common import cMSG_USERAUTH_REQUEST
from paramiko.hostkeys import HostKeyEntry
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR

from edi.transport import base
from edi.transport.base import (
    AlreadyExists,
    AuthFailed,
    ConnectFailed,
    HostKeyChanged,
    HostKeyUnknown,
    Inbox,
    KeyFileError,
    NotFound,
    Transport,
    TransportConfig,
    TransportConfigError,
    TransportError,
    TransportTimeout,
    check_name,
    check_timing,
    inbox_listing,
    is_env_name,
    is_our_temp_name,
    is_regular,
    leftover_age,
    make_private_dirs,
    temp_name,
    transfer_allowance,
    write_local,
)

log = logging.getLogger("edi.transport")
T = TypeVar("T")
#: The longest wait between two attempts, however many retries are configured.
MAX_RETRY_DELAY = 60.0
#: Bytes per SFTP read or write request (what paramiko and most servers use).
_CHUNK = 32768


# -- host keys ------------------------------------------------------------------------------------------------


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH's known_hosts names a server: ``host`` on port 22, ``[host]:port`` otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's fingerprint of a public key: ``SHA256:`` and the unpadded base64 of the key's SHA-256."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _known_keys(config: TransportConfig, clearinghouse: str) -> dict[str, list[paramiko.PKey]]:
    """The keys the known_hosts file holds for the configured server, by key type. Lines are matched as
    OpenSSH does (plain or hashed names, ``*`` and ``?`` wildcards, ``!`` negations); a line that cannot be
    read is skipped, and marker lines (``@cert-authority``, ``@revoked``) are not used: they trust nothing."""
    path = config.known_hosts_path
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}  # nothing is known yet: every key is unknown
    except OSError as exc:
        raise TransportConfigError(f"{clearinghouse}: known_hosts file {path} cannot be read: "
                                   f"{exc.strerror or exc.__class__.__name__}") from None
    host = known_hosts_name(config.host or "", config.port)
    found: dict[str, list[paramiko.PKey]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", "@")):
            continue
        try:
            entry = HostKeyEntry.from_line(line, number)
        except Exception:  # noqa: BLE001 - paramiko raises several kinds for a malformed line
            log.debug("%s: %s line %d is not a host key; skipped", clearinghouse, path, number)
            continue
        if entry is not None and entry.key is not None and _names_match(entry.hostnames, host):
            found.setdefault(entry.key.get_name(), []).append(entry.key)
    return found


def _names_match(patterns: list[str], host: str) -> bool:
    """Whether a known_hosts line's comma-separated names cover ``host``."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if pattern.startswith("|1|"):
            hit = paramiko.HostKeys.hash_host(host, pattern) == pattern
        else:
            regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern.lower())
            hit = re.fullmatch(regex, host.lower()) is not None
        if hit and negated:
            return False
        matched = matched or hit
    return matched


def _prefer_known_key_types(ssh: paramiko.Transport, known: dict[str, list[paramiko.PKey]]) -> None:
    """Ask the server for a host key of a type known_hosts already holds, so that a server with several
    keys shows the one we can check (as OpenSSH does)."""
    if not known:
        return
    options = ssh.get_security_options()
    wanted: list[str] = []
    for key_type in known:
        wanted += ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if key_type == "ssh-rsa" else [key_type]
    available = list(options.key_types)
    first = [k for k in wanted if k in available]
    options.key_types = first + [k for k in available if k not in first]


def _check_host_key(key: paramiko.PKey, known: dict[str, list[paramiko.PKey]], config: TransportConfig,
                    clearinghouse: str) -> None:
    host = known_hosts_name(config.host or "", config.port)
    key_type, fp = key.get_name(), fingerprint(key)
    path = config.known_hosts_path
    if not known:
        raise HostKeyUnknown(
            f"{clearinghouse}: the host key of {host} is not in {path} ({key_type} {fp}); check this "
            f"fingerprint with the clearinghouse, then run `edi transport trust {clearinghouse}`",
            host=host, key_type=key_type, fingerprint=fp, key=key)
    have = known.get(key_type, [])
    if any(k.asbytes() == key.asbytes() for k in have):
        return
    if have:
        was = f"not the {key_type} {', '.join(fingerprint(k) for k in have)} that {path} holds for it"
    else:
        was = f"{path} holds only {', '.join(sorted(known))} keys for it"
    raise HostKeyChanged(
        f"{clearinghouse}: the host key of {host} has CHANGED: it presented {key_type} {fp}, {was}; "
        "refused (this can be an attack); confirm the new key with the clearinghouse before trusting it",
        host=host, key_type=key_type, fingerprint=fp, key=key)


def fetch_host_key(config: TransportConfig, *, clearinghouse: str = "") -> tuple[str, str, paramiko.PKey]:
    """Connect to the configured server and return the host key it presents, as ``(key type, SHA256
    fingerprint, key)``, without checking it or logging in: the first step of ``edi transport trust``,
    whose user compares the fingerprint with the one the clearinghouse published."""
    session = SFTPTransport(config, clearinghouse=clearinghouse or (config.host or ""))
    ssh = session._attempts(lambda: session._negotiate(_known_keys(config, session.clearinghouse)))
    try:
        key = ssh.get_remote_server_key()
        return key.get_name(), fingerprint(key), key
    finally:
        ssh.close()


def trust_host_key(config: TransportConfig, key: paramiko.PKey, *, replace: bool = False) -> bool:
    """Record ``key`` as the host key of the configured server in its known_hosts file (created 0600, its
    folder 0700). Returns False when it was already there. A different key of the same type already known
    for the server is refused (``HostKeyChanged``) unless ``replace``, which drops it first."""
    path = config.known_hosts_path
    host = known_hosts_name(config.host or "", config.port)
    have = _known_keys(config, host).get(key.get_name(), [])
    if any(k.asbytes() == key.asbytes() for k in have):
        return False
    if have:
        if not replace:
            raise HostKeyChanged(
                f"{host}: {path} already holds another {key.get_name()} key for it "
                f"({', '.join(fingerprint(k) for k in have)}); refused to add a second one",
                host=host, key_type=key.get_name(), fingerprint=fingerprint(key), key=key)
        _drop_known_host(path, host, key.get_name())
    make_private_dirs(path.parent)
    line = f"{host} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as out:
        if out.tell() > 0:
            with open(path, "rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    out.write(b"\n")
        out.write(line.encode("ascii"))
    return True


def _drop_known_host(path: Path, host: str, key_type: str) -> None:
    """Rewrite known_hosts without the lines that name ``host`` (plainly or hashed) with a key of
    ``key_type``; every other line (comments, markers, wildcard patterns) is kept as it is."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        entry = None
        if line.strip() and not line.lstrip().startswith(("#", "@")):
            with suppress(Exception):  # a line paramiko cannot read is kept as it is
                entry = HostKeyEntry.from_line(line.strip())
        if (entry is not None and entry.key is not None and entry.key.get_name() == key_type
                and any(_names_host(name, host) for name in entry.hostnames)):
            continue
        kept.append(line)
    temp = path.with_name(path.name + ".edi-tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(kept)
    os.replace(temp, path)


def _names_host(name: str, host: str) -> bool:
    if name.startswith("|1|"):
        return paramiko.HostKeys.hash_host(host, name) == name
    return name == host


# -- the transport --------------------------------------------------------------------------------------------


class _Upload:
    """How far an upload got: it may be retried only until the rename has been asked for; the temporary
    names its attempts used (an attempt removes the ones before it)."""

    def __init__(self) -> None:
        self.renaming = False
        self.temps: list[str] = []


class _Watchdog:
    """Closes ``ssh`` once ``allowance()`` seconds have passed since the ``with`` block began (re-read when
    due: a transfer of unknown size earns time as its bytes arrive), so that a paramiko call that has no
    timeout of its own ends (it raises); ``expired`` then says why. Leaving the block disarms it."""

    def __init__(self, ssh: paramiko.Transport, allowance: Callable[[], float]) -> None:
        self._ssh = ssh
        self._allowance = allowance
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._start = 0.0
        self._thread = threading.Thread(target=self._run, name="edi-sftp-watchdog", daemon=True)
        self.expired = False

    def __enter__(self) -> _Watchdog:
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done.set()

    def _run(self) -> None:
        while True:
            left = self._start + self._allowance() - time.monotonic()
            if left <= 0:
                break
            if self._done.wait(left):
                return
        with self._lock:
            if self._done.is_set():
                return
            self.expired = True
        with suppress(Exception):  # closing a connection that is going anyway must not raise here
            self._ssh.close()


class _LaterLogin(AuthOnlyHandler):
    """paramiko's handler for a second login attempt on one connection (the password after a refused key):
    the server granted the "ssh-userauth" service to the first attempt, and asking for it again is a
    protocol error some servers (asyncssh) answer by disconnecting, though OpenSSH lets it pass. Unlike
    ``AuthOnlyHandler``, it arms its wait before sending the request, so a quick answer is not missed."""

    def send_auth_request(self, username: str, method: str,
                          finish_message: Callable[[paramiko.Message], None] | None = None) -> list[str]:
        self.auth_method = method
        self.username = username
        m = paramiko.Message()
        m.add_byte(cMSG_USERAUTH_REQUEST)
        m.add_string(username)
        m.add_string("ssh-connection")
        m.add_string(method)
        if finish_message is not None:
            finish_message(m)
        event = threading.Event()
        self.auth_event = event
        with self.transport.lock:
            self.transport._send_message(m)
        return self.wait_for_response(event)


def _listdir(sftp: paramiko.SFTPClient, path: str) -> list[tuple[str, paramiko.SFTPAttributes]]:
    """``(name, attributes)`` of the entries of the server folder ``path``, as ``listdir_attr`` would give,
    except that a name that is not UTF-8 comes back with its bytes escaped (``surrogateescape``, as Python
    does for local names) instead of making the whole listing fail."""
    kind, msg = sftp._request(CMD_OPENDIR, path)
    if kind != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    handle = msg.get_binary()
    entries = []
    while True:  # on a failure the handle is left to the connection, which is then suspect (and closed)
        try:
            kind, msg = sftp._request(CMD_READDIR, handle)
        except EOFError:  # the end of the folder
            break
        if kind != CMD_NAME:
            raise paramiko.SFTPError("Expected name response")
        for _ in range(msg.get_int()):
            name = msg.get_string().decode("utf-8", "surrogateescape")
            longname = msg.get_string().decode("utf-8", "replace")
            attrs = paramiko.SFTPAttributes._from_msg(msg, name, longname)
            if name not in (".", ".."):
                entries.append((name, attrs))
    sftp._request(CMD_CLOSE, handle)
    return entries


class SFTPTransport(Transport):
    kind = "sftp"

    def __init__(self, config: TransportConfig, *, clearinghouse: str,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, clearinghouse=clearinghouse)
        check_timing(config, clearinghouse)
        self._sleep = sleep
        self._ssh: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._key: paramiko.PKey | None = None
        self._password: str | None = None
        self._credentials_read = False
        self._swept = False  # the outbox's leftovers were looked for on this connection

    # -- connection -----------------------------------------------------------------------------------------

    def connect(self) -> None:
        self._call("connecting", lambda sftp: None)

    def close(self) -> None:
        sftp, ssh = self._sftp, self._ssh
        self._sftp = self._ssh = None
        self._swept = False
        for thing in (sftp, ssh):
            if thing is not None:
                with suppress(Exception):  # closing a broken connection must not raise
                    thing.close()

    @property
    def _where(self) -> str:
        return f"{self.clearinghouse}: {self.config.address}"

    def _read_credentials(self) -> None:
        """Read the key file and the secrets, once, before any connection: a missing variable or a bad key
        file is reported without touching the network."""
        if self._credentials_read:
            return
        cfg = self.config
        passphrase = self._secret(cfg.passphrase_env, "passphrase_env") if cfg.passphrase_env else None
        self._password = self._secret(cfg.password_env, "password_env") if cfg.password_env else None
        if cfg.key_file:
            self._key = self._load_key(Path(cfg.key_file).expanduser(), passphrase)
        self._credentials_read = True

    def _secret(self, variable: str, option: str) -> str:
        value = os.environ.get(variable)
        if not value:
            state = "is not set" if value is None else "is empty"
            if is_env_name(variable):
                raise TransportConfigError(f"{self.clearinghouse}: the environment variable {variable} (named "
                                           f"by {option}) {state}")
            raise TransportConfigError(f"{self.clearinghouse}: the environment variable named by {option} "
                                       f"{state} (and its name, not shown, is not one an environment variable "
                                       "would have, capitals, digits and _: is it the secret itself?)")
        return value

    @staticmethod
    def _variable(name: str | None) -> str:
        """An environment variable's name for a message: itself when it looks like one, else not shown."""
        return name if is_env_name(name) else "the variable named by passphrase_env"

    def _load_key(self, path: Path, passphrase: str | None) -> paramiko.PKey:
        where = f"{self.clearinghouse}: key_file {path}"
        encrypted = (f"{where} is encrypted: name the environment variable that holds its passphrase with "
                     "passphrase_env")
        try:
            # positional: paramiko 3 calls the argument ``passphrase``, paramiko 5 ``password``; bytes, which
            # both hand on to ``cryptography`` (it refuses a str)
            return paramiko.PKey.from_path(path, None if passphrase is None else passphrase.encode("utf-8"))
        except FileNotFoundError:
            raise KeyFileError(f"{where} does not exist") from None
        except paramiko.PasswordRequiredException:
            raise KeyFileError(encrypted) from None
        except OSError as exc:
            raise KeyFileError(f"{where} cannot be read: {exc.strerror or exc.__class__.__name__}") from None
        except paramiko.UnknownKeyType:
            raise KeyFileError(f"{where} is not a private key of a type edi reads (Ed25519, ECDSA, RSA)") from None
        except (paramiko.SSHException, ValueError, TypeError) as exc:
            # cryptography says TypeError for "password-protected, but no password was given"
            if passphrase is None and (isinstance(exc, TypeError) or "encrypted" in str(exc)):
                raise KeyFileError(encrypted) from None
            if passphrase is not None:
                raise KeyFileError(f"{where} cannot be decrypted with the passphrase from "
                                   f"{self._variable(self.config.passphrase_env)}, or is not a private key"
                                   ) from None
            raise KeyFileError(f"{where} is not a private key edi can read") from None

    def _tcp(self) -> socket.socket:
        cfg = self.config
        try:
            return socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout)
        except TimeoutError:
            raise TransportTimeout(f"{self._where}: no connection within {cfg.timeout:g} s",
                                   transient=True) from None
        except socket.gaierror as exc:
            raise ConnectFailed(f"{self._where}: the host name cannot be resolved ({exc.strerror})",
                                transient=exc.errno == socket.EAI_AGAIN) from None
        except ConnectionRefusedError:
            raise ConnectFailed(f"{self._where}: connection refused (is the server up, and the port right?)",
                                transient=True) from None
        except OSError as exc:
            raise ConnectFailed(f"{self._where}: cannot connect: {exc.strerror or exc.__class__.__name__}",
                                transient=True) from None

    def _negotiate(self, known: dict[str, list[paramiko.PKey]]) -> paramiko.Transport:
        """TCP, the SSH greeting and the key exchange, each bounded by ``timeout``; not yet logged in."""
        cfg = self.config
        sock = self._tcp()
        try:
            ssh = paramiko.Transport(sock)
        except Exception:
            sock.close()
            raise
        ssh.banner_timeout = ssh.handshake_timeout = ssh.auth_timeout = ssh.channel_timeout = cfg.timeout
        try:
            _prefer_known_key_types(ssh, known)
            done = threading.Event()
            ssh.start_client(event=done)
            if not done.wait(cfg.timeout + 0.5):
                raise TransportTimeout(f"{self._where}: no SSH greeting and key exchange within "
                                       f"{cfg.timeout:g} s (is it an SSH server?)", transient=True)
            if not ssh.is_active():
                raise self._negotiation_error(ssh.get_exception())
        except BaseException:
            ssh.close()
            raise
        return ssh

    def _negotiation_error(self, exc: BaseException | None) -> TransportError:
        chain = list(_causes(exc))
        if any(isinstance(e, TimeoutError) for e in chain):
            return TransportTimeout(f"{self._where}: no SSH greeting within {self.config.timeout:g} s "
                                    "(is it an SSH server?)", transient=True)
        if any(isinstance(e, EOFError | ConnectionError) for e in chain):
            return ConnectFailed(f"{self._where}: the server closed the connection during the SSH handshake",
                                 transient=True)
        if any(isinstance(e, paramiko.ssh_exception.IncompatiblePeer) for e in chain):
            return ConnectFailed(f"{self._where}: the server and edi share no SSH algorithm: {exc}")
        text = str(exc) if exc is not None else "negotiation failed"
        if "protocol version" in text or "banner" in text:
            return ConnectFailed(f"{self._where}: the server does not speak SSH")
        return ConnectFailed(f"{self._where}: SSH handshake failed: {text}", transient=True)

    def _authenticate(self, ssh: paramiko.Transport) -> None:
        """Log in with the key, then the password (each one configured), on this connection. A refusal is
        final (``AuthFailed``, never retried: failed logins can lock an account); no answer within
        ``timeout`` is a ``TransportTimeout``; a connection lost before any answer is transient."""
        cfg = self.config
        user = cfg.user or ""
        methods = []
        if self._key is not None:
            methods.append(("its key", "publickey"))
        if self._password is not None:
            methods.append(("the password", "password"))
        tried: list[str] = []
        for label, method in methods:
            if tried and not ssh.is_active():
                break  # the server closed the connection after refusing: that is its answer
            tried.append(label)
            try:
                self._login(ssh, user, method, first=len(tried) == 1)
            except paramiko.BadAuthenticationType:
                continue  # the server does not offer this method
            except paramiko.AuthenticationException as exc:
                if "timeout" in str(exc).lower():
                    if ssh.is_authenticated():  # the answer came, paramiko missed it
                        return
                    raise TransportTimeout(f"{self._where}: no answer to the login of user {user} within "
                                           f"{cfg.timeout:g} s") from None
                continue  # refused (or the connection closed on a refusal)
            except (paramiko.SSHException, EOFError, OSError):
                if len(tried) > 1:
                    break  # an earlier attempt was refused: do not try again elsewhere
                raise ConnectFailed(f"{self._where}: the connection was lost during the login",
                                    transient=True) from None
            if ssh.is_authenticated():
                return
            # else a partial success (the key was a first factor): go on to the password
        how = " and ".join(tried) or "no key_file or password_env"
        raise AuthFailed(f"{self._where}: the server refused the login of user {user} with {how}; check "
                         "user, key_file (the key registered with the clearinghouse) and the password")

    def _login(self, ssh: paramiko.Transport, user: str, method: str, *, first: bool) -> None:
        if first:  # paramiko's usual handler asks for the login service, then logs in
            if method == "publickey":
                ssh.auth_publickey(user, self._key)
            else:
                ssh.auth_password(user, self._password or "", fallback=False)
            return
        handler = _LaterLogin(ssh)  # the service was granted to the first attempt: do not ask again
        ssh.auth_handler = handler
        if method == "publickey":
            handler.auth_publickey(user, self._key)
        else:
            handler.auth_password(user, self._password or "")

    def _open_session(self) -> paramiko.SFTPClient:
        self._read_credentials()
        known = _known_keys(self.config, self.clearinghouse)
        ssh = self._negotiate(known)
        try:
            _check_host_key(ssh.get_remote_server_key(), known, self.config, self.clearinghouse)
            self._authenticate(ssh)
            sftp = self._start_sftp(ssh)
        except BaseException:
            ssh.close()
            raise
        self._ssh = ssh
        log.info("%s: connected to %s as %s", self.clearinghouse, self.config.address, self.config.user)
        return sftp

    def _start_sftp(self, ssh: paramiko.Transport) -> paramiko.SFTPClient:
        """Open the session channel, start the ``sftp`` subsystem and read the SFTP greeting: each step
        bounded by ``timeout`` (``SFTPClient.from_transport`` waits for ever on the last two)."""
        timeout = self.config.timeout
        late = TransportTimeout(f"{self._where}: the SFTP session did not start within {timeout:g} s",
                                transient=True)
        try:
            channel = ssh.open_session(timeout=timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if "timeout" in str(exc).lower():
                raise late from None
            raise ConnectFailed(f"{self._where}: the server refused an SFTP session: {exc}") from None
        channel.settimeout(timeout)  # every later read and write on the channel, the SFTP greeting included
        watchdog = _Watchdog(ssh, lambda: timeout)
        try:
            with watchdog:
                channel.invoke_subsystem("sftp")  # paramiko waits for the answer with no timeout
            return paramiko.SFTPClient(channel)
        except (paramiko.SSHException, paramiko.SFTPError, EOFError, OSError) as exc:
            if watchdog.expired or isinstance(exc, TimeoutError):
                raise late from None
            raise ConnectFailed(f"{self._where}: the server refused an SFTP session: {exc}") from None

    def _transfer(self, what: str, size: int | None, work: Callable[[list[int]], T]) -> T:
        """Run ``work`` (a transfer, which counts the bytes it moved in ``done[0]``) within twice ``timeout``
        plus its size (else its bytes so far) at ``MIN_TRANSFER_RATE`` (``transfer_allowance``); past that
        the connection is closed and the transfer fails with ``TransportTimeout``."""
        assert self._ssh is not None
        timeout = self.config.timeout
        done = [0]
        watchdog = _Watchdog(self._ssh, lambda: transfer_allowance(timeout, size if size is not None else done[0]))
        try:
            with watchdog:
                result = work(done)
        except Exception:
            if not watchdog.expired:
                raise
            result = None
        if watchdog.expired:
            allowed = transfer_allowance(timeout, size if size is not None else done[0])
            raise TransportTimeout(f"{self.clearinghouse}: {what}: not done within {allowed:.3g} s ({done[0]} of "
                                   f"{'?' if size is None else size} bytes; a transfer may take {2 * timeout:g} s plus "
                                   f"its size at {base.MIN_TRANSFER_RATE // 1024} KiB/s)", transient=True) from None
        return result  # type: ignore[return-value]

    def _attempts(self, attempt: Callable[[], T], retry: Callable[[TransportError], bool] | None = None) -> T:
        """Run ``attempt`` until it succeeds, retrying transient failures (those ``retry`` allows) with
        exponential backoff; the last failure's message says how many attempts were made."""
        tries = 1 + max(0, self.config.retries)
        for number in range(1, tries + 1):
            try:
                return attempt()
            except TransportError as err:
                if not err.transient or number == tries or (retry is not None and not retry(err)):
                    if number > 1:
                        err.message = f"{err.message} ({number} attempts)"
                        err.args = (err.message,)
                    raise
                delay = min(self.config.retry_delay * 2 ** (number - 1), MAX_RETRY_DELAY)
                log.warning("%s; trying again in %.3g s (attempt %d of %d)", err.message, delay, number + 1, tries)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _call(self, what: str, op: Callable[[paramiko.SFTPClient], T], *,
              retry_op: Callable[[], bool] = lambda: True) -> T:
        """Run ``op`` on the SFTP session (connecting first when needed). A failure to connect is retried;
        a lost connection during ``op`` is retried when ``retry_op()`` says it is safe."""
        state = {"connected": False}

        def attempt() -> T:
            state["connected"] = False
            if self._sftp is None:
                self._sftp = self._open_session()
            state["connected"] = True
            try:
                try:
                    return op(self._sftp)
                except (OSError, EOFError, paramiko.SSHException, paramiko.SFTPError) as exc:
                    raise self._op_error(what, exc) from None
            except TransportError as err:
                if err.transient:
                    self.close()  # the connection is suspect: the next use opens a new one
                raise

        def retry(err: TransportError) -> bool:
            return not state["connected"] or retry_op()

        return self._attempts(attempt, retry)

    def _op_error(self, what: str, exc: BaseException) -> TransportError:
        prefix = f"{self.clearinghouse}: {what}"
        if isinstance(exc, TimeoutError):
            return TransportTimeout(f"{prefix}: no answer from {self.config.address} within "
                                    f"{self.config.timeout:g} s", transient=True)
        if isinstance(exc, EOFError | ConnectionError | paramiko.SSHException) or self._connection_lost():
            # (paramiko says "Socket is closed", a plain OSError, for a write on a connection that went)
            return TransportError(f"{prefix}: the connection to {self.config.address} was lost", transient=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
            return NotFound(f"{prefix}: no such file or folder on the server")
        if isinstance(exc, OSError) and exc.errno == errno.EACCES:
            return TransportError(f"{prefix}: permission denied by the server")
        reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or "failed"
        return TransportError(f"{prefix}: {reason}")

    def _connection_lost(self) -> bool:
        """Whether the connection (or its SFTP channel) is gone."""
        ssh, sftp = self._ssh, self._sftp
        if ssh is None:
            return False  # not connected: nothing to lose
        if not ssh.is_active():
            return True
        try:
            return sftp is not None and sftp.get_channel().closed
        except Exception:  # noqa: BLE001 - a client in a state paramiko did not foresee: treat it as gone
            return True

    # -- paths ----------------------------------------------------------------------------------------------

    def _outbox_path(self, name: str) -> str:
        return posixpath.join(self.config.outbox, name)

    def _inbox_path(self, name: str) -> str:
        return posixpath.join(self.config.inbox, name)

    @staticmethod
    def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
        try:
            sftp.lstat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        return True

    # -- operations -----------------------------------------------------------------------------------------

    def upload(self, local_path: str | os.PathLike[str], remote_name: str) -> str:
        name = check_name(remote_name, self.clearinghouse)
        final = self._outbox_path(name)
        what = f"upload of {name} to {self.config.outbox}"
        try:
            size = os.stat(local_path).st_size
        except OSError as exc:
            raise TransportError(f"{self.clearinghouse}: {what}: the local file {local_path} cannot be read: "
                                 f"{exc.strerror or exc.__class__.__name__}") from None
        progress = _Upload()

        def op(sftp: paramiko.SFTPClient) -> str:
            progress.renaming = False
            self._sweep_outbox(sftp)
            for earlier in progress.temps:  # an attempt that lost its connection left it
                self._remove_quietly(sftp, earlier)
            if self._exists(sftp, final):
                raise AlreadyExists(f"{self.clearinghouse}: {what}: the outbox already holds {final}; nothing "
                                    "was replaced")
            try:
                src = open(local_path, "rb")  # noqa: SIM115 - closed below, apart from the SFTP errors
            except OSError as exc:
                raise TransportError(f"{self.clearinghouse}: {what}: the local file {local_path} cannot be read: "
                                     f"{exc.strerror or exc.__class__.__name__}") from None
            temp = self._outbox_path(temp_name(name))
            progress.temps.append(temp)
            with src:
                self._transfer(what, size, lambda done: self._put(sftp, src, temp, done))
            sent = sftp.stat(temp).st_size
            if sent != size:
                self._remove_quietly(sftp, temp)
                raise TransportError(f"{self.clearinghouse}: {what}: the server holds {sent} of {size} bytes; "
                                     "try again", transient=True)
            progress.renaming = True
            try:
                sftp.rename(temp, final)
            except OSError as exc:
                if isinstance(exc, TimeoutError):
                    raise
                if self._exists(sftp, final):
                    self._remove_quietly(sftp, temp)
                    raise AlreadyExists(f"{self.clearinghouse}: {what}: the outbox already holds {final}; "
                                        "nothing was replaced") from None
                raise
            progress.temps.remove(temp)
            log.info("%s: uploaded %s", self.clearinghouse, final)
            return final

        try:
            return self._call(what, op, retry_op=lambda: not progress.renaming)
        except TransportError as err:
            if progress.renaming and err.transient:
                err.outcome_unknown = True
                err.message = (f"{err.message}; the rename to {name} was asked for, so the file may be in the "
                               "outbox: list it before uploading again")
                err.args = (err.message,)
            elif not err.transient and self._sftp is not None:
                for temp in progress.temps:  # the connection is still there: leave nothing behind
                    self._remove_quietly(self._sftp, temp)
            raise

    @staticmethod
    def _put(sftp: paramiko.SFTPClient, src: BinaryIO, temp: str, done: list[int]) -> None:
        """Write ``src`` into a new server file ``temp``: created exclusively (CREATE|EXCL: never a file
        someone else is writing), writes pipelined, every write answered before it returns."""
        with sftp.open(temp, "wbx") as out:
            out.set_pipelined(True)
            while data := src.read(_CHUNK):
                out.write(data)
                done[0] += len(data)

    def _sweep_outbox(self, sftp: paramiko.SFTPClient) -> None:
        """Once per connection, remove our own temporary files (``.<name>.edi-<hex>.part``) that have not
        changed for an hour (``LEFTOVER_AGE``) from the outbox: leftovers of connections lost mid-upload.
        Best effort: an outbox that cannot be listed (some are write-only) or a file that cannot be removed
        is left as it is."""
        if self._swept:
            return
        self._swept = True
        cutoff = time.time() - leftover_age(self.config.timeout)
        try:
            entries = _listdir(sftp, self.config.outbox)
        except (TimeoutError, EOFError, ConnectionError):
            raise  # the connection is in trouble: the upload will say so
        except (OSError, paramiko.SSHException) as exc:
            log.debug("%s: the outbox %s was not swept of leftovers: %s", self.clearinghouse, self.config.outbox,
                      exc)
            return
        for name, attrs in entries:
            if is_our_temp_name(name) and is_regular(attrs.st_mode) and attrs.st_mtime is not None \
                    and attrs.st_mtime < cutoff:
                path = self._outbox_path(name)
                try:
                    sftp.remove(path)
                except (TimeoutError, EOFError, ConnectionError):
                    raise
                except (OSError, paramiko.SSHException):
                    continue
                log.info("%s: removed the leftover temporary file %s", self.clearinghouse, path)

    @staticmethod
    def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
        with suppress(OSError, EOFError, paramiko.SSHException):
            sftp.remove(path)

    def list_inbox(self) -> Inbox:
        def op(sftp: paramiko.SFTPClient) -> Inbox:
            entries = [(name, a.st_mode, a.st_size, a.st_mtime) for name, a in _listdir(sftp, self.config.inbox)]
            return inbox_listing(entries, clearinghouse=self.clearinghouse)

        return self._call(f"listing the inbox {self.config.inbox}", op)

    def download(self, name: str, local_path: str | os.PathLike[str], *, replace: bool = False) -> Path:
        check_name(name, self.clearinghouse)
        path = self._inbox_path(name)
        what = f"download of {path}"

        def op(sftp: paramiko.SFTPClient) -> Path:
            attrs = sftp.stat(path)
            if not is_regular(attrs.st_mode):
                raise NotFound(f"{self.clearinghouse}: {what}: not a regular file")
            size = attrs.st_size

            def get(done: list[int], out: BinaryIO) -> int:
                with sftp.open(path, "rb") as src:
                    if size:
                        src.prefetch(size)
                    while data := src.read(_CHUNK):
                        out.write(data)
                        done[0] += len(data)
                return done[0]

            def fill(out: BinaryIO) -> int:
                got = self._transfer(what, size, lambda done: get(done, out))
                if size is not None and got != size:
                    raise TransportError(f"{self.clearinghouse}: {what}: got {got} of {size} bytes "
                                         "(the file changed while it was read); try again", transient=True)
                return got

            return write_local(local_path, fill, replace=replace, what=f"{self.clearinghouse}: {what}")

        return self._call(what, op)

    def remove(self, name: str) -> None:
        check_name(name, self.clearinghouse)
        path = self._inbox_path(name)
        self._call(f"removing {path}", lambda sftp: sftp.remove(path), retry_op=lambda: False)

    def move(self, name: str, folder: str) -> str:
        check_name(name, self.clearinghouse)
        source = self._inbox_path(name)
        dest_dir = posixpath.join(self.config.inbox, folder)
        dest = posixpath.join(dest_dir, name)
        what = f"moving {source} to {dest_dir}"

        def op(sftp: paramiko.SFTPClient) -> str:
            if not self._exists(sftp, dest_dir):
                sftp.mkdir(dest_dir, 0o700)
            if self._exists(sftp, dest):
                raise AlreadyExists(f"{self.clearinghouse}: {what}: {dest} already exists; nothing was replaced")
            sftp.rename(source, dest)
            return dest

        return self._call(what, op, retry_op=lambda: False)


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__

