"""The demo shows pay working: rules for its elections, and its last election day's
check-ins give computed pay, a district ready to approve and two check-ins to settle."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG
from app.domain.models import Election, PayRule
from app.domain.pay.review import overview


async def test_the_demos_last_election_has_pay_to_review_and_approve(
    demo_made: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        tenant = await get_tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            elections = list(await session.scalars(select(Election).order_by(Election.id)))
            rules = await session.scalar(select(func.count()).select_from(PayRule))
            rows = await overview(session, elections[0].id)
    assert rules == 5 * len(elections)
    assert sum(row.people for row in rows) > 300
    assert sum(row.computed for row in rows) > 0
    first, second = rows[0], rows[1]
    assert (first.conflicts, first.no_shows, first.estimates) == (0, 0, 0)
    assert second.conflicts == 2
    assert sum(row.no_shows for row in rows) > 0
