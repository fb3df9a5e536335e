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

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from edi.ledger import Ledger, RecordedFile
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
from edi.x12.sniff import KIND_WORDS, sniff

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
    ``seen`` (seen by an earlier fetch: not downloaded again) or ``skipped`` (a name the transport cannot fetch
    safely, such as one holding control characters: left on the server, reported)."""

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
        """Fetched and imported (or seen before), with no error found in it."""
        return self.outcome in ("imported", "already", "seen", "skipped") and not any(p.is_error for p in self.problems)

    def as_dict(self) -> dict:
        return {"clearinghouse": self.clearinghouse, "remote_name": self.remote_name, "outcome": self.outcome,
                "kind": self.kind, "message": self.message, "archive": self.archive, "removed": self.removed,
                "problems": [p.as_dict() for p in self.problems]}


def _with_transport(config, key: str, purpose: str):
    """The clearinghouse ``key`` names, which must have a transport; ``ExchangeError`` otherwise."""
    where = config.file or "the configuration"
    ch = config.clearinghouses.get(key)
    if ch is None:
        raise ExchangeError(f"no clearinghouse {key!r} in {where} (there are: "
                            f"{', '.join(config.clearinghouses) or 'none'})")
    if ch.transport is None:
        raise ExchangeError(f"clearinghouse {key} has no [clearinghouses.{key}.transport] in {where}: edi does not "
                            f"know where to {purpose}")
    return ch


# -- submit ---------------------------------------------------------------------------------------------------


def _refuse(path: str, code: str, message: str, **extra) -> Submission:
    return Submission(path, "refused", message, problems=[Problem(code, message, ERROR, Where(file=path))],
                      **extra)


def _clearinghouse_for(path: str, config, asked: str | None) -> tuple[object | None, str | None, Submission | None]:
    """The clearinghouse a file goes to, its ISA13, or a refusal."""
    what = sniff(path, limit=None)
    if what.kind != "837":
        return None, None, _refuse(path, "submit.kind", f"{Path(path).name} holds {KIND_WORDS[what.kind]}, not "
                                   "837 claims: not sent")
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
    """See the module docstring. ``paths`` None: every 837 the ledger built that waits to be submitted (only those
    for ``clearinghouse`` when it is given). Raises ``ExchangeError`` when ``clearinghouse`` is not configured or
    has no transport."""
    if clearinghouse is not None:
        _with_transport(config, clearinghouse, "send to")
    results: list[Submission] = []
    todo: dict[str, list[tuple[str, RecordedFile, str, str, int]]] = {}  # clearinghouse -> files to send
    if paths is None:
        candidates: list[tuple[str | None, RecordedFile | None]] = [(f.path, f) for f in ledger.unsubmitted_files()]
    else:
        candidates = [(p, None) for p in paths]
    chosen: set[str] = set()  # the sha256 of each file taken in this run: the same content is sent once
    for path, known in candidates:
        if path is None or not os.path.isfile(path):
            name = known.name if known is not None else str(path)
            results.append(_refuse(name, "submit.missing", f"{name}: the built file is no longer at "
                                   f"{path or '(no path recorded)'}: not sent"))
            continue
        sha, size = _sha256_of(path)
        if known is not None and sha != known.sha256:
            results.append(_refuse(path, "submit.changed", f"{Path(path).name} is not the file edi built (its "
                                   "content changed since): not sent; build again, or claims record the file as it "
                                   "is now"))
            continue
        rec = known if known is not None else ledger.recorded_file(sha)
        if rec is None:
            results.append(_refuse(path, "submit.unknown", f"{Path(path).name} is not an 837 this ledger built or "
                                   "recorded (edi claims record it first): not sent"))
            continue
        if rec.kind != "837":
            results.append(_refuse(path, "submit.kind", f"{Path(path).name} is recorded in the ledger as "
                                   f"{rec.kind}, not as 837 claims: not sent"))
            continue
        if sha in chosen:
            results.append(_refuse(path, "submit.again", f"{Path(path).name} has the content of a file sent in this "
                                   "run: not sent twice"))
            continue
        if rec.submissions and not force:
            results.append(_refuse(path, "submit.again", _submitted_before(path, rec)))
            continue
        ch, isa13, refusal = _clearinghouse_for(path, config, clearinghouse)
        if refusal is not None:
            if paths is None and clearinghouse is not None and refusal.problems[0].code == "submit.receiver":
                continue  # --all-built --clearinghouse X: the files for other clearinghouses are not asked for
            results.append(refusal)
            continue
        if ch.transport is None:
            results.append(_refuse(path, "submit.transport", f"{Path(path).name} goes to {ch.key}, which has no "
                                   f"[clearinghouses.{ch.key}.transport] in the configuration: not sent"))
            continue
        chosen.add(sha)
        todo.setdefault(ch.key, []).append((path, rec, sha, isa13, size))
    done = 0
    for ch_key, files in todo.items():
        ch = config.clearinghouses[ch_key]
        broken: TransportError | None = None
        box = None
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
                outcome, broken_now = _send_one(box, ch, path, rec, sha, isa13, size, ledger, now, force)
                results.append(outcome)
                broken = broken or broken_now
        finally:
            if box is not None:
                box.__exit__(None, None, None)
    return results


def _submitted_before(path: str, rec: RecordedFile) -> str:
    ch_name, remote, when, state = rec.submissions[-1]
    if state == "sending":
        return (f"{Path(path).name}: an earlier submit to {ch_name} ({when:%Y-%m-%d %H:%M}, as {remote}) did not "
                "finish, and the file may have arrived: look in the clearinghouse's outbox; not sent again "
                "(--force sends it again)")
    return (f"{Path(path).name} was submitted to {ch_name} on {when:%Y-%m-%d %H:%M} as {remote}: not sent again "
            "(--force sends it again)")


def _send_one(box, ch, path: str, rec: RecordedFile, sha: str, isa13: str, size: int, ledger: Ledger,
              now: datetime, force: bool) -> tuple[Submission, TransportError | None]:
    """Upload one file, the ledger told before (``sending``) and after (``sent``): an upload whose end is not
    known leaves the file ``sending``, and it is not sent again without --force. Returns the outcome and the
    transport error when the connection itself failed."""
    try:
        remote = format_remote_name(ch.transport.remote_name, name=Path(path).name, isa13=isa13,
                                    clearinghouse=ch.key, now=now)
    except TransportError as exc:
        return _failed(path, ch.key, None, exc), None
    attempt = ledger.begin_submission(rec.id, clearinghouse=ch.key, remote_name=remote, sha256=sha, size=size,
                                      forced=force and bool(rec.submissions))
    if attempt is None:
        again = ledger.recorded_file(sha)
        return _refuse(path, "submit.again", _submitted_before(path, again) if again and again.submissions else
                       f"{Path(path).name} is being submitted by another process: not sent"), None
    try:
        box.upload(path, remote)
    except TransportError as exc:
        if not exc.outcome_unknown:
            ledger.drop_submission(attempt)
        return _failed(path, ch.key, remote, exc), exc if isinstance(exc, CONNECTION_ERRORS) else None
    try:
        marked = ledger.finish_submission(attempt)
    except Exception as exc:  # the file is in the outbox; the ledger could not say so: it stays "sending"
        message = (f"{Path(path).name}: sent to {ch.key} as {remote}, but the ledger could not record it "
                   f"({type(exc).__name__}): the file stays marked as not confirmed, and is not sent again "
                   "without --force")
        return Submission(path, "failed", message, clearinghouse=ch.key, remote_name=remote,
                          problems=[Problem("submit.record", message, ERROR, Where(file=path))]), None
    return Submission(path, "submitted", f"sent to {ch.key} as {remote}; {marked} claims submitted",
                      clearinghouse=ch.key, remote_name=remote, claims=marked), None


def _failed(path: str, ch_key: str, remote: str | None, exc: TransportError) -> Submission:
    message = f"{Path(path).name}: not sent to {ch_key}: {exc.message}"
    if exc.outcome_unknown:
        message += " (the connection was lost after the upload was complete: look in the outbox before sending " \
                   "it again)"
    return Submission(path, "failed", message, clearinghouse=ch_key, remote_name=remote,
                      problems=[Problem(exc.code, message, ERROR, Where(file=path))])


# -- fetch ----------------------------------------------------------------------------------------------------


#: Inbox files up to this size are downloaded each time they are listed and known by their content (sha256):
#: acknowledgements are small and a clearinghouse may reuse a name (``ack.999``) with the same size and time.
#: Larger ones (835s) are known by name, size and time, and not downloaded again once seen.
SMALL_FILE = 1 << 20


def _local_name(name: str) -> str:
    """A file name the archive can hold for a remote ``name``: control characters and separators replaced, no
    leading dot, at most 200 bytes (a suffix may still be added)."""
    safe = "".join("_" if ord(ch) < 0x20 or ord(ch) == 0x7F or 0x80 <= ord(ch) < 0xA0 or ch in "/\\" else ch
                   for ch in name).lstrip(".") or "file"
    while len(safe.encode("utf-8", "surrogateescape")) > 200:
        safe = safe[:-1]
    return safe


def _archive_path(archive: str | os.PathLike[str], ch_key: str, name: str, now: datetime) -> Path:
    """A new file, made empty and 0600 here, for ``name`` in the archive: ``<archive>/<clearinghouse>/<date>/
    <name>``, with ``-2``, ``-3``... before the extension when the name is taken (a file of the same name fetched
    the same day, or by another fetch at the same moment)."""
    folder = Path(archive) / ch_key / now.strftime("%Y-%m-%d")
    make_private_dirs(folder)
    local = _local_name(name)
    stem, suffix = os.path.splitext(local)
    n = 1
    while True:
        target = folder / (local if n == 1 else f"{stem}-{n}{suffix}")
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return target
        except FileExistsError:
            n += 1


def _import(ledger: Ledger, path: str, config) -> tuple[str | None, str, str, list[Problem]]:
    """(kind, outcome, message, problems) of importing a downloaded file by what it holds (an 835's payments
    matched within their payer, with the configuration's payer aliases, as `edi remit import` does)."""
    kind = sniff(path).kind
    if kind == "ack":
        r = ledger.import_acks(path)
    elif kind == "835":
        r = ledger.import_835(path, payers=config.payer_matching())
    else:
        message = f"holds {KIND_WORDS[kind]}, not a TA1, 999, 277CA or 835: kept in the archive, not imported"
        return kind, "unknown", message, [Problem("inbox.unknown", message, WARNING, Where(file=path))]
    return kind, r.outcome, r.message, list(r.problems)


def fetch(config, ledger: Ledger, *, now: datetime, archive: str | os.PathLike[str] = "inbox",
          clearinghouse: str | None = None, transport_options: dict | None = None,
          progress: Callable[[int], None] | None = None) -> list[Fetched]:
    """See the module docstring. Raises ``ExchangeError`` when ``clearinghouse`` is not configured or has no
    transport, or when no clearinghouse has one."""
    if clearinghouse is not None:
        chosen = [_with_transport(config, clearinghouse, "fetch from")]
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
                done: list[tuple[Fetched, object, int]] = []  # imported, to delete or move once all are in
                listing = box.list_inbox()
                for skipped in listing.skipped:
                    results.append(Fetched(ch.key, skipped.name, "skipped", f"not fetched: {skipped.reason}",
                                           problems=[Problem("inbox.skipped", f"{skipped.reason}", WARNING)]))
                for remote in listing:
                    count += 1
                    if progress is not None:
                        progress(count)
                    fetched, inbox_id = _fetch_one(box, ch.key, remote, ledger, archive, now, config)
                    results.append(fetched)
                    if fetched.ok and fetched.outcome != "seen" and inbox_id is not None:
                        done.append((fetched, remote, inbox_id))
                    if fetched.outcome == "failed" and fetched.problems and \
                            fetched.problems[0].code in _CONNECTION_CODES:
                        break  # the connection is gone: the rest would fail alike
                if done and box.config.after_fetch != "leave":
                    _after_fetch(box, done, ledger)
        except TransportError as exc:
            message = f"{ch.key}: the inbox could not be read: {exc.message}"
            results.append(Fetched(ch.key, "", "failed", message, problems=[Problem(exc.code, message)]))
    return results


_CONNECTION_CODES = frozenset(cls.code for cls in CONNECTION_ERRORS)


def _after_fetch(box, done: list, ledger: Ledger) -> None:
    """Delete or move the files imported, each only if the inbox still shows it as it was fetched (a file the
    clearinghouse replaced in the meantime is a new file: it stays)."""
    now_listed = {r.name: r for r in box.list_inbox()}
    for fetched, remote, inbox_id in done:
        current = now_listed.get(remote.name)
        if current is None or (current.size, current.mtime) != (remote.size, remote.mtime):
            fetched.problems.append(Problem("inbox.changed", f"{remote.name} changed on the server after it was "
                                            "fetched: left there, to be fetched again", WARNING))
            continue
        try:
            box.after_fetch(remote.name)
            ledger.mark_inbox_removed(inbox_id)
            fetched.removed = True
        except TransportError as exc:
            fetched.problems.append(Problem(exc.code, f"{remote.name} was imported but could not be "
                                            f"{'deleted' if box.config.after_fetch == 'delete' else 'moved'} on "
                                            f"the server: {exc.message}", WARNING))


def _fetch_one(box, ch_key: str, remote, ledger: Ledger, archive, now: datetime,
               config) -> tuple[Fetched, int | None]:
    mtime = int(remote.mtime.timestamp()) if remote.mtime is not None else None
    seen = ledger.inbox_seen(ch_key, remote.name, remote.size, mtime)
    if seen is not None and seen["outcome"] != "failed" and remote.size > SMALL_FILE:
        return Fetched(ch_key, remote.name, "seen", f"seen on {seen['fetched_at']:%Y-%m-%d %H:%M} "
                       f"({seen['outcome']}): not fetched again", kind=seen["kind"],
                       archive=seen["archive_path"]), None
    target = _archive_path(archive, ch_key, remote.name, now)
    try:
        box.download(remote.name, target, replace=True)
    except TransportError as exc:
        with contextlib.suppress(OSError):
            target.unlink()
        message = f"{ch_key}: {remote.name} could not be downloaded: {exc.message}"
        ledger.record_inbox_file(clearinghouse=ch_key, remote_name=remote.name, size=remote.size, mtime=mtime,
                                 outcome="failed", message=message, fetched_at=now)
        return Fetched(ch_key, remote.name, "failed", message, problems=[Problem(exc.code, message)]), None
    sha, _ = _sha256_of(str(target))
    if seen is not None and seen["outcome"] != "failed":
        earlier = ledger.inbox_content_seen(ch_key, sha)
        if earlier is not None:  # a small file seen before, with this very content: the copy goes
            with contextlib.suppress(OSError):
                target.unlink()
            return Fetched(ch_key, remote.name, "seen", f"seen on {earlier['fetched_at']:%Y-%m-%d %H:%M} "
                           f"({earlier['outcome']}): not imported again", kind=earlier["kind"],
                           archive=earlier["archive_path"]), None
    try:
        kind, outcome, message, problems = _import(ledger, str(target), config)
    except Exception as exc:  # a file the importer cannot take must not stop the inbox: kept, reported, once
        kind = None
        outcome = "refused"
        message = (f"could not be imported ({type(exc).__name__}): kept in the archive at {target}; import it by "
                   "hand once the cause is fixed")
        problems = [Problem("inbox.import", message)]
    inbox_id = ledger.record_inbox_file(clearinghouse=ch_key, remote_name=remote.name, size=remote.size, mtime=mtime,
                                        sha256=sha, kind=kind, outcome=outcome, message=message,
                                        archive_path=str(target), fetched_at=now)
    return Fetched(ch_key, remote.name, outcome, message, kind=kind, archive=str(target), problems=problems), inbox_id
