"""sign-in by a mailed link or an SMS code

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 00:48:36.680147

Not tenant-scoped (users are global, like password_reset_tokens), so no row policy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_signin_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signin_tokens_token_hash")),
    )
    with op.batch_alter_table("signin_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signin_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signin_tokens_user_id"))
    op.drop_table("signin_tokens")
