"""claims.fingerprint: what a claim built by edi carried, hashed

A replacement or void reuses the patient control number of the claim it corrects, so building the same input
twice could not tell a correction already sent from a new one. The build now records a sha256 of each claim's
837 text (without envelope and HL numbers) and refuses a correction whose fingerprint the ledger already holds.
Claims recorded from 837 files written elsewhere have none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("claims", sa.Column("fingerprint", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("fingerprint")
