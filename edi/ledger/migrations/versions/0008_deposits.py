"""bank deposits and their reassociation with 835 payments

- ``deposits``: each row of a bank's CSV export imported (date, amount, trace or reference, description); the
  unique ``deposits_line`` (date, amount, reference, occurrence in its file) makes importing the same export
  twice, or one that overlaps it, add nothing.
- ``deposit_matches``: the deposit an 835 payment reached and the journal entry that moved its cash from
  undeposited ERA cash to the bank; a deposit answers one payment and a payment one deposit (both unique), so
  no payment is deposited twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deposits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("deposit_date", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reference", sa.String(200), nullable=False, server_default=""),
        sa.Column("description", sa.Text),
        sa.Column("occurrence", sa.Integer, nullable=False, server_default="1"),
        sa.Column("source", sa.Text),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("deposit_date", "amount", "reference", "occurrence", name="deposits_line"),
    )
    op.create_table(
        "deposit_matches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("deposit_id", sa.Integer, sa.ForeignKey("deposits.id"), nullable=False),
        sa.Column("remittance_id", sa.Integer, sa.ForeignKey("remittances.id"), nullable=False),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("journal_entries.id"), nullable=False),
        sa.Column("matched_by", sa.String(8), nullable=False),
        sa.Column("matched_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("deposit_id", name="deposit_matches_deposit"),
        sa.UniqueConstraint("remittance_id", name="deposit_matches_remittance"),
    )


def downgrade() -> None:
    op.drop_table("deposit_matches")
    op.drop_table("deposits")
