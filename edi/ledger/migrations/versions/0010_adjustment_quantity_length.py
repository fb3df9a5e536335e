"""adjustments.quantity long enough for any X12 quantity

A CAS quantity is an X12 decimal (R) of up to 15 digits, which with a minus sign and a decimal point is 17
characters. The column was VARCHAR(16), so a legal quantity such as ``-12345678901.2345`` was refused as
``ledger.value.too_long``. It is VARCHAR(20) now. SQLite does not enforce a VARCHAR length (the ledger's own length
check reads the schema), so only PostgreSQL's column changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("adjustments", "quantity", type_=sa.String(20), existing_type=sa.String(16))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("adjustments", "quantity", type_=sa.String(16), existing_type=sa.String(20))
