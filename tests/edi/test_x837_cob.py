"""Other payers on the 837 (coordination of benefits): loops 2320/2330A/2330B and 2430 written, refused when they
do not balance, validated by pyx12, and read back to the same values; and the corpus's secondary claims read.

The worked scenario is the one of issue 17: a primary payer paid with CO-45 on every line, PR-1 (deductible)
on one line and PR-2 (coinsurance) on another, and denied a third line (SVD02 = 0 with its CAS); the claim then
goes to the secondary payer carrying that adjudication, or to a tertiary one carrying both.
"""

from __future__ import annotations

import io
from dataclasses import fields, is_dataclass, replace
from datetime import date
from decimal import Decimal

import pytest
from conftest import CORPUS
from test_x837_examples import (
    NOW,
    RECEIVER,
    SENDER,
    STREET,
    SUBMITTER,
    SUBSCRIBER,
    institutional_claim,
    lines_of,
    professional_claim,
    write_837,
)

from edi.model import Adjustment, Claim, LineAdjudication, OtherPayer, Payer, ServiceLine, Subscriber
from edi.validate import validate_bytes
from edi.x12.writer import CounterControlNumbers
from edi.x837.prepare import prepare_claim
from edi.x837.reader import read_837, read_837_bytes
from edi.x837.writer import ClaimsRefused, build_837

D = Decimal
PAID = date(2025, 3, 10)  # the primary's adjudication date
PAID_2 = date(2025, 3, 24)  # the secondary's

PRIMARY = Payer("ACME INSURANCE", "PAYER01", filing_indicator="CI", responsibility="P")
SECONDARY = Payer("SECOND HEALTH PLAN", "PAYER02", filing_indicator="MB", responsibility="S")
TERTIARY = Payer("THIRD PLAN", "PAYER03", filing_indicator="MC", responsibility="T")
SPOUSE = Subscriber("SPOUSE0001", "SAMPLE", "ROBIN", group_number="GRP0100", group_name="SYNTH EMPLOYER",
                    address=STREET)


def co(reason: str, amount: str) -> Adjustment:
    return Adjustment("CO", reason, D(amount))


def pr(reason: str, amount: str) -> Adjustment:
    return Adjustment("PR", reason, D(amount))


def oa(reason: str, amount: str) -> Adjustment:
    return Adjustment("OA", reason, D(amount))


def svd(payer: Payer, paid: str, procedure: str | None, *adjustments: Adjustment, **more) -> LineAdjudication:
    return LineAdjudication(payer.payer_id, D(paid), D(1), procedure, adjustments=adjustments, **more)


# -- the claims -------------------------------------------------------------------------------------------------

#: The primary's adjudication of the three professional lines: 100 = 56 + 24 + 20; 50 = 24 + 10 + 16; 30 = 0 + 30.
PROFESSIONAL_PRIMARY = (
    svd(PRIMARY, "56", "99213", co("45", "24"), pr("1", "20"), modifiers=("25",)),
    svd(PRIMARY, "24", "81002", co("45", "10"), pr("2", "16")),
    svd(PRIMARY, "0", "36415", co("50", "30")),
)
#: The secondary's, after the primary: it pays the patient's share of the first two lines (OA-23 the rest).
PROFESSIONAL_SECONDARY = (
    svd(SECONDARY, "20", "99213", oa("23", "80"), modifiers=("25",)),
    svd(SECONDARY, "16", "81002", oa("23", "34")),
    svd(SECONDARY, "0", "36415", oa("23", "30")),
)


def professional_lines(*adjudications: tuple[LineAdjudication, ...]) -> tuple[ServiceLine, ...]:
    base = professional_claim().lines
    lines = (base[0], base[1], ServiceLine(3, D("30"), D(1), service_date=date(2025, 2, 10), procedure="36415",
                                           diagnosis_pointers=(1,)))
    return tuple(replace(ln, adjudications=tuple(a[i] for a in adjudications)) for i, ln in enumerate(lines))


def primary_of(payer: Payer = PRIMARY, paid: str = "80", **more) -> OtherPayer:
    return OtherPayer(payer, SUBSCRIBER, paid=D(paid), claim_number="CCN0001", adjudication_date=PAID, **more)


def secondary_837p(pcn: str = "COB0001", **changes) -> Claim:
    """To the secondary payer, with the primary's adjudication (AMT*D 80: 180 = 80 + 100 of line CAS)."""
    claim = professional_claim(
        pcn, total_charge=D("180"), payer=SECONDARY, lines=professional_lines(PROFESSIONAL_PRIMARY),
        other_payers=(primary_of(outpatient=("", "", "MA01")),))
    return replace(claim, **changes)


def tertiary_837p(pcn: str = "COB0002") -> Claim:
    """To the tertiary payer, with the primary's and the secondary's adjudications (the patient is the
    secondary's subscriber's spouse)."""
    secondary = OtherPayer(SECONDARY, SPOUSE, relationship="01", insurance_type="12", paid=D("36"),
                           claim_number="ICN2002", adjudication_date=PAID_2, patient_signature_source="P")
    return professional_claim(pcn, total_charge=D("180"), payer=TERTIARY,
                              lines=professional_lines(PROFESSIONAL_PRIMARY, PROFESSIONAL_SECONDARY),
                              other_payers=(primary_of(), secondary))


def claim_level_837p(pcn: str = "COB0003") -> Claim:
    """The primary adjudicated the claim as a whole (no 2430): 150 = 95 + 40 + 15, with the remaining patient
    liability and its adjudication date in 2330B."""
    return professional_claim(pcn, payer=SECONDARY, other_payers=(OtherPayer(
        PRIMARY, SUBSCRIBER, paid=D("95"), adjustments=(co("45", "40"), pr("1", "15")),
        remaining_patient_liability=D("15"), adjudication_date=PAID, claim_number="CCN0003"),))


def primary_naming_the_secondary(pcn: str = "COB0004") -> Claim:
    """To the primary, naming the secondary coverage (no adjudication yet)."""
    return professional_claim(pcn, other_payers=(OtherPayer(SECONDARY, SPOUSE, relationship="01"),))


#: The primary's adjudication of the three institutional lines: room and board 3600 = 2500 + 800 + 300;
#: surgery 1450.50 = 1000 + 250.50 + 200; the lab denied 230 = 0 + 230.
INSTITUTIONAL_PRIMARY = (
    LineAdjudication("PAYER01", D("2500"), D(3), revenue_code="0120", adjustments=(co("45", "800"), pr("1", "300"))),
    LineAdjudication("PAYER01", D("1000"), D(1), "44970", revenue_code="0360",
                     adjustments=(co("45", "250.50"), pr("2", "200"))),
    LineAdjudication("PAYER01", D("0"), D(2), "80053", modifiers=("91",), revenue_code="0300",
                     adjustments=(co("96", "230"),)),
)
INSTITUTIONAL_SECONDARY = (
    LineAdjudication("PAYER02", D("300"), D(3), revenue_code="0120", adjustments=(oa("23", "3300"),)),
    LineAdjudication("PAYER02", D("200"), D(1), "44970", revenue_code="0360", adjustments=(oa("23", "1250.50"),)),
    LineAdjudication("PAYER02", D("0"), D(2), "80053", modifiers=("91",), revenue_code="0300",
                     adjustments=(oa("23", "230"),)),
)


def secondary_837i(pcn: str = "COB1001") -> Claim:
    claim = institutional_claim(pcn, payer=SECONDARY)
    return replace(claim, lines=tuple(replace(ln, adjudications=(a,))
                                      for ln, a in zip(claim.lines, INSTITUTIONAL_PRIMARY, strict=True)),
                   other_payers=(primary_of(paid="3500", inpatient=("3", "", "", "", "MA01")),))


def tertiary_837i(pcn: str = "COB1002") -> Claim:
    claim = institutional_claim(pcn, payer=TERTIARY)
    adjudications = zip(INSTITUTIONAL_PRIMARY, INSTITUTIONAL_SECONDARY, strict=True)
    return replace(claim, lines=tuple(replace(ln, adjudications=pair)
                                      for ln, pair in zip(claim.lines, adjudications, strict=True)),
                   other_payers=(primary_of(paid="3500"),
                                 OtherPayer(SECONDARY, SPOUSE, relationship="01", paid=D("500"),
                                            adjudication_date=PAID_2, outpatient=("", "", "MA18"))))


SCENARIOS = {
    "837P secondary": (secondary_837p(),),
    "837P tertiary": (tertiary_837p(),),
    "837P claim-level adjudication": (claim_level_837p(),),
    "837P primary naming the secondary": (primary_naming_the_secondary(),),
    "837I secondary": (secondary_837i(),),
    "837I tertiary": (tertiary_837i(),),
}


# -- helpers ----------------------------------------------------------------------------------------------------


def no_sources(value):
    """``value`` with every ``source`` (at any depth) set to None: what was read equals what was written."""
    if isinstance(value, tuple):
        return tuple(no_sources(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: None if f.name == "source" else no_sources(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)
    return value


def written_and_read(claims: tuple[Claim, ...]) -> tuple[bytes, list[Claim], list[Claim]]:
    data, written = write_837(claims)  # validated by pyx12 (deep) on the way
    stream = read_837_bytes(data)
    read = list(stream)
    assert stream.problems == ()
    return data, [no_sources(c) for t in written for c in t.claims], [no_sources(c) for c in read]


def between(data: bytes, first: str, last: str) -> list[str]:
    body = lines_of(data)
    start = body.index(first)
    return body[start:body.index(last, start) + 1]


def refused(claim: Claim) -> tuple:
    with pytest.raises(ClaimsRefused) as info:
        build_837(io.BytesIO(), [claim], SUBMITTER, SENDER, RECEIVER, CounterControlNumbers(), NOW, "T")
    return info.value.problems


# -- writing ----------------------------------------------------------------------------------------------------


def test_a_secondary_837p_carries_the_primarys_claim_and_line_adjudications_in_the_guides_order():
    data, _ = write_837([secondary_837p()])
    assert between(data, "HL*2*1*22*0", "HI*ABK:E119*ABF:I10")[:2] == ["HL*2*1*22*0", "SBR*S*18*GRP0001******MB"]
    assert between(data, "HI*ABK:E119*ABF:I10", "LX*1") == [
        "HI*ABK:E119*ABF:I10",
        "SBR*P*18*GRP0001******CI",  # 2320: the primary
        "AMT*D*80",
        "OI***Y***Y",
        "MOA***MA01",
        "NM1*IL*1*SAMPLE*PAT****MI*MBR00000001",  # 2330A
        "N3*1 TEST STREET",
        "N4*SPRINGFIELD*IL*62701",
        "NM1*PR*2*ACME INSURANCE*****PI*PAYER01",  # 2330B: no DTP*573, the lines carry theirs
        "REF*F8*CCN0001",
        "LX*1",
    ]
    assert between(data, "LX*1", "LX*3")[4:] == [
        "SVD*PAYER01*56*HC:99213:25**1", "CAS*CO*45*24", "CAS*PR*1*20", "DTP*573*D8*20250310",
        "LX*2", "SV1*HC:81002*50*UN*1***1", "DTP*472*D8*20250210", "REF*6R*COB0001-2",
        "SVD*PAYER01*24*HC:81002**1", "CAS*CO*45*10", "CAS*PR*2*16", "DTP*573*D8*20250310", "LX*3",
    ]
    assert between(data, "LX*3", "DTP*573*D8*20250310")[4:] == [
        "SVD*PAYER01*0*HC:36415**1", "CAS*CO*50*30", "DTP*573*D8*20250310"]  # the denied line


def test_a_secondary_837i_carries_mia_and_the_revenue_code_in_svd04():
    data, _ = write_837([secondary_837i()])
    assert between(data, "SBR*P*18*GRP0001******CI", "REF*F8*CCN0001") == [
        "SBR*P*18*GRP0001******CI", "AMT*D*3500", "OI***Y***Y", "MIA*3****MA01",
        "NM1*IL*1*SAMPLE*PAT****MI*MBR00000001", "N3*1 TEST STREET", "N4*SPRINGFIELD*IL*62701",
        "NM1*PR*2*ACME INSURANCE*****PI*PAYER01", "REF*F8*CCN0001",
    ]
    assert [s for s in lines_of(data) if s.startswith("SVD")] == [
        "SVD*PAYER01*2500**0120*3", "SVD*PAYER01*1000*HC:44970*0360*1", "SVD*PAYER01*0*HC:80053:91*0300*2"]


def test_claim_level_adjudication_puts_cas_eaf_and_the_date_in_2320_and_2330b():
    data, _ = write_837([claim_level_837p()])
    assert between(data, "SBR*P*18*GRP0001******CI", "LX*1") == [
        "SBR*P*18*GRP0001******CI", "CAS*CO*45*40", "CAS*PR*1*15", "AMT*D*95", "AMT*EAF*15", "OI***Y***Y",
        "NM1*IL*1*SAMPLE*PAT****MI*MBR00000001", "N3*1 TEST STREET", "N4*SPRINGFIELD*IL*62701",
        "NM1*PR*2*ACME INSURANCE*****PI*PAYER01", "DTP*573*D8*20250310", "REF*F8*CCN0003", "LX*1",
    ]
    assert not [s for s in lines_of(data) if s.startswith("SVD")]


def test_a_tertiary_claim_lists_both_prior_payers_and_two_svd_per_line():
    data, _ = write_837([tertiary_837p()])
    assert [s for s in lines_of(data) if s.startswith(("SBR", "AMT", "OI"))] == [
        "SBR*T*18*GRP0001******MC", "SBR*P*18*GRP0001******CI", "AMT*D*80", "OI***Y***Y",
        "SBR*S*01*GRP0100*SYNTH EMPLOYER*12****MB", "AMT*D*36", "OI***Y*P**Y"]
    assert between(data, "REF*6R*COB0002-1", "LX*2")[1:-1] == [
        "SVD*PAYER01*56*HC:99213:25**1", "CAS*CO*45*24", "CAS*PR*1*20", "DTP*573*D8*20250310",
        "SVD*PAYER02*20*HC:99213:25**1", "CAS*OA*23*80", "DTP*573*D8*20250324"]


def test_a_primary_claim_names_the_other_coverage_without_adjudication():
    data, _ = write_837([primary_naming_the_secondary()])
    assert between(data, "SBR*S*01*GRP0100*SYNTH EMPLOYER*****MB", "LX*1") == [
        "SBR*S*01*GRP0100*SYNTH EMPLOYER*****MB", "OI***Y***Y", "NM1*IL*1*SAMPLE*ROBIN****MI*SPOUSE0001",
        "N3*1 TEST STREET", "N4*SPRINGFIELD*IL*62701", "NM1*PR*2*SECOND HEALTH PLAN*****PI*PAYER02", "LX*1"]


def test_adjustments_are_grouped_one_cas_per_group_in_order_of_first_appearance():
    line = replace(professional_claim().lines[1], adjudications=(svd(
        PRIMARY, "10", "81002", co("45", "5"), pr("1", "20"), co("253", "1"), pr("2", "14", ),
        Adjustment("PR", "3", D("0"), D(2))),))
    claim = professional_claim("COB0005", payer=SECONDARY, lines=(professional_claim().lines[0], line),
                               other_payers=(OtherPayer(PRIMARY, SUBSCRIBER, paid=D("10"), adjudication_date=PAID,
                                                        adjustments=(co("45", "100"),)),))
    data, _ = write_837([claim])
    assert [s for s in lines_of(data) if s.startswith("CAS")] == [
        "CAS*CO*45*100", "CAS*CO*45*5**253*1", "CAS*PR*1*20**2*14**3*0*2"]
    written, problems = prepare_claim(claim, "professional")
    assert problems == ()
    assert [(a.group, a.reason) for a in written.lines[1].adjudications[0].adjustments] == [
        ("CO", "45"), ("CO", "253"), ("PR", "1"), ("PR", "2"), ("PR", "3")]


# -- pyx12 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", [secondary_837p(), secondary_837i()], ids=["837P", "837I"])
def test_pyx12_validates_the_secondary_claim_of_the_worked_scenario_with_zero_errors(claim):
    """One prior payer: CO-45 on the paid lines, PR-1 and PR-2 on different lines, one line denied."""
    out = io.BytesIO()
    build_837(out, [claim], SUBMITTER, SENDER, RECEIVER, CounterControlNumbers(), NOW, "T")
    report = validate_bytes(out.getvalue(), file="secondary.837", deep=True)
    assert [str(p) for p in report.problems if p.is_error] == []


# -- reading back -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_what_is_written_is_read_back_to_the_same_values(name):
    _, written, read = written_and_read(SCENARIOS[name])
    assert read == written
    expected = [no_sources(prepare_claim(c, c.kind)[0]) for c in SCENARIOS[name]]
    assert read == expected
    assert read[0].other_payers  # not vacuous


def test_the_read_back_amounts_are_the_primarys():
    _, _, [claim] = written_and_read((secondary_837p(),))
    [primary] = claim.other_payers
    assert (primary.payer, primary.paid, primary.claim_number, primary.outpatient) == (
        PRIMARY, D("80"), "CCN0001", ("", "", "MA01"))
    assert primary.adjudication_date is None  # written on the lines
    assert [[(a.paid, [(x.group, x.reason, x.amount) for x in a.adjustments], a.adjudication_date)
             for a in ln.adjudications] for ln in claim.lines] == [
        [(D("56"), [("CO", "45", D("24")), ("PR", "1", D("20"))], PAID)],
        [(D("24"), [("CO", "45", D("10")), ("PR", "2", D("16"))], PAID)],
        [(D("0"), [("CO", "50", D("30"))], PAID)],
    ]


def test_as_written_fills_line_dates_and_drops_what_the_loops_do_not_carry():
    claim = secondary_837i()
    claim = replace(claim, other_payers=(replace(
        claim.other_payers[0], insurance_type="12", patient_signature_source="P",
        inpatient=("3", "1500", "", "", "MA01", None, None),
        subscriber=replace(SUBSCRIBER, birth_date=date(1980, 1, 2), address=replace(STREET, zip="62701-0001"))),))
    written, problems = prepare_claim(claim, "institutional")
    assert problems == ()
    [other] = written.other_payers
    assert (other.insurance_type, other.patient_signature_source) == (None, None)  # SBR05, OI04: 837P only
    assert other.inpatient == ("3", "", "", "", "MA01")  # the 837 does not carry MIA02
    assert other.subscriber.birth_date is None and other.subscriber.address.zip == "627010001"
    assert other.adjudication_date is None
    assert {a.adjudication_date for ln in written.lines for a in ln.adjudications} == {PAID}


# -- refusals ---------------------------------------------------------------------------------------------------


def test_a_claim_that_does_not_balance_for_a_prior_payer_is_refused_saying_by_how_much():
    claim = secondary_837p(other_payers=(primary_of(paid="85"),))
    [problem] = refused(claim)
    assert problem.code == "837.write.cob_balance"
    assert problem.message == ("other payer 1: CLM02 is 180 but AMT*D 85 + claim-level CAS 0 + line-level CAS 100 "
                               "make 185 (difference -5)")
    assert (problem.where.record, problem.where.loop) == ("COB0001", "2320")


def test_a_line_that_does_not_balance_is_refused():
    lines = professional_lines(PROFESSIONAL_PRIMARY)
    short = replace(lines[0], adjudications=(svd(PRIMARY, "56", "99213", co("45", "24"), modifiers=("25",)),))
    claim = secondary_837p(lines=(short, *lines[1:]), other_payers=(primary_of(
        adjustments=(pr("1", "20"),)),))  # the claim balances (20 moved to claim level), line 1 does not
    problems = refused(claim)
    assert [(p.code, p.where.loop) for p in problems] == [("837.write.cob_balance", "2430")]
    assert problems[0].message == ("service line 1, other payer 1: the line charge is 100.00 but SVD02 56 + line "
                                   "CAS 24 make 80 (difference 20.00)")


REFUSED = {
    "837.write.cob_payer": secondary_837p(lines=professional_lines(tuple(
        replace(a, payer_id="NOBODY") for a in PROFESSIONAL_PRIMARY)), other_payers=(primary_of(
            adjustments=(co("45", "64"), pr("1", "20"), pr("2", "16"))),)),
    "837.write.adjustment": replace(claim_level_837p(), other_payers=(replace(  # 7 CO reasons: one CAS holds 6
        claim_level_837p().other_payers[0], paid=D("48"),
        adjustments=(*(co(str(r), "1") for r in range(40, 47)), pr("1", "15"), pr("2", "80"))),)),
    "837.write.missing": secondary_837p(other_payers=(replace(primary_of(), adjudication_date=None),)),
    "837.write.not_carried": secondary_837p(other_payers=(primary_of(inpatient=("3",)),)),
    "837.write.code": secondary_837p(other_payers=(primary_of(benefits_assigned="X"),)),
}


@pytest.mark.parametrize("code", sorted(REFUSED))
def test_other_payers_that_break_the_guide_are_refused(code):
    assert {p.code for p in refused(REFUSED[code])} == {code}


def test_two_payers_with_the_same_place_in_the_order_of_payment_are_refused():
    claim = primary_naming_the_secondary()
    claim = replace(claim, other_payers=(replace(claim.other_payers[0], payer=replace(SECONDARY, responsibility="P")),))
    assert [(p.code, p.where.element) for p in refused(claim)] == [("837.write.cob_payer", "SBR01")]


def test_an_adjudication_needs_the_payers_paid_amount():
    claim = secondary_837p(other_payers=(replace(primary_of(), paid=None),))
    assert {(p.code, p.where.element) for p in refused(claim)} == {("837.write.missing", "AMT02")}


def test_a_claim_without_other_payers_is_prepared_as_before():
    claim = professional_claim()
    written, problems = prepare_claim(claim, "professional")
    assert problems == () and written.other_payers == () and all(ln.adjudications == () for ln in written.lines)


# -- the corpus -------------------------------------------------------------------------------------------------


def _cob_files() -> list[tuple[str, bool]]:
    """(path, is 5010) of the corpus 837P/837I files that carry 2320 amounts or 2430 loops."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    out = []
    for row in (r.split("\t") for r in manifest.read_text(encoding="utf-8").splitlines()[1:]):
        if row[1] in ("837P", "837I") and any(count for count in scan((CORPUS / row[0]).read_bytes())[::2]):
            out.append((row[0], "version 00501" in row[8]))
    return out


def scan(data: bytes) -> tuple[int, Decimal, int, Decimal, int, Decimal]:
    """SVD segments and the sum of SVD02, AMT*D and their sum, CAS triplets and their sum: counted with nothing
    but str.split (CAS appears in an 837 only in loops 2320 and 2430)."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    element, terminator = (text[3], text[105]) if text.startswith("ISA") else (text[2], "~")
    segments = [s.strip().split(element) for s in text.split(terminator)]
    paid = [D(s[2]) for s in segments if s[0] == "SVD"]
    amt_d = [D(s[2]) for s in segments if s[0] == "AMT" and s[1] == "D"]
    cas = [D(s[i]) for s in segments if s[0] == "CAS" for i in range(3, len(s), 3) if s[i]]
    return len(paid), sum(paid, D(0)), len(amt_d), sum(amt_d, D(0)), len(cas), sum(cas, D(0))


COB_FILES = _cob_files()


@pytest.mark.skipif(not COB_FILES, reason="../shared/corpus is absent")
@pytest.mark.parametrize(("path", "is_5010"), COB_FILES, ids=[p for p, _ in COB_FILES])
def test_the_corpus_secondary_claims_are_read_with_their_2320_and_2430_amounts(path, is_5010):
    data = (CORPUS / path).read_bytes()
    stream = read_837(str(CORPUS / path))
    claims = list(stream)
    assert claims
    if not is_5010:  # 4010 and unknown versions: read as far as their structure matches, without a crash
        return
    adjudications = [a for c in claims for ln in c.lines for a in ln.adjudications]
    paid = [o.paid for c in claims for o in c.other_payers if o.paid is not None]
    cas = [x.amount for c in claims for o in c.other_payers for x in o.adjustments] + \
        [x.amount for a in adjudications for x in a.adjustments]
    assert (len(adjudications), sum((a.paid for a in adjudications), D(0)), len(paid), sum(paid, D(0)), len(cas),
            sum(cas, D(0))) == scan(data)
    assert not [p for p in stream.problems if p.where.loop in ("2320", "2330A", "2330B", "2430")]


@pytest.mark.skipif(not COB_FILES, reason="../shared/corpus is absent")
def test_a_known_corpus_secondary_claim_is_read_exactly():
    """stupidedi's "COB claim from billing provider to payer B": 79.04 = 39.15 paid + 36.89 claim-level PR
    + 3 line-level CO; the lines' SVD02 add up to 76.04 = 39.15 + 36.89."""
    [claim] = read_837(str(CORPUS / "837P/stupidedi__COB-claim-from-billing-provider-to-payer-b.edi"))
    assert (claim.patient_control_number, claim.total_charge, claim.payer.responsibility) == ("26407789", D("79.04"),
                                                                                               "S")
    [primary] = no_sources(claim.other_payers)
    assert primary == OtherPayer(
        Payer("KEY INSURANCE COMPANY", "999996666", filing_indicator="CI", responsibility="P"),
        Subscriber("JS00111223333", "SMITH", "JANE", address=replace(STREET, line1="236 N MAIN ST", city="MIAMI",
                                                                      state="FL", zip="33111")),
        relationship="01", paid=D("39.15"), adjustments=(Adjustment("PR", "1", D("21.89")),
                                                         Adjustment("PR", "2", D("15"))),
        remaining_patient_liability=D("36.89"), patient_signature_source="P")
    assert [[(a.payer_id, a.paid, a.procedure, a.units, [(x.group, x.reason, x.amount) for x in a.adjustments],
              a.adjudication_date) for a in ln.adjudications] for ln in claim.lines] == [
        [("999996666", D("40"), "99213", D(1), [("CO", "42", D("3"))], date(2005, 10, 15))],
        [("999996666", D("15"), "90782", D(1), [], date(2005, 10, 15))],
        [("999996666", D("21.04"), "J3301", D(1), [], date(2005, 10, 15))],
    ]



@pytest.mark.skipif(not COB_FILES, reason="../shared/corpus is absent")
def test_the_corpus_secondary_claims_are_recorded_in_the_ledger(tmp_path):
    """Every corpus 837 with 2320/2430 loops goes through `Ledger.record_837` without a crash, and the ledger's
    invariants hold afterwards (a file refused for its own errors is fine; a traceback is not)."""
    from edi.ledger import Ledger

    ledger = Ledger(f"sqlite:///{tmp_path / 'edi.db'}")
    try:
        outcomes = {path: ledger.record_837(str(CORPUS / path)).outcome for path, _ in COB_FILES}
        assert set(outcomes.values()) <= {"imported", "refused", "already"}, outcomes
        assert "imported" in outcomes.values()
        assert ledger.check() == []
    finally:
        ledger.close()
