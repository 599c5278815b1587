"""PostgreSQL repeats the tenant rule: raw SQL past the ORM hook still sees one tenant.

Superusers escape row-level security, so on PostgreSQL the whole suite connects as an
ordinary role (see ``tests/conftest.py``), as production should.
"""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.db import create_engine, create_session_factory
from app.core.models import Tenant, User
from app.core.tenancy import ALL_TENANTS, tenant_scope
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="row-level security is PostgreSQL's")


async def test_it_shows_raw_sql_only_the_current_tenants_rows(
    database_url: str, tenant: Tenant, other_tenant: Tenant, admin: User, outsider: User
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            count = text("SELECT count(*) FROM memberships")
            assert await connection.scalar(count) == 0  # no tenant: nothing
            with tenant_scope(tenant.id):
                assert await connection.scalar(count) == 1
                tenants = await connection.scalar(
                    text("SELECT array_agg(DISTINCT tenant_id) FROM audit_entries")
                )
                assert tenants == [tenant.id]
            with tenant_scope(other_tenant.id):
                assert await connection.scalar(count) == 1
            # Asking for every tenant opens none: the policies know no such setting.
            everyone = await connection.scalar(count.execution_options(**{ALL_TENANTS: True}))
            assert everyone == 0
    finally:
        await engine.dispose()


async def test_it_refuses_to_write_a_row_for_another_tenant(
    database_url: str, tenant: Tenant, other_tenant: Tenant, outsider: User
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            with (
                tenant_scope(tenant.id),
                pytest.raises(DBAPIError, match="row-level security"),
            ):
                await connection.execute(
                    text(
                        "INSERT INTO api_tokens (tenant_id, name, token_hash, prefix, created_at) "
                        "VALUES (:tenant, 'x', :hash, 'stm_x', now())"
                    ),
                    {"tenant": other_tenant.id, "hash": "f" * 64},
                )
            await connection.rollback()
            with tenant_scope(tenant.id):
                changed = await connection.execute(text("UPDATE memberships SET role = 'clerk'"))
                assert changed.rowcount == 0  # the outsider's membership is invisible
    finally:
        await engine.dispose()


async def test_the_tenant_settings_follow_commits_and_rollbacks_on_one_connection(
    database_url: str, tenant: Tenant, other_tenant: Tenant, admin: User, outsider: User
) -> None:
    """The settings are sent only when they change, and sent again once a rollback has
    taken back settings changed in its transaction (else the connection would go on
    with the tenant before). A read-only transaction's rollback keeps them."""
    from app.core import db as core_db

    engine = create_engine(database_url, pool_size=2)
    tenants = text("SELECT array_agg(DISTINCT tenant_id) FROM memberships")
    try:
        async with engine.connect() as connection:
            info = (await connection.get_raw_connection()).info
            with tenant_scope(tenant.id):
                assert await connection.scalar(tenants) == [tenant.id]
                await connection.commit()
            with tenant_scope(other_tenant.id):
                assert await connection.scalar(tenants) == [other_tenant.id]
                await connection.rollback()  # PostgreSQL is back at Lund's settings
                assert core_db._RLS_STATE not in info
                assert await connection.scalar(tenants) == [other_tenant.id]
                await connection.commit()
                assert await connection.scalar(tenants) == [other_tenant.id]
                await connection.rollback()  # read only: Malmö's settings still hold
                assert info[core_db._RLS_STATE] == str(other_tenant.id)
                assert await connection.scalar(tenants) == [other_tenant.id]
        # Back in the pool, the connection was rolled back there: with settings changed
        # in that transaction it sends them again, or it keeps those committed.
        async with engine.connect() as connection:
            with tenant_scope(tenant.id):
                assert await connection.scalar(tenants) == [tenant.id]
        async with engine.connect() as connection:
            info = (await connection.get_raw_connection()).info
            assert core_db._RLS_STATE not in info
            with tenant_scope(tenant.id):
                assert await connection.scalar(tenants) == [tenant.id]
    finally:
        await engine.dispose()


async def test_it_runs_the_suite_as_a_role_the_policies_bind(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            superuser = await connection.scalar(
                text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
    finally:
        await engine.dispose()
    assert superuser is False


async def test_a_request_cancelled_mid_statement_closes_its_session_and_frees_the_connection(
    database_url: str, tenant: Tenant, admin: User
) -> None:
    """A phone that gives up on a slow check-in leaves: the server cancels the request in
    the middle of its statement. Its session must still close (found by the election-day
    rehearsal: the rollback hook asked the dead connection for its settings and raised,
    every such request logged an error and answered 500)."""
    engine = create_engine(database_url, pool_size=1)
    factory = create_session_factory(engine)
    try:
        session = factory()

        async def slow_write() -> None:
            with tenant_scope(tenant.id):
                await session.execute(text("SELECT count(*) FROM memberships"))
                await session.execute(text("SELECT pg_sleep(5)"))

        task = asyncio.create_task(slow_write())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await session.close()
        assert engine.sync_engine.pool.checkedout() == 0
        # The pool's one connection serves the next request, for its own tenant.
        async with factory() as session, session.begin():
            with tenant_scope(tenant.id):
                assert await session.scalar(text("SELECT count(*) FROM memberships")) == 1
    finally:
        await engine.dispose()
