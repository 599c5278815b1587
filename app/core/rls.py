"""PostgreSQL row-level security policies that repeat the tenant rule, for migrations.

Every tenant-scoped table gets one policy: a row is visible and writable when its
``tenant_id`` is the connection's ``stemma.tenant_id``, or when the statement runs
with ``stemma.all_tenants = on`` (set by ``app.core.db`` from the ``all_tenants``
execution option). Tables with rows of no tenant (audit entries of account events)
also allow those rows while no tenant is set.
"""

from __future__ import annotations

from typing import Any

CURRENT = "NULLIF(current_setting('stemma.tenant_id', true), '')::integer"
ALL = "current_setting('stemma.all_tenants', true) = 'on'"


def _rule(optional: bool) -> str:
    rule = f"({ALL} OR tenant_id = {CURRENT}"
    if optional:
        rule += f" OR (tenant_id IS NULL AND {CURRENT} IS NULL)"
    return rule + ")"


def enable(op: Any, *tables: str, optional: bool = False) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        # FORCE: the policies bind the tables' owner too (only superusers escape them).
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        rule = _rule(optional)
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}")


def disable(op: Any, *tables: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
