"""Posting 835 remittances: match each claim payment to its claim, then post double-entry journal entries.

Inside the caller's database transaction (one per file), for each remittance (835 transaction set):

* the payment is remembered by payer and trace number (TRN02); the same payment in another file is refused;
* each CLP is matched to its claim by patient control number (the first 20 characters when the payer
  truncated), else by payer claim number (CLP07) for later adjustments, within the payer (``PayerMatching``):
  the 835's payer id (REF*2U in loop 1000A, else N1*PR's N104), or a configured alias of it, must be the payer
  id the claim was billed to; an 835 that names no payer id is matched by the payer's name (N1*PR N102) against
  the name the claim was billed to; one that names neither is matched by claim number alone, with a warning.
  A claim billed to another payer is not this payment's: the payment goes to suspense (kind ``other_payer``)
  with a warning, or, where ``PayerMatching.cross_payer`` is ``"post"``, is posted onto that claim with a
  warning. Each SVC is matched to a claim line by REF*6R,
  else by procedure, modifiers, date and charge. What does not match is never guessed: a claim payment for an
  unknown claim goes to suspense (cash in, suspense credited) and is listed; an unmatched line is posted at
  claim level and listed;
* a paid claim posts its payment (undeposited ERA cash up, insurance A/R down) and its adjustments (CO to
  contractual, PI payer-initiated, OA other, PR to patient A/R), a line paid nothing inside a paid claim is
  posted as the 835 says and flagged as a line denial;
* a denial (CLP02 = 4, or 23) posts nothing: its adjustments are recorded as the claim's denied amount with
  group, reason and remark codes, and the money stays open in insurance A/R until written off;
* a reversal (CLP02 = 22) posts the exact negation of the payment entry it reverses (found by payer claim
  number); a reversal of a payment this ledger never posted is posted as the 835 says, with a warning;
* each SVC loop is kept as the payer adjudicated it (``service_payments``: procedure, charge, paid, units, the line
  it matched; the pieces of a line the payer split, which echo the same REF*6R, match that line), with the
  claim's MOA/MIA and crossover carrier: what a claim to the next payer repeats (edi.ledger.cob);
* a claim to the next payer (coordination of benefits: recorded with a ``prior_payer`` entry, see
  edi.ledger.record) is billed its whole charge, and that entry already took the prior payer's adjudication off
  its insurance A/R (``taken``: the charge less what the prior payer left open). Its payer's own 835 (CLP02 = 2
  or 20, processed as secondary, or 3/21 as tertiary) accounts for the whole charge again (CLP03 = CLP04 + every
  CAS), reporting the prior payer's part as OA-23, "impact of prior payer(s) adjudication including payments
  and/or adjustments" (digest 8.6: the secondary reports the primary's impact with OA-23 and does not repeat
  the primary's PR). Posting that part again would take it off insurance A/R twice. So, per claim payment,
  the adjustments that stand for the prior payer's adjudication are not posted, up to ``taken`` in all: first
  every non-PR adjustment with reason 23 (claim and line level, in 835 order), then, when some of ``taken`` is
  left and a payer reported the prior payer's part under another code, the non-PR adjustments of one group
  and reason whose total equals exactly what is left. An adjustment beyond ``taken`` posts the rest as the
  835 says (the payer's own). Everything else posts as for any claim: the claim's insurance balance after its
  835 is what the prior payer left open less the payment, the payer's own CO/PI/OA and the PR moved back to
  the patient (zero for an 835 that balances; ``Ledger.check`` says ``ledger.claim.negative_balance`` when a
  claim to a next payer ever owes less than nothing). A reversal (CLP02 = 22) of such a payment negates the
  entry that was posted, so what was left open is open again; one whose payment this ledger never posted
  keeps ``taken`` out with the sign reversed. What the patient owes once the next payer has paid is shown by
  edi.ledger.views (``patient_responsibility``);
* provider-level adjustments (PLB) go to the provider adjustments account against cash, with the claim their
  reference names when found; they never change a claim's balance;
* if the remittance's BPR02 differs from what its detail posts, the difference goes to suspense, so the cash
  posted for a remittance always equals BPR02.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from types import MappingProxyType

from sqlalchemy import BigInteger, or_, select, type_coerce, update
from sqlalchemy.engine import Connection

from edi.ledger.db import driver
from edi.ledger.journal import Entry, Journal, bulk_insert, insert_returning_ids
from edi.ledger.lengths import ValueTooLong, over_limit, over_limit_dicts, too_long
from edi.ledger.schema import (
    GROUP_ACCOUNT,
    PCN_PREFIX,
    WITHDRAWN_SQL,
    WITHDRAWN_STATUSES,
    adjustments,
    cents,
    claim_lines,
    claim_payments,
    claims,
    journal_entries,
    postings,
    provider_adjustments,
    remittances,
    service_payments,
    suspense_items,
)
from edi.ledger.writes import Writes, nul_keeper, nul_problem
from edi.model import Adjustment, ClaimPayment, Remittance, RemittanceEnd, ServicePayment
from edi.problems import ERROR, WARNING, Problem, Where

ZERO = Decimal(0)
#: The largest amount (in dollars, either sign) one element of an 835 may post. X12 allows 18 digits, but the
#: ledger keeps cents in 64-bit integers, and its sums (a payment's cash, a claim's balance, the totals) must
#: fit there too: an 835 holding a larger amount is refused (``ledger.amount.too_large``) before anything is
#: written, on every database, rather than failing half way (SQLite: OverflowError).
MAX_POSTED = Decimal("99999999999.99")
MAX_CENTS = int(MAX_POSTED * 100)
#: The largest difference between BPR02 and what its detail posts that may go to suspense.
MAX_DIFFERENCE = Decimal(10) ** 15
BATCH = 500
DENIAL_STATUSES = ("4", "23")

CLAIM_PAYMENT_COLUMNS = ("id", "remittance_id", "claim_id", "patient_control_number", "status", "charge", "paid",
                         "patient_responsibility", "payer_claim_number", "denied", "reverses_id", "services",
                         "outpatient", "inpatient", "crossover_carrier", "segment")  # the segment last (row[-1])
ADJUSTMENT_COLUMNS = ("claim_payment_id", "claim_id", "line_id", "level", "group_code", "reason", "amount",
                      "quantity", "remarks", "posted", "line_denial", "service_number")
SERVICE_COLUMNS = ("claim_payment_id", "service_number", "line_id", "procedure_qualifier", "procedure", "modifiers",
                   "revenue_code", "charge", "paid", "units")
_SVC_AMOUNTS = (SERVICE_COLUMNS.index("charge"), SERVICE_COLUMNS.index("paid"))
_CLP_AMOUNTS = {CLAIM_PAYMENT_COLUMNS.index("charge"): "CLP03", CLAIM_PAYMENT_COLUMNS.index("paid"): "CLP04",
                CLAIM_PAYMENT_COLUMNS.index("patient_responsibility"): "CLP05"}
_CAS_AMOUNTS = {ADJUSTMENT_COLUMNS.index("amount"): "a CAS amount"}
_OWN_ADJUSTMENT_COLUMNS = frozenset({"level"})  # written by the poster, never from the file (see lengths.over_limit)
# a claim line as _candidates reads it: (id, claim_id, procedure, modifiers, revenue_code, charge in cents,
# service_date, line_control_number)
L_ID, L_PROCEDURE, L_MODIFIERS, L_REVENUE, L_CHARGE, L_DATE, L_LCN = 0, 2, 3, 4, 5, 6, 7


class DuplicatePayment(Exception):
    """The same payment (payer and trace number) was already posted from another file."""


class InjectedFailure(RuntimeError):
    """Raised by tests (``fail_after``) to prove that a failure half way leaves the database as it was."""


@dataclass
class PostResult:
    remittances: int = 0
    claim_payments: int = 0
    matched: int = 0
    suspense: int = 0
    reversals: int = 0
    denials: int = 0
    paid: Decimal = ZERO
    provider_adjustments: Decimal = ZERO
    problems: list[Problem] = field(default_factory=list)


#: What PayerMatching.cross_payer may say: a claim payment from another payer than the claim's goes to suspense
#: (the default), or is posted onto the claim with a warning.
CROSS_PAYER = ("suspense", "post")


def payer_id_key(value: str | None) -> str | None:
    """A payer id as compared: trimmed, capitals (None when empty)."""
    value = (value or "").strip().upper()
    return value or None


def payer_name_key(value: str | None) -> str | None:
    """A payer name as compared: capitals, runs of white space as one space (None when empty)."""
    value = " ".join((value or "").upper().split())
    return value or None


@dataclass(frozen=True, slots=True)
class PayerMatching:
    """How an 835's payer is matched to the payer a claim was billed to (``claims.payer_id``).

    ``aliases`` maps an id an 835 names its payer by (REF*2U, else N1*PR N104; or, for an 835 with no payer
    id, the payer's name) to the payer ids its claims are billed to, for payers whose 835 ids differ from their
    837 ids (``remit_ids`` in edi.toml's ``[payers.KEY]``); keys as ``payer_id_key`` / ``payer_name_key``
    make them. ``cross_payer`` says what becomes of a claim payment whose claim was billed to another payer:
    ``"suspense"`` (held, with a warning) or ``"post"`` (posted onto the claim, with a warning)."""

    aliases: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    cross_payer: str = "suspense"

    def __post_init__(self) -> None:
        if self.cross_payer not in CROSS_PAYER:
            raise ValueError(f"cross_payer must be one of {', '.join(CROSS_PAYER)}, not {self.cross_payer!r}")


def remit_payer(rem: Remittance) -> tuple[str | None, str | None]:
    """The 835's payer as matched against claims: its id (REF*2U in loop 1000A, else N1*PR N104) and its name
    (N1*PR N102), as ``payer_id_key`` and ``payer_name_key`` make them."""
    if rem.payer is None:
        return None, None
    return (payer_id_key(rem.payer.reference("2U")) or payer_id_key(rem.payer.id),
            payer_name_key(rem.payer.name))


def _reversal_key(cp: ClaimPayment) -> str:
    """How a reversal names the payment it reverses: its payer claim number, else its claim number."""
    return cp.payer_claim_number or f"pcn:{cp.patient_control_number}"


def payer_key(rem: Remittance) -> str:
    """Who paid, for the (payer, trace number) identity of a payment: TRN03, else the payer's id, else name
    (trimmed: padding is not identity)."""
    if rem.trace_originator and rem.trace_originator.strip():
        return rem.trace_originator.strip()
    if rem.payer is not None:
        return ((rem.payer.reference("2U") or rem.payer.id or rem.payer.name) or "").strip() or "(unknown payer)"
    return "(unknown payer)"


class RemittancePoster:
    """Posts one file's remittance items (fed in reader order) inside the caller's transaction."""

    def __init__(self, conn: Connection, *, file_id: int, file_name: str, now: datetime,
                 fail_after: int | None = None, writes: Writes | None = None,
                 payers: PayerMatching | None = None) -> None:
        self.conn = conn
        self.payers = payers if payers is not None else PayerMatching()
        # the current remittance's payer, as claims are matched against it (see _start and _same_payer)
        self.payer_ids: frozenset[str] = frozenset()
        self.payer_names: frozenset[str] = frozenset()
        self.payer_known = False
        self.payer_has_id = False
        self.claim_payers: dict[int, tuple[str | None, str | None]] = {}  # claim id -> (payer id, name) billed
        self.verdicts: dict[tuple[str | None, str | None], bool] = {}  # per remittance: (payer id, name) -> same
        self.claim_verdicts: dict[int, bool] = {}  # per remittance: claim id -> same payer
        self.crossed: dict[int, int] = {}  # id(claim payment) -> the claim of another payer it names
        #: where the bulk rows go (see edi.ledger.writes); every other use of the connection goes through
        #: ``self.db``, which waits for the writes queued before
        self.writes = writes if writes is not None else Writes(conn)
        self.file_id = file_id
        self.file_name = file_name
        self._keep = nul_keeper(file_name)
        self._kept_nul = False
        self.now = now
        self.fail_after = fail_after
        self.journal = Journal(conn, now, self.writes)
        self.result = PostResult()
        self.remittance_id: int | None = None
        self.remittance: Remittance | None = None
        self.pending: list[ClaimPayment] = []
        self.cash = ZERO  # undeposited ERA cash posted for the current remittance
        self.suspense_rows: list[dict] = []
        self.service_rows: list[tuple] = []  # the SVC loops of the claim payments of the run (SERVICE_COLUMNS)
        self.statuses: dict[int, str] = {}  # claim id -> new status, written with the run
        # what this import has written, for the reads made on a connection for committed data (see reads): the
        # reversal key of each claim payment, and the claim of each payer claim number (None: not needed, the
        # reads see this import's writes)
        self.keys: set[str] | None = set() if self.writes.separate_reader else None
        self.icn_claims: dict[str, int] = {}
        # claims to a next payer: claim id -> what their prior_payer entry took off insurance A/R (see
        # _know_prior_payers); the claims looked up so far, found or not
        self.prior_taken: dict[int, Decimal] = {}
        self.prior_known: set[int] = set()

    @property
    def db(self) -> Connection:
        """The connection, once the writes queued before are done (see edi.ledger.writes)."""
        return self.writes.connection()

    @property
    def reads(self) -> Connection:
        """A connection for reads that need only committed data, none of this import's writes: the claims and
        lines matched against (an import never adds a claim or a line, and never changes whether one stands:
        see schema.WITHDRAWN_STATUSES); with ``BackgroundWrites``, a second connection that need not wait for the
        writes."""
        return self.writes.reader()

    # -- stream ---------------------------------------------------------------------------------------------

    def add(self, item) -> None:
        if self._keep is not None:  # the file holds a NUL: kept as \x00 (edi.ledger.writes)
            kept = self._keep(item)
            if kept is not item and not self._kept_nul:
                self._kept_nul = True
                self.result.problems.append(nul_problem(item, self.file_name))
            item = kept
        if isinstance(item, ClaimPayment):
            self.pending.append(item)
            if len(self.pending) >= BATCH:
                self._flush_claims()
        elif isinstance(item, Remittance):
            self._start(item)
        elif isinstance(item, RemittanceEnd):
            self._flush_claims()
            self._end(item)

    def _problem(self, code: str, message: str, segment: int | None, severity=WARNING, record: str | None = None):
        self.result.problems.append(Problem(code, message, severity, Where(
            file=self.file_name, transaction=self.remittance.control_number if self.remittance else None,
            segment=segment, record=record)))

    def _start(self, rem: Remittance) -> None:
        key = payer_key(rem)
        trace = (rem.trace_number or "").strip() or f"(no trace) {self.file_name}:{rem.control_number}"
        payer_name = rem.payer.name.strip() if rem.payer is not None and rem.payer.name else None
        # the same payment: the same trace number from the same payer, named by TRN03 or, when one file leaves
        # TRN03 out, by the payer's name
        same_payer = remittances.c.payer_key == key
        if payer_name:
            same_payer = or_(same_payer, remittances.c.payer_name == payer_name)
        existing = self.db.execute(
            select(remittances.c.id).where(same_payer, remittances.c.trace_number == trace)).scalar()
        if existing is not None:
            raise DuplicatePayment(f"payment {trace} from payer {key} was already posted from another file; "
                                   "nothing from this file was posted")
        amount = rem.amount if rem.credit_debit != "D" else -rem.amount
        self.remittance = rem
        self._within_range("BPR02", rem.amount, rem.source.segment if rem.source else None)
        self._know_payer(rem)
        row = {"file_id": self.file_id, "payer_key": key, "payer_name": payer_name,
               "trace_number": trace, "amount": amount, "handling": rem.handling, "method": rem.method,
               "payment_date": rem.payment_date, "control_number": rem.control_number,
               "segment": rem.source.segment if rem.source else None, "created_at": self.now}
        found = over_limit_dicts(remittances, [row])
        if found is not None:
            raise self._too_long(remittances, found, row[found[1]], row["segment"])
        self.remittance_id = insert_returning_ids(self.db, remittances, [row])[0]
        self.cash = ZERO
        self.result.remittances += 1

    def _within_range(self, element: str, amount: Decimal, segment: int | None,
                      top: Decimal = MAX_POSTED) -> None:
        if not -top <= amount <= top:
            raise ValueTooLong(Problem(
                "ledger.amount.too_large", f"{element} is beyond {top:,} dollars, more than the ledger posts: "
                "nothing from this file was posted", ERROR,
                Where(file=self.file_name, transaction=self.remittance.control_number if self.remittance else None,
                      segment=segment)))

    def _rows_within_range(self, rows: list[tuple], columns: dict[int, str], segment_of) -> None:
        """Refuse the file when a row's amount (cents, at the positions ``columns`` names as elements) is beyond
        MAX_POSTED; ``segment_of(row)`` says where. Column by column at C speed: this runs for every batch."""
        for i, element in columns.items():
            get = itemgetter(i)
            if max(map(abs, filter(None, map(get, rows))), default=0) > MAX_CENTS:
                row = next(r for r in rows if r[i] is not None and abs(r[i]) > MAX_CENTS)
                self._within_range(element, Decimal(row[i]) / 100, segment_of(row))

    def _too_long(self, table, found: tuple[int, str, int], value: str, segment: int | None):
        return too_long(table, found, value, file=self.file_name, segment=segment,
                        transaction=self.remittance.control_number if self.remittance else None)

    # -- payers ---------------------------------------------------------------------------------------------

    def _know_payer(self, rem: Remittance) -> None:
        """The ids and names a claim's payer may have to be this remittance's payer (see the module docstring)."""
        rid, rname = remit_payer(rem)
        aliases = self.payers.aliases
        ids: set[str] = set()
        if rid is not None:
            ids = {rid, *aliases.get(rid, ())}
        elif rname is not None:
            ids = set(aliases.get(rname, ()))
        self.payer_ids = frozenset(ids)
        self.payer_names = frozenset({rname} if rname is not None else ())
        self.payer_known = rid is not None or rname is not None
        self.payer_has_id = rid is not None
        self.verdicts = {}
        self.claim_verdicts = {}
        if not self.payer_known:
            self._problem("ledger.payer.unknown", "this 835 names no payer (no REF*2U, no N1*PR id or name): its "
                          "claim payments are matched by claim number alone, whoever the claims were billed to",
                          rem.source.segment if rem.source else None)

    def _same_payer(self, claim_id: int) -> bool:
        """Whether the claim was billed to this remittance's payer: by id when both have one (aliases included),
        else by name; a claim or an 835 with nothing to compare is taken as the same payer."""
        verdict = self.claim_verdicts.get(claim_id)
        if verdict is not None:
            return verdict
        billed = self.claim_payers.get(claim_id, (None, None))
        verdict = self.verdicts.get(billed)
        if verdict is None:
            cid, cname = payer_id_key(billed[0]), payer_name_key(billed[1])
            if not self.payer_known or (cid is not None and cid in self.payer_ids):
                verdict = True
            elif cid is not None and self.payer_has_id:
                verdict = False
            elif cname is not None and self.payer_names:
                verdict = cname in self.payer_names
            else:
                verdict = cid is None or not self.payer_names
            self.verdicts[billed] = verdict
        self.claim_verdicts[claim_id] = verdict
        return verdict

    def _pick(self, cp: ClaimPayment, found: dict) -> int | None:
        """The claim a claim payment pays: by patient control number, payer claim number or the first 20
        characters of the number, a claim of this remittance's payer (the newest standing one). When the only
        claims found were billed to another payer, the newest of them is remembered in ``crossed`` and None is
        returned, or, when ``cross_payer`` is ``"post"``, it is returned."""
        pcn = cp.patient_control_number
        ids = found.get(pcn)
        if ids is not None and len(ids) == 1 and self._same_payer(ids[0]):  # the common case, at once
            return ids[0]
        keys = [pcn, ("icn", cp.payer_claim_number)]
        if len(pcn) == 20:
            keys.append(("prefix", pcn))
        other = None
        for key in keys:
            ids = found.get(key)
            if not ids:
                continue
            for claim_id in reversed(ids):
                if self._same_payer(claim_id):
                    return claim_id
            if other is None:
                other = ids[-1]
        if other is None:
            return None
        if self.payers.cross_payer == "post":
            billed = self.claim_payers.get(other, (None, None))
            self._problem("ledger.claim.other_payer",
                          f"claim {pcn} was billed to payer {_payer_words(billed)}, not to this 835's payer "
                          f"({self._remit_payer_words()}): posted onto it as configured (cross_payer = \"post\")",
                          cp.source.segment if cp.source else None, record=pcn)
            return other
        self.crossed[id(cp)] = other
        return None

    def _remit_payer_words(self) -> str:
        rid, rname = remit_payer(self.remittance) if self.remittance is not None else (None, None)
        return _payer_words((rid, rname))

    # -- claims ---------------------------------------------------------------------------------------------

    def _flush_claims(self) -> None:
        """Post the waiting claim payments in one run per batch (one insert per table). The payments that
        reversals name are looked up for the whole batch first; a reversal whose payment is earlier in this
        very batch ends the run, so that the payment is written before it is looked up."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        found, lines = self._candidates(batch)
        originals = self._originals([cp for cp in batch if cp.is_reversal])
        run: list[tuple[ClaimPayment, int | None, dict | None]] = []
        run_icns: set[str] = set()
        for cp in batch:
            if self.fail_after is not None and self.result.claim_payments >= self.fail_after:
                raise InjectedFailure(f"failure injected after {self.fail_after} claim payments")
            self.result.claim_payments += 1
            claim = self._pick(cp, found)
            original = None
            if cp.is_reversal:
                key = _reversal_key(cp)
                if key in run_icns:  # it reverses a payment of this run: write the run, then look it up
                    self._post_run(run, lines)
                    run, run_icns = [], set()
                    originals.update(self._originals([cp]))
                original = originals.pop(key, None)
            else:
                run_icns.add(_reversal_key(cp))
            run.append((cp, claim, original))
        self._warn_rejected(run)
        self._post_run(run, lines)

    def _warn_rejected(self, run: list[tuple[ClaimPayment, int | None, dict | None]]) -> None:
        """Say so when a payment reaches a claim an acknowledgement rejected: the payer adjudicated it after all
        (it is posted, and the claim's status becomes what the payment says)."""
        ids = sorted({claim for _, claim, original in run if claim is not None and original is None})
        if not ids:
            return
        rejected: set[int] = set()
        for k in range(0, len(ids), 900):
            rejected.update(self.reads.execute(select(claims.c.id).where(claims.c.id.in_(ids[k:k + 900]),
                                                                         claims.c.status == "rejected")).scalars())
        for cp, claim, original in run:
            if claim in rejected and original is None:
                self._problem("ledger.claim.was_rejected",
                              f"claim {cp.patient_control_number} was rejected by an acknowledgement, yet this 835 "
                              f"adjudicates it (status {cp.status}): posted, and the claim takes the payment's status",
                              cp.source.segment if cp.source else None, record=cp.patient_control_number)

    def _post_run(self, run: list[tuple[ClaimPayment, int | None, dict | None]],
                  lines: dict[int, list[tuple]]) -> None:
        if not run:
            return
        ids = self.writes.ids(claim_payments, len(run))
        rows = []
        rid = self.remittance_id
        keys, icn_claims = self.keys, self.icn_claims
        for cp_id, (cp, claim, original) in zip(ids, run, strict=True):
            denied = reverses = None
            if original is not None:
                claim, reverses = original["claim_id"], original["id"]
            elif claim is not None and cp.status in DENIAL_STATUSES and not cp.is_reversal:
                denied = cents(sum((a.amount for a in cp.all_adjustments()), ZERO))
            pr = cp.patient_responsibility
            if keys is not None:
                keys.add(_reversal_key(cp))
                if claim is not None and cp.payer_claim_number:
                    icn_claims[cp.payer_claim_number] = claim
            moa, mia, tt = cp.outpatient, cp.inpatient, cp.crossover_carrier
            rows.append((cp_id, rid, claim, cp.patient_control_number, cp.status, cents(cp.charge), cents(cp.paid),
                         None if pr is None else cents(pr), cp.payer_claim_number, denied, reverses, len(cp.lines),
                         None if moa is None else json.dumps(moa), None if mia is None else json.dumps(mia),
                         None if tt is None else tt.last_or_org, cp.source.segment if cp.source else None))
        self._rows_within_range(rows, _CLP_AMOUNTS, itemgetter(-1))
        found = over_limit(claim_payments, CLAIM_PAYMENT_COLUMNS, rows)
        if found is not None:
            row = rows[found[0]]
            raise self._too_long(claim_payments, found, row[CLAIM_PAYMENT_COLUMNS.index(found[1])], row[-1])
        self.writes.copy(claim_payments, CLAIM_PAYMENT_COLUMNS, rows)
        self._know_prior_payers({claim for _, claim, original in run if claim is not None and original is None})
        adjustment_rows: list[tuple] = []
        for cp_id, (cp, claim, original) in zip(ids, run, strict=True):
            if original is not None:
                self._reverse(cp, cp_id, original, adjustment_rows)
            elif claim is None:
                if cp.is_reversal:
                    self.result.reversals += 1
                self._suspense(cp, cp_id, adjustment_rows)
            elif cp.is_reversal:
                self.result.reversals += 1
                self._problem("ledger.reversal.original_unknown",
                              f"reversal of claim {cp.patient_control_number} ({cp.payer_claim_number or 'no ICN'}) "
                              "names a payment this ledger never posted: posted as the 835 says",
                              cp.source.segment if cp.source else None, record=cp.patient_control_number)
                self._post(cp, cp_id, claim, lines.get(claim, ()), adjustment_rows, kind="reversal")
                self.statuses[claim] = "reversed"
            else:
                self._post(cp, cp_id, claim, lines.get(claim, ()), adjustment_rows)
        self._rows_within_range(adjustment_rows, _CAS_AMOUNTS,
                                lambda row: next((r[-1] for r in rows if r[0] == row[0]), None))  # its CLP
        found = over_limit(adjustments, ADJUSTMENT_COLUMNS, adjustment_rows, _OWN_ADJUSTMENT_COLUMNS)
        if found is not None:
            row = adjustment_rows[found[0]]
            segment = next((r[-1] for r in rows if r[0] == row[0]), None)  # its CLP
            raise self._too_long(adjustments, found, row[ADJUSTMENT_COLUMNS.index(found[1])], segment)
        self.writes.copy(adjustments, ADJUSTMENT_COLUMNS, adjustment_rows)
        if self.service_rows:
            services, self.service_rows = _services_in_range(self.service_rows), []
            self.writes.copy(service_payments, SERVICE_COLUMNS, services)
        self._flush_pending()

    def _know_prior_payers(self, claim_ids: set[int]) -> None:
        """For the claims to a next payer among these, what their ``prior_payer`` entry took off insurance A/R
        (``prior_taken``, see the module docstring). Recorded before any import: read as committed."""
        wanted = sorted(claim_ids - self.prior_known)
        self.prior_known.update(wanted)
        for k in range(0, len(wanted), 900):  # SQLite allows 999 parameters a statement
            for claim_id, amount in self.reads.execute(
                    select(journal_entries.c.claim_id, postings.c.amount)
                    .join(postings, postings.c.entry_id == journal_entries.c.id)
                    .where(journal_entries.c.claim_id.in_(wanted[k:k + 900]),
                           journal_entries.c.kind == "prior_payer", postings.c.account == "insurance_ar")):
                self.prior_taken[claim_id] = self.prior_taken.get(claim_id, ZERO) - amount

    def _flush_pending(self) -> None:
        self.journal.flush()
        if self.suspense_rows:
            self.writes.call(bulk_insert, suspense_items, self.suspense_rows)
            self.suspense_rows = []
        if self.statuses:
            self.writes.call(_set_statuses, self.statuses)
            self.statuses = {}

    def _originals(self, reversals: list[ClaimPayment]) -> dict[str, dict]:
        """The payments these reversals name (by payer claim number, else by claim number): the newest one
        not reversed yet, with its journal entry's postings and its claim's status."""
        if not reversals:
            return {}
        # a payment this import wrote is read on its own connection (after the writes); else committed data will do
        keys = self.keys
        conn = self.db if keys is None or any(_reversal_key(cp) in keys for cp in reversals) else self.reads
        icns = {cp.payer_claim_number for cp in reversals if cp.payer_claim_number}
        pcns = {cp.patient_control_number for cp in reversals if not cp.payer_claim_number}
        already = select(claim_payments.c.reverses_id).where(claim_payments.c.reverses_id.is_not(None))
        q = (select(claim_payments.c.id, claim_payments.c.claim_id, claim_payments.c.payer_claim_number,
                    claim_payments.c.patient_control_number, journal_entries.c.id.label("entry_id"),
                    claims.c.status.label("claim_status"), claims.c.payer_id.label("claim_payer_id"),
                    claims.c.payer_name.label("claim_payer_name"))
             .outerjoin(journal_entries, journal_entries.c.claim_payment_id == claim_payments.c.id)
             .join(claims, claims.c.id == claim_payments.c.claim_id)
             .where(claim_payments.c.status != "22", claim_payments.c.id.notin_(already))
             .order_by(claim_payments.c.id))
        out: dict[str, dict] = {}
        for cond in ((claim_payments.c.payer_claim_number.in_(icns)) if icns else None,
                     (claim_payments.c.patient_control_number.in_(pcns)
                      & claim_payments.c.payer_claim_number.is_(None)) if pcns else None):
            if cond is None:
                continue
            for r in conn.execute(q.where(cond)).mappings():
                self.claim_payers[r["claim_id"]] = (r["claim_payer_id"], r["claim_payer_name"])
                if not self._same_payer(r["claim_id"]):  # another payer's payment: not this payer's to reverse
                    continue
                key = r["payer_claim_number"] or f"pcn:{r['patient_control_number']}"
                out[key] = dict(r) | {"postings": []}  # the newest one wins
        entries = {o["entry_id"]: o for o in out.values() if o["entry_id"] is not None}
        if entries:
            for p in conn.execute(select(postings).where(postings.c.entry_id.in_(entries))
                                       .order_by(postings.c.id)).mappings():
                entries[p["entry_id"]]["postings"].append(dict(p))
        return out

    def _reverse(self, cp: ClaimPayment, cp_id: int, original: dict, adjustment_rows: list[tuple]) -> None:
        """Post the exact negation of the payment entry a reversal names."""
        self.result.reversals += 1
        claim_id = original["claim_id"]
        adjustment_rows += self._adjustment_rows(cp, cp_id, claim_id, True, ())[0]
        e = Entry("reversal", claim_id=claim_id, remittance_id=self.remittance_id, claim_payment_id=cp_id,
                  file_id=self.file_id, reverses_id=original["entry_id"],
                  memo=f"reversal of CLP {cp.patient_control_number} {cp.payer_claim_number or ''}".strip())
        for p in original["postings"]:
            e.post(p["account"], -p["amount"], claim_id=p["claim_id"], line_id=p["line_id"], group=p["group_code"],
                   reason=p["reason"])
        self.journal.add(e)
        reversed_cash = -sum((p["amount"] for p in original["postings"] if p["account"] == "undeposited_era"), ZERO)
        if reversed_cash != cp.paid:
            self._problem("ledger.reversal.amount",
                          f"reversal of claim {cp.patient_control_number} says {cp.paid} but the payment it reverses "
                          f"posted {-reversed_cash}: the exact negation was posted",
                          cp.source.segment if cp.source else None, record=cp.patient_control_number)
        self.cash += reversed_cash
        self.result.paid += reversed_cash
        if original["claim_status"] not in WITHDRAWN_STATUSES:  # a replaced claim's old payment may be reversed
            self.statuses[claim_id] = "reversed"

    def _candidates(self, batch: list[ClaimPayment]) -> tuple[dict, dict[int, list[tuple]]]:
        """Candidate claims for the batch, as lists of claim ids (oldest first, a rejected claim before one that
        stands): by patient control number (exact, then the first 20 characters), then by payer claim number.
        Replaced and voided claims only answer to a payer claim number. The payer each was billed to goes to
        ``claim_payers``. And the lines of those claims (claim id -> line tuples, see L_*), read with the claims
        they belong to."""
        pcns = list({cp.patient_control_number for cp in batch})
        found: dict = {}
        lines: dict[int, list[tuple]] = {}
        payers = self.claim_payers
        # one query for the claims and their lines, on the driver: this runs once per batch of claim payments
        sql = ("SELECT c.id, c.patient_control_number, c.payer_id, c.payer_name, l.id, l.claim_id, l.procedure, "
               "l.modifiers, l.revenue_code, "
               "l.charge, l.service_date, l.line_control_number FROM claims c "
               "LEFT JOIN claim_lines l ON l.claim_id = c.id WHERE c.patient_control_number {} "
               f"AND c.status NOT IN ({WITHDRAWN_SQL}) ORDER BY c.status = 'rejected' DESC, c.id, l.id")
        with driver(self.reads, sql) as raw:
            if self.conn.dialect.name == "postgresql":
                rows = raw.execute(sql.format("= ANY(%s)"), (pcns,)).fetchall()
            else:
                rows = []
                for k in range(0, len(pcns), 900):  # SQLite allows 999 parameters a statement
                    part = pcns[k:k + 900]
                    rows += raw.execute(sql.format(f"IN ({', '.join('?' * len(part))})"), part).fetchall()
        for row in rows:
            claim_id = row[0]
            claim_lines_ = lines.get(claim_id)
            if claim_lines_ is None:
                # a new claim: the rows come by claim, so each claim is listed once (the newest last, one that
                # stands after a rejected one)
                claim_lines_ = lines[claim_id] = []
                ids = found.get(row[1])
                if ids is None:
                    found[row[1]] = [claim_id]
                else:
                    ids.append(claim_id)
                payers[claim_id] = (row[2], row[3])
            if row[4] is not None:
                claim_lines_.append(row[4:])
        short = [p for p in pcns if len(p) == 20 and not any(self._same_payer(c) for c in found.get(p, ()))]
        if short:
            for claim_id, pcn, payer_id, payer_name in self.reads.execute(
                    select(claims.c.id, claims.c.patient_control_number, claims.c.payer_id, claims.c.payer_name)
                    .where(PCN_PREFIX.in_(short),
                           claims.c.status.notin_(WITHDRAWN_STATUSES)).order_by(claims.c.id)):
                found.setdefault(("prefix", pcn[:20]), []).append(claim_id)
                payers[claim_id] = (payer_id, payer_name)
        icns = {cp.payer_claim_number for cp in batch
                if cp.payer_claim_number and not any(self._same_payer(c)
                                                     for c in found.get(cp.patient_control_number, ()))}
        if icns:
            icn_found: dict[str, int] = {}
            for claim_id, icn, payer_id, payer_name in self.reads.execute(
                    select(claims.c.id, claim_payments.c.payer_claim_number, claims.c.payer_id, claims.c.payer_name)
                    .join(claim_payments, claim_payments.c.claim_id == claims.c.id)
                    .where(claim_payments.c.payer_claim_number.in_(icns)).order_by(claim_payments.c.id)):
                icn_found[icn] = claim_id
                payers[claim_id] = (payer_id, payer_name)
            for icn in icns:  # this import's own payments: newer than the committed ones
                claim_id = self.icn_claims.get(icn)
                if claim_id is not None:
                    icn_found[icn] = claim_id
            for icn, claim_id in icn_found.items():
                found[("icn", icn)] = [claim_id]
        missing = {c for k, v in found.items() if isinstance(k, tuple) for c in v} - lines.keys()
        if missing:
            for ln in self.reads.execute(
                    select(claim_lines.c.id, claim_lines.c.claim_id, claim_lines.c.procedure, claim_lines.c.modifiers,
                           claim_lines.c.revenue_code, type_coerce(claim_lines.c.charge, BigInteger),
                           claim_lines.c.service_date, claim_lines.c.line_control_number)
                    .where(claim_lines.c.claim_id.in_(missing)).order_by(claim_lines.c.id)):
                lines.setdefault(ln[1], []).append(tuple(ln))
        return found, lines

    @staticmethod
    def _match_line(sp: ServicePayment, lines, used: set[int]) -> tuple | None:
        lcn = sp.line_control_number
        if lcn:
            for ln in lines:
                if ln[L_LCN] == lcn and ln[L_ID] not in used:
                    return ln
        code = sp.original_procedure or sp.procedure
        mods = ":".join(sp.original_modifiers if sp.original_procedure else sp.modifiers) or None
        charge = sp.charge * 100
        for ln in lines:
            if ln[L_ID] in used:
                continue
            if (ln[L_PROCEDURE] == code or ln[L_REVENUE] == code) and ln[L_MODIFIERS] == mods \
                    and ln[L_CHARGE] == charge and (sp.service_date is None or _day(ln[L_DATE]) == sp.service_date):
                return ln
        if lcn:  # a second SVC echoing the line control number of a line already answered: the payer split that
            for ln in lines:  # line (digest 7.5), each piece adjudicated on its own; tried last, so that no match
                if ln[L_LCN] == lcn:  # made before this rule changes
                    return ln
        return None

    def _adjustment_rows(self, cp: ClaimPayment, cp_id: int, claim_id: int | None, posted: bool,
                         lines) -> tuple[list[tuple], list[tuple[ServicePayment, int | None]]]:
        claim_remarks = " ".join(x for x in (cp.outpatient or ())[2:7] if x) or None
        rows = [(cp_id, claim_id, None, "claim", a.group, a.reason, cents(a.amount),
                 None if a.quantity is None else str(a.quantity), claim_remarks, posted, False, None)
                for a in cp.adjustments]
        used: set[int] = set()
        matched = []
        cp_paid = cp.paid
        add_service = self.service_rows.append
        for number, sp in enumerate(cp.lines, 1):
            ln = self._match_line(sp, lines, used) if lines else None
            line_id = None
            if ln is not None:
                line_id = ln[L_ID]
                used.add(line_id)
            matched.append((sp, line_id))
            add_service((cp_id, number, line_id, sp.procedure_qualifier or None, sp.procedure or None,
                         ":".join(sp.modifiers) or None, sp.revenue_code, cents(sp.charge), cents(sp.paid),
                         None if sp.units is None else str(sp.units)))
            if sp.adjustments:
                remarks = " ".join(str(r.value) for r in sp.remarks) or None
                line_denial = posted and sp.paid == 0 and cp_paid != 0
                for a in sp.adjustments:
                    rows.append((cp_id, claim_id, line_id, "line", a.group, a.reason, cents(a.amount),
                                 None if a.quantity is None else str(a.quantity), remarks, posted, line_denial,
                                 number))
        return rows, matched

    def _post(self, cp: ClaimPayment, cp_id: int, claim_id: int, lines, adjustment_rows: list[tuple],
              *, kind: str | None = None) -> None:
        denial = cp.status in DENIAL_STATUSES
        rows, matched = self._adjustment_rows(cp, cp_id, claim_id, not denial, lines)
        adjustment_rows += rows
        e = Entry(kind or ("denial" if denial else "payment"), claim_id=claim_id, remittance_id=self.remittance_id,
                  claim_payment_id=cp_id, file_id=self.file_id,
                  memo=f"CLP {cp.patient_control_number} status {cp.status}")
        # each adjustment debits its own account; insurance A/R is credited once with the claim's total
        e.post("undeposited_era", cp.paid, claim_id=claim_id)
        credited = cp.paid
        if not denial:
            cas = [(a, None) for a in cp.adjustments] + [(a, line_id) for sp, line_id in matched
                                                         for a in sp.adjustments]
            taken = self.prior_taken.get(claim_id)
            absorbed = prior_impact([a for a, _ in cas], -taken if cp.is_reversal else taken) if taken else {}
            for i, (a, line_id) in enumerate(cas):
                amount = a.amount - absorbed.get(i, ZERO)
                e.post(GROUP_ACCOUNT.get(a.group, "other_adjustments"), amount, claim_id=claim_id,
                       line_id=line_id, group=a.group, reason=a.reason)
                credited += amount
        e.post("insurance_ar", -credited, claim_id=claim_id)
        self.journal.add(e)
        self.cash += cp.paid
        self.result.matched += 1
        self.result.paid += cp.paid
        if lines:
            for sp, line_id in matched:
                if line_id is None:
                    self._suspense_row("unmatched_line", cp, sp.paid, cp_id,
                                       f"line {sp.procedure} {sp.service_date or ''} matches no line of the claim: "
                                       "posted at claim level", sp.source.segment if sp.source else None)
        if denial:
            self.result.denials += 1
            self.statuses[claim_id] = "denied"
        elif cp.status == "25":
            pass  # predetermination pricing: the claim's status does not change
        elif cp.paid == 0 and not any(a.group == "PR" for a in cp.all_adjustments()):
            self.statuses[claim_id] = "denied"
        else:
            self.statuses[claim_id] = "paid"

    def _suspense(self, cp: ClaimPayment, cp_id: int, adjustment_rows: list[tuple]) -> None:
        rows, _ = self._adjustment_rows(cp, cp_id, None, False, ())
        adjustment_rows += rows
        other = self.crossed.pop(id(cp), None)
        segment = cp.source.segment if cp.source else None
        e = Entry("suspense", remittance_id=self.remittance_id, claim_payment_id=cp_id, file_id=self.file_id,
                  memo=f"CLP {cp.patient_control_number}: " + ("no such claim" if other is None
                                                               else "the claim was billed to another payer"))
        e.move("undeposited_era", "suspense", cp.paid)
        self.journal.add(e)
        self.cash += cp.paid
        self.result.suspense += 1
        self.result.paid += cp.paid
        if other is None:
            self._suspense_row("unmatched_claim", cp, cp.paid, cp_id,
                               "no claim with this patient control number or payer claim number", segment)
            self._problem("ledger.claim.unmatched", f"claim payment {cp.patient_control_number} matches no claim: "
                          f"{cp.paid} held in suspense", segment, record=cp.patient_control_number)
            return
        billed = _payer_words(self.claim_payers.get(other, (None, None)))
        paid_by = self._remit_payer_words()
        self._suspense_row("other_payer", cp, cp.paid, cp_id,
                           f"the claim was billed to payer {billed}; this 835 is from payer {paid_by}", segment)
        self._problem("ledger.claim.other_payer",
                      f"claim payment {cp.patient_control_number} names a claim billed to payer {billed}, not to this "
                      f"835's payer ({paid_by}): {cp.paid} held in suspense (a payer whose 835 id differs from its "
                      "837 id takes remit_ids in edi.toml)", segment, record=cp.patient_control_number)

    def _suspense_row(self, kind: str, cp: ClaimPayment, amount: Decimal, cp_id: int | None, reason: str,
                      segment: int | None) -> None:
        self.suspense_rows.append({
            "remittance_id": self.remittance_id, "claim_payment_id": cp_id, "kind": kind,
            "patient_control_number": cp.patient_control_number, "amount": amount, "reason": reason,
            "segment": segment})

    # -- end of a remittance --------------------------------------------------------------------------------

    def _end(self, end: RemittanceEnd) -> None:
        if self.remittance_id is None:  # pragma: no cover - the reader always starts a remittance first
            return
        rows = []
        refs = {a.reference for a in end.provider_adjustments if a.reference}
        named = self._claims_named(refs)
        for a in end.provider_adjustments:
            self._within_range("PLB amount", a.amount, a.source.segment if a.source else None)
            claim_id = named.get(a.reference) if a.reference else None
            rows.append({"remittance_id": self.remittance_id, "provider_id": a.provider_id, "reason": a.reason,
                         "reference": a.reference, "amount": a.amount, "claim_id": claim_id,
                         "segment": a.source.segment if a.source else None})
            e = Entry("plb", remittance_id=self.remittance_id, file_id=self.file_id,
                      memo=f"PLB {a.reason} {a.reference or ''}".strip())
            # a PLB never changes a claim's balance: the claim is named on the row, not on the postings
            e.move("provider_adjustments", "undeposited_era", a.amount, reason=a.reason)
            self.journal.add(e)
            self.cash -= a.amount
            self.result.provider_adjustments += a.amount
        if rows:
            found = over_limit_dicts(provider_adjustments, rows)
            if found is not None:
                row = rows[found[0]]
                raise self._too_long(provider_adjustments, found, row[found[1]], row["segment"])
            self.writes.call(bulk_insert, provider_adjustments, rows)
        rem = end.remittance
        amount = rem.amount if rem.credit_debit != "D" else -rem.amount
        difference = amount - self.cash
        self._within_range("the difference between BPR02 and its detail", difference,
                           rem.source.segment if rem.source else None, MAX_DIFFERENCE)
        if difference:
            e = Entry("suspense", remittance_id=self.remittance_id, file_id=self.file_id,
                      memo="BPR02 differs from the claim payments and provider adjustments")
            e.move("undeposited_era", "suspense", difference)
            self.journal.add(e)
            self.suspense_rows.append({
                "remittance_id": self.remittance_id, "claim_payment_id": None, "kind": "unbalanced_payment",
                "patient_control_number": None, "amount": difference,
                "reason": f"BPR02 {amount} but claims and provider adjustments post {self.cash}",
                "segment": rem.source.segment if rem.source else None})
            self._problem("ledger.payment.unbalanced",
                          f"payment {rem.trace_number}: BPR02 {amount} differs from what its detail posts "
                          f"({self.cash}); the difference {difference} is held in suspense",
                          rem.source.segment if rem.source else None, ERROR)
        self._flush_pending()
        self.remittance_id = None
        self.remittance = None

    def _claims_named(self, refs: set[str]) -> dict[str, int]:
        """PLB03-2 references that name a claim: its patient control number or payer claim number, alone or
        after a prefix such as ``CLAIMID:``."""
        if not refs:
            return {}
        keys = {r: r.rsplit(":", 1)[-1] for r in refs}
        wanted = set(keys.values())
        by_pcn = dict(self.db.execute(select(claims.c.patient_control_number, claims.c.id)
                                        .where(claims.c.patient_control_number.in_(wanted))).all())
        by_icn = dict(self.db.execute(select(claim_payments.c.payer_claim_number, claim_payments.c.claim_id)
                                        .where(claim_payments.c.payer_claim_number.in_(wanted),
                                               claim_payments.c.claim_id.is_not(None))).all())
        return {r: by_pcn.get(k) or by_icn.get(k) for r, k in keys.items() if (by_pcn.get(k) or by_icn.get(k))}


def prior_impact(cas: list[Adjustment], taken: Decimal) -> dict[int, Decimal]:
    """Which of a claim payment's adjustments (claim level then line level, in 835 order) stand for the prior
    payer's adjudication that a ``prior_payer`` entry already took off (``taken``; negative for a reversal), as
    index -> the part of that adjustment not to post again. Reason 23 first (any group but PR), then the
    adjustments of the first group and reason (PR never) whose total equals exactly what is still left: a payer
    that reports the prior payer's part under another code. Never more than ``taken`` in all, never an
    adjustment of the other sign."""
    sign = 1 if taken > 0 else -1
    left = taken
    out: dict[int, Decimal] = {}

    def absorb(i: int, amount: Decimal) -> None:
        nonlocal left
        part = sign * min(sign * amount, sign * left)
        if sign * part > 0:
            out[i] = part
            left -= part

    for i, a in enumerate(cas):
        if left and a.group != "PR" and a.reason == "23":
            absorb(i, a.amount)
    if left:
        codes: dict[tuple[str, str], list[int]] = {}
        for i, a in enumerate(cas):
            if a.group != "PR" and i not in out:
                codes.setdefault((a.group, a.reason), []).append(i)
        for indexes in codes.values():
            if sum((cas[i].amount for i in indexes), ZERO) == left:
                for i in indexes:
                    absorb(i, cas[i].amount)
                break
    return out


def _payer_words(payer: tuple[str | None, str | None]) -> str:
    """A payer as a message names it: its id, else its name (trimmed, at most 60 characters)."""
    pid, name = payer
    said = (pid or "").strip() or " ".join((name or "").split())[:60]
    return said or "(unnamed)"


def _set_statuses(conn: Connection, statuses: dict[int, str]) -> None:
    """Set claims' statuses (claim id -> status); a withdrawn claim keeps its own (schema.WITHDRAWN_STATUSES).
    PostgreSQL: one statement, arrays bound on the driver; SQLite: one UPDATE per status, not one per claim."""
    if conn.dialect.name == "postgresql":
        statement = ("UPDATE claims SET status = v.status FROM unnest(%s::int[], %s::text[]) AS v(id, status) "
                     f"WHERE claims.id = v.id AND claims.status NOT IN ({WITHDRAWN_SQL})")
        with driver(conn, statement) as raw:
            raw.execute(statement, (list(statuses), list(statuses.values())))
        return
    by_status: dict[str, list[int]] = {}
    for claim_id, status in statuses.items():
        by_status.setdefault(status, []).append(claim_id)
    for status, ids in by_status.items():
        for k in range(0, len(ids), 900):  # SQLite allows 999 parameters a statement
            conn.execute(update(claims).where(claims.c.id.in_(ids[k:k + 900]),
                                              claims.c.status.notin_(WITHDRAWN_STATUSES)).values(status=status))


def _services_in_range(rows: list[tuple]) -> list[tuple]:
    """The SVC rows as kept: an SVC02 or SVC03 beyond what the ledger posts (MAX_POSTED; a line's amounts are not
    posted, only its CAS, so such a file was never refused for them) is kept as NULL rather than overflow the
    column. Column by column at C speed, as _rows_within_range."""
    for i in _SVC_AMOUNTS:
        if max(map(abs, filter(None, map(itemgetter(i), rows))), default=0) > MAX_CENTS:
            rows = [r if r[i] is None or abs(r[i]) <= MAX_CENTS else (*r[:i], None, *r[i + 1:]) for r in rows]
    return rows


def _day(value) -> date | None:
    """A date column's value as read on the driver (SQLite gives ISO text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value
