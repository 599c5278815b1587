"""application link expiry: the applicant's data link stops working after a while

The link in an applicant's confirmation email used to work for as long as the
application was kept. It now carries an expiry; links sent before this revision have
none and count as expired (the applicant asks for a fresh one on the public site).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "access_token_expires_at",
                app.core.models.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("access_token_expires_at")
