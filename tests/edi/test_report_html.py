"""The HTML report (edi.report): its figures are the views' figures, nothing from a file can add markup, it is
self-contained, and Chromium renders it to something that is not a blank page."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from lxml import html
from test_ledger_deposits import LAYOUT, bank_file, payments_ledger
from test_ledger_reports import (
    AS_OF,
    FEES,
    KEYS,
    Clock,
    aging_ledger,
    claim,
    close_ledgers,  # noqa: F401  (closes the ledgers each test opens)
    denial_ledger,
    open_ledger,
    record,
    remit,
    variance_ledger,
)

from edi.fees import parse_fee_schedule
from edi.ledger import Ledger
from edi.ledger.reports import VarianceSummary
from edi.model import Payer
from edi.report import ReportOptions, render_remittance_html, render_report

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 7, 1, 8, 0)


def office(db: str, tmp: Path) -> Ledger:
    """One ledger holding every scenario of the report tests: aging edges, denials, variance, deposits."""
    aging_ledger(db, tmp)
    denial_ledger(db, tmp)
    variance_ledger(db, tmp)
    ledger, clock = payments_ledger(db, tmp)
    clock.now = datetime(2025, 6, 15, 9, 0)
    ledger.import_deposits(bank_file(tmp), LAYOUT)
    return ledger


def fees():
    return parse_fee_schedule([r.split(",") for r in FEES.strip().splitlines()])


def render(ledger: Ledger, tmp: Path) -> tuple[bytes, object]:
    out = tmp / "report.html"
    problems = render_report(ledger, str(out), ReportOptions(as_of=AS_OF, fees=fees(), payer_keys=KEYS,
                                                             appeal_days={"ACME01": 90}, now=NOW))
    assert problems == []
    data = out.read_bytes()
    return data, html.fromstring(data)


def figures(tree) -> dict[str, str]:
    return {el.get("data-figure"): el.text_content().strip() for el in tree.iter() if el.get("data-figure")}


def amount(text: str) -> D:
    return D(text.replace(",", ""))


def test_the_reports_figures_are_the_views_figures(tmp_path, db):
    ledger = office(db, tmp_path)
    _, tree = render(ledger, tmp_path)
    fig = figures(tree)
    aging = ledger.aging(as_of=AS_OF).as_dict()
    for row in [*aging["payers"], aging["total"]]:
        key = row["payer_id"] or "total"
        for bucket, value in row["insurance"].items():
            assert amount(fig[f"aging.{key}.insurance.{bucket}"]) == D(value), (key, bucket)
        assert amount(fig[f"aging.{key}.insurance_total"]) == D(row["insurance_total"])
        assert amount(fig[f"aging.{key}.patient_total"]) == D(row["patient_total"])
        assert int(fig[f"aging.{key}.claims"]) == row["claims"]
    assert amount(fig["headline.insurance_ar"]) == D(aging["total"]["insurance_total"])
    assert amount(fig["headline.patient_ar"]) == D(aging["total"]["patient_total"])

    denied = ledger.denial_summary().as_dict()
    for r in denied["by_reason"]:
        k = f"denials.reason.{r['group']}-{r['reason']}"
        assert (int(fig[f"{k}.items"]), amount(fig[f"{k}.amount"])) == (r["items"], D(r["amount"]))
    for r in denied["by_payer"]:
        k = f"denials.payer.{r['payer_id']}"
        assert (int(fig[f"{k}.items"]), amount(fig[f"{k}.amount"])) == (r["items"], D(r["amount"]))
    assert (int(fig["denials.items"]), amount(fig["denials.amount"])) == (denied["items"], D(denied["amount"]))
    assert amount(fig["headline.denied"]) == D(denied["amount"]) == D("250.00")
    for d in ledger.denials(as_of=AS_OF, appeal_days={"ACME01": 90}):
        k = f"denial.{d.claim}.{d.level}.{d.line or ''}"
        assert amount(fig[f"{k}.amount"]) == d.amount and int(fig[f"{k}.age"]) == d.age
        assert fig[f"{k}.appeal_by"] == (d.appeal_by.isoformat() if d.appeal_by else "")

    dep = ledger.deposits().as_dict()["totals"]
    for k in ("matched", "payments_without_deposit", "deposits_without_835", "mismatches"):
        assert int(fig[f"deposits.{k}"]) == dep[k], k
    for k in ("matched_amount", "payments_without_deposit_amount", "deposits_without_835_amount"):
        assert amount(fig[f"deposits.{k}"]) == D(dep[k]), k
    assert amount(fig["headline.undeposited"]) == D(dep["undeposited_era_cash"])
    assert fig["payment.CHK200.deposit"] == "deposit 2025-06-05 holds 80.00"
    assert fig["payment.EFT100.deposit"] == "deposited 2025-06-03 (trace)"

    summary = VarianceSummary()
    for line in ledger.variance(fees(), KEYS, []):
        summary.add(line)
    s = summary.as_dict()
    assert amount(fig["variance.at_stake"]) == D(s["at_stake"]) == D("50.00")  # 5 (V1) + 25 (A1) + 20 (D1)
    assert amount(fig["headline.at_stake"]) == D(s["at_stake"])
    for row in s["below_contract"]:
        k = f"variance.{row['payer_id']}.{row['procedure']}"
        assert (int(fig[f"{k}.lines"]), amount(fig[f"{k}.at_stake"])) == (row["lines"], D(row["at_stake"]))

    rec = ledger.reconcile()
    pages = tree.xpath("//section[@class='eob']")
    assert [p.get("data-trace") for p in pages] == [p["trace_number"] for p in rec["payments"]]
    for page, p in zip(pages, rec["payments"], strict=True):
        assert amount(page.xpath(".//*[@data-figure='eob.amount']")[0].text_content()) == D(p["amount"])
    assert amount(fig["headline.received"]) == D(rec["totals"]["amount"])


def test_the_report_is_self_contained_and_prints(tmp_path):
    ledger = office(f"sqlite:///{tmp_path / 'edi.db'}", tmp_path)
    data, tree = render(ledger, tmp_path)
    assert data.startswith(b"<!DOCTYPE html>")
    assert tree.xpath("//script | //link | //img | //iframe | //object | //embed") == []
    assert not [a for el in tree.iter() for a in el.attrib if a.lower().startswith("on") or a in ("src", "href")]
    css = "".join(tree.xpath("//style/text()"))
    assert "@media print" in css and "url(" not in css and "@import" not in css
    assert b"http://" not in data and b"https://" not in data
    assert len(tree.xpath("//svg")) == 2  # aging by payer, denials by reason
    # one bar segment per payer and bucket holding insurance money, in that bucket's colour
    bars = tree.xpath("//svg[1]//rect[@height='22']")
    aging = ledger.aging(as_of=AS_OF)
    assert [b.get("fill") for b in bars] == [
        ("#4f8bd6", "#7fb069", "#e6b34a", "#e07b39", "#b8333c")[i]
        for r in aging.rows for i, v in enumerate(r.insurance) if v > 0]
    assert len(bars) == 6  # ACME 31-60, 61-90, 91-120, over 120; BLUE 61-90, 91-120


HOSTILE_PAYER = Payer('<script>alert("x")</script> & "Co"', "EVIL01")
HOSTILE_CLAIM = '<i>&"1</i>'


def test_markup_in_a_payer_name_and_a_claim_id_comes_out_escaped(tmp_path, db):
    clock = Clock(datetime(2025, 6, 1, 9, 0))
    ledger = open_ledger(db, clock)
    record(ledger, tmp_path, "evil.837", [claim(HOSTILE_CLAIM, HOSTILE_PAYER, date(2025, 5, 2),
                                                ("99213", "100"))])
    clock.now = datetime(2025, 6, 10, 9, 0)
    remit(ledger, tmp_path, "evil.835", HOSTILE_PAYER, "T<b>&1", "0", date(2025, 6, 9), f"""
    CLP*{HOSTILE_CLAIM}*4*100*0**12*ICN1*11*1~
    CAS*CO*50*100~
    """)
    data, tree = render(ledger, tmp_path)
    assert b"<script" not in data and b"<i>" not in data and b"<b>" not in data
    assert tree.xpath("//script | //i | //b") == []
    text = tree.text_content()
    assert HOSTILE_PAYER.name in text and HOSTILE_CLAIM in text and "T<b>&1" in text
    fig = figures(tree)
    assert amount(fig[f"denial.{HOSTILE_CLAIM}.claim..amount"]) == D("100.00")  # an attribute holding " & <
    assert [s.get("data-trace") for s in tree.xpath("//section[@class='eob']")] == ["T<b>&1"]
    labels = tree.xpath("//svg//text/text()")
    assert HOSTILE_PAYER.name[:38] in labels


def test_one_remittance_as_an_html_page(tmp_path):
    out = tmp_path / "eob.html"
    n, problems = render_remittance_html(str(ROOT / "samples" / "demo" / "acme-eft-20250901.835"), str(out),
                                         descriptions={"CO-45": "charge exceeds the fee schedule"}, now=NOW)
    assert (n, problems) == (1, [])
    tree = html.fromstring(out.read_bytes())
    (page,) = tree.xpath("//section[@class='eob']")
    assert page.get("data-trace") == "ACMEEFT0001"
    assert page.xpath(".//*[@data-figure='eob.amount']")[0].text_content() == "780.25"
    assert "CO-45 charge exceeds the fee schedule" in page.text_content()
    assert tree.xpath("//script") == []


# -- Chromium ----------------------------------------------------------------------------------------------------


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def png_rows(data: bytes, rows: int) -> tuple[int, int, list[bytes], int]:
    """(width, height, the first ``rows`` rows of pixels unfiltered, bytes per pixel) of an 8-bit RGB or RGBA,
    non-interlaced PNG, as Chromium writes its screenshots."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
            depth, colour, interlace = body[8], body[9], body[12]
            assert depth == 8 and colour in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(min(rows, height)):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(line))
        prev = line
    return width, height, out, bpp


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (Debian: apt-get install chromium; "
                    ".ci/run installs it)")
def test_chromium_renders_the_report_to_a_page_that_is_not_blank(tmp_path):
    ledger = office(f"sqlite:///{tmp_path / 'edi.db'}", tmp_path)
    render(ledger, tmp_path)
    shot = tmp_path / "report.png"
    result = subprocess.run([chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,700",
                             f"--screenshot={shot}", (tmp_path / "report.html").as_uri()],
                            capture_output=True, timeout=120, check=False)
    assert shot.exists(), result.stderr.decode(errors="replace")[-2000:]
    width, height, rows, bpp = png_rows(shot.read_bytes(), 700)
    assert (width, height) == (1000, 700)
    pixels = [row[x:x + 3] for row in rows for x in range(0, len(row), bpp)]
    colours = set(pixels)
    ink = sum(1 for p in pixels if p != b"\xff\xff\xff")
    assert len(colours) > 20, len(colours)  # text, cards, the chart's bucket colours
    assert ink / len(pixels) > 0.03, ink / len(pixels)
    assert {(0x7F, 0xB0, 0x69), (0xE6, 0xB3, 0x4A)} <= {tuple(p) for p in colours}  # two of the chart's bars
