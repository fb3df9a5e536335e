"""claim_payments.claim_id: no foreign key (proven by `edi ledger check`)

Each claim payment written by an 835 import checked its claim through the foreign key, and on PostgreSQL that
check locks the claim's row (a heap write per claim payment) just before the import updates the same row's
status. The import writes claim_id only from the claim it matched in the same transaction; `edi ledger check`
proves the reference (schema.CHECKED_REFERENCES), as for the references dropped in 0003.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # claim_payments is referenced by suspense_items and claim_payments.reverses_id: edi.ledger.db.migrate
        # turns foreign keys off while SQLite rebuilds it
        with op.batch_alter_table("claim_payments", recreate="always", naming_convention=SQLITE_NAMES) as batch:
            batch.drop_constraint("fk_claim_payments_claim_id", type_="foreignkey")
    else:
        for fk in sa.inspect(bind).get_foreign_keys("claim_payments"):
            if fk["constrained_columns"] == ["claim_id"]:
                op.drop_constraint(fk["name"], "claim_payments", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("claim_payments") as batch:
        batch.create_foreign_key("claim_payments_claim_id_fkey", "claims", ["claim_id"], ["id"])
