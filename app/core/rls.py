"""PostgreSQL row-level security policies that repeat the tenant rule, for migrations.

Every tenant-scoped table gets one policy for every role: a row is visible and writable
when its ``tenant_id`` is the connection's ``stemma.tenant_id`` (read once per statement,
so that an index on ``tenant_id`` serves it). Tables with rows of no tenant
(audit entries of account events, account mail) also allow those rows while no tenant
is set.

No setting lets a connection past the policies: any role may set any ``stemma.*``
setting, so one that opened every tenant would open them to the app's role too. The
one exception is the role that runs the migrations and owns the tables (it could
switch the policies off anyway), let through by a second policy ``TO`` it alone: the
few questions system code must ask across municipalities are SECURITY DEFINER
functions it owns (see migration 0015), each answering with municipality ids only.
The app must therefore never connect as that role, nor as a superuser or a role with
BYPASSRLS (``app.core.db_role`` refuses to start so).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

CURRENT = "NULLIF(current_setting('stemma.tenant_id', true), '')::integer"
#: The connection's tenant as a scalar subquery: PostgreSQL plans it as an InitPlan,
#: read once per statement, so ``tenant_id = TENANT`` is an index condition. The bare
#: ``current_setting`` call is evaluated per row and keeps an index on tenant_id unused.
TENANT = f"(SELECT {CURRENT})"
#: The bypass setting of old (migrations before 0015); kept for their downgrade.
LEGACY_ALL = "current_setting('stemma.all_tenants', true) = 'on'"
#: The policy that lets the tables' owner (the migrating role) through. A policy of
#: its own, ``TO`` that role only: policies apply per role, so the app's role is
#: bound by the tenant rule alone, with no ``OR current_user = ...`` beside it.
OWNER_POLICY = "owner_access"


def _owner(op: Any, quote: Any = func.quote_literal) -> str:
    """The migrating role, quoted (a literal by default): the owner of the tables it makes."""
    return str(op.get_bind().execute(select(quote(func.current_user()))).scalar())


def _rule(optional: bool) -> str:
    rule = f"(tenant_id = {TENANT}"
    if optional:
        rule += f" OR (tenant_id IS NULL AND {TENANT} IS NULL)"
    return rule + ")"


def owner_or_rule(optional: bool, owner: str) -> str:
    """The rule of migrations 0015 to 0022: the owner's exemption OR'd into the rule
    and the setting read per row (kept for the downgrade of 0033)."""
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
    """The tenant policy for every role, and the owner's own (re-created if there)."""
    rule = _rule(optional)
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING {rule} WITH CHECK {rule}")
    op.execute(f"DROP POLICY IF EXISTS {OWNER_POLICY} ON {table}")
    owner = _owner(op, func.quote_ident)
    op.execute(f"CREATE POLICY {OWNER_POLICY} ON {table} TO {owner} USING (true) WITH CHECK (true)")


def enable(op: Any, *tables: str, optional: bool = False) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        # FORCE: the policies bind the tables' owner too, but for the owner's own
        # policy (only superusers and BYPASSRLS escape them otherwise).
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        create_policy(op, table, optional)


def disable(op: Any, *tables: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS {OWNER_POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
