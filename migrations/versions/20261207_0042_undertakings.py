"""working-time rules and the confidentiality undertaking's signatures

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base
from app.core import rls

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("working_rules", "undertaking_signatures")
UTC = app.core.models.base.UTCDateTime


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "working_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("max_day_minutes", sa.Integer(), nullable=True),
        sa.Column("min_rest_minutes", sa.Integer(), nullable=True),
        sa.Column("undertaking_required", sa.Boolean(), nullable=False),
        sa.Column("undertaking_signed_since", UTC(timezone=True), nullable=True),
        sa.Column("updated_by_label", sa.String(length=254), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk("working_rules", "tenant_id", "tenants", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_rules")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_working_rules_tenant_id")),
    )
    with op.batch_alter_table("working_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_working_rules_tenant_id"), ["tenant_id"])

    op.create_table(
        "undertaking_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("text_digest", sa.String(length=64), nullable=False),
        sa.Column("signed_at", UTC(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk("undertaking_signatures", "person_id", "people", "CASCADE"),
        _fk("undertaking_signatures", "version_id", "message_template_versions", "SET NULL"),
        _fk("undertaking_signatures", "tenant_id", "tenants", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undertaking_signatures")),
    )
    with op.batch_alter_table("undertaking_signatures", schema=None) as batch_op:
        for column in ("person_id", "version_id", "tenant_id"):
            batch_op.create_index(batch_op.f(f"ix_undertaking_signatures_{column}"), [column])

    rls.enable(op, *TENANT_TABLES)


def downgrade() -> None:
    rls.disable(op, *TENANT_TABLES)
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
