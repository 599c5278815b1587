"""One way into a tenant: every hand-written statement names it, and nothing else runs
plain SQL past the ORM's hook. These run on SQLite too, where no row policy would
catch a statement that forgot the tenant."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

import app
from app.core.models import Membership, Tenant, User
from app.core.tenancy import (
    HAND_SCOPED,
    TenantNotSetError,
    scalar_for_tenant,
    tenant_scope,
    tenant_statement,
    unscoped_tables,
)
from app.domain.models import Assignment, Person

APP = Path(app.__file__).resolve().parent


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)


def test_every_hand_written_statement_holds_each_tenant_table_to_the_tenant() -> None:
    _import_every_module()
    # Tickets, a clerk's place at a station, the replay's reads and the check-in's.
    assert len(HAND_SCOPED) >= 10
    for made in HAND_SCOPED:
        assert unscoped_tables(made.statement) == set(), made.statement


def test_it_refuses_a_statement_that_does_not_name_the_tenant() -> None:
    with pytest.raises(TenantNotSetError, match="people"):
        tenant_statement(select(Person.id).where(Person.id == bindparam("person")))


def test_it_refuses_a_join_that_names_the_tenant_for_one_table_only() -> None:
    statement = (
        select(Assignment.id)
        .join(Person, Person.id == Assignment.person_id)
        .where(Person.tenant_id == bindparam("tenant"))
    )
    with pytest.raises(TenantNotSetError, match="assignments"):
        tenant_statement(statement)


def test_it_refuses_an_alias_left_unscoped_and_a_tenant_named_by_a_literal() -> None:
    other = aliased(Person)
    statement = (
        select(Person.id)
        .join(other, other.id == Person.id)
        .where(Person.tenant_id == bindparam("tenant"))
    )
    with pytest.raises(TenantNotSetError):
        tenant_statement(statement)
    with pytest.raises(TenantNotSetError):
        tenant_statement(select(Person.id).where(Person.tenant_id == 1))


def test_it_takes_tables_outside_tenancy_as_they_are() -> None:
    statement = (
        select(Membership.role)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == bindparam("tenant"))
    )
    assert unscoped_tables(statement) == set()


async def test_it_binds_the_current_tenant_and_fails_closed_without_one(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, admin: User, outsider: User
) -> None:
    statement = tenant_statement(
        select(Membership.user_id).where(Membership.tenant_id == bindparam("tenant"))
    )
    HAND_SCOPED.remove(statement)  # made for this test only
    with pytest.raises(TenantNotSetError):
        await scalar_for_tenant(db, statement)
    with tenant_scope(tenant.id):
        assert await scalar_for_tenant(db, statement) == admin.id
        with pytest.raises(ValueError, match="bound from the current scope"):
            await scalar_for_tenant(db, statement, tenant=other_tenant.id)
    with tenant_scope(other_tenant.id):
        assert await scalar_for_tenant(db, statement) == outsider.id


#: Plain SQL that is not about a tenant's rows, and where it may be written.
PLAIN_SQL_ALLOWED = {
    "app/core/db.py": "sets the tenant's settings on each PostgreSQL connection",
    "app/core/health.py": "SELECT 1 for the readiness check",
    "app/domain/models/staffing.py": "a partial index's condition",
    "app/domain/models/courses.py": "a partial index's condition",
    "app/domain/models/statistics.py": "a partial index's condition",
    "app/domain/models/material_handouts.py": "a partial index's condition",
    "app/demo/__init__.py": "BEGIN on SQLite, so the demo is made in one transaction",
}


def _plain_sql_sites(path: Path) -> list[int]:
    """Lines that call ``<something>.connection()`` or sqlalchemy's ``text()``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports_text = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "sqlalchemy"
        and any(alias.name == "text" for alias in node.names)
        for node in ast.walk(tree)
    )
    sites = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr
            in (
                "connection",
                "exec_driver_sql",
            )
        ) or (imports_text and isinstance(function, ast.Name) and function.id == "text"):
            sites.append(node.lineno)
    return sites


def test_nothing_but_the_tenant_module_runs_plain_sql_on_a_sessions_connection() -> None:
    """A statement on ``session.connection()`` skips the ORM's tenant hook: only
    ``execute_for_tenant`` and ``scalar_for_tenant`` may do it."""
    offenders = [
        f"{relative}:{line}"
        for path in sorted(APP.rglob("*.py"))
        if (relative := str(path.relative_to(APP.parent))) != "app/core/tenancy.py"
        and relative not in PLAIN_SQL_ALLOWED
        for line in _plain_sql_sites(path)
    ]
    assert offenders == []
    # The scan finds what it looks for.
    assert _plain_sql_sites(APP / "core" / "tenancy.py")
    assert _plain_sql_sites(APP / "core" / "health.py")


def test_requests_sockets_jobs_and_commands_enter_a_tenant_one_way() -> None:
    """The ContextVar is set in one place: ``tenant_scope``."""
    offenders = [
        f"{path.relative_to(APP.parent)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        if path != APP / "core" / "tenancy.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "_current_tenant_id" in line or re.search(r"\bset_tenant\(", line)
    ]
    assert offenders == []
