"""What a billing office looks at: A/R aging, the denial work list, and lines paid below the contract.

Each figure is an SQL aggregate over postings, adjustments and payments (run by the database, SQLite or
PostgreSQL alike); what grows with the ledger (aging by claim, the denial items, the variance lines) is
streamed, one row at a time. Money is Decimal, read as integer cents.

* **Aging** (:func:`aging`, :func:`aging_claims`): each claim's open insurance A/R and patient A/R as of a date
  (the postings made until the end of that day), in the buckets 0-30, 31-60, 61-90, 91-120 and over 120 days
  from the date of service (``basis="service"``) or of submission (``"submission"``: the first upload of its
  837, else when it was recorded). A claim 30 days old is in 0-30, 31 days old in 31-60. Across payers
  (coordination of benefits) the patient's part the payer before left is the next payer's insurance A/R from
  the moment its claim is recorded (its ``prior_payer`` entry), so the claim before shows no patient A/R for it,
  and the patient A/R of a number's claims is what the last payer billed left, on that payer's claim.
* **Denials** (:func:`denials`): denied claims (CLP02 4 or 23: the adjustments recorded, not posted) and lines
  paid nothing inside a paid claim, with their codes, amount, age and appeal deadline (a payer's number of days,
  from its ``appeal_days`` in edi.toml, counted from the payment date); a payment later reversed is left out.
* **Variance** (:func:`variance_lines`): every paid line of every posted 835 against a fee schedule: the
  allowed amount the payer applied (AMT*B6 when sent, else the line's charge minus its CO adjustments) and the
  contracted amount. The ledger keeps a payment's claims and adjustments, not each line's AMT*B6 or paid
  amount, so the lines are read again from the 835 files the ledger posted (where it recorded them, checked by
  their sha256); a file that is no longer there is reported, never guessed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, Date, String, and_, case, cast, exists, func, literal, or_, select, type_coerce
from sqlalchemy.engine import Connection

from edi.ledger.schema import (
    NOT_STANDING_STATUSES,
    adjustments,
    claim_lines,
    claim_payments,
    claims,
    files,
    journal_entries,
    postings,
    remittances,
    submissions,
)
from edi.problems import WARNING, Problem, Where

ZERO = Decimal(0)
CENT = Decimal("0.01")
BUCKETS = ("0-30", "31-60", "61-90", "91-120", "over 120")
#: The first day of age of each bucket after the first (its lower edge, in days).
BUCKET_EDGES = (31, 61, 91, 121)
BASES = ("service", "submission")
DENIAL_STATUSES = ("4", "23")


def _money(cents: int | None) -> Decimal:
    return (Decimal(cents or 0) / 100).quantize(CENT)


def _m(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def _cents(column):
    return type_coerce(column, BigInteger)


# -- aging -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgingRow:
    """Open balances of one payer (``by="payer"``) or one claim (``by="claim"``), per bucket (see BUCKETS)."""

    payer: str | None
    payer_id: str | None
    claims: int
    insurance: tuple[Decimal, ...]
    patient: tuple[Decimal, ...]
    claim: str | None = None  # the patient control number (by claim)
    basis_date: date | None = None  # by claim: the date the age counts from
    age: int | None = None  # by claim: days from basis_date to as_of
    status: str | None = None  # by claim

    @property
    def insurance_total(self) -> Decimal:
        return sum(self.insurance, ZERO)

    @property
    def patient_total(self) -> Decimal:
        return sum(self.patient, ZERO)

    def as_dict(self) -> dict:
        out: dict = {}
        if self.claim is not None:
            out |= {"claim": self.claim, "status": self.status, "basis_date": _iso(self.basis_date),
                    "age": self.age}
        out |= {"payer": self.payer, "payer_id": self.payer_id, "claims": self.claims,
                "insurance": {b: _m(v) for b, v in zip(BUCKETS, self.insurance, strict=True)},
                "insurance_total": _m(self.insurance_total),
                "patient": {b: _m(v) for b, v in zip(BUCKETS, self.patient, strict=True)},
                "patient_total": _m(self.patient_total)}
        return out


@dataclass(frozen=True, slots=True)
class Aging:
    as_of: date
    basis: str
    rows: tuple[AgingRow, ...]
    total: AgingRow

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "basis": self.basis, "by": "payer", "buckets": list(BUCKETS),
                "payers": [r.as_dict() for r in self.rows], "total": self.total.as_dict()}


def _check_basis(basis: str) -> None:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")


def _aging_select(as_of: date, basis: str, columns: Callable):
    """The open claims as of ``as_of`` (end of day), with their bucket (0..4) and balances in cents, as a
    subquery-based select whose result columns ``columns(open_claims, bucket, basis_date)`` chooses."""
    _check_basis(basis)
    cutoff = datetime.combine(as_of + timedelta(days=1), time())
    # whose balance a posting is: its claim's, except the patient A/R a claim to the next payer took over (the
    # patient_ar leg of its prior_payer entry), which is taken off the claim to the payer before it
    nxt, before = claims.alias("next_claim"), claims.alias("claim_before")
    prior_claim = (select(func.max(before.c.id)).select_from(nxt.join(
        before, and_(before.c.patient_control_number == nxt.c.patient_control_number, before.c.id < nxt.c.id)))
        .where(nxt.c.id == postings.c.claim_id, before.c.status.notin_(NOT_STANDING_STATUSES))
        .scalar_subquery())
    taken_over = and_(journal_entries.c.kind == "prior_payer", postings.c.account == "patient_ar")
    owned = (select(case((taken_over, func.coalesce(prior_claim, postings.c.claim_id)),
                         else_=postings.c.claim_id).label("claim_id"),
                    postings.c.account, _cents(postings.c.amount).label("cents"))
             .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
             .where(postings.c.claim_id.is_not(None), postings.c.account.in_(("insurance_ar", "patient_ar")),
                    journal_entries.c.created_at < cutoff)).subquery("owned")
    ins = func.sum(case((owned.c.account == "insurance_ar", owned.c.cents), else_=0))
    pat = func.sum(case((owned.c.account == "patient_ar", owned.c.cents), else_=0))
    balances = (select(owned.c.claim_id, ins.label("insurance"), pat.label("patient"))
                .group_by(owned.c.claim_id)
                .having(or_(ins != 0, pat != 0))).subquery("balances")
    if basis == "service":
        basis_date = func.date(func.coalesce(claims.c.service_date, claims.c.created_at), type_=Date)
        source = claims.join(balances, balances.c.claim_id == claims.c.id)
    else:
        sent = (select(submissions.c.file_id, func.min(submissions.c.submitted_at).label("at"))
                .where(submissions.c.state == "sent").group_by(submissions.c.file_id)).subquery("sent")
        basis_date = func.date(func.coalesce(sent.c.at, claims.c.created_at), type_=Date)
        source = claims.join(balances, balances.c.claim_id == claims.c.id).outerjoin(
            sent, sent.c.file_id == claims.c.file_id)
    # the bucket from its lower edges as dates: the same comparison on every database, no date arithmetic in SQL
    edges = [literal(as_of - timedelta(days=d - 1), Date) for d in BUCKET_EDGES]
    bucket = case((basis_date >= edges[0], 0), (basis_date >= edges[1], 1), (basis_date >= edges[2], 2),
                  (basis_date >= edges[3], 3), else_=4)
    return columns(balances, bucket, basis_date).select_from(source)


def aging(conn: Connection, *, as_of: date, basis: str = "service") -> Aging:
    """Open balances per payer and bucket, with the total (one GROUP BY in the database)."""
    q = _aging_select(as_of, basis, lambda b, bucket, _d: select(
        claims.c.payer_id, claims.c.payer_name, bucket.label("bucket"), func.count().label("n"),
        func.sum(b.c.insurance).label("insurance"), func.sum(b.c.patient).label("patient")))
    q = q.group_by(claims.c.payer_id, claims.c.payer_name, "bucket")
    per: dict[str | None, dict] = {}
    for payer_id, payer_name, bucket, n, ins, pat in conn.execute(q):
        row = per.setdefault(payer_id, {"name": payer_name, "n": 0, "ins": [0] * 5, "pat": [0] * 5})
        row["name"] = row["name"] or payer_name
        row["n"] += n
        row["ins"][bucket] += int(ins or 0)
        row["pat"][bucket] += int(pat or 0)
    rows = tuple(AgingRow(v["name"] or k, k, v["n"], tuple(_money(c) for c in v["ins"]),
                          tuple(_money(c) for c in v["pat"]))
                 for k, v in sorted(per.items(), key=lambda kv: ((kv[1]["name"] or kv[0] or "").upper(),
                                                                 kv[0] or "")))
    total = AgingRow("all payers", None, sum(r.claims for r in rows),
                     tuple(sum((r.insurance[i] for r in rows), ZERO) for i in range(5)),
                     tuple(sum((r.patient[i] for r in rows), ZERO) for i in range(5)))
    return Aging(as_of, basis, rows, total)


def aging_claims(conn: Connection, *, as_of: date, basis: str = "service") -> Iterator[AgingRow]:
    """Each open claim with its balances in its bucket, by payer then oldest first (streamed)."""
    q = _aging_select(as_of, basis, lambda b, bucket, d: select(
        claims.c.patient_control_number, claims.c.payer_id, claims.c.payer_name, claims.c.status,
        d.label("basis_date"), bucket.label("bucket"), b.c.insurance, b.c.patient))
    q = q.order_by(claims.c.payer_name, claims.c.payer_id, "basis_date", claims.c.id)
    for pcn, payer_id, payer_name, status, basis_date, bucket, ins, pat in conn.execution_options(
            stream_results=True, yield_per=1000).execute(q):
        zeros = [ZERO] * 5
        i, p = list(zeros), list(zeros)
        i[bucket], p[bucket] = _money(ins), _money(pat)
        yield AgingRow(payer_name or payer_id, payer_id, 1, tuple(i), tuple(p), claim=pcn, basis_date=basis_date,
                       age=(as_of - basis_date).days if basis_date else None, status=status)


# -- denials -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DenialCode:
    group: str
    reason: str
    amount: Decimal
    remarks: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"group": self.group, "reason": self.reason, "amount": _m(self.amount), "remarks": list(self.remarks)}


@dataclass(frozen=True, slots=True)
class DenialItem:
    """A denied claim (``level="claim"``: its every adjustment) or a line paid nothing inside a paid claim
    (``level="line"``)."""

    level: str
    claim: str
    claim_status: str
    payer: str | None
    payer_id: str | None
    trace_number: str
    payer_claim_number: str | None
    denied_on: date | None  # the payment date of the 835 that denied it
    amount: Decimal
    codes: tuple[DenialCode, ...]
    line: int | None = None
    procedure: str | None = None
    age: int | None = None  # days from denied_on to as_of
    appeal_by: date | None = None  # denied_on + the payer's appeal_days
    days_left: int | None = None  # to appeal_by from as_of (negative: past)

    def as_dict(self) -> dict:
        return {"level": self.level, "claim": self.claim, "claim_status": self.claim_status, "payer": self.payer,
                "payer_id": self.payer_id, "trace_number": self.trace_number,
                "payer_claim_number": self.payer_claim_number, "line": self.line, "procedure": self.procedure,
                "denied_on": _iso(self.denied_on), "amount": _m(self.amount),
                "codes": [c.as_dict() for c in self.codes], "age": self.age, "appeal_by": _iso(self.appeal_by),
                "days_left": self.days_left}


@dataclass(frozen=True, slots=True)
class DenialSummary:
    """The denials by reason (group and CARC) and by payer: items, amount."""

    by_reason: tuple[tuple[str, str, int, Decimal], ...]  # (group, reason, items, amount)
    by_payer: tuple[tuple[str | None, str | None, int, Decimal], ...]  # (payer, payer id, items, amount)
    items: int
    amount: Decimal

    def as_dict(self) -> dict:
        return {"by_reason": [{"group": g, "reason": r, "items": n, "amount": _m(a)} for g, r, n, a in self.by_reason],
                "by_payer": [{"payer": p, "payer_id": i, "items": n, "amount": _m(a)} for p, i, n, a in self.by_payer],
                "items": self.items, "amount": _m(self.amount)}


def _denial_filter(since: date | None):
    reversed_ = exists().where(claim_payments.c.reverses_id == _cp.c.id)
    cond = and_(adjustments.c.claim_id.is_not(None), _cp.c.status != "22", ~reversed_,
                or_(and_(adjustments.c.posted.is_(False), _cp.c.denied.is_not(None)),
                    adjustments.c.line_denial.is_(True)))
    if since is not None:
        cond = and_(cond, remittances.c.payment_date >= since)
    return cond


_cp = claim_payments.alias("cp")


def _denial_source():
    return (adjustments.join(_cp, _cp.c.id == adjustments.c.claim_payment_id)
            .join(remittances, remittances.c.id == _cp.c.remittance_id)
            .join(claims, claims.c.id == adjustments.c.claim_id))


def denials(conn: Connection, *, as_of: date, since: date | None = None,
            appeal_days: Mapping[str, int] | None = None) -> Iterator[DenialItem]:
    """The denial work list, oldest first (streamed). ``appeal_days`` maps a payer id (as the claims carry it:
    2010BB NM109) to its number of days to appeal."""
    appeal_days = appeal_days or {}
    item_key = case((adjustments.c.line_denial.is_(True), adjustments.c.line_id), else_=None)
    q = (select(_cp.c.id.label("cp_id"), item_key.label("item_line"), adjustments.c.level, adjustments.c.line_denial,
                adjustments.c.group_code, adjustments.c.reason, _cents(adjustments.c.amount).label("amount"),
                adjustments.c.remarks, _cp.c.patient_control_number, _cp.c.payer_claim_number,
                remittances.c.trace_number, remittances.c.payment_date, claims.c.payer_id, claims.c.payer_name,
                claims.c.status, claim_lines.c.line_number, claim_lines.c.procedure, claim_lines.c.revenue_code)
         .select_from(_denial_source().outerjoin(claim_lines, claim_lines.c.id == adjustments.c.line_id))
         .where(_denial_filter(since))
         .order_by(remittances.c.payment_date, _cp.c.id, adjustments.c.line_denial, adjustments.c.line_id,
                   adjustments.c.id))
    current: dict | None = None

    def finish(c: dict) -> DenialItem:
        denied_on = c["denied_on"]
        days = appeal_days.get(c["payer_id"] or "")
        appeal_by = denied_on + timedelta(days=days) if days is not None and denied_on is not None else None
        return DenialItem(
            level=c["level"], claim=c["claim"], claim_status=c["status"], payer=c["payer"], payer_id=c["payer_id"],
            trace_number=c["trace"], payer_claim_number=c["icn"], denied_on=denied_on,
            amount=_money(sum(code[2] for code in c["codes"])),
            codes=tuple(DenialCode(g, r, _money(a), tuple(rm.split()) if rm else ()) for g, r, a, rm in c["codes"]),
            line=c["line"], procedure=c["procedure"],
            age=(as_of - denied_on).days if denied_on else None, appeal_by=appeal_by,
            days_left=(appeal_by - as_of).days if appeal_by else None)

    for r in conn.execution_options(stream_results=True, yield_per=1000).execute(q).mappings():
        key = (r["cp_id"], r["item_line"] if r["line_denial"] else "claim")
        if current is None or current["key"] != key:
            if current is not None:
                yield finish(current)
            current = {"key": key, "level": "line" if r["line_denial"] else "claim",
                       "claim": r["patient_control_number"], "status": r["status"],
                       "payer": r["payer_name"] or r["payer_id"], "payer_id": r["payer_id"],
                       "trace": r["trace_number"], "icn": r["payer_claim_number"], "denied_on": r["payment_date"],
                       "line": r["line_number"] if r["line_denial"] else None,
                       "procedure": (r["procedure"] or r["revenue_code"]) if r["line_denial"] else None,
                       "codes": []}
        current["codes"].append((r["group_code"], r["reason"], int(r["amount"]), r["remarks"]))
    if current is not None:
        yield finish(current)


def denial_summary(conn: Connection, *, since: date | None = None) -> DenialSummary:
    """The denials by reason and by payer (GROUP BY in the database). An item is a denied claim, or a denied line
    of a paid claim; by reason, each item counts once under each of its codes."""
    # an item: its claim payment, and its line when it is a line denial (text: no integer arithmetic to overflow)
    line_part = case((adjustments.c.line_denial.is_(True), func.coalesce(adjustments.c.line_id, 0)), else_=-1)
    items_expr = func.count(func.distinct(cast(_cp.c.id, String) + literal(":") + cast(line_part, String)))
    source = _denial_source()
    cond = _denial_filter(since)
    by_reason = tuple(
        (g, r, n, _money(a)) for g, r, n, a in conn.execute(
            select(adjustments.c.group_code, adjustments.c.reason, items_expr, func.sum(_cents(adjustments.c.amount)))
            .select_from(source).where(cond).group_by(adjustments.c.group_code, adjustments.c.reason)
            .order_by(func.sum(_cents(adjustments.c.amount)).desc(), adjustments.c.group_code, adjustments.c.reason)))
    payers: dict[str | None, list] = {}
    for payer_id, payer_name, n, a in conn.execute(
            select(claims.c.payer_id, claims.c.payer_name, items_expr, func.sum(_cents(adjustments.c.amount)))
            .select_from(source).where(cond).group_by(claims.c.payer_id, claims.c.payer_name)):
        row = payers.setdefault(payer_id, [payer_name or payer_id, payer_id, 0, 0])
        row[2] += n
        row[3] += int(a or 0)
    by_payer = tuple(sorted(((p, i, n, _money(a)) for p, i, n, a in payers.values()),
                            key=lambda x: (-x[3], x[0] or "")))
    n, a = conn.execute(select(items_expr, func.sum(_cents(adjustments.c.amount))).select_from(source)
                        .where(cond)).one()
    return DenialSummary(by_reason, by_payer, n or 0, _money(a))


# -- variance against a fee schedule -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VarianceLine:
    """One paid service line against its contract. ``difference`` = applied - contract (negative: paid below
    the contract); ``status`` below, above, equal or unpriced (no fee schedule row)."""

    payer: str | None
    payer_id: str | None
    payer_key: str | None  # the edi.toml key the payer id maps to (None: not in the configuration)
    claim: str
    trace_number: str
    procedure: str
    modifiers: tuple[str, ...]
    units: Decimal
    service_date: date | None
    charge: Decimal
    paid: Decimal
    applied: Decimal  # the allowed amount the payer applied
    applied_from: str  # "AMT*B6", or "charge - CO"
    contract: Decimal | None
    status: str

    @property
    def difference(self) -> Decimal | None:
        return None if self.contract is None else self.applied - self.contract

    def as_dict(self) -> dict:
        return {"payer": self.payer, "payer_id": self.payer_id, "payer_key": self.payer_key, "claim": self.claim,
                "trace_number": self.trace_number, "procedure": self.procedure, "modifiers": list(self.modifiers),
                "units": str(self.units), "service_date": _iso(self.service_date), "charge": _m(self.charge),
                "paid": _m(self.paid), "applied": _m(self.applied), "applied_from": self.applied_from,
                "contract": _m(self.contract), "difference": _m(self.difference), "status": self.status}


@dataclass
class VarianceSummary:
    """Totals of the lines seen (``add`` each): below-contract lines by payer and procedure with the money at
    stake (contract - applied), and how many lines were below, above, equal, unpriced."""

    by_payer_procedure: dict[tuple[str | None, str | None, str], list] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"below": 0, "above": 0, "equal": 0, "unpriced": 0})
    at_stake: Decimal = ZERO
    above_by: Decimal = ZERO

    def add(self, line: VarianceLine) -> None:
        self.counts[line.status] += 1
        if line.status == "below":
            gap = -line.difference
            row = self.by_payer_procedure.setdefault((line.payer, line.payer_id, line.procedure), [0, ZERO])
            row[0] += 1
            row[1] += gap
            self.at_stake += gap
        elif line.status == "above":
            self.above_by += line.difference

    def as_dict(self) -> dict:
        rows = sorted(self.by_payer_procedure.items(), key=lambda kv: (-kv[1][1], kv[0][0] or "", kv[0][2]))
        return {"below_contract": [{"payer": p, "payer_id": i, "procedure": c, "lines": n, "at_stake": _m(a)}
                                   for (p, i, c), (n, a) in rows],
                "lines": dict(self.counts), "at_stake": _m(self.at_stake), "paid_above_contract": _m(self.above_by)}


def _posted_835s(conn: Connection, problems: list[Problem]) -> Iterator[tuple[int, str]]:
    """(file id, path) of each 835 the ledger posted whose file is still where it was recorded, with the same
    content; a problem for each that is not."""
    from edi.ledger import sha256_of

    for file_id, name, path, sha in conn.execute(select(files.c.id, files.c.name, files.c.path, files.c.sha256)
                                                 .where(files.c.kind == "835").order_by(files.c.id)).all():
        if not path or not os.path.isfile(path):
            problems.append(Problem("report.remittance.missing", f"{name}: the 835 is no longer at "
                                    f"{path or '(no path recorded)'}; its lines are left out", WARNING,
                                    Where(file=name)))
            continue
        try:
            same = sha256_of(path)[0] == sha
        except OSError as exc:
            problems.append(Problem("report.remittance.missing", f"{name}: {exc.strerror or exc}; its lines are "
                                    "left out", WARNING, Where(file=name)))
            continue
        if not same:
            problems.append(Problem("report.remittance.changed", f"{name}: the file at {path} is not the one posted "
                                    "(its content changed); its lines are left out", WARNING, Where(file=name)))
            continue
        yield file_id, path


def posted_remittance_files(conn: Connection, problems: list[Problem]) -> list[tuple[int, str]]:
    """The 835 files the ledger posted that can be read again (see _posted_835s)."""
    return list(_posted_835s(conn, problems))


def variance_lines(conn: Connection, fees, payer_keys: Mapping[str, str], problems: list[Problem]
                   ) -> Iterator[VarianceLine]:
    """Every paid line of every payment posted to a claim (not denied, not a reversal, not reversed since),
    priced by ``fees`` (an ``edi.fees.FeeSchedule``) under the payer key ``payer_keys`` maps the claim's payer id
    to. A line paid nothing with no patient responsibility is a denial (see :func:`denials`), not a variance.
    Streams one file at a time; ``problems`` collects the files that cannot be read again."""
    from edi.model import ClaimPayment, Remittance
    from edi.x835.reader import read_remittances

    reversed_ = exists().where(_cp.c.reverses_id == claim_payments.c.id)
    for file_id, path in posted_remittance_files(conn, problems):
        rem_ids = dict(conn.execute(select(remittances.c.segment, remittances.c.id)
                                    .where(remittances.c.file_id == file_id)).all())
        posted = {(r.remittance_id, r.segment): r for r in conn.execute(
            select(claim_payments.c.remittance_id, claim_payments.c.segment, claim_payments.c.status,
                   claims.c.patient_control_number, claims.c.payer_id, claims.c.payer_name,
                   reversed_.label("reversed"))
            .join(claims, claims.c.id == claim_payments.c.claim_id)
            .join(remittances, remittances.c.id == claim_payments.c.remittance_id)
            .where(remittances.c.file_id == file_id))}
        rem_id = trace = None
        for item in read_remittances(path):
            if isinstance(item, Remittance):
                rem_id = rem_ids.get(item.source.segment if item.source else None)
                trace = (item.trace_number or "").strip()
                continue
            if not isinstance(item, ClaimPayment) or rem_id is None:
                continue
            cp = posted.get((rem_id, item.source.segment if item.source else None))
            if cp is None or cp.reversed or cp.status == "22" or cp.status in DENIAL_STATUSES or cp.status == "25":
                continue
            key = payer_keys.get(cp.payer_id or "")
            for sp in item.lines:
                co = sum((a.amount for a in sp.adjustments if a.group == "CO"), ZERO)
                if sp.paid == 0 and not any(a.group == "PR" for a in sp.adjustments):
                    continue
                applied, source = (sp.allowed, "AMT*B6") if sp.allowed is not None else (sp.charge - co,
                                                                                          "charge - CO")
                units = sp.units if sp.units is not None else (sp.original_units or Decimal(1))
                contract = fees.allowed(key, sp.procedure, sp.modifiers, units)
                code = sp.procedure
                if contract is None and sp.revenue_code:
                    contract = fees.allowed(key, sp.revenue_code, (), units)
                    code = sp.revenue_code if contract is not None else code
                if contract is None:
                    status = "unpriced"
                else:
                    status = "below" if applied < contract else "above" if applied > contract else "equal"
                yield VarianceLine(cp.payer_name or cp.payer_id, cp.payer_id, key, cp.patient_control_number, trace,
                                   code, tuple(sp.modifiers), units, sp.service_date, sp.charge, sp.paid,
                                   applied.quantize(CENT), source, contract, status)
