"""A simulated clearinghouse on a directory transport: the 837s in its outbox answered into its inbox.

    box = Mailbox("synthhub", outbox=Path("exchange/synthhub/out"), inbox=Path("exchange/synthhub/in"))
    result = answer_mailbox(box, fees=fees, seed=7, payer_keys={"SYNACME1": "acme"})

The outbox is the folder ``edi claims submit`` uploads into and the inbox the one ``edi inbox fetch`` reads, so
both commands run against it unchanged. Each regular file of the outbox (hidden ones, such as an upload still
under its temporary name, are left alone) that holds 837 claims is first moved into ``<outbox>/processed/``
(so that it is never answered twice, even when answering fails half way), then answered into the inbox (see
:func:`edi.simulate.payer.answer_837`: 999, 277CA and 835s named after it). A file that is not an 837 is left
where it is and reported. A name already taken in ``processed/`` (the same file name submitted again) gets a
``.2``, ``.3``... suffix, and so do its answers' names in the inbox.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edi.fees import FeeSchedule
from edi.simulate.payer import Answered, SimulationError, answer_837
from edi.simulate.policy import Policy
from edi.x12.sniff import KIND_WORDS, sniff

PROCESSED = "processed"


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A directory clearinghouse: its name, the folder 837s are dropped into and the one answers go to."""

    name: str
    outbox: Path
    inbox: Path


@dataclass
class MailboxResult:
    mailbox: str
    answered: list[Answered] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)  # (file, why it was not answered)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (file, code, message)

    def as_dict(self) -> dict:
        return {"clearinghouse": self.mailbox, "answered": [a.as_dict() for a in self.answered],
                "left": [{"file": f, "why": why} for f, why in self.left],
                "failed": [{"file": f, "code": c, "message": m} for f, c, m in self.failed]}


def _free_name(folder: Path, name: str) -> str:
    if not os.path.lexists(folder / name):
        return name
    n = 2
    while os.path.lexists(folder / f"{name}.{n}"):
        n += 1
    return f"{name}.{n}"


def answer_mailbox(box: Mailbox, *, fees: FeeSchedule, seed: int, payer_keys: Mapping[str, str] | None = None,
                   payer_names: Mapping[str, str] | None = None, policy: Policy | None = None) -> MailboxResult:
    """Answer every 837 waiting in ``box.outbox`` (see the module docstring). Raises ``SimulationError``
    (``simulate.mailbox``) when the outbox or inbox is not a folder."""
    for folder, role in ((box.outbox, "outbox"), (box.inbox, "inbox")):
        if not folder.is_dir():
            raise SimulationError("simulate.mailbox", f"{box.name}: the {role} {folder} is not a folder")
    result = MailboxResult(box.name)
    processed = box.outbox / PROCESSED
    with os.scandir(box.outbox) as entries:
        names = sorted(e.name for e in entries if not e.name.startswith(".") and e.is_file(follow_symlinks=False))
    for name in names:
        path = box.outbox / name
        try:
            kind = sniff(str(path)).kind
        except OSError as exc:
            result.failed.append((str(path), "simulate.unreadable", f"{path}: {exc.strerror or exc}"))
            continue
        if kind != "837":
            result.left.append((str(path), f"holds {KIND_WORDS[kind]}, not 837 claims: left in the outbox"))
            continue
        processed.mkdir(mode=0o700, exist_ok=True)
        taken = _free_name(processed, name)
        target = processed / taken
        os.rename(path, target)
        stem = taken.rsplit(".", 1)[0] if taken == name else taken
        stem = _unique_stem(box.inbox, stem)
        try:
            result.answered.append(answer_837(str(target), box.inbox, fees=fees, seed=seed, payer_keys=payer_keys,
                                              payer_names=payer_names, policy=policy, stem=stem))
        except SimulationError as exc:
            result.failed.append((str(target), exc.code, exc.message))
    return result


def _unique_stem(inbox: Path, stem: str) -> str:
    candidate, n = stem, 2
    while any(os.path.lexists(inbox / f"{candidate}_{k}") for k in ("1.999", "2.277")):
        candidate = f"{stem}.{n}"
        n += 1
    return candidate
