"""erasure: removal requests handled by the office, erased people, retention of the
inactive and of pay data

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "removal_refused_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("removal_refusal_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("erased_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("pay_data_kept_until", sa.Date(), nullable=True))
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        # Off for the municipalities there are: erasing people is the office's decision,
        # not a side effect of an upgrade. New settings rows start at 36 months.
        batch_op.add_column(sa.Column("inactive_retention_months", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("pay_retention_years", sa.Integer(), nullable=False, server_default="7")
        )
    # The defaults served the rows that existed; new rows get theirs from the model.
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("removal_refusal_reason", server_default=None)
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.alter_column("pay_retention_years", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.drop_column("pay_retention_years")
        batch_op.drop_column("inactive_retention_months")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("pay_data_kept_until")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("removal_refusal_reason")
        batch_op.drop_column("removal_refused_at")
