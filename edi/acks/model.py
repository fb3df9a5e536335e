"""Acknowledgements, as read from TA1, 999 and 277CA files: frozen values, each with its ``source``.

The reader (``edi.acks.reader.read_acks``) streams these in file order, whatever mix of acknowledgements a
file holds (a TA1 often travels in the same interchange as a 999):

- ``InterchangeAck``: one TA1 segment (the interchange it acknowledges, by ISA13; accepted or rejected; the
  note code in words).
- ``TransactionSetAck``: one AK2 loop of a 999, closed by its IK5 (the 837 transaction set it acknowledges, by
  GS06 of its group and ST02; accepted, accepted with errors, rejected; every IK3/IK4 error).
- ``GroupAck``: the AK9 of a 999 (the functional group, by GS06; its status and counts), after its sets.
- ``ClaimAck``: one 2200D loop of a 277CA (the claim, by patient control number = TRN02; every STC; payer and
  clearinghouse claim numbers; lines of 2220D).
- ``ProviderAck`` / ``ReceiverAck``: the 2200C (billing provider) and 2200B (information receiver) loops of a
  277CA with the totals they give (QTY and AMT: accepted and rejected counts and amounts).

Element values that may identify a patient (names, member ids, IK404 bad-data copies) are kept on the objects,
for a person who asks, and never put into problem messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from edi.model import Source

#: 277CA claim status categories that mean the claim entered the payer's or clearinghouse's process.
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})
#: 277CA categories that mean the claim was returned and will not be adjudicated as sent.
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """A TA1: the answer to one interchange."""

    control_number: str  # TA101: ISA13 of the acknowledged interchange
    date: date | None  # TA102: its ISA09
    time: str | None  # TA103: its ISA10 (HHMM)
    status: str  # TA104: A accepted, E accepted with errors, R rejected
    status_words: str
    note_code: str  # TA105 (000 no error)
    note: str  # TA105 in words
    sender: str | None  # ISA06 of the interchange carrying the TA1 (who acknowledges), stripped
    receiver: str | None  # ISA08 of that interchange, stripped
    source: Source

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass(frozen=True, slots=True)
class ElementError:
    """An IK4: an element in error inside the segment its IK3 names."""

    position: str  # IK401 as sent: "3", "3:1", "3:1:2"
    element: int | None  # IK401-1
    component: int | None  # IK401-2
    repetition: int | None  # IK401-3
    reference: str | None  # IK402: data element reference number
    code: str  # IK403
    meaning: str  # IK403 in words
    bad_value: str | None  # IK404: a copy of the bad data (may hold patient data: never print it by default)
    source: Source


@dataclass(frozen=True, slots=True)
class SegmentError:
    """An IK3 (with its CTX and IK4s): a segment in error inside the acknowledged transaction set."""

    tag: str  # IK301
    position: int | None  # IK302: the segment's position in the transaction set, ST = 1
    loop: str | None  # IK303: the loop id, e.g. 2300
    code: str | None  # IK304
    meaning: str  # IK304 in words
    business_unit: tuple[str, str] | None  # CTX*<name>:<value>, e.g. ("CLM01", "PCN123")
    context: tuple[str, ...]  # every CTX as sent, elements joined with "*"
    elements: tuple[ElementError, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class TransactionSetAck:
    """An AK2 loop and its IK5: the answer to one transaction set of the acknowledged group."""

    functional_id: str  # AK101 of the enclosing AK1 (HC for 837)
    group_control: str  # AK102: GS06 of the acknowledged group
    transaction_set: str  # AK201: ST01 acknowledged, e.g. 837
    control_number: str  # AK202: ST02 acknowledged
    version: str | None  # AK203: ST03 acknowledged
    status: str  # IK501: A, E, M, R, W, X
    status_words: str
    error_codes: tuple[str, ...]  # IK502..IK506
    errors: tuple[str, ...]  # the same, in words
    segment_errors: tuple[SegmentError, ...]
    source: Source  # the AK2's position

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass(frozen=True, slots=True)
class GroupAck:
    """The AK1/AK9 of a 999: the answer to one functional group. Follows the group's ``TransactionSetAck``s."""

    functional_id: str  # AK101
    group_control: str  # AK102: GS06 of the acknowledged group
    version: str | None  # AK103
    status: str  # AK901: A, E, P (partially accepted), R, M, W, X
    status_words: str
    included: int | None  # AK902: transaction sets in the group (GE01)
    received: int | None  # AK903
    accepted_count: int | None  # AK904
    error_codes: tuple[str, ...]  # AK905..AK909
    errors: tuple[str, ...]  # the same, in words
    transaction_sets: int  # how many AK2 loops this 999 gave for the group
    sender: str | None  # ISA06 of the interchange carrying the 999 (who acknowledges), stripped
    receiver: str | None  # ISA08 of that interchange, stripped
    source: Source  # the AK1's position

    @property
    def accepted(self) -> bool:
        """True when the group passed whole (A or E); P means some sets were rejected (see each set)."""
        return self.status in ("A", "E")


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One STC composite (STC01, STC10 or STC11): category, status and entity codes."""

    category: str  # e.g. A2
    code: str  # claim status code (X12 code source 508), e.g. 20
    entity: str | None  # entity identifier code, e.g. PR, 85
    category_words: str  # the category in words
    code_words: str | None  # the status code in words when edi knows it (a few common ones), else None


@dataclass(frozen=True, slots=True)
class Status:
    """One STC segment."""

    codes: tuple[StatusCode, ...]  # STC01, then STC10 and STC11 when present
    effective_date: date | None  # STC02
    action: str | None  # STC03 (WQ accepted, U rejected)
    amount: Decimal | None  # STC04: total claim charge
    message: str | None  # STC12 free text
    source: Source

    def words(self, *, message: bool = True) -> str:
        """The STC in words: each composite as ``A7:562:85`` with its category (and status code) meaning; then
        its free text (STC12) unless ``message`` is false (a payer's free text may name a patient: the ledger keeps
        it with the acknowledgement, not in the claim's status reason)."""
        said = []
        for c in self.codes:
            code = ":".join(x for x in (c.category, c.code, c.entity) if x)
            words = c.category_words + (f", {c.code_words}" if c.code_words else f", status code {c.code}")
            if c.entity:
                words += f" (entity {c.entity})"
            said.append(f"{code} {words}")
        text = "; ".join(said)
        if self.message and message:
            text += f" - {self.message}"
        return text

    @property
    def outcome(self) -> str:
        """``accepted``, ``rejected`` or ``other`` from the categories of STC01/10/11 (a rejection wins)."""
        cats = {c.category for c in self.codes}
        if cats & REJECTED_CATEGORIES:
            return "rejected"
        if cats & ACCEPTED_CATEGORIES:
            return "accepted"
        return "other"


@dataclass(frozen=True, slots=True)
class LineAck:
    """A 2220D loop: one service line's status."""

    procedure: str | None  # SVC01 as sent (qualifier:code[:modifiers]), e.g. HC:99213
    charge: Decimal | None  # SVC02
    paid: Decimal | None  # SVC03
    revenue_code: str | None  # SVC04
    units: str | None  # SVC07
    statuses: tuple[Status, ...]
    line_control_number: str | None  # REF*FJ (the 837's REF*6R)
    service_date: date | None  # DTP*472 (the first date of a range)
    source: Source


@dataclass(frozen=True, slots=True)
class ClaimAck:
    """A 2200D loop of a 277CA: the answer for one claim."""

    patient_control_number: str  # TRN02: the 837 CLM01
    statuses: tuple[Status, ...]  # every STC, in order
    payer_claim_number: str | None  # REF*1K
    clearinghouse_trace: str | None  # REF*D9
    bill_type: str | None  # REF*BLT
    service_from: date | None  # DTP*472 (D8, or the start of an RD8)
    service_to: date | None  # DTP*472 (the end of an RD8; = service_from for D8)
    member_id: str | None  # 2100D NM109 (patient data)
    patient_last_name: str | None  # 2100D NM103 (patient data)
    patient_first_name: str | None  # 2100D NM104 (patient data)
    billing_npi: str | None  # 2100C NM109 of the provider above
    source_name: str | None  # 2100A NM103: who sends the acknowledgement (payer or clearinghouse)
    source_id: str | None  # 2100A NM109
    lines: tuple[LineAck, ...]
    source: Source  # the TRN's position
    version: str | None = None  # ST03 (else GS08) of its 277: 005010X214 for a 277CA
    batch_trace: str | None = None  # 2200B TRN02 above it: the submitter's batch id (the 837's BHT03)

    @property
    def is_277ca(self) -> bool:
        """A 277CA (005010X214) acknowledgement, as opposed to a claim-status response (X212), whose categories
        say where a claim stands in adjudication, not whether it was accepted."""
        return self.version == "005010X214"

    @property
    def outcome(self) -> str:
        """``rejected`` if any STC rejects, else ``accepted`` if any accepts, else ``other``."""
        outcomes = {s.outcome for s in self.statuses}
        if "rejected" in outcomes:
            return "rejected"
        if "accepted" in outcomes:
            return "accepted"
        return "other"

    @property
    def charge(self) -> Decimal | None:
        """The total claim charge the STCs give (STC04 of the first STC that has one)."""
        return next((s.amount for s in self.statuses if s.amount is not None), None)


@dataclass(frozen=True, slots=True)
class Totals:
    """QTY and AMT of a 2200B or 2200C loop."""

    accepted_count: int | None  # QTY*90 (2200B) / QTY*QA (2200C)
    rejected_count: int | None  # QTY*AA (2200B) / QTY*QC (2200C)
    accepted_amount: Decimal | None  # AMT*YU
    rejected_amount: Decimal | None  # AMT*YY


@dataclass(frozen=True, slots=True)
class ReceiverAck:
    """A 2000B/2200B loop of a 277CA: the information receiver (the submitter) and its batch totals."""

    name: str | None  # 2100B NM103
    id: str | None  # 2100B NM109 (the submitter's ETIN)
    trace: str | None  # 2200B TRN02 (the submitter's batch id)
    statuses: tuple[Status, ...]
    totals: Totals
    source_name: str | None  # 2100A NM103
    source_id: str | None  # 2100A NM109
    source: Source


@dataclass(frozen=True, slots=True)
class ProviderAck:
    """A 2000C/2200C loop of a 277CA: one billing provider and its totals."""

    name: str | None  # 2100C NM103
    npi: str | None  # 2100C NM109 (XX)
    id_qualifier: str | None  # 2100C NM108
    trace: str | None  # 2200C TRN02
    statuses: tuple[Status, ...]
    totals: Totals
    source: Source


Ack = InterchangeAck | TransactionSetAck | GroupAck | ReceiverAck | ProviderAck | ClaimAck
