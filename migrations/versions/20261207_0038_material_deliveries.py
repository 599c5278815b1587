"""material deliveries: packing, delivery runs, return counts and election-day shortages

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.core.models.base
from app.core import rls

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "material_runs",
    "material_deliveries",
    "material_delivery_lines",
    "material_shortages",
)
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
        "material_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("driver_name", sa.String(length=200), nullable=False),
        sa.Column("driver_phone", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        _fk("material_runs", "election_id", "elections", "CASCADE"),
        _fk("material_runs", "district_id", "districts", "SET NULL"),
        *_tenant("material_runs"),
    )
    _indexes("material_runs", "district_id", "election_id")

    op.create_table(
        "material_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("crates", sa.Integer(), nullable=False),
        sa.Column("packed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("packed_by_label", sa.String(length=254), nullable=False),
        sa.Column("packed_at", UTC(timezone=True), nullable=True),
        sa.Column("delivered_by_user_id", sa.Integer(), nullable=True),
        sa.Column("delivered_by_person_id", sa.Integer(), nullable=True),
        sa.Column("delivered_by_label", sa.String(length=254), nullable=False),
        sa.Column("delivered_at", UTC(timezone=True), nullable=True),
        sa.Column("returned_by_user_id", sa.Integer(), nullable=True),
        sa.Column("returned_by_label", sa.String(length=254), nullable=False),
        sa.Column("returned_at", UTC(timezone=True), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        _fk("material_deliveries", "election_id", "elections", "CASCADE"),
        _fk("material_deliveries", "station_id", "stations", "CASCADE"),
        _fk("material_deliveries", "run_id", "material_runs", "SET NULL"),
        _fk("material_deliveries", "packed_by_user_id", "users", "SET NULL"),
        _fk("material_deliveries", "delivered_by_user_id", "users", "SET NULL"),
        _fk("material_deliveries", "delivered_by_person_id", "people", "SET NULL"),
        _fk("material_deliveries", "returned_by_user_id", "users", "SET NULL"),
        sa.UniqueConstraint("code", name=op.f("uq_material_deliveries_code")),
        sa.UniqueConstraint(
            "election_id",
            "station_id",
            name=op.f("uq_material_deliveries_election_id_station_id"),
        ),
        *_tenant("material_deliveries"),
    )
    _indexes("material_deliveries", "delivered_by_person_id", "election_id", "run_id", "station_id")

    op.create_table(
        "material_delivery_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("packed", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=True),
        sa.Column("returned", sa.Integer(), nullable=True),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("damaged", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        _fk("material_delivery_lines", "delivery_id", "material_deliveries", "CASCADE"),
        _fk("material_delivery_lines", "article_id", "material_articles", "CASCADE"),
        _fk("material_delivery_lines", "asset_id", "material_assets", "SET NULL"),
        *_tenant("material_delivery_lines"),
    )
    _indexes("material_delivery_lines", "article_id", "asset_id", "delivery_id")

    op.create_table(
        "material_shortages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reported_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", UTC(timezone=True), nullable=False),
        sa.Column("sent_by_user_id", sa.Integer(), nullable=True),
        sa.Column("sent_by_label", sa.String(length=254), nullable=False),
        sa.Column("sent_at", UTC(timezone=True), nullable=True),
        sa.Column("delivered_by_user_id", sa.Integer(), nullable=True),
        sa.Column("delivered_by_label", sa.String(length=254), nullable=False),
        sa.Column("delivered_at", UTC(timezone=True), nullable=True),
        _fk("material_shortages", "election_id", "elections", "CASCADE"),
        _fk("material_shortages", "station_id", "stations", "CASCADE"),
        _fk("material_shortages", "article_id", "material_articles", "SET NULL"),
        _fk("material_shortages", "reported_by_user_id", "users", "SET NULL"),
        _fk("material_shortages", "sent_by_user_id", "users", "SET NULL"),
        _fk("material_shortages", "delivered_by_user_id", "users", "SET NULL"),
        *_tenant("material_shortages"),
    )
    _indexes("material_shortages", "election_id", "station_id")

    rls.enable(op, *TENANT_TABLES)


def downgrade() -> None:
    rls.disable(op, *TENANT_TABLES)
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
