"""application link expiry, and sign-in codes for a number several accounts share

The applicant's data link stops working after a while.

The link in an applicant's confirmation email used to work for as long as the
application was kept. It now carries an expiry; links sent before this revision have
none and count as expired (the applicant asks for a fresh one on the public site).

A sign-in code sent to a mobile number that several clerk accounts share now names
the accounts it may open (``signin_tokens.choices``) and, once the right code is typed,
waits for the clerk to choose one (``signin_tokens.verified_at``).

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

    with op.batch_alter_table("signin_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("choices", app.core.models.base.JSONType, nullable=True))
        batch_op.add_column(
            sa.Column("verified_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("signin_tokens", schema=None) as batch_op:
        batch_op.drop_column("verified_at")
        batch_op.drop_column("choices")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("access_token_expires_at")
