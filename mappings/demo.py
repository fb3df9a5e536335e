"""``edi demo``: the whole loop on synthetic data, in a workspace of its own, with the embedded SQLite ledger.

It lives with the mappers because it is drawn from them: it builds (``mappings.build``), submits and fetches
(``mappings.exchange``) with an edi.toml (``mappings.config``), over ``edi``'s simulator and ledger; ``cli``
only prints what it returns, and ``synthetic_encounters`` also feeds the benchmarks and the tests.

1. writes the sample configuration, with a directory clearinghouse for each of its clearinghouses
   (``clearinghouses/<name>/outbox`` and ``inbox``), and encounters: the samples and ``SYNTHETIC`` more made by
   :func:`synthetic_encounters` (a few with a member the payer does not know, or a diagnosis it refuses);
2. builds the claims (``edi claims build``): one 837 per clearinghouse, recorded in the ledger as built;
3. submits them (``edi claims submit --all-built``) into the clearinghouses' outboxes;
4. lets the simulated clearinghouse and payer answer (``edi simulate clearinghouse``): a 999, a 277CA and 835s
   for each 837, in the inboxes;
5. fetches and imports them (``edi inbox fetch``): acceptances and rejections, payments with CO and PR
   adjustments, denials, a line denied in a paid claim, split claims, reversals and their corrections, interest
   and recoupments;
6. reconciles and proves the ledger's invariants (``edi reconcile``, ``edi ledger check``).

The simulated payer seeds its decisions with each 837's sha256, and an 837 carries the time it was built, so the
figures differ from run to run. With ``SOURCE_DATE_EPOCH`` set (the reproducible-builds convention: seconds since
1970-01-01 UTC), :func:`source_date` gives that instant, the demo builds, submits and fetches at it instead of the
clock (the ledger's records too), and two runs write byte-identical 837s and 835s and print the same figures.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

from edi.ledger import Ledger
from edi.problems import Problem
from mappings.build import BuildResult, build_files

ZERO = Decimal(0)
#: Synthetic encounters the demo adds to the samples, and the seed of the simulated payer's decisions.
SYNTHETIC = 120
SEED = 7

# -- synthetic encounters ---------------------------------------------------------------------------------------

_CLINIC = {"npi": "1234567893", "name": "SYNTH FAMILY CLINIC", "tax_id": "990000001", "taxonomy": "207Q00000X",
           "address": {"line1": "100 SYNTHETIC WAY", "city": "SPRINGFIELD", "state": "IL", "zip": "627010001"}}
_HOSPITAL = {"npi": "1500000009", "name": "SYNTH COMMUNITY HOSPITAL", "tax_id": "990000003",
             "taxonomy": "282N00000X",
             "address": {"line1": "300 EXAMPLE BOULEVARD", "city": "SPRINGFIELD", "state": "IL", "zip": "627030003"}}
_ATTENDING = {"npi": "1600000008", "name": "EXAMPLEATTEND", "first_name": "RILEY", "taxonomy": "207R00000X"}
_PROCEDURES = [("99213", ["25"], "125.00"), ("99213", [], "118.00"), ("99214", [], "165.00"),
               ("99212", [], "80.00"), ("83036", [], "45.50"), ("80053", [], "60.00"), ("93000", [], "55.00"),
               ("71046", [], "210.00"), ("90686", [], "48.00"), ("36415", [], "18.00"), ("85025", [], "32.00")]
_REVENUE = [("0450", "99284", "800.00"), ("0300", "80053", "150.25"), ("0324", "71046", "210.00"),
            ("0250", None, "95.40")]
_DIAGNOSES = ["E11.9", "I10", "J06.9", "M54.50", "R07.89", "K21.9", "F32.9", "E78.5", "N39.0"]
_LAST = ["TESTPERSON", "SAMPLEMAN", "EXAMPLEDOE", "TESTRIVER", "DEMOSTONE"]
_FIRST = ["ALEX", "SAM", "JORDAN", "CASEY", "RILEY", "MORGAN"]


def synthetic_encounters(n: int, *, seed: int = 11, prefix: str = "SIM") -> Iterator[dict]:
    """``n`` synthetic encounters (canonical JSON, as ``edi claims build`` reads them) for the payers of
    ``samples/edi.toml``: professional ones of one to four lines, outpatient institutional ones, every 37th with a
    member id the simulated payer does not know (``SYNX...``), every 41st with R69 as principal diagnosis (which it
    refuses). Seeded: the same ``n`` and ``seed`` give the same encounters, one at a time."""
    rng = random.Random(seed)
    start = date(2025, 1, 6)
    for i in range(1, n + 1):
        day = start + timedelta(days=rng.randrange(0, 240))
        member = f"SYNX{i:08d}" if i % 37 == 0 else f"SYNM{i:08d}"
        diagnoses = rng.sample(_DIAGNOSES, rng.choice([1, 2, 3]))
        if i % 41 == 0:
            diagnoses = ["R69", *diagnoses[:1]]
        subscriber = {"member_id": member, "last_name": rng.choice(_LAST), "first_name": rng.choice(_FIRST),
                      "birth_date": f"19{rng.randrange(40, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}",
                      "sex": rng.choice("FM"),
                      "address": {"line1": "1 TEST STREET", "city": "SPRINGFIELD", "state": "IL", "zip": "62701"}}
        ident = f"{prefix}-{i:06d}"
        if rng.random() < 0.85:
            lines = []
            for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
                code, mods, charge = rng.choice(_PROCEDURES)
                units = rng.choice(["1", "1", "1", "2"])
                lines.append({"procedure": code, "modifiers": mods, "charge": str(Decimal(charge) * int(units)),
                              "units": units, "diagnosis_pointers": [1], "service_date": day.isoformat()})
            yield {"id": ident, "kind": "professional", "payer": rng.choice(["acme", "blueplan", "medicare_b",
                                                                             "medicaid"]),
                   "billing_provider": _CLINIC, "subscriber": subscriber, "place_of_service": "11",
                   "diagnoses": diagnoses, "lines": lines}
        else:
            lines = [{"revenue_code": rev, **({"procedure": proc} if proc else {}), "charge": charge, "units": "1",
                      "service_date": day.isoformat()}
                     for rev, proc, charge in rng.sample(_REVENUE, rng.choice([1, 2, 3]))]
            yield {"id": ident, "kind": "institutional", "payer": rng.choice(["acme", "medicare_a", "medicaid"]),
                   "billing_provider": _HOSPITAL, "attending_provider": _ATTENDING, "subscriber": subscriber,
                   "bill_type": "0131", "statement_from": day.isoformat(), "statement_to": day.isoformat(),
                   "admission": {"type": "1", "source": "1"}, "discharge_status": "01", "diagnoses": diagnoses,
                   "lines": lines}


def directory_transports(config_text: str, clearinghouses: list[str], folder: str = "clearinghouses") -> str:
    """``config_text`` with a directory transport for each clearinghouse (``<folder>/<name>/outbox``, ``inbox``,
    relative to edi.toml), for a configuration that has none."""
    blocks = [f'\n[clearinghouses.{name}.transport]\nkind = "directory"\noutbox = "{folder}/{name}/outbox"\n'
              f'inbox = "{folder}/{name}/inbox"\n' for name in clearinghouses]
    return config_text.rstrip("\n") + "\n\n# Added by edi demo: the simulated clearinghouses' folders.\n" + \
        "".join(blocks)


# -- the demo -----------------------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    workspace: Path
    database: str
    config: Path
    encounters: Path
    built: BuildResult
    submitted: list = field(default_factory=list)  # mappings.exchange.Submission
    answered: list = field(default_factory=list)  # edi.simulate.Answered
    fetched: list = field(default_factory=list)  # mappings.exchange.Fetched
    reconciliation: dict = field(default_factory=dict)
    check: list[Problem] = field(default_factory=list)
    by_status: dict[str, dict[str, Decimal | int]] = field(default_factory=dict)
    rejections: Counter = field(default_factory=Counter)  # the ledger's status reasons of rejected claims
    denials: Counter = field(default_factory=Counter)  # "CO-50 N115" per denied claim (its 835 CAS and remarks)
    mailboxes: dict[str, tuple[Path, Path]] = field(default_factory=dict)  # clearinghouse -> (outbox, inbox)
    archive: Path | None = None

    @property
    def totals(self) -> dict[str, Decimal | int]:
        """The claims-by-status figures summed over every status."""
        out: dict[str, Decimal | int] = {"claims": 0, "billed": ZERO, "paid": ZERO, "adjusted": ZERO,
                                         "patient_responsibility": ZERO, "denied": ZERO, "open_balance": ZERO}
        for figures in self.by_status.values():
            for k, v in figures.items():
                out[k] = out.get(k, 0) + v
        return out

    @property
    def ok(self) -> bool:
        return (self.built.ok and not self.check and all(s.ok for s in self.submitted)
                and all(f.ok for f in self.fetched) and not any(a.problems for a in self.answered))


def source_date(environ: Mapping[str, str] = os.environ) -> datetime | None:
    """The instant ``SOURCE_DATE_EPOCH`` names (whole seconds since 1970-01-01 UTC, as a naive UTC datetime, the
    kind the 837 writer stamps), or None when it is not set or empty. ValueError, naming the variable, when its
    value is not a non-negative integer of a year edi can write (up to 9999)."""
    value = environ.get("SOURCE_DATE_EPOCH", "")
    if not value:  # unset, or set empty (as CI files often leave it): the clock
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 UTC (digits only), not {value!r}")
    try:
        return datetime.fromtimestamp(int(text), UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"SOURCE_DATE_EPOCH {text} is beyond the dates edi can write") from None


def _dates(value) -> Iterator[str]:
    """Every date (``YYYY-MM-DD``) in an encounter's values, however deep."""
    if isinstance(value, dict):
        for v in value.values():
            yield from _dates(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dates(v)
    elif isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-" and value[:4].isdigit():
        yield value


def _sample(*parts: str):
    return resources.files("samples").joinpath(*parts)


def run_demo(workspace: Path, *, today: date | None = None, now: datetime | None = None,
             synthetic: int = SYNTHETIC, seed: int = SEED) -> DemoResult:
    """Run the loop in ``workspace``: a new or empty folder (FileExistsError otherwise: the demo writes its
    edi.toml, encounters, 837s, clearinghouse folders and ledger there, and would replace files of the same
    names). ``now`` defaults to the clock; given (:func:`source_date` for a reproducible run), it dates the 837s,
    the uploads, the fetched files' folders and everything the ledger records during the run."""
    from edi.fees import load_fee_schedule
    from edi.simulate import Mailbox, Policy, answer_mailbox
    from mappings.config import load_config
    from mappings.exchange import fetch, submit

    # the rarer branches made likelier, so that a run of the demo shows each of them
    DEMO_POLICY = Policy(line_denied=0.1, split=0.1, reversed=0.08, late=0.08, recouped=0.08)  # noqa: N806

    if workspace.exists() and (not workspace.is_dir() or any(workspace.iterdir())):
        raise FileExistsError(f"{workspace} is not an empty folder: the demo needs a new or empty one (it writes "
                              "edi.toml, encounters, out, clearinghouses, inbox and edi.db there)")
    fixed = now  # a given instant also dates what the ledger records (recorded, posted, acknowledged)
    now = now or datetime.now()
    today = today or now.date()
    records = json.loads(_sample("encounters", "encounters.json").read_text(encoding="utf-8"))
    records += list(synthetic_encounters(synthetic))
    latest = max(_dates(records))
    if latest > today.isoformat():  # every claim would be refused for a date of service in the future
        raise ValueError(f"the demo's encounters have dates up to {latest}, after {today.isoformat()}: run it at a "
                         "later date (SOURCE_DATE_EPOCH)")
    workspace.mkdir(parents=True, exist_ok=True)
    config_path = workspace / "edi.toml"
    sample_config = _sample("edi.toml").read_text(encoding="utf-8")
    config_path.write_text(sample_config, encoding="utf-8")
    clearinghouses = list(load_config(config_path).clearinghouses)
    config_path.write_text(directory_transports(sample_config, clearinghouses), encoding="utf-8")
    config = load_config(config_path)
    mailboxes = {}
    for ch in config.clearinghouses.values():
        outbox, inbox = Path(ch.transport.outbox), Path(ch.transport.inbox)
        outbox.mkdir(parents=True, exist_ok=True)
        inbox.mkdir(parents=True, exist_ok=True)
        mailboxes[ch.key] = (outbox, inbox)
    encounters = workspace / "encounters" / "encounters.json"
    encounters.parent.mkdir(exist_ok=True)
    encounters.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    with resources.as_file(_sample("fee_schedule.csv")) as fee_file:
        fees = load_fee_schedule(fee_file)
    keys = {p.payer_id: k for k, p in config.payers.items()}
    names = {p.payer_id: p.name for p in config.payers.values()}
    url = f"sqlite:///{workspace / 'edi.db'}"
    archive = workspace / "inbox"
    ledger = Ledger(url, clock=datetime.now if fixed is None else lambda: fixed)
    try:
        built = build_files([str(encounters)], config, ledger=ledger, out_dir=str(workspace / "out"), today=today,
                            now=now)
        submitted = submit(None, config, ledger, now=now)
        answered = []
        for key, (outbox, inbox) in mailboxes.items():
            answered += answer_mailbox(Mailbox(key, outbox, inbox), fees=fees, seed=seed, payer_keys=keys,
                                       payer_names=names, policy=DEMO_POLICY).answered
        fetched = fetch(config, ledger, now=now, archive=archive)
        rec = ledger.reconcile()
        problems = ledger.check()
        by_status: dict[str, dict] = {}
        rejections: Counter = Counter()
        denials: Counter = Counter()
        for c in ledger.claims():
            s = by_status.setdefault(c.status, {"claims": 0, "billed": ZERO, "paid": ZERO, "adjusted": ZERO,
                                                "patient_responsibility": ZERO, "denied": ZERO,
                                                "open_balance": ZERO})
            s["claims"] += 1
            s["billed"] += c.billed
            s["paid"] += c.paid
            s["adjusted"] += c.adjustments["CO"] + c.adjustments["OA"] + c.adjustments["PI"]
            s["patient_responsibility"] += c.patient_responsibility
            s["denied"] += c.denied
            s["open_balance"] += c.insurance_balance
            if c.status == "rejected":
                rejections[c.status_reason or "no reason given"] += 1
            elif c.status == "denied":
                denials[_denial_reason(ledger, c.patient_control_number)] += 1
    finally:
        ledger.close()
    return DemoResult(workspace, url, config_path, encounters, built, submitted, answered, fetched, rec, problems,
                      by_status, rejections, denials, mailboxes, archive)


def _denial_reason(ledger: Ledger, pcn: str) -> str:
    """The adjustment codes and remark codes of a claim's denial, as ``CO-50 N115``."""
    story = ledger.claim(pcn) or {"claims": []}
    reasons = []
    for c in story["claims"]:
        for p in c["remittances"]:
            if p["status"] == "4":
                for a in p["adjustments"]:
                    remarks = a["remarks"] if isinstance(a["remarks"], str) else " ".join(a["remarks"] or ())
                    text = f"{a['group']}-{a['reason']}" + (f" {remarks}" if remarks else "")
                    if text not in reasons:
                        reasons.append(text)
    return ", ".join(reasons) or "no reason given"
