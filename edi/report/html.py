"""One self-contained HTML file for a billing office, built with lxml: inline CSS (with a print stylesheet) and
inline SVG charts; no script, font or image from anywhere. Every value is set as element text or an attribute
and serialised by lxml, so no value read from a file (a payer's name, a claim number) can add markup.

The report is written as it is built (``lxml.etree.htmlfile``): the sections whose rows grow with the ledger
(denials, underpayments, a remittance page per 835 payment) are written row by row and payment by payment.
Figures carry ``data-figure`` attributes naming them, so that a reader (or a test) finds each one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from lxml import etree
from lxml.html import builder as E

from edi.x835.views import Payment, money

CSS = """
:root { --ink: #1d2433; --muted: #5b6475; --line: #d9dee8; --band: #f4f6fa; --accent: #2457a6; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 2px solid var(--ink);
     padding-bottom: 4px; } h3 { font-size: 15px; margin: 16px 0 6px; }
p.meta { color: var(--muted); margin: 0 0 16px; }
.headline { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: var(--band); }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--band); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid var(--ink); }
tr.line td { color: var(--muted); } tr.line td:first-child { padding-left: 24px; }
.none { color: var(--muted); font-style: italic; }
.bad { color: #a3261b; font-weight: 600; } .good { color: #1f7a3a; font-weight: 600; }
svg { max-width: 100%; height: auto; }
section.eob { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 16px 0; }
section.eob header { display: flex; justify-content: space-between; gap: 16px; flex-wrap: wrap; }
.problems li { color: #7a4b00; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  .headline { grid-template-columns: repeat(4, 1fr); }
  .card { background: none; }
  h2 { break-after: avoid; }
  table, tr, .card { break-inside: avoid; }
  section.eob { break-before: page; border: none; padding: 0; }
  th { background: none; }
}
"""

BUCKET_COLOURS = ("#4f8bd6", "#7fb069", "#e6b34a", "#e07b39", "#b8333c")


def money_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _cell(text, *, num: bool = False, figure: str | None = None, cls: str | None = None):
    td = E.TD("" if text is None else str(text))
    classes = " ".join(c for c in ("num" if num else None, cls) if c)
    if classes:
        td.set("class", classes)
    if figure:
        td.set("data-figure", figure)
    return td


def _header(*names: str, nums: Iterable[int] = ()):
    nums = set(nums)
    return E.THEAD(E.TR(*[E.TH(n, **({"class": "num"} if i in nums else {})) for i, n in enumerate(names)]))


def _none(text: str):
    return E.P(text, E.CLASS("none"))


def head(title: str):
    return E.HEAD(E.META(charset="utf-8"), E.META(name="viewport", content="width=device-width, initial-scale=1"),
                  E.TITLE(title), E.STYLE(CSS))


# -- charts ------------------------------------------------------------------------------------------------------


def aging_chart(rows, buckets: tuple[str, ...]):
    """A horizontal stacked bar per payer (insurance A/R by bucket), with a legend; an SVG element."""
    bar_h, gap, label_w, width, top = 22, 10, 260, 900, 34
    shown = [r for r in rows if r.insurance_total > 0]
    height = top + len(shown) * (bar_h + gap) + 10
    svg = etree.Element("svg", width=str(width), height=str(max(height, 60)), viewBox=f"0 0 {width} {max(height, 60)}",
                        role="img")
    svg.set("aria-label", "Insurance A/R by payer and age")
    etree.SubElement(svg, "title").text = "Open insurance A/R by payer and age (days)"
    x = 0
    for i, b in enumerate(buckets):  # legend
        etree.SubElement(svg, "rect", x=str(x), y="4", width="14", height="14", fill=BUCKET_COLOURS[i])
        t = etree.SubElement(svg, "text", x=str(x + 18), y="16", **{"font-size": "12"})
        t.text = f"{b} days"
        x += 110
    if not shown:
        t = etree.SubElement(svg, "text", x="0", y="48", **{"font-size": "13"})
        t.text = "No open insurance balance."
        return svg
    biggest = max(r.insurance_total for r in shown)
    scale = Decimal(width - label_w - 90) / biggest
    for n, r in enumerate(shown):
        y = top + n * (bar_h + gap)
        label = etree.SubElement(svg, "text", x="0", y=str(y + 15), **{"font-size": "12"})
        label.text = (r.payer or r.payer_id or "(no payer)")[:38]
        x = Decimal(label_w)
        for i, amount in enumerate(r.insurance):
            if amount <= 0:
                continue
            w = amount * scale
            rect = etree.SubElement(svg, "rect", x=f"{x:.1f}", y=str(y), width=f"{max(w, Decimal('0.5')):.1f}",
                                    height=str(bar_h), fill=BUCKET_COLOURS[i])
            etree.SubElement(rect, "title").text = f"{r.payer}: {buckets[i]} days {money_text(amount)}"
            x += w
        total = etree.SubElement(svg, "text", x=f"{x + 6:.1f}", y=str(y + 15), **{"font-size": "12"})
        total.text = money_text(r.insurance_total)
    return svg


def bars_chart(items: list[tuple[str, Decimal]], *, title: str, colour: str = "#2457a6"):
    """A simple horizontal bar per (label, amount)."""
    bar_h, gap, label_w, width = 18, 6, 200, 900
    height = len(items) * (bar_h + gap) + 8
    svg = etree.Element("svg", width=str(width), height=str(max(height, 30)),
                        viewBox=f"0 0 {width} {max(height, 30)}", role="img")
    svg.set("aria-label", title)
    etree.SubElement(svg, "title").text = title
    biggest = max((a for _, a in items), default=Decimal(0))
    for n, (label, amount) in enumerate(items):
        y = n * (bar_h + gap) + 4
        t = etree.SubElement(svg, "text", x="0", y=str(y + 13), **{"font-size": "12"})
        t.text = label[:30]
        w = (amount / biggest * (width - label_w - 100)) if biggest > 0 else Decimal(0)
        etree.SubElement(svg, "rect", x=str(label_w), y=str(y), width=f"{max(w, Decimal('0.5')):.1f}",
                         height=str(bar_h), fill=colour)
        v = etree.SubElement(svg, "text", x=f"{label_w + w + 6:.1f}", y=str(y + 13), **{"font-size": "12"})
        v.text = money_text(amount)
    return svg


# -- a remittance like a paper EOB --------------------------------------------------------------------------------


def _code(group: str | None, reason: str, texts: dict[str, str]) -> str:
    key = f"{group}-{reason}" if group else reason
    text = texts.get(key) or texts.get(reason)
    return f"{key} {text}" if text else key


def eob_section(p: Payment, texts: dict[str, str] | None = None, *, file: str | None = None):
    """One 835 payment as a paper EOB: who paid whom, how and when, each claim and line with its adjustments,
    provider-level adjustments and the balancing verdict."""
    texts = texts or {}
    r = p.remittance
    payer = r.payer.name if r.payer else "(no payer)"
    payee = r.payee.name if r.payee else "(no payee)"
    method = {"ACH": "EFT (ACH)", "CHK": "check", "NON": "no payment", "FWT": "wire", "BOP": "bank's option"}.get(
        r.method, r.method or "")
    trace = r.trace_number or "(no trace number)"
    sec = E.SECTION(E.CLASS("eob"))
    sec.set("data-trace", trace)
    left = E.DIV(E.H3("Payment ", E.SPAN(trace, **{"data-figure": "eob.trace"})),
                 E.DIV("From ", E.STRONG(payer), " to ", E.STRONG(payee)))
    right = E.DIV(E.DIV(f"{method}, {r.payment_date.isoformat() if r.payment_date else 'no date'}"),
                  E.DIV("Amount ", E.STRONG(money_text(r.amount) + (" debit" if r.credit_debit == "D" else ""),
                                            **{"data-figure": "eob.amount"})),
                  E.DIV(f"transaction {r.control_number or ''}" + (f", {file}" if file else "")))
    sec.append(E.HEADER(left, right))
    table = E.TABLE(_header("claim / line", "status", "date", "billed", "allowed", "paid", "patient resp.",
                            "adjustments", nums=(3, 4, 5, 6)))
    body = E.TBODY()
    for c in p.claims:
        adj = ", ".join(f"{_code(a.group, a.reason, texts)} {money(a.amount)}" for a in c.adjustments)
        claim_cell = E.TD(E.STRONG(c.patient_control_number))
        if c.payer_claim_number:
            claim_cell.append(E.SPAN(f" ({c.payer_claim_number})"))
        patient = c.patient
        if patient is not None:
            claim_cell.append(E.BR())
            claim_cell.append(E.SPAN(", ".join(x for x in (patient.last_or_org, patient.first) if x)))
        row = E.TR(claim_cell, _cell(c.status_text), _cell(c.statement_from or ""),
                   _cell(money_text(c.charge), num=True), _cell("", num=True),
                   _cell(money_text(c.paid), num=True, figure="eob.claim.paid"),
                   _cell(money_text(c.patient_responsibility), num=True), _cell(adj))
        body.append(row)
        for ln in c.lines:
            code = ln.procedure + (":" + ":".join(ln.modifiers) if ln.modifiers else "")
            if ln.original_procedure:
                code += f" (billed {ln.original_procedure})"
            remarks = " ".join(_code(None, str(x.value), texts) for x in ln.remarks)
            adj = ", ".join(f"{_code(a.group, a.reason, texts)} {money(a.amount)}" for a in ln.adjustments)
            body.append(E.TR(E.CLASS("line"), _cell(code), _cell(f"units {ln.units}" if ln.units is not None else ""),
                             _cell(ln.service_date or ""), _cell(money_text(ln.charge), num=True),
                             _cell(money_text(ln.allowed), num=True), _cell(money_text(ln.paid), num=True), _cell(""),
                             _cell("; ".join(x for x in (adj, remarks) if x))))
    table.append(body)
    sec.append(table)
    end = p.end
    if end is not None and end.provider_adjustments:
        plb = E.TABLE(_header("provider adjustment", "reference", "amount", nums=(2,)))
        for a in end.provider_adjustments:
            plb.append(E.TR(_cell(_code(None, a.reason, texts)), _cell(a.reference or ""),
                            _cell(money_text(a.amount), num=True)))
        sec.append(plb)
    paid = sum((c.paid for c in p.claims), Decimal(0))
    plb_total = end.provider_adjustment_total if end else Decimal(0)
    verdict = E.SPAN("balances" if p.balanced else "does not balance", E.CLASS("good" if p.balanced else "bad"))
    sec.append(E.P(f"{len(p.claims)} claims, paid {money_text(paid)}, provider adjustments {money_text(plb_total)}: "
                   f"payment {money_text(r.amount)} ", verdict))
    return sec


def write_remittance_html(payments: Iterable[Payment], out, *, title: str, texts: dict[str, str] | None = None,
                          problems: Iterable = (), now: datetime | None = None) -> int:
    """Write a whole HTML document with one EOB section per payment to ``out`` (a path or a binary file);
    returns how many payments."""
    n = 0
    with etree.htmlfile(out, encoding="utf-8") as xf:
        xf.write_doctype("<!DOCTYPE html>")
        with xf.element("html", lang="en"):
            xf.write(head(title))
            with xf.element("body"):
                xf.write(E.H1(title))
                xf.write(E.P(f"Written {(now or datetime.now()):%Y-%m-%d %H:%M} by edi", E.CLASS("meta")))
                for p in payments:
                    xf.write(eob_section(p, texts))
                    n += 1
                shown = list(problems)
                if shown:
                    xf.write(E.H2("Problems"))
                    xf.write(E.UL(E.CLASS("problems"), *[E.LI(f"{x.code}: {x.message}") for x in shown]))
    return n
