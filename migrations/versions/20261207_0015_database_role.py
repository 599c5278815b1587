"""database role: no setting turns the row policies off; outbox_messages under them

Until now every tenant policy let a statement through for every tenant when the
connection had set ``stemma.all_tenants = on``: a setting any role may set, the app's
own included. The policies are re-created without it. What must still read across
municipalities (sign-in finding a user's municipalities, an API token's municipality,
the workers finding which municipalities have work) does so through a few narrow
SECURITY DEFINER functions owned by the role running this migration; the policies let
that owner through (it owns the tables and could switch the policies off anyway).

``outbox_messages`` (every municipality's mail, sign-in links included) gets the
tenant policy too; rows of no municipality (account mail sent outside any, and rows
queued before this revision, which named none) stay visible only while no
municipality is set.

API tokens get scopes and an expiry. A token made before had every power: it keeps
every scope, and works for a year from this migration.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07 04:40:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

import app.core.models.base
from app.core import rls

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: name(arguments) -> (returns, body). Each answers one narrow question across tenants:
#: only municipality ids, never a row of a municipality's data.
FUNCTIONS: dict[str, tuple[str, str]] = {
    # The municipalities a user is a member of (sign-in, account mail, audit).
    "stemma_membership_tenants(p_user_id integer)": (
        "SETOF integer",
        "SELECT tenant_id FROM memberships WHERE user_id = p_user_id ORDER BY id",
    ),
    # The municipality of a live API token, found by its hash.
    "stemma_api_token_tenant(p_token_hash text)": (
        "integer",
        "SELECT tenant_id FROM api_tokens WHERE token_hash = p_token_hash AND revoked_at IS NULL",
    ),
    # The municipality where a person is the user's own (a clerk's check-in).
    "stemma_own_person_tenant(p_person_id integer, p_user_id integer)": (
        "integer",
        "SELECT tenant_id FROM people WHERE id = p_person_id AND user_id = p_user_id",
    ),
    # The municipalities where a member's person has this mobile number (SMS sign-in).
    "stemma_mobile_tenants(p_mobile text)": (
        "SETOF integer",
        "SELECT DISTINCT p.tenant_id FROM people p JOIN memberships m"
        " ON m.user_id = p.user_id AND m.tenant_id = p.tenant_id"
        " WHERE p.mobile = p_mobile AND p.user_id IS NOT NULL",
    ),
    # The municipalities (NULL: none) with outbox rows due, for the delivery worker.
    "stemma_outbox_due_tenants(p_now timestamp with time zone, p_stale timestamp with time zone)": (
        "SETOF integer",
        "SELECT DISTINCT tenant_id FROM outbox_messages"
        " WHERE (status = 'pending' AND next_attempt_at <= p_now)"
        " OR (status = 'sending' AND claimed_at < p_stale)",
    ),
    # The municipalities with station openings on these days (the opening watch).
    "stemma_opening_tenants(p_first date, p_last date)": (
        "SETOF integer",
        "SELECT DISTINCT tenant_id FROM station_openings WHERE day BETWEEN p_first AND p_last",
    ),
    # Delete what has run out in every municipality: uploaded files older than a day
    # and tickets onto the live socket past their expiry. Reads nothing back.
    "stemma_prune_expired(p_now timestamp with time zone)": (
        "void",
        "DELETE FROM import_batches WHERE created_at < p_now - interval '1 day';"
        " DELETE FROM realtime_tickets WHERE expires_at < p_now",
    ),
}


#: Every scope there was at this revision: what a token made before it could do.
EVERY_SCOPE = [
    "applications:read",
    "applications:write",
    "registers:read",
    "registers:write",
    "staffing:read",
    "staffing:write",
    "courses:read",
    "checkins:write",
    "realtime:read",
    "audit:read",
]


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_tenant_due", ["tenant_id", "status"])
    if op.get_bind().dialect.name == "postgresql":
        # First, so that the owner running this may give the old tokens their expiry.
        for table, optional in _policies():
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
            rls.create_policy(op, table, optional=optional)
    _add_token_scopes_and_expiry()
    if op.get_bind().dialect.name != "postgresql":
        return
    rls.enable(op, "outbox_messages", optional=True)
    schema = op.get_bind().execute(text("SELECT quote_ident(current_schema())")).scalar()
    for signature, (returns, body) in FUNCTIONS.items():
        language = "sql"
        volatility = "VOLATILE" if returns == "void" else "STABLE"
        op.execute(
            f"CREATE FUNCTION {signature} RETURNS {returns} LANGUAGE {language} {volatility}"
            f" SECURITY DEFINER SET search_path = {schema}, pg_temp AS $body$ {body} $body$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for signature in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
        rls.disable(op, "outbox_messages")
        for table, optional in _policies():
            op.execute(f"DROP POLICY tenant_isolation ON {table}")
            op.execute(f"DROP POLICY IF EXISTS {rls.OWNER_POLICY} ON {table}")
            rule = rls.legacy_rule(optional)
            op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scopes")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_tenant_due")


def _add_token_scopes_and_expiry() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scopes",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=json.dumps(EVERY_SCOPE),
            )
        )
        batch_op.add_column(
            sa.Column("expires_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    tokens = sa.table(
        "api_tokens", sa.column("expires_at", app.core.models.base.UTCDateTime(timezone=True))
    )
    op.execute(tokens.update().values(expires_at=datetime.now(UTC) + timedelta(days=365)))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("scopes", server_default=None)
        batch_op.alter_column(
            "expires_at",
            existing_type=app.core.models.base.UTCDateTime(timezone=True),
            nullable=False,
        )


def _policies() -> list[tuple[str, bool]]:
    """Every table with a tenant policy, and whether it allows rows of no tenant."""
    rows = op.get_bind().execute(
        text(
            "SELECT tablename, qual FROM pg_policies"
            " WHERE policyname = 'tenant_isolation' AND schemaname = current_schema()"
            " ORDER BY tablename"
        )
    )
    return [(table, "tenant_id IS NULL" in qual) for table, qual in rows]
