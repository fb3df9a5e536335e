"""indexes for the views of a large ledger and the 835 import's truncated-PCN match

- ``postings_account_entry`` (account, entry_id): ``edi reconcile`` sums each payment's cash postings from the
  undeposited ERA account alone, instead of reading every posting of the ledger (about five per claim).
- ``claim_payments_remittance`` (remittance_id): the claim payments of one payment (reconcile's counts, and a
  payment's claims for the deposit and report views), without reading every claim payment.
- ``claims_pcn_prefix`` on ``substr(patient_control_number, 1, 20)``: a payer that truncates CLP01 to 20
  characters is matched to the claim by this prefix; the import's lookup read the whole claims table once per
  batch without it. The query uses the very same expression (schema.PCN_PREFIX) so that both databases use it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("postings_account_entry", "postings", ["account", "entry_id"])
    op.create_index("claim_payments_remittance", "claim_payments", ["remittance_id"])
    op.create_index("claims_pcn_prefix", "claims", [sa.text("substr(patient_control_number, 1, 20)")])


def downgrade() -> None:
    op.drop_index("claims_pcn_prefix", table_name="claims")
    op.drop_index("claim_payments_remittance", table_name="claim_payments")
    op.drop_index("postings_account_entry", table_name="postings")
