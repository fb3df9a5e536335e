"""Read 837P and 837I files into ``Claim`` values, streaming.

    stream = read_837("claims.837")
    for claim in stream:                 # claims are yielded as they complete; memory stays flat
        ...
    stream.problems                      # what could not be read (codes ``837.read.*``) and syntax problems
    stream.transactions                  # one Transaction837 per ST: ISA13, GS06, ST02, BHT03, version, counts
    stream.current                       # (while iterating) the Transaction837 of the claim just yielded

Any number of interchanges, groups, transaction sets and claims per file. Each claim carries ``source``:
the file, ISA13, ST02 and the number of its CLM segment. 5010 is the target; 4010 transactions are read as
far as their structure matches (with a warning), dental (837D) transactions are skipped with a warning, and
an unknown version is read as professional or institutional from its first CLM05. Other payers (loops
2320/2330A/2330B) are read into ``Claim.other_payers`` and line adjudications (2430) into
``ServiceLine.adjudications``, the values the writer wrote them from.

The reader never raises on bad data. A claim is yielded for every CLM inside an 837 transaction set; what it
lacks (a billing provider, a subscriber, a payer, a readable CLM02, its lines) is reported as an error and
filled with an empty value (an empty name, a zero amount). Problem messages name elements, never their values.

:class:`Reader837` is the sans-IO core (feed it segments); :func:`read_837` and :func:`read_837_bytes` wrap it
around the tokenizer. Loop detection is the table in :mod:`edi.x837.loops`; the handlers here are keyed by
``(role, tag)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from edi.model import (
    ZERO,
    Address,
    Adjustment,
    Claim,
    ClaimKind,
    CodeDate,
    Diagnosis,
    LineAdjudication,
    OtherPayer,
    Patient,
    Payer,
    Provider,
    ServiceLine,
    Source,
    Subscriber,
)
from edi.problems import ERROR, WARNING, Problem, Problems, Severity, Where
from edi.x12.io import open_input, read_chunks
from edi.x12.numeric import CENT_PLACES, MONEY_DIGITS, QUANTITY_DIGITS, read_r
from edi.x12.numeric import WORDS as NUMBER_WORDS
from edi.x12.segment import Segment
from edi.x12.tokenizer import Tokenizer, iter_segments
from edi.x837.formats import DIAGNOSIS_QUALIFIERS, kind_of_version, parse_d8, parse_rd8
from edi.x837.loops import OPENERS, QUALIFIER_ELEMENT, ROOT, TRANSITIONS, Loop, enter


@dataclass(frozen=True, slots=True)
class Transaction837:
    """The envelope facts of one 837 transaction set, and what it held."""

    file: str | None
    interchange: str | None  # ISA13
    group: str | None  # GS06
    control_number: str  # ST02
    version: str | None  # ST03, else GS08
    kind: ClaimKind | None
    batch_id: str | None  # BHT03
    created: date | None  # BHT04
    submitter_id: str | None  # 1000A NM109
    receiver_id: str | None  # 1000B NM109
    segment: int  # the ST segment's number in the file
    claim_count: int
    total_charge: Decimal  # sum of CLM02
    interchange_receiver: str | None = None  # ISA08 of its interchange (stripped): the clearinghouse it went to


# -- drafts: what a loop has said so far -----------------------------------------------------------------------


class _Party:
    """A name loop (and its level) as read: a provider, subscriber, payer or patient."""

    __slots__ = ("entity", "name", "first", "middle", "id_qualifier", "id", "tax_id", "tax_qualifier", "taxonomy",
                 "n3", "n4", "contact", "phone", "birth_date", "sex", "sbr", "relationship", "built")

    def __init__(self) -> None:
        self.entity = self.name = self.first = self.middle = self.id_qualifier = self.id = None
        self.tax_id = self.tax_qualifier = self.taxonomy = self.contact = self.phone = self.sex = None
        self.relationship = None
        self.n3: tuple[str, str | None] | None = None
        self.n4: tuple[str, str, str, str | None] | None = None
        self.birth_date: date | None = None
        self.sbr: Segment | None = None
        self.built: Any = None

    def address(self) -> Address | None:
        if self.n3 is None and self.n4 is None:
            return None
        line1, line2 = self.n3 or ("", None)
        city, state, zip_code, country = self.n4 or ("", "", "", None)
        return Address(line1=line1, city=city, state=state, zip=zip_code, line2=line2, country=country)


class _ClaimDraft:
    __slots__ = ("segment", "fields", "diagnoses", "codes", "lines", "parties", "line", "others")

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.fields: dict[str, Any] = {}
        self.diagnoses: list[Diagnosis] = []
        self.codes: list[CodeDate] = []
        self.lines: list[ServiceLine] = []
        self.parties: dict[str, _Party] = {}
        self.line: _LineDraft | None = None
        self.others: list[_OtherDraft] = []  # loops 2320


class _LineDraft:
    __slots__ = ("segment", "fields", "parties", "has_service", "reported", "adjudications")

    def __init__(self, segment: Segment, number: int) -> None:
        self.segment = segment
        self.fields: dict[str, Any] = {"number": number}
        self.parties: dict[str, _Party] = {}
        self.has_service = False
        self.reported = False  # a problem already says why the line cannot be read
        self.adjudications: list[_AdjudicationDraft] = []  # loops 2430


class _OtherDraft:
    """An other payer (loop 2320, opened by its SBR) as read: its OtherPayer fields, claim-level adjustments,
    and the other subscriber (2330A) and other payer (2330B) names."""

    __slots__ = ("sbr", "fields", "adjustments", "subscriber", "payer")

    def __init__(self, sbr: Segment) -> None:
        self.sbr = sbr
        self.fields: dict[str, Any] = {}
        self.adjustments: list[Adjustment] = []
        self.subscriber = _Party()
        self.payer = _Party()


class _AdjudicationDraft:
    """A line adjudication (loop 2430, opened by its SVD) as read."""

    __slots__ = ("segment", "fields", "adjustments")

    def __init__(self, segment: Segment, fields: dict[str, Any]) -> None:
        self.segment = segment
        self.fields = fields
        self.adjustments: list[Adjustment] = []


class _TransactionDraft:
    __slots__ = ("interchange", "group", "control_number", "version", "kind", "segment", "skip", "batch_id",
                 "created", "submitter_id", "receiver_id", "claim_count", "total_charge", "separator_warned",
                 "isa_receiver")

    def __init__(self, interchange: str | None, group: str | None, control_number: str, version: str | None,
                 kind: ClaimKind | None, segment: int, skip: bool) -> None:
        self.interchange, self.group, self.control_number = interchange, group, control_number
        self.version = version
        self.kind = kind  # None until the first CLM05 tells, when the version does not
        self.segment = segment
        self.skip = skip  # a transaction set the reader does not read (837D)
        self.batch_id = self.created = self.submitter_id = self.receiver_id = None
        self.claim_count = 0
        self.total_charge = ZERO
        self.separator_warned = False
        self.isa_receiver: str | None = None


# -- the reader -------------------------------------------------------------------------------------------------


class Reader837:
    """Sans-IO 837 reader: ``segment(seg)`` returns the claim that segment completes (or None), ``close()``
    the last one. ``problems`` and ``transactions`` grow as it reads."""

    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        self.transactions: list[Transaction837] = []
        self.interchange: str | None = None
        self.isa_receiver: str | None = None
        self.group: str | None = None
        self.group_version: str | None = None
        self.tx: _TransactionDraft | None = None
        self.last_tx: _TransactionDraft | None = None  # the transaction set of the last claim returned
        self.kind: ClaimKind | None = None
        self.table = TRANSITIONS["professional"]
        self.stack: list[Loop] = [ROOT]
        self.parties: dict[str, _Party] = {}  # the open levels: billing, subscriber, payer, patient
        self.claim: _ClaimDraft | None = None

    # -- public ------------------------------------------------------------------------------------------------

    def segment(self, seg: Segment) -> Claim | None:
        tag = seg.elements[0]  # seg.tag, without the property call (every segment)
        envelope = _ENVELOPE.get(tag)
        if envelope is not None:
            return envelope(self, seg)
        tx = self.tx
        if tx is None or tx.skip:
            return None
        if tag in OPENERS:
            element = QUALIFIER_ELEMENT.get(tag)
            enter(self.stack, self.table, tag, seg[element] if element else None)
        role = self.stack[-1].role
        handler = _HANDLERS.get((role, tag))
        return handler(self, seg, role) if handler is not None else None

    def close(self) -> Claim | None:
        """End of input: the last claim, if a transaction set was left open."""
        return self._end_transaction()

    @property
    def current(self) -> Transaction837 | None:
        """The transaction set of the claim ``segment()`` or ``close()`` returned last, with its counts so far
        (complete once that transaction set has ended)."""
        return self._transaction(self.last_tx) if self.last_tx else None

    # -- helpers for handlers ----------------------------------------------------------------------------------

    def problem(self, code: str, message: str, seg: Segment, element: str | None = None,
                severity: Severity = ERROR, loop: str | None = None) -> None:
        """A problem at ``seg``, in ``loop`` (by default the loop being read)."""
        loop = loop or self.stack[-1].id
        self.problems.append(Problem(f"837.read.{code}", message, severity, Where(
            file=self.file, interchange=self.interchange, group=self.group,
            transaction=self.tx.control_number if self.tx else None, segment=seg.index, tag=seg.tag,
            loop=loop if loop not in ("?", "HL?") else None, element=element)))

    def source(self, seg: Segment) -> Source:
        return Source(file=self.file, interchange=self.interchange,
                      transaction=self.tx.control_number if self.tx else None, segment=seg.index)

    def components(self, seg: Segment, i: int) -> list[str]:
        """Components of element ``i``; a composite written with another separator than ISA16 (``11>B>1``
        under ``:``) is split on that separator, with one warning per transaction set."""
        parts = seg.components(i)
        if len(parts) != 1 or parts[0].isalnum():
            return parts
        for ch in _OTHER_SEPARATORS:
            if ch in parts[0] and ch != seg.delimiters.component:
                if self.tx and not self.tx.separator_warned:
                    self.tx.separator_warned = True
                    self.problem("separator", f"{seg.tag}{i:02d} separates components with {ch!r}, not the "
                                 "component separator declared in ISA16", seg, f"{seg.tag}{i:02d}", WARNING)
                return parts[0].split(ch)
        return parts

    def amount(self, seg: Segment, i: int, *, digits: int = MONEY_DIGITS,
               places: int | None = CENT_PLACES) -> Decimal | None:
        """Element ``i`` as an X12 decimal (R) of at most ``digits`` digits and ``places`` decimals (by default a
        money amount: R 1/18 in dollars and cents); None (with a problem) when it is missing or not such a
        number (``1E+25``, ``27_3.86``, ``NaN``, ``273.865``, 20 digits: each would reach the ledger wrong)."""
        text = seg[i]
        value = read_r(text, digits, places) if text else None
        if not isinstance(value, Decimal):
            said = NUMBER_WORDS[value] if value is not None else "is missing"
            self.problem("amount", f"{seg.tag}{i:02d} {said}", seg, f"{seg.tag}{i:02d}")
            return None
        return value

    def date_value(self, seg: Segment, fmt: str, text: str) -> tuple[date, date | None] | None:
        """A D8, RD8 or DT value as (start, end); None (with a problem) when it cannot be read."""
        if fmt == "RD8":
            period = parse_rd8(text)
            if period:
                return period
        elif fmt in ("D8", "DT"):
            day = parse_d8(text[:8])
            if day and (fmt == "D8" or len(text) >= 12):
                return day, None
        self.problem("date", f"{seg.tag}03 is not a date in the {fmt or 'given'} format", seg, f"{seg.tag}03")
        return None

    # -- levels and claims -------------------------------------------------------------------------------------

    def open_party(self, scope: dict[str, _Party], role: str) -> _Party:
        party = scope.get(role)
        if party is None:
            party = scope[role] = _Party()
        return party

    def scope(self, role: str) -> dict[str, _Party] | None:
        """Where the party of ``role`` lives: the open levels, the open claim or the open line."""
        where = _SCOPES[role]
        if where == "level":
            return self.parties
        if self.claim is None:
            return None
        if where == "claim":
            return self.claim.parties
        return self.claim.line.parties if self.claim.line else None

    def finish_claim(self) -> Claim | None:
        draft, self.claim = self.claim, None
        if draft is None:
            return None
        self.finish_line(draft)
        claim = _build_claim(self, draft)
        if self.tx:
            self.tx.claim_count += 1
            self.tx.total_charge += claim.total_charge
            self.last_tx = self.tx
        return claim

    def finish_line(self, draft: _ClaimDraft) -> None:
        line, draft.line = draft.line, None
        if line is None:
            return
        if not line.has_service:
            if not line.reported:
                self.problem("line", "a service line (LX) without SV1 or SV2 was dropped", line.segment,
                             loop="2400")
            return
        rendering = line.parties.get("line_rendering")
        if line.adjudications:
            line.fields["adjudications"] = tuple(_line_adjudication(self, a) for a in line.adjudications)
        draft.lines.append(ServiceLine(**line.fields, rendering_provider=_provider(rendering) if rendering else None,
                                       source=self.source(line.segment)))

    # -- envelopes ---------------------------------------------------------------------------------------------

    def _transaction(self, tx: _TransactionDraft) -> Transaction837:
        return Transaction837(
            file=self.file, interchange=tx.interchange, group=tx.group, control_number=tx.control_number,
            version=tx.version, kind=tx.kind, batch_id=tx.batch_id, created=tx.created,
            submitter_id=tx.submitter_id, receiver_id=tx.receiver_id, segment=tx.segment,
            claim_count=tx.claim_count, total_charge=tx.total_charge, interchange_receiver=tx.isa_receiver)

    def _end_transaction(self) -> Claim | None:
        claim = self.finish_claim()
        if self.tx is not None:
            if not self.tx.skip:
                self.transactions.append(self._transaction(self.tx))
            self.tx = None
        self.parties = {}
        self.stack = [ROOT]
        return claim

    def _isa(self, seg: Segment) -> Claim | None:
        claim = self._end_transaction()
        self.interchange, self.group, self.group_version = seg[13] or None, None, None
        self.isa_receiver = seg[8].strip() or None
        return claim

    def _gs(self, seg: Segment) -> Claim | None:
        claim = self._end_transaction()
        self.group, self.group_version = seg[6] or None, seg[8] or None
        return claim

    def _st(self, seg: Segment) -> Claim | None:
        claim = self._end_transaction()
        if seg[1] != "837":
            return claim
        version = seg[3] or self.group_version
        kind = kind_of_version(version) if version else None
        self.kind = kind if kind in ("professional", "institutional") else None
        self.tx = _TransactionDraft(self.interchange, self.group, seg[2], version, self.kind, seg.index,
                                    skip=kind == "dental")
        self.tx.isa_receiver = self.isa_receiver
        self.table = TRANSITIONS[self.kind or "professional"]
        if kind == "dental":
            self.problem("unsupported", "a dental 837 (837D) transaction set is not read; its claims are skipped",
                         seg, "ST03", WARNING)
        elif version and not version.startswith("00501"):
            self.problem("version", f"version {version} is not 5010; the transaction set is read as far as its "
                         "structure matches", seg, "ST03", WARNING)
        return claim

    def _trailer(self, seg: Segment) -> Claim | None:
        return self._end_transaction()


_OTHER_SEPARATORS = ":>^|\\!"


# -- parties ----------------------------------------------------------------------------------------------------


def _provider(p: _Party) -> Provider:
    if p.built is None:
        p.built = Provider(
            name=p.name or "", npi=p.id if p.id_qualifier == "XX" else None, entity="1" if p.entity == "1" else "2",
            first_name=p.first, middle_name=p.middle, tax_id=p.tax_id, tax_id_qualifier=p.tax_qualifier or "EI",
            taxonomy=p.taxonomy, address=p.address(), contact_name=p.contact, phone=p.phone)
    return p.built


def _subscriber(p: _Party) -> Subscriber:
    if p.built is None:
        sbr = p.sbr
        p.built = Subscriber(
            member_id=p.id or "", last_name=p.name or "", first_name=p.first, middle_name=p.middle,
            birth_date=p.birth_date, sex=p.sex, address=p.address(),
            group_number=(sbr[3] or None) if sbr else None, group_name=(sbr[4] or None) if sbr else None,
            entity="2" if p.entity == "2" else "1")
    return p.built


def _payer(p: _Party, subscriber: _Party | None) -> Payer:
    if p.built is None:
        sbr = subscriber.sbr if subscriber else None
        p.built = Payer(name=p.name or "", payer_id=p.id or "", filing_indicator=sbr[9] if sbr else "",
                        responsibility=sbr[1] if sbr else "", address=p.address())
    return p.built


def _patient(p: _Party) -> Patient:
    if p.built is None:
        p.built = Patient(last_name=p.name or "", first_name=p.first, relationship=p.relationship or "",
                          birth_date=p.birth_date, sex=p.sex, address=p.address(), middle_name=p.middle)
    return p.built


def _level(r: Reader837, draft: _ClaimDraft, role: str, loop: str, what: str) -> _Party | None:
    party = r.parties.get(role)
    if party is None or party.name is None:
        r.problem("missing", f"the claim has no {what} (loop {loop})", draft.segment, loop="2300")
        return None
    return party


_EMPTY_PROVIDER = Provider(name="")
_EMPTY_SUBSCRIBER = Subscriber(member_id="", last_name="")
_EMPTY_PAYER = Payer(name="", payer_id="", filing_indicator="", responsibility="")

#: Claim attribute of each claim-level provider role.
_CLAIM_PROVIDER_FIELDS = {"referring": "referring_provider", "rendering": "rendering_provider",
                          "facility": "service_facility", "attending": "attending_provider",
                          "operating": "operating_provider"}


def _build_claim(r: Reader837, draft: _ClaimDraft) -> Claim:
    billing = _level(r, draft, "billing", "2010AA", "billing provider")
    subscriber = _level(r, draft, "subscriber", "2010BA", "subscriber")
    payer = _level(r, draft, "payer", "2010BB", "payer")
    patient = r.parties.get("patient")
    if not draft.lines:
        r.problem("missing", "the claim has no service line", draft.segment, loop="2300")
    providers = {attr: _provider(draft.parties[role]) for role, attr in _CLAIM_PROVIDER_FIELDS.items()
                 if role in draft.parties}
    if draft.others:
        draft.fields["other_payers"] = tuple(_other_payer(r, other) for other in draft.others)
    return Claim(
        kind=r.kind or "professional",
        billing_provider=_provider(billing) if billing else _EMPTY_PROVIDER,
        subscriber=_subscriber(subscriber) if subscriber else _EMPTY_SUBSCRIBER,
        payer=_payer(payer, r.parties.get("subscriber")) if payer else _EMPTY_PAYER,
        patient=_patient(patient) if patient else None,
        diagnoses=tuple(draft.diagnoses),
        institutional_codes=tuple(draft.codes),
        lines=tuple(draft.lines),
        source=r.source(draft.segment),
        **providers,
        **draft.fields,
    )


# -- handlers: (reader, segment, role) -> completed claim or None -----------------------------------------------

Handler = Callable[[Reader837, Segment, str], "Claim | None"]


def _bht(r: Reader837, seg: Segment, role: str) -> None:
    assert r.tx is not None
    r.tx.batch_id = seg[3] or None
    r.tx.created = parse_d8(seg[4])


def _submitter(r: Reader837, seg: Segment, role: str) -> None:
    assert r.tx is not None
    r.tx.submitter_id = seg[9] or None


def _receiver(r: Reader837, seg: Segment, role: str) -> None:
    assert r.tx is not None
    r.tx.receiver_id = seg[9] or None


def _billing_level(r: Reader837, seg: Segment, role: str) -> Claim | None:
    claim = r.finish_claim()
    r.parties = {"billing": _Party()}
    return claim


def _subscriber_level(r: Reader837, seg: Segment, role: str) -> Claim | None:
    claim = r.finish_claim()
    r.parties = {k: v for k, v in r.parties.items() if k == "billing"}
    r.parties["subscriber"] = _Party()
    return claim


def _patient_level(r: Reader837, seg: Segment, role: str) -> Claim | None:
    claim = r.finish_claim()
    r.parties = {k: v for k, v in r.parties.items() if k != "patient"}
    r.parties["patient"] = _Party()
    return claim


def _unknown_level(r: Reader837, seg: Segment, role: str) -> Claim | None:
    claim = r.finish_claim()
    r.parties = {}
    r.problem("level", "an HL level the 837 does not define (HL03); what follows it is not read", seg, "HL03")
    return claim


def _name(r: Reader837, seg: Segment, role: str) -> None:
    scope = r.scope(role)
    if scope is None:
        return
    party = scope.get(role)
    if party is None or party.name is not None:
        party = scope[role] = _Party()
    _fill_name(party, seg)


def _fill_name(party: _Party, seg: Segment) -> None:
    party.entity, party.name = seg[2] or None, seg[3]
    party.first, party.middle = seg[4] or None, seg[5] or None
    party.id_qualifier, party.id = seg[8] or None, seg[9] or None


def _party_segment(apply: Callable[[_Party, Segment], None]) -> Handler:
    def handler(r: Reader837, seg: Segment, role: str) -> None:
        scope = r.scope(role)
        if scope is not None:
            apply(r.open_party(scope, role), seg)
    return handler


def _n3(p: _Party, seg: Segment) -> None:
    p.n3 = (seg[1], seg[2] or None)


def _n4(p: _Party, seg: Segment) -> None:
    p.n4 = (seg[1], seg[2], seg[3], seg[4] or None)


def _tax_id(p: _Party, seg: Segment) -> None:
    if seg[1] in ("EI", "SY"):
        p.tax_qualifier, p.tax_id = seg[1], seg[2]


def _taxonomy(p: _Party, seg: Segment) -> None:
    p.taxonomy = seg[3] or None


def _contact(p: _Party, seg: Segment) -> None:
    p.contact = seg[2] or None
    for i in (3, 5, 7):
        if seg[i] == "TE":
            p.phone = seg[i + 1] or None
            return


def _dmg(r: Reader837, seg: Segment, role: str) -> None:
    scope = r.scope(role)
    if scope is None:
        return
    party = r.open_party(scope, role)
    party.birth_date = parse_d8(seg[2])
    if party.birth_date is None and seg[2]:
        r.problem("date", "DMG02 is not a CCYYMMDD date", seg, "DMG02")
    party.sex = seg[3] if seg[3] in ("F", "M", "U") else None


def _sbr(r: Reader837, seg: Segment, role: str) -> None:
    r.open_party(r.parties, "subscriber").sbr = seg


def _pat(r: Reader837, seg: Segment, role: str) -> None:
    r.open_party(r.parties, "patient").relationship = seg[1] or None


# -- the claim (2300) -------------------------------------------------------------------------------------------


def _clm(r: Reader837, seg: Segment, role: str) -> Claim | None:
    previous = r.finish_claim()
    parts = r.components(seg, 5)
    facility, qualifier, frequency = (parts + ["", "", ""])[:3]
    if r.kind is None:
        r.kind = "institutional" if qualifier == "A" else "professional"
        r.table = TRANSITIONS[r.kind]
        if r.tx:
            r.tx.kind = r.kind
    if not seg[1]:
        r.problem("missing", "CLM01 (patient control number) is missing", seg, "CLM01")
    if not frequency:
        r.problem("missing", "CLM05-3 (claim frequency) is missing", seg, "CLM05")
    total = r.amount(seg, 2)
    draft = r.claim = _ClaimDraft(seg)
    fields = draft.fields
    fields["patient_control_number"] = seg[1]
    fields["total_charge"] = ZERO if total is None else total
    fields["frequency"] = frequency or "1"
    if r.kind == "institutional":
        fields["bill_type"] = (facility + frequency) or None
    else:
        fields["place_of_service"] = facility or None
    if seg[6]:
        fields["provider_signature"] = seg[6] != "N"
    if seg[7]:
        fields["assignment"] = seg[7]
    if seg[8]:
        fields["benefits_assigned"] = seg[8] == "Y"
    if seg[9]:
        fields["release_of_information"] = seg[9]
    causes = tuple(c for c in r.components(seg, 11)[:3] if c)
    if causes:
        fields["accident_cause"] = causes
    return previous


def _claim_date(r: Reader837, seg: Segment, role: str) -> None:
    apply = _CLAIM_DATES.get(seg[1])
    if apply is not None and r.claim is not None:
        apply(r, seg, r.claim.fields)


def _onset(r: Reader837, seg: Segment, fields: dict[str, Any]) -> None:
    found = r.date_value(seg, seg[2], seg[3])
    if found:
        fields["onset_date"] = found[0]


def _statement(r: Reader837, seg: Segment, fields: dict[str, Any]) -> None:
    found = r.date_value(seg, seg[2], seg[3])
    if found:
        fields["statement_from"], fields["statement_to"] = found[0], found[1] or found[0]


def _admission(r: Reader837, seg: Segment, fields: dict[str, Any]) -> None:
    found = r.date_value(seg, seg[2], seg[3])
    if found:
        fields["admission_date"] = found[0]
        if seg[2] == "DT":
            fields["admission_hour"] = seg[3][8:12]


def _discharge(r: Reader837, seg: Segment, fields: dict[str, Any]) -> None:
    if seg[2] == "TM":  # 837I discharge hour; an 837P carries a discharge date, which the model does not keep
        fields["discharge_hour"] = seg[3] or None


_CLAIM_DATES: dict[str, Callable[[Reader837, Segment, dict[str, Any]], None]] = {
    "431": _onset, "434": _statement, "435": _admission, "096": _discharge,
}

#: Claim-level REF qualifiers the model keeps.
_CLAIM_REFERENCES = {"F8": "payer_claim_number", "G1": "prior_authorization", "9F": "referral_number",
                     "EA": "medical_record_number"}


def _claim_reference(r: Reader837, seg: Segment, role: str) -> None:
    name = _CLAIM_REFERENCES.get(seg[1])
    if name is not None and r.claim is not None:
        r.claim.fields[name] = seg[2] or None


def _cl1(r: Reader837, seg: Segment, role: str) -> None:
    if r.claim is not None:
        fields = r.claim.fields
        fields["admission_type"], fields["admission_source"] = seg[1] or None, seg[2] or None
        fields["discharge_status"] = seg[3] or None


def _note(r: Reader837, seg: Segment, role: str) -> None:
    if r.claim is not None and seg[1] == "ADD":
        r.claim.fields["note"] = seg[2] or None


def _hi(r: Reader837, seg: Segment, role: str) -> None:
    if r.claim is None:
        return
    unreadable = False
    for i in range(1, len(seg) + 1):
        parts = r.components(seg, i)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            unreadable = unreadable or bool(parts)
            continue
        if parts[0] in DIAGNOSIS_QUALIFIERS:
            poa = parts[8] if len(parts) > 8 and parts[8] else None
            r.claim.diagnoses.append(Diagnosis(parts[1], parts[0], poa))
        else:
            r.claim.codes.append(_code(r, seg, parts))
    if unreadable:
        r.problem("hi", "an HI element is not a qualifier:code composite; it was skipped", seg)


def _code(r: Reader837, seg: Segment, parts: list[str]) -> CodeDate:
    parts = parts + [""] * (5 - len(parts))
    start = end = None
    if parts[2] and parts[3]:
        found = r.date_value(seg, parts[2], parts[3])
        if found:
            start, end = found
    amount = read_r(parts[4], MONEY_DIGITS, CENT_PLACES) if parts[4] else None
    if isinstance(amount, str):  # HI01-5: R 1/18
        r.problem("amount", f"{seg.tag} holds a code whose amount {NUMBER_WORDS[amount]}", seg)
        amount = None
    return CodeDate(parts[0], parts[1], date=start, date_end=end, amount=amount)


def _stray_service(r: Reader837, seg: Segment, role: str) -> None:
    r.problem("line", f"{seg.tag} outside a service line (no LX before it); it was not read", seg)


# -- service lines (2400) ---------------------------------------------------------------------------------------


def _lx(r: Reader837, seg: Segment, role: str) -> None:
    if r.claim is None:
        r.problem("line", "a service line (LX) outside a claim was not read", seg)
        return
    r.finish_line(r.claim)
    given = _whole(seg[1], 6)  # LX01: N0 1/6
    number = given if given is not None else len(r.claim.lines) + 1
    if given is None:
        r.problem("number", "LX01 is not a line number", seg, "LX01")
    r.claim.line = _LineDraft(seg, number)


def _whole(text: str, digits: int) -> int | None:
    """``text`` as a whole number of at most ``digits`` ASCII digits (``str.isdigit`` takes ``²`` and any length,
    which ``int()`` then refuses or the database cannot hold); None otherwise."""
    return int(text) if 0 < len(text) <= digits and text.isascii() and text.isdigit() else None


def _line_fields(r: Reader837) -> tuple[_LineDraft, dict[str, Any]] | None:
    line = r.claim.line if r.claim else None
    return (line, line.fields) if line else None


def _procedure(fields: dict[str, Any], parts: list[str]) -> None:
    if parts:
        fields["procedure_qualifier"] = parts[0] or "HC"
        fields["procedure"] = parts[1] if len(parts) > 1 and parts[1] else None
        fields["modifiers"] = tuple(m for m in parts[2:6] if m)
        fields["description"] = parts[6] if len(parts) > 6 and parts[6] else None


def _money(r: Reader837, seg: Segment, i: int) -> Decimal:
    value = r.amount(seg, i)
    return value if value is not None else ZERO


def _quantity(r: Reader837, seg: Segment, i: int) -> Decimal:
    value = r.amount(seg, i, digits=QUANTITY_DIGITS, places=None)  # units: R 1/15, any decimals
    return value if value is not None else ZERO


def _sv1(r: Reader837, seg: Segment, role: str) -> None:
    found = _line_fields(r)
    if found is None:
        return
    line, fields = found
    line.has_service = True
    _procedure(fields, r.components(seg, 1))
    fields["charge"] = _money(r, seg, 2)
    fields["unit_basis"] = seg[3] or "UN"
    fields["units"] = _quantity(r, seg, 4)
    fields["place_of_service"] = seg[5] or None
    pointers = [p for p in r.components(seg, 7) if p]
    numbers = [_whole(p, 2) for p in pointers]  # SV107-1..4: N0 1/2
    if None in numbers:
        r.problem("number", "SV107 holds a diagnosis pointer that is not a number", seg, "SV107")
    fields["diagnosis_pointers"] = tuple(n for n in numbers if n is not None)


def _sv2(r: Reader837, seg: Segment, role: str) -> None:
    found = _line_fields(r)
    if found is None:
        return
    line, fields = found
    line.has_service = True
    fields["revenue_code"] = seg[1] or None
    _procedure(fields, r.components(seg, 2))
    fields["charge"] = _money(r, seg, 3)
    fields["unit_basis"] = seg[4] or "UN"
    fields["units"] = _quantity(r, seg, 5)


def _dental_service(r: Reader837, seg: Segment, role: str) -> None:
    found = _line_fields(r)
    if found is not None:
        found[0].reported = True
        r.problem("unsupported", "a dental service line (SV3) is not read; the claim is yielded without it", seg)


def _line_date(r: Reader837, seg: Segment, role: str) -> None:
    found = _line_fields(r)
    if found is None or seg[1] != "472":
        return
    period = r.date_value(seg, seg[2], seg[3])
    if period:
        found[1]["service_date"], found[1]["service_date_end"] = period


def _line_reference(r: Reader837, seg: Segment, role: str) -> None:
    found = _line_fields(r)
    if found is not None and seg[1] == "6R":
        found[1]["line_control_number"] = seg[2] or None


# -- other payers (2320, 2330A, 2330B) and line adjudications (2430) -------------------------------------------


def _other_sbr(r: Reader837, seg: Segment, role: str) -> None:
    if r.claim is not None:
        r.claim.others.append(_OtherDraft(seg))


def _open_other(r: Reader837) -> _OtherDraft | None:
    return r.claim.others[-1] if r.claim is not None and r.claim.others else None


def _adjustments(r: Reader837, seg: Segment) -> list[Adjustment]:
    """The triplets of one CAS (group in CAS01, then up to six reason/amount/quantity)."""
    group, out = seg[1], []
    if not group:
        r.problem("missing", "CAS01 (adjustment group) is missing", seg, "CAS01")
    for i in range(2, len(seg) + 1, 3):
        if not seg[i]:
            if seg[i + 1] or seg[i + 2]:
                r.problem("adjustment", f"CAS{i + 1:02d} holds an amount without its reason code (CAS{i:02d}); it "
                          "was not read", seg, f"CAS{i:02d}")
            continue
        amount = r.amount(seg, i + 1)
        quantity = r.amount(seg, i + 2, digits=QUANTITY_DIGITS, places=None) if seg[i + 2] else None
        out.append(Adjustment(group, seg[i], ZERO if amount is None else amount, quantity))
    return out


def _other_cas(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    if other is not None:
        other.adjustments += _adjustments(r, seg)


#: 2320 AMT qualifiers -> OtherPayer field.
_OTHER_AMOUNTS = {"D": "paid", "A8": "non_covered", "EAF": "remaining_patient_liability"}


def _other_amount(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    name = _OTHER_AMOUNTS.get(seg[1])
    if other is not None and name is not None:
        other.fields[name] = r.amount(seg, 2)


def _other_insurance(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    if other is None:
        return
    if seg[3]:
        other.fields["benefits_assigned"] = seg[3]
    other.fields["patient_signature_source"] = seg[4] or None
    if seg[6]:
        other.fields["release_of_information"] = seg[6]


def _elements(seg: Segment) -> tuple[str, ...] | None:
    """A segment's elements after the tag, without trailing empty ones (None when there are none)."""
    values = list(seg.elements[1:])
    while values and not values[-1]:
        values.pop()
    return tuple(values) or None


def _other_adjudication(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    if other is not None:
        other.fields["outpatient" if seg.elements[0] == "MOA" else "inpatient"] = _elements(seg)


def _other_name(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    if other is not None:
        _fill_name(other.subscriber if role == "other_subscriber" else other.payer, seg)


def _other_party_segment(apply: Callable[[_Party, Segment], None]) -> Handler:
    def handler(r: Reader837, seg: Segment, role: str) -> None:
        other = _open_other(r)
        if other is not None:
            apply(other.subscriber if role == "other_subscriber" else other.payer, seg)
    return handler


def _other_subscriber_reference(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    if other is not None and seg[1] == "SY":
        other.fields["subscriber_ssn"] = seg[2] or None


#: 2330B REF qualifiers the model keeps -> OtherPayer field.
_OTHER_PAYER_REFERENCES = {"F8": "claim_number", "G1": "prior_authorization", "9F": "referral_number"}


def _other_payer_reference(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    name = _OTHER_PAYER_REFERENCES.get(seg[1])
    if other is not None and name is not None:
        other.fields[name] = seg[2] or None


def _adjudication_date(r: Reader837, seg: Segment, fields: dict[str, Any]) -> None:
    if seg[1] == "573":
        found = r.date_value(seg, seg[2], seg[3])
        if found:
            fields["adjudication_date"] = found[0]


def _other_payer_date(r: Reader837, seg: Segment, role: str) -> None:
    other = _open_other(r)
    if other is not None:
        _adjudication_date(r, seg, other.fields)


def _other_payer(r: Reader837, draft: _OtherDraft) -> OtherPayer:
    sbr, s, p = draft.sbr, draft.subscriber, draft.payer
    # warnings: the claim to the destination payer is whole without them (the ledger records it)
    if s.name is None:
        r.problem("missing", "an other payer has no other subscriber (NM1*IL, loop 2330A)", sbr, severity=WARNING,
                  loop="2320")
    if p.name is None:
        r.problem("missing", "an other payer has no other payer name (NM1*PR, loop 2330B)", sbr, severity=WARNING,
                  loop="2320")
    return OtherPayer(
        payer=Payer(name=p.name or "", payer_id=p.id or "", filing_indicator=sbr[9], responsibility=sbr[1],
                    address=p.address()),
        subscriber=Subscriber(member_id=s.id or "", last_name=s.name or "", first_name=s.first,
                              middle_name=s.middle, address=s.address(), group_number=sbr[3] or None,
                              group_name=sbr[4] or None, entity="2" if s.entity == "2" else "1"),
        relationship=sbr[2], insurance_type=sbr[5] or None, adjustments=tuple(draft.adjustments),
        source=r.source(sbr), **draft.fields)


def _open_adjudication(r: Reader837) -> _AdjudicationDraft | None:
    line = r.claim.line if r.claim is not None else None
    return line.adjudications[-1] if line is not None and line.adjudications else None


def _svd(r: Reader837, seg: Segment, role: str) -> None:
    found = _line_fields(r)
    if found is None:
        return
    fields: dict[str, Any] = {"payer_id": seg[1], "paid": _money(r, seg, 2), "units": _quantity(r, seg, 5)}
    parts = r.components(seg, 3)
    if parts and any(parts):
        _procedure(fields, parts)
    if seg[4]:
        fields["revenue_code"] = seg[4]
    if seg[6]:
        fields["bundled_line"] = _whole(seg[6], 6)  # SVD06: N0 1/6
        if fields["bundled_line"] is None:
            r.problem("number", "SVD06 is not a line number", seg, "SVD06")
    found[0].adjudications.append(_AdjudicationDraft(seg, fields))


def _svd_cas(r: Reader837, seg: Segment, role: str) -> None:
    adjudication = _open_adjudication(r)
    if adjudication is not None:
        adjudication.adjustments += _adjustments(r, seg)


def _svd_date(r: Reader837, seg: Segment, role: str) -> None:
    adjudication = _open_adjudication(r)
    if adjudication is not None:
        _adjudication_date(r, seg, adjudication.fields)


def _svd_amount(r: Reader837, seg: Segment, role: str) -> None:
    adjudication = _open_adjudication(r)
    if adjudication is not None and seg[1] == "EAF":
        adjudication.fields["remaining_patient_liability"] = r.amount(seg, 2)


def _line_adjudication(r: Reader837, draft: _AdjudicationDraft) -> LineAdjudication:
    return LineAdjudication(adjustments=tuple(draft.adjustments), source=r.source(draft.segment), **draft.fields)


# -- the tables -------------------------------------------------------------------------------------------------

#: Where the party of each role lives.
_SCOPES = {
    "billing": "level", "subscriber": "level", "payer": "level", "patient": "level",
    "referring": "claim", "rendering": "claim", "facility": "claim", "attending": "claim", "operating": "claim",
    "line_rendering": "line",
}
_PROVIDER_ROLES = ("billing", "referring", "rendering", "facility", "attending", "operating", "line_rendering")

_HANDLERS: dict[tuple[str, str], Handler] = {
    ("header", "BHT"): _bht,
    ("submitter", "NM1"): _submitter,
    ("receiver", "NM1"): _receiver,
    ("billing", "HL"): _billing_level,
    ("subscriber", "HL"): _subscriber_level,
    ("patient", "HL"): _patient_level,
    ("unknown_level", "HL"): _unknown_level,
    ("subscriber", "SBR"): _sbr,
    ("patient", "PAT"): _pat,
    ("subscriber", "DMG"): _dmg,
    ("patient", "DMG"): _dmg,
    ("claim", "CLM"): _clm,
    ("claim", "DTP"): _claim_date,
    ("claim", "REF"): _claim_reference,
    ("claim", "CL1"): _cl1,
    ("claim", "NTE"): _note,
    ("claim", "HI"): _hi,
    ("claim", "SV1"): _stray_service,
    ("claim", "SV2"): _stray_service,
    ("line", "LX"): _lx,
    ("line", "SV1"): _sv1,
    ("line", "SV2"): _sv2,
    ("line", "SV3"): _dental_service,
    ("line", "DTP"): _line_date,
    ("line", "REF"): _line_reference,
    ("other_payer", "SBR"): _other_sbr,
    ("other_payer", "CAS"): _other_cas,
    ("other_payer", "AMT"): _other_amount,
    ("other_payer", "OI"): _other_insurance,
    ("other_payer", "MIA"): _other_adjudication,
    ("other_payer", "MOA"): _other_adjudication,
    ("other_subscriber", "NM1"): _other_name,
    ("other_subscriber", "N3"): _other_party_segment(_n3),
    ("other_subscriber", "N4"): _other_party_segment(_n4),
    ("other_subscriber", "REF"): _other_subscriber_reference,
    ("other_payer_name", "NM1"): _other_name,
    ("other_payer_name", "N3"): _other_party_segment(_n3),
    ("other_payer_name", "N4"): _other_party_segment(_n4),
    ("other_payer_name", "DTP"): _other_payer_date,
    ("other_payer_name", "REF"): _other_payer_reference,
    ("line_adjudication", "SVD"): _svd,
    ("line_adjudication", "CAS"): _svd_cas,
    ("line_adjudication", "DTP"): _svd_date,
    ("line_adjudication", "AMT"): _svd_amount,
    **{(role, "NM1"): _name for role in _SCOPES},
    **{(role, "N3"): _party_segment(_n3) for role in _SCOPES},
    **{(role, "N4"): _party_segment(_n4) for role in _SCOPES},
    **{(role, "REF"): _party_segment(_tax_id) for role in _PROVIDER_ROLES},
    **{(role, "PRV"): _party_segment(_taxonomy) for role in _PROVIDER_ROLES},
    **{(role, "PER"): _party_segment(_contact) for role in _PROVIDER_ROLES},
}

_ENVELOPE: dict[str, Callable[[Reader837, Segment], Claim | None]] = {
    "ISA": Reader837._isa, "GS": Reader837._gs, "ST": Reader837._st,
    "SE": Reader837._trailer, "GE": Reader837._trailer, "IEA": Reader837._trailer,
}


# -- streams ----------------------------------------------------------------------------------------------------


class ClaimStream:
    """The claims of one input, read as you iterate (once). ``problems`` holds the tokenizer's and the
    reader's findings so far; ``transactions`` the transaction sets completed so far."""

    def __init__(self, chunks: Iterable[bytes], file: str | None) -> None:
        self._chunks = chunks
        self.tokenizer = Tokenizer(file=file)
        self.reader = Reader837(file)

    def __iter__(self) -> Iterator[Claim]:
        segment = self.reader.segment
        for seg in iter_segments(self._chunks, self.tokenizer):
            claim = segment(seg)
            if claim is not None:
                yield claim
        claim = self.reader.close()
        if claim is not None:
            yield claim

    @property
    def problems(self) -> tuple[Problem, ...]:
        return (*self.tokenizer.problems, *self.reader.problems)

    @property
    def transactions(self) -> tuple[Transaction837, ...]:
        return tuple(self.reader.transactions)

    @property
    def current(self) -> Transaction837 | None:
        """The transaction set of the claim just yielded (see :attr:`Reader837.current`)."""
        return self.reader.current


def _file_chunks(path: str) -> Iterator[bytes]:
    with open_input(path) as fp:
        yield from read_chunks(fp)


def read_837(path: str) -> ClaimStream:
    """The claims of the 837 file at ``path`` (``-`` for standard input), streamed."""
    return ClaimStream(_file_chunks(path), path)


def read_837_bytes(data: bytes, *, file: str = "<bytes>") -> ClaimStream:
    """The claims of an 837 held in memory."""
    return ClaimStream((data,), file)
