"""Alembic environment for the edi ledger: runs on the connection edi hands it (see edi.ledger.db.migrate)."""

from alembic import context

from edi.ledger.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - edi always passes a connection
    raise RuntimeError("run the ledger migrations through `edi ledger init`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
