"""The writer: values to segments, refusals, and envelopes that validate."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from edi.validate import validate_bytes
from edi.x12.segment import Delimiters
from edi.x12.tokenizer import tokenize
from edi.x12.writer import (
    CounterControlNumbers,
    DelimiterInData,
    EnvelopeError,
    Group,
    InterchangeWriter,
    Party,
    Repeat,
    Transaction,
    build_interchange,
    format_raw,
    format_segment,
    write_segments,
)

D = Delimiters("*", ":", "^", "~")


def test_composites_repetitions_and_trailing_empties():
    assert format_segment("SV1", [("HC", "99213", "25"), "100", "UN", "1", None, None, ("1", "2")], D) == \
        "SV1*HC:99213:25*100*UN*1***1:2"
    assert format_segment("HI", [Repeat([("ABK", "E119"), ("ABF", "I10")])], D) == "HI*ABK:E119^ABF:I10"
    assert format_segment("NM1", ["85", "2", "CLINIC", "", "", "", "", "XX", "1234567893", "", ""], D) == \
        "NM1*85*2*CLINIC*****XX*1234567893"
    assert format_segment("SV1", [("HC", "99213", "", ""), "100"], D) == "SV1*HC:99213*100"


@pytest.mark.parametrize("value", ["A*B", "A~B", "A:B", "A^B", "line\nbreak"])
def test_a_value_containing_a_delimiter_is_refused_by_name(value):
    with pytest.raises(DelimiterInData) as info:
        format_segment("NM1", ["IL", "1", value], D)
    assert info.value.element == "NM103"


def test_a_component_containing_a_delimiter_is_refused_by_name():
    with pytest.raises(DelimiterInData) as info:
        format_segment("SV1", [("HC", "992*13")], D)
    assert info.value.element == "SV101-2"


def test_raw_segments_keep_their_composites_but_not_element_separators():
    assert format_raw(["SV1", "HC:99213", "100"], D) == "SV1*HC:99213*100"
    with pytest.raises(DelimiterInData):
        format_raw(["NM1", "A~B"], D)


def test_read_write_round_trip():
    data = (b"ISA*00*          *00*          *ZZ*S              *ZZ*R              *250101*1200*^*00501*000000001"
            b"*0*T*:~GS*HC*S*R*20250101*1200*1*X*005010X222A1~SV1*HC:99213*100~IEA*1*000000001~")
    segs, _ = tokenize(data)
    again, _ = tokenize(write_segments(segs, segs[0].delimiters, line_break=""))
    assert [s.elements for s in again] == [s.elements for s in segs]


def make_837p(body_claim_id: str = "PCN0001") -> bytes:
    """A 5010 837P around a handful of body segments, written by the envelope builder."""
    body = [
        ("BHT", ["0019", "00", "BATCH0001", "20250101", "1200", "CH"]),
        ("NM1", ["41", "2", "ACME BILLING", "", "", "", "", "46", "SUBMITTERID"]),
        ("PER", ["IC", "JANE DOE", "TE", "5555551234"]),
        ("NM1", ["40", "2", "CLEARINGHOUSE INC", "", "", "", "", "46", "RECEIVERID"]),
        ("HL", ["1", "", "20", "1"]),
        ("NM1", ["85", "2", "ACME CLINIC", "", "", "", "", "XX", "1234567893"]),
        ("N3", ["123 MAIN ST"]),
        ("N4", ["ANYTOWN", "CA", "900011234"]),
        ("REF", ["EI", "123456789"]),
        ("HL", ["2", "1", "22", "0"]),
        ("SBR", ["P", "18", "GRP123", "", "", "", "", "", "CI"]),
        ("NM1", ["IL", "1", "DOE", "JOHN", "", "", "", "MI", "MEMBER123"]),
        ("N3", ["1 ELM ST"]),
        ("N4", ["ANYTOWN", "CA", "90001"]),
        ("DMG", ["D8", "19800101", "M"]),
        ("NM1", ["PR", "2", "ACME INSURANCE", "", "", "", "", "PI", "PAYER01"]),
        ("CLM", [body_claim_id, "150", "", "", ("11", "B", "1"), "Y", "A", "Y", "Y"]),
        ("HI", [("ABK", "E119"), ("ABF", "I10")]),
        ("LX", ["1"]),
        ("SV1", [("HC", "99213", "25"), "100", "UN", "1", "", "", ("1", "2")]),
        ("DTP", ["472", "D8", "20241215"]),
        ("LX", ["2"]),
        ("SV1", [("HC", "81002"), "50", "UN", "1", "", "", ("1",)]),
        ("DTP", ["472", "D8", "20241215"]),
    ]
    out = io.BytesIO()
    build_interchange(
        out, Party("ZZ", "SUBMITTERID"), Party("ZZ", "RECEIVERID"),
        [Group("HC", "005010X222A1", [Transaction("837", body, "005010X222A1")])],
        control=CounterControlNumbers(interchange=41), now=datetime(2025, 1, 1, 12, 0), usage="T",
    )
    return out.getvalue()


def test_envelope_builder_writes_exact_isa_counts_and_matching_control_numbers():
    data = make_837p()
    segs, problems = tokenize(data)
    assert problems == []
    isa = data.split(b"~")[0] + b"~"
    assert len(isa) == 106
    assert segs[0][13] == "000000041"
    se = next(s for s in segs if s.tag == "SE")
    assert se[1] == str(len(segs) - 4)  # everything but ISA, GS, GE, IEA
    assert segs[-1].elements == ["IEA", "1", "000000041"]
    assert segs[-2].elements == ["GE", "1", "1"]


def test_the_837p_it_writes_validates_fast_and_deep():
    report = validate_bytes(make_837p(), file="built.837", deep=True)
    assert [p for p in report.problems if p.is_error] == []
    assert report.transactions[0].version == "005010X222A1"


def test_output_is_deterministic():
    assert make_837p() == make_837p()


def test_envelope_refuses_values_that_do_not_fit():
    with pytest.raises(EnvelopeError):
        InterchangeWriter(io.BytesIO(), Party("ZZ", "X" * 16), Party("ZZ", "R"), control=CounterControlNumbers(),
                          now=datetime(2025, 1, 1))
    w = InterchangeWriter(io.BytesIO(), Party("ZZ", "S"), Party("ZZ", "R"), control=CounterControlNumbers(),
                          now=datetime(2025, 1, 1))
    with pytest.raises(EnvelopeError):
        w.segment("BHT", ["0019"])  # outside a transaction
    w.begin_group("HC", "005010X222A1")
    w.begin_transaction("837", "005010X222A1")
    with pytest.raises(DelimiterInData):
        w.segment("NM1", ["IL", "1", "O~BRIEN"])
