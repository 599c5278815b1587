"""Stations not open at their opening time, for every municipality: runs every minute
beside the outbox (``OPENING_WATCH_EVERY``); running it twice, or on two workers at once,
tells of no station twice (see ``app.domain.ops.opening_watch``)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.across_tenants import tenant_ids as across_tenant_ids
from app.core.models import Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.domain.models import StationOpening
from app.domain.ops.opening_watch import alert_late_openings

log = logging.getLogger(__name__)

#: Seconds between two looks: a station late by a minute more is still news.
OPENING_WATCH_EVERY = 60.0


async def watch_openings_everywhere(
    session_factory: async_sessionmaker[AsyncSession], now: dt.datetime | None = None
) -> dict[str, int]:
    """Tell of the stations found late in every municipality with opening hours around
    today, each municipality in its own transaction. Returns {tenant slug: stations told
    of now} where any were."""
    now = now or utcnow()
    utc_today = now.astimezone(dt.UTC).date()
    async with session_factory() as session:
        # One cheap look first: on most days no municipality has a station opening, and
        # this runs every minute. A local day is at most a day off the UTC one.
        first, last = utc_today - dt.timedelta(days=1), utc_today + dt.timedelta(days=1)
        ids = await across_tenant_ids(
            session,
            "stemma_opening_tenants",
            (first, last),
            select(StationOpening.tenant_id).where(StationOpening.day.between(first, last)),
        )
        tenants = (
            list(
                await session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.id))
            )
            if ids
            else []
        )
    told: dict[str, int] = {}
    for tenant in tenants:
        try:
            with tenant_scope(tenant.id):
                async with session_factory() as session:
                    stations = await alert_late_openings(session, now)
        except Exception:
            # One municipality's failure must not keep the others' coordinators unwarned.
            log.exception("opening watch failed for tenant %s", tenant.id)
            continue
        if stations:
            told[tenant.slug] = len(stations)
            log.info("opening watch: %s stations not open in tenant %s", len(stations), tenant.id)
    return told
