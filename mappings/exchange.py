"""Talking to clearinghouses: built 837s up into their outboxes, acknowledgements and remittances down from their
inboxes and into the ledger. Orchestration over ``edi.transport`` (files), ``edi.ledger`` (what was built,
submitted and imported) and the configuration (``[clearinghouses.NAME.transport]``).

    sent = submit(["out/synthhub-000000001.837"], config, ledger, now=datetime.now())
    sent = submit(None, config, ledger, now=...)          # every built file not submitted yet (--all-built)
    got = fetch(config, ledger, archive="inbox", now=...)

**Submitting** a file: it must be an 837 this ledger built or recorded (by its sha256), not submitted before
(unless ``force``), and addressed to the clearinghouse it goes to (its ISA08 is the clearinghouse's ``isa_id``;
without ``clearinghouse`` the receiver picks the clearinghouse). It is uploaded under the clearinghouse's
``remote_name`` pattern, atomically (see ``edi.transport``), then the submission is recorded and its claims
waiting as ``built`` become ``submitted``. A failed upload records nothing and marks nothing. The files for one
clearinghouse share one connection; once the connection itself fails, its remaining files fail with it.

**Fetching** a clearinghouse's inbox: each file not seen before (by name, size and time) is downloaded into the
archive (``<archive>/<clearinghouse>/<YYYY-MM-DD>/<name>``, folders 0700, files 0600), recognised by its content
(TA1, 999, 277CA: ``edi acks import``; 835: ``edi remit import``; anything else is kept and reported), imported,
and, only once imported (or found already imported: the ledger knows every file by its sha256, whatever its
name), deleted or moved on the server as ``after_fetch`` says (default: left there and remembered). A file that
fails to import stays in the archive and is reported; the others go on. Each file seen is recorded in the
ledger (``inbox_files``), so a second fetch downloads nothing it has seen; a download that failed is tried again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from edi.ledger import Ledger, LedgerError, RecordedFile
from edi.ledger import sha256_of as _sha256_of
from edi.problems import ERROR, WARNING, Problem, Where
from edi.transport import (
    AuthFailed,
    ConnectFailed,
    HostKeyError,
    TransportConfigError,
    TransportError,
    TransportTimeout,
    format_remote_name,
    open_transport,
)
from edi.transport.base import make_private_dirs
from edi.x12.sniff import sniff

#: Failures of the connection itself: every later file of that clearinghouse would fail the same way.
CONNECTION_ERRORS = (ConnectFailed, AuthFailed, HostKeyError, TransportTimeout, TransportConfigError)


class ExchangeError(Exception):
    """A request that cannot be carried out as asked (an unknown clearinghouse, one with no transport)."""


@dataclass
class Submission:
    """What became of one file given to ``submit``: ``submitted``, ``refused`` (nothing sent: the file is not
    one to send, or not to that clearinghouse) or ``failed`` (the upload did not happen)."""

    file: str
    outcome: str
    message: str
    clearinghouse: str | None = None
    remote_name: str | None = None
    claims: int = 0  # claims marked submitted
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == "submitted"

    def as_dict(self) -> dict:
        return {"file": self.file, "outcome": self.outcome, "message": self.message,
                "clearinghouse": self.clearinghouse, "remote_name": self.remote_name, "claims": self.claims,
                "problems": [p.as_dict() for p in self.problems]}


@dataclass
class Fetched:
    """What became of one inbox file: ``imported``, ``already`` (its content was imported before), ``refused``
    (the importer refused it), ``unknown`` (not a TA1, 999, 277CA or 835: kept), ``failed`` (not downloaded),
    or ``seen`` (seen by an earlier fetch: not downloaded again)."""

    clearinghouse: str
    remote_name: str
    outcome: str
    message: str
    kind: str | None = None
    archive: str | None = None
    removed: bool = False
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in ("imported", "already", "seen")

    def as_dict(self) -> dict:
        return {"clearinghouse": self.clearinghouse, "remote_name": self.remote_name, "outcome": self.outcome,
                "kind": self.kind, "message": self.message, "archive": self.archive, "removed": self.removed,
                "problems": [p.as_dict() for p in self.problems]}


# -- submit ---------------------------------------------------------------------------------------------------


def _refuse(path: str, code: str, message: str, **extra) -> Submission:
    return Submission(path, "refused", message, problems=[Problem(code, message, ERROR, Where(file=path))],
                      **extra)


def _clearinghouse_for(path: str, config, asked: str | None) -> tuple[object | None, str | None, Submission | None]:
    """The clearinghouse a file goes to, its ISA13, or a refusal."""
    what = sniff(path, limit=None)
    if what.kind != "837":
        said = {"835": "an 835", "ack": "acknowledgements", "other": "another transaction set"}.get(what.kind or "",
                                                                                                  "no X12")
        return None, None, _refuse(path, "submit.kind", f"{Path(path).name} holds {said}, not 837 claims: not sent")
    receivers = what.receivers
    if len(receivers) != 1:
        return None, None, _refuse(path, "submit.receiver", f"{Path(path).name} is addressed to several receivers "
                                   f"({', '.join(receivers)}): send one interchange per clearinghouse")
    receiver = receivers[0]
    isa13 = what.interchanges[0] if what.interchanges else ""
    if asked is not None:
        ch = config.clearinghouses[asked]
        if ch.isa_id.strip() != receiver:
            return None, None, _refuse(path, "submit.receiver", f"{Path(path).name} is addressed to {receiver} "
                                       f"(ISA08), not to {asked} ({ch.isa_id}): not sent")
        return ch, isa13, None
    matches = [ch for ch in config.clearinghouses.values() if ch.isa_id.strip() == receiver]
    if not matches:
        return None, None, _refuse(path, "submit.receiver", f"{Path(path).name} is addressed to {receiver} (ISA08), "
                                   "which is no clearinghouse of the configuration: not sent")
    if len(matches) > 1:
        names = ", ".join(ch.key for ch in matches)
        return None, None, _refuse(path, "submit.receiver", f"{Path(path).name} is addressed to {receiver}, the "
                                   f"isa_id of several clearinghouses ({names}): say which with --clearinghouse")
    return matches[0], isa13, None


def submit(paths: Iterable[str] | None, config, ledger: Ledger, *, now: datetime, clearinghouse: str | None = None,
           force: bool = False, progress: Callable[[int], None] | None = None,
           transport_options: dict | None = None) -> list[Submission]:
    """See the module docstring. ``paths`` None: every 837 the ledger built that waits to be submitted. Raises
    ``ExchangeError`` when ``clearinghouse`` is not configured or has no transport."""
    if clearinghouse is not None:
        if clearinghouse not in config.clearinghouses:
            raise ExchangeError(f"no clearinghouse {clearinghouse!r} in {config.file or 'the configuration'} "
                                f"(there are: {', '.join(config.clearinghouses) or 'none'})")
        if config.clearinghouses[clearinghouse].transport is None:
            raise ExchangeError(f"clearinghouse {clearinghouse} has no [clearinghouses.{clearinghouse}.transport] "
                                f"in {config.file or 'the configuration'}: edi does not know where to send to")
    results: list[Submission] = []
    todo: dict[str, list[tuple[str, RecordedFile, str, str, int]]] = {}  # clearinghouse -> files to send
    if paths is None:
        waiting = [(f.path, f) for f in ledger.unsubmitted_files()]
        candidates = [(p, f) for p, f in waiting]
    else:
        candidates = [(p, None) for p in paths]
    done = 0
    for path, known in candidates:
        if path is None or not os.path.isfile(path):
            name = known.name if known is not None else str(path)
            results.append(_refuse(name, "submit.missing", f"{name}: the built file is no longer at "
                                   f"{path or '(no path recorded)'}: not sent"))
            continue
        sha, size = _sha256_of(path)
        rec = known if known is not None else ledger.recorded_file(sha)
        if rec is None:
            results.append(_refuse(path, "submit.unknown", f"{Path(path).name} is not an 837 this ledger built or "
                                   "recorded (edi claims record it first): not sent"))
            continue
        if rec.kind != "837":
            results.append(_refuse(path, "submit.kind", f"{Path(path).name} is recorded in the ledger as "
                                   f"{rec.kind}, not as 837 claims: not sent"))
            continue
        if rec.submissions and not force:
            ch_name, remote, when = rec.submissions[-1]
            results.append(_refuse(path, "submit.again", f"{Path(path).name} was submitted to {ch_name} on "
                                   f"{when:%Y-%m-%d %H:%M} as {remote}: not sent again (--force sends it again)"))
            continue
        ch, isa13, refusal = _clearinghouse_for(path, config, clearinghouse)
        if refusal is not None:
            results.append(refusal)
            continue
        if ch.transport is None:
            results.append(_refuse(path, "submit.transport", f"{Path(path).name} goes to {ch.key}, which has no "
                                   f"[clearinghouses.{ch.key}.transport] in the configuration: not sent"))
            continue
        todo.setdefault(ch.key, []).append((path, rec, sha, isa13, size))
    for ch_key, files in todo.items():
        ch = config.clearinghouses[ch_key]
        broken: TransportError | None = None
        try:
            box = open_transport(ch.transport, clearinghouse=ch_key, **(transport_options or {}))
            box.__enter__()
        except TransportError as exc:
            broken, box = exc, None
        try:
            for path, rec, sha, isa13, size in files:
                done += 1
                if progress is not None:
                    progress(done)
                if broken is not None:
                    results.append(_failed(path, ch_key, None, broken))
                    continue
                try:
                    remote = format_remote_name(ch.transport.remote_name, name=Path(path).name, isa13=isa13,
                                                clearinghouse=ch_key, now=now)
                    box.upload(path, remote)
                except CONNECTION_ERRORS as exc:
                    broken = exc
                    results.append(_failed(path, ch_key, None, exc))
                    continue
                except TransportError as exc:
                    results.append(_failed(path, ch_key, None, exc))
                    continue
                marked = ledger.record_submission(rec.id, clearinghouse=ch_key, remote_name=remote, sha256=sha,
                                                  size=size, forced=bool(rec.submissions))
                results.append(Submission(path, "submitted", f"sent to {ch_key} as {remote}; {marked} claims "
                                          "submitted", clearinghouse=ch_key, remote_name=remote, claims=marked))
        finally:
            if box is not None:
                box.__exit__(None, None, None)
    return results


def _failed(path: str, ch_key: str, remote: str | None, exc: TransportError) -> Submission:
    message = f"{Path(path).name}: not sent to {ch_key}: {exc.message}"
    if exc.outcome_unknown:
        message += " (the connection was lost after the upload was complete: look in the outbox before sending " \
                   "it again)"
    return Submission(path, "failed", message, clearinghouse=ch_key, remote_name=remote,
                      problems=[Problem(exc.code, message, ERROR, Where(file=path))])


# -- fetch ----------------------------------------------------------------------------------------------------


def _archive_path(archive: str | os.PathLike[str], ch_key: str, name: str, now: datetime) -> Path:
    """A new path for ``name`` in the archive: ``<archive>/<clearinghouse>/<date>/<name>``, with ``-2``, ``-3``...
    before the extension when the name is taken (a file of the same name fetched the same day)."""
    folder = Path(archive) / ch_key / now.strftime("%Y-%m-%d")
    make_private_dirs(folder)
    target = folder / name
    stem, suffix = os.path.splitext(name)
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    return target


def _import(ledger: Ledger, path: str) -> tuple[str | None, str, str, list[Problem]]:
    """(kind, outcome, message, problems) of importing a downloaded file by what it holds."""
    kind = sniff(path).kind
    if kind == "ack":
        r = ledger.import_acks(path)
    elif kind == "835":
        r = ledger.import_835(path)
    else:
        said = {"837": "837 claims", "other": "another transaction set"}.get(kind or "", "no X12")
        message = f"holds {said}, not a TA1, 999, 277CA or 835: kept in the archive, not imported"
        return kind, "unknown", message, [Problem("inbox.unknown", message, WARNING, Where(file=path))]
    return kind, r.outcome, r.message, list(r.problems)


def fetch(config, ledger: Ledger, *, now: datetime, archive: str | os.PathLike[str] = "inbox",
          clearinghouse: str | None = None, transport_options: dict | None = None,
          progress: Callable[[int], None] | None = None) -> list[Fetched]:
    """See the module docstring. Raises ``ExchangeError`` when ``clearinghouse`` is not configured or has no
    transport, or when no clearinghouse has one."""
    if clearinghouse is not None:
        if clearinghouse not in config.clearinghouses:
            raise ExchangeError(f"no clearinghouse {clearinghouse!r} in {config.file or 'the configuration'} "
                                f"(there are: {', '.join(config.clearinghouses) or 'none'})")
        chosen = [config.clearinghouses[clearinghouse]]
        if chosen[0].transport is None:
            raise ExchangeError(f"clearinghouse {clearinghouse} has no [clearinghouses.{clearinghouse}.transport] "
                                f"in {config.file or 'the configuration'}: edi does not know where to fetch from")
    else:
        chosen = [ch for ch in config.clearinghouses.values() if ch.transport is not None]
        if not chosen:
            raise ExchangeError(f"no clearinghouse of {config.file or 'the configuration'} has a transport "
                                "([clearinghouses.NAME.transport]): nothing to fetch from")
    results: list[Fetched] = []
    count = 0
    for ch in chosen:
        try:
            with open_transport(ch.transport, clearinghouse=ch.key, **(transport_options or {})) as box:
                for remote in box.list_inbox():
                    count += 1
                    if progress is not None:
                        progress(count)
                    results.append(_fetch_one(box, ch.key, remote, ledger, archive, now))
                    if results[-1].outcome == "failed" and results[-1].problems and \
                            results[-1].problems[0].code in _CONNECTION_CODES:
                        break  # the connection is gone: the rest would fail alike
        except TransportError as exc:
            message = f"{ch.key}: the inbox could not be read: {exc.message}"
            results.append(Fetched(ch.key, "", "failed", message, problems=[Problem(exc.code, message)]))
    return results


_CONNECTION_CODES = frozenset(cls.code for cls in CONNECTION_ERRORS)


def _fetch_one(box, ch_key: str, remote, ledger: Ledger, archive, now: datetime) -> Fetched:
    mtime = int(remote.mtime.timestamp()) if remote.mtime is not None else None
    seen = ledger.inbox_seen(ch_key, remote.name, remote.size, mtime)
    if seen is not None and seen["outcome"] != "failed":
        return Fetched(ch_key, remote.name, "seen", f"seen on {seen['fetched_at']:%Y-%m-%d %H:%M} "
                       f"({seen['outcome']}): not fetched again", kind=seen["kind"], archive=seen["archive_path"])
    target = _archive_path(archive, ch_key, remote.name, now)
    try:
        box.download(remote.name, target)
    except TransportError as exc:
        message = f"{ch_key}: {remote.name} could not be downloaded: {exc.message}"
        ledger.record_inbox_file(clearinghouse=ch_key, remote_name=remote.name, size=remote.size, mtime=mtime,
                                 outcome="failed", message=message, fetched_at=now)
        return Fetched(ch_key, remote.name, "failed", message, problems=[Problem(exc.code, message)])
    sha, _ = _sha256_of(str(target))
    try:
        kind, outcome, message, problems = _import(ledger, str(target))
    except LedgerError as exc:
        kind, outcome, message, problems = None, "failed", str(exc), [Problem("inbox.import", str(exc))]
    inbox_id = ledger.record_inbox_file(clearinghouse=ch_key, remote_name=remote.name, size=remote.size, mtime=mtime,
                                        sha256=sha, kind=kind, outcome=outcome, message=message,
                                        archive_path=str(target), fetched_at=now)
    fetched = Fetched(ch_key, remote.name, outcome, message, kind=kind, archive=str(target), problems=problems)
    if outcome in ("imported", "already") and box.config.after_fetch != "leave":
        try:
            box.after_fetch(remote.name)
            ledger.mark_inbox_removed(inbox_id)
            fetched.removed = True
        except TransportError as exc:
            fetched.problems.append(Problem(exc.code, f"{remote.name} was imported but could not be "
                                            f"{'deleted' if box.config.after_fetch == 'delete' else 'moved'} on "
                                            f"the server: {exc.message}", WARNING))
    return fetched
