"""delivery: what became of each message, the municipality as sender, and SMS replies

``outbox_messages`` learns the gateway's id of a message and what its delivery reports
said; ``message_senders`` holds each municipality's From, Reply-To and SMS sender id and
the secret of its gateway callbacks; ``incoming_sms`` the SMS clerks send back.

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-07 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base
from app.core import rls

revision: str = "0025"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("message_senders", "incoming_sms")
WHEN = app.core.models.base.UTCDateTime(timezone=True)

#: The delivery worker's question across municipalities (migration 0015) learns the
#: ``uncertain`` rows: a send whose answer was lost, looked for at the gateway when due.
DUE_TENANTS = (
    "stemma_outbox_due_tenants(p_now timestamp with time zone, p_stale timestamp with time zone)"
)
DUE_BEFORE = (
    "SELECT DISTINCT tenant_id FROM outbox_messages"
    " WHERE (status = 'pending' AND next_attempt_at <= p_now)"
    " OR (status = 'sending' AND claimed_at < p_stale)"
)
DUE_NOW = DUE_BEFORE + " OR (status = 'uncertain' AND next_attempt_at <= p_now)"


def _replace_due_tenants(body: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar()
    op.execute(
        f"CREATE OR REPLACE FUNCTION {DUE_TENANTS} RETURNS SETOF integer LANGUAGE sql STABLE"
        f" SECURITY DEFINER SET search_path = {schema}, pg_temp AS $body$ {body} $body$"
    )


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("delivery_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivery_detail", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("delivery_reported_at", WHEN, nullable=True))
        batch_op.create_index("ix_outbox_messages_provider_id", ["provider_id"], unique=True)

    op.create_table(
        "message_senders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mail_from_name", sa.String(length=100), nullable=False),
        sa.Column("mail_from_address", sa.String(length=254), nullable=False),
        sa.Column("mail_reply_to", sa.String(length=254), nullable=False),
        sa.Column("sms_sender", sa.String(length=16), nullable=False),
        sa.Column("callback_token", sa.String(length=64), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_message_senders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_senders")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_message_senders_tenant_id")),
    )
    with op.batch_alter_table("message_senders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_senders_tenant_id"), ["tenant_id"])

    op.create_table(
        "incoming_sms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("in_reply_to_id", sa.Integer(), nullable=True),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("read_at", WHEN, nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_incoming_sms_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_incoming_sms_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["in_reply_to_id"],
            ["outbox_messages.id"],
            name=op.f("fk_incoming_sms_in_reply_to_id_outbox_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_sms")),
        sa.UniqueConstraint(
            "tenant_id", "provider_id", name=op.f("uq_incoming_sms_tenant_id_provider_id")
        ),
    )
    with op.batch_alter_table("incoming_sms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incoming_sms_tenant_id"), ["tenant_id"])
        batch_op.create_index(batch_op.f("ix_incoming_sms_person_id"), ["person_id"])
        batch_op.create_index(
            "ix_incoming_sms_tenant_received", ["tenant_id", "received_at"], unique=False
        )
    rls.enable(op, *TENANT_TABLES)
    _replace_due_tenants(DUE_NOW)


def downgrade() -> None:
    _replace_due_tenants(DUE_BEFORE)
    rls.disable(op, *TENANT_TABLES)
    op.drop_table("incoming_sms")
    op.drop_table("message_senders")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_provider_id")
        batch_op.drop_column("delivery_reported_at")
        batch_op.drop_column("delivery_detail")
        batch_op.drop_column("delivery_state")
        batch_op.drop_column("provider_id")
