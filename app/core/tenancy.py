"""The current tenant of this request or job, and the rule that scopes every query to it.

The tenant lives in a ContextVar. ``tenant_scope`` is the one way in: a request
(from the URL slug or the API token), a live socket, a job and a CLI command all
enter their municipality through it. One ``do_orm_execute`` hook adds
``tenant_id = <current>`` to every ORM query that touches a tenant-scoped model, and
refuses the query when no tenant is set: a forgotten scope fails closed instead of
leaking another municipality's rows.

A few hot statements are made once and run as plain SQL, past the hook. Each is made
by ``tenant_statement``, which refuses a statement that does not hold every
tenant-scoped table it touches to ``tenant_id = :tenant``, and is run by
``execute_for_tenant`` or ``scalar_for_tenant``, which bind ``:tenant`` to the
current tenant (failing closed as the hook does). PostgreSQL's row-level security
repeats the rule inside the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import Column, CursorResult, Executable, Insert, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseElement, ColumnClause
from sqlalchemy.sql.selectable import Alias, TableClause
from sqlalchemy.sql.util import find_tables

from app.core.models.base import Base, TenantScoped

_current_tenant_id: ContextVar[int | None] = ContextVar("stemma_tenant_id", default=None)

#: Execution option that lets a query past the ORM's hook without a tenant set. On
#: PostgreSQL it opens no other municipality's rows: the row policies know no such
#: setting (questions across tenants go through ``app.core.across_tenants``).
ALL_TENANTS = "all_tenants"


class TenantNotSetError(RuntimeError):
    """A tenant-scoped query or write was made with no tenant in context."""


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant_id.get()
    if tenant_id is None:
        raise TenantNotSetError("no tenant is set for this request or job")
    return tenant_id


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[None]:
    """Enter a municipality: everything in the block (a request, a socket's reads, a
    job, a CLI command, a test) reads and writes as that tenant, and only as it."""
    token = _current_tenant_id.set(tenant_id)
    try:
        yield
    finally:
        _current_tenant_id.reset(token)


@contextmanager
def outside_tenants() -> Iterator[None]:
    """Leave the municipality for the rows that belong to none (account mail, the audit
    of sign-ins): statements in the block need ``all_tenants``, and on PostgreSQL they
    see only the rows of no tenant, as the row policies allow while no tenant is set."""
    token = _current_tenant_id.set(None)
    try:
        yield
    finally:
        _current_tenant_id.reset(token)


def _tenant_tables() -> set[Any]:
    return {
        mapper.local_table
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantScoped)
    }


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    if any(issubclass(mapper.class_, TenantScoped) for mapper in state.all_mappers):
        return True
    tables = set(
        find_tables(
            cast(ClauseElement, state.statement),
            include_aliases=True,
            include_joins=True,
            include_selects=True,
            include_crud=True,
        )
    )
    scoped = _tenant_tables()
    return any(getattr(table, "element", table) in scoped for table in tables)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_current_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get(ALL_TENANTS):
        return
    tenant_id = _current_tenant_id.get()
    if tenant_id is None:
        if _touches_tenant_data(state):
            raise TenantNotSetError(
                "a query touched tenant data with no tenant set; "
                "set one with tenant_scope() or pass all_tenants=True deliberately"
            )
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant_on_writes(session: Session, _context: Any, _instances: Any) -> None:
    tenant_id = _current_tenant_id.get()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is not None:
                obj.tenant_id = tenant_id
            elif not getattr(obj, "__tenant_optional__", False):
                raise TenantNotSetError(f"{type(obj).__name__} written with no tenant set")
        elif tenant_id is not None and obj.tenant_id != tenant_id:
            raise TenantNotSetError(
                f"{type(obj).__name__} written for another tenant than the current one"
            )
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and tenant_id is not None and obj.tenant_id != tenant_id:
            raise TenantNotSetError(f"{type(obj).__name__} of another tenant changed")


# --- hand-written statements ------------------------------------------------------------

#: The bound parameter every hand-written statement names its tenant with.
TENANT_PARAMETER = "tenant"


class TenantStatement:
    """A statement made once and run as plain SQL, past the ORM's tenant hook, that
    names the tenant itself. Make it with ``tenant_statement``; run it with
    ``execute_for_tenant`` or ``scalar_for_tenant``."""

    __slots__ = ("statement",)

    def __init__(self, statement: Executable) -> None:
        self.statement = statement


#: Every hand-written statement made, so a test can check them all.
HAND_SCOPED: list[TenantStatement] = []


def _tables_touched(statement: Executable) -> set[Any]:
    """Every table and table alias the statement reads or writes, subqueries included
    (an alias counts once, as itself, not as the table it stands for)."""
    touched: set[Any] = set()
    waiting: list[Any] = [statement]
    seen: set[int] = set()
    while waiting:
        element = waiting.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        if isinstance(element, TableClause) or (
            isinstance(element, Alias) and isinstance(element.element, TableClause)
        ):
            touched.add(element)
            continue
        waiting.extend(element.get_children())
    return touched


def _tables_held_to_tenant(statement: Executable) -> set[Any]:
    """The tables (or aliases) some ``tenant_id = :tenant`` comparison in it holds."""
    held = set()
    for element in visitors.iterate(cast(ClauseElement, statement)):
        if not isinstance(element, BinaryExpression) or element.operator is not operators.eq:
            continue
        for column, other in ((element.left, element.right), (element.right, element.left)):
            if (
                isinstance(column, Column | ColumnClause)
                and column.name == "tenant_id"
                and column.table is not None
                and isinstance(other, BindParameter)
                and other.key == TENANT_PARAMETER
            ):
                held.add(column.table)
    return held


def _names_tenant_parameter(statement: Executable) -> bool:
    return any(
        isinstance(element, BindParameter) and element.key == TENANT_PARAMETER
        for element in visitors.iterate(cast(ClauseElement, statement))
    )


def unscoped_tables(statement: Executable) -> set[str]:
    """The tenant-scoped tables a hand-written statement touches without holding them
    to ``tenant_id = :tenant`` (empty when it is sound). An INSERT ... SELECT holds its
    target when it names the tenant parameter (it writes the tenant from it)."""
    held = _tables_held_to_tenant(statement)
    if isinstance(statement, Insert) and _names_tenant_parameter(statement):
        held.add(statement.table)
    scoped = _tenant_tables()
    # An alias (aliased(Person)) is a table of its own in the statement: held or not
    # apart from the table it stands for.
    bases = {table: getattr(table, "element", table) for table in _tables_touched(statement)}
    return {str(base.name) for table, base in bases.items() if base in scoped and table not in held}


def tenant_statement(statement: Executable) -> TenantStatement:
    """Make a hand-written statement that skips the ORM hook, refusing one that does not
    hold every tenant-scoped table it touches to ``tenant_id = :tenant``."""
    missing = unscoped_tables(statement)
    if missing:
        raise TenantNotSetError(
            "a hand-written statement must hold "
            + ", ".join(sorted(missing))
            + f" to tenant_id = :{TENANT_PARAMETER}"
        )
    made = TenantStatement(statement)
    HAND_SCOPED.append(made)
    return made


def _parameters(values: dict[str, Any]) -> dict[str, Any]:
    if TENANT_PARAMETER in values:
        raise ValueError("the tenant is bound from the current scope, not passed")
    values[TENANT_PARAMETER] = require_tenant_id()
    return values


async def execute_for_tenant(
    session: AsyncSession, statement: TenantStatement, **values: Any
) -> CursorResult[Any]:
    """Run a hand-written statement as the current tenant on the session's connection
    (in its transaction). Raises TenantNotSetError when no tenant is set."""
    connection = await session.connection()
    return await connection.execute(statement.statement, _parameters(values))


async def scalar_for_tenant(
    session: AsyncSession, statement: TenantStatement, **values: Any
) -> Any:
    """The first column of the first row of a hand-written statement, run as the current
    tenant; see ``execute_for_tenant``."""
    connection = await session.connection()
    return await connection.scalar(statement.statement, _parameters(values))


#: A connection on which each statement commits as it runs.
_EACH_STATEMENT_COMMITS = {"isolation_level": "AUTOCOMMIT"}


async def statements_on_their_own(session: AsyncSession) -> AsyncConnection:
    """Have ``session`` run what comes next one statement at a time, each committed as
    it runs: on PostgreSQL the BEGIN before and the COMMIT after are two round trips of
    the three a lone statement would cost. What the session held before is committed
    first (a connection's mode is chosen when the session takes one; the pool gives the
    connection its default mode back when it is returned). For a single write, atomic on
    its own, and reads that need no snapshot shared between them (at READ COMMITTED each
    statement takes its own anyway). The tenant's statements still go through
    ``execute_for_tenant`` and ``scalar_for_tenant``."""
    if session.in_transaction():
        await session.commit()
    return await session.connection(execution_options=_EACH_STATEMENT_COMMITS)
