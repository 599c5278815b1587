"""The live events every election-day change announces, to the operations room and the
station's own team, written in the change's transaction (see ``app.core.events``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import ops_topic, record_events, station_topic
from app.core.tenancy import require_tenant_id


async def announce(
    session: AsyncSession, election_id: int, station_id: int, type: str, payload: dict[str, Any]
) -> None:
    """Record one event on the election's ops topic and one on the station's topic.

    Payloads carry ids and states, never free text or personal data: a station's team
    hears them too, and the renderer looks up what it shows.
    """
    tenant_id = require_tenant_id()
    await record_events(
        session,
        topics=[ops_topic(tenant_id, election_id), station_topic(tenant_id, station_id)],
        type=type,
        payload=payload,
        election_id=election_id,
    )
