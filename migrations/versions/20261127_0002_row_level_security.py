"""Row-level security on PostgreSQL: the database repeats the tenant rule.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Tenant-scoped tables whose every row belongs to one tenant.
STRICT_TABLES = ("memberships", "api_tokens")
#: Tenant-scoped tables that also hold rows of no tenant (account events).
OPTIONAL_TABLES = ("audit_entries",)

CURRENT = "NULLIF(current_setting('stemma.tenant_id', true), '')::integer"
ALL = "current_setting('stemma.all_tenants', true) = 'on'"


def _policy(table: str, optional: bool) -> str:
    rule = f"({ALL} OR tenant_id = {CURRENT}"
    if optional:
        rule += f" OR (tenant_id IS NULL AND {CURRENT} IS NULL)"
    rule += ")"
    return f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, optional in [(t, False) for t in STRICT_TABLES] + [
        (t, True) for t in OPTIONAL_TABLES
    ]:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        # FORCE: the policies bind the tables' owner too (only superusers escape them).
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(_policy(table, optional))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in STRICT_TABLES + OPTIONAL_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
