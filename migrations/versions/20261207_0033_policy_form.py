"""policy form: the tenant read once per statement, the owner's exemption its own policy

Every tenant policy was ``tenant_id = NULLIF(current_setting(...), '')::integer OR
current_user = '<owner>'``. PostgreSQL evaluated the setting for every row and, with the
OR beside it, could not turn the rule into an index condition: every statement the
app's role ran scanned whatever its own WHERE clause left, and a query with no other
selective condition (a tenant's rows of a table) read every tenant's.

Each policy becomes ``tenant_id = (SELECT NULLIF(current_setting(...), '')::integer)``:
the scalar subquery is an InitPlan, read once per statement, and the comparison an
index condition on ``tenant_id``. The owner's exemption (the migrating role, whose
SECURITY DEFINER functions of migration 0015 answer across municipalities) is a second
policy ``TO`` that role: policies apply per role, so the app's role is bound by the
tenant rule alone. Tables with rows of no tenant keep ``OR (tenant_id IS NULL AND no
tenant is set)``.

No index is added: the check-in path's reads (``bench --only rls``, EXPLAIN as the app's
role on the large demo) all find their rows by an index already; the scans left are of
small tables or of every row the whole dashboard shows.

Revision ID: 0033
Revises: 0029
Create Date: 2026-12-07 11:40:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import func, select, text

from app.core import rls

revision: str = "0033"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, optional in _policies():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        rls.create_policy(op, table, optional=optional)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    owner = str(op.get_bind().execute(select(func.quote_literal(func.current_user()))).scalar())
    for table, optional in _policies():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS {rls.OWNER_POLICY} ON {table}")
        rule = rls.owner_or_rule(optional, owner)
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}")


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
