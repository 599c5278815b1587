"""duplicate people: merges and their tombstones, dismissed likely candidate matches

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base
from app.core import rls

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("person_merges",)
UTC = app.core.models.base.UTCDateTime
JSON = app.core.models.base.JSONType


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "person_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("fields_taken", JSON, nullable=False),
        sa.Column("moved", JSON, nullable=False),
        sa.Column("merged_by_id", sa.Integer(), nullable=True),
        sa.Column("merged_by_label", sa.String(length=254), nullable=False),
        sa.Column("merged_at", UTC(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk("person_merges", "survivor_id", "people", "CASCADE"),
        _fk("person_merges", "merged_by_id", "users", "SET NULL"),
        _fk("person_merges", "tenant_id", "tenants", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merges")),
    )
    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_merges_survivor_id"), ["survivor_id"])
        batch_op.create_index(batch_op.f("ix_person_merges_tenant_id"), ["tenant_id"])
        batch_op.create_index("ix_person_merges_tenant_merged", ["tenant_id", "merged_id"])

    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dismissed_at", UTC(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "dismissed_by_label", sa.String(length=254), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column("dismissal_reason", sa.String(length=500), nullable=False, server_default="")
        )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.alter_column("dismissed_by_label", server_default=None)
        batch_op.alter_column("dismissal_reason", server_default=None)

    rls.enable(op, *TENANT_TABLES)


def downgrade() -> None:
    rls.disable(op, *TENANT_TABLES)
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_column("dismissal_reason")
        batch_op.drop_column("dismissed_by_label")
        batch_op.drop_column("dismissed_at")
    op.drop_table("person_merges")
