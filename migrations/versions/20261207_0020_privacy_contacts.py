"""privacy contacts: who is responsible for the data (the controller), its contact and
the data protection officer's, shown in the public site's privacy notice

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty for the municipalities there are: the notice names the municipality and the
    # office's address until the office fills them in.
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("controller_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("controller_contact", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("dpo_contact", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site_settings", schema=None) as batch_op:
        batch_op.drop_column("dpo_contact")
        batch_op.drop_column("controller_contact")
        batch_op.drop_column("controller_name")
