"""documents: a person's address can be protected (protected identity)

``people.address_protected`` marks a person whose address is never printed on an
address label or exported for letters by post (skyddad identitet, navne- og
adressebeskyttelse). The documents' texts are versions in the messages' table
(channel ``document``), so no table is added.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 10:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address_protected", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("address_protected")
