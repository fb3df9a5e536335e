"""What every transport shares: its configuration, its errors, the remote file record, and the rules for names.

A transport moves whole files between this machine and a clearinghouse's mailbox: 837s up into the outbox,
acknowledgements and remittances down from the inbox. Three rules hold for every kind:

* **Nothing half-written is ever visible under its final name.** A file is written under a temporary name of
  its own (``.<name>.edi-<12 random hex digits>.part``, created exclusively: two uploads of one name never
  share it) beside its destination, then renamed; the rename refuses to replace a file that is already there,
  so a clearinghouse never picks up half a file, a resubmission never overwrites one, and of two uploads of
  the same name one wins whole and the other is refused. Our temporary files left behind by a lost
  connection are removed from the outbox by a later upload once they are an hour old (:data:`LEFTOVER_AGE`).
* **Only the clearinghouse's files are fetched.** Listings leave out folders, links, hidden files (a leading
  dot: ``.DS_Store``, anyone's ``.part`` files) and set aside, in ``Inbox.skipped`` with the reason, the
  names a transport cannot fetch safely (a control character, a folder separator, not valid text); every
  name a listing returns can be downloaded into any local path.
* **No secret is ever in the configuration, a message or a log.** The configuration names environment
  variables (``password_env``, ``passphrase_env``); their values are read when connecting and kept only in
  the objects that use them.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import secrets
import stat
import string
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, NamedTuple

from edi.problems import Problem

KINDS = ("directory", "sftp")
#: The fields a ``remote_name`` pattern may use (see :func:`format_remote_name`).
REMOTE_NAME_FIELDS = ("name", "isa13", "date", "time", "clearinghouse")
AFTER_FETCH = ("leave", "delete", "move:<folder>")
#: Our temporary names: ``.<name>.edi-<12 hex digits>.part`` (see :func:`temp_name`). Listings skip them, as
#: they skip every hidden file; nothing else is ever written under them.
TEMP_PREFIX = "."
TEMP_SUFFIX = ".part"
TEMP_MARK = ".edi-"
#: Bytes a file name may take: what most file systems allow. Temporary names are shortened to fit it too.
MAX_NAME_BYTES = 255
#: Seconds after which one of our temporary files still in the outbox is a leftover (a lost connection's)
#: that the next upload removes. An upload in progress keeps its file's time fresh, so it is never one.
LEFTOVER_AGE = 3600.0
#: The slowest transfer an SFTP upload or download may be, in bytes per second: each is given twice
#: ``timeout`` plus its size at this rate, all told, and fails with ``transport.timeout`` past it.
MIN_TRANSFER_RATE = 64 * 1024

log = logging.getLogger("edi.transport")
_OUR_TEMP = re.compile(r"\..*\.edi-[0-9a-f]{12}\.part\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """How to reach one clearinghouse's mailbox (``[clearinghouses.NAME.transport]`` in ``edi.toml``).

    ``outbox`` is where 837s go and ``inbox`` where responses are picked up: folders for ``directory``,
    paths on the server for ``sftp`` (relative ones start in the login folder). The other fields are for
    ``sftp`` only, except ``remote_name`` and ``after_fetch``, which both kinds use. ``password_env`` and
    ``passphrase_env`` name environment variables: the secrets themselves never live here.

    ``timeout`` bounds every step of an SFTP session: the TCP connect, the SSH greeting and key exchange, the
    login, opening the SFTP channel and subsystem, and each request. A whole transfer (an upload or a
    download) is also bounded: it must end within twice ``timeout`` (opening the file, a first answer)
    plus its size at :data:`MIN_TRANSFER_RATE` (64 KiB/s; 60 s + 16 s for a 1 MiB file with the default
    30 s), else it fails with ``transport.timeout``: a server that answers each request in time, but a byte
    at a time, cannot hold it for hours. (A request no answer comes to is the per-request ``timeout``'s.)
    """

    kind: str  # "directory" or "sftp"
    outbox: str
    inbox: str
    host: str | None = None
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts
    passphrase_env: str | None = None
    password_env: str | None = None
    remote_name: str = "{name}"
    # seconds, for each of: TCP connect, SSH greeting and handshake, login, opening the SFTP session, each
    # request; a whole upload or download is given 2 x timeout + its size at MIN_TRANSFER_RATE (64 KiB/s)
    timeout: float = 30.0
    retries: int = 3  # further attempts after a transient failure (refused, reset, timed out)
    retry_delay: float = 1.0  # seconds before the first retry; doubled before each next one
    after_fetch: str = "leave"  # "leave", "delete" or "move:<folder>" (relative to the inbox)

    @property
    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts or "~/.ssh/known_hosts").expanduser()

    @property
    def address(self) -> str:
        """``host:port`` (``[host]:port`` for an IPv6 address), for messages."""
        host = self.host or ""
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A regular file in the inbox."""

    name: str
    size: int  # bytes
    mtime: datetime  # last modification, timezone-aware (UTC)


class SkippedFile(NamedTuple):
    """A file of the inbox that a listing set aside, and why (its name cannot be fetched safely)."""

    name: str  # as listed (print it with repr(): it may hold a control character)
    reason: str  # "holds a control character", ...


class Inbox(list[RemoteFile]):
    """What ``list_inbox`` returns: the files that can be fetched, sorted by name (a list), and in
    ``skipped`` the regular files it set aside because their names cannot be fetched safely. Hidden files
    (a leading dot) are not the clearinghouse's files and appear in neither."""

    def __init__(self, files: Iterable[RemoteFile] = (), skipped: Iterable[SkippedFile] = ()) -> None:
        super().__init__(sorted(files, key=lambda f: f.name))
        self.skipped: list[SkippedFile] = sorted(skipped)


# -- errors ---------------------------------------------------------------------------------------------------


class TransportError(Exception):
    """A transfer that could not be done. ``code`` is stable (``transport.connect``, ``transport.auth``...);
    the message is one line for a person and never holds a password, a passphrase or a key."""

    code = "transport.io"

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        #: A failure that may pass if tried again (refused, reset, timed out): the transport retries those.
        self.transient = transient
        #: True when an upload's connection was lost after its final rename was asked for: the file may or
        #: may not be in the outbox (list it before uploading again).
        self.outcome_unknown = False

    def problem(self) -> Problem:
        return Problem(self.code, self.message)


class TransportConfigError(TransportError):
    """The configuration cannot be used as it is: an environment variable it names is not set, a file it
    names cannot be read, an unknown kind."""

    code = "transport.config"


class ConnectFailed(TransportError):
    code = "transport.connect"


class TransportTimeout(TransportError):
    code = "transport.timeout"


class AuthFailed(TransportError):
    code = "transport.auth"


class KeyFileError(TransportError):
    """The client's private key file: missing, unreadable, encrypted without a passphrase, or a wrong one."""

    code = "transport.key"


class HostKeyError(TransportError):
    """The server's host key is not the one known_hosts holds for it. ``key`` is the key it presented."""

    def __init__(self, message: str, *, host: str, key_type: str, fingerprint: str, key: object) -> None:
        super().__init__(message)
        self.host = host  # as known_hosts names it: "host" on port 22, else "[host]:port"
        self.key_type = key_type
        self.fingerprint = fingerprint
        self.key = key


class HostKeyUnknown(HostKeyError):
    code = "transport.hostkey.unknown"


class HostKeyChanged(HostKeyError):
    code = "transport.hostkey.changed"


class AlreadyExists(TransportError):
    """A file is already there under the name asked for: nothing is ever replaced."""

    code = "transport.exists"


class NotFound(TransportError):
    code = "transport.notfound"


class BadName(TransportError):
    """A name that is not a plain file name (a folder separator, a leading dot, a control character...)."""

    code = "transport.name"


#: What an environment variable named by ``password_env`` or ``passphrase_env`` must look like (the usual
#: convention): a value that does not is refused in edi.toml and never echoed, in case it is the secret itself.
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")


def is_env_name(name: str | None) -> bool:
    return isinstance(name, str) and ENV_NAME.match(name) is not None


def check_timing(config: TransportConfig, clearinghouse: str) -> None:
    """Refuse a ``timeout``, ``retries`` or ``retry_delay`` no connection could use (not a number, NaN,
    infinite, negative; ``timeout`` 0), naming the key: ``edi.toml`` refuses them already, this guards a
    configuration built in code."""
    for key, value, low_open in (("timeout", config.timeout, True), ("retry_delay", config.retry_delay, False)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or value < 0 or (low_open and value == 0):
            raise TransportConfigError(f"{clearinghouse}: {key} must be a finite number of seconds, "
                                       f"{'more than' if low_open else 'at least'} 0, not {value!r}")
    if isinstance(config.retries, bool) or not isinstance(config.retries, int) or config.retries < 0:
        raise TransportConfigError(f"{clearinghouse}: retries must be a whole number, at least 0, "
                                   f"not {config.retries!r}")


# -- names ----------------------------------------------------------------------------------------------------


def temp_name(name: str) -> str:
    """A fresh temporary name for ``name``: ``.<name>.edi-<12 random hex digits>.part``, ``name`` shortened
    (whole characters) so that the result fits in :data:`MAX_NAME_BYTES`. Create it exclusively."""
    tail = f"{TEMP_MARK}{secrets.token_hex(6)}{TEMP_SUFFIX}"
    return TEMP_PREFIX + _shorten(name, MAX_NAME_BYTES - len(TEMP_PREFIX) - len(tail)) + tail


def _shorten(name: str, limit: int) -> str:
    """``name`` cut to at most ``limit`` bytes of UTF-8 (or of the file system's bytes, for a name that holds
    undecodable bytes), between two characters."""
    size = 0
    for index, ch in enumerate(name):
        try:
            size += len(ch.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:
            size += 3
        if size > limit:
            return name[:index]
    return name


def is_temp_name(name: str) -> bool:
    """A name of the temporary kind (``.<something>.part``): ours, or another tool's upload in progress."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def is_our_temp_name(name: str) -> bool:
    """A temporary name :func:`temp_name` makes (so one of our uploads or downloads wrote the file)."""
    return _OUR_TEMP.match(name) is not None


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def _is_control(ch: str) -> bool:
    # C0, DEL and C1 controls, and the Unicode line and paragraph separators: all would break a one-line message
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file name in a mailbox, or None when it can. The same rule serves uploads and
    downloads: a plain name (no folder separator), not hidden, no control character, valid text, at most
    :data:`MAX_NAME_BYTES` bytes."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if "/" in name or "\\" in name:
        return "holds a folder separator"
    if name.startswith("."):
        return "starts with a dot (hidden, and our temporary names start so)"
    if any(_is_control(ch) for ch in name):
        return "holds a control character"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid text"
    if size > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    return None


def inbox_listing(entries: Iterable[tuple[str, int | None, int | None, float | None]], *,
                  clearinghouse: str) -> Inbox:
    """The :class:`Inbox` of a folder's ``(name, mode, size, mtime)`` entries: regular files only, hidden
    ones (a leading dot) left out, and those whose name cannot be fetched safely set aside in ``skipped``
    (and logged)."""
    files, skipped = [], []
    for name, mode, size, mtime in entries:
        if not is_regular(mode) or is_hidden(name):
            continue
        problem = name_problem(name)
        if problem:
            log.warning("%s: the inbox file %r is not fetched: its name %s", clearinghouse, name, problem)
            skipped.append(SkippedFile(name, problem))
            continue
        files.append(RemoteFile(name, size or 0, datetime.fromtimestamp(mtime or 0, UTC)))
    return Inbox(files, skipped)


def check_name(name: str, clearinghouse: str) -> str:
    problem = name_problem(name)
    if problem:
        raise BadName(f"{clearinghouse}: the file name {name!r} {problem}")
    return name


def remote_name_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a ``remote_name``, or None. Fields: ``{name}``, ``{isa13}``, ``{date}``
    (YYYYMMDD), ``{time}`` (HHMMSS), ``{clearinghouse}``; ``{{`` and ``}}`` are literal braces."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        return f"is not a valid pattern ({exc})"
    fields = 0
    for literal, field_name, spec, conversion in parts:
        if "/" in literal or "\\" in literal:
            return "holds a folder separator"
        if field_name is None:
            continue
        fields += 1
        if field_name not in REMOTE_NAME_FIELDS:
            return (f"uses {{{field_name}}}; the fields are "
                    + ", ".join(f"{{{f}}}" for f in REMOTE_NAME_FIELDS))
        if spec or conversion:
            return f"formats {{{field_name}}}: write the field alone"
    if not fields:
        return ("uses no field (" + ", ".join(f"{{{f}}}" for f in REMOTE_NAME_FIELDS)
                + "): every file would get the same name")
    return None


def format_remote_name(pattern: str, *, name: str, isa13: str = "", clearinghouse: str = "",
                       now: datetime) -> str:
    """The remote file name for a local file ``name``: ``pattern`` with its fields filled in (see
    :func:`remote_name_pattern_problem`). Raises ``BadName`` when the pattern or its result is not usable."""
    problem = remote_name_pattern_problem(pattern)
    if problem:
        raise BadName(f"{clearinghouse}: remote_name {pattern!r} {problem}")
    result = pattern.format(name=name, isa13=isa13, clearinghouse=clearinghouse, date=now.strftime("%Y%m%d"),
                            time=now.strftime("%H%M%S"))
    return check_name(result, clearinghouse)


def after_fetch_problem(value: str) -> str | None:
    if value in ("leave", "delete"):
        return None
    if value.startswith("move:"):
        folder = value[len("move:"):]
        if not folder.strip():
            return 'names no folder after "move:"'
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in folder):
            return "holds a control character"
        return None
    return 'must be "leave", "delete" or "move:<folder>"'


# -- local files ----------------------------------------------------------------------------------------------


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parent, each mode 0700 (what is there already is left alone)."""
    missing = []
    path = folder
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir's mode passes through the umask


def install_file(temp: Path, final: Path, *, replace: bool, what: str) -> None:
    """Give the finished ``temp`` its ``final`` name in the same folder. Without ``replace``, an existing
    ``final`` is refused (``AlreadyExists``) and never touched: a hard link claims the name atomically, and a
    file system without hard links falls back to a check then a rename."""
    if replace:
        os.replace(temp, final)
        return
    try:
        os.link(temp, final, follow_symlinks=False)
    except FileExistsError:
        raise AlreadyExists(f"{what}: {final} already exists; nothing was replaced") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK,
                             errno.ENOSYS):
            raise
        if os.path.lexists(final):
            raise AlreadyExists(f"{what}: {final} already exists; nothing was replaced") from None
        os.rename(temp, final)
        return
    os.unlink(temp)


def create_temp(folder: Path, name: str, mode: int) -> tuple[int, Path]:
    """Create a fresh temporary file for ``name`` in ``folder`` (:func:`temp_name`; ``O_EXCL``, never
    following a link) and return its open descriptor and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temp = folder / temp_name(name)
        try:
            return os.open(temp, flags, mode), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def leftover_age(timeout: float) -> float:
    """How old one of our temporary files must be to count as a leftover: :data:`LEFTOVER_AGE`, or twice
    the request timeout when that is longer."""
    return max(LEFTOVER_AGE, 2 * timeout)


def transfer_allowance(timeout: float, size: int) -> float:
    """Seconds a whole transfer of ``size`` bytes may take: twice ``timeout`` (the wait for the file to open
    and for a first answer; more than one ``timeout``, so that a request with no answer at all is reported
    as such) plus the size at :data:`MIN_TRANSFER_RATE`."""
    return 2 * timeout + max(0, size) / MIN_TRANSFER_RATE


def sweep_leftovers(folder: Path, *, older_than: float, what: str) -> list[str]:
    """Remove our own temporary files (:func:`is_our_temp_name`) older than ``older_than`` seconds from
    ``folder``; best effort (what cannot be listed or removed stays). Returns the names removed."""
    removed = []
    cutoff = time.time() - older_than
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not is_our_temp_name(entry.name):
                    continue
                with suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if is_regular(st.st_mode) and st.st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed.append(entry.name)
    except OSError as exc:
        log.debug("%s: leftovers not swept: %s", what, exc.strerror or exc.__class__.__name__)
    for name in removed:
        log.info("%s: removed the leftover temporary file %s", what, name)
    return removed


def write_local(local_path: str | os.PathLike[str], fill: Callable[[BinaryIO], int], *, replace: bool,
                what: str) -> Path:
    """Write a local file through ``fill`` (which writes into the open file and returns the bytes written)
    under a temporary name in the destination folder (:func:`temp_name`, shortened so that it fits whatever
    the final name's length), then give it its name. Folders are created 0700, the file 0600. A failure
    leaves no temporary file behind."""
    final = Path(local_path)
    make_private_dirs(final.parent)
    if not replace and os.path.lexists(final):
        raise AlreadyExists(f"{what}: {final} already exists; nothing was replaced")
    fd, temp = create_temp(final.parent, final.name, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
        install_file(temp, final, replace=replace, what=what)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    sync_folder(final.parent)
    return final


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform can open a folder)."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_regular(mode: int | None) -> bool:
    return mode is not None and stat.S_ISREG(mode)


# -- the interface --------------------------------------------------------------------------------------------


class Transport(ABC):
    """One clearinghouse's mailbox. Use it as a context manager: entering connects (SFTP), leaving
    disconnects. Every method raises ``TransportError`` (with a stable ``code``) when it cannot do its job."""

    kind: str

    def __init__(self, config: TransportConfig, *, clearinghouse: str) -> None:
        self.config = config
        self.clearinghouse = clearinghouse

    def __enter__(self) -> Transport:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def connect(self) -> None:  # noqa: B027 - a directory has nothing to open
        """Open the connection now (methods also connect on first use)."""

    def close(self) -> None:  # noqa: B027 - nor to close
        """Close the connection, if any. Safe to call twice."""

    @abstractmethod
    def upload(self, local_path: str | os.PathLike[str], remote_name: str) -> str:
        """Put a local file into the outbox as ``remote_name``, atomically, and return its remote path.
        Raises ``AlreadyExists`` when the outbox already holds a file of that name."""

    @abstractmethod
    def list_inbox(self) -> Inbox:
        """The regular files of the inbox that can be fetched, sorted by name: an :class:`Inbox` (a list of
        ``RemoteFile``). Hidden files (a leading dot: temporary files, ``.DS_Store``) are left out; files
        whose name cannot be fetched safely (a control character, a backslash, not valid text) are left out
        too, and listed with the reason in the result's ``skipped``. ``download`` accepts every name
        returned."""

    @abstractmethod
    def download(self, name: str, local_path: str | os.PathLike[str], *, replace: bool = False) -> Path:
        """Copy the inbox file ``name`` to ``local_path`` (mode 0600, missing folders created 0700), through
        a temporary file renamed at the end. An existing ``local_path`` is refused unless ``replace``."""

    @abstractmethod
    def remove(self, name: str) -> None:
        """Delete the inbox file ``name`` (after a successful import)."""

    @abstractmethod
    def move(self, name: str, folder: str) -> str:
        """Move the inbox file ``name`` into ``folder`` (relative to the inbox unless absolute; created when
        missing) without replacing a file there; returns its new path."""

    def after_fetch(self, name: str) -> str | None:
        """Do what ``after_fetch`` says with an imported inbox file: leave it (None), delete it (None), or
        move it (its new path)."""
        action = self.config.after_fetch
        if action == "delete":
            self.remove(name)
            return None
        if action.startswith("move:"):
            return self.move(name, action[len("move:"):])
        return None
