"""ticket expiry: an index on realtime_tickets.expires_at

Every ticket issued clears the expired ones; during a reconnect storm (thousands of
sockets fetching tickets at once) that DELETE must not scan the whole table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("realtime_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_realtime_tickets_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("realtime_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_realtime_tickets_expires_at"))
