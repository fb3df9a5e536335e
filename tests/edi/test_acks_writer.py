"""The 999 / TA1 writer, by worked examples: what a receiver sends back for a file, segment by segment.

Every acknowledgement written here is itself validated by pyx12 as a 005010X231A1 document (``_assert_valid``).
One pyx12 finding is not a fault of ours and is allowed where a TA1 is written: X12 places a TA1 "just before
the functional groups begin", and pyx12's control map gives TA1 and the GS loop the same position, so on
meeting the TA1 first it says the mandatory GS loop is missing (in its log for the first interchange, in its
error tree for later ones).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_rows
from x12text import interchange, isa

from edi.acks.writer import AckError, AckResult, acknowledge, acknowledge_bytes
from edi.validate import validate_bytes
from edi.x12.writer import Party

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NOW = datetime(2025, 3, 2, 10, 0)
P837 = (SAMPLES / "837" / "professional-dependent.837").read_bytes()


def _ack(data: bytes, **options) -> AckResult:
    return acknowledge_bytes(data, now=NOW, **options)


def _lines(result: AckResult) -> list[str]:
    return result.data.decode("ascii").splitlines()


def _body(result: AckResult) -> list[str]:
    """The segments between ST*999 and SE (one 999)."""
    lines = _lines(result)
    start = next(i for i, line in enumerate(lines) if line.startswith("ST*999*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    return lines[start + 1:end]


def _quirk(problem) -> bool:
    return (problem.code in ("pyx12.log", "pyx12.segment.3")
            and 'Mandatory loop "Functional Group Header" (GS_LOOP) missing' in problem.message)


def _assert_valid(result: AckResult) -> None:
    """pyx12 finds nothing wrong with the acknowledgement (see the module docstring for the one exception)."""
    report = validate_bytes(result.data, deep=True)
    errors = [p for p in report.problems if p.is_error and not (_quirk(p) and b"\nTA1*" in result.data)]
    assert errors == [], [str(p) for p in errors]
    assert report.transactions, "the acknowledgement holds no 999"
    assert {t.version for t in report.transactions} == {"005010X231A1"}


def _recount(data: bytes) -> bytes:
    """``data`` (one segment per line, one transaction set) with SE01 counted again."""
    lines = data.decode().splitlines()
    st = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    se = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    control = lines[se].rstrip("~").split("*")[2]
    lines[se] = f"SE*{se - st + 1}*{control}~"
    return ("\n".join(lines) + "\n").encode()


# -- accepted ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "837").glob("*.837")))
def test_a_valid_837_is_accepted(name):
    result = _ack((SAMPLES / "837" / name).read_bytes())
    assert result.accepted
    lines = _lines(result)
    assert lines[-1] == "IEA*1*000000001~"
    groups = [g for ic in result.interchanges for g in ic.groups]
    assert [g.status for g in groups] == ["A"]
    assert all(line == "IK5*A~" for line in lines if line.startswith("IK5"))
    assert sum(line.startswith("AK2*") for line in lines) == groups[0].received
    ak9 = next(line for line in lines if line.startswith("AK9*"))
    assert ak9 == f"AK9*A*{groups[0].received}*{groups[0].received}*{groups[0].received}~"
    _assert_valid(result)


def test_the_999_answers_from_the_receiver_to_the_sender():
    result = _ack(P837)
    assert _lines(result)[:3] == [
        "ISA*00*          *00*          *ZZ*SYNTHCLEAR     *ZZ*SYNTHSUBMIT    *250302*1000*^*00501*000000001*0*T*:~",
        "GS*FA*SYNTHCLEAR*SYNTHSUBMIT*20250302*1000*1*X*005010X231A1~",
        "ST*999*0001*005010X231A1~",
    ]
    assert _body(result) == ["AK1*HC*1*005010X222A1~", "AK2*837*0001*005010X222A1~", "IK5*A~", "AK9*A*1*1*1~"]
    assert result.summary() == ["interchange 000000001, group 1 (HC 005010X222A1): accepted - 1 of 1 transaction "
                                "sets accepted"]


def test_control_numbers_parties_and_usage_can_be_given():
    result = _ack(P837, control_number=42, sender=Party("01", "CLEARCO", "CLEARAPP"),
                  receiver=Party("ZZ", "SUBMITCO"), usage="P")
    lines = _lines(result)
    assert lines[0].split("*")[5:9] == ["01", "CLEARCO        ", "ZZ", "SUBMITCO       "]
    assert lines[0].split("*")[13:16] == ["000000042", "0", "P"]
    assert lines[1] == "GS*FA*CLEARAPP*SUBMITCO*20250302*1000*42*X*005010X231A1~"
    assert lines[-2:] == ["GE*1*42~", "IEA*1*000000042~"]
    assert result.interchanges[0].ack_control == "000000042"


def test_deep_validation_of_a_valid_837_changes_nothing():
    fast, deep = _ack(P837), _ack(P837, deep=True)
    assert deep.accepted and deep.data == fast.data


# -- rejected transaction sets ----------------------------------------------------------------------------


def test_a_wrong_se01_rejects_the_set_with_code_4():
    result = _ack(P837.replace(b"SE*38*0001~", b"SE*37*0001~"))
    assert not result.accepted
    assert _body(result) == ["AK1*HC*1*005010X222A1~", "AK2*837*0001*005010X222A1~", "IK5*R*4~", "AK9*R*1*1*0~"]
    _assert_valid(result)


@pytest.mark.parametrize("deep", [False, True], ids=["fast", "deep"])
def test_a_missing_required_segment_is_ik3_code_3_with_its_loop(deep):
    # the subscriber level (HL 2, loop 2000B) without its SBR: IK3 names SBR where it belonged (after the HL,
    # position 14 counted from ST = 1) and loop 2000B (IK303 holds the X12 loop id, 2000)
    data = _recount(P837.replace(b"SBR*P**GRP0001******CI~\n", b""))
    result = _ack(data, deep=deep)
    assert _body(result) == ["AK1*HC*1*005010X222A1~", "AK2*837*0001*005010X222A1~", "IK3*SBR*14*2000*3~",
                             "IK5*R*5~", "AK9*R*1*1*0~"]
    (error,) = result.interchanges[0].groups[0].sets[0].segments
    assert (error.tag, error.position, error.loop, error.code, error.meaning) == (
        "SBR", 14, "2000B", "3", "required segment missing")
    _assert_valid(result)


def test_a_missing_billing_provider_name_is_ik3_nm1_in_loop_2010():
    data = _recount(P837.replace(b"NM1*85*2*SYNTH FAMILY CLINIC*****XX*1234567893~\n", b""))
    result = _ack(data)
    assert "IK3*NM1*7*2010*3~" in _body(result)
    assert result.interchanges[0].groups[0].sets[0].segments[0].loop == "2010AA"


def test_element_errors_name_position_reference_and_claim_but_never_the_value():
    data = (P837.replace(b"CLM*PCN0001*150***11:B:1", b"CLM*PCN0001*150***11:X:1")  # CLM05-02: not a code
            .replace(b"DTP*472*D8*20250210~\nREF*6R*PCN0001-1", b"DTP*472*D8*2025-02-10~\nREF*6R*PCN0001-1")
            .replace(b"N3*1 TEST STREET~", b"N3*~"))  # N301 empty: mandatory in every N3
    result = _ack(data, deep=True)
    assert _body(result) == [
        "AK1*HC*1*005010X222A1~", "AK2*837*0001*005010X222A1~",
        "IK3*N3*20*2010*8~", "IK4*1*166*1~",
        "IK3*CLM*23*2300*8~", "CTX*CLM01:PCN0001~", "IK4*5:2*1332*7~",
        "IK3*DTP*32*2400*8~", "CTX*CLM01:PCN0001~", "IK4*3*1251*8~",
        "IK5*R*5~", "AK9*R*1*1*0~",
    ]
    assert b"2025-02-10" not in result.data  # IK404 (a copy of the bad value) is never written
    _assert_valid(result)


def test_the_same_element_error_found_twice_is_reported_once():
    data = P837.replace(b"HL*3*2*23*0", b"HL*4*2*23*0")  # edi (x12.hl.number) and pyx12 (HL1) both see it
    result = _ack(data, deep=True)
    assert _body(result)[2:5] == ["IK3*HL*17*2000*8~", "IK4*1*628*I12~", "IK5*R*5~"]


@pytest.mark.parametrize(("old", "new", "ik5"), [
    (b"SE*38*0001~", b"SE*38*0002~", "IK5*R*3~"),  # ST02 and SE02 differ
    (b"SE*38*0001~\n", b"", "IK5*R*2~"),  # no SE
    (b"ST*837*0001*", b"ST*837*01*", "IK5*R*7*3~"),  # ST02 under 4 characters (and so not SE02)
    (b"ST*837*", b"ST*835*", "IK5*R*6~"),  # not what an HC group carries
])
def test_transaction_set_envelope_errors(old, new, ik5):
    result = _ack(P837.replace(old, new))
    assert ik5 in _body(result)
    assert _body(result)[-1] == "AK9*R*1*1*0~"


def test_some_sets_rejected_is_partial_acceptance():
    good = "BHT*0019*00*B1*20250101*1200*CH~"
    text = "\n".join([
        isa(), "GS*HC*SENDER*RECEIVER*20250101*1200*7*X*005010X222A1~",
        "ST*837*0001*005010X222A1~", good, "SE*3*0001~",
        "ST*837*0002*005010X222A1~", good, "SE*9*0002~",
        "GE*2*7~", "IEA*1*000000001~"]) + "\n"
    result = _ack(text.encode())
    assert _body(result) == ["AK1*HC*7*005010X222A1~", "AK2*837*0001*005010X222A1~", "IK5*A~",
                             "AK2*837*0002*005010X222A1~", "IK5*R*4~", "AK9*P*2*2*1~"]
    assert "partially accepted - 1 of 2 transaction sets accepted" in result.summary()[0]
    assert not result.accepted


def test_group_envelope_errors_reject_the_group():
    result = _ack(P837.replace(b"GE*1*1~", b"GE*2*9~"))
    assert _body(result)[-1] == "AK9*R*2*1*0*5*4~"
    assert result.interchanges[0].groups[0].codes == ("5", "4")
    _assert_valid(result)


def test_a_4010_group_is_not_supported():
    data = interchange("BHT*0019*00*B1*20250101*1200*CH~", functional_id="HC", version="004010X098A1",
                       st01="837")
    result = _ack(data)
    assert _body(result)[-1] == "AK9*R*1*1*0*2~"


def test_warnings_that_are_real_findings_give_accepted_with_errors():
    # ST03 should repeat GS08 (a warning in edi): the set is accepted, with errors noted
    result = _ack(P837.replace(b"ST*837*0001*005010X222A1", b"ST*837*0001*005010X222A2"))
    assert _body(result)[1:] == ["AK2*837*0001*005010X222A2~", "IK5*E*19~", "AK9*E*1*1*1~"]
    assert result.accepted
    # a balancing warning (CLM02 against the lines) is a 277CA edit, not a 999 one
    result = _ack(P837.replace(b"CLM*PCN0001*150*", b"CLM*PCN0001*151*"))
    assert any(p.code == "837.claim.total" for p in result.report.problems)
    assert _body(result)[2:] == ["IK5*A~", "AK9*A*1*1*1~"]


# -- 835 --------------------------------------------------------------------------------------------------


def test_an_835_gets_a_999_and_its_two_valid_plbs_are_not_flagged():
    data = (SAMPLES / "835" / "synthetic-payment.835").read_bytes()
    result = _ack(data, deep=True)
    # pyx12 takes the second PLB for a second footer loop; the 835 TR3 repeats PLB
    assert any(p.code == "pyx12.segment.4" and p.where.tag == "PLB" for p in result.report.problems)
    assert _body(result) == ["AK1*HP*1*005010X221A1~", "AK2*835*0001*005010X221A1~", "IK5*A~", "AK9*A*1*1*1~"]
    assert result.accepted
    _assert_valid(result)
    # many payers send ST03 in an 835, which its TR3 leaves unused (pyx12 logs it): edi takes both
    with_st03 = _ack(data.replace(b"ST*835*0001~", b"ST*835*0001*005010X221A1~"), deep=True)
    assert with_st03.accepted and _body(with_st03)[2:] == ["IK5*A~", "AK9*A*1*1*1~"]


def test_a_broken_835_is_rejected():
    result = _ack((SAMPLES / "835" / "broken-segment-count.835").read_bytes())
    assert _body(result)[2:] == ["IK5*R*4~", "AK9*R*1*1*0~"]


# -- TA1 --------------------------------------------------------------------------------------------------


def test_a_bad_iea_gets_a_ta1_before_the_group():
    result = _ack(P837.replace(b"IEA*1*000000001~", b"IEA*1*000000002~"))
    lines = _lines(result)
    assert lines[1] == "TA1*000000001*250301*0930*R*001~"
    assert lines[2].startswith("GS*FA*")
    assert (result.interchanges[0].ta1_status, result.interchanges[0].ta1_note) == ("R", "001")
    assert result.summary()[0] == ("interchange 000000001: TA1 R 001 (rejected: control number in header and "
                                   "trailer do not match)")
    assert not result.accepted
    _assert_valid(result)


@pytest.mark.parametrize(("old", "new", "ta1"), [
    (b"IEA*1*000000001~", b"IEA*2*000000001~", "TA1*000000001*250301*0930*R*021~"),  # groups miscounted
    (b"*00501*000000001*0*T*", b"*00501*000000001*1*T*", "TA1*000000001*250301*0930*A*000~"),  # asked for
    (b"*00501*000000001*0*T*", b"*00401*000000001*0*T*", "TA1*000000001*250301*0930*R*003~"),  # 4010
    (b"*00501*000000001*0*T*", b"*ABCDE*000000001*0*T*", "TA1*000000001*250301*0930*R*017~"),  # not a version
    (b"*00501*000000001*0*T*", b"*00501*000000001*0*X*", "TA1*000000001*250301*0930*R*020~"),  # usage
    (b"*250301*0930*", b"*251301*0930*", "TA1*000000001*250302*0930*R*014~"),  # no 13th month: TA102 is today
])
def test_ta1_notes(old, new, ta1):
    result = _ack(P837.replace(old, new))
    assert _lines(result)[1] == ta1
    _assert_valid(result)


def test_an_envelope_warning_is_a_ta1_accepted_with_errors():
    # ISA06 longer than its 15 characters: read by its separators (a warning), noted in the TA1
    result = _ack(P837.replace(b"*SYNTHSUBMIT    *", b"*SYNTHSUBMITTER01*"))
    assert _lines(result)[1] == "TA1*000000001*250301*0930*E*006~"
    assert result.accepted
    assert _lines(result)[0].split("*")[8] == "SYNTHSUBMITTER0"  # the reply's ISA08 keeps its 15 characters


def test_no_ta1_when_nothing_is_wrong_and_none_was_asked_for():
    assert not any(line.startswith("TA1") for line in _lines(_ack(P837)))


# -- what is not acknowledged -----------------------------------------------------------------------------


def test_acknowledgements_are_not_acknowledged():
    result = _ack(interchange("AK1*HC*1*005010X222A1~\nAK9*A*1*1*1~", functional_id="FA", version="005010X231A1",
                              st01="999"))
    assert result.data == b""
    assert result.accepted
    (group,) = result.interchanges[0].groups
    assert not group.acknowledged and "never acknowledged" in group.reason


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (bytes(range(256)) * 4, "not X12"),
    (b"GS*HC*A*B*20250101*1200*1*X*005010X222A1~\nST*837*0001~\nSE*2*0001~\nGE*1*1~\n", "no interchange header"),
])
def test_a_file_with_no_interchange_is_an_error_with_a_clear_message(data, words):
    with pytest.raises(AckError, match=words):
        _ack(data)


def test_a_path_is_read_like_bytes(tmp_path):
    path = tmp_path / "claims.837"
    path.write_bytes(P837)
    assert acknowledge(str(path), now=NOW).data == _ack(P837).data


# -- the corpus -------------------------------------------------------------------------------------------

ROWS = [(name, notes) for name, notes in corpus_rows() if name.startswith(("837P/", "837I/"))]
BROKEN = ("malformed on purpose", "accidental?")
NO_INTERCHANGE = {"837P/imsweb__x12_no_isa_line.txt", "837P/imsweb__x12_missing_first_isa.txt"}
#: Deliberately broken files and what a receiver answers (TA1 note, AK9 status and codes, first IK5 and codes).
EXPECTED = {
    "837I/pyx12__trailer_errors.txt": ("R", "003", "R", ("2", "4"), ("R", ("4",))),
    "837P/imsweb__x12_multiple_gs.txt": ("R", "021", "R", (), ("R", ("4", "5"))),
    "837P/imsweb__x12_missing_last_isa.txt": ("R", "023", "R", (), ("R", ("4", "5"))),
    "837P/imsweb__x12_missing_last_st.txt": ("A", "000", "R", (), ("R", ("2", "5"))),
    "837P/imsweb__x12_multiple_st.txt": ("A", "000", "R", ("5",), ("R", ("4", "5"))),
    "837P/pyx12__explicit_missing.txt": ("R", "003", "R", ("2", "3"), ("R", ("2",))),
    "837P/oopfactory__MissingEntityCode.txt": (None, None, "R", (), ("R", ("5",))),
    "837P/imsweb__x12_loop_errors3_missing_loops.txt": ("A", "000", "R", (), ("R", ("4", "5"))),
}


def _version(notes: str) -> str:
    return notes.split(" | ")[0].removeprefix("version ")


@pytest.fixture(scope="module")
def corpus_acks():
    if not ROWS:
        pytest.skip("../shared/corpus is absent")
    out = {}
    for name, _ in ROWS:
        try:
            out[name] = acknowledge(str(CORPUS / name), now=NOW)
        except AckError as exc:
            out[name] = exc
    return out


def test_every_837_of_the_corpus_gets_an_answer(corpus_acks):
    for name, notes in ROWS:
        result = corpus_acks[name]
        if name in NO_INTERCHANGE:
            assert isinstance(result, AckError) and "no interchange header" in str(result)
            continue
        assert isinstance(result, AckResult), f"{name}: {result}"
        if any(word in notes for word in BROKEN):
            assert not result.accepted, f"{name} is broken on purpose but was accepted"
        elif _version(notes).startswith("00501"):
            assert result.accepted, f"{name}: {result.summary()}"


def test_deliberately_broken_files_get_the_codes_a_receiver_sends(corpus_acks):
    for name, (ta1, ta1_note, ak9, group_codes, first_set) in EXPECTED.items():
        result = corpus_acks[name]
        ic = result.interchanges[0]
        group = ic.groups[0]
        got = (ic.ta1_status, ic.ta1_note, group.status, group.codes,
               (group.sets[0].status, group.sets[0].codes))
        assert got == (ta1, ta1_note, ak9, group_codes, first_set), name
    missing = corpus_acks["837P/imsweb__x12_loop_errors3_missing_loops.txt"]
    assert "IK3*NM1*7*2010*3~" in _body(missing)  # billing provider name (2010AA) missing
    entity = corpus_acks["837P/oopfactory__MissingEntityCode.txt"]
    assert _body(entity)[2:5] == ["IK3*NM1*23*2310*8~", "CTX*CLM01:9999~", "IK4*1*98*1~"]  # NM101 empty
    no_group = corpus_acks["837P/imsweb__x12_missing_first_gs.txt"]
    assert (no_group.interchanges[0].ta1_status, no_group.interchanges[0].ta1_note) == ("R", "022")
    assert [n.code for n in no_group.notes] == ["ack.no_group"]


def test_every_999_written_for_the_corpus_passes_pyx12(corpus_acks):
    checked = 0
    for result in corpus_acks.values():
        if isinstance(result, AckResult) and b"ST*999*" in result.data:
            _assert_valid(result)
            checked += 1
    assert checked > 100


def test_deep_acknowledgements_of_a_corpus_sample(corpus_acks):
    """pyx12 on the received files too (slow: a sample). Its findings only add to edi's."""
    started = time.monotonic()
    for name in ("837P/imsweb__x12_bad_valid_code.txt", "837P/pyx12__bad_2010AA_bug.txt",
                 "837I/stupidedi__automobile-accident.edi", "837P/uhin__837.edi"):
        deep = acknowledge(str(CORPUS / name), deep=True, now=NOW)
        fast = corpus_acks[name]
        assert not (fast.accepted is False and deep.accepted), name
        _assert_valid(deep)
    assert "IK4*3*116*7~" in _body(acknowledge(str(CORPUS / "837I/stupidedi__automobile-accident.edi"), deep=True,
                                               now=NOW))  # the billing provider's 5-digit ZIP (the TR3 wants 9)
    assert time.monotonic() - started < 60
