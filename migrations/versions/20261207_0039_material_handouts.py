"""material hand-outs: equipment handed to a station or a person and taken back

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base
from app.core import rls

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "material_handouts"
UTC = app.core.models.base.UTCDateTime


def _fk(column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{TABLE}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("handed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("handed_by_label", sa.String(length=254), nullable=False),
        sa.Column("handed_at", UTC(timezone=True), nullable=False),
        sa.Column("due_back", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("returned_by_user_id", sa.Integer(), nullable=True),
        sa.Column("returned_by_label", sa.String(length=254), nullable=False),
        sa.Column("returned_at", UTC(timezone=True), nullable=True),
        sa.Column("condition", sa.String(length=16), nullable=True),
        sa.Column("return_note", sa.String(length=500), nullable=False),
        sa.Column("reminded_at", UTC(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(station_id IS NOT NULL) <> (person_id IS NOT NULL)",
            name=op.f(f"ck_{TABLE}_one_holder"),
        ),
        _fk("asset_id", "material_assets", "CASCADE"),
        _fk("election_id", "elections", "SET NULL"),
        _fk("station_id", "stations", "CASCADE"),
        _fk("person_id", "people", "CASCADE"),
        _fk("delivery_id", "material_deliveries", "SET NULL"),
        _fk("handed_by_user_id", "users", "SET NULL"),
        _fk("returned_by_user_id", "users", "SET NULL"),
        _fk("tenant_id", "tenants", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for column in ("asset_id", "delivery_id", "election_id", "person_id", "station_id"):
            batch_op.create_index(batch_op.f(f"ix_{TABLE}_{column}"), [column], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "uq_material_handouts_open_asset",
            ["asset_id"],
            unique=True,
            postgresql_where=sa.text("returned_at IS NULL"),
            sqlite_where=sa.text("returned_at IS NULL"),
        )
    rls.enable(op, TABLE)


def downgrade() -> None:
    rls.disable(op, TABLE)
    op.drop_table(TABLE)
