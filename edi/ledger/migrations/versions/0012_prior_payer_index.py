"""an index of the entries that bill a claim to the next payer

``journal_entries_prior_payer``: a partial index on ``journal_entries(claim_id)`` of the ``prior_payer`` entries
alone (one per claim to a next payer, see edi.ledger.record). ``edi ledger claims`` looks, for each page of claims,
for such entries among the claims of the page's patient control numbers: through ``journal_entries_claim`` and a
filter on the kind, PostgreSQL chose to read every journal entry of the ledger instead (it guesses the entries of
one kind many), once per page. The partial index holds only the few entries asked for, so both databases use it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PRIOR_PAYER = "kind = 'prior_payer'"


def upgrade() -> None:
    op.create_index("journal_entries_prior_payer", "journal_entries", ["claim_id"],
                    sqlite_where=sa.text(PRIOR_PAYER), postgresql_where=sa.text(PRIOR_PAYER))


def downgrade() -> None:
    op.drop_index("journal_entries_prior_payer", table_name="journal_entries")
