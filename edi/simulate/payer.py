"""The simulated payer: an 837 file in, what the clearinghouse and the payer send back out.

    result = answer_837("out/synthhub-000000001.837", "answers", fees=load_fee_schedule("fees.csv"),
                        payer_keys={"SYNACME1": "acme"}, seed=7)
    result.files       # answers/synthhub-000000001_1.999, _2.277, _3_SYNACME1_20261218.835, _4_...835

For each 837 file, written side by side under its stem (names sort in the order to import them):

- ``<stem>_1.999``: the 999 of every interchange (edi's own validation, :func:`edi.acks.writer.acknowledge`);
  the claims of a transaction set it rejects get nothing more;
- ``<stem>_2.277``: a 277CA per 837 transaction set, accepting (A2:20) or rejecting each claim (see
  :mod:`edi.simulate.policy` for the edits), with the payer claim number (REF*1K) of those accepted;
- ``<stem>_3_<payer id>_<date>.835``: the first payment cycle of each payer, and ``<stem>_4_...`` the second
  (reversals and corrections, late claims with interest, recoupments): several payments (TRN) per file, by
  ACH and by check, one per payee and method. Every equation balances (SVC, CLP, BPR).

Dates come from the 837, never from the clock: the claims are received on their transaction set's BHT04, the
277CA is dated a day later, and the payments ``Policy.first_cycle_days`` and ``Policy.second_cycle_days`` after
receipt. Control numbers, trace numbers and payer claim numbers are derived from the file's sha256, and the
policy's random draws from ``random.Random(f"{seed}:{sha256}")``: the same seed and the same 837 give the same
bytes, and another 837 never repeats a trace number. Claims are streamed: memory does not grow with the file.

Files are written into a hidden staging folder beside their destination, then given their names, never
replacing a file (``SimulationError`` ``simulate.exists`` before anything is installed).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from edi.acks.writer import AckError, acknowledge
from edi.fees import FeeSchedule
from edi.model import Claim
from edi.problems import Problem
from edi.simulate.policy import ZERO, Adjudicator, Outcome, Policy
from edi.simulate.x12out import PAYER_ADDRESS, X214, Payment, ProviderBlock, write_835
from edi.x12.io import open_input, read_chunks, with_end
from edi.x12.sniff import KIND_WORDS, sniff
from edi.x12.tokenizer import Tokenizer
from edi.x12.writer import CounterControlNumbers, InterchangeWriter, Party
from edi.x837.reader import read_837

FIRST, SECOND = 1, 2


class SimulationError(Exception):
    """A file the simulator cannot answer (``code``: ``simulate.not_837``, ``simulate.unreadable``,
    ``simulate.no_interchange``, ``simulate.exists``); ``message`` is one line."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Answered:
    """What the simulator made of one 837 file."""

    source: str
    claims: int = 0
    accepted: int = 0
    rejected: int = 0
    not_acknowledged: int = 0  # claims of transaction sets the 999 rejected
    sets_rejected: int = 0
    branches: Counter = field(default_factory=Counter)
    rejections: Counter = field(default_factory=Counter)  # "A3:33:IL subscriber and subscriber id not found"
    denials: Counter = field(default_factory=Counter)  # "CO-50 N115", and line denials as "CO-97 M15 (line)"
    recoupments: int = 0  # PLB WO written (a recoupment with no payment to offset is dropped)
    interest: int = 0  # PLB L6 written
    payments: int = 0  # 835 transaction sets (TRN)
    paid: Decimal = ZERO  # sum of BPR02
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"source": self.source, "claims": self.claims, "accepted": self.accepted, "rejected": self.rejected,
                "not_acknowledged": self.not_acknowledged, "sets_rejected": self.sets_rejected,
                "branches": dict(sorted(self.branches.items())), "rejections": dict(sorted(self.rejections.items())),
                "denials": dict(sorted(self.denials.items())), "recoupments": self.recoupments,
                "interest": self.interest, "payments": self.payments, "paid": str(self.paid), "files": self.files,
                "problems": [p.as_dict() for p in self.problems]}


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open_input(path) as fp:
        for chunk in read_chunks(fp):
            h.update(chunk)
    return h.hexdigest()


def _envelope(path: str) -> tuple[list[str], list[str]]:
    """The first ISA and GS of the file, as elements ([] when absent)."""
    tok = Tokenizer(file=path)
    isa: list[str] = []
    with open_input(path) as fp:
        for data in with_end(read_chunks(fp, 1 << 16)):  # lazily: the file may hold hundreds of MB
            for els in tok.elements(data):
                if els[0] == "ISA" and not isa:
                    isa = list(els)
                elif els[0] == "GS" and isa:
                    return isa, list(els)
            break
    return isa, []


def _at(els: list[str], i: int) -> str:
    return els[i].strip() if len(els) > i else ""


def _isa_time(isa: list[str]) -> datetime:
    try:
        return datetime.strptime(_at(isa, 9) + _at(isa, 10), "%y%m%d%H%M")
    except ValueError:
        return datetime(2000, 1, 1)


def _safe(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-") else "_" for c in text)[:40] or "PAYER"


def answer_837(path: str, out_dir: str | os.PathLike[str], *, fees: FeeSchedule, seed: int,
               payer_keys: Mapping[str, str] | None = None, payer_names: Mapping[str, str] | None = None,
               policy: Policy | None = None, stem: str | None = None) -> Answered:
    """Answer the 837 at ``path`` into ``out_dir`` (see the module docstring). ``payer_keys`` maps 837 payer ids
    (2010BB NM109) to fee schedule payer keys (the ``*`` rows price the others); ``payer_names`` the names the
    payments carry (by default the 837's). Raises ``SimulationError``; ``OSError`` when a folder cannot be
    written."""
    try:
        kind = sniff(path).kind
    except OSError as exc:
        raise SimulationError("simulate.unreadable", f"{path}: {exc.strerror or exc}") from None
    if kind != "837":
        raise SimulationError("simulate.not_837", f"{path} holds {KIND_WORDS[kind]}, not 837 claims: nothing to "
                              "answer")
    digest = file_sha256(path)
    isa, gs = _envelope(path)
    sent = _isa_time(isa)
    base = int(digest[:12], 16) % 900_000_000 + 1
    try:
        ack = acknowledge(path, controls=CounterControlNumbers(base, base, 1), now=sent)
    except AckError as exc:
        raise SimulationError("simulate.no_interchange", str(exc)) from None
    refused: set[tuple[str, str]] = set()
    result = Answered(source=path)
    for ic in ack.interchanges:
        for g in ic.groups:
            for s in g.sets:
                if ic.ta1_status == "R" or g.status == "R" or s.status == "R":
                    refused.add((ic.control, s.control))
                    result.sets_rejected += 1
    out = Path(out_dir)
    stem = stem or Path(path).name.rsplit(".", 1)[0]
    staging = Path(tempfile.mkdtemp(prefix=".edi-simulate-", dir=out))
    try:
        (staging / f"{stem}_1.999").write_bytes(ack.data)
        staged = [f"{stem}_1.999"]
        me = Party(_at(isa, 7) or "ZZ", _at(isa, 8) or "PAYER", _at(gs, 3) or None)
        them = Party(_at(isa, 5) or "ZZ", _at(isa, 6) or "SUBMITTER", _at(gs, 2) or None)
        usage = _at(isa, 15) if _at(isa, 15) in ("P", "T") else "P"
        run = _Run(result, fees, policy or Policy(), random.Random(f"{seed}:{digest}"), dict(payer_keys or {}),
                   dict(payer_names or {}), digest, sent.date())
        with open(staging / f"{stem}_2.277", "wb") as fp:
            run.acknowledgements(path, fp, me, them, usage, base + 1, refused)
        if (staging / f"{stem}_2.277").stat().st_size:  # else the 999 rejected every transaction set
            staged.append(f"{stem}_2.277")
        for name, payments in run.files(stem):
            with open(staging / name, "wb") as fp:
                traces = [run.trace(p) for p in payments]
                write_835(fp, payments, sender=me, receiver=them, control=base + 2 + run.interchanges,
                          traces=traces, usage=usage)
                run.interchanges += 1
            staged.append(name)
        taken = [n for n in staged if os.path.lexists(out / n)]
        if taken:
            raise SimulationError("simulate.exists", f"{out / taken[0]} already exists: nothing was written for "
                                  f"{path} (answers are never replaced)")
        from edi.transport.base import install_file

        for name in staged:
            install_file(staging / name, out / name, replace=False, what=f"answer to {path}")
            result.files.append(str(out / name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


class _Run:
    """One 837's adjudication: 277CA written as the claims stream, payments spooled until the end."""

    def __init__(self, result: Answered, fees: FeeSchedule, policy: Policy, rng: random.Random,
                 payer_keys: dict[str, str], payer_names: dict[str, str], digest: str, sent: date) -> None:
        self.result = result
        self.policy = policy
        self.decide = Adjudicator(fees, policy, rng)
        self.payer_keys = payer_keys
        self.payer_names = payer_names
        self.digest = digest
        self.sent = sent
        self.payments: dict[tuple, Payment] = {}
        self.recoupments: dict[tuple[str, str], list[tuple[str, Decimal]]] = {}
        self.traces = 0
        self.interchanges = 0

    # -- 277CA and adjudication -----------------------------------------------------------------------------

    def acknowledgements(self, path: str, fp, me: Party, them: Party, usage: str, control: int,
                         refused: set[tuple[str, str]]) -> None:
        stream = read_837(path)
        w: InterchangeWriter | None = None
        tx_key = None
        block: ProviderBlock | None = None
        hl = 1
        sets = 0
        tx_prev = None
        for index, claim in enumerate(stream, 1):
            tx = stream.current
            self.result.claims += 1
            if (tx.interchange, tx.control_number) in refused:
                self.result.not_acknowledged += 1
                continue
            received = tx.created or self.sent
            acked = received + timedelta(days=1)
            if w is None:
                w = InterchangeWriter(fp, me, them, control=CounterControlNumbers(control, control, 1),
                                      now=datetime.combine(acked, time(8, 0)), usage=usage)
                w.begin_group("HN", X214)
            key = (tx.interchange, tx.group, tx.control_number)
            if key != tx_key:
                if tx_key is not None:
                    self._close_block(w, block, tx_prev)
                    block = None
                    w.end_transaction()
                tx_key, tx_prev = key, tx
                sets += 1
                w.begin_transaction("277", X214)
                w.segment("BHT", ["0085", "08", f"{self.digest[:10].upper()}{sets:04d}", _d8(acked), "0800", "TH"])
                hl = 1
            npi = claim.billing_provider.npi or ""
            if block is None or (block.payer_id, block.provider.npi or "") != (claim.payer.payer_id, npi):
                if block is not None:
                    self._close_block(w, block, tx_prev)
                    hl = block.next_hl
                block = ProviderBlock(hl, self._payer_name(claim), claim.payer.payer_id, claim.billing_provider)
            icn = f"{self.digest[:8].upper()}{index:07d}"
            outcome = self.decide(claim, payer_key=self.payer_keys.get(claim.payer.payer_id), icn=icn)
            block.add(claim, acked, icn, outcome.rejection)
            self._count(outcome)
            if outcome.accepted:
                self._pay(outcome, received)
        if w is not None:
            if tx_key is not None:
                self._close_block(w, block, tx_prev)
                w.end_transaction()
            w.end_group()
            w.close()
        self.result.problems += [p for p in stream.problems if p.is_error]

    def _close_block(self, w: InterchangeWriter, block: ProviderBlock | None, tx) -> None:
        if block is None:
            return
        received = tx.created or self.sent
        self.traces += 1
        block.write(w, submitter=tx.submitter_id or "SUBMITTER", batch=tx.batch_id or tx.control_number,
                    received=received, acked=received + timedelta(days=1),
                    trace=f"{self.digest[:10].upper()}{self.traces:05d}")

    def _count(self, o: Outcome) -> None:
        r = self.result
        r.branches[o.branch] += 1
        if o.rejection is not None:
            r.rejected += 1
            category, status, entity, words = o.rejection
            r.rejections[f"{category}:{status}{':' + entity if entity else ''} {words}"] += 1
            return
        r.accepted += 1
        if o.denial:
            r.denials[o.denial] += 1
        for part in o.first:
            for ln in part.lines:
                if ln.remark and part.status == "1":
                    r.denials[f"CO-{ln.adjustments[0][1]} {ln.remark} (line)"] += 1
        if o.patient_share:
            r.branches[o.patient_share] += 1

    def _payer_name(self, claim: Claim) -> str:
        return self.payer_names.get(claim.payer.payer_id) or claim.payer.name or claim.payer.payer_id

    def _payment(self, claim: Claim, cycle: int, received: date, ach: bool) -> Payment:
        days = self.policy.first_cycle_days if cycle == FIRST else self.policy.second_cycle_days
        paid_on = received + timedelta(days=days)
        bp = claim.billing_provider
        key = (claim.payer.payer_id, bp.npi or "", cycle, ach, paid_on)
        p = self.payments.get(key)
        if p is None:
            address = claim.payer.address
            where = (address.line1, address.city, address.state, address.zip) if address else PAYER_ADDRESS
            p = self.payments[key] = Payment(claim.payer.payer_id, self._payer_name(claim), where, bp.name,
                                             bp.npi or "", bp.tax_id, paid_on, ach)
        return p

    def _pay(self, o: Outcome, received: date) -> None:
        c = o.claim
        for part in o.first:
            self._payment(c, FIRST, received, o.ach).add_claim(c, part, received)
        if o.second:
            p = self._payment(c, SECOND, received, o.ach)
            for part in o.second:
                p.add_claim(c, part, received)
            if o.interest > 0:
                p.plb.append(("L6", o.icn, -o.interest))
                self.result.interest += 1
        if o.recoupment > 0:
            self._payment(c, SECOND, received, o.ach)  # the payment that will offset it
            self.recoupments.setdefault((c.payer.payer_id, c.billing_provider.npi or ""), []).append(
                (o.icn, o.recoupment))

    # -- 835 ------------------------------------------------------------------------------------------------

    def files(self, stem: str):
        """(file name, payments) per payer and cycle, recoupments placed where a payment can carry them."""
        for (payer, npi), recoups in self.recoupments.items():
            room = [p for k, p in self.payments.items() if k[0] == payer and k[1] == npi and k[2] == SECOND]
            for icn, amt in recoups:
                for p in room:
                    take = min(amt, p.total)
                    if take > 0:
                        p.plb.append(("WO", icn, take))
                        self.result.recoupments += 1
                        break
        by_file: dict[tuple[str, int], list[Payment]] = {}
        for key, p in self.payments.items():
            if p.claims or p.plb:
                by_file.setdefault((key[0], key[2]), []).append(p)
            else:
                p.body.close()
        for (payer, cycle), payments in sorted(by_file.items()):
            payments.sort(key=lambda p: (p.paid_on, not p.ach, p.payee_npi))
            self.result.payments += len(payments)
            self.result.paid += sum((p.total for p in payments), ZERO)
            name = f"{stem}_{2 + cycle}_{_safe(payer)}_{_d8(payments[0].paid_on)}.835"
            yield name, payments

    def trace(self, p: Payment) -> str:
        self.traces += 1
        return f"{'EFT' if p.ach else 'CHK'}{self.digest[:10].upper()}{self.traces:05d}"


def _d8(d: date) -> str:
    return d.strftime("%Y%m%d")
