"""The reminders elections set for themselves (shift coming up, election eve, wake-up,
offer not answered), for every municipality with one switched on: runs every minute
beside the outbox, as the wake-up text has a time to the minute. Running it twice, or
on two workers at once, reminds nobody twice (see ``app.domain.reminders.sending``)."""

from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.across_tenants import tenant_ids as across_tenant_ids
from app.core.models import Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.domain.models import ReminderSettings
from app.domain.reminders.sending import send_election_reminders

log = logging.getLogger(__name__)

#: Seconds between two looks.
REMINDERS_EVERY = 60.0
#: Seconds a round may spend writing reminders before it leaves the rest to the next
#: (the outbox waits meanwhile: on election morning thousands are due at once).
ROUND_SECONDS = 20.0


async def send_reminders_everywhere(
    session_factory: async_sessionmaker[AsyncSession],
    base_url: str,
    now: dt.datetime | None = None,
    round_seconds: float | None = ROUND_SECONDS,
) -> dict[str, int]:
    """Send the due reminders of every municipality with one switched on, each in its
    own transactions, for at most ``round_seconds`` (None: until all are sent). Returns
    {tenant slug: people told} where any were."""
    now = now or utcnow()
    stop_at = None if round_seconds is None else time.monotonic() + round_seconds
    async with session_factory() as session:
        ids = await across_tenant_ids(
            session,
            "stemma_reminder_tenants",
            (),
            select(ReminderSettings.tenant_id)
            .where(
                or_(
                    ReminderSettings.shift_reminder_on,
                    ReminderSettings.eve_on,
                    ReminderSettings.wake_up_on,
                    ReminderSettings.offer_on,
                )
            )
            .distinct(),
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
                    counts = await send_election_reminders(session, now, base_url, stop_at)
        except Exception:
            # One municipality's failure must not keep the others' clerks unreminded.
            log.exception("election reminders failed for tenant %s", tenant.id)
            continue
        total = sum(sum(by_occasion.values()) for by_occasion in counts.values())
        if total:
            told[tenant.slug] = total
            log.info("election reminders: %s people told in tenant %s", total, tenant.id)
    return told
