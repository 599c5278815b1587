"""push subscriptions per tenant: an endpoint is unique within a municipality

A browser subscribed in two municipalities has a row in each; subscribing in one
replaced (deleted) the other's row, and under PostgreSQL's row policies, which hide
that row, failed on the unique endpoint instead.

Revision ID: 0019
Revises: 0013
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_push_subscriptions_endpoint"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_push_subscriptions_tenant_id_endpoint"), ["tenant_id", "endpoint"]
        )


def downgrade() -> None:
    # Back to one row per endpoint: the newest subscription of each browser is kept.
    op.execute(
        "DELETE FROM push_subscriptions WHERE id NOT IN "
        "(SELECT MAX(id) FROM push_subscriptions GROUP BY endpoint)"
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_push_subscriptions_tenant_id_endpoint"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_push_subscriptions_endpoint"), ["endpoint"]
        )
