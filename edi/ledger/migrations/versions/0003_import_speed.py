"""no foreign keys on the high-volume tables; indexes for what is queried

An 835 import writes, per claim payment, about one journal entry, five postings and three adjustments. On
PostgreSQL each foreign key on those rows cost a lookup and a row lock in the referenced table per row written,
more server time than the rest of the import. These references are written only by edi, from rows read or
written in the same transaction, in an append-only ledger; `edi ledger check` now proves each of them (see
schema.CHECKED_REFERENCES) instead. Foreign keys dropped: journal_entries.claim_id, remittance_id,
claim_payment_id, file_id; postings.entry_id, claim_id, line_id; adjustments.claim_payment_id, claim_id,
line_id. Kept: every foreign key of claims, claim_lines, claim_payments, remittances, suspense_items,
provider_adjustments, and journal_entries.reverses_id.

Indexes: journal_entries_remittance (only ever read whole) is dropped; adjustments_claim (never queried) is
replaced by adjustments_claim_payment (a claim's story reads adjustments by claim payment).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# children first: SQLite rebuilds each table (DROP TABLE deletes its rows first, which a foreign key still
# pointing at journal_entries would refuse)
DROPPED = {
    "postings": (("entry_id", "journal_entries"), ("claim_id", "claims"), ("line_id", "claim_lines")),
    "adjustments": (("claim_payment_id", "claim_payments"), ("claim_id", "claims"), ("line_id", "claim_lines")),
    "journal_entries": (("claim_id", "claims"), ("remittance_id", "remittances"),
                        ("claim_payment_id", "claim_payments"), ("file_id", "files")),
}
# SQLite's foreign keys have no names: batch mode names them by this convention to drop them
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    for table, refs in DROPPED.items():
        if bind.dialect.name == "sqlite":
            with op.batch_alter_table(table, recreate="always", naming_convention=SQLITE_NAMES) as batch:
                for column, _ in refs:
                    batch.drop_constraint(f"fk_{table}_{column}", type_="foreignkey")
        else:
            columns = {c for c, _ in refs}
            for fk in sa.inspect(bind).get_foreign_keys(table):
                if len(fk["constrained_columns"]) == 1 and fk["constrained_columns"][0] in columns:
                    op.drop_constraint(fk["name"], table, type_="foreignkey")
    op.drop_index("journal_entries_remittance", table_name="journal_entries")
    op.drop_index("adjustments_claim", table_name="adjustments")
    op.create_index("adjustments_claim_payment", "adjustments", ["claim_payment_id"])


def downgrade() -> None:
    op.drop_index("adjustments_claim_payment", table_name="adjustments")
    op.create_index("adjustments_claim", "adjustments", ["claim_id"])
    op.create_index("journal_entries_remittance", "journal_entries", ["remittance_id"])
    for table, refs in reversed(DROPPED.items()):
        with op.batch_alter_table(table) as batch:
            for column, referred in refs:
                batch.create_foreign_key(f"{table}_{column}_fkey", referred, [column], ["id"])
