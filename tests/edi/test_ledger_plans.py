"""The ledger's views read a large ledger through its indexes: on PostgreSQL, every query that `edi ledger
claims`, `edi ledger claim PCN` and `edi reconcile` run is explained with sequential scans disabled, and none may
still read a table that grows with the claims (claims, their lines, payments, adjustments, journal entries,
postings, acknowledgements) from end to end: with ``enable_seqscan`` off, PostgreSQL plans a sequential scan only
where no index can serve the query; nor through an index on a column of a few values alone (a posting's account).

`edi ledger check` is left out on purpose: it proves invariants over every row, so it reads them all.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, text
from x12text import COB_PRIMARY_835, interchange

from edi.ledger import Ledger
from edi.ledger.schema import metadata
from mappings.build import build_files
from mappings.config import load_config
from mappings.secondary import build_secondary

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: Tables with rows per claim (or per line, payment line, posting): a sequential scan of one grows with the ledger.
GROWING = {"claims", "claim_lines", "claim_payments", "adjustments", "journal_entries", "postings",
           "acknowledgements"}


#: Columns with a handful of values: an index scan that constrains nothing else reads a growing table nearly whole
#: (every patient_ar posting of the ledger, every payment entry), however the index is named.
FEW_VALUES = {"account", "kind", "status", "level", "posted", "group_code", "state", "outcome", "frequency"}
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def sequential_scans(conn, statement: str, params, *, few_values: bool = True) -> set[str]:
    """The tables PostgreSQL reads whole for ``statement``, with sequential scans disabled: by a sequential scan,
    or (``few_values``) by an index scan whose condition constrains only columns of ``FEW_VALUES``."""
    conn.exec_driver_sql("SET enable_seqscan = off")
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    found: set[str] = set()

    def walk(node: dict, relation: str | None) -> None:
        relation = node.get("Relation Name", relation)  # a Bitmap Index Scan's is its Bitmap Heap Scan's
        if node.get("Node Type") == "Seq Scan":
            found.add(node["Relation Name"])
        cond = node.get("Index Cond")
        if few_values and cond and relation in metadata.tables:
            columns = set(metadata.tables[relation].c.keys())
            constrained = set(_NAME.findall(_QUOTED.sub("", cond))) & columns
            if constrained and constrained <= FEW_VALUES:
                found.add(relation)
        for child in node.get("Plans", ()):
            walk(child, relation)

    walk(plan[0]["Plan"], None)
    return found


@pytest.fixture
def ledger(pg_url, tmp_path):
    """The samples' claims, acknowledgements and payment, and a claim billed to the next payer (coordination of
    benefits: its prior_payer entry is what `edi ledger claims` looks for on every page)."""
    if pg_url is None:
        pytest.skip("EDI_TEST_POSTGRES_URL is not set: the query plans are PostgreSQL's")
    led = Ledger(pg_url)
    led.record_837(str(SAMPLES / "837" / "synthetic-claims.837"))
    led.import_835(str(SAMPLES / "835" / "synthetic-payment.835"))
    led.import_acks(str(SAMPLES / "acks" / "synthetic-claims.277"))
    config = load_config(str(SAMPLES / "edi.toml"))
    assert build_files([str(SAMPLES / "encounters" / "two-coverages.json")], config, ledger=led,
                       out_dir=str(tmp_path / "out"), today=date(2025, 9, 1), now=datetime(2025, 9, 1, 12)).ok
    era = tmp_path / "primary.835"
    era.write_bytes(interchange(COB_PRIMARY_835.format(paid="135.5", trace="EFTPLAN", status="1")))
    led.import_835(str(era), payers=config.payer_matching())
    assert build_secondary(led, config, ["ENC-C-0001"], out_dir=str(tmp_path / "sec"),
                           now=datetime(2025, 9, 10, 9)).built == 1
    yield led
    led.close()


def captured(led: Ledger, run) -> list[tuple[str, object]]:
    """The SELECT statements (with their parameters) that ``run()`` sends to the database."""
    seen: list[tuple[str, object]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            seen.append((statement, parameters))

    event.listen(led.engine, "before_cursor_execute", listen)
    try:
        run()
    finally:
        event.remove(led.engine, "before_cursor_execute", listen)
    return seen


VIEWS = {
    "ledger claims": lambda led: list(led.iter_claims()),
    "ledger claims --limit 2": lambda led: list(led.iter_claims(limit=2)),
    "ledger claims --status paid --payer synth": lambda led: list(led.iter_claims(status="paid", payer="synth")),
    "ledger claim PCN": lambda led: led.claim("PCN0000002"),
    "reconcile": lambda led: led.reconcile(),
}


#: The views that sum over every payment by design: `edi reconcile` lists each payment with the cash posted from it,
#: which it reads through the postings' account index (every undeposited_era posting: one per claim payment).
OVER_EVERY_PAYMENT = {"reconcile"}


@pytest.mark.parametrize("view", VIEWS)
def test_no_view_reads_a_growing_table_whole(ledger, view):
    statements = captured(ledger, lambda: VIEWS[view](ledger))
    assert statements, "the view ran no query"
    with ledger.engine.connect() as conn:
        for statement, params in statements:
            scanned = sequential_scans(conn, statement, params, few_values=view not in OVER_EVERY_PAYMENT) & GROWING
            assert not scanned, f"{view}: {sorted(scanned)} read whole by\n{statement}"


def test_the_check_sees_a_query_no_index_serves(ledger):
    """The detector itself: a filter on a column without an index is a sequential scan even with them off."""
    with ledger.engine.connect() as conn:
        assert sequential_scans(conn, "SELECT id FROM claims WHERE charge > 0", {}) == {"claims"}
        assert sequential_scans(conn, "SELECT id FROM claims WHERE patient_control_number = 'X'", {}) == set()
        # an index on a column of a few values serves the query, and still reads the table nearly whole (as
        # `edi ledger claims` once did for every page: every patient_ar posting, for the claims to a next payer)
        assert sequential_scans(conn, "SELECT entry_id FROM postings WHERE account = 'patient_ar'", {}) == {
            "postings"}
        assert sequential_scans(conn, "SELECT amount FROM postings WHERE account = 'patient_ar' AND entry_id = 7",
                                {}) == set()
        rows = conn.execute(text("SELECT count(*) FROM claims")).scalar()
    assert rows > 0
