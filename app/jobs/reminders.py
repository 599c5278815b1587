"""Course reminders for every municipality: the day before each session, once per
booking. Runs once an hour beside the outbox and with ``stemma reminders``; running it
twice, or on two workers at once, reminds nobody twice."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.courses.notices import letterhead_for
from app.domain.courses.reminders import send_reminders

log = logging.getLogger(__name__)

#: The hourly run reminds from this local hour on: no text message wakes anyone at night.
REMIND_FROM_HOUR = 8


async def remind_everywhere(
    session_factory: async_sessionmaker[AsyncSession],
    base_url: str,
    from_hour: int = REMIND_FROM_HOUR,
) -> dict[str, int]:
    """Send the due reminders of every municipality, each in its own transaction and on
    its own local day (only once it is ``from_hour`` o'clock there). Returns
    {tenant slug: reminders sent} where any were."""
    async with session_factory() as session:
        tenants = list(await session.scalars(select(Tenant).order_by(Tenant.id)))
    sent: dict[str, int] = {}
    for tenant in tenants:
        sender = letterhead_for(tenant, base_url)
        try:
            if dt.datetime.now(ZoneInfo(tenant.timezone)).hour < from_hour:
                continue
            with tenant_scope(tenant.id):
                async with session_factory() as session:
                    count = await send_reminders(session, sender, sender.today())
        except Exception:
            # One municipality's failure must not keep the others' clerks unreminded.
            log.exception("course reminders failed for tenant %s", tenant.id)
            continue
        if count:
            sent[tenant.slug] = count
            log.info("course reminders: %s sent in tenant %s", count, tenant.id)
    return sent
