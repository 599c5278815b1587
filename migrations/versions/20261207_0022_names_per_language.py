"""names per language for role types and shifts

A role's or a shift's name is data the office writes; readers in Danish or English saw
the Swedish one. ``name`` stays the name in the municipality's own language (required,
so every existing name is kept as it was); ``names`` holds the other languages' names
(optional), ``{"da": ..., "en": ...}``; a language without one shows ``name``.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("role_types", "shifts")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "names",
                    sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                    nullable=False,
                    server_default="{}",
                )
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("names")
