"""Claims to the next payer (coordination of benefits, issue 17): the secondary 837 built from the primary's 835.

    result = build_secondary(ledger, config, ["ENC-C-0001"], out_dir="out", now=datetime.now())
    result = build_secondary(ledger, config, all_ready=True, out_dir="out", now=datetime.now())

A claim the primary payer adjudicated goes on to the next coverage of the encounter. Which one that is, the
primary's own 837 says: the build names every later coverage in its loops 2320/2330 (``mappings.claims``), and the
837 reader reads them back, so the claim is read back from the file the ledger recorded it from (``files.path``,
the CLM's segment number). For each claim asked for (or, with ``all_ready``, each claim a payer's 835 adjudicated
whose 837 names a coverage not billed yet):

1. the ledger's newest standing claim of the number (``Ledger.billed_claims``), read back from its 837: the
   primary's, or once the secondary is billed, the secondary's (which names the tertiary);
2. the next payer: the first other payer of that claim that has not adjudicated it and is not billed yet;
3. ``Ledger.primary_adjudication``: whether it goes on (``"bill"``) or why not (crossed over, denied, nothing
   left, not adjudicated yet...: edi.ledger.cob's stable codes, reported per claim);
4. the claim to the next payer: the same claim, its payer the next coverage's (``[payers.KEY]`` of the payer id,
   with its place in the order of payment), its subscriber that coverage's, the patient (and the relationship)
   as that coverage sees them; its other payers those that adjudicated before, this one's adjudication added
   (``PrimaryAdjudication.add_to``: 2320 and each line's 2430), then the later coverages still to come;
5. written with the claims build's write and record stages (``mappings.build``): one interchange per
   clearinghouse and run, control numbers from the ledger, each claim recorded as a claim of the same number
   against the next payer, carrying what the payer before left open (``ClaimRow.left_open``: its insurance balance,
   see ``edi.ledger.record``).

The clock is injected (``now``): the same ledger and 837s give the same files.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from edi.ledger import Ledger, claim_row
from edi.model import Claim, OtherPayer, Patient, Subscriber
from edi.problems import ERROR, Problem, Where, has_errors
from edi.x835.views import money
from edi.x837.reader import read_837
from edi.x837.writer import DEFAULT_CLAIMS_PER_ST, format_claim
from mappings.build import Bucket, BuiltFile, Spool, publish_files, spooled
from mappings.claims import fingerprint
from mappings.config import Config, PayerProfile

if TYPE_CHECKING:
    from edi.ledger.views import BilledClaim

#: What became of a claim asked for, beside edi.ledger.cob's reasons (``NO_SECONDARY``) and ``"built"``.
OUTCOMES = {
    "built": "the claim to the next payer was written and recorded",
    "no_next_payer": "the claim's 837 names no other coverage left to bill",
    "not_found": "the ledger holds no standing claim with this number",
    "file_missing": "the 837 the claim was recorded from is no longer where the ledger recorded it",
    "unknown_payer": "the next payer's id is the payer_id of no [payers] entry of the configuration",
    "refused": "edi's 837 writer (or the ledger) refused the claim to the next payer",
}


@dataclass
class SecondaryClaim:
    """What became of one claim: ``outcome`` is ``"built"``, a key of :data:`OUTCOMES` or one of
    edi.ledger.cob's ``NO_SECONDARY`` codes; ``message`` says it in words. ``payer_id`` is the payer billed
    before (whose adjudication was read), ``next_payer_id`` the one billed now, ``left_open`` what the payer
    before left open (what the next can pay), ``file`` the 837 written."""

    patient_control_number: str
    outcome: str
    message: str
    payer_id: str | None = None
    next_payer_id: str | None = None
    left_open: Decimal | None = None
    paid: Decimal | None = None
    file: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"patient_control_number": self.patient_control_number, "outcome": self.outcome,
                "message": self.message, "payer_id": self.payer_id, "next_payer_id": self.next_payer_id,
                "left_open": None if self.left_open is None else money(self.left_open),
                "primary_paid": None if self.paid is None else money(self.paid), "file": self.file,
                "problems": [p.as_dict() for p in self.problems]}


@dataclass
class SecondaryResult:
    claims: list[SecondaryClaim] = field(default_factory=list)
    files: list[BuiltFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the files' (writing, recording)

    @property
    def built(self) -> int:
        return sum(c.outcome == "built" for c in self.claims)

    @property
    def ok(self) -> bool:
        """No error: every claim asked for was built or has a reason not to be (a reason is not an error)."""
        return not has_errors(self.problems) and not any(has_errors(c.problems) for c in self.claims)

    def as_dict(self) -> dict:
        """What ``edi claims secondary --json`` prints."""
        return {"built": self.built, "claims": [c.as_dict() for c in self.claims],
                "files": [{"path": f.path, "clearinghouse": f.clearinghouse, "interchange": f.interchange,
                           "claims": f.claims} for f in self.files],
                "problems": [p.as_dict() for p in self.problems]}


def build_secondary(ledger: Ledger, config: Config, pcns: Iterable[str] | None = None, *, all_ready: bool = False,
                    out_dir: str, now: datetime, claims_per_st: int = DEFAULT_CLAIMS_PER_ST) -> SecondaryResult:
    """See the module docstring. ``pcns`` names the claims; ``all_ready`` takes every claim a payer adjudicated
    whose 837 names a coverage not billed yet (a claim with none is then not reported)."""
    if (pcns is None) == (not all_ready):
        raise TypeError("build_secondary takes claim numbers or all_ready, one of the two")
    result = SecondaryResult()
    wanted = list(dict.fromkeys(pcns)) if pcns is not None else None
    rows = ledger.billed_claims(wanted)
    found = {r.patient_control_number for r in rows}
    if all_ready:  # not yet answered by the payer it was billed to last (a claim to the next payer waiting for its
        rows = [r for r in rows if r.adjudicated]  # 835): nothing to do, and its 837 need not be read (or be there)
    for pcn in wanted or ():
        if pcn not in found:
            result.claims.append(_outcome(pcn, "not_found", problems=[Problem(
                "secondary.not_found", f"claim {pcn}: {OUTCOMES['not_found']}", ERROR, Where(record=pcn))]))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edi-secondary-") as spool_dir:
        spool = Spool(spool_dir, "bucket")
        waiting: dict[str, list[SecondaryClaim]] = {}  # clearinghouse -> its claims, until its file is recorded
        try:
            for row, claim in _read_back(rows, result):
                done = _next_claim(ledger, config, row, claim, spool, quiet=all_ready)
                if done is None:
                    continue
                outcome, clearinghouse = done
                result.claims.append(outcome)
                if clearinghouse is not None:
                    waiting.setdefault(clearinghouse, []).append(outcome)
        finally:
            spool.close()
        _write(ledger, config, spool, spool_dir, waiting, out_dir, now, claims_per_st, result)
    order = {pcn: i for i, pcn in enumerate(wanted or ())}
    result.claims.sort(key=lambda c: order.get(c.patient_control_number, 0))
    return result


def _outcome(pcn: str, outcome: str, message: str | None = None, **more) -> SecondaryClaim:
    return SecondaryClaim(pcn, outcome, message or f"claim {pcn}: {OUTCOMES[outcome]}", **more)


def _read_back(rows: list[BilledClaim], result: SecondaryResult) -> Iterable[tuple[BilledClaim, Claim]]:
    """Each row with its claim as its 837 carries it, each file read once (rows of a file in the file's order)."""
    by_file: dict[str | None, list[BilledClaim]] = {}
    for r in rows:
        by_file.setdefault(r.file_path, []).append(r)
    for path, found in by_file.items():
        if path is None or not os.path.isfile(path):
            for r in found:
                where = path or r.file_name or "(no file)"
                result.claims.append(_outcome(r.patient_control_number, "file_missing", problems=[Problem(
                    "secondary.file_missing", f"claim {r.patient_control_number}: {where}: "
                    f"{OUTCOMES['file_missing']}", ERROR, Where(file=path, record=r.patient_control_number))]))
            continue
        by_place = {(r.patient_control_number, r.segment): r for r in found}
        seen: set[int] = set()
        for claim in read_837(path):
            src = claim.source
            row = by_place.get((claim.patient_control_number, src.segment if src is not None else None))
            if row is not None:
                seen.add(row.id)
                yield row, claim
        for r in found:
            if r.id not in seen:
                result.claims.append(_outcome(r.patient_control_number, "file_missing", problems=[Problem(
                    "secondary.file_missing", f"claim {r.patient_control_number}: {path} holds no such claim at "
                    f"segment {r.segment}", ERROR, Where(file=path, record=r.patient_control_number))]))


def _next_payer(claim: Claim, standing: tuple[str, ...]) -> OtherPayer | None:
    """The first other payer that has not adjudicated the claim and is not billed yet."""
    billed = set(standing)
    return next((o for o in claim.other_payers if not o.adjudicated and o.payer.payer_id not in billed), None)


def _profile(config: Config, payer_id: str) -> PayerProfile | None:
    return next((p for p in config.payers.values() if p.payer_id == payer_id), None)


def _next_claim(ledger: Ledger, config: Config, row: BilledClaim, claim: Claim, spool: Spool,
                quiet: bool) -> tuple[SecondaryClaim, str | None] | None:
    """What becomes of one claim: its outcome and, when its claim to the next payer was spooled, the
    clearinghouse it goes to. None for a claim with no next payer when ``quiet``."""
    pcn = claim.patient_control_number
    nxt = _next_payer(claim, row.standing_payers)
    if nxt is None:
        return None if quiet else (_outcome(pcn, "no_next_payer", payer_id=row.payer_id), None)
    patient = claim.patient
    found = ledger.primary_adjudication(pcn, row.payer_id, payer=claim.payer, subscriber=claim.subscriber,
                                        relationship=patient.relationship if patient is not None else "18",
                                        responsibility=claim.payer.responsibility)
    said = {"payer_id": row.payer_id, "next_payer_id": nxt.payer.payer_id, "left_open": found.left_open,
            "paid": found.paid}
    if not found.bill:
        problems = [p for p in found.problems if p.is_error]
        return SecondaryClaim(pcn, found.outcome, found.message, problems=problems, **said), None
    profile = _profile(config, nxt.payer.payer_id)
    if profile is None:
        return _outcome(pcn, "unknown_payer", f"claim {pcn}: the next payer {nxt.payer.payer_id} is the payer_id "
                        "of no [payers] entry of the configuration", problems=[Problem(
                            "secondary.unknown_payer", f"claim {pcn}: no [payers] entry has payer_id "
                            f"{nxt.payer.payer_id}", ERROR, Where(record=pcn))], **said), None
    to_next, problems = found.add_to(_addressed(claim, nxt, profile))
    if to_next is None:
        return _outcome(pcn, "refused", problems=list(problems), **said), None
    later = tuple(o for o in claim.other_payers if not o.adjudicated and o is not nxt)
    to_next = replace(to_next, other_payers=(*to_next.other_payers, *later))
    text, problems = format_claim(to_next, to_next.kind)
    if text is None or text.claim is None:
        return _outcome(pcn, "refused", problems=list(problems), **said), None
    row_out = claim_row(text.claim)._replace(fingerprint=fingerprint(text), left_open=found.left_open)
    spool.add_pickled(Bucket(profile.clearinghouse, to_next.kind, profile.key), spooled(text, row_out))
    message = (f"claim {pcn}: billed to {profile.name} ({profile.payer_id}) for the {money(found.left_open)} "
               f"{claim.payer.name} left open")
    return SecondaryClaim(pcn, "built", message, problems=[p for p in problems if not p.is_error], **said), \
        profile.clearinghouse


def _addressed(claim: Claim, nxt: OtherPayer, profile: PayerProfile) -> Claim:
    """``claim`` addressed to the payer of ``nxt``: that payer (its place in the order of payment kept), its
    subscriber, and the patient as that coverage sees them (the subscriber when the relationship is 18, with the
    patient's birth date and sex; else the patient, with that relationship). Its other payers are those that
    adjudicated it before (``add_to`` adds the payer it was billed to); an original claim to that payer."""
    person = claim.patient if claim.patient is not None else claim.subscriber
    sub = nxt.subscriber
    if nxt.relationship == "18":
        subscriber = Subscriber(member_id=sub.member_id, last_name=person.last_name, first_name=person.first_name,
                                middle_name=person.middle_name, birth_date=person.birth_date, sex=person.sex,
                                address=person.address or sub.address, group_number=sub.group_number,
                                group_name=sub.group_name)
        patient = None
    else:
        subscriber = sub
        patient = Patient(last_name=person.last_name, first_name=person.first_name, relationship=nxt.relationship,
                          birth_date=person.birth_date, sex=person.sex, address=person.address,
                          middle_name=person.middle_name)
    payer = replace(profile.payer(), responsibility=nxt.payer.responsibility)
    return replace(claim, payer=payer, subscriber=subscriber, patient=patient, frequency="1",
                   payer_claim_number=None, other_payers=tuple(o for o in claim.other_payers if o.adjudicated),
                   source=None)


def _write(ledger: Ledger, config: Config, spool: Spool, spool_dir: str, waiting: dict[str, list[SecondaryClaim]],
           out_dir: str, now: datetime, claims_per_st: int, result: SecondaryResult) -> None:
    """The build's stages 6 and 7 for the spooled claims (``mappings.build.publish_files``): one interchange per
    clearinghouse, each recorded as soon as it is written; a claim whose file was not written or recorded is
    ``refused``."""
    for done in publish_files(spool, spool_dir, config, ledger, out_dir, now, claims_per_st):
        result.problems += done.problems
        for c in waiting[done.clearinghouse]:
            if done.kept:
                c.file = done.file.path
            else:
                c.outcome, c.message = "refused", f"claim {c.patient_control_number}: {OUTCOMES['refused']}"
                c.problems += [p for p in done.problems if p.is_error]
        if done.kept:
            result.files.append(done.file)
