"""The scoping rule: every query on tenant data is filtered, and fails with no tenant."""

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import ApiToken, AuditEntry, Membership, Tenant, User
from app.core.tenancy import ALL_TENANTS, TenantNotSetError, tenant_scope
from tests import factories


async def test_it_refuses_a_tenant_query_with_no_tenant_set(db: AsyncSession, admin: User) -> None:
    with pytest.raises(TenantNotSetError):
        await db.scalars(select(Membership))


async def test_it_refuses_aggregates_and_joins_with_no_tenant_set(
    db: AsyncSession, admin: User
) -> None:
    with pytest.raises(TenantNotSetError):
        await db.scalar(select(func.count()).select_from(Membership))
    with pytest.raises(TenantNotSetError):
        await db.scalars(select(User).join(Membership, Membership.user_id == User.id))
    with pytest.raises(TenantNotSetError):
        await db.execute(update(ApiToken).values(name="x"))


async def test_it_allows_global_models_without_a_tenant(db: AsyncSession, admin: User) -> None:
    assert await db.scalar(select(func.count()).select_from(Tenant)) == 1
    assert await db.scalar(select(User.email).where(User.id == admin.id)) == admin.email


async def test_it_filters_every_query_to_the_current_tenant(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, admin: User, outsider: User
) -> None:
    with tenant_scope(tenant.id):
        members = (await db.scalars(select(Membership))).all()
        assert [m.user_id for m in members] == [admin.id]
        joined = (
            await db.scalars(select(User).join(Membership, Membership.user_id == User.id))
        ).all()
        assert [u.id for u in joined] == [admin.id]
        codes = set((await db.scalars(select(AuditEntry.tenant_id))).all())
        assert codes == {tenant.id}
    with tenant_scope(other_tenant.id):
        members = (await db.scalars(select(Membership))).all()
        assert [m.user_id for m in members] == [outsider.id]


async def test_it_scopes_bulk_updates(
    db: AsyncSession,
    owner_db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    admin: User,
    outsider: User,
) -> None:
    with tenant_scope(tenant.id):
        await db.execute(update(Membership).values(role="planner"))
        await db.commit()
    rows = await owner_db.execute(
        select(Membership.tenant_id, Membership.role).execution_options(**{ALL_TENANTS: True})
    )
    assert dict(rows.all()) == {tenant.id: "planner", other_tenant.id: "admin"}


async def test_it_stamps_and_guards_the_tenant_on_writes(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, admin: User
) -> None:
    with tenant_scope(tenant.id):
        token = ApiToken(name="stamped", token_hash="a" * 64, prefix="stm_aaaa")
        db.add(token)
        await db.commit()
        assert token.tenant_id == tenant.id
        db.add(
            ApiToken(
                name="foreign", token_hash="b" * 64, prefix="stm_bbbb", tenant_id=other_tenant.id
            )
        )
        with pytest.raises(TenantNotSetError):
            await db.flush()
        await db.rollback()
    db.add(ApiToken(name="orphan", token_hash="c" * 64, prefix="stm_cccc"))
    with pytest.raises(TenantNotSetError):
        await db.flush()


async def test_it_lets_system_code_read_across_tenants_only_when_asked(
    owner_db: AsyncSession, admin: User, outsider: User
) -> None:
    """The ORM's hook lets it; on PostgreSQL only a role the row policies let past
    (the owner here) then sees every municipality, never the app's own."""
    rows = await owner_db.scalars(select(Membership).execution_options(**{ALL_TENANTS: True}))
    assert {m.user_id for m in rows} == {admin.id, outsider.id}


async def test_it_rejects_naive_datetimes(db: AsyncSession, tenant: Tenant) -> None:
    from datetime import datetime

    user = await factories.make_user(db, tenant, "planner")
    user.last_login_at = datetime(2026, 9, 13, 8, 0)
    with pytest.raises(Exception, match="naive datetime"):
        await db.commit()
