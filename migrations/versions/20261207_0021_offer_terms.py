"""offer terms: an answer deadline on each offer, the office's phone and answer days

An offer now says by when to answer (``assignments.answer_by``, set when it is sent
from the municipality's ``site_settings.offer_answer_days``) and whom to call
(``site_settings.office_phone`` beside the office's e-mail).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("answer_by", app.core.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("office_phone", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("offer_answer_days", sa.Integer(), nullable=False, server_default="7")
        )


def downgrade() -> None:
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.drop_column("offer_answer_days")
        batch_op.drop_column("office_phone")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("answer_by")
