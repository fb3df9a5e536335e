"""HTML reports: the billing office's one-file report of a ledger (:func:`render_report`), and one 835 shown like
a paper EOB (:func:`render_remittance_html`). Both are self-contained (inline CSS and SVG, no script) and
built with lxml (see edi.report.html)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree
from lxml.html import builder as E

from edi.problems import Problem
from edi.report.html import (
    _cell,
    _header,
    _none,
    aging_chart,
    bars_chart,
    eob_section,
    head,
    money_text,
    write_remittance_html,
)

__all__ = ["ReportOptions", "render_remittance_html", "render_report"]


def render_remittance_html(path_to_835: str, out_path: str, *, descriptions: Mapping[str, str] | None = None,
                           now: datetime | None = None) -> tuple[int, list[Problem]]:
    """Write the 835 at ``path_to_835`` as an HTML page of EOBs (one section per payment) to ``out_path``.
    Returns (payments written, the reader's problems: also listed at the end of the page). Raises OSError when
    a file cannot be read or written."""
    from edi.x835.reader import read_remittances
    from edi.x835.views import payments

    reader = read_remittances(path_to_835)
    n = write_remittance_html(payments(reader), out_path, title=f"Remittance {Path(path_to_835).name}",
                              texts=dict(descriptions or {}), problems=_LateProblems(reader), now=now)
    return n, list(reader.problems)


class _LateProblems:
    """The reader's problems, read when the page's end is written (after every payment was read)."""

    def __init__(self, reader) -> None:
        self.reader = reader

    def __iter__(self):
        return iter(list(self.reader.problems))


@dataclass(frozen=True)
class ReportOptions:
    """What the report takes besides the ledger: the day it is as of, a fee schedule and the payer keys (for
    underpayments), appeal days by payer id, code descriptions, and the title."""

    as_of: date
    fees: object | None = None  # edi.fees.FeeSchedule
    payer_keys: Mapping[str, str] = field(default_factory=dict)
    appeal_days: Mapping[str, int] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    title: str = "Billing report"
    now: datetime | None = None
    remittances: bool = True  # a page per 835 payment (the 835 files are read again)


def _card(label: str, value: str, figure: str):
    return E.DIV(E.CLASS("card"), E.DIV(label, E.CLASS("label")), E.DIV(value, E.CLASS("value"),
                                                                        **{"data-figure": figure}))


def render_report(ledger, out_path: str, options: ReportOptions) -> list[Problem]:
    """Write the ledger's report to ``out_path``: headline figures, aging by payer (a chart and a table), denials
    by reason and by payer with the work list, rejections awaiting correction, payments and their deposits,
    underpayments (with a fee schedule), and a remittance page per 835 payment. Returns the problems met (835
    files no longer where they were posted from)."""
    from edi.ledger.reports import BUCKETS, VarianceSummary
    from edi.x835.reader import read_remittances
    from edi.x835.views import payments

    as_of = options.as_of
    problems: list[Problem] = []
    aging = ledger.aging(as_of=as_of)
    denied = ledger.denial_summary()
    rejected = ledger.claims(status="rejected")
    rec = ledger.reconcile()
    dep = ledger.deposits()
    dep_d = dep.as_dict()
    summary = None
    if options.fees is not None:  # a first pass for the figures; the lines are listed in a second
        summary = VarianceSummary()
        for line in ledger.variance(options.fees, options.payer_keys, problems):
            summary.add(line)
    texts = dict(options.descriptions)

    with etree.htmlfile(out_path, encoding="utf-8") as xf:
        xf.write_doctype("<!DOCTYPE html>")
        with xf.element("html", lang="en"):
            xf.write(head(options.title))
            with xf.element("body"):
                xf.write(E.H1(options.title))
                xf.write(E.P(f"As of {as_of.isoformat()}; written {(options.now or datetime.now()):%Y-%m-%d %H:%M} "
                             "by edi", E.CLASS("meta")))
                cards = [
                    _card("Insurance A/R", money_text(aging.total.insurance_total), "headline.insurance_ar"),
                    _card("Patient A/R", money_text(aging.total.patient_total), "headline.patient_ar"),
                    _card("Denied", money_text(denied.amount), "headline.denied"),
                    _card("Rejections to correct", str(len(rejected)), "headline.rejected"),
                    _card("Payments received", money_text(Decimal(rec["totals"]["amount"])), "headline.received"),
                    _card("Undeposited ERA cash", money_text(dep.undeposited), "headline.undeposited"),
                    _card("Deposits with no 835", str(len(dep.deposits_without_835)), "headline.deposits_without_835"),
                    _card("Underpaid vs contract", money_text(summary.at_stake) if summary else "no fee schedule",
                          "headline.at_stake"),
                ]
                xf.write(E.DIV(E.CLASS("headline"), *cards))

                # aging
                xf.write(E.H2("A/R aging by payer", id="aging"))
                xf.write(E.P(f"Days from the date of service to {as_of.isoformat()}; open insurance balances "
                             "(denied claims included until written off) and patient responsibility.",
                             E.CLASS("meta")))
                xf.write(aging_chart(aging.rows, BUCKETS))
                table = E.TABLE(E.CLASS("aging"), _header("payer", *BUCKETS, "insurance", "patient", "claims",
                                                          nums=range(1, 9)))
                body = E.TBODY()
                for r in (*aging.rows, aging.total):
                    key = "total" if r is aging.total else (r.payer_id or "")
                    tr = E.TR(_cell(r.payer or r.payer_id or "(no payer)"))
                    if r is aging.total:
                        tr.set("class", "total")
                    for b, v in zip(BUCKETS, r.insurance, strict=True):
                        tr.append(_cell(money_text(v), num=True, figure=f"aging.{key}.insurance.{b}"))
                    tr.append(_cell(money_text(r.insurance_total), num=True, figure=f"aging.{key}.insurance_total"))
                    tr.append(_cell(money_text(r.patient_total), num=True, figure=f"aging.{key}.patient_total"))
                    tr.append(_cell(r.claims, num=True, figure=f"aging.{key}.claims"))
                    body.append(tr)
                table.append(body)
                xf.write(table)

                # denials
                xf.write(E.H2("Denials", id="denials"))
                if not denied.items:
                    xf.write(_none("No denial."))
                else:
                    xf.write(bars_chart([(f"{g}-{r}", a) for g, r, _, a in denied.by_reason], title="Denied by reason",
                                        colour="#b8333c"))
                    t = E.TABLE(E.CLASS("denial-reasons"), _header("reason", "description", "items", "amount",
                                                                  nums=(2, 3)))
                    for g, r, n, a in denied.by_reason:
                        k = f"{g}-{r}"
                        t.append(E.TR(_cell(k), _cell(texts.get(k) or texts.get(r) or ""),
                                      _cell(n, num=True, figure=f"denials.reason.{k}.items"),
                                      _cell(money_text(a), num=True, figure=f"denials.reason.{k}.amount")))
                    t.append(E.TR(E.CLASS("total"), _cell("all"), _cell(""),
                                  _cell(denied.items, num=True, figure="denials.items"),
                                  _cell(money_text(denied.amount), num=True, figure="denials.amount")))
                    xf.write(t)
                    t = E.TABLE(E.CLASS("denial-payers"), _header("payer", "items", "amount", nums=(1, 2)))
                    for p, i, n, a in denied.by_payer:
                        t.append(E.TR(_cell(p or i or "(no payer)"),
                                      _cell(n, num=True, figure=f"denials.payer.{i or ''}.items"),
                                      _cell(money_text(a), num=True, figure=f"denials.payer.{i or ''}.amount")))
                    xf.write(t)
                    xf.write(E.H3("Work list"))
                    with xf.element("table", {"class": "denial-items"}):
                        xf.write(_header("claim", "line", "payer", "denied on", "codes", "amount", "age",
                                         "appeal by", nums=(5, 6)))
                        with xf.element("tbody"):
                            for d in ledger.denials(as_of=as_of, appeal_days=options.appeal_days):
                                key = f"denial.{d.claim}.{d.level}.{d.line or ''}"
                                codes = "; ".join(
                                    " ".join([f"{c.group}-{c.reason}", money_text(c.amount), *c.remarks])
                                    for c in d.codes)
                                late = d.days_left is not None and d.days_left < 0
                                xf.write(E.TR(
                                    _cell(d.claim), _cell(f"{d.line} {d.procedure or ''}" if d.line else "whole claim"),
                                    _cell(d.payer or ""), _cell(d.denied_on or ""), _cell(codes),
                                    _cell(money_text(d.amount), num=True, figure=f"{key}.amount"),
                                    _cell(d.age, num=True, figure=f"{key}.age"),
                                    _cell(d.appeal_by or "", cls="bad" if late else None, figure=f"{key}.appeal_by")))

                # rejections
                xf.write(E.H2("Rejections awaiting correction", id="rejections"))
                if not rejected:
                    xf.write(_none("No rejected claim."))
                else:
                    t = E.TABLE(E.CLASS("rejections"), _header("claim", "payer", "billed", "why", nums=(2,)))
                    for c in rejected:
                        t.append(E.TR(_cell(c.patient_control_number), _cell(c.payer or ""),
                                      _cell(money_text(c.billed), num=True,
                                            figure=f"rejected.{c.patient_control_number}.billed"),
                                      _cell(c.status_reason or "")))
                    xf.write(t)

                # payments and deposits
                xf.write(E.H2("Payments and deposits", id="payments"))
                deposited = {(m.trace_number, m.payer): m for m in dep.matched}
                mismatched = {(m.trace_number, m.payer): m for m in dep.mismatches}
                t = E.TABLE(E.CLASS("payments"), _header("trace", "payer", "date", "amount", "posted", "balanced",
                                                        "deposit", nums=(3, 4)))
                for p in rec["payments"]:
                    who = (p["trace_number"], p["payer"] or p["payer_key"])
                    if who in deposited:
                        m = deposited[who]
                        where = f"deposited {m.deposit_date.isoformat()} ({m.matched_by})"
                    elif who in mismatched:
                        m = mismatched[who]
                        where = f"deposit {m.deposit_date.isoformat()} holds {money_text(m.deposit_amount)}"
                    elif Decimal(p["amount"]) > 0:
                        where = "no deposit yet"
                    else:
                        where = "no money to deposit"
                    t.append(E.TR(_cell(p["trace_number"]), _cell(p["payer"] or p["payer_key"]),
                                  _cell(p["payment_date"] or ""),
                                  _cell(money_text(Decimal(p["amount"])), num=True,
                                        figure=f"payment.{p['trace_number']}.amount"),
                                  _cell(money_text(Decimal(p["posted"])), num=True),
                                  _cell("yes" if p["balanced"] and p["detail_balanced"] else "no",
                                        cls=None if p["balanced"] and p["detail_balanced"] else "bad"),
                                  _cell(where, cls="bad" if who in mismatched else None,
                                        figure=f"payment.{p['trace_number']}.deposit")))
                xf.write(t)
                totals = dep_d["totals"]
                t = E.TABLE(E.CLASS("deposit-status"), _header("deposit status", "count", "amount", nums=(1, 2)))
                for label, k in (("matched to a deposit", "matched"), ("payments with no deposit yet",
                                                                      "payments_without_deposit"),
                                 ("deposits with no 835", "deposits_without_835")):
                    amount_key = "matched_amount" if k == "matched" else f"{k}_amount"
                    t.append(E.TR(_cell(label), _cell(totals[k], num=True, figure=f"deposits.{k}"),
                                  _cell(money_text(Decimal(totals[amount_key])), num=True,
                                        figure=f"deposits.{amount_key}")))
                t.append(E.TR(_cell("amount mismatches"), _cell(totals["mismatches"], num=True,
                                                                figure="deposits.mismatches"), _cell("")))
                xf.write(t)
                if dep.deposits_without_835:
                    xf.write(E.H3("Deposits with no 835"))
                    t = E.TABLE(E.CLASS("orphan-deposits"), _header("date", "amount", "reference", "description",
                                                                   nums=(1,)))
                    for d in dep.deposits_without_835:
                        t.append(E.TR(_cell(d.deposit_date), _cell(money_text(d.amount), num=True),
                                      _cell(d.reference), _cell(d.description or "")))
                    xf.write(t)

                # underpayments
                xf.write(E.H2("Underpayments", id="underpayments"))
                if summary is None:
                    xf.write(_none("No fee schedule was given (edi report html --fee-schedule FILE)."))
                else:
                    s = summary.as_dict()
                    t = E.TABLE(E.CLASS("variance"), _header("payer", "procedure", "lines below contract",
                                                             "at stake", nums=(2, 3)))
                    for row in s["below_contract"]:
                        k = f"variance.{row['payer_id'] or ''}.{row['procedure']}"
                        t.append(E.TR(_cell(row["payer"] or ""), _cell(row["procedure"]),
                                      _cell(row["lines"], num=True, figure=f"{k}.lines"),
                                      _cell(money_text(Decimal(row["at_stake"])), num=True, figure=f"{k}.at_stake")))
                    t.append(E.TR(E.CLASS("total"), _cell("all"), _cell(""),
                                  _cell(s["lines"]["below"], num=True, figure="variance.below"),
                                  _cell(money_text(Decimal(s["at_stake"])), num=True, figure="variance.at_stake")))
                    xf.write(t)
                    xf.write(E.H3("Lines paid other than the contract"))
                    with xf.element("table", {"class": "variance-lines"}):
                        xf.write(_header("claim", "payer", "procedure", "charge", "applied", "contract", "difference",
                                         "paid", nums=(3, 4, 5, 6, 7)))
                        with xf.element("tbody"):
                            for line in ledger.variance(options.fees, options.payer_keys, []):
                                if line.status not in ("below", "above"):
                                    continue
                                code = line.procedure + (":" + ":".join(line.modifiers) if line.modifiers else "")
                                xf.write(E.TR(_cell(line.claim), _cell(line.payer or ""), _cell(code),
                                              _cell(money_text(line.charge), num=True),
                                              _cell(f"{money_text(line.applied)} ({line.applied_from})", num=True),
                                              _cell(money_text(line.contract), num=True),
                                              _cell(money_text(line.difference), num=True,
                                                    cls="bad" if line.status == "below" else "good"),
                                              _cell(money_text(line.paid), num=True)))

                # a page per payment
                xf.write(E.H2("Remittances", id="remittances"))
                written = 0
                missing: list[Problem] = []
                for path in ledger.remittance_files(missing) if options.remittances else ():
                    for p in payments(read_remittances(path)):
                        xf.write(eob_section(p, texts, file=Path(path).name))
                        written += 1
                if not options.remittances:
                    xf.write(_none("Left out (--no-remittances)."))
                elif not written:
                    xf.write(_none("No 835 payment could be shown."))
                problems += [m for m in missing if m not in problems]
                if problems:
                    xf.write(E.H2("Problems"))
                    xf.write(E.UL(E.CLASS("problems"), *[E.LI(f"{x.code}: {x.message}") for x in problems]))
    return problems
