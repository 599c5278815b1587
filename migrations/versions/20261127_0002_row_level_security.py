"""Row-level security on PostgreSQL: the database repeats the tenant rule.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:40:00
"""

from collections.abc import Sequence

from alembic import op

from app.core import rls

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    rls.enable(op, "memberships", "api_tokens")
    rls.enable(op, "audit_entries", optional=True)


def downgrade() -> None:
    rls.disable(op, "memberships", "api_tokens", "audit_entries")
