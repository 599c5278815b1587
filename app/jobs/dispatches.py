"""Scheduled dispatches for every municipality: sent when their time comes, and any
dispatch a worker left half queued finished. Runs every minute beside the outbox;
two workers at once queue nothing twice (see ``app.domain.dispatches.queueing``)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.dispatches.sending import send_due

log = logging.getLogger(__name__)


async def send_due_everywhere(
    session_factory: async_sessionmaker[AsyncSession], base_url: str
) -> int:
    """Queue the due dispatches of every municipality, each in its own scope. Returns
    how many messages were queued."""
    async with session_factory() as session:
        tenant_ids = list(await session.scalars(select(Tenant.id).order_by(Tenant.id)))
    queued = 0
    for tenant_id in tenant_ids:
        try:
            with tenant_scope(tenant_id):
                async with session_factory() as session:
                    queued += await send_due(session, base_url)
        except Exception:
            # One municipality's failure must not hold back the others' dispatches.
            log.exception("dispatches failed for tenant %s", tenant_id)
    if queued:
        log.info("dispatches: %s messages queued", queued)
    return queued
