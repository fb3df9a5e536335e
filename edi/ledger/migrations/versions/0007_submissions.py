"""submissions to clearinghouses, and the files fetched from their inboxes

- ``suspense_items.kind`` takes 24 characters (``unbalanced_payment`` did not fit: PostgreSQL refused it).
- ``files.path``: where the file was when it was recorded (absolute), so that ``edi claims submit --all-built``
  finds the 837s a build wrote.
- ``submissions``: each upload of a recorded 837 to a clearinghouse (remote name, time, sha256, forced or not),
  recorded as ``sending`` before the upload and ``sent`` once it is in the outbox: an upload whose end is not
  known stays ``sending``, and the file is not sent again without ``--force``. One submission per file unless
  forced (``submissions_once``), so two processes cannot both send it.
- ``inbox_files``: each file seen in a clearinghouse's inbox (remote name, size, time, sha256 once downloaded),
  what became of it (imported, already, refused, unknown, failed) and where its archive copy is; a file seen
  again under the same name, size and time is not downloaded twice, and one whose content was imported is
  never imported twice, whatever its name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("path", sa.Text()))
    # "unbalanced_payment" is 18 characters: PostgreSQL refused the suspense item of every 835 whose BPR02
    # differs from its detail (SQLite, which ignores lengths, took it)
    with op.batch_alter_table("suspense_items") as batch:
        batch.alter_column("kind", type_=sa.String(24), existing_type=sa.String(16), existing_nullable=False)
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id"), nullable=False),
        sa.Column("clearinghouse", sa.String(100), nullable=False),
        sa.Column("remote_name", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(8), nullable=False, server_default="sent"),
        sa.Column("submitted_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("state IN ('sending', 'sent')", name="submissions_state"),
    )
    op.create_index("submissions_file", "submissions", ["file_id"])
    # a file is submitted once (a second time only with --force): two processes cannot both send it
    op.create_index("submissions_once", "submissions", ["file_id"], unique=True,
                    sqlite_where=sa.text("NOT forced"), postgresql_where=sa.text("NOT forced"))
    op.create_table(
        "inbox_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clearinghouse", sa.String(100), nullable=False),
        sa.Column("remote_name", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("kind", sa.String(8)),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("archive_path", sa.Text),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id")),
        sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("fetched_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("outcome IN ('imported', 'already', 'refused', 'unknown', 'failed')",
                           name="inbox_files_outcome"),
    )
    op.create_index("inbox_files_seen", "inbox_files", ["clearinghouse", "remote_name"])


def downgrade() -> None:
    with op.batch_alter_table("suspense_items") as batch:
        batch.alter_column("kind", type_=sa.String(16), existing_type=sa.String(24), existing_nullable=False)
    op.drop_table("inbox_files")
    op.drop_table("submissions")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("path")
