"""the population register: what a register extract said of each person

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 19:30:00

Columns on ``people`` only (a tenant table with its row policy already), so no new
policy is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = app.core.models.base.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("died_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("moved_out_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("register_checked_at", UTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("register_checked_at")
        batch_op.drop_column("moved_out_on")
        batch_op.drop_column("died_on")
