"""event cursor: each event's transaction and what was committed when it was written

Event ids come from a sequence when a row is flushed, but transactions commit in
another order: a reader that resumes after id N would skip a lower id committed later.
On PostgreSQL each event row now keeps its transaction's id (``txid``, the xid8 of
``pg_current_xact_id()`` as a bigint) and the snapshot its INSERT ran in (``snap``,
``pg_current_snapshot()`` as text). A replay after event N also sends the events with
a lower id whose transaction N's snapshot did not see committed; the hub's sweep reads
the transactions that committed between two of its own snapshots. SQLite has one
writer at a time (commit order is id order): the columns stay NULL there.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    txid_default = sa.text("(pg_current_xact_id()::text)::bigint") if postgres else None
    snap_default = sa.text("(pg_current_snapshot())::text") if postgres else None
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("txid", sa.BigInteger(), nullable=True, server_default=txid_default)
        )
        batch_op.add_column(
            sa.Column("snap", sa.Text(), nullable=True, server_default=snap_default)
        )
        batch_op.create_index("ix_events_tenant_txid", ["tenant_id", "txid"], unique=False)


def downgrade() -> None:
    # Dropping a column re-creates the table on SQLite: keep its ids never reused.
    with op.batch_alter_table(
        "events", schema=None, table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_index("ix_events_tenant_txid")
        batch_op.drop_column("snap")
        batch_op.drop_column("txid")
