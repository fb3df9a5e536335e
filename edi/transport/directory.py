"""The ``directory`` transport: the mailbox is two plain folders (a mounted share, or a folder a
clearinghouse's own agent watches).

Uploads are written to ``.<name>.part`` in the outbox, flushed to disk, then given their name with a hard
link, which fails when the name is taken: an existing file is never replaced, and the watcher never sees a
half-written file under a final name. Outbox files are created mode 0640 (owner and group): the agent that
collects them often runs as another user of the same group, and claims hold patient data.
"""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from edi.transport.base import (
    AlreadyExists,
    NotFound,
    RemoteFile,
    Transport,
    TransportError,
    check_name,
    install_file,
    is_regular,
    is_temp_name,
    sync_folder,
    temp_name,
    write_local,
)

_CHUNK = 1 << 20


class DirectoryTransport(Transport):
    kind = "directory"

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
        final, temp = outbox / name, outbox / temp_name(name)
        what = f"{self.clearinghouse}: upload of {name}"
        if os.path.lexists(final):
            raise AlreadyExists(f"{what}: {final} already exists; nothing was replaced")
        try:
            with open(local_path, "rb") as src:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o640)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
        except OSError as exc:
            _unlink_quietly(temp)
            raise _io_error(f"{what}", exc) from None
        try:
            install_file(temp, final, replace=False, what=what)
        except AlreadyExists:
            _unlink_quietly(temp)
            raise
        except OSError as exc:
            _unlink_quietly(temp)
            raise _io_error(what, exc) from None
        sync_folder(outbox)
        return str(final)

    def list_inbox(self) -> list[RemoteFile]:
        inbox = self._folder(self.inbox, "inbox")
        files = []
        try:
            with os.scandir(inbox) as entries:
                for entry in entries:
                    if is_temp_name(entry.name):
                        continue
                    st = entry.stat(follow_symlinks=False)
                    if is_regular(st.st_mode):
                        files.append(RemoteFile(entry.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        except OSError as exc:
            raise _io_error(f"{self.clearinghouse}: listing the inbox {inbox}", exc) from None
        return sorted(files, key=lambda f: f.name)

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
