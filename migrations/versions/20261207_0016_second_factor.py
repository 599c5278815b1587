"""second factor: authenticator apps, recovery codes, remembered devices, and each
municipality's policy

The three tables belong to users, who are global (one account, several
municipalities), so they have no tenant and no row policy, like ``auth_sessions``.
Municipalities that exist already are given ``required``, as new ones are.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_column() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("user_id", sa.Integer(), nullable=False)


def _at(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.core.models.base.UTCDateTime(timezone=True), nullable=nullable)


def _user_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "second_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        _user_column(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("secret_encrypted", sa.String(length=500), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        _at("created_at", False),
        _at("confirmed_at", True),
        _user_key("second_factors"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factors")),
        sa.UniqueConstraint("user_id", name=op.f("uq_second_factors_user_id")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        _user_column(),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        _at("created_at", False),
        _at("used_at", True),
        _user_key("recovery_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_codes_code_hash")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_codes_user_id"), ["user_id"], unique=False)
    op.create_table(
        "remembered_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        _user_column(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        _at("created_at", False),
        _at("last_used_at", True),
        _at("expires_at", False),
        _user_key("remembered_devices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remembered_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_remembered_devices_token_hash")),
    )
    with op.batch_alter_table("remembered_devices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remembered_devices_user_id"), ["user_id"], unique=False
        )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "second_factor_policy",
                sa.String(length=16),
                server_default="required",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("second_factor_policy")
    with op.batch_alter_table("remembered_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remembered_devices_user_id"))
    op.drop_table("remembered_devices")
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_user_id"))
    op.drop_table("recovery_codes")
    op.drop_table("second_factors")
