"""acknowledgements, and one standing claim per patient control number and payer

- ``acknowledgements``: every TA1, 999 (per group and per transaction set) and 277CA (per claim) imported, with
  what it acknowledges (an interchange, a group, a transaction set of a recorded 837, or a claim) when the
  ledger knows it; an acknowledgement of something the ledger does not know is kept with no link.
- ``claims.status_reason``: why a claim has its status, in words (the rejection's codes and meaning).
- ``transactions.receiver``: the 837's receiver (1000B NM109), to tell apart two clearinghouses' 999s that
  acknowledge the same group and transaction control numbers.
- ``claims_standing``: a partial unique index, (patient control number, payer) of every claim that is not a
  correction (frequency other than 7 and 8) and still stands (not replaced, voided or rejected): a claim is
  billed once, whatever process records it.
- ``claims.duplicate_of``: a ledger recorded before this migration may hold such a claim twice. The later
  copies are marked as duplicates of the first (and left out of the index), not changed otherwise: their money
  stays where it was, and `edi ledger check` names them (``ledger.claim.standing_twice``) until they are voided
  (an 837 of frequency 8 voids the newest copy) or written off.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STANDING = ("frequency NOT IN ('7', '8') AND status NOT IN ('replaced', 'voided', 'rejected') "
            "AND duplicate_of IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text()))
        batch.add_column(sa.Column("duplicate_of", sa.Integer()))
    bind = op.get_bind()
    # claims billed twice before this migration: every copy after the first is marked (see the docstring)
    bind.execute(sa.text(
        "UPDATE claims SET duplicate_of = (SELECT min(f.id) FROM claims f WHERE "
        "f.patient_control_number = claims.patient_control_number AND "
        "COALESCE(f.payer_id, '') = COALESCE(claims.payer_id, '') AND f.frequency NOT IN ('7', '8') AND "
        "f.status NOT IN ('replaced', 'voided', 'rejected')) "
        "WHERE frequency NOT IN ('7', '8') AND status NOT IN ('replaced', 'voided', 'rejected') AND id > "
        "(SELECT min(f.id) FROM claims f WHERE f.patient_control_number = claims.patient_control_number AND "
        "COALESCE(f.payer_id, '') = COALESCE(claims.payer_id, '') AND f.frequency NOT IN ('7', '8') AND "
        "f.status NOT IN ('replaced', 'voided', 'rejected'))"))
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("receiver", sa.String(80)))
    op.create_index("claims_standing", "claims", ["patient_control_number", sa.text("COALESCE(payer_id, '')")],
                    unique=True, sqlite_where=sa.text(STANDING), postgresql_where=sa.text(STANDING))
    op.create_index("transactions_control", "transactions", ["group_control", "control_number"])
    op.create_index("transactions_interchange", "transactions", ["interchange"])
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id"), nullable=False),
        sa.Column("kind", sa.String(5), nullable=False),
        sa.Column("level", sa.String(11), nullable=False),
        sa.Column("interchange", sa.String(9)),
        sa.Column("group_control", sa.String(9)),
        sa.Column("control_number", sa.String(9)),
        sa.Column("patient_control_number", sa.String(38)),
        sa.Column("transaction_id", sa.Integer, sa.ForeignKey("transactions.id")),
        sa.Column("claim_id", sa.Integer, sa.ForeignKey("claims.id")),
        sa.Column("status", sa.String(2), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("codes", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("payer_claim_number", sa.String(50)),
        sa.Column("amount", sa.BigInteger),
        sa.Column("effective_date", sa.Date),
        sa.Column("source_name", sa.Text),
        sa.Column("source_id", sa.String(80)),
        sa.Column("segment", sa.Integer),
        sa.Column("note", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("kind IN ('TA1', '999', '277CA')", name="acknowledgements_kind"),
        sa.CheckConstraint("outcome IN ('accepted', 'rejected', 'other')", name="acknowledgements_outcome"),
    )
    op.create_index("acknowledgements_claim", "acknowledgements", ["claim_id"])
    op.create_index("acknowledgements_transaction", "acknowledgements", ["transaction_id"])
    op.create_index("acknowledgements_file", "acknowledgements", ["file_id"])


def downgrade() -> None:
    op.drop_table("acknowledgements")
    op.drop_index("transactions_interchange", table_name="transactions")
    op.drop_index("transactions_control", table_name="transactions")
    op.drop_index("claims_standing", table_name="claims")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("receiver")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("duplicate_of")
        batch.drop_column("status_reason")
