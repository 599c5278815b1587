"""`stemma demo` makes a whole demo municipality or none: a run that fails part-way
leaves nothing behind, and the next run makes the full demo."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import app.demo
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.models import User
from app.core.outbox.senders import sender_identity
from app.core.tenancy import outside_tenants, tenant_scope
from app.demo import DEMO_SLUG, create_demo
from app.domain.models import Person, Reserve


async def _demo_users(session: AsyncSession) -> int:
    with outside_tenants():
        found = select(func.count()).where(User.email.like("%@demo.stemma.test"))
        return await session.scalar(found) or 0


async def test_a_demo_that_failed_part_way_is_made_whole_by_the_next_run(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def the_disk_is_full(*_args: Any) -> None:
        raise RuntimeError("the disk is full")

    # The last step fails, after the municipality, its users, people and election
    # have each been committed by their services.
    monkeypatch.setattr(app.demo, "fill_reserves", the_disk_is_full)
    with pytest.raises(RuntimeError, match="the disk is full"):
        await create_demo(session_factory)
    async with session_factory() as session:
        assert await get_tenant_by_slug(session, DEMO_SLUG) is None
        assert await _demo_users(session) == 0

    monkeypatch.undo()
    created, _logins = await create_demo(session_factory)
    assert created
    async with session_factory() as session:
        tenant = await get_tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None
        assert await _demo_users(session) == 5
        with tenant_scope(tenant.id):
            assert await session.scalar(select(func.count()).select_from(Person)) == 601
            assert await session.scalar(select(func.count()).select_from(Reserve))
    again, _logins = await create_demo(session_factory)
    assert not again


async def test_the_demo_signs_its_messages_with_its_own_name(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await create_demo(session_factory)
    async with session_factory() as session:
        tenant = await get_tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            identity = await sender_identity(session)
    # Its SMS come from the municipality, not from the instance's "Stemma".
    assert identity.sms_sender == "DemoKommun"
    assert identity.mail_from("Stemma <no-reply@stemma.invalid>") == (
        "=?utf-8?q?Valn=C3=A4mnden_i_Demo_kommun?= <no-reply@stemma.invalid>"
    )
    assert identity.mail_reply_to == "valkansliet@demo.stemma.test"
