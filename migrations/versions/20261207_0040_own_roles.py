"""own roles: a role type may be retired, counts toward the legal minimum or not, and
says where it may work (election day, advance voting, counting)

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # role_types already has its tenant policy (0003); new columns only.
    with op.batch_alter_table("role_types", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "counts_toward_minimum", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
        batch_op.add_column(
            sa.Column(
                "work_kinds",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default='["election_day", "advance", "counting"]',
            )
        )
        batch_op.add_column(
            sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # A host helps voters but is not one of the people the law requires at a station.
    op.execute("UPDATE role_types SET counts_toward_minimum = false WHERE code = 'host'")


def downgrade() -> None:
    with op.batch_alter_table("role_types", schema=None) as batch_op:
        batch_op.drop_column("retired")
        batch_op.drop_column("work_kinds")
        batch_op.drop_column("counts_toward_minimum")
