"""Behaviour the fast paths of the tokenizer and the 835 reader must keep: the lean loops give exactly what the
careful ones give, element lists and segments agree however the input is chunked, and the objects the reader
builds through mutable twins are ordinary, immutable model objects. (No timing here: see benchmarks/.)"""

from __future__ import annotations

import dataclasses
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from x12text import interchange, isa

from benchmarks.synth import write_835
from edi.model import Adjustment, ClaimPayment, Name, Reference, Remittance, RemittanceEnd, ServicePayment, Source
from edi.x12.tokenizer import Tokenizer
from edi.x835.reader import parse_remittances, read_remittances


def by_segments(data: bytes, chunk: int, **kw):
    tok = Tokenizer(**kw)
    out = []
    for i in range(0, len(data), chunk):
        out += [(s.elements, s.index, s.offset) for s in tok.segments(data[i:i + chunk])]
    out += [(s.elements, s.index, s.offset) for s in tok.segments(b"")]
    return out, [(p.code, p.message, p.where) for p in tok.problems]


def by_elements(data: bytes, chunk: int, **kw):
    tok = Tokenizer(**kw)
    out = []
    for i in range(0, len(data), chunk):
        out += tok.elements(data[i:i + chunk])
    out += tok.elements(b"")
    return out, [(p.code, p.message, p.where) for p in tok.problems]


def agree(data: bytes, chunks=(1, 7, 300, 4096, 1 << 20), **kw):
    """Every chunking gives the same segments, and for each chunking segments() and elements() give the same
    segments and problems; returns the segments and problems of the whole input fed at once."""
    whole, problems = by_segments(data, len(data) or 1, **kw)
    for chunk in chunks:
        segs, found = by_segments(data, chunk, **kw)
        assert segs == whole, chunk
        lists, found_by_lists = by_elements(data, chunk, **kw)
        assert lists == [els for els, _, _ in segs], chunk
        assert found_by_lists == found, chunk
    return whole, problems


# Segments as written in real files, odd ones included: each is followed by a terminator and a separator.
PIECES = ["CLP*A*1*10*10", "CAS*CO*45*1", "DTM*472*20250101", "NM1*QC*1*DOE", "SVC*HC:99213*10*10**1", "REF*6R*X",
          "", " ", "\n", "  AMT*B6*1", "\tLQ*HE*N1", "ab*1", "A", "*1*2", "TOOLONG*1", "1AB*2", "ZZ*\u00e9t\u00e9",
          "IEA*1*000000001~\n" + isa(2)[:-1]]
SEPARATORS = ["~", "~\n", "~\r\n", "~\n\n", "~ "]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=3),
       st.integers(1, 97))
def test_any_mix_of_odd_segments_reads_the_same_however_it_is_chunked(pieces, seps, chunk):
    body = "".join(p + seps[i % len(seps)] for i, p in enumerate(pieces))
    data = (isa() + "\n" + body + isa(2) + "GS*HP*S*R*20250101*1200*1*X*005010X221A1~").encode("utf-8")
    agree(data, chunks=(chunk, 4096))


@pytest.mark.parametrize("at", [0, 1, 255, 256, 257, 511, 600])
@pytest.mark.parametrize("odd", ["", "  DTM*472*20250101", "ab*1", "IEA*1*000000001~\n" + isa(2)[:-1]])
def test_an_odd_segment_anywhere_in_a_long_run(at, odd):
    lines = [f"DTM*472*2025{i % 12 + 1:02d}01" if i % 3 else f"CAS*CO*45*{i}" for i in range(700)]
    lines[at] = odd
    data = (isa() + "\n" + "~\n".join(lines) + "~\n").encode()
    whole, problems = agree(data)
    assert whole[-1][1] == len(whole)  # numbered 1..n with nothing skipped or repeated


def test_interchanges_with_other_delimiters_follow_each_other():
    first = isa() + "GS*HP*S*R*20250101*1200*1*X*005010X221A1~\nST*835*0001~\n" + "DTM*472*20250101~\n" * 300
    first += "SE*302*0001~\nGE*1*1~\nIEA*1*000000001~\n"
    second = isa(2, element="|", component=">", repetition="!", terminator="^")
    second += "GS|HP|S|R|20250101|1200|2|X|005010X221A1^" + "DTM|472|20250101^" * 300 + "IEA|1|000000002^"
    whole, problems = agree((first + second + first).encode())
    assert [els[0] for els, _, _ in whole].count("ISA") == 3
    assert problems == []


def test_a_small_segment_limit_is_honoured_on_every_path():
    data = (isa() + "\n" + "DTM*472*20250101~\n" * 50 + "NTE*" + "X" * 200 + "~\n" + "DTM*472*20250101~\n").encode()
    whole, problems = agree(data, max_segment_length=120)
    assert [code for code, _, _ in problems] == ["x12.segment.too_long"]


def test_elements_reads_nothing_until_iterated():
    data = (isa() + "GS*HP*S*R*20250101*1200*1*X*005010X221A1~").encode()
    tok = Tokenizer()
    tok.elements(data)  # never iterated: the bytes are not taken
    assert [s.tag for s in tok.feed(data) + tok.close()] == ["ISA", "GS"]


def synthetic_835(claims: int = 300) -> bytes:
    out = io.BytesIO()
    write_835(out, claims, per_st=120)
    return out.getvalue()


def every_object(item, seen=None):
    """The item and every model object reachable from it (the back reference to the remittance excepted)."""
    seen = [] if seen is None else seen
    if isinstance(item, (list, tuple)):
        for x in item:
            every_object(x, seen)
    elif dataclasses.is_dataclass(item):
        seen.append(item)
        for f in dataclasses.fields(item):
            if f.name != "remittance":
                every_object(getattr(item, f.name), seen)
    return seen


def test_the_streaming_reader_and_the_in_memory_parser_agree(tmp_path):
    data = synthetic_835()
    path = tmp_path / "synthetic.835"
    path.write_bytes(data)
    reader = read_remittances(str(path))
    streamed = list(reader)
    parsed, problems = parse_remittances(data, file=str(path))
    assert streamed == parsed
    assert [type(i) for i in streamed] == [type(i) for i in parsed]
    assert reader.problems == problems == []
    assert sum(isinstance(i, ClaimPayment) for i in streamed) >= 300


def test_objects_built_through_twins_are_ordinary_frozen_model_objects(tmp_path):
    path = tmp_path / "synthetic.835"
    path.write_bytes(synthetic_835(60))
    objects = every_object(list(read_remittances(str(path))))
    kinds = {type(o) for o in objects}
    assert {ClaimPayment, ServicePayment, Adjustment, Name, Reference, Source, Remittance, RemittanceEnd} <= kinds
    for obj in objects:
        rebuilt = dataclasses.replace(obj)  # through the frozen class's own __init__
        assert rebuilt == obj and type(rebuilt) is type(obj)
        assert hash(rebuilt) == hash(obj)
        assert repr(rebuilt) == repr(obj)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, dataclasses.fields(obj)[0].name, None)
    sources = [o for o in objects if type(o) is Source]
    assert all(s.file == str(path) and s.segment and s.transaction and s.interchange for s in sources)


HEADER = "BPR*I*80*C*CHK~\nTRN*1*1*1~\nN1*PR*PAYER~\nN1*PE*PAYEE*XX*1234567893~\n"
BODY = """
LX*1~
CLP*PCN1*1*100*80*20*12*ICN1*11*1~
NM1*QC*1*DOE*JANE~
DTM*232*20250101~
AMT*AU*{amt}~
SVC*HC:99213:25:59*{charge}*80**{units}*HC:99214*{orig_units}~
DTM*472*20250101~
CAS*PR*1*{cas}~
REF*6R*L1~
AMT*B6*{allowed}~
QTY*ZK*1~
LQ*HE*N1~
"""


# Segment numbers: BPR 4, N1 6-7, LX 8, CLP 9, NM1 10, DTM 11, AMT 12, SVC 13, DTM 14, CAS 15, REF 16, AMT 17.
@pytest.mark.parametrize("values, codes", [
    (dict(amt="100", charge="100", units="1", orig_units="1", cas="20", allowed="80"), []),
    (dict(amt="1.", charge="100.", units="", orig_units="", cas="20.0", allowed="80"), []),
    (dict(amt="x", charge="100", units="1", orig_units="1", cas="20", allowed="80"), [("835.amount.invalid", 12)]),
    (dict(amt="100", charge="1.0.0", units="1", orig_units="1", cas="20", allowed="80"),
     [("835.amount.invalid", 13), ("835.line.unbalanced", 13)]),
    (dict(amt="100", charge="100", units="one", orig_units="1", cas="20", allowed="80"),
     [("835.amount.invalid", 13)]),
    (dict(amt="100", charge="100", units="1", orig_units="NaN", cas="20", allowed="80"),
     [("835.amount.invalid", 13)]),
    (dict(amt="100", charge="", units="1", orig_units="1", cas="20", allowed="80"),
     [("835.amount.missing", 13), ("835.line.unbalanced", 13)]),
    (dict(amt="100", charge="100", units="1", orig_units="1", cas="2O", allowed="80"),
     [("835.claim.unbalanced", 9), ("835.claim.patient_responsibility", 9), ("835.line.unbalanced", 13),
      ("835.amount.invalid", 15)]),
    (dict(amt="100", charge="100", units="1", orig_units="1", cas="20", allowed="8.0.0"),
     [("835.amount.invalid", 17)]),
    (dict(amt="100", charge="100", units="1", orig_units="1", cas="20", allowed="x"), [("835.amount.invalid", 17)]),
    (dict(amt="1.0.0", charge="100", units="1", orig_units="1", cas="20", allowed="80"),
     [("835.amount.invalid", 12)]),
    (dict(amt="100", charge="100", units="1", orig_units="1", cas="1.0.0", allowed="80"),
     [("835.claim.unbalanced", 9), ("835.claim.patient_responsibility", 9), ("835.line.unbalanced", 13),
      ("835.amount.invalid", 15)]),
])
def test_well_formed_and_malformed_amounts_take_the_same_way_out(values, codes):
    items, problems = parse_remittances(interchange(HEADER + BODY.format(**values)))
    assert [(p.code, p.where.segment) for p in problems] == codes
    claim = next(i for i in items if isinstance(i, ClaimPayment))
    line = claim.lines[0]
    assert line.modifiers == ("25", "59") and line.original_procedure == "99214"
    assert line.line_control_number == "L1" and [r.qualifier for r in line.remarks] == ["HE"]
    assert [r.qualifier for r in line.quantities] == ["ZK"]
    if not codes:
        assert (line.charge, line.paid, line.allowed) == (Decimal(values["charge"]), Decimal(80), Decimal(80))
        assert line.units == (Decimal(values["units"]) if values["units"] else None)
        assert claim.amounts == (Reference("AU", Decimal(values["amt"])),)


def test_odd_structures_read_alike_streamed_and_in_memory(tmp_path):
    # Segment numbers: SVC 8 (before any claim), LX 9, CLP 10, CAS 11-13, NM1 14, SVC 15, NM1 16, CAS 17.
    body = """
    SVC*HC:1*10*10~
    LX*1~
    CLP*PCN1*1*100*80**12*ICN1*11*1~
    CAS*CO**5~
    CAS*CO~
    CAS*CO*45*20*1*42*0~
    NM1*QC*1*DOE~
    SVC*HC:99213*100*80~
    NM1*82*1*SMITH~
    CAS*CO*45*1.0.0~
    """
    data = interchange(HEADER + body)
    path = tmp_path / "odd.835"
    path.write_bytes(data)
    reader = read_remittances(str(path))
    streamed = list(reader)
    parsed, problems = parse_remittances(data, file=str(path))
    assert streamed == parsed
    assert reader.problems == problems
    assert [(p.code, p.where.segment) for p in problems] == [
        ("835.segment.unexpected", 8), ("835.cas.reason", 11), ("835.cas.empty", 11), ("835.cas.empty", 12),
        ("835.line.unbalanced", 15), ("835.segment.unexpected", 16), ("835.amount.invalid", 17)]
    claim = next(i for i in streamed if isinstance(i, ClaimPayment))
    assert [(a.group, a.reason, a.amount, a.quantity) for a in claim.adjustments] == [
        ("CO", "45", Decimal(20), Decimal(1)), ("CO", "42", Decimal(0), None)]
    assert claim.lines[0].unknown == (("NM1", "82", "1", "SMITH"),)  # kept, never dropped
    assert [(a.amount, a.source.segment) for a in claim.lines[0].adjustments] == [(Decimal(0), 17)]
    end = next(i for i in streamed if isinstance(i, RemittanceEnd))
    assert end.other == (("SVC", "HC:1", "10", "10"),)
