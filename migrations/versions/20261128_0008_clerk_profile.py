"""clerk profile: bank account (encrypted), calendar feed token, removal request

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 00:48:20.054731
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bank_account_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("calendar_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("calendar_token_nonce", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "removal_requested_at",
                app.core.models.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_people_calendar_token_hash"), ["calendar_token_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_people_calendar_token_hash"), type_="unique")
        batch_op.drop_column("removal_requested_at")
        batch_op.drop_column("calendar_token_nonce")
        batch_op.drop_column("calendar_token_hash")
        batch_op.drop_column("bank_account_encrypted")
