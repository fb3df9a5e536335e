"""The acknowledgement reader (TA1, 999, 277CA), as worked examples with inline X12."""

from __future__ import annotations

import io
import sys
import tracemalloc
from datetime import date
from decimal import Decimal as D

from x12text import interchange, isa

from edi.acks import (
    ClaimAck,
    GroupAck,
    InterchangeAck,
    ProviderAck,
    ReceiverAck,
    TransactionSetAck,
    parse_acks,
    read_acks,
)
from edi.acks import codes as ack_codes


def ack999(body: str, st01: str = "999", version: str = "005010X231A1") -> bytes:
    return interchange(body, functional_id="FA", version=version, st01=st01, st03=version)


def ack277(body: str, version: str = "005010X214") -> bytes:
    return interchange(body, functional_id="HN", version=version, st01="277", st03=version)


def codes(problems):
    return [(p.code, p.where.segment) for p in problems]


# -- TA1 ----------------------------------------------------------------------------------------------------------


def test_ta1_accepted_and_rejected_with_the_note_in_words():
    data = (isa(5) + "\nTA1*000000101*250101*1200*A*000~\nTA1*000000102*241231*0930*R*006~\n"
            "IEA*0*000000005~\n").encode()
    items, problems = parse_acks(data, file="t.ta1")
    assert problems == []
    ok, rejected = items
    assert isinstance(ok, InterchangeAck) and ok.accepted
    assert (ok.control_number, ok.date, ok.time, ok.status, ok.status_words, ok.note_code, ok.note) == (
        "000000101", date(2025, 1, 1), "1200", "A", "accepted", "000", "no error")
    assert (ok.sender, ok.receiver) == ("SENDER", "RECEIVER")
    assert (ok.source.file, ok.source.interchange, ok.source.transaction, ok.source.segment) == (
        "t.ta1", "000000005", None, 2)
    assert not rejected.accepted
    assert (rejected.status_words, rejected.note_code, rejected.note) == (
        "rejected", "006", "invalid interchange sender ID")
    assert rejected.date == date(2024, 12, 31)


def test_a_ta1_travels_before_the_999_in_the_same_interchange():
    lines = [isa(7), "TA1*000000101*250101*1200*A*000~", "GS*FA*SENDER*RECEIVER*20250101*1200*1*X*005010X231A1~",
             "ST*999*0001*005010X231A1~", "AK1*HC*1*005010X222A1~", "AK2*837*0001*005010X222A1~", "IK5*A~",
             "AK9*A*1*1*1~", "SE*6*0001~", "GE*1*1~", "IEA*1*000000007~"]
    items, problems = parse_acks("\n".join(lines).encode())
    assert problems == []
    assert [type(i).__name__ for i in items] == ["InterchangeAck", "TransactionSetAck", "GroupAck"]


def test_unknown_ta1_codes_are_warnings_and_keep_words():
    data = (isa(5) + "TA1*000000101*250101*1200*Z*099~IEA*0*000000005~").encode()
    items, problems = parse_acks(data)
    assert items[0].status_words == "unknown code 'Z'" and items[0].note == "unknown code '099'"
    assert codes(problems) == [("ack.code.unknown", 2), ("ack.code.unknown", 2)]
    assert all(not p.is_error for p in problems)


# -- 999 ----------------------------------------------------------------------------------------------------------

ACK_999 = """
AK1*HC*17*005010X222A1~
AK2*837*0001*005010X222A1~
IK5*A~
AK2*837*0002*005010X222A1~
IK3*SV1*30*2400*8~
CTX*CLM01:PCN0002~
IK4*1:2*234*7*XYZ99~
IK3*REF*57*2300*I6~
CTX*SITUATIONAL TRIGGER*CLM*43**5:3*C023:1325~
IK5*R*5*I5~
AK9*P*2*2*1~
"""


def test_999_accepting_one_set_and_rejecting_another():
    items, problems = parse_acks(ack999(ACK_999), file="t.999")
    assert problems == []
    accepted, rejected, group = items
    assert isinstance(accepted, TransactionSetAck) and accepted.accepted
    assert (accepted.functional_id, accepted.group_control, accepted.transaction_set, accepted.control_number,
            accepted.version, accepted.status_words, accepted.segment_errors) == (
        "HC", "17", "837", "0001", "005010X222A1", "accepted", ())
    assert accepted.source.segment == 5 and accepted.source.transaction == "0001" and accepted.source.file == "t.999"

    assert not rejected.accepted
    assert (rejected.control_number, rejected.status, rejected.error_codes, rejected.errors) == (
        "0002", "R", ("5", "I5"), ("one or more segments in error", "implementation one or more segments in error"))
    sv1, ref = rejected.segment_errors
    assert (sv1.tag, sv1.position, sv1.loop, sv1.code, sv1.meaning) == (
        "SV1", 30, "2400", "8", "segment has data element errors")
    assert sv1.business_unit == ("CLM01", "PCN0002") and sv1.context == ("CLM01:PCN0002",)
    (element,) = sv1.elements
    assert (element.position, element.element, element.component, element.repetition, element.reference,
            element.code, element.meaning, element.bad_value) == (
        "1:2", 1, 2, None, "234", "7", "invalid code value", "XYZ99")
    assert element.source.segment == 10
    assert (ref.tag, ref.loop, ref.meaning, ref.business_unit) == (
        "REF", "2300", "implementation dependent segment missing", None)
    assert ref.context == ("SITUATIONAL TRIGGER*CLM*43**5:3*C023:1325",)

    assert isinstance(group, GroupAck) and not group.accepted
    assert (group.functional_id, group.group_control, group.version, group.status, group.status_words) == (
        "HC", "17", "005010X222A1", "P", "partially accepted, at least one transaction set was rejected")
    assert (group.included, group.received, group.accepted_count, group.transaction_sets) == (2, 2, 1, 2)
    assert (group.sender, group.receiver, group.source.segment) == ("SENDER", "RECEIVER", 4)


def test_a_997_is_read_like_a_999_with_a_warning():
    body = """
    AK1*HC*17~
    AK2*837*0001~
    AK5*A~
    AK2*837*0002~
    AK3*CLM*22**8~
    AK4*2*782*1~
    AK5*R*5~
    AK9*P*2*2*1~
    """
    items, problems = parse_acks(ack999(body, st01="997", version="005010X230"))
    assert codes(problems) == [("ack.997", 3)]
    assert [(type(i).__name__, i.status) for i in items] == [
        ("TransactionSetAck", "A"), ("TransactionSetAck", "R"), ("GroupAck", "P")]
    assert items[1].segment_errors[0].elements[0].meaning == "required data element missing"


def test_a_set_without_ik5_a_group_without_ak9_and_counts_that_disagree():
    body = """
    AK1*HC*17~
    AK2*837*0001~
    IK3*CLM*5**8~
    AK2*837*0002~
    IK5*A~
    AK9*A*2*3*2~
    AK1*HC*18~
    AK2*837*0003~
    """
    items, problems = parse_acks(ack999(body))
    assert [(type(i).__name__, i.control_number if isinstance(i, TransactionSetAck) else i.group_control,
             i.status) for i in items] == [
        ("TransactionSetAck", "0001", ""), ("TransactionSetAck", "0002", "A"), ("GroupAck", "17", "A"),
        ("TransactionSetAck", "0003", "")]
    assert not items[0].accepted and items[0].segment_errors[0].tag == "CLM"
    assert codes(problems) == [("ack.999.ik5.missing", 7), ("ack.999.count", 9), ("ack.999.count", 9),
                               ("ack.999.ik5.missing", 12), ("ack.999.ak9.missing", 12)]


# -- 277CA --------------------------------------------------------------------------------------------------------

ACK_277 = """
BHT*0085*08*277CA0001*20250102*1030*TH~
HL*1**20*1~
NM1*PR*2*ACME INSURANCE*****PI*PAYER01~
TRN*1*RCPT0001~
DTP*050*D8*20250101~
DTP*009*D8*20250102~
HL*2*1*21*1~
NM1*41*2*ACME BILLING*****46*SUBMITTERID~
TRN*2*BATCH0001~
STC*A1:19:PR*20250102*WQ*250~
QTY*90*1~
QTY*AA*1~
AMT*YU*150~
AMT*YY*100~
HL*3*2*19*1~
NM1*85*2*ACME CLINIC*****XX*1234567893~
TRN*1*PROV0001~
STC*A1:19:PR**WQ*250~
QTY*QA*1~
QTY*QC*1~
AMT*YU*150~
AMT*YY*100.00~
HL*4*3*PT~
NM1*QC*1*DOE*JOHN****MI*MEMBER123~
TRN*2*PCN0001~
STC*A2:20:PR*20250102*WQ*150~
REF*1K*CCN111~
REF*D9*CHTRACE1~
DTP*472*RD8*20241215-20241216~
HL*5*3*PT~
NM1*QC*1*ROE*RICHARD****MI*MEMBER789~
TRN*2*PCN0002~
STC*A7:562:85*20250102*U*100******A6:21:85**BILLING PROVIDER NPI~
REF*D9*CHTRACE2~
REF*BLT*131~
DTP*472*D8*20241220~
SVC*HC:99213:25*100*0****1~
STC*A7:454*20250102*U*100~
REF*FJ*PCN0002-1~
DTP*472*D8*20241220~
"""


def test_277ca_accepting_one_claim_and_rejecting_another():
    items, problems = parse_acks(ack277(ACK_277), file="t.277")
    assert problems == []
    assert [type(i).__name__ for i in items] == ["ReceiverAck", "ProviderAck", "ClaimAck", "ClaimAck"]
    receiver, provider, accepted, rejected = items

    assert isinstance(receiver, ReceiverAck)
    assert (receiver.name, receiver.id, receiver.trace, receiver.source_name, receiver.source_id) == (
        "ACME BILLING", "SUBMITTERID", "BATCH0001", "ACME INSURANCE", "PAYER01")
    assert (receiver.totals.accepted_count, receiver.totals.rejected_count, receiver.totals.accepted_amount,
            receiver.totals.rejected_amount) == (1, 1, D(150), D(100))
    (status,) = receiver.statuses
    assert (status.outcome, status.effective_date, status.action, status.amount) == (
        "accepted", date(2025, 1, 2), "WQ", D(250))
    assert status.codes[0].code_words == "entity acknowledges receipt of claim/encounter"
    assert receiver.source.segment == 10

    assert isinstance(provider, ProviderAck)
    assert (provider.name, provider.npi, provider.id_qualifier, provider.trace) == (
        "ACME CLINIC", "1234567893", "XX", "PROV0001")
    assert provider.totals.rejected_amount == D("100.00") and provider.statuses[0].effective_date is None

    assert isinstance(accepted, ClaimAck) and accepted.outcome == "accepted"
    assert (accepted.patient_control_number, accepted.payer_claim_number, accepted.clearinghouse_trace,
            accepted.service_from, accepted.service_to, accepted.charge) == (
        "PCN0001", "CCN111", "CHTRACE1", date(2024, 12, 15), date(2024, 12, 16), D(150))
    assert (accepted.member_id, accepted.patient_last_name, accepted.patient_first_name, accepted.billing_npi,
            accepted.source_name, accepted.source_id) == (
        "MEMBER123", "DOE", "JOHN", "1234567893", "ACME INSURANCE", "PAYER01")
    assert accepted.statuses[0].codes[0].code_words == "accepted for processing"
    assert (accepted.source.file, accepted.source.transaction, accepted.source.segment) == ("t.277", "0001", 28)

    assert rejected.outcome == "rejected"
    (stc,) = rejected.statuses
    first, additional = stc.codes
    assert (first.category, first.code, first.entity, first.code_words) == ("A7", "562", "85", None)
    assert first.category_words.startswith("acknowledgement/rejected for invalid information")
    assert (additional.category, additional.code, additional.entity, additional.code_words) == (
        "A6", "21", "85", "missing or invalid information")
    assert (stc.action, stc.message) == ("U", "BILLING PROVIDER NPI")
    assert (rejected.clearinghouse_trace, rejected.bill_type, rejected.payer_claim_number) == (
        "CHTRACE2", "131", None)
    assert rejected.service_from == rejected.service_to == date(2024, 12, 20)
    (line,) = rejected.lines
    assert (line.procedure, line.charge, line.paid, line.units, line.line_control_number, line.service_date) == (
        "HC:99213:25", D(100), D(0), "1", "PCN0002-1", date(2024, 12, 20))
    assert line.statuses[0].codes[0].category == "A7" and line.source.segment == 40


def test_277_of_another_version_is_read_with_a_warning():
    body = """
    BHT*0010*08*1*20250101*1200*DG~
    HL*1**20*1~
    NM1*PR*2*PAYER*****PI*1~
    HL*2*1*21*1~
    NM1*41*2*RECEIVER*****46*2~
    HL*3*2*19*1~
    NM1*1P*2*CLINIC*****XX*1234567893~
    HL*4*3*22*1~
    NM1*IL*1*DOE*JANE****MI*M1~
    HL*5*4*23~
    NM1*QC*1*DOE*JOE~
    TRN*2*PCN9~
    STC*F2:88:QC*20250101**150*0~
    """
    items, problems = parse_acks(ack277(body, version="005010X212"))
    assert codes(problems) == [("ack.277.version", 3)]
    claim = items[-1]
    assert (claim.patient_control_number, claim.outcome, claim.member_id, claim.patient_first_name) == (
        "PCN9", "other", "M1", "JOE")
    assert claim.statuses[0].codes[0].category_words.startswith("finalized")


def test_a_claim_status_without_trn_is_an_error_and_still_yielded():
    body = """
    HL*1**20*1~
    NM1*PR*2*PAYER*****PI*1~
    HL*2*1*21*1~
    NM1*41*2*RECEIVER*****46*2~
    TRN*2*B1~
    STC*A1:19*20250101*WQ*10~
    HL*3*2*19*1~
    NM1*85*2*CLINIC*****XX*1234567893~
    TRN*1*P1~
    STC*A1:19**WQ*10~
    HL*4*3*PT~
    NM1*QC*1*DOE*JANE****MI*M1~
    STC*A3:21*20250101*U*10~
    HL*5*3*PT~
    NM1*QC*1*DOE*JOE****MI*M2~
    """
    items, problems = parse_acks(ack277(body))
    claim = items[2]
    assert (claim.patient_control_number, claim.outcome) == ("", "rejected")
    assert codes(problems) == [("ack.277.trn.missing", 16), ("ack.277.patient.empty", 19)]


# -- the wrong file, bad values -------------------------------------------------------------------------------------


def test_an_835_yields_nothing_and_one_error_naming_it():
    items, problems = parse_acks(interchange("BPR*I*0*C*NON************20250110~\nTRN*1*1*1~"))
    assert items == []
    assert codes(problems) == [("ack.transaction.unexpected", 3)]
    assert problems[0].is_error and "835" in problems[0].message


def test_bad_amounts_dates_and_counts_are_problems_and_read_as_none():
    body = """
    HL*1**20*1~
    NM1*PR*2*PAYER*****PI*1~
    TRN*1*R1~
    DTP*050*D8*20250230~
    HL*2*1*21*1~
    NM1*41*2*RECEIVER*****46*2~
    TRN*2*B1~
    STC*A1:19*20251301*WQ*1E5~
    QTY*90*1.5~
    AMT*YU*NaN~
    AMT*YY*1_000~
    HL*3*2*19*1~
    NM1*85*2*CLINIC*****XX*1234567893~
    TRN*1*P1~
    STC*A1:19**WQ*Infinity~
    HL*4*3*PT~
    NM1*QC*1*SECRETLAST*SECRETFIRST****MI*SECRETMEMBER~
    TRN*2*SECRETPCN~
    STC*A2:20*20250101*WQ*+5~
    DTP*472*RD8*20250102-2025010~
    SVC*HC:99213*-12.5*.5~
    """
    items, problems = parse_acks(ack277(body))
    receiver, provider, claim = items
    assert receiver.statuses[0].effective_date is None and receiver.statuses[0].amount is None
    assert receiver.totals == type(receiver.totals)(None, None, None, None)
    assert provider.statuses[0].amount is None
    assert claim.charge is None and claim.service_from is None
    assert (claim.lines[0].charge, claim.lines[0].paid) == (D("-12.5"), D(".5"))
    assert codes(problems) == [
        ("ack.date", 7), ("ack.date", 11), ("ack.amount", 11), ("ack.number", 12), ("ack.amount", 13),
        ("ack.amount", 14), ("ack.amount", 18), ("ack.amount", 22), ("ack.date", 23)]
    assert [p.where.element for p in problems] == [
        "DTP03", "STC02", "STC04", "QTY02", "AMT02", "AMT02", "STC04", "STC04", "DTP03"]
    for p in problems:
        assert "SECRET" not in p.message


def test_a_ta1_date_in_ccyymmdd_is_read_with_a_warning():
    data = (isa(5) + "TA1*000000101*20250101*1200*A*000~TA1*000000102*251301*1200*A*000~"
            "IEA*0*000000005~").encode()
    items, problems = parse_acks(data)
    assert [i.date for i in items] == [date(2025, 1, 1), None]
    assert [(p.code, p.severity.value, p.where.segment) for p in problems] == [
        ("ack.date.format", "warning", 2), ("ack.date", "error", 3)]


def test_code_tables_answer_for_any_code():
    assert ack_codes.segment_error("I4") == 'implementation "not used" segment present'
    assert ack_codes.element_error("Q9") == "unknown code 'Q9'"
    assert ack_codes.group_status("P").startswith("partially accepted")
    assert ack_codes.group_error("4").startswith("group control number")
    assert ack_codes.set_error("23").endswith("not unique within the functional group")
    assert ack_codes.ta1_note("031") == "invalid grade of service code"
    assert ack_codes.category("A4") == "acknowledgement/not found"
    assert ack_codes.category("P1").startswith("pending") and ack_codes.category("X9") == "unknown code 'X9'"
    assert ack_codes.claim_status("20") == "accepted for processing"
    assert ack_codes.claim_status("562") == "status code 562" and ack_codes.claim_status_words("562") is None


# -- streaming ------------------------------------------------------------------------------------------------------


def big_999(sets: int):
    """A 999 acknowledging ``sets`` transaction sets, as a generator of byte chunks (never whole in memory)."""
    yield (isa(9) + "\nGS*FA*SENDER*RECEIVER*20250101*1200*1*X*005010X231A1~\n"
           "ST*999*0001*005010X231A1~\nAK1*HC*1*005010X222A1~\n").encode()
    batch = []
    for n in range(1, sets + 1):
        batch.append(f"AK2*837*{n:09d}*005010X222A1~\nIK5*A~\n")
        if len(batch) == 1000:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()
    yield (f"AK9*A*{sets}*{sets}*{sets}~\nSE*{2 * sets + 4}*0001~\nGE*1*1~\nIEA*1*000000009~\n").encode()


class GeneratorInput(io.RawIOBase):
    """A binary stream over a generator of chunks, counting how many chunks were taken."""

    def __init__(self, chunks) -> None:
        self.chunks = chunks
        self.taken = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = next(self.chunks, b"")
        if chunk:
            self.taken += 1
        return chunk


class Stdin:
    def __init__(self, buffer) -> None:
        self.buffer = buffer


def test_the_first_item_comes_before_the_reader_reaches_the_end(monkeypatch):
    sets = 20_000
    source = GeneratorInput(big_999(sets))
    monkeypatch.setattr(sys, "stdin", Stdin(source))
    reader = read_acks("-")
    stream = iter(reader)
    first = next(stream)
    assert isinstance(first, TransactionSetAck) and first.control_number == "000000001"
    assert source.taken < 5  # of 22 chunks
    rest = list(stream)
    assert len(rest) == sets and isinstance(rest[-1], GroupAck)
    assert (rest[-1].received, rest[-1].accepted_count, rest[-1].transaction_sets) == (sets, sets, sets)
    assert reader.problems == [] and reader.segments == 2 * sets + 8


def test_memory_does_not_grow_with_the_file(monkeypatch):
    def peak(sets: int) -> int:
        monkeypatch.setattr(sys, "stdin", Stdin(GeneratorInput(big_999(sets))))
        tracemalloc.start()
        try:
            count = sum(1 for _ in read_acks("-"))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert count == sets + 1

    small, large = peak(5_000), peak(50_000)
    assert large < small * 2 + 500_000, (small, large)


def test_an_amount_too_long_to_compute_with_is_a_problem():
    """An STC04 of 81 digits crashed the import (decimal.InvalidOperation when the ledger quantized it; found by
    benchmarks/fuzz.py): beyond Decimal's 28 digits a value is no longer exact, so the reader refuses it."""
    body = """
    HL*1**20*1~
    NM1*PR*2*PAYER*****PI*1~
    TRN*1*R1~
    HL*2*1*21*1~
    NM1*41*2*RECEIVER*****46*2~
    TRN*2*B1~
    HL*3*2*19*1~
    NM1*85*2*CLINIC*****XX*1234567893~
    TRN*1*P1~
    HL*4*3*PT~
    NM1*QC*1*LAST*FIRST****MI*M1~
    TRN*2*PCN1~
    STC*A2:20*20250101*WQ*{amount}~
    """
    items, problems = parse_acks(ack277(body.format(amount="1" * 81)))
    assert items[-1].charge is None and codes(problems) == [("ack.amount", 16)]
    items, problems = parse_acks(ack277(body.format(amount="9" * 28)))  # kept: the ledger says it cannot keep it
    assert items[-1].charge == D("9" * 28) and problems == []


def test_a_count_of_more_than_nine_digits_is_a_problem():
    items, problems = parse_acks(ack999("AK1*HC*1*005010X222A1~\nAK9*A*1*1*" + "1" * 40 + "~"))
    assert codes(problems)[0] == ("ack.number", 5) and items[-1].accepted_count is None
