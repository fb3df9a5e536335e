"""initial ledger schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_numbers",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "scope"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("interchanges", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "remittances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=80), nullable=False),
        sa.Column("payer_name", sa.Text(), nullable=True),
        sa.Column("trace_number", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("handling", sa.String(length=2), nullable=True),
        sa.Column("method", sa.String(length=3), nullable=True),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("control_number", sa.String(length=9), nullable=True),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payer_key", "trace_number", name="remittances_payment"),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("st01", sa.String(length=3), nullable=False),
        sa.Column("interchange", sa.String(length=9), nullable=True),
        sa.Column("group_control", sa.String(length=9), nullable=True),
        sa.Column("control_number", sa.String(length=9), nullable=True),
        sa.Column("batch_id", sa.Text(), nullable=True),
        sa.Column("version", sa.String(length=20), nullable=True),
        sa.Column("claims", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_control_number", sa.String(length=38), nullable=False),
        sa.Column("kind", sa.String(length=13), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=True),
        sa.Column("payer_name", sa.Text(), nullable=True),
        sa.Column("frequency", sa.String(length=1), server_default="1", nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("billing_npi", sa.String(length=10), nullable=True),
        sa.Column("member_id", sa.String(length=80), nullable=True),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('built','submitted','accepted','rejected','paid','denied','reversed','voided','replaced')",
            name="claims_status",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_id", "segment", name="claims_file_segment"),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("claims_payer_claim_number", ["payer_claim_number"], unique=False)
        batch_op.create_index("claims_pcn", ["patient_control_number"], unique=False)

    op.create_table(
        "claim_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=48), nullable=True),
        sa.Column("modifiers", sa.String(length=16), nullable=True),
        sa.Column("revenue_code", sa.String(length=4), nullable=True),
        sa.Column("charge", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.String(length=16), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("line_control_number", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.create_index("claim_lines_claim", ["claim_id"], unique=False)

    op.create_table(
        "claim_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("patient_control_number", sa.String(length=38), nullable=False),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("patient_responsibility", sa.BigInteger(), nullable=True),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("denied", sa.BigInteger(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["claim_payments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("claim_payments", schema=None) as batch_op:
        batch_op.create_index("claim_payments_claim", ["claim_id"], unique=False)
        batch_op.create_index("claim_payments_icn", ["payer_claim_number"], unique=False)

    op.create_table(
        "provider_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.String(length=4), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_payment_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=5), nullable=False),
        sa.Column("group_code", sa.String(length=2), nullable=False),
        sa.Column("reason", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.String(length=16), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("line_denial", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["claim_payment_id"],
            ["claim_payments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["claim_lines.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("adjustments", schema=None) as batch_op:
        batch_op.create_index("adjustments_claim", ["claim_id"], unique=False)

    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("remittance_id", sa.Integer(), nullable=True),
        sa.Column("claim_payment_id", sa.Integer(), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["claim_payment_id"],
            ["claim_payments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["journal_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index("journal_entries_claim", ["claim_id"], unique=False)
        batch_op.create_index("journal_entries_remittance", ["remittance_id"], unique=False)

    op.create_table(
        "suspense_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("claim_payment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("patient_control_number", sa.String(length=38), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_payment_id"],
            ["claim_payments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("group_code", sa.String(length=2), nullable=True),
        sa.Column("reason", sa.String(length=8), nullable=True),
        sa.CheckConstraint(
            "account IN ('insurance_ar','gross_charges','undeposited_era','contractual','payer_initiated','other_adjustments','patient_ar','write_offs','provider_adjustments','suspense','bank')",
            name="postings_account",
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["claim_lines.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("postings_claim", ["claim_id", "account"], unique=False)
        batch_op.create_index("postings_entry", ["entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index("postings_entry")
        batch_op.drop_index("postings_claim")

    op.drop_table("postings")
    op.drop_table("suspense_items")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index("journal_entries_remittance")
        batch_op.drop_index("journal_entries_claim")

    op.drop_table("journal_entries")
    with op.batch_alter_table("adjustments", schema=None) as batch_op:
        batch_op.drop_index("adjustments_claim")

    op.drop_table("adjustments")
    op.drop_table("provider_adjustments")
    with op.batch_alter_table("claim_payments", schema=None) as batch_op:
        batch_op.drop_index("claim_payments_icn")
        batch_op.drop_index("claim_payments_claim")

    op.drop_table("claim_payments")
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.drop_index("claim_lines_claim")

    op.drop_table("claim_lines")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("claims_pcn")
        batch_op.drop_index("claims_payer_claim_number")

    op.drop_table("claims")
    op.drop_table("transactions")
    op.drop_table("remittances")
    op.drop_table("files")
    op.drop_table("control_numbers")
