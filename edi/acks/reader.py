"""The acknowledgement reader: TA1, 999 (and 997) and 277CA segments in, a stream of acknowledgements out.

    reader = read_acks("acks.x12")               # streams; memory does not grow with the file
    for ack in reader:
        if isinstance(ack, TransactionSetAck) and not ack.accepted:
            ack.group_control, ack.control_number, ack.segment_errors
    reader.problems                               # syntax, envelope and content problems, by position

One reader for any mix, in file order:

- a TA1 segment, wherever it stands in an interchange, gives an ``InterchangeAck``;
- a 999 gives a ``TransactionSetAck`` for each AK2 loop when its IK5 closes it, and a ``GroupAck`` at its AK9;
  a 997 is read the same way (AK3/AK4/AK5 for IK3/IK4/IK5), with a warning that it is the older form;
- a 277CA (005010X214) gives a ``ReceiverAck`` (2000B/2200B) and a ``ProviderAck`` (2000C/2200C) when their
  loop is complete (at the next HL), and a ``ClaimAck`` for each 2200D loop, its 2220D lines included, at the
  next HL, TRN or SE. A 277 of another version (an X212 claim-status response) is read as far as it goes, with
  the subscriber and dependent levels (HL03 22 and 23) taken as patient levels, and a warning.

Any other transaction set (an 835, an 837) yields nothing and is one error, ``ack.transaction.unexpected``,
naming its ST01. Every object carries its ``source``: file, ISA13, ST02 and the 1-based segment number.

The reader never raises on bad data: a loop that lacks its closing segment is still yielded and reported
(``ack.999.ik5.missing``), a bad amount or date is a problem (``ack.amount``, ``ack.date``) and reads as None,
an unknown code is a warning (``ack.code.unknown``, once per code and file) and is kept with words that say
so. Problem messages name elements by position and never quote a value that may identify a patient.

``AckParser`` is the sans-IO core: ``feed(elements, index)`` (or ``segment(seg)``) returns the items that
segment completes, ``close()`` the rest. It holds only the loop being read.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from edi.acks import codes
from edi.acks.model import (
    Ack,
    ClaimAck,
    ElementError,
    GroupAck,
    InterchangeAck,
    LineAck,
    ProviderAck,
    ReceiverAck,
    SegmentError,
    Status,
    StatusCode,
    Totals,
    TransactionSetAck,
)
from edi.model import Source
from edi.problems import ERROR, WARNING, Problem, Problems, Severity, Where
from edi.x12.io import StreamedReader, parse_all
from edi.x12.numeric import WORDS as NUMBER_WORDS
from edi.x12.numeric import read_r
from edi.x12.segment import Segment

Elements = list[str]

#: The implementation guide of a 277CA (GS08 / ST03).
X214 = "005010X214"
#: An X12 decimal (R): optional minus, digits, optional point; no exponent, no sign +, no underscores, no
#: NaN or Infinity (all of which ``Decimal()`` itself would take).
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
#: The most digits of an amount read: Decimal's default precision (an X12 amount is R 1/18; 19 to 28 digits are
#: read and reported by the ledger as amounts it cannot keep).
_EXACT_DIGITS = 28
#: The most digits a count takes (N0 1/9 at most: AK902, QTY02 of a 277CA are shorter).
_COUNT_DIGITS = 9
_PAD = [""] * 16  # appended so that absent trailing elements read as ""
_NOTHING: tuple = ()
#: How many distinct once-per-file warnings (unknown codes, ignored qualifiers) a file may give.
_ONCE_LIMIT = 1000
#: HL03 codes of a 277: information source, information receiver, provider, patient (PT in a 277CA; the
#: subscriber 22 and dependent 23 levels of an X212 response are read as patient levels).
SOURCE, RECEIVER, PROVIDER = "20", "21", "19"
PATIENT_LEVELS = frozenset({"PT", "22", "23"})
_LEVEL_LOOPS = {SOURCE: "2000A", RECEIVER: "2000B", PROVIDER: "2000C", "PT": "2000D", "22": "2000D",
                "23": "2000D"}
#: 999 and 997 segment tags: the 997 says AK3/AK4/AK5 where the 999 says IK3/IK4/IK5.
_IK = {"999": ("IK3", "IK4", "IK5"), "997": ("AK3", "AK4", "AK5")}


def _pad(els: Elements) -> Elements:
    return els + _PAD if len(els) < 17 else els


# -- drafts: the loop being read -------------------------------------------------------------------------------


class _Group:
    """An AK1 read, waiting for its AK9."""

    __slots__ = ("functional_id", "control", "version", "source", "sets", "accepted")

    def __init__(self, functional_id: str, control: str, version: str | None, source: Source) -> None:
        self.functional_id = functional_id
        self.control = control
        self.version = version
        self.source = source
        self.sets = 0  # AK2 loops given
        self.accepted = 0  # of which IK5 A or E


class _Set:
    """An AK2 loop read, waiting for its IK5."""

    __slots__ = ("els", "idx", "source", "errors", "error")

    def __init__(self, els: Elements, idx: int, source: Source) -> None:
        self.els = els
        self.idx = idx
        self.source = source
        self.errors: list[SegmentError] = []
        self.error: _SegmentError | None = None


class _SegmentError:
    __slots__ = ("els", "source", "business_unit", "context", "elements")

    def __init__(self, els: Elements, source: Source) -> None:
        self.els = els
        self.source = source
        self.business_unit: tuple[str, str] | None = None
        self.context: list[str] = []
        self.elements: list[ElementError] = []


class _Totals:
    __slots__ = ("accepted_count", "rejected_count", "accepted_amount", "rejected_amount")

    def __init__(self) -> None:
        self.accepted_count: int | None = None
        self.rejected_count: int | None = None
        self.accepted_amount: Decimal | None = None
        self.rejected_amount: Decimal | None = None

    def build(self) -> Totals:
        return Totals(self.accepted_count, self.rejected_count, self.accepted_amount, self.rejected_amount)


class _Level:
    """A 2000B (receiver) or 2000C (provider) level and its 2100/2200 loops."""

    __slots__ = ("code", "source", "name", "id", "id_qualifier", "named", "trace", "statuses", "totals")

    def __init__(self, code: str, source: Source) -> None:
        self.code = code
        self.source = source
        self.name: str | None = None
        self.id: str | None = None
        self.id_qualifier: str | None = None
        self.named = False
        self.trace: str | None = None
        self.statuses: list[Status] = []
        self.totals = _Totals()


class _Patient:
    """A 2000D level: the 2100D name, and whether a 2200D loop was read under it."""

    __slots__ = ("code", "idx", "member_id", "last", "first", "named", "claims")

    def __init__(self, code: str, idx: int, member_id: str | None) -> None:
        self.code = code
        self.idx = idx
        self.member_id = member_id
        self.last: str | None = None
        self.first: str | None = None
        self.named = False
        self.claims = 0


class _Claim:
    __slots__ = ("pcn", "source", "statuses", "payer_claim_number", "clearinghouse_trace", "bill_type",
                 "service_from", "service_to", "lines", "line")

    def __init__(self, pcn: str, source: Source) -> None:
        self.pcn = pcn
        self.source = source
        self.statuses: list[Status] = []
        self.payer_claim_number: str | None = None
        self.clearinghouse_trace: str | None = None
        self.bill_type: str | None = None
        self.service_from: date | None = None
        self.service_to: date | None = None
        self.lines: list[LineAck] = []
        self.line: _Line | None = None


class _Line:
    __slots__ = ("els", "source", "charge", "paid", "statuses", "control", "service_date")

    def __init__(self, els: Elements, source: Source, charge: Decimal | None, paid: Decimal | None) -> None:
        self.els = els
        self.source = source
        self.charge = charge
        self.paid = paid
        self.statuses: list[Status] = []
        self.control: str | None = None
        self.service_date: date | None = None


# -- the parser ------------------------------------------------------------------------------------------------


class AckParser:
    """Sans-IO acknowledgement parser: ``feed(elements, index)`` returns the items that segment completes,
    ``close()`` the rest. Envelope segments must be fed too (they delimit transaction sets and carry the
    control numbers); ``component`` is the component separator in force (``segment(seg)`` takes it from the
    segment). Problems collect on ``problems``."""

    def __init__(self, file: str | None = None, component: str = ":") -> None:
        self.file = file
        self.component = component
        self.problems: list[Problem] = Problems()  # at most KEEP_PER_CODE per code, the rest counted
        self.interchange: str | None = None  # ISA13
        self.sender: str | None = None  # ISA06, stripped
        self.receiver: str | None = None  # ISA08, stripped
        self.group: str | None = None  # GS06
        self.group_version: str | None = None  # GS08
        self.transaction: str | None = None  # ST02
        self.kind: str | None = None  # "999", "997", "277", "other" inside a transaction set; None outside
        self.version: str | None = None  # ST03, else GS08
        self.receiver_trace: str | None = None  # 2200B TRN02 of the receiver level above the claims
        self.loop: str | None = None
        self.last_idx: int | None = None
        self._once: set[tuple[str, ...]] = set()  # warnings given once per file (unknown codes, ignored data)
        self._table = _DISPATCH[None]
        self._reset()

    def _reset(self) -> None:
        # 999 / 997
        self.ak1: _Group | None = None
        self.ak1_seen = False
        self.set: _Set | None = None
        # 277
        self.level: str | None = None
        self.source_name: str | None = None
        self.source_id: str | None = None
        self.source_named = False
        self.party: _Level | None = None  # the open receiver or provider level
        self.billing_npi: str | None = None
        self.patient: _Patient | None = None
        self.claim: _Claim | None = None
        self.loop = None

    # -- problems and values -----------------------------------------------------------------------------------

    def _problem(self, code: str, message: str, els: Elements | None, idx: int | None,
                 severity: Severity = ERROR, element: str | None = None) -> None:
        self.problems.append(Problem(code, message, severity, Where(
            file=self.file, interchange=self.interchange, group=self.group, transaction=self.transaction,
            segment=idx, tag=els[0] if els else None, loop=self.loop, element=element)))

    def _once_problem(self, key: tuple[str, ...], code: str, message: str, els: Elements, idx: int,
                      severity: Severity = WARNING, element: str | None = None) -> None:
        if key in self._once or len(self._once) >= _ONCE_LIMIT:  # bounded memory: past the limit, silence
            return
        self._once.add(key)
        self._problem(code, message, els, idx, severity, element)

    def _source(self, idx: int | None) -> Source:
        return Source(file=self.file, interchange=self.interchange, transaction=self.transaction, segment=idx)

    def _unexpected(self, els: Elements, idx: int) -> tuple:
        where = f"in loop {self.loop}" if self.loop else "here"
        self._problem("ack.segment.unexpected", f"{els[0]} is not expected {where}; it was skipped", els, idx,
                      WARNING)
        return _NOTHING

    def _ignored(self, els: Elements, idx: int, what: str) -> None:
        """A segment the reader knows but does not keep (an unusual qualifier): one warning per file and kind."""
        key = ("ignored", els[0], what, self.loop or "")
        self._once_problem(key, "ack.segment.ignored", f"{els[0]} {what} is not read in loop {self.loop} "
                           "(reported once per file)", els, idx)

    def _code(self, table: dict[str, str], els: Elements, idx: int, i: int, what: str) -> str:
        """Element ``i``, a code of ``table``; an unknown code is a warning (once per file and element)."""
        value = els[i] if i < len(els) else ""
        if value and value not in table:
            element = f"{els[0]}{i:02d}"
            self._once_problem(("code", element, value), "ack.code.unknown",
                               f"{element} {value!r} is not a known {what} code", els, idx, element=element)
        return value

    def _required(self, els: Elements, idx: int, i: int, what: str) -> str:
        value = els[i].strip() if i < len(els) else ""
        if not value:
            element = f"{els[0]}{i:02d}"
            self._problem("ack.element.missing", f"{element} ({what}) is empty", els, idx, element=element)
        return value

    def _amount(self, els: Elements, idx: int, i: int) -> Decimal | None:
        """Element ``i`` as a Decimal, None when empty; a problem (and None) when it is not an X12 decimal.
        Fractions of a cent and amounts the ledger cannot keep are read: the ledger says so where it keeps them;
        beyond ``_EXACT_DIGITS`` a Decimal is no longer exact (and quantizing it raises), so such a value is
        refused here."""
        text = els[i] if i < len(els) else ""
        if not text:
            return None
        value = read_r(text, _EXACT_DIGITS)
        if isinstance(value, Decimal):
            return value
        element = f"{els[0]}{i:02d}"
        self._problem("ack.amount", f"{element} {NUMBER_WORDS[value]}", els, idx, element=element)
        return None

    def _count(self, els: Elements, idx: int, i: int) -> int | None:
        """Element ``i`` as a whole number, None when empty; a problem (and None) when it is not one."""
        text = els[i] if i < len(els) else ""
        if not text:
            return None
        if _DECIMAL.match(text) and not text.startswith("-") and len(text) <= _COUNT_DIGITS:
            value = Decimal(text)
            if value == value.to_integral_value():
                return int(value)
        element = f"{els[0]}{i:02d}"
        self._problem("ack.number", f"{element} is not a whole number", els, idx, element=element)
        return None

    def _d8(self, els: Elements, idx: int, i: int) -> date | None:
        """Element ``i`` as a CCYYMMDD date, None when empty; a problem (and None) when it is not a date."""
        text = els[i] if i < len(els) else ""
        if not text:
            return None
        value = _parse_d8(text)
        if value is None:
            element = f"{els[0]}{i:02d}"
            self._problem("ack.date", f"{element} is not a CCYYMMDD date", els, idx, element=element)
        return value

    def _period(self, els: Elements, idx: int) -> tuple[date, date] | None:
        """DTP02/DTP03 as (from, to): D8 gives the same day twice, RD8 the range; None (and a problem) when
        neither reads."""
        e = _pad(els)
        fmt, text = e[2], e[3]
        if fmt == "D8":
            day = _parse_d8(text)
            if day is not None:
                return day, day
        elif fmt == "RD8":
            start, sep, end = text.partition("-")
            first, last = _parse_d8(start), _parse_d8(end)
            if sep and first is not None and last is not None:
                if last < first:
                    self._problem("ack.date", "DTP03 is a range that ends before it starts", els, idx,
                                  element="DTP03")
                return first, last
        self._problem("ack.date", f"DTP03 is not a date in the {fmt or '(empty)'} format (D8 or RD8)", els, idx,
                      element="DTP03")
        return None

    def _components(self, text: str) -> list[str]:
        return text.split(self.component) if text else []

    # -- driving -------------------------------------------------------------------------------------------------

    def segment(self, seg: Segment) -> list[Ack] | tuple:
        self.component = seg.delimiters.component
        return self.feed(seg.elements, seg.index)

    def feed(self, els: Elements, idx: int) -> list[Ack] | tuple:
        self.last_idx = idx
        handler = self._table.get(els[0])
        if handler is not None:
            return handler(self, els, idx)
        if self.kind is None or self.kind == "other":
            return _NOTHING  # between transaction sets (the envelope checker reports it), or a skipped set
        return self._unexpected(els, idx)

    def close(self) -> list[Ack]:
        """End of input: a transaction set left open (no SE; the envelope checker reports it) yields what it
        read. Problems found here stand at the last segment read."""
        return self._end_transaction(None, self.last_idx)

    def _set_kind(self, kind: str | None) -> None:
        self.kind = kind
        self._table = _DISPATCH[kind]

    # -- envelope ------------------------------------------------------------------------------------------------

    def _isa(self, els: Elements, idx: int) -> list[Ack]:
        out = self._end_transaction(els, idx)
        e = _pad(els)
        self.interchange = e[13].strip() or None
        self.sender = e[6].strip() or None
        self.receiver = e[8].strip() or None
        self.group = self.group_version = None
        return out

    def _gs(self, els: Elements, idx: int) -> list[Ack]:
        out = self._end_transaction(els, idx)
        e = _pad(els)
        self.group = e[6].strip() or None
        self.group_version = e[8].strip() or None
        return out

    def _ge(self, els: Elements, idx: int) -> list[Ack]:
        out = self._end_transaction(els, idx)
        self.group = self.group_version = None
        return out

    def _iea(self, els: Elements, idx: int) -> list[Ack]:
        out = self._end_transaction(els, idx)
        self.interchange = self.sender = self.receiver = None
        self.group = self.group_version = None
        return out

    def _st(self, els: Elements, idx: int) -> list[Ack]:
        out = self._end_transaction(els, idx)
        e = _pad(els)
        st01 = e[1]
        self.transaction = e[2].strip() or None
        self.version = e[3].strip() or self.group_version
        self.receiver_trace = None
        self._reset()
        if st01 == "999":
            self._set_kind("999")
        elif st01 == "997":
            self._set_kind("997")
            self._problem("ack.997", "a 997 is the older functional acknowledgment; it is read like a 999 "
                          "(AK3/AK4/AK5 for IK3/IK4/IK5)", els, idx, WARNING)
        elif st01 == "277":
            self._set_kind("277")
            if self.version != X214:
                self._once_problem(("277.version", self.version or ""), "ack.277.version",
                                   f"277 version {self.version or '(none)'} is not {X214} (the 277CA): read as far "
                                   "as its structure allows", els, idx, element="ST03")
        else:
            self._set_kind("other")
            self._problem("ack.transaction.unexpected", f"transaction set {st01 or '(ST01 empty)'} is not an "
                          "acknowledgement (TA1, 999, 997 or 277CA); skipped", els, idx, element="ST01")
        return out

    def _se(self, els: Elements, idx: int) -> list[Ack]:
        return self._end_transaction(els, idx)

    def _end_transaction(self, els: Elements | None, idx: int | None) -> list[Ack]:
        """The end of a transaction set (its SE, or whatever came instead): what its open loops read."""
        kind = self.kind
        out: list[Ack] = []
        if kind in ("999", "997"):
            if self.set is not None:
                out.append(self._finish_set(None, els, idx))
            if self.ak1 is not None:
                self._problem("ack.999.ak9.missing", f"the AK1 loop for group {self.ak1.control or '(empty)'} "
                              "ends without AK9: no group status was given", els, idx)
            elif not self.ak1_seen:
                self._problem("ack.999.ak1.missing", f"the {kind} has no AK1: it acknowledges no group", els, idx)
        elif kind == "277":
            out = self._close_level(els, idx)
        if kind is not None:
            self._reset()
            self._set_kind(None)
            self.transaction = None
        return out

    def _ta1(self, els: Elements, idx: int) -> list[Ack]:
        if self.kind is not None:
            self._problem("ack.ta1.misplaced", "TA1 inside a transaction set (it belongs directly in the "
                          "interchange); read all the same", els, idx, WARNING)
        e = _pad(els)
        control = self._required(els, idx, 1, "interchange control number")
        if control and not (len(control) == 9 and control.isdigit()):
            self._problem("ack.ta1.control", "TA101 is not a 9-digit interchange control number", els, idx,
                          WARNING, element="TA101")
        when = self._ta1_date(els, idx)
        status = self._required(els, idx, 4, "interchange acknowledgment code")
        self._code(codes.TA1_STATUS, els, idx, 4, "interchange acknowledgment")
        note = e[5].strip()
        if note:
            self._code(codes.TA1_NOTES, els, idx, 5, "interchange note")
        return [InterchangeAck(control, when, e[3] or None, status, codes.ta1_status(status), note,
                               codes.ta1_note(note), self.sender, self.receiver, self._source(idx))]

    def _ta1_date(self, els: Elements, idx: int) -> date | None:
        text = els[2] if len(els) > 2 else ""
        if not text:
            return None
        if len(text) == 6 and text.isascii() and text.isdigit():
            try:
                return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
            except ValueError:
                pass
        elif len(text) == 8:
            value = _parse_d8(text)
            if value is not None:
                self._problem("ack.date.format", "TA102 is written CCYYMMDD where YYMMDD is expected; read as "
                              "CCYYMMDD", els, idx, WARNING, element="TA102")
                return value
        self._problem("ack.date", "TA102 is not a YYMMDD date", els, idx, element="TA102")
        return None

    # -- 999 and 997 ---------------------------------------------------------------------------------------------

    def _ak1(self, els: Elements, idx: int) -> list[Ack] | tuple:
        out: list[Ack] = []
        if self.set is not None:
            out.append(self._finish_set(None, els, idx))
        if self.ak1 is not None:
            self._problem("ack.999.ak9.missing", f"the AK1 loop for group {self.ak1.control or '(empty)'} ends "
                          "without AK9: no group status was given", els, idx)
        e = _pad(els)
        self.ak1 = _Group(e[1], e[2].strip(), e[3] or None, self._source(idx))
        self.ak1_seen = True
        self.loop = None
        return out

    def _ak2(self, els: Elements, idx: int) -> list[Ack] | tuple:
        out: list[Ack] = []
        if self.set is not None:
            out.append(self._finish_set(None, els, idx))
        if self.ak1 is None:
            self._problem("ack.999.ak1.missing", "AK2 without an AK1 before it: the group it belongs to is "
                          "unknown", els, idx)
            self.ak1 = _Group("", "", None, self._source(idx))
            self.ak1_seen = True
        self.ak1.sets += 1
        self.set = _Set(els, idx, self._source(idx))
        self.loop = "2000"
        return out

    def _ik3(self, els: Elements, idx: int) -> tuple:
        s = self.set
        if s is None:
            return self._unexpected(els, idx)
        if s.error is not None:
            s.errors.append(self._finish_segment_error(s.error))
        s.error = _SegmentError(els, self._source(idx))
        self.loop = "2100"
        self._required(els, idx, 1, "segment ID")
        self._count(els, idx, 2)
        self._code(codes.SEGMENT_ERRORS, els, idx, 4, "segment syntax error")
        return _NOTHING

    def _ctx(self, els: Elements, idx: int) -> tuple:
        error = self.set.error if self.set is not None else None
        if error is None:
            return self._unexpected(els, idx)
        error.context.append("*".join(els[1:]))
        parts = self._components(els[1] if len(els) > 1 else "")
        if len(parts) >= 2 and parts[0] != "SITUATIONAL TRIGGER" and error.business_unit is None:
            error.business_unit = (parts[0], parts[1])
        return _NOTHING

    def _ik4(self, els: Elements, idx: int) -> tuple:
        error = self.set.error if self.set is not None else None
        if error is None:
            return self._unexpected(els, idx)
        self.loop = "2110"
        e = _pad(els)
        parts = self._components(e[1])
        numbers: list[int | None] = []
        for k, part in enumerate(parts[:3]):
            if part.isascii() and part.isdigit():
                numbers.append(int(part))
            else:
                numbers.append(None)
                if part:
                    self._problem("ack.number", f"{els[0]}01-{k + 1} (a position) is not a whole number", els,
                                  idx, element=f"{els[0]}01")
        if not parts:
            self._required(els, idx, 1, "position in segment")
        numbers += [None] * (3 - len(numbers))
        code = self._required(els, idx, 3, "element syntax error code")
        self._code(codes.ELEMENT_ERRORS, els, idx, 3, "element syntax error")
        error.elements.append(ElementError(":".join(parts), numbers[0], numbers[1], numbers[2], e[2] or None,
                                           code, codes.element_error(code), e[4] or None, self._source(idx)))
        return _NOTHING

    def _finish_segment_error(self, error: _SegmentError) -> SegmentError:
        e = _pad(error.els)
        position = int(e[2]) if e[2].isascii() and e[2].isdigit() else None
        code = e[4] or None
        return SegmentError(e[1], position, e[3] or None, code, codes.segment_error(code), error.business_unit,
                            tuple(error.context), tuple(error.elements), error.source)

    def _ik5(self, els: Elements, idx: int) -> list[Ack] | tuple:
        if self.set is None:
            return self._unexpected(els, idx)
        return [self._finish_set(els, els, idx)]

    def _finish_set(self, ik5: Elements | None, els: Elements | None, idx: int | None) -> TransactionSetAck:
        """The set being read, closed by ``ik5``; or, when None, by ``els`` at ``idx`` coming without one."""
        s = self.set
        assert s is not None and self.ak1 is not None
        self.set = None
        if s.error is not None:
            s.errors.append(self._finish_segment_error(s.error))
        g = self.ak1
        ak2 = _pad(s.els)
        if ik5 is None:
            what = els[0] if els else "the end of input"
            self._problem("ack.999.ik5.missing", f"the AK2 loop at segment {s.idx} ends at {what} without "
                          f"{_IK.get(self.kind or '999', _IK['999'])[2]}: its status is not known", els, idx)
            status, words, errors = "", "not given (no IK5)", ()
        else:
            status = self._required(ik5, idx, 1, "transaction set acknowledgment code")
            self._code(codes.SET_STATUS, ik5, idx, 1, "transaction set acknowledgment")
            words = codes.set_status(status)
            errors = tuple(ik5[i] for i in range(2, min(len(ik5), 7)) if ik5[i])
            for i in range(2, min(len(ik5), 7)):
                self._code(codes.SET_ERRORS, ik5, idx, i, "transaction set syntax error")
            if status in ("A", "E"):
                g.accepted += 1
        self.loop = None
        return TransactionSetAck(g.functional_id, g.control, ak2[1], ak2[2].strip(), ak2[3] or None, status, words,
                                 errors, tuple(codes.set_error(c) for c in errors), tuple(s.errors), s.source)

    def _ak9(self, els: Elements, idx: int) -> list[Ack]:
        out: list[Ack] = []
        if self.set is not None:
            out.append(self._finish_set(None, els, idx))
        g = self.ak1
        if g is None:
            self._problem("ack.999.ak1.missing", "AK9 without an AK1 before it: the group it answers is unknown",
                          els, idx)
            g = _Group("", "", None, self._source(idx))
            self.ak1_seen = True
        self.ak1 = None
        self.loop = None
        e = _pad(els)
        status = self._required(els, idx, 1, "functional group acknowledgment code")
        self._code(codes.GROUP_STATUS, els, idx, 1, "functional group acknowledgment")
        included, received, accepted = self._count(els, idx, 2), self._count(els, idx, 3), self._count(els, idx, 4)
        errors = tuple(e[i] for i in range(5, 10) if e[i])
        for i in range(5, min(len(els), 10)):
            self._code(codes.GROUP_ERRORS, els, idx, i, "functional group syntax error")
        if g.sets:
            if received is not None and received != g.sets:
                self._problem("ack.999.count", f"AK903 says {received} transaction sets were received; the "
                              f"acknowledgement gives {g.sets} AK2 loops for the group", els, idx, WARNING,
                              element="AK903")
            if accepted is not None and accepted != g.accepted:
                self._problem("ack.999.count", f"AK904 says {accepted} transaction sets were accepted; "
                              f"{g.accepted} of its AK2 loops are accepted (A or E)", els, idx, WARNING,
                              element="AK904")
        out.append(GroupAck(g.functional_id, g.control, g.version, status, codes.group_status(status), included,
                            received, accepted, errors, tuple(codes.group_error(c) for c in errors), g.sets,
                            self.sender, self.receiver, g.source))
        return out

    # -- 277CA ---------------------------------------------------------------------------------------------------

    def _bht(self, els: Elements, idx: int) -> tuple:
        if self.level is not None:
            return self._unexpected(els, idx)
        return _NOTHING

    def _hl(self, els: Elements, idx: int) -> list[Ack]:
        previous = self.patient
        out = self._close_level(els, idx)
        e = _pad(els)
        code = e[3]
        self.level = code
        self.loop = _LEVEL_LOOPS.get(code)
        if code == SOURCE:
            self.source_name = self.source_id = self.receiver_trace = None
            self.source_named = False
            self.billing_npi = None
        elif code in (RECEIVER, PROVIDER):
            self.party = _Level(code, self._source(idx))
            if code == PROVIDER:
                self.billing_npi = None
        elif code in PATIENT_LEVELS:
            if code != "PT" and self.version == X214:
                self._once_problem(("hl", code), "ack.277.hl", f"HL03 {code} is not a 277CA level (PT is); read "
                                   "as the patient level", els, idx, element="HL03")
            # a dependent (23) under a subscriber (22) of a claim-status response: the subscriber's member id
            inherited = previous.member_id if code == "23" and previous is not None and previous.code == "22" else None
            self.patient = _Patient(code, idx, inherited)
        else:
            self.level = "?"
            self._problem("ack.277.hl", f"HL03 {code or '(empty)'} is not a level of a 277CA; the segments of this "
                          "level are skipped", els, idx, WARNING, element="HL03")
        return out

    def _close_level(self, els: Elements | None, idx: int | None) -> list[Ack]:
        """The loop open at a new HL or at the end of the transaction set, finished."""
        out: list[Ack] = []
        if self.claim is not None:
            out.append(self._finish_claim())
        p = self.patient
        if p is not None and p.claims == 0 and p.code == "PT":
            self.loop = "2000D"
            self._problem("ack.277.patient.empty", f"the patient level at segment {p.idx} has no claim (no 2200D "
                          "loop)", els, idx, WARNING)
        party = self.party
        if party is not None:
            totals = party.totals.build()
            if party.code == RECEIVER:
                out.append(ReceiverAck(party.name, party.id, party.trace, tuple(party.statuses), totals,
                                       self.source_name, self.source_id, party.source))
            else:
                out.append(ProviderAck(party.name, party.id, party.id_qualifier, party.trace, tuple(party.statuses),
                                       totals, party.source))
        self.party = None
        self.patient = None
        return out

    def _nm1(self, els: Elements, idx: int) -> tuple:
        e = _pad(els)
        level = self.level
        if level == SOURCE and not self.source_named:
            self.source_named = True
            self.source_name, self.source_id = e[3] or None, e[9] or None
            self.loop = "2100A"
        elif level in (RECEIVER, PROVIDER) and self.party is not None and not self.party.named:
            party = self.party
            party.named = True
            party.name, party.id_qualifier, party.id = e[3] or None, e[8] or None, e[9] or None
            if level == PROVIDER:
                self.billing_npi = party.id
            self.loop = "2100B" if level == RECEIVER else "2100C"
        elif level in PATIENT_LEVELS and self.patient is not None and not self.patient.named \
                and self.claim is None:
            p = self.patient
            p.named = True
            p.last, p.first = e[3] or None, e[4] or None
            p.member_id = e[9] or p.member_id
            self.loop = "2100D"
        elif level == "?":
            return _NOTHING
        else:
            return self._unexpected(els, idx)
        return _NOTHING

    def _trn(self, els: Elements, idx: int) -> list[Ack] | tuple:
        level = self.level
        if level == SOURCE:
            self.loop = "2200A"
            return _NOTHING
        if level in (RECEIVER, PROVIDER) and self.party is not None and self.party.trace is None:
            self.loop = "2200B" if level == RECEIVER else "2200C"
            self.party.trace = self._required(els, idx, 2, "trace number") or None
            if level == RECEIVER:
                self.receiver_trace = self.party.trace
            return _NOTHING
        if level in PATIENT_LEVELS and self.patient is not None:
            out: list[Ack] = [self._finish_claim()] if self.claim is not None else []
            self.loop = "2200D"
            pcn = self._required(els, idx, 2, "patient control number")
            self.claim = _Claim(pcn, self._source(idx))
            self.patient.claims += 1
            return out
        if level == "?":
            return _NOTHING
        return self._unexpected(els, idx)

    def _stc(self, els: Elements, idx: int) -> tuple:
        level = self.level
        if level == "?":
            return _NOTHING
        c = self.claim
        if c is None and level in PATIENT_LEVELS and self.patient is not None:
            self.loop = "2200D"
            self._problem("ack.277.trn.missing", "STC in a patient level without a claim status tracking number "
                          "(2200D TRN): the claim cannot be matched", els, idx)
            c = self.claim = _Claim("", self._source(idx))
            self.patient.claims += 1
        if c is not None:
            target = c.line.statuses if c.line is not None else c.statuses
        elif level in (RECEIVER, PROVIDER) and self.party is not None:
            target = self.party.statuses
        else:
            return self._unexpected(els, idx)
        target.append(self._status(els, idx))
        return _NOTHING

    def _status(self, els: Elements, idx: int) -> Status:
        e = _pad(els)
        found: list[StatusCode] = []
        for i in (1, 10, 11):
            parts = self._components(e[i])
            if not parts:
                if i == 1:
                    self._problem("ack.element.missing", "STC01 (claim status category and code) is empty", els,
                                  idx, element="STC01")
                continue
            parts += [""] * (3 - len(parts))
            category, code, entity = parts[0], parts[1], parts[2] or None
            element = f"STC{i:02d}"
            if category not in codes.CATEGORIES:
                family = codes.category_family(category)
                if family is None:
                    self._once_problem(("code", "STC-1", category), "ack.code.unknown", f"{element}-1 {category!r} "
                                       "is not a known claim status category", els, idx, element=element)
                elif self.version == X214:
                    self._once_problem(("category", category), "ack.277.category", f"{element}-1 {category} is a "
                                       "claim-status category, not a 277CA acknowledgement one", els, idx,
                                       element=element)
            found.append(StatusCode(category, code, entity, codes.category(category),
                                    codes.claim_status_words(code)))
        return Status(tuple(found), self._d8(els, idx, 2), e[3] or None, self._amount(els, idx, 4), e[12] or None,
                      self._source(idx))

    def _ref(self, els: Elements, idx: int) -> tuple:
        e = _pad(els)
        qualifier, value = e[1], e[2] or None
        c = self.claim
        if c is not None and c.line is not None:
            if qualifier == "FJ":
                c.line.control = value
            elif qualifier != "XZ":  # XZ, the pharmacy prescription number, is in the guide; no field keeps it
                self._ignored(els, idx, f"with qualifier {qualifier or '(empty)'}")
        elif c is not None:
            if qualifier == "1K":
                c.payer_claim_number = value
            elif qualifier == "D9":
                c.clearinghouse_trace = value
            elif qualifier == "BLT":
                c.bill_type = value
            else:
                self._ignored(els, idx, f"with qualifier {qualifier or '(empty)'}")
        elif self.level == PROVIDER and self.party is not None:
            pass  # 2200C REF: the provider's secondary identifier, in the guide; no field keeps it
        elif self.level == "?":
            pass
        else:
            return self._unexpected(els, idx)
        return _NOTHING

    def _dtp(self, els: Elements, idx: int) -> tuple:
        qualifier = els[1] if len(els) > 1 else ""
        c = self.claim
        level = self.level
        if level == SOURCE:
            self._period(els, idx)  # 2200A receipt and process dates: checked, not kept
        elif c is not None and qualifier == "472":
            period = self._period(els, idx)
            if period is not None:
                if c.line is not None:
                    c.line.service_date = period[0]
                else:
                    c.service_from, c.service_to = period
        elif c is not None:
            self._ignored(els, idx, f"with qualifier {qualifier or '(empty)'}")
        elif level == "?":
            pass
        else:
            return self._unexpected(els, idx)
        return _NOTHING

    def _qty(self, els: Elements, idx: int) -> tuple:
        party = self.party
        if party is None:
            return self._unexpected(els, idx) if self.level != "?" else _NOTHING
        qualifier = els[1] if len(els) > 1 else ""
        if qualifier in ("90", "QA"):
            party.totals.accepted_count = self._count(els, idx, 2)
        elif qualifier in ("AA", "QC"):
            party.totals.rejected_count = self._count(els, idx, 2)
        else:
            self._ignored(els, idx, f"with qualifier {qualifier or '(empty)'}")
        return _NOTHING

    def _amt(self, els: Elements, idx: int) -> tuple:
        party = self.party
        if party is None:
            return self._unexpected(els, idx) if self.level != "?" else _NOTHING
        qualifier = els[1] if len(els) > 1 else ""
        if qualifier == "YU":
            party.totals.accepted_amount = self._amount(els, idx, 2)
        elif qualifier == "YY":
            party.totals.rejected_amount = self._amount(els, idx, 2)
        else:
            self._ignored(els, idx, f"with qualifier {qualifier or '(empty)'}")
        return _NOTHING

    def _svc(self, els: Elements, idx: int) -> tuple:
        c = self.claim
        if c is None:
            return self._unexpected(els, idx) if self.level != "?" else _NOTHING
        if c.line is not None:
            c.lines.append(self._finish_line(c.line))
        self.loop = "2220D"
        c.line = _Line(els, self._source(idx), self._amount(els, idx, 2), self._amount(els, idx, 3))
        return _NOTHING

    def _finish_line(self, line: _Line) -> LineAck:
        e = _pad(line.els)
        procedure = ":".join(self._components(e[1])) or None
        return LineAck(procedure, line.charge, line.paid, e[4] or None, e[7] or None, tuple(line.statuses),
                       line.control, line.service_date, line.source)

    def _finish_claim(self) -> ClaimAck:
        c = self.claim
        assert c is not None
        self.claim = None
        if c.line is not None:
            c.lines.append(self._finish_line(c.line))
            c.line = None
        if not c.statuses:
            self._problem("ack.277.stc.missing", "the claim (2200D) has no STC: its status is not known", None,
                          c.source.segment)
        p = self.patient
        return ClaimAck(c.pcn, tuple(c.statuses), c.payer_claim_number, c.clearinghouse_trace, c.bill_type,
                        c.service_from, c.service_to, p.member_id if p else None, p.last if p else None,
                        p.first if p else None, self.billing_npi, self.source_name, self.source_id, tuple(c.lines),
                        c.source, self.version, self.receiver_trace)


def _parse_d8(text: str) -> date | None:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


P = AckParser
_ENVELOPE = {"ISA": P._isa, "GS": P._gs, "ST": P._st, "SE": P._se, "GE": P._ge, "IEA": P._iea, "TA1": P._ta1}
_999 = {"AK1": P._ak1, "AK2": P._ak2, "CTX": P._ctx, "AK9": P._ak9}
_DISPATCH = {
    None: _ENVELOPE,
    "other": _ENVELOPE,
    "999": {**_ENVELOPE, **_999, "IK3": P._ik3, "IK4": P._ik4, "IK5": P._ik5},
    "997": {**_ENVELOPE, **_999, "AK3": P._ik3, "AK4": P._ik4, "AK5": P._ik5},
    "277": {**_ENVELOPE, "BHT": P._bht, "HL": P._hl, "NM1": P._nm1, "TRN": P._trn, "STC": P._stc, "REF": P._ref,
            "DTP": P._dtp, "QTY": P._qty, "AMT": P._amt, "SVC": P._svc},
}
del P


class AckReader(StreamedReader):
    """Iterate the acknowledgements of a file; ``problems`` holds every problem found (syntax, envelope,
    content) once iteration ends, by position, and ``segments`` / ``bytes`` what was read."""

    def make_parser(self, path: str) -> AckParser:
        return AckParser(path)


def read_acks(path: str) -> AckReader:
    """The acknowledgements of a file (``-`` for standard input), streamed. See the module docstring."""
    return AckReader(path)


def parse_acks(data: bytes, file: str = "<bytes>") -> tuple[list[Ack], list[Problem]]:
    """Every acknowledgement of an in-memory file, and the problems by position (for tests and small inputs)."""
    return parse_all(data, AckParser(file), file)
