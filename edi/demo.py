"""``edi demo``: the whole loop on synthetic data, in a workspace of its own, with the embedded SQLite ledger.

1. writes the sample configuration and encounters (from the installed ``samples`` package) into the workspace;
2. builds the claims (``edi claims build``): one 837 per clearinghouse, recorded in the ledger as built;
3. posts the sample 835s that answer them (``edi remit import``): payments with CO and PR adjustments, a
   denial, a payment and later its reversal and correction, a provider-level adjustment (interest), and one
   payment for a claim nobody billed (it goes to suspense);
4. reconciles and proves the ledger's invariants (``edi reconcile``, ``edi ledger check``).

The hand-written 835s are stand-ins until a simulated payer writes them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

from edi.ledger import FileResult, Ledger
from edi.pipeline import BuildResult, build_files
from edi.problems import Problem

ZERO = Decimal(0)


@dataclass
class DemoResult:
    workspace: Path
    database: str
    config: Path
    encounters: Path
    built: BuildResult
    remittances: list[FileResult]
    reconciliation: dict
    check: list[Problem]
    by_status: dict[str, dict[str, Decimal | int]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, Decimal | int]:
        """The claims-by-status figures summed over every status."""
        out: dict[str, Decimal | int] = {}
        for figures in self.by_status.values():
            for k, v in figures.items():
                out[k] = out.get(k, 0) + v
        return out

    @property
    def ok(self) -> bool:
        return self.built.ok and not self.check and all(r.outcome == "imported" for r in self.remittances)


def _sample(*parts: str):
    return resources.files("samples").joinpath(*parts)


def run_demo(workspace: Path, *, today: date | None = None, now: datetime | None = None) -> DemoResult:
    """Run the loop in ``workspace``: a new or empty folder (FileExistsError otherwise: the demo writes its
    edi.toml, encounters, 837s and ledger there, and would replace files of the same names)."""
    from mappings.config import load_config

    if workspace.exists() and (not workspace.is_dir() or any(workspace.iterdir())):
        raise FileExistsError(f"{workspace} is not an empty folder: the demo needs a new or empty one (it writes "
                              "edi.toml, encounters, out and edi.db there)")
    workspace.mkdir(parents=True, exist_ok=True)
    db_path = workspace / "edi.db"
    config = workspace / "edi.toml"
    config.write_bytes(_sample("edi.toml").read_bytes())
    encounters = workspace / "encounters" / "encounters.json"
    encounters.parent.mkdir(exist_ok=True)
    encounters.write_bytes(_sample("encounters", "encounters.json").read_bytes())
    remit_dir = workspace / "remittances"
    remit_dir.mkdir(exist_ok=True)
    remits = []
    for item in sorted(_sample("demo").iterdir(), key=lambda p: p.name):
        if item.name.endswith(".835"):
            target = remit_dir / item.name
            with item.open("rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            remits.append(target)
    url = f"sqlite:///{db_path}"
    ledger = Ledger(url)
    try:
        built = build_files([str(encounters)], load_config(config), ledger=ledger, out_dir=str(workspace / "out"),
                            today=today or date.today(), now=now or datetime.now())
        # in payment-date order: the 835 names say when each arrived
        posted = [ledger.import_835(str(p)) for p in sorted(remits, key=lambda p: p.stem.rsplit("-", 1)[-1])]
        rec = ledger.reconcile()
        problems = ledger.check()
        by_status: dict[str, dict] = {}
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
    finally:
        ledger.close()
    return DemoResult(workspace, url, config, encounters, built, posted, rec, problems, by_status)
