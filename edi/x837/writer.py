"""Claims to 837P (005010X222A1) and 837I (005010X223A2) transaction sets.

A whole file:

    with open("claims.837", "wb") as out:
        written = build_837(out, claims, submitter, sender, receiver, CounterControlNumbers(), now, "T")

or transaction sets inside an interchange and ``HC`` group you opened yourself (GS08 = ``VERSIONS[kind]``):

    written = write_claims(writer, claims, submitter, kind="professional", batch_id="B0001", now=now)

Both return one :class:`WrittenTransaction` per ST: its control numbers (ISA13, GS06, ST02), its batch id
(BHT03) and its claims **as written** (see :mod:`edi.x837.prepare`: generated line control numbers, ICD codes
without the dot...), which is what the ledger should record.

**Refusal.** Every claim is checked first; when any check fails, :class:`ClaimsRefused` is raised with all the
problems (codes ``837.write.*``: a CLM02 that differs from the sum of the lines, more than 12 diagnoses in
an HI, a value containing a delimiter, a replacement without REF*F8, a prior payer's adjudication that does not
balance...) and **nothing is written**.

**Other payers.** A claim's ``other_payers`` are written as loops 2320/2330A/2330B after the claim's provider
loops, and each line's ``adjudications`` as loops 2430 at the end of the line (:mod:`edi.x837.cob`); a claim
without them is written exactly as before.

**Layout.** Claims are grouped by billing provider (in order of first appearance; the claims of one provider
keep their order) and cut into transaction sets of at most ``claims_per_st`` claims (the TR3 recommends 5000).
Claims of the same billing provider in one ST share one 2000A. Each claim has its own subscriber level
(2000B), and a patient level (2000C) when the patient is not the subscriber. BHT03 is ``batch_id`` when one
ST holds the batch, ``<batch_id>-<k>`` for the k-th ST otherwise.

The output depends only on the claims, the clock and the control numbers: the same input gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import BinaryIO, TypeVar

from edi.model import Address, Claim, ClaimKind, CodeDate, Diagnosis, Patient, Provider, ServiceLine, Submitter
from edi.problems import ERROR, Problem, Where, has_errors
from edi.x12.segment import DEFAULT_DELIMITERS, Delimiters
from edi.x12.writer import (
    ControlNumbers,
    DelimiterInData,
    EnvelopeError,
    InterchangeWriter,
    Party,
    Value,
    forbidden_characters,
    segment_end,
    segment_formatter,
)
from edi.x837.cob import write_line_adjudications, write_other_payers
from edi.x837.formats import (
    CLAIM_PROVIDERS,
    COMPOSITE_PER_HI,
    HI_GROUPS,
    LINE_RENDERING,
    VERSIONS,
    HiGroup,
    ProviderLoop,
    d8,
    decimal_text,
    rd8,
)
from edi.x837.prepare import check_batch_id, check_submitter, delimiter_problems, prepare_claim

DEFAULT_CLAIMS_PER_ST = 5000
T = TypeVar("T")

Emit = Callable[[str, Sequence[Value]], None]


@dataclass(frozen=True, slots=True)
class WrittenTransaction:
    """One 837 transaction set as written: the keys acknowledgements and remittances come back with."""

    interchange: str  # ISA13
    group: str  # GS06
    control_number: str  # ST02
    batch_id: str  # BHT03
    version: str  # ST03 / GS08
    claims: tuple[Claim, ...]  # as written, in file order
    segments: tuple[int, ...] = ()  # the 1-based segment number, in the file, of each claim's CLM

    @property
    def claim_count(self) -> int:
        return len(self.segments)


@dataclass(frozen=True, slots=True)
class FormattedClaim:
    """One claim as text, everything but its HL segments: ready to be placed in any transaction set.

    Each part is whole segments, each ending with the terminator (and line break); ``*_count`` are their
    segment counts. ``billing`` (loop 2010AA) is shared by the claims of one 2000A; ``subscriber`` is loop
    2000B after its HL; ``patient`` loop 2000C after its HL (``""`` when the subscriber is the patient);
    ``body`` loop 2300 and its lines. ``claim`` is the claim as written (None when only the text was kept)."""

    patient_control_number: str
    billing: str
    billing_count: int
    subscriber: str
    subscriber_count: int
    patient: str
    patient_count: int
    body: str
    body_count: int
    claim: Claim | None = None

    def without_claim(self) -> tuple:
        """The text parts as a plain tuple (cheap to spool); ``FormattedClaim(*t)`` rebuilds it."""
        return (self.patient_control_number, self.billing, self.billing_count, self.subscriber,
                self.subscriber_count, self.patient, self.patient_count, self.body, self.body_count)


class ClaimsRefused(ValueError):
    """The batch cannot be written; ``problems`` says why (every claim was checked, nothing was written)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.is_error]
        super().__init__(f"{len(errors)} problem(s) forbid writing these claims; the first: {errors[0]}")


# -- the public functions ---------------------------------------------------------------------------------------


def format_claim(claim: Claim, kind: ClaimKind, *, delimiters: Delimiters = DEFAULT_DELIMITERS,
                 line_break: str = "\n") -> tuple[FormattedClaim | None, tuple[Problem, ...]]:
    """``claim`` as an ``kind`` 837 carries it (:func:`edi.x837.prepare.prepare_claim`), as text; None with the
    problems when it cannot be written (a value containing a delimiter among them, named by field)."""
    written, problems = prepare_claim(claim, kind)
    pcn = claim.patient_control_number or None
    if has_errors(problems):
        return None, problems + delimiter_problems(written, "Claim", forbidden_characters(delimiters), pcn)
    fmt = segment_formatter(delimiters)
    end = segment_end(delimiters, line_break)
    try:
        billing = _shared_text(_billing, written.billing_provider, written, fmt, end)
        payer = _shared_text(_payer, written.payer, written, fmt, end)
        s, sn = _text(_subscriber, written, fmt, end)
        p, pn = _text(_patient_part, written, fmt, end) if written.patient is not None else ("", 0)
        c, cn = _text(_CLAIM_WRITERS[kind], written, fmt, end)
    except DelimiterInData as exc:
        found = delimiter_problems(written, "Claim", forbidden_characters(delimiters), pcn)
        return None, problems + (found or (Problem("837.write.delimiter", str(exc), ERROR, Where(record=pcn)),))
    return FormattedClaim(claim.patient_control_number, billing[0], billing[1], s + payer[0], sn + payer[1], p, pn,
                          c, cn, written), problems


#: The segments of the parts claims share, formatted once: the billing provider's loop 2010AA (the claims of a
#: batch share one) and the payer's 2010BB (a few payers for many claims), keyed by the frozen model object they
#: are written from (equal objects write equal text) with the formatter and segment end. Only text that was
#: written without error is kept; the cache is emptied when it grows past ``_SHARED_MAX`` entries.
_SHARED_TEXT: dict[tuple, tuple[str, int]] = {}
_SHARED_MAX = 1024


def _shared_text(write: Callable[[Emit, Claim], None], part: object, claim: Claim,
                 fmt: Callable[[str, Sequence[Value]], str], end: str) -> tuple[str, int]:
    """``_text(write, claim, ...)`` for a ``write`` that reads nothing of ``claim`` but ``part``."""
    key = (write, part, fmt, end)
    text = _SHARED_TEXT.get(key)
    if text is None:
        text = _text(write, claim, fmt, end)
        if len(_SHARED_TEXT) >= _SHARED_MAX:
            _SHARED_TEXT.clear()
        _SHARED_TEXT[key] = text
    return text


def _text(write: Callable[[Emit, Claim], None], claim: Claim, fmt: Callable[[str, Sequence[Value]], str],
          end: str) -> tuple[str, int]:
    """What ``write`` emits for ``claim``, as terminated segments, and how many."""
    out: list[str] = []
    append = out.append

    def seg(tag: str, elements: Sequence[Value]) -> None:
        append(fmt(tag, elements))

    write(seg, claim)
    return (end.join(out) + end if out else ""), len(out)


def prepare_batch(claims: Iterable[Claim], submitter: Submitter, *, kind: ClaimKind, batch_id: str | None,
                  delimiters: Delimiters = DEFAULT_DELIMITERS,
                  claims_per_st: int = DEFAULT_CLAIMS_PER_ST) -> tuple[FormattedClaim, ...]:
    """The claims as written, formatted and grouped by billing provider, in file order. Raises
    :class:`ClaimsRefused` with every problem of every claim, of the submitter and of the batch id (None:
    the interchange number)."""
    if claims_per_st < 1:
        raise ValueError("claims_per_st must be at least 1")
    problems: list[Problem] = []
    prepared: list[FormattedClaim] = []
    seen: set[str] = set()
    for claim in claims:
        formatted, found = format_claim(claim, kind, delimiters=delimiters)
        problems += found
        if claim.patient_control_number in seen:
            problems.append(Problem("837.write.duplicate", "two claims of the batch have the same patient control "
                                    "number (CLM01)").at(record=claim.patient_control_number, element="CLM01"))
        seen.add(claim.patient_control_number)
        if formatted is not None:
            prepared.append(formatted)
    problems[:0] = batch_problems(submitter, batch_id, len(prepared), claims_per_st, delimiters)
    if has_errors(problems):
        raise ClaimsRefused(problems)
    return group_by_billing(prepared)


def batch_problems(submitter: Submitter, batch_id: str | None, count: int, claims_per_st: int,
                   delimiters: Delimiters = DEFAULT_DELIMITERS) -> list[Problem]:
    """What forbids writing a batch of ``count`` claims whatever its claims: the submitter (loops 1000A/B) and
    the batch id (BHT03, with the ``-k`` suffix it gets when the batch takes several transaction sets)."""
    forbidden = forbidden_characters(delimiters)
    problems = [*check_submitter(submitter), *delimiter_problems(submitter, "Submitter", forbidden)]
    if batch_id is not None:
        problems += check_batch_id(_batch_ids(batch_id, count, claims_per_st)[-1])
        problems += delimiter_problems(batch_id, "the batch id (BHT03)", forbidden)
    return problems


def group_by_billing(items: Iterable[T], billing: Callable[[T], str] = attrgetter("billing")) -> tuple[T, ...]:
    """Claims of the same billing provider together, in order of first appearance (each keeps its order).
    ``items`` are :class:`FormattedClaim` or anything ``billing`` gets a claim's billing text from."""
    by_billing: dict[str, list[T]] = {}
    for item in items:
        key = billing(item)
        group = by_billing.get(key)
        if group is None:
            by_billing[key] = [item]
        else:
            group.append(item)
    return tuple(item for group in by_billing.values() for item in group)


def write_claims(writer: InterchangeWriter, claims: Iterable[Claim], submitter: Submitter, *, kind: ClaimKind,
                 batch_id: str, now: datetime,
                 claims_per_st: int = DEFAULT_CLAIMS_PER_ST) -> tuple[WrittenTransaction, ...]:
    """Write ``claims`` (all of ``kind``) into the open ``HC`` group of ``writer``, as one transaction set per
    ``claims_per_st`` claims. Raises :class:`ClaimsRefused` (writing nothing) when a claim cannot be written."""
    if writer.group_number is None:
        raise EnvelopeError(f"write_claims() needs an open group: begin_group('HC', '{VERSIONS[kind]}')")
    ordered = prepare_batch(claims, submitter, kind=kind, batch_id=batch_id, delimiters=writer.delimiters,
                            claims_per_st=claims_per_st)
    return _write_transactions(writer, ordered, submitter, kind, batch_id, now, claims_per_st)


def build_837(out: BinaryIO, claims: Iterable[Claim], submitter: Submitter, sender: Party, receiver: Party,
              control: ControlNumbers, now: datetime, usage: str = "P", *, kind: ClaimKind | None = None,
              batch_id: str | None = None, claims_per_st: int = DEFAULT_CLAIMS_PER_ST,
              delimiters: Delimiters = DEFAULT_DELIMITERS) -> tuple[WrittenTransaction, ...]:
    """A whole 837 interchange (ISA, one HC group, its transaction sets) for claims of one kind (``kind``
    defaults to the first claim's). ``batch_id`` (BHT03) defaults to the interchange control number. Raises
    :class:`ClaimsRefused` before writing anything when a claim cannot be written."""
    claims = tuple(claims)
    if not claims:
        raise ValueError("build_837() needs at least one claim")
    kind = kind or claims[0].kind
    ordered = prepare_batch(claims, submitter, kind=kind, batch_id=batch_id, delimiters=delimiters,
                            claims_per_st=claims_per_st)
    w = InterchangeWriter(out, sender, receiver, control=control, now=now, usage=usage, delimiters=delimiters)
    w.begin_group("HC", VERSIONS[kind])
    written = _write_transactions(w, ordered, submitter, kind, batch_id or f"{w.interchange_number:09d}", now,
                                  claims_per_st)
    w.end_group()
    w.close()
    return written


def _batch_ids(batch_id: str, count: int, claims_per_st: int) -> list[str]:
    """BHT03 of each transaction set: ``batch_id`` alone, or ``batch_id-1``, ``batch_id-2``..."""
    transactions = -(-count // claims_per_st)
    if transactions <= 1:
        return [batch_id]
    return [f"{batch_id}-{k}" for k in range(1, transactions + 1)]


def _write_transactions(w: InterchangeWriter, ordered: tuple[FormattedClaim, ...], submitter: Submitter,
                        kind: ClaimKind, batch_id: str, now: datetime,
                        claims_per_st: int) -> tuple[WrittenTransaction, ...]:
    chunks = [ordered[i:i + claims_per_st] for i in range(0, len(ordered), claims_per_st)]
    written = []
    for bht03, chunk in zip(_batch_ids(batch_id, len(ordered), claims_per_st), chunks, strict=True):
        written.append(write_transaction(w, chunk, submitter, kind, bht03, now))
    return tuple(written)


# -- one transaction set ----------------------------------------------------------------------------------------


def write_transaction(w: InterchangeWriter, claims: Sequence[FormattedClaim], submitter: Submitter,
                      kind: ClaimKind, bht03: str, now: datetime) -> WrittenTransaction:
    """One ST..SE of formatted claims (already grouped by billing provider: see :func:`group_by_billing`)."""
    control = w.begin_transaction("837", VERSIONS[kind])
    seg = w.segment
    seg("BHT", ["0019", "00", bht03, d8(now), now.strftime("%H%M"), "CH"])
    _submitter(seg, submitter)
    e, end = w.delimiters.element, w.end
    hl = billing_hl = 0
    billing: str | None = None
    parts: list[str] = []
    count = 0  # segments in parts
    base = w.segment_count + 1  # the file's segment number of parts' first segment
    positions = []
    for fc in claims:
        if fc.billing != billing:
            hl += 1
            billing_hl, billing = hl, fc.billing
            parts.append(f"HL{e}{hl}{e}{e}20{e}1{end}")
            parts.append(billing)
            count += 1 + fc.billing_count
        hl += 1
        parts.append(f"HL{e}{hl}{e}{billing_hl}{e}22{e}{1 if fc.patient_count else 0}{end}")
        parts.append(fc.subscriber)
        count += 1 + fc.subscriber_count
        if fc.patient_count:
            hl += 1
            parts.append(f"HL{e}{hl}{e}{hl - 1}{e}23{e}0{end}")
            parts.append(fc.patient)
            count += 1 + fc.patient_count
        positions.append(base + count)
        parts.append(fc.body)
        count += fc.body_count
        if len(parts) > 2000:
            w.write_formatted("".join(parts), count)
            base += count
            parts, count = [], 0
    w.write_formatted("".join(parts), count)
    w.end_transaction()
    return WrittenTransaction(f"{w.interchange_number:09d}", str(w.group_number), control, bht03, VERSIONS[kind],
                              tuple(fc.claim for fc in claims if fc.claim is not None), tuple(positions))


def _submitter(seg: Emit, s: Submitter) -> None:
    numbers = [v for q, n in (("TE", s.phone), ("EM", s.email)) if n for v in (q, n)]
    seg("NM1", ["41", "2", s.name, None, None, None, None, "46", s.id])
    seg("PER", ["IC", s.contact_name, *numbers])
    seg("NM1", ["40", "2", s.receiver_name, None, None, None, None, "46", s.receiver_id])


def _name(seg: Emit, code: str, p: Provider) -> None:
    seg("NM1", [code, p.entity, p.name, p.first_name, p.middle_name, None, None, "XX" if p.npi else None, p.npi])


def _address(seg: Emit, a: Address) -> None:
    seg("N3", [a.line1, a.line2])
    seg("N4", [a.city, a.state, a.zip, a.country])


def _billing(seg: Emit, c: Claim) -> None:
    p = c.billing_provider
    if p.taxonomy:
        seg("PRV", ["BI", "PXC", p.taxonomy])
    _name(seg, "85", p)
    assert p.address is not None  # prepare_claim refuses a billing provider without one
    _address(seg, p.address)
    seg("REF", [p.tax_id_qualifier, p.tax_id])
    if p.phone:
        seg("PER", ["IC", p.contact_name, "TE", p.phone])


def _subscriber(seg: Emit, c: Claim) -> None:
    s, payer = c.subscriber, c.payer
    seg("SBR", [payer.responsibility, None if c.patient else "18", s.group_number, s.group_name, None, None, None,
                None, payer.filing_indicator])
    seg("NM1", ["IL", s.entity, s.last_name, s.first_name, s.middle_name, None, None, "MI", s.member_id])
    if s.address:
        _address(seg, s.address)
    if s.birth_date:
        seg("DMG", ["D8", d8(s.birth_date), s.sex])


def _payer(seg: Emit, c: Claim) -> None:
    """Loop 2010BB, the end of the subscriber's loop 2000B (``format_claim`` appends it after ``_subscriber``)."""
    payer = c.payer
    seg("NM1", ["PR", "2", payer.name, None, None, None, None, "PI", payer.payer_id])
    if payer.address:
        _address(seg, payer.address)


def _patient_part(seg: Emit, c: Claim) -> None:
    if c.patient:
        _patient(seg, c.patient)


def _patient(seg: Emit, p: Patient) -> None:
    assert p.address is not None and p.birth_date is not None  # prepare_claim refuses a patient without them
    seg("PAT", [p.relationship])
    seg("NM1", ["QC", "1", p.last_name, p.first_name, p.middle_name])
    _address(seg, p.address)
    seg("DMG", ["D8", d8(p.birth_date), p.sex])


# -- the claim (2300) -------------------------------------------------------------------------------------------


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _professional_claim(seg: Emit, c: Claim) -> None:
    seg("CLM", [c.patient_control_number, decimal_text(c.total_charge), None, None,
                (c.place_of_service, "B", c.frequency), _yn(c.provider_signature), c.assignment,
                _yn(c.benefits_assigned), c.release_of_information, None, tuple(c.accident_cause)])
    if c.onset_date:
        seg("DTP", ["431", "D8", d8(c.onset_date)])
    if c.admission_date:
        seg("DTP", ["435", "D8", d8(c.admission_date)])
    _claim_references(seg, c)
    seg("HI", [(d.qualifier, d.code) for d in c.diagnoses])
    _hi_groups(seg, c, HI_GROUPS["professional"][2:])
    _claim_providers(seg, c, "professional")
    if c.other_payers:
        write_other_payers(seg, c, "professional")
    for line in c.lines:
        _professional_line(seg, c, line)


def _institutional_claim(seg: Emit, c: Claim) -> None:
    assert c.bill_type is not None and c.statement_from is not None and c.statement_to is not None
    seg("CLM", [c.patient_control_number, decimal_text(c.total_charge), None, None,
                (c.bill_type[:2], "A", c.frequency), None, c.assignment, _yn(c.benefits_assigned),
                c.release_of_information])
    if c.discharge_hour:
        seg("DTP", ["096", "TM", c.discharge_hour])
    seg("DTP", ["434", "RD8", rd8(c.statement_from, c.statement_to)])
    if c.admission_date:
        if c.admission_hour:
            seg("DTP", ["435", "DT", d8(c.admission_date) + c.admission_hour])
        else:
            seg("DTP", ["435", "D8", d8(c.admission_date)])
    seg("CL1", [c.admission_type, c.admission_source, c.discharge_status])
    _claim_references(seg, c)
    _hi_groups(seg, c, HI_GROUPS["institutional"])
    _claim_providers(seg, c, "institutional")
    if c.other_payers:
        write_other_payers(seg, c, "institutional")
    for line in c.lines:
        _institutional_line(seg, c, line)


def _claim_references(seg: Emit, c: Claim) -> None:
    """REF*9F, G1, F8 and EA (in the implementation guides' order), then NTE*ADD."""
    for qualifier, value in (("9F", c.referral_number), ("G1", c.prior_authorization),
                             ("F8", c.payer_claim_number), ("EA", c.medical_record_number)):
        if value:
            seg("REF", [qualifier, value])
    if c.note:
        seg("NTE", ["ADD", c.note])


def _hi_groups(seg: Emit, c: Claim, groups: Sequence[HiGroup]) -> None:
    """One HI segment per group and per 12 composites, in the order of ``groups``."""
    items: dict[str, list[Diagnosis | CodeDate]] = {}
    for item in (*c.diagnoses, *c.institutional_codes):
        items.setdefault(item.qualifier, []).append(item)
    for group in groups:
        found = items.get(group.qualifier, [])
        for i in range(0, len(found), COMPOSITE_PER_HI):
            seg("HI", [_composite(item, group) for item in found[i:i + COMPOSITE_PER_HI]])


def _composite(item: Diagnosis | CodeDate, group: HiGroup) -> tuple:
    if isinstance(item, Diagnosis):
        poa = item.present_on_admission if group.poa else None
        return (item.qualifier, item.code) + ((None,) * 6 + (poa,) if poa else ())
    if group.date == "D8" and item.date:
        return item.qualifier, item.code, "D8", d8(item.date)
    if group.date == "RD8" and item.date and item.date_end:
        return item.qualifier, item.code, "RD8", rd8(item.date, item.date_end)
    if group.amount and item.amount is not None:
        return item.qualifier, item.code, None, None, decimal_text(item.amount)
    return item.qualifier, item.code


def _provider_loop(seg: Emit, spec: ProviderLoop, p: Provider) -> None:
    _name(seg, spec.code, p)
    if spec.taxonomy and p.taxonomy:
        seg("PRV", [spec.taxonomy, "PXC", p.taxonomy])
    if spec.address and p.address:
        _address(seg, p.address)


def _claim_providers(seg: Emit, c: Claim, kind: ClaimKind) -> None:
    for attr, spec in CLAIM_PROVIDERS[kind]:
        p = getattr(c, attr)
        if p is not None:
            _provider_loop(seg, spec, p)


# -- service lines (2400) ---------------------------------------------------------------------------------------


def _procedure(ln: ServiceLine) -> tuple:
    modifiers = ln.modifiers + (None,) * (4 - len(ln.modifiers))
    return (ln.procedure_qualifier, ln.procedure, *modifiers, ln.description)


def _line_end(seg: Emit, ln: ServiceLine, kind: ClaimKind) -> None:
    """DTP*472, REF*6R and the line's rendering provider (2420A / 2420C)."""
    if ln.service_date:
        if ln.service_date_end:
            seg("DTP", ["472", "RD8", rd8(ln.service_date, ln.service_date_end)])
        else:
            seg("DTP", ["472", "D8", d8(ln.service_date)])
    seg("REF", ["6R", ln.line_control_number])
    if ln.rendering_provider:
        _provider_loop(seg, LINE_RENDERING[kind], ln.rendering_provider)


def _professional_line(seg: Emit, c: Claim, ln: ServiceLine) -> None:
    seg("LX", [str(ln.number)])
    seg("SV1", [_procedure(ln), decimal_text(ln.charge), ln.unit_basis, decimal_text(ln.units), ln.place_of_service,
                None, tuple(str(p) for p in ln.diagnosis_pointers)])
    _line_end(seg, ln, "professional")
    if ln.adjudications:
        write_line_adjudications(seg, ln, "professional")


def _institutional_line(seg: Emit, c: Claim, ln: ServiceLine) -> None:
    seg("LX", [str(ln.number)])
    seg("SV2", [ln.revenue_code, _procedure(ln) if ln.procedure else None, decimal_text(ln.charge), ln.unit_basis,
                decimal_text(ln.units)])
    _line_end(seg, ln, "institutional")
    if ln.adjudications:
        write_line_adjudications(seg, ln, "institutional")


_CLAIM_WRITERS: dict[ClaimKind, Callable[[Emit, Claim], None]] = {
    "professional": _professional_claim,
    "institutional": _institutional_claim,
}
