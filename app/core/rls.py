"""PostgreSQL row-level security policies that repeat the tenant rule, for migrations.

Every tenant-scoped table gets one policy: a row is visible and writable when its
``tenant_id`` is the connection's ``stemma.tenant_id``. Tables with rows of no tenant
(audit entries of account events, account mail) also allow those rows while no tenant
is set.

No setting lets a connection past the policies: any role may set any ``stemma.*``
setting, so one that opened every tenant would open them to the app's role too. The
one exception is the role that runs the migrations and owns the tables (it could
switch the policies off anyway): the few questions system code must ask across
municipalities are SECURITY DEFINER functions it owns (see migration 0015), each
answering with municipality ids only. The app must therefore never connect as that
role, nor as a superuser or a role with BYPASSRLS (``app.core.db_role`` refuses to
start so).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

CURRENT = "NULLIF(current_setting('stemma.tenant_id', true), '')::integer"
#: The bypass setting of old (migrations before 0015); kept for their downgrade.
LEGACY_ALL = "current_setting('stemma.all_tenants', true) = 'on'"


def _owner(op: Any) -> str:
    """The migrating role, quoted as a literal: the owner of the tables it makes."""
    return str(op.get_bind().execute(select(func.quote_literal(func.current_user()))).scalar())


def _rule(optional: bool, owner: str) -> str:
    rule = f"(tenant_id = {CURRENT} OR current_user = {owner}"
    if optional:
        rule += f" OR (tenant_id IS NULL AND {CURRENT} IS NULL)"
    return rule + ")"


def legacy_rule(optional: bool) -> str:
    rule = f"({LEGACY_ALL} OR tenant_id = {CURRENT}"
    if optional:
        rule += f" OR (tenant_id IS NULL AND {CURRENT} IS NULL)"
    return rule + ")"


def create_policy(op: Any, table: str, optional: bool = False) -> None:
    rule = _rule(optional, _owner(op))
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}")


def enable(op: Any, *tables: str, optional: bool = False) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        # FORCE: the policies bind the tables' owner too, but for the owner's own
        # clause in the rule (only superusers and BYPASSRLS escape them otherwise).
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        create_policy(op, table, optional)


def disable(op: Any, *tables: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
