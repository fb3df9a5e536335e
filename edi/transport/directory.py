"""The ``directory`` transport: the mailbox is two plain folders (a mounted share, or a folder a
clearinghouse's own agent watches).

Uploads are written to a temporary name of their own in the outbox (``.<name>.edi-<random>.part``, created
with ``O_EXCL``: two uploads of one name never write into the same file), flushed to disk, then given their
name with a hard link, which fails when the name is taken: an existing file is never replaced, and the watcher
never sees a half-written file under a final name. The first upload of a transport removes our temporary
files more than an hour old from the outbox (leftovers of a crash; best effort). Outbox files are created
mode 0640 (owner and group): the agent that collects them often runs as another user of the same group, and
claims hold patient data.
"""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from edi.transport.base import (
    AlreadyExists,
    Inbox,
    NotFound,
    Transport,
    TransportConfig,
    TransportError,
    check_name,
    create_temp,
    inbox_listing,
    install_file,
    is_regular,
    leftover_age,
    sweep_leftovers,
    sync_folder,
    write_local,
)

_CHUNK = 1 << 20


class DirectoryTransport(Transport):
    kind = "directory"

    def __init__(self, config: TransportConfig, *, clearinghouse: str) -> None:
        super().__init__(config, clearinghouse=clearinghouse)
        self._swept = False

    @property
    def outbox(self) -> Path:
        return Path(self.config.outbox).expanduser()

    @property
    def inbox(self) -> Path:
        return Path(self.config.inbox).expanduser()

    def _folder(self, folder: Path, role: str) -> Path:
        if not folder.is_dir():
            raise NotFound(f"{self.clearinghouse}: the {role} {folder} is not a folder (is the share mounted?)")
        return folder

    def upload(self, local_path: str | os.PathLike[str], remote_name: str) -> str:
        name = check_name(remote_name, self.clearinghouse)
        outbox = self._folder(self.outbox, "outbox")
        final = outbox / name
        what = f"{self.clearinghouse}: upload of {name}"
        if not self._swept:
            self._swept = True
            sweep_leftovers(outbox, older_than=leftover_age(0), what=f"{self.clearinghouse}: outbox {outbox}")
        if os.path.lexists(final):
            raise AlreadyExists(f"{what}: {final} already exists; nothing was replaced")
        temp = None
        try:
            with open(local_path, "rb") as src:
                fd, temp = create_temp(outbox, name, 0o640)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
            install_file(temp, final, replace=False, what=what)
        except BaseException as exc:
            if temp is not None:
                _unlink_quietly(temp)
            if isinstance(exc, OSError):
                raise _io_error(what, exc) from None
            raise
        sync_folder(outbox)
        return str(final)

    def list_inbox(self) -> Inbox:
        inbox = self._folder(self.inbox, "inbox")
        entries = []
        try:
            with os.scandir(inbox) as found:
                for entry in found:
                    st = entry.stat(follow_symlinks=False)
                    entries.append((entry.name, st.st_mode, st.st_size, st.st_mtime))
        except OSError as exc:
            raise _io_error(f"{self.clearinghouse}: listing the inbox {inbox}", exc) from None
        return inbox_listing(entries, clearinghouse=self.clearinghouse)

    def _inbox_file(self, name: str) -> Path:
        check_name(name, self.clearinghouse)
        path = self.inbox / name
        try:
            st = path.lstat()
        except FileNotFoundError:
            raise NotFound(f"{self.clearinghouse}: the inbox has no file {name}") from None
        except OSError as exc:
            raise _io_error(f"{self.clearinghouse}: {path}", exc) from None
        if not is_regular(st.st_mode):
            raise NotFound(f"{self.clearinghouse}: {path} is not a regular file")
        return path

    def download(self, name: str, local_path: str | os.PathLike[str], *, replace: bool = False) -> Path:
        path = self._inbox_file(name)
        what = f"{self.clearinghouse}: download of {name}"

        def fill(out: BinaryIO) -> int:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)
            return out.tell()

        try:
            return write_local(local_path, fill, replace=replace, what=what)
        except TransportError:
            raise
        except OSError as exc:
            raise _io_error(what, exc) from None

    def remove(self, name: str) -> None:
        path = self._inbox_file(name)
        try:
            path.unlink()
        except OSError as exc:
            raise _io_error(f"{self.clearinghouse}: removing {path}", exc) from None
        sync_folder(path.parent)

    def move(self, name: str, folder: str) -> str:
        path = self._inbox_file(name)
        dest_dir = self.inbox / Path(folder).expanduser()
        what = f"{self.clearinghouse}: moving {name} to {dest_dir}"
        try:
            dest_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            dest = dest_dir / name
            install_file(path, dest, replace=False, what=what)
        except TransportError:
            raise
        except OSError as exc:
            raise _io_error(what, exc) from None
        sync_folder(dest_dir)
        sync_folder(path.parent)
        return str(dest)


def _unlink_quietly(path: Path) -> None:
    with suppress(OSError):
        path.unlink()


def _io_error(what: str, exc: OSError) -> TransportError:
    reason = exc.strerror or exc.__class__.__name__
    where = f" ({exc.filename})" if exc.filename else ""
    if isinstance(exc, FileNotFoundError):
        return NotFound(f"{what}: {reason}{where}")
    return TransportError(f"{what}: {reason}{where}")
