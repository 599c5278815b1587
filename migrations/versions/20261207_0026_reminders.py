"""reminders: per election settings of the reminders that run themselves, and each one sent

``reminder_settings`` holds one row per election (which reminders, how many days before,
at which local hour); ``reminders_sent`` one row per person and occasion, whose unique
constraint makes each reminder go out once, whatever runs it how often. The worker
finds the municipalities with a reminder switched on through one narrow SECURITY
DEFINER function (see migration 0015), ids only.

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-07 10:20:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

import app.core.models.base
from app.core import rls

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("reminder_settings", "reminders_sent")

#: The municipalities with a reminder switched on in an election (the reminder worker).
FUNCTION = "stemma_reminder_tenants()"
FUNCTION_BODY = (
    "SELECT DISTINCT tenant_id FROM reminder_settings"
    " WHERE shift_reminder_on OR eve_on OR wake_up_on OR offer_on"
)


def _tenant_and_election(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f(f"fk_{table}_election_id_elections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "reminder_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("shift_reminder_on", sa.Boolean(), nullable=False),
        sa.Column("shift_reminder_days", sa.Integer(), nullable=False),
        sa.Column("shift_reminder_hour", sa.Integer(), nullable=False),
        sa.Column("eve_on", sa.Boolean(), nullable=False),
        sa.Column("eve_hour", sa.Integer(), nullable=False),
        sa.Column("wake_up_on", sa.Boolean(), nullable=False),
        sa.Column("wake_up_at", sa.Time(), nullable=False),
        sa.Column("offer_on", sa.Boolean(), nullable=False),
        sa.Column("offer_days", sa.Integer(), nullable=False),
        sa.Column("offer_hour", sa.Integer(), nullable=False),
        sa.Column("updated_by_label", sa.String(length=254), nullable=False),
        sa.Column("updated_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        *_tenant_and_election("reminder_settings"),
        sa.UniqueConstraint("election_id", name=op.f("uq_reminder_settings_election_id")),
    )
    with op.batch_alter_table("reminder_settings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_settings_tenant_id"), ["tenant_id"], unique=False
        )
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=24), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("channels", sa.String(length=24), nullable=False),
        sa.Column("sent_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_reminders_sent_person_id_people"),
            ondelete="CASCADE",
        ),
        *_tenant_and_election("reminders_sent"),
        sa.UniqueConstraint(
            "election_id",
            "occasion",
            "person_id",
            "ref",
            name=op.f("uq_reminders_sent_election_id_occasion_person_id_ref"),
        ),
    )
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminders_sent_tenant_id"), ["tenant_id"], unique=False
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    rls.enable(op, *TENANT_TABLES)
    schema = op.get_bind().execute(text("SELECT quote_ident(current_schema())")).scalar()
    op.execute(
        f"CREATE FUNCTION {FUNCTION} RETURNS SETOF integer LANGUAGE sql STABLE"
        f" SECURITY DEFINER SET search_path = {schema}, pg_temp AS $body$ {FUNCTION_BODY} $body$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
        rls.disable(op, *TENANT_TABLES)
    op.drop_table("reminders_sent")
    op.drop_table("reminder_settings")
