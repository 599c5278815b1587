"""candidates kept off: imported candidate lists, their matches, the municipality's own
exclusions, and the applicant's declaration of not being a candidate

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 16:45:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.core.models.base
from app.core import rls

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("candidate_lists", "candidates", "person_exclusions")
UTC = app.core.models.base.UTCDateTime


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk(table, "tenant_id", "tenants", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in (*columns, "tenant_id"):
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "candidate_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        _fk("candidate_lists", "election_id", "elections", "CASCADE"),
        _fk("candidate_lists", "created_by_id", "users", "SET NULL"),
        *_tenant("candidate_lists"),
    )
    _indexes("candidate_lists", "election_id")

    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("party", sa.String(length=200), nullable=False),
        sa.Column("list_name", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        _fk("candidates", "list_id", "candidate_lists", "CASCADE"),
        _fk("candidates", "election_id", "elections", "CASCADE"),
        _fk("candidates", "person_id", "people", "CASCADE"),
        *_tenant("candidates"),
    )
    _indexes("candidates", "election_id", "list_id", "person_id")

    op.create_table(
        "person_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        _fk("person_exclusions", "person_id", "people", "CASCADE"),
        _fk("person_exclusions", "created_by_id", "users", "SET NULL"),
        *_tenant("person_exclusions"),
    )
    _indexes("person_exclusions", "person_id")

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "declared_not_candidate",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    # The default only fills the rows already there; the model sets it for new ones.
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.alter_column("declared_not_candidate", server_default=None)

    rls.enable(op, *TENANT_TABLES)


def downgrade() -> None:
    rls.disable(op, *TENANT_TABLES)
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("declared_not_candidate")
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
