"""Erasing what we may no longer keep: rejected and never-handled applications after the
municipality's retention period, old contact messages, people inactive for longer than
the municipality's period, and erased people's pay data once the pay records need it no
longer. Runs once an hour beside the outbox and with ``stemma retention``; running it
twice erases nothing twice."""

from __future__ import annotations

import datetime as dt
import logging
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.recruitment.review import erase_expired
from app.domain.registers.candidates import erase_past_candidate_lists
from app.domain.registers.retention import erase_expired_pay_data, erase_inactive

log = logging.getLogger(__name__)


class Erased(NamedTuple):
    """What one run erased in one municipality."""

    applications: int
    messages: int
    people: int
    pay_data: int
    candidate_lists: int = 0


async def _erase_for_tenant(
    session_factory: async_sessionmaker[AsyncSession], timezone: str, today: dt.date | None
) -> Erased:
    """Each rule in its own transaction: one failing keeps the others' erasures."""
    actor = Actor.system("retention")
    local_today = today or dt.datetime.now(ZoneInfo(timezone)).date()
    async with session_factory() as session:
        applications, messages = await erase_expired(session, actor, local_today)
    async with session_factory() as session:
        people = await erase_inactive(session, actor, local_today)
    async with session_factory() as session:
        pay_data = await erase_expired_pay_data(session, actor, local_today)
    async with session_factory() as session:
        candidate_lists = await erase_past_candidate_lists(session, actor, local_today)
    return Erased(applications, messages, people, pay_data, candidate_lists)


async def erase_expired_everywhere(
    session_factory: async_sessionmaker[AsyncSession], today: dt.date | None = None
) -> dict[str, Erased]:
    """Run the retention rules for every municipality, each on its own.

    Returns {tenant slug: what was erased} for those where anything was erased.
    """
    async with session_factory() as session:
        tenants = [
            (t.id, t.slug, t.timezone)
            for t in await session.scalars(select(Tenant).order_by(Tenant.id))
        ]
    erased: dict[str, Erased] = {}
    for tenant_id, slug, timezone in tenants:
        try:
            with tenant_scope(tenant_id):
                counts = await _erase_for_tenant(session_factory, timezone, today)
        except Exception:
            # One municipality's failure must not keep the others' data past its time.
            log.exception("retention failed for tenant %s", tenant_id)
            continue
        if any(counts):
            erased[slug] = counts
            log.info(
                "retention: erased %s applications, %s contact messages, %s people,"
                " %s people's pay data and %s candidate lists in tenant %s",
                *counts,
                tenant_id,
            )
    return erased
