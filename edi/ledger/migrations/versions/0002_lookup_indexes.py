"""indexes for reversal lookups

A reversal looks up the payment it reverses (claim_payments.reverses_id) and that payment's journal entry
(journal_entries.claim_payment_id); without these indexes each lookup scanned the tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("journal_entries_claim_payment", "journal_entries", ["claim_payment_id"])
    op.create_index("claim_payments_reverses", "claim_payments", ["reverses_id"])


def downgrade() -> None:
    op.drop_index("claim_payments_reverses", table_name="claim_payments")
    op.drop_index("journal_entries_claim_payment", table_name="journal_entries")
