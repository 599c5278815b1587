"""The row policies' form (migration 0033): the tenant read once per statement, an
index condition on ``tenant_id``; the owner let through by a policy of its own."""

import pytest
from sqlalchemy import text

from app.core.db import create_engine
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from tests.conftest import APP_ROLE, TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="row-level security is PostgreSQL's")

POLICIES = text(
    "SELECT p.tablename, p.policyname, p.roles::text[], p.qual, p.with_check, t.tableowner"
    " FROM pg_policies p JOIN pg_tables t"
    " ON t.tablename = p.tablename AND t.schemaname = p.schemaname"
    " WHERE p.schemaname = current_schema() ORDER BY p.tablename, p.policyname"
)


async def test_every_tenant_policy_reads_the_tenant_once_and_names_no_role(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(POLICIES)).all()
    finally:
        await engine.dispose()
    by_table: dict[str, dict[str, tuple[list[str], str, str, str]]] = {}
    for table, name, roles, qual, check, owner in rows:
        by_table.setdefault(table, {})[name] = (roles, qual, check, owner)
    assert len(by_table) > 40  # every tenant table
    for table, policies in by_table.items():
        assert set(policies) == {"tenant_isolation", "owner_access"}, table
        roles, qual, check, owner = policies["tenant_isolation"]
        assert roles == ["public"], table
        assert qual == check, table
        assert qual.lstrip("(").startswith("tenant_id = ( SELECT"), (table, qual)
        assert "current_setting" in qual
        # The owner's exemption is no longer OR'd into the rule the app's role gets.
        assert "CURRENT_USER" not in qual.upper(), (table, qual)
        roles, qual, check, owner = policies["owner_access"]
        assert roles == [owner] and qual == "true" and check == "true", table
    assert "tenant_id IS NULL" in by_table["audit_entries"]["tenant_isolation"][1]
    assert "tenant_id IS NULL" not in by_table["memberships"]["tenant_isolation"][1]


async def test_the_app_role_finds_a_tenants_rows_by_the_tenant_id_index(
    database_url: str, tenant: Tenant, other_tenant: Tenant, admin: User, outsider: User
) -> None:
    """With sequential scans priced out, the policy alone leads to ``ix_*_tenant_id``:
    under the old rule (the setting per row, OR the owner) no index could serve it."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT current_user")) == APP_ROLE
            with tenant_scope(tenant.id):
                await connection.execute(text("SET LOCAL enable_seqscan = off"))
                plan = "\n".join(
                    row[0]
                    for row in await connection.execute(
                        text("EXPLAIN (COSTS OFF) SELECT id FROM memberships")
                    )
                )
                count = await connection.scalar(text("SELECT count(*) FROM memberships"))
            await connection.rollback()
    finally:
        await engine.dispose()
    assert "InitPlan" in plan, plan
    assert "ix_memberships_tenant_id" in plan, plan
    assert "Index Cond: (tenant_id = $0)" in plan, plan
    assert count == 1  # still only this tenant's
