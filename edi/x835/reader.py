"""The 835 reader: segments in, a stream of ``Remittance`` / ``ClaimPayment`` / ``RemittanceEnd`` out.

    reader = read_remittances("era.835")         # streams; memory does not grow with the file
    for item in reader:
        if isinstance(item, ClaimPayment):
            item.patient_control_number, item.paid, item.remittance.trace_number
    reader.problems                               # syntax, envelope, content and balancing problems

For each 835 transaction set the stream gives its header (``Remittance``: BPR, TRN, payer, payee) before the
first claim, each claim payment (``ClaimPayment`` with its ``ServicePayment`` lines) as soon as it is complete,
and a ``RemittanceEnd`` with the provider-level adjustments (PLB) and totals. Any number of ISA/GS/ST per file.
Every object carries its ``source`` (file, ISA13, ST02, 1-based segment number).

Nothing is dropped: a segment the reader does not expect where it stands is kept, verbatim, on the object it
belongs to (``unknown`` / ``other``) and reported as a warning. Bad values (an amount that is not a number, a
date that is not a date) are problems with positions, never exceptions. Balancing (``edi.x835.balance``) runs
on every line, claim and transaction as it completes.

``RemitParser`` is the sans-IO core, fed one segment at a time (``feed(elements, index)``, or ``segment(seg)``);
loop changes are table-driven: each loop has a table of the tags it reads, and ``_TRANSITIONS`` lists the
tags that open another loop from anywhere in the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from edi.model import (
    Address,
    Adjustment,
    ClaimPayment,
    Contact,
    Name,
    ProviderAdjustment,
    Reference,
    RemitParty,
    Remittance,
    RemittanceEnd,
    ServicePayment,
    Source,
    mutable_twin,
)
from edi.problems import ERROR, WARNING, Problem, Problems, Where, by_position
from edi.x12.envelope import ENVELOPE_TAGS, EnvelopeChecker
from edi.x12.io import open_input, parse_all, read_chunks, with_end
from edi.x12.numeric import CENT_PLACES, MONEY_DIGITS, QUANTITY_DIGITS, WORDS, money_match, quantity_match, read_r
from edi.x12.segment import Segment
from edi.x12.tokenizer import Tokenizer
from edi.x835 import balance

Item = Remittance | ClaimPayment | RemittanceEnd
Elements = list[str]

# The objects built per segment are built through mutable twins (see edi.model.mutable_twin): the reader's
# hot path. Rarely built objects use their normal constructors.
_ClaimPayment = mutable_twin(ClaimPayment)
_ServicePayment = mutable_twin(ServicePayment)
# Their __init__, called as a plain function on a blank twin (cheaper than calling the class: see _source).
_init_claim_payment = _ClaimPayment.__init__
_init_service_payment = _ServicePayment.__init__
_Adjustment = mutable_twin(Adjustment)
_Source = mutable_twin(Source)
_Name = mutable_twin(Name)
_Reference = mutable_twin(Reference)
_new = object.__new__
_NOTHING: tuple = ()
_M, _Q, _C = MONEY_DIGITS, QUANTITY_DIGITS, CENT_PLACES
_money, _qty = money_match, quantity_match  # the hot paths' test; else read_r decides (see edi.x12.numeric)
_PAD = [""] * 20  # appended to a segment's elements so that absent trailing elements read as ""
ZERO = Decimal(0)
_NAMED = frozenset({"QC", "IL", "74", "82", "TT"})

HEADER, PAYER, PAYEE, LX_GROUP, CLAIM, LINE, SUMMARY = "header", "1000A", "1000B", "2000", "2100", "2110", "summary"


# The four objects built for nearly every segment are built here rather than by calling their twin: calling a
# class whose ``__init__`` is Python code enters a second interpreter frame from C, while a plain function
# call stays in the same one. Each sets every slot of the twin, then switches the class (see mutable_twin);
# _check_slots below fails at import time if the model's fields change.

def _source(file: str | None, interchange: str | None, transaction: str | None, segment: int | None) -> Source:
    """``Source(file, interchange, transaction, segment)``."""
    obj = _new(_Source)
    obj.file = file
    obj.interchange = interchange
    obj.transaction = transaction
    obj.segment = segment
    obj.record = None
    obj.__class__ = Source
    return obj


def _adjustment(group: str, reason: str, amount: Decimal, quantity: Decimal | None, source: Source) -> Adjustment:
    """``Adjustment(group, reason, amount, quantity, source)``."""
    obj = _new(_Adjustment)
    obj.group = group
    obj.reason = reason
    obj.amount = amount
    obj.quantity = quantity
    obj.source = source
    obj.__class__ = Adjustment
    return obj


def _name(entity: str, last_or_org: str, first: str | None, middle: str | None, id_qualifier: str | None,
          id_: str | None) -> Name:
    """``Name(entity, last_or_org, first, middle, id_qualifier, id)``."""
    obj = _new(_Name)
    obj.entity = entity
    obj.last_or_org = last_or_org
    obj.first = first
    obj.middle = middle
    obj.id_qualifier = id_qualifier
    obj.id = id_
    obj.__class__ = Name
    return obj


def _reference(qualifier: str, value: object) -> Reference:
    """``Reference(qualifier, value)``."""
    obj = _new(_Reference)
    obj.qualifier = qualifier
    obj.value = value
    obj.__class__ = Reference
    return obj


def _check_slots() -> None:
    for cls, names in ((Source, ("file", "interchange", "transaction", "segment", "record")),
                       (Adjustment, ("group", "reason", "amount", "quantity", "source")),
                       (Name, ("entity", "last_or_org", "first", "middle", "id_qualifier", "id")),
                       (Reference, ("qualifier", "value"))):
        if cls.__slots__ != names:  # pragma: no cover - a model change must be mirrored above
            raise TypeError(f"{cls.__name__} has the fields {cls.__slots__}; the reader's constructor sets {names}")


_check_slots()


class _Party:
    __slots__ = ("name", "id_qualifier", "id", "address", "refs", "contacts", "line1", "line2")

    def __init__(self, els: Elements) -> None:
        self.name = els[2]
        self.id_qualifier = els[3] or None
        self.id = els[4] or None
        self.address: Address | None = None
        self.line1: str | None = None
        self.line2: str | None = None
        self.refs: list[Reference] = []
        self.contacts: list[Contact] = []

    def build(self) -> RemitParty:
        return RemitParty(self.name, self.id_qualifier, self.id, self.address, tuple(self.refs), tuple(self.contacts))


class _Claim:
    """A claim being read (mutable until its loop ends)."""

    __slots__ = ("els", "idx", "source", "names", "dates", "adjustments", "refs", "amounts", "quantities", "mia",
                 "moa", "lines", "unknown", "line")

    def __init__(self, els: Elements, idx: int, source: Source) -> None:
        self.els = els
        self.idx = idx
        self.source = source
        self.names: dict[str, Name] = {}
        self.dates: dict[str, date] = {}
        self.adjustments: list[Adjustment] = []
        self.refs: list[Reference] = []
        self.amounts: list[Reference] = []
        self.quantities: list[Reference] = []
        self.mia: tuple[str, ...] | None = None
        self.moa: tuple[str, ...] | None = None
        self.lines: list[ServicePayment] = []
        self.unknown: list[tuple[str, ...]] = []
        self.line: _Line | None = None


class _Line:
    __slots__ = ("els", "idx", "source", "dates", "adjustments", "line_control", "refs", "allowed", "amounts",
                 "quantities", "remarks", "unknown")

    def __init__(self, els: Elements, idx: int, source: Source) -> None:
        self.els = els
        self.idx = idx
        self.source = source
        self.dates: dict[str, date] = {}
        self.adjustments: list[Adjustment] = []
        self.line_control: str | None = None
        self.refs: list[Reference] = []
        self.allowed: Decimal | None = None
        self.amounts: list[Reference] = []
        self.quantities: list[Reference] = []
        self.remarks: list[Reference] = []
        self.unknown: list[tuple[str, ...]] = []


class RemitParser:
    """Sans-IO 835 parser: ``feed(elements, index)`` returns the items that segment completes, ``close()``
    the rest. Envelope segments must be fed too: they delimit transactions. ``component`` is the component
    separator in force (``segment(seg)`` takes it from the segment). Transaction sets other than 835 are
    skipped with a warning. Problems collect on ``problems``."""

    def __init__(self, file: str | None = None, component: str = ":") -> None:
        self.file = file
        self.component = component
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        self.interchange: str | None = None
        self.group: str | None = None
        self.group_version: str | None = None
        self.transaction: str | None = None
        self.version: str | None = None
        self.loop = None  # None: outside an 835 transaction set
        self._date_cache: dict[str, date | None] = {}
        self._versions_warned: set[str] = set()
        self._reset()

    def _reset(self) -> None:
        self.header: dict[str, tuple[Elements, int]] = {}
        self.remittance: Remittance | None = None
        self.party: _Party | None = None
        self.payer: RemitParty | None = None
        self.payee: RemitParty | None = None
        self.claim: _Claim | None = None
        self.plbs: list[ProviderAdjustment] = []
        self.claim_count = 0
        self.paid_total = ZERO
        self.extra: list[tuple[str, ...]] = []
        self.st_index: int | None = None

    # -- problems and values ---------------------------------------------------------------------------------

    def _problem(self, code: str, message: str, els: Elements | None, idx: int | None, severity=ERROR,
                 element: str | None = None) -> None:
        self.problems.append(Problem(code, message, severity, Where(
            file=self.file, interchange=self.interchange, group=self.group, transaction=self.transaction,
            segment=idx, tag=els[0] if els else None,
            loop=self.loop if self.loop not in (None, HEADER, SUMMARY) else None, element=element)))

    def _amount(self, els: Elements, idx: int, i: int, required: bool = True, digits: int = _M,
                places: int | None = _C) -> Decimal | None:
        """Element ``i`` as a Decimal, read by the X12 rule (edi.x12.numeric.read_r: a money amount by default,
        a quantity with ``digits=_Q, places=None``); a problem (and zero, or None when not required) when it is
        not one: ``835.amount.missing``, ``.invalid``, ``.too_long`` or ``.fraction``. The value is never in
        the message."""
        text = els[i] if i < len(els) else ""
        if not text:
            if required:
                self._problem("835.amount.missing", f"{els[0]}{i:02d} (an amount) is empty", els, idx,
                              element=f"{els[0]}{i:02d}")
                return ZERO
            return None
        value = read_r(text, digits, places)
        if value.__class__ is Decimal:
            return value
        self._problem(f"835.amount.{value}", f"{els[0]}{i:02d} {WORDS[value]}"
                      + (f" ({digits})" if value == "too_long" else ""), els, idx, element=f"{els[0]}{i:02d}")
        return ZERO if required else None

    def _quantity(self, els: Elements, idx: int, i: int, required: bool = False) -> Decimal | None:
        """Element ``i`` as a quantity (R 1/15, any number of decimals); see _amount."""
        return self._amount(els, idx, i, required, _Q, None)

    def _date(self, els: Elements, idx: int, i: int) -> date | None:
        text = els[i] if i < len(els) else ""
        if not text:
            return None
        cache = self._date_cache
        if text in cache:
            value = cache[text]
        else:
            value = None
            if len(text) == 8 and text.isdigit():
                try:
                    value = date(int(text[:4]), int(text[4:6]), int(text[6:]))
                except ValueError:
                    value = None
            if len(cache) < 20000:
                cache[text] = value
        if value is None:
            self._problem("835.date.invalid", f"{els[0]}{i:02d} is not a CCYYMMDD date", els, idx,
                          element=f"{els[0]}{i:02d}")
        return value

    def _unexpected(self, els: Elements, idx: int, keep: list[tuple[str, ...]]) -> None:
        keep.append(tuple(els))
        self._problem("835.segment.unexpected", f"{els[0]} is not expected in loop {self.loop}; it was kept on "
                      "the object it follows", els, idx, WARNING)

    # -- driving -------------------------------------------------------------------------------------------

    def segment(self, seg: Segment) -> list[Item] | tuple:
        self.component = seg.delimiters.component
        return self.feed(seg.elements, seg.index)

    @property
    def loop(self) -> str | None:
        """The loop being read: header, 1000A, 1000B, 2000, 2100, 2110, summary; None outside an 835."""
        return self._loop

    @loop.setter
    def loop(self, value: str | None) -> None:
        # The handlers run for each claim and line (_clp, _svc) set both attributes themselves, without the
        # property call.
        self._loop = value
        self._table = _DISPATCH[value]

    def feed(self, els: Elements, idx: int) -> list[Item] | tuple:
        # RemitReader.__iter__ has a copy of this method inlined in its loop: keep the two alike.
        handler = self._table.get(els[0])
        if handler is not None:
            return handler(self, els, idx)
        if self._loop is None:
            return _NOTHING  # a segment between transaction sets: the envelope checker reports it
        self._stray(els, idx)
        return _NOTHING

    def close(self) -> list[Item]:
        """End of input: a transaction set left open (no SE) still yields what it read."""
        return self.end_open(None, None)

    def skip(self, els: Elements, idx: int) -> None:
        """An ST whose transaction set another part reads (see RemitReader's ``part``): what it does to the
        parser's state across transaction sets (its id, the version warned about once), without opening it."""
        self._outside(els, idx)
        self.loop = None
        self.transaction = None

    def end_open(self, els: Elements | None, idx: int | None) -> list[Item]:
        """The transaction set left open, if any, ended where ``els`` stands (None: at the end of input) with the
        missing SE reported: what an envelope segment inside it does (``_envelope_inside``), the end of input,
        and the ST where the next part of a file read in parts begins (RemitReader's ``part``)."""
        if self.loop is None:
            return []
        self._problem("835.transaction.unterminated", f"835 transaction set {self.transaction} ends without SE",
                      els, idx)
        return self._end_transaction(None, None)

    def _outside(self, els: Elements, idx: int) -> list[Item] | tuple:
        tag = els[0]
        e = els + _PAD
        if tag == "ISA":
            self.interchange = e[13].strip() or None
        elif tag == "GS":
            self.group = e[6].strip() or None
            self.group_version = e[8] or None
        elif tag == "ST":
            self.transaction = e[2].strip() or None
            if e[1] != "835":
                self._problem("835.transaction.other", f"transaction set {e[1]} is not an 835; skipped", els, idx,
                              WARNING)
                return _NOTHING
            self._reset()
            self.st_index = idx
            self.version = e[3] or self.group_version
            if self.version and not self.version.startswith("005010") and self.version not in self._versions_warned:
                self._versions_warned.add(self.version)
                self._problem("835.version", f"version {self.version} is not 005010X221A1: read as far as its "
                              "syntax allows", els, idx, WARNING)
            self.loop = HEADER
        elif tag == "GE":
            self.group = None
        elif tag == "IEA":
            self.interchange = None
        return _NOTHING

    def _stray(self, els: Elements, idx: int) -> None:
        """A segment no table knows here: keep it with the object being read."""
        c = self.claim
        if c is not None:
            keep = c.line.unknown if c.line is not None else c.unknown
        else:
            keep = self.extra
        self._unexpected(els, idx, keep)

    # -- header ----------------------------------------------------------------------------------------------

    def _header_once(self, key: str, els: Elements, idx: int):
        if key in self.header:
            self._unexpected(els, idx, self.extra)
        else:
            self.header[key] = (els, idx)
        return _NOTHING

    def _bpr(self, els: Elements, idx: int):
        return self._header_once("BPR", els, idx)

    def _trn(self, els: Elements, idx: int):
        return self._header_once("TRN", els, idx)

    def _header_ref(self, els: Elements, idx: int):
        return self._header_once("REF*" + (els[1] if len(els) > 1 else ""), els, idx)

    def _header_dtm(self, els: Elements, idx: int):
        return self._header_once("DTM*" + (els[1] if len(els) > 1 else ""), els, idx)

    def _header_other(self, els: Elements, idx: int):  # CUR, RDM, TS3, TS2: kept on RemittanceEnd.other
        self.extra.append(tuple(els))
        return _NOTHING

    def _n1(self, els: Elements, idx: int):
        self._close_party()
        e = els + _PAD
        self.party = _Party(e)
        if e[1] == "PR":
            self.loop = PAYER
        else:
            if e[1] != "PE":
                self._problem("835.n1.entity", f"N1*{e[1]} is neither the payer (PR) nor the payee (PE)", els, idx,
                              WARNING)
            self.loop = PAYEE
        return _NOTHING

    def _close_party(self) -> None:
        p = self.party
        if p is None:
            return
        if self.loop == PAYER:
            self.payer = p.build()
        else:
            self.payee = p.build()
        self.party = None

    def _n3(self, els: Elements, idx: int):
        e = els + _PAD
        self.party.line1, self.party.line2 = e[1], e[2] or None
        return _NOTHING

    def _n4(self, els: Elements, idx: int):
        p = self.party
        e = els + _PAD
        p.address = Address(p.line1 or "", e[1], e[2], e[3], p.line2, e[4] or None)
        return _NOTHING

    def _party_ref(self, els: Elements, idx: int):
        e = els + _PAD
        self.party.refs.append(_reference(e[1], e[2]))
        return _NOTHING

    def _per(self, els: Elements, idx: int):
        e = els + _PAD
        self.party.contacts.append(Contact(e[1], e[2] or None, tuple((e[i], e[i + 1]) for i in (3, 5, 7) if e[i])))
        return _NOTHING

    def _build_remittance(self, els: Elements | None, idx: int | None) -> Remittance:
        self._close_party()
        h = self.header
        bpr, bpr_idx = h.get("BPR", (None, None))
        trn, _ = h.get("TRN", (None, None))
        if bpr is None:
            self._problem("835.bpr.missing", "the 835 has no BPR (financial information) segment", els, idx)
        if trn is None:
            self._problem("835.trn.missing", "the 835 has no TRN (reassociation trace) segment", els, idx)
        if self.payer is None:
            self._problem("835.payer.missing", "the 835 has no payer (N1*PR, loop 1000A)", els, idx, WARNING)
        if self.payee is None:
            self._problem("835.payee.missing", "the 835 has no payee (N1*PE, loop 1000B)", els, idx, WARNING)
        b = (bpr or ["BPR"]) + _PAD
        t = (trn or ["TRN"]) + _PAD
        dtm405, dtm_idx = h.get("DTM*405", (None, None))
        ref_ev = h.get("REF*EV", ([],))[0] + _PAD
        ref_f2 = h.get("REF*F2", ([],))[0] + _PAD
        return Remittance(
            control_number=self.transaction or "",
            handling=b[1],
            amount=self._amount(bpr, bpr_idx, 2) if bpr is not None else ZERO,
            credit_debit=b[3],
            method=b[4],
            payment_format=b[5] or None,
            sender_bank=tuple(bpr[6:12]) if bpr else (),
            receiver_bank=tuple(bpr[12:16]) if bpr else (),
            payment_date=self._date(bpr, bpr_idx, 16) if bpr is not None else None,
            trace_number=t[2] or None,
            trace_originator=t[3] or None,
            trace_supplemental=t[4] or None,
            production_date=self._date(dtm405, dtm_idx, 2) if dtm405 is not None else None,
            receiver_id=ref_ev[2] or None,
            version=ref_f2[2] or self.version,
            payer=self.payer,
            payee=self.payee,
            interchange=self.interchange,
            group=self.group,
            source=_source(self.file, self.interchange, self.transaction, self.st_index),
        )

    def _start_detail(self, els: Elements | None, idx: int | None) -> list[Item]:
        """The first LX, CLP, PLB or SE: the header is complete."""
        if self.remittance is not None:
            return []
        self.remittance = self._build_remittance(els, idx)
        return [self.remittance]

    # -- claims ----------------------------------------------------------------------------------------------

    def _lx(self, els: Elements, idx: int):
        out = self._start_detail(els, idx)
        if self.claim is not None:
            out.append(self._finish_claim())
        self.loop = LX_GROUP
        return out

    def _clp(self, els: Elements, idx: int):
        out = self._start_detail(els, idx) if self.remittance is None else []
        if self.claim is not None:
            out.append(self._finish_claim())
        self.claim = _Claim(els, idx, _source(self.file, self.interchange, self.transaction, idx))
        self._loop, self._table = CLAIM, _DISPATCH[CLAIM]  # self.loop = CLAIM
        return out

    def _finish_line(self, c: _Claim) -> None:
        ln = c.line
        c.line = None
        els = ln.els
        e = els if len(els) > 7 else els + _PAD  # SVC01..SVC07, "" when absent
        comp = self.component
        parts = e[1].split(comp)
        orig = e[6].split(comp) if e[6] else None
        dates = ln.dates
        # The common line has well-formed amounts: read here. Anything odd (an empty or malformed amount) takes
        # the careful path, which reports it like _amount does everywhere else.
        charge, paid, units, orig_units = e[2], e[3], e[5], e[7]
        if _money(charge) and _money(paid) and (not units or _qty(units)) and (not orig_units or _qty(orig_units)):
            charge, paid = Decimal(charge), Decimal(paid)
            units = Decimal(units) if units else None
            orig_units = Decimal(orig_units) if orig_units else None
        else:
            amount, idx = self._amount, ln.idx
            charge, paid = amount(els, idx, 2), amount(els, idx, 3)
            units, orig_units = self._quantity(els, idx, 5), self._quantity(els, idx, 7)
        adjustments = tuple(ln.adjustments)
        line = _new(_ServicePayment)
        _init_service_payment(
            line,
            parts[0], parts[1] if len(parts) > 1 else "", tuple(filter(None, parts[2:6])),
            charge, paid, e[4] or None, units,
            orig[0] if orig else None, orig[1] if orig and len(orig) > 1 else None,
            tuple(filter(None, orig[2:6])) if orig else (), orig_units,
            dates.get("472") or dates.get("150"), dates.get("151"), ln.line_control, tuple(ln.refs),
            adjustments, ln.allowed, tuple(ln.amounts), tuple(ln.quantities), tuple(ln.remarks),
            tuple(ln.unknown), ln.source,
        )
        line.__class__ = ServicePayment
        adjusted = ZERO
        for a in adjustments:
            adjusted += a.amount
        if charge - paid != adjusted:
            self.problems += balance.check_line(line, self.file)
        c.lines.append(line)

    def _finish_claim(self) -> ClaimPayment:
        c = self.claim
        if c.line is not None:
            self._finish_line(c)
        self.claim = None
        els, idx = c.els, c.idx
        e = els + _PAD
        names = c.names
        dates = c.dates
        amount = self._amount
        # the common claim: well-formed amounts, no DRG weight or discharge fraction
        charge, paid, responsibility = e[3], e[4], e[5]
        weight = fraction = None
        if _money(charge) and _money(paid) and (not responsibility or _money(responsibility)) and not e[12] \
                and not e[13]:
            charge, paid = Decimal(charge), Decimal(paid)
            responsibility = Decimal(responsibility) if responsibility else None
        else:
            charge, paid, responsibility = amount(els, idx, 3), amount(els, idx, 4), amount(els, idx, 5, False)
            weight, fraction = self._quantity(els, idx, 12), self._quantity(els, idx, 13)
        others = () if names.keys() <= _NAMED else tuple(v for k, v in names.items() if k not in _NAMED)
        claim = _new(_ClaimPayment)
        _init_claim_payment(
            claim,
            e[1], e[2], charge, paid, responsibility, e[6] or None, e[7] or None, e[8] or None, e[9] or None,
            e[11] or None, weight, fraction, names.get("QC"), names.get("IL"), names.get("74"), names.get("82"),
            names.get("TT"), others, dates.get("232"), dates.get("233"), dates.get("050"), dates.get("036"),
            tuple(c.adjustments), c.mia, c.moa, tuple(c.refs), tuple(c.amounts), tuple(c.quantities),
            tuple(c.lines), tuple(c.unknown), c.source, self.remittance,
        )
        claim.__class__ = ClaimPayment
        self.claim_count += 1
        self.paid_total += paid
        found = balance.check_claim(claim, self.file)
        if found:
            self.problems += found
        return claim

    def _cas(self, els: Elements, idx: int):
        c = self.claim
        target = c.line.adjustments if c.line is not None else c.adjustments
        n = len(els)
        source = _source(self.file, self.interchange, self.transaction, idx)
        if n == 4 and els[2] and _money(els[3]):  # one triplet, no quantity: the common CAS
            target.append(_adjustment(els[1], els[2], Decimal(els[3]), None, source))
            return _NOTHING
        group = els[1] if n > 1 else ""
        found = False
        for i in (2, 5, 8, 11, 14, 17):
            if i >= n:
                break
            reason = els[i]
            if not reason:
                if (i + 1 < n and els[i + 1]) or (i + 2 < n and els[i + 2]):
                    self._problem("835.cas.reason", f"CAS{i:02d} (reason) is empty but an amount follows", els, idx,
                                  element=f"CAS{i:02d}")
                continue
            found = True
            target.append(_adjustment(group, reason, self._amount(els, idx, i + 1),
                                      self._quantity(els, idx, i + 2) if i + 2 < n else None, source))
        if not found:
            self._problem("835.cas.empty", "CAS has no adjustment (reason and amount)", els, idx)
        return _NOTHING

    def _nm1(self, els: Elements, idx: int):
        c = self.claim
        e = els if len(els) > 9 else els + _PAD  # NM101..NM109, "" when absent
        entity = e[1]
        if c.line is not None or entity in c.names:  # after an SVC, or a second NM1 of the same entity
            self._unexpected(els, idx, c.line.unknown if c.line is not None else c.unknown)
            return _NOTHING
        c.names[entity] = _name(entity, e[3], e[4] or None, e[5] or None, e[8] or None, e[9] or None)
        return _NOTHING

    def _claim_dtm(self, els: Elements, idx: int):
        d = self._date_cache.get(els[2]) if len(els) > 2 else None
        if d is None:
            d = self._date(els, idx, 2)
        if d is not None:
            self.claim.dates.setdefault(els[1], d)
        return _NOTHING

    def _claim_ref(self, els: Elements, idx: int):
        e = els if len(els) > 2 else els + _PAD
        self.claim.refs.append(_reference(e[1], e[2]))
        return _NOTHING

    def _claim_amt(self, els: Elements, idx: int):
        # the common AMT: read here; anything else by _amount, which reports it
        value = Decimal(els[2]) if len(els) > 2 and _money(els[2]) else self._amount(els, idx, 2)
        self.claim.amounts.append(_reference(els[1] if len(els) > 1 else "", value))
        return _NOTHING

    def _claim_qty(self, els: Elements, idx: int):
        self.claim.quantities.append(_reference(els[1] if len(els) > 1 else "", self._quantity(els, idx, 2, True)))
        return _NOTHING

    def _mia(self, els: Elements, idx: int):
        self.claim.mia = tuple(els[1:])
        return _NOTHING

    def _moa(self, els: Elements, idx: int):
        self.claim.moa = tuple(els[1:])
        return _NOTHING

    def _claim_keep(self, els: Elements, idx: int):  # PER*CX claim contact: kept verbatim on the claim
        self.claim.unknown.append(tuple(els))
        return _NOTHING

    # -- service lines ---------------------------------------------------------------------------------------

    def _svc(self, els: Elements, idx: int):
        c = self.claim
        if c is None:
            self._stray(els, idx)
            return _NOTHING
        if c.line is not None:
            self._finish_line(c)
        c.line = _Line(els, idx, _source(self.file, self.interchange, self.transaction, idx))
        self._loop, self._table = LINE, _DISPATCH[LINE]  # self.loop = LINE
        return _NOTHING

    def _line_dtm(self, els: Elements, idx: int):
        d = self._date_cache.get(els[2]) if len(els) > 2 else None
        if d is None:
            d = self._date(els, idx, 2)
        if d is not None:
            self.claim.line.dates.setdefault(els[1], d)
        return _NOTHING

    def _line_ref(self, els: Elements, idx: int):
        ln = self.claim.line
        if len(els) > 2 and els[1] == "6R" and ln.line_control is None:
            ln.line_control = els[2]
        else:
            e = els if len(els) > 2 else els + _PAD
            ln.refs.append(_reference(e[1], e[2]))
        return _NOTHING

    def _line_amt(self, els: Elements, idx: int):
        ln = self.claim.line
        qualifier = els[1] if len(els) > 1 else ""
        # the common AMT: read here; anything else by _amount, which reports it
        value = Decimal(els[2]) if len(els) > 2 and _money(els[2]) else self._amount(els, idx, 2)
        if qualifier == "B6" and ln.allowed is None:
            ln.allowed = value
        else:
            ln.amounts.append(_reference(qualifier, value))
        return _NOTHING

    def _line_qty(self, els: Elements, idx: int):
        self.claim.line.quantities.append(_reference(els[1] if len(els) > 1 else "",
                                                     self._quantity(els, idx, 2, True)))
        return _NOTHING

    def _lq(self, els: Elements, idx: int):
        e = els if len(els) > 2 else els + _PAD
        self.claim.line.remarks.append(_reference(e[1], e[2]))
        return _NOTHING

    def _late_claim_segment(self, els: Elements, idx: int):
        """A 2100 segment after the lines began (a late MIA, MOA or PER): kept on the claim, reported."""
        self._unexpected(els, idx, self.claim.unknown)
        return _NOTHING

    # -- summary and end -------------------------------------------------------------------------------------

    def _plb(self, els: Elements, idx: int):
        out = self._start_detail(els, idx)
        if self.claim is not None:
            out.append(self._finish_claim())
        self.loop = SUMMARY
        n = len(els)
        e = els + _PAD
        period = self._date(els, idx, 2)
        source = _source(self.file, self.interchange, self.transaction, idx)
        found = False
        for i in range(3, min(n, 15), 2):
            ident = els[i]
            if not ident:
                continue
            found = True
            reason, _, ref = ident.partition(self.component)
            self.plbs.append(ProviderAdjustment(e[1], period, reason, ref or None, self._amount(els, idx, i + 1),
                                                source))
        if not found:
            self._problem("835.plb.empty", "PLB has no adjustment (reason and amount)", els, idx)
        return out

    def _se(self, els: Elements, idx: int):
        return self._end_transaction(els, idx)

    def _end_transaction(self, els: Elements | None, idx: int | None) -> list[Item]:
        out: list[Item] = self._start_detail(els, idx)
        if self.claim is not None:
            out.append(self._finish_claim())
        end = RemittanceEnd(self.remittance, tuple(self.plbs), self.claim_count, self.paid_total,
                            _source(self.file, self.interchange, self.transaction, idx), tuple(self.extra))
        self.problems += balance.check_transaction(end, self.file)
        out.append(end)
        self.loop = None
        self.transaction = None
        return out

    def _envelope_inside(self, els: Elements, idx: int):
        """ISA, GS, ST, GE or IEA inside an open 835: its SE is missing. End it, then handle the segment."""
        return self.end_open(els, idx) + list(self._outside(els, idx))


P = RemitParser
_HEADER_TABLE = {"BPR": P._bpr, "TRN": P._trn, "REF": P._header_ref, "DTM": P._header_dtm, "CUR": P._header_other,
                 "N1": P._n1}
_PARTY_TABLE = {"N1": P._n1, "N3": P._n3, "N4": P._n4, "REF": P._party_ref, "PER": P._per,
                "RDM": P._header_other}
_LX_TABLE = {"TS3": P._header_other, "TS2": P._header_other}
_CLAIM_TABLE = {"CAS": P._cas, "NM1": P._nm1, "DTM": P._claim_dtm, "REF": P._claim_ref, "AMT": P._claim_amt,
                "QTY": P._claim_qty, "MIA": P._mia, "MOA": P._moa, "PER": P._claim_keep}
_LINE_TABLE = {"CAS": P._cas, "DTM": P._line_dtm, "REF": P._line_ref, "AMT": P._line_amt, "QTY": P._line_qty,
               "LQ": P._lq, "NM1": P._nm1, "MIA": P._late_claim_segment, "MOA": P._late_claim_segment,
               "PER": P._late_claim_segment}
_TABLES = {HEADER: _HEADER_TABLE, PAYER: _PARTY_TABLE, PAYEE: _PARTY_TABLE, LX_GROUP: _LX_TABLE,
           CLAIM: _CLAIM_TABLE, LINE: _LINE_TABLE, SUMMARY: {}}
# Tags that open another loop from wherever they appear inside an 835.
_TRANSITIONS = {"LX": P._lx, "CLP": P._clp, "SVC": P._svc, "PLB": P._plb, "SE": P._se,
                "ST": P._envelope_inside, "GS": P._envelope_inside, "GE": P._envelope_inside,
                "ISA": P._envelope_inside, "IEA": P._envelope_inside}
# One lookup per segment: each loop's table merged with the transitions; None is outside a transaction set.
_DISPATCH = {loop: {**_TRANSITIONS, **table} for loop, table in _TABLES.items()}
_DISPATCH[None] = {tag: P._outside for tag in ENVELOPE_TAGS}
del P


class RemitReader:
    """Iterate the items of an 835 file; ``problems`` holds every problem found (syntax, envelope, content,
    balancing) once iteration ends, and ``segments`` / ``bytes`` what was read.

    ``part=(first, stop)`` reads only the transaction sets numbered ``first`` up to ``stop`` (0-based, in file
    order; ``stop`` None: to the end), for a file read by several processes at once (``edi.x835.parts``): the
    file is still read from its start, the envelope checked throughout, but the transaction sets before
    ``first`` are not parsed, and reading ends at the ST of ``stop``. It keeps the problems of its own segments
    (see ``_PartProblems``), so that the parts' items and problems, put together in order
    (``edi.x835.parts.merge_problems``), are the whole file's, each once."""

    def __init__(self, path: str, part: tuple[int, int | None] | None = None) -> None:
        self.path = path
        self.part = part
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        #: the tokenizer's, the envelope checker's and the parser's problems, apart (the parts of a file are put
        #: together source by source: edi.x835.parts.merge_problems)
        self.problem_sources: tuple[list[Problem], ...] = ()
        self.segments = 0
        self.bytes = 0

    def __iter__(self) -> Iterator[Item]:
        tok = Tokenizer(file=self.path)
        env = EnvelopeChecker(self.path)
        parser = RemitParser(self.path)
        envelope = ENVELOPE_TAGS
        idx = 0
        counted = 0  # the segments up to this number have been counted by the envelope checker
        last: Elements = []  # the segment before the current one
        first, stop = self.part or (0, None)
        bounds = _Bounds(first == 0, stop is None)
        if self.part is not None:
            tok.problems = _PartProblems(bounds)
            env.problems = _PartProblems(bounds)
            parser.problems = _PartProblems(bounds, parser=True)
        ordinal = -1  # the number of the last ST seen, from 0
        skipping = False  # inside a transaction set another part reads
        stopped = False  # at the ST of ``stop``: the rest is another part's
        try:
            with open_input(self.path) as fp:
                chunks = read_chunks(fp)
                for chunk in with_end(chunks):
                    self.bytes += len(chunk)
                    for els in tok.elements(chunk):
                        idx += 1
                        tag = els[0]
                        if tag in envelope:
                            # the body segments since the last envelope segment, counted at once
                            body = idx - 1 - counted
                            env.body(body, Segment(last, idx - 1) if body else None)
                            counted = idx
                            env.segment(Segment(els, idx, 0, tok.delimiters))
                            if tag == "ISA":
                                parser.component = tok.delimiters.component
                            if tag == "ST":
                                ordinal += 1
                                if ordinal == stop:
                                    items = parser.end_open(els, idx)
                                    if items:
                                        yield from items
                                    stopped = True
                                    break
                                if ordinal < first:
                                    parser.skip(els, idx)
                                    skipping = True
                                    last = els
                                    continue
                                if ordinal == first:
                                    bounds.lo = idx
                                skipping = False
                            elif skipping and tag == "SE":
                                skipping = False
                                last = els
                                continue
                            items = parser.feed(els, idx)
                        elif skipping:
                            items = _NOTHING
                        else:
                            # parser.feed(els, idx), inlined: this loop runs for every segment
                            handler = parser._table.get(tag)
                            if handler is not None:
                                items = handler(parser, els, idx)
                            elif parser._loop is not None:
                                parser._stray(els, idx)
                                items = _NOTHING
                            else:
                                items = _NOTHING  # between transaction sets: the envelope checker reports it
                        if items:
                            yield from items
                        last = els
                    if stopped:
                        break
            if not stopped:
                body = idx - counted
                env.body(body, Segment(last, idx) if body else None)
                yield from parser.close()
                env.close()
        finally:
            self.segments = idx
            self.problem_sources = (tok.problems, env.problems, parser.problems)
            self.problems = by_position(tok.problems + env.problems + parser.problems)


class _Bounds:
    """Where a part of a file begins (see RemitReader's ``part``), learnt as it is read: ``lo``, the segment
    number of its first ST (None until reached; 0 for the first part); ``last``: it reads to the end."""

    __slots__ = ("lo", "last")

    def __init__(self, from_start: bool, last: bool) -> None:
        self.lo: int | None = 0 if from_start else None
        self.last = last


class _PartProblems(Problems):
    """The problems a part keeps, decided as they are found (before ``Problems`` counts them against its cap,
    so that the parts' counts add up to the whole file's). Every part reads the file from its start, so the
    tokenizer's and the envelope checker's problems are found by several parts: each keeps those found once its
    first ST is reached (``lo`` is set after that ST is checked: the ST where one part ends and the next begins
    is checked by both, and its problems are kept by the part that ends there, which stops reading after it), and
    the last part those without a position. The parser only reads the part's own transaction sets: it keeps all
    but what the ST of the transaction sets before them gave."""

    def __init__(self, bounds: _Bounds, *, parser: bool = False) -> None:
        self.bounds = bounds
        self.parser = parser
        super().__init__()

    def append(self, problem: Problem) -> None:
        segment, b = problem.where.segment, self.bounds
        if segment is None:
            if not (self.parser or b.last):
                return
        elif b.lo is None or segment < b.lo:
            return
        super().append(problem)


def read_remittances(path: str) -> RemitReader:
    """The items of an 835 file (``-`` for standard input), streamed. See the module docstring."""
    return RemitReader(path)


def parse_remittances(data: bytes, file: str = "<bytes>") -> tuple[list[Item], list[Problem]]:
    """Every item of an in-memory 835, and the problems (for tests and small inputs)."""
    return parse_all(data, RemitParser(file), file)
