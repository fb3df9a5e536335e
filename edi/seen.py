"""Strings seen so far, in little memory: ``SeenIds`` (the build's duplicate claim ids, the recorder's claims that
stand earlier in the same file). A set of a million strings takes 150-200 MB; this keeps 8 to 16 bytes each and
finds the strings themselves again only when a hash repeats."""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from array import array
from typing import IO


class SeenIds:
    """The ids seen so far (claim ids of a build, claim keys of a recorded file), each with the file it came
    from, in little memory.

    A dict of the ids (a string object and a dict entry each) made the build's memory grow with its input, by
    about ten times what this keeps: an 8-byte hash of each id, in an open-addressing table (an ``array`` at
    most half full, so 8 to 16 bytes an id). The ids themselves go, in batches, to a temporary file, read only
    when a hash comes again: a duplicate id, or (rarely) another id with the same hash. The first time that
    happens they move into an indexed table of a temporary SQLite database, which answers the exact question
    (this id? first seen in which file?) for that hit and every later one; a batch without duplicates never
    pays for the index. ``hash()`` is salted per process, so one ``SeenIds`` serves one process."""

    #: ids written to the file (or the database) at a time
    BATCH = 4096

    def __init__(self) -> None:
        self._slots = array("q", bytes(8 * 1024))
        self._mask = len(self._slots) - 1
        self._count = 0
        self._pending: list[tuple[int, str, int]] = []  # (hash, id, file number) not yet written
        self._files: dict[str | None, int] = {}
        self._names: list[str | None] = []
        self._spool: IO[bytes] | None = None  # the ids, pickled in batches, until a hash comes twice
        self._db: sqlite3.Connection | None = None  # the ids, indexed, from then on

    def add(self, claim_id: str, file: str | None) -> tuple[bool, str | None]:
        """``(True, the file it was first seen in)`` when ``claim_id`` was seen before; else ``(False, None)``,
        and it is seen now (from ``file``)."""
        h = hash(claim_id) or 1  # 0 marks an empty slot
        slots, mask = self._slots, self._mask
        i = h & mask  # linear probing from the hash's low bits
        while (found := slots[i]) != 0:
            if found == h:
                first = self._find(h, claim_id)
                if first is not None:
                    return True, self._names[first]
                break  # another id with the same hash: the table has it, the id is kept below
            i = (i + 1) & mask
        else:
            slots[i] = h
            self._count += 1
            if self._count * 2 > mask:
                self._grow()
        number = self._files.get(file)
        if number is None:
            number = self._files[file] = len(self._names)
            self._names.append(file)
        self._pending.append((h, claim_id, number))
        if len(self._pending) >= self.BATCH:
            self._flush()
        return False, None

    def __contains__(self, claim_id: str) -> bool:
        """Whether ``claim_id`` was seen (nothing is added)."""
        h = hash(claim_id) or 1
        slots, mask = self._slots, self._mask
        i = h & mask
        while (found := slots[i]) != 0:
            if found == h and self._find(h, claim_id) is not None:
                return True
            i = (i + 1) & mask
        return False

    def _grow(self) -> None:
        old = self._slots
        self._slots = slots = array("q", bytes(16 * len(old)))
        self._mask = mask = len(slots) - 1
        for h in old:
            if h:
                i = h & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = h

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self._db is not None:
            self._insert(pending)
            return
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="edi-ids-")  # noqa: SIM115 - closed in close()
        pickle.dump(pending, self._spool, pickle.HIGHEST_PROTOCOL)

    def _find(self, h: int, claim_id: str) -> int | None:
        """The file number ``claim_id`` was first seen with, or None when only its hash was."""
        self._flush()
        if self._db is None:
            self._db = sqlite3.connect("")  # a private temporary database, on disk past a small page cache
            self._db.execute("CREATE TABLE seen (hash INTEGER, id BLOB, file INTEGER)")
            if self._spool is not None:
                self._spool.seek(0)
                while True:
                    try:
                        batch = pickle.load(self._spool)
                    except EOFError:
                        break
                    self._insert(batch)
                self._spool.close()
                self._spool = None
            self._db.execute("CREATE INDEX seen_hash ON seen (hash)")
        row = self._db.execute("SELECT file FROM seen WHERE hash = ? AND id = ? LIMIT 1",
                               (h, _id_bytes(claim_id))).fetchone()
        return None if row is None else row[0]

    def _insert(self, rows: list[tuple[int, str, int]]) -> None:
        assert self._db is not None
        self._db.executemany("INSERT INTO seen VALUES (?, ?, ?)",
                             [(h, _id_bytes(claim_id), number) for h, claim_id, number in rows])

    def close(self) -> None:
        """Let go of the temporary file or database (the object answers no more)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        if self._db is not None:
            self._db.close()
            self._db = None


def _id_bytes(claim_id: str) -> bytes:
    """An id as SQLite keeps it: UTF-8, a lone surrogate included (an id read from JSON may hold one; the checks
    report it, but it is seen like any other)."""
    return claim_id.encode("utf-8", "surrogatepass")
