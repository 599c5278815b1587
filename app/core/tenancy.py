"""The current tenant of this request or job, and the rule that scopes every query to it.

The tenant lives in a ContextVar set once per request (from the URL slug and the
user's membership) or once per job (reloaded by id). One ``do_orm_execute`` hook
adds ``tenant_id = <current>`` to every ORM query that touches a tenant-scoped
model, and refuses the query when no tenant is set: a forgotten scope fails
closed instead of leaking another municipality's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from app.core.models.base import Base, TenantScoped

_current_tenant_id: ContextVar[int | None] = ContextVar("stemma_tenant_id", default=None)

#: Execution option that lets system code (login, CLI, workers) read across tenants.
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


def set_tenant(tenant_id: int | None) -> Any:
    """Set the tenant for the rest of this task; returns a token for ``reset_tenant``."""
    return _current_tenant_id.set(tenant_id)


def reset_tenant(token: Any) -> None:
    _current_tenant_id.reset(token)


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[None]:
    """Run a block (a job, a CLI command, a test) as one tenant."""
    token = _current_tenant_id.set(tenant_id)
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
