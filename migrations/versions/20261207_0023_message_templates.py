"""message templates: the office's wording of the messages, every version kept

``message_template_versions`` holds every saved text of a message (a system key from
the catalogue, or an own template's ``own_<id>``) per channel and language; the newest
is sent, and one marked ``is_default`` means the default file again.
``message_templates`` holds the office's own templates (name, channels).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 10:16:03.705306
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.core.models.base
from app.core import rls

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("message_template_versions", "message_templates")


def upgrade() -> None:
    op.create_table(
        "message_template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_message_template_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_message_template_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template_versions")),
        sa.UniqueConstraint(
            "tenant_id",
            "key",
            "channel",
            "locale",
            "number",
            name=op.f("uq_message_template_versions_tenant_id_key_channel_locale_number"),
        ),
    )
    with op.batch_alter_table("message_template_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_template_versions_lookup",
            ["tenant_id", "key", "channel", "locale"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_message_template_versions_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_message_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_message_templates_tenant_id_key")),
    )
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_templates_tenant_id"), ["tenant_id"], unique=False
        )

    rls.enable(op, *TENANT_TABLES)


def downgrade() -> None:
    rls.disable(op, *TENANT_TABLES)
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_templates_tenant_id"))

    op.drop_table("message_templates")
    with op.batch_alter_table("message_template_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_template_versions_tenant_id"))
        batch_op.drop_index("ix_message_template_versions_lookup")

    op.drop_table("message_template_versions")
