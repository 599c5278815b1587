"""The demo's coming election (rolled over from its first) in its scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG
from app.domain.models import Election


@asynccontextmanager
async def demo_coming_election(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[AsyncSession, Election]]:
    """A session in the demo municipality's scope and its coming election (the test
    asks for the ``demo_made`` fixture)."""
    async with session_factory() as session:
        tenant = await get_tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            coming = await session.scalar(
                select(Election).where(Election.rolled_over_from_id.is_not(None))
            )
            assert coming is not None
            yield session, coming
