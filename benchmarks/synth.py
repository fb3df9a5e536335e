"""Seeded synthetic X12 for benchmarks: an 837P of N claims and the balanced 835 that pays them.

    python benchmarks/synth.py 835 50000 out.835 [--per-st 5000] [--seed 7]
    python benchmarks/synth.py 837 50000 out.837

Both files describe the same claims (same patient control numbers, lines and REF*6R line ids), so the
ledger benchmark can record the 837 and post the 835 against it. The 835 mixes paid claims (CO-45 and
PR-2 adjustments), secondary payments (CLP02 = 2), denials (CLP02 = 4), reversals (CLP02 = 22, negated
amounts) with their correction, and one or more PLB segments per transaction (interest L6, recoupment WO
naming a claim, forward balance FB). Every equation balances: SVC02 - line CAS = SVC03, CLP03 - CAS =
CLP04, BPR02 = sum(CLP04) - sum(PLB). Writing streams: memory does not grow with N.

All names, ids and dates are synthetic.
"""

from __future__ import annotations

import os
import sys

# benchmarks/tokenize.py is named like the standard library's tokenize module: keep this folder off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import random  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import BinaryIO  # noqa: E402

CENT = Decimal("0.01")
PROCEDURES = ["99211", "99212", "99213", "99214", "99215", "36415", "80053", "85025", "93000", "71046",
              "97110", "97140", "90837", "G0439", "81002", "87880", "20610", "J1100"]
DIAGNOSES = ["E119", "I10", "J069", "M545", "Z0000", "R0789", "K219", "F329", "E785", "N390"]
LAST = ["SMITH", "JONES", "BROWN", "GARCIA", "MILLER", "DAVIS", "LOPEZ", "WILSON", "TAYLOR", "CLARK"]
FIRST = ["ALEX", "SAM", "JORDAN", "CASEY", "RILEY", "MORGAN", "TAYLOR", "JAMIE", "AVERY", "QUINN"]
BILLING_NPI = "1234567893"
START = date(2025, 1, 6)


def money(x: Decimal) -> str:
    """X12 decimal: no trailing zeros after the point, no point for whole amounts."""
    s = format(x.quantize(CENT), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s if s not in ("-0", "") else "0"


@dataclass(frozen=True, slots=True)
class Line:
    procedure: str
    modifier: str
    charge: Decimal
    units: int
    service_date: date
    line_id: str


@dataclass(frozen=True, slots=True)
class SynthClaim:
    pcn: str
    member_id: str
    last: str
    first: str
    lines: tuple[Line, ...]
    diagnoses: tuple[str, ...]

    @property
    def charge(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), Decimal(0))


def claims(n: int, seed: int = 7) -> Iterator[SynthClaim]:
    rng = random.Random(seed)
    for i in range(n):
        pcn = f"PCN{i + 1:07d}"
        day = START + timedelta(days=rng.randrange(0, 60))
        lines = tuple(
            Line(rng.choice(PROCEDURES), rng.choice(["", "", "", "25", "59"]),
                 Decimal(rng.randrange(2500, 60000)) / 100, rng.choice([1, 1, 1, 2]), day, f"{pcn}L{k + 1}")
            for k in range(rng.choice([1, 1, 2, 2, 3]))
        )
        yield SynthClaim(pcn, f"MBR{rng.randrange(10**8):08d}", rng.choice(LAST), rng.choice(FIRST), lines,
                         tuple(rng.sample(DIAGNOSES, rng.choice([1, 2, 3]))))


class _Out:
    """Segments to a binary stream with correct SE counts; ISA/GS/GE/IEA written by the callers."""

    def __init__(self, fp: BinaryIO) -> None:
        self.fp = fp
        self.count = 0
        self.buf: list[str] = []

    def seg(self, *elements: str) -> None:
        text = "*".join(elements)
        while text.endswith("*"):
            text = text[:-1]
        self.buf.append(text + "~\n")
        self.count += 1
        if len(self.buf) >= 4096:
            self.flush()

    def flush(self) -> None:
        self.fp.write("".join(self.buf).encode())
        self.buf.clear()


def _isa(out: _Out, sender: str, receiver: str, control: int) -> None:
    out.seg("ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15), "250301",
            "1200", "^", "00501", f"{control:09d}", "0", "T", ":")


def write_837(fp: BinaryIO, n: int, *, per_st: int = 5000, seed: int = 7) -> int:
    """An 837P (005010X222A1) with n claims, one subscriber per claim. Returns the number of claims."""
    out = _Out(fp)
    _isa(out, "SUBMITTER", "CLEARINGHOUSE", 1)
    out.seg("GS", "HC", "SUBMITTER", "CLEARINGHOUSE", "20250301", "1200", "1", "X", "005010X222A1")
    st = 0
    in_st = 0
    start = 0
    hl = 0
    for c in claims(n, seed):
        if in_st == 0:
            st += 1
            start = out.count
            out.seg("ST", "837", f"{st:04d}", "005010X222A1")
            out.seg("BHT", "0019", "00", f"BATCH{st:05d}", "20250301", "1200", "CH")
            out.seg("NM1", "41", "2", "SYNTH BILLING", "", "", "", "", "46", "SUBMITTER")
            out.seg("PER", "IC", "BILLING OFFICE", "TE", "5555550100")
            out.seg("NM1", "40", "2", "SYNTH CLEARINGHOUSE", "", "", "", "", "46", "CLEARINGHOUSE")
            out.seg("HL", "1", "", "20", "1")
            out.seg("NM1", "85", "2", "SYNTH CLINIC", "", "", "", "", "XX", BILLING_NPI)
            out.seg("N3", "100 SAMPLE WAY")
            out.seg("N4", "SPRINGFIELD", "IL", "627010001")
            out.seg("REF", "EI", "990000001")
            hl = 1
        hl += 1
        out.seg("HL", str(hl), "1", "22", "0")
        out.seg("SBR", "P", "18", "", "", "", "", "", "", "CI")
        out.seg("NM1", "IL", "1", c.last, c.first, "", "", "", "MI", c.member_id)
        out.seg("N3", "1 TEST ST")
        out.seg("N4", "SPRINGFIELD", "IL", "62701")
        out.seg("DMG", "D8", "19800101", "U")
        out.seg("NM1", "PR", "2", "SYNTH HEALTH PLAN", "", "", "", "", "PI", "SYNTH01")
        out.seg("CLM", c.pcn, money(c.charge), "", "", "11:B:1", "Y", "A", "Y", "Y")
        out.seg("HI", *[("ABK:" if k == 0 else "ABF:") + d for k, d in enumerate(c.diagnoses)])
        for k, ln in enumerate(c.lines, 1):
            out.seg("LX", str(k))
            proc = "HC:" + ln.procedure + (":" + ln.modifier if ln.modifier else "")
            out.seg("SV1", proc, money(ln.charge), "UN", str(ln.units), "", "", "1")
            out.seg("DTP", "472", "D8", ln.service_date.strftime("%Y%m%d"))
            out.seg("REF", "6R", ln.line_id)
        in_st += 1
        if in_st == per_st:
            out.seg("SE", str(out.count - start + 1), f"{st:04d}")
            in_st = 0
    if in_st:
        out.seg("SE", str(out.count - start + 1), f"{st:04d}")
    out.seg("GE", str(st), "1")
    out.seg("IEA", "1", f"{1:09d}")
    out.flush()
    return n


def write_acks(fp: BinaryIO, n: int, *, per_st: int = 5000, seed: int = 7, rejected_every: int = 0) -> int:
    """The clearinghouse's answer to ``write_837(fp, n, per_st=...)``: one interchange holding a 999 accepting
    every transaction set, then a 277CA (005010X214) with a 2200D loop per claim, accepted into adjudication (A2)
    or, every ``rejected_every``-th claim when that is not 0, rejected (A7). Returns the claims rejected."""
    out = _Out(fp)
    sets = (n + per_st - 1) // per_st
    _isa(out, "CLEARINGHOUSE", "SUBMITTER", 9)
    out.seg("GS", "FA", "CLEARINGHOUSE", "SUBMITTER", "20250302", "0800", "9", "X", "005010X231A1")
    out.seg("ST", "999", "0001", "005010X231A1")
    out.seg("AK1", "HC", "1", "005010X222A1")
    for st in range(1, sets + 1):
        out.seg("AK2", "837", f"{st:04d}", "005010X222A1")
        out.seg("IK5", "A")
    out.seg("AK9", "A", str(sets), str(sets), str(sets))
    out.seg("SE", str(2 * sets + 4), "0001")  # ST, AK1, the AK2/IK5 pairs, AK9, SE
    out.seg("GE", "1", "9")
    out.seg("GS", "HN", "CLEARINGHOUSE", "SUBMITTER", "20250303", "0800", "10", "X", "005010X214")
    rejected = 0
    batch = list(claims(n, seed))
    for st in range(1, sets + 1):
        chunk = batch[(st - 1) * per_st:st * per_st]
        start = out.count
        out.seg("ST", "277", f"{st:04d}", "005010X214")
        out.seg("BHT", "0085", "08", f"277CA{st:05d}", "20250303", "0800", "TH")
        out.seg("HL", "1", "", "20", "1")
        out.seg("NM1", "PR", "2", "SYNTH HEALTH PLAN", "", "", "", "", "PI", "SYNTH01")
        out.seg("TRN", "1", f"RCPT{st:05d}")
        out.seg("DTP", "050", "D8", "20250302")
        out.seg("DTP", "009", "D8", "20250303")
        out.seg("HL", "2", "1", "21", "1")
        out.seg("NM1", "41", "2", "SYNTH BILLING", "", "", "", "", "46", "SUBMITTER")
        out.seg("TRN", "2", f"BATCH{st:05d}")
        out.seg("STC", "A1:19:PR", "20250303", "WQ", money(sum((c.charge for c in chunk), Decimal(0))))
        out.seg("HL", "3", "2", "19", "1")
        out.seg("NM1", "85", "2", "SYNTH CLINIC", "", "", "", "", "XX", BILLING_NPI)
        out.seg("TRN", "1", "0")
        out.seg("STC", "A1:19:PR", "", "WQ", money(sum((c.charge for c in chunk), Decimal(0))))
        for k, c in enumerate(chunk, 4):
            reject = rejected_every and (k - 3 + (st - 1) * per_st) % rejected_every == 0
            rejected += bool(reject)
            out.seg("HL", str(k), "3", "PT")
            out.seg("NM1", "QC", "1", c.last, c.first, "", "", "", "MI", c.member_id)
            out.seg("TRN", "2", c.pcn)
            if reject:
                out.seg("STC", "A7:562:85", "20250303", "U", money(c.charge))
            else:
                out.seg("STC", "A2:20:PR", "20250303", "WQ", money(c.charge))
                out.seg("REF", "1K", f"ICN{c.pcn}")
            out.seg("DTP", "472", "D8", c.lines[0].service_date.strftime("%Y%m%d"))
        out.seg("SE", str(out.count - start + 1), f"{st:04d}")
    out.seg("GE", str(sets), "10")
    out.seg("IEA", "2", f"{9:09d}")
    out.flush()
    return rejected


def _adjudicate(c: SynthClaim, rng: random.Random):
    """(status, paid, patient_resp, claim CAS, [(line, paid, cas list)]) for one claim."""
    roll = rng.random()
    status = "4" if roll < 0.08 else ("2" if roll < 0.16 else "1")
    lines = []
    for ln in c.lines:
        if status == "4":
            lines.append((ln, Decimal(0), [("CO", "50", ln.charge)]))
            continue
        allowed = (ln.charge * Decimal(rng.randrange(55, 90)) / 100).quantize(CENT)
        pr = min(allowed, Decimal(rng.choice([0, 0, 10, 20, 25])))
        cas = [("CO", "45", ln.charge - allowed)]
        if pr:
            cas.append(("PR", "2" if status == "1" else "1", pr))
        lines.append((ln, allowed - pr, cas))
    paid = sum((p for _, p, _ in lines), Decimal(0))
    claim_cas = []
    if status == "1" and paid > 10 and rng.random() < 0.06:  # a claim-level PR deductible
        claim_cas.append(("PR", "1", Decimal("5.00")))
        paid -= Decimal("5.00")
    pr_total = sum((a for _, _, cas in lines for g, _, a in cas if g == "PR"), Decimal(0)) + \
        sum((a for g, _, a in claim_cas if g == "PR"), Decimal(0))
    return status, paid, pr_total, claim_cas, lines


def _write_clp(out: _Out, c: SynthClaim, status: str, sign: int, paid: Decimal, pr: Decimal, claim_cas, lines,
               payer_icn: str) -> None:
    s = Decimal(sign)
    out.seg("CLP", c.pcn, status, money(c.charge * s), money(paid * s), money(pr * s) if pr else "", "12",
            payer_icn, "11", "1")
    for g, r, a in claim_cas:
        out.seg("CAS", g, r, money(a * s))
    out.seg("NM1", "QC", "1", c.last, c.first, "", "", "", "MI", c.member_id)
    out.seg("NM1", "82", "1", "RENDER", "PAT", "", "", "", "XX", "1245319599")
    day = c.lines[0].service_date.strftime("%Y%m%d")
    out.seg("DTM", "232", day)
    out.seg("DTM", "233", day)
    if status != "4":
        out.seg("AMT", "AU", money(c.charge * s))
    for ln, lpaid, cas in lines:
        proc = "HC:" + ln.procedure + (":" + ln.modifier if ln.modifier else "")
        out.seg("SVC", proc, money(ln.charge * s), money(lpaid * s), "", str(ln.units))
        out.seg("DTM", "472", ln.service_date.strftime("%Y%m%d"))
        for g, r, a in cas:
            out.seg("CAS", g, r, money(a * s))
        out.seg("REF", "6R", ln.line_id)
        if status != "4":
            out.seg("AMT", "B6", money((lpaid + sum((a for g, _, a in cas if g == "PR"), Decimal(0))) * s))
        else:
            out.seg("LQ", "HE", "N130")


def write_835(fp: BinaryIO, n: int, *, per_st: int = 5000, seed: int = 7, one_plb: bool = False) -> dict:
    """The 835 that answers ``write_837(n, seed)``: one ST per ``per_st`` claims. Returns totals. ``one_plb``
    writes a transaction's provider adjustments in one PLB segment (x12sdk 2.2 fails on a second PLB)."""
    rng = random.Random(seed + 1)
    out = _Out(fp)
    _isa(out, "SYNTHPAYER", "SYNTHCLINIC", 1)
    out.seg("GS", "HP", "SYNTHPAYER", "SYNTHCLINIC", "20250401", "0900", "1", "X", "005010X221A1")
    totals = {"claims": 0, "clps": 0, "transactions": 0, "paid": Decimal(0), "plb": Decimal(0)}
    batch: list[SynthClaim] = []

    def flush_st(batch: list[SynthClaim]) -> None:
        totals["transactions"] += 1
        st = totals["transactions"]
        body = _Out(fp)  # count body segments separately; buffer the ST in memory (per_st claims at most)
        body_buf: list[str] = []
        body.buf = body_buf
        body.flush = lambda: None  # type: ignore[method-assign]
        paid_total = Decimal(0)
        for k, c in enumerate(batch):
            status, paid, pr, claim_cas, lines = _adjudicate(c, rng)
            icn = f"ICN{c.pcn[3:]}"
            if k == 0 or rng.random() < 0.04:
                body.seg("LX", str(k + 1))
            if status != "4" and rng.random() < 0.04:
                # paid earlier, reversed now, corrected in the same remittance
                _write_clp(body, c, "22", -1, paid, pr, claim_cas, lines, icn)
                paid_total -= paid
                totals["clps"] += 1
            _write_clp(body, c, status, 1, paid, pr, claim_cas, lines, icn)
            paid_total += paid
            totals["clps"] += 1
            totals["claims"] += 1
        plbs = [("L6", "", Decimal(-rng.randrange(100, 900)) / 100)]  # interest paid: negative reduces nothing
        if len(batch) > 2:
            plbs.append(("WO", batch[1].pcn, Decimal(rng.randrange(1000, 5000)) / 100))
        plb_total = sum((a for _, _, a in plbs), Decimal(0))
        amount = paid_total - plb_total
        start = out.count
        out.seg("ST", "835", f"{st:04d}")
        out.seg("BPR", "I", money(amount), "C", "ACH", "CCP", "01", "999999992", "DA", "123456", "1512345678", "",
                "01", "999988880", "DA", "98765", "20250401")
        out.seg("TRN", "1", f"EFT{st:09d}", "1512345678")
        out.seg("DTM", "405", "20250331")
        out.seg("N1", "PR", "SYNTH HEALTH PLAN")
        out.seg("N3", "1 PAYER PLAZA")
        out.seg("N4", "CAPITAL CITY", "IL", "627010002")
        out.seg("REF", "2U", "SYNTH01")
        out.seg("PER", "BL", "PROVIDER SERVICES", "TE", "5555550199")
        out.seg("N1", "PE", "SYNTH CLINIC", "XX", BILLING_NPI)
        out.seg("REF", "TJ", "990000001")
        out.flush()
        out.buf.extend(body_buf)
        out.count += body.count
        if one_plb and plbs:  # every adjustment in one PLB (up to six pairs), for readers that take only one
            pairs = [x for code, ref, a in plbs for x in (f"{code}:{ref}" if ref else code, money(a))]
            out.seg("PLB", BILLING_NPI, "20251231", *pairs[:12])
        else:
            for code, ref, a in plbs:
                ident = f"{code}:{ref}" if ref else code
                out.seg("PLB", BILLING_NPI, "20251231", ident, money(a))
        out.seg("SE", str(out.count - start + 1), f"{st:04d}")
        out.flush()
        totals["paid"] += paid_total
        totals["plb"] += plb_total

    for c in claims(n, seed):
        batch.append(c)
        if len(batch) == per_st:
            flush_st(batch)
            batch = []
    if batch:
        flush_st(batch)
    out.seg("GE", str(totals["transactions"]), "1")
    out.seg("IEA", "1", f"{1:09d}")
    out.flush()
    return totals


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["835", "837"])
    p.add_argument("claims", type=int)
    p.add_argument("out")
    p.add_argument("--per-st", type=int, default=5000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    with open(a.out, "wb") as fp:
        if a.kind == "835":
            print(write_835(fp, a.claims, per_st=a.per_st, seed=a.seed))
        else:
            print(write_837(fp, a.claims, per_st=a.per_st, seed=a.seed))


if __name__ == "__main__":
    main()
