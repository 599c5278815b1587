"""Erasing what we may no longer keep: rejected and never-handled applications after the
municipality's retention period, and old contact messages. Runs once an hour beside the
outbox and with ``stemma retention``; running it twice erases nothing twice."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.recruitment.review import erase_expired

log = logging.getLogger(__name__)


async def erase_expired_everywhere(
    session_factory: async_sessionmaker[AsyncSession], today: dt.date | None = None
) -> dict[str, tuple[int, int]]:
    """Run the retention rules for every municipality, each in its own transaction.

    Returns {tenant slug: (applications erased, contact messages erased)} for those
    where anything was erased.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    async with session_factory() as session:
        tenants = [
            (t.id, t.slug) for t in await session.scalars(select(Tenant).order_by(Tenant.id))
        ]
    erased: dict[str, tuple[int, int]] = {}
    for tenant_id, slug in tenants:
        try:
            with tenant_scope(tenant_id):
                async with session_factory() as session:
                    counts = await erase_expired(session, Actor.system("retention"), today)
        except Exception:
            # One municipality's failure must not keep the others' data past its time.
            log.exception("retention failed for tenant %s", tenant_id)
            continue
        if any(counts):
            erased[slug] = counts
            log.info(
                "retention: erased %s applications and %s contact messages in tenant %s",
                counts[0],
                counts[1],
                tenant_id,
            )
    return erased
