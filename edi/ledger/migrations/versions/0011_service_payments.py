"""what a claim to the next payer repeats of an 835: its SVC loops, MOA/MIA and crossover carrier

A secondary claim (837 loops 2320/2430) repeats the primary payer's adjudication: per line the paid amount, the
procedure as adjudicated and the paid units (SVD), beside the line's CAS; per claim the MOA/MIA remark fields. The
ledger kept the CAS but neither the SVC loops nor MOA/MIA, and it could not tell the two pieces of a line the
payer split apart. Added:

- ``service_payments``: one row per SVC loop (claim payment, its number in the CLP, the claim line it matched,
  SVC01 composite, SVC02, SVC03, SVC04, SVC05), indexed by claim payment; its references are checked by
  `edi ledger check` (schema.CHECKED_REFERENCES), not foreign keys, like the other tables an 835 import fills;
- ``adjustments.service_number``: the SVC loop a line-level adjustment belongs to;
- ``claim_payments.services`` (how many SVC loops), ``outpatient`` and ``inpatient`` (MOA and MIA elements, a
  JSON array), ``crossover_carrier`` (NM1*TT's name).

Nothing is backfilled: the posted 835s are not read again. Claim payments posted before keep NULL in these
columns, which is how edi.ledger.cob knows it lacks them (and says so).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_CLAIM_PAYMENT_COLUMNS = (("services", sa.Integer()), ("outpatient", sa.Text()), ("inpatient", sa.Text()),
                          ("crossover_carrier", sa.Text()))


def upgrade() -> None:
    op.create_table(
        "service_payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("claim_payment_id", sa.Integer(), nullable=False),
        sa.Column("service_number", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer()),
        sa.Column("procedure_qualifier", sa.Text()),
        sa.Column("procedure", sa.Text()),
        sa.Column("modifiers", sa.Text()),
        sa.Column("revenue_code", sa.Text()),
        sa.Column("charge", sa.BigInteger()),  # cents, as schema.Money keeps them
        sa.Column("paid", sa.BigInteger()),
        sa.Column("units", sa.Text()),
    )
    op.create_index("service_payments_claim_payment", "service_payments", ["claim_payment_id"])
    op.add_column("adjustments", sa.Column("service_number", sa.Integer()))
    for name, type_ in _CLAIM_PAYMENT_COLUMNS:
        op.add_column("claim_payments", sa.Column(name, type_))


def downgrade() -> None:
    with op.batch_alter_table("claim_payments") as batch:
        for name, _ in reversed(_CLAIM_PAYMENT_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("adjustments") as batch:
        batch.drop_column("service_number")
    op.drop_index("service_payments_claim_payment", table_name="service_payments")
    op.drop_table("service_payments")
