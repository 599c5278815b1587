"""The logistics view of shortages follows them live: the dashboard's fragment on the
election's ops topic names the types of the events it draws (the page's script redraws
its list on a shortage's), and the page's list comes alone when htmx asks for it."""

from __future__ import annotations

import asyncio

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.events import ops_topic
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.materials.shortages import move_shortage, report_shortage
from tests.domain.materials.delivery_helpers import stocked_day
from tests.factories import login
from tests.realtime.conftest import open_socket, receive, session_cookie


async def test_a_shortage_event_is_named_in_the_fragment_and_the_list_redraws_alone(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    stocked = await stocked_day(db, tenant)
    day = stocked.day
    topic = ops_topic(tenant.id, day.election_id)
    factory = app.extensions["stemma"].session_factory
    async with open_socket(app, await session_cookie(app, coordinator), topics=topic) as socket:
        assert (await receive(socket))["topics"] == [topic]
        async with factory() as session:
            with tenant_scope(tenant.id):
                system = Actor.system("test")
                shortage = await report_shortage(session, system, day.station_id, text="Pennor")
                reported = await asyncio.wait_for(socket.recv(), 5)
                await move_shortage(session, system, shortage.id, "sent")
                sent = await asyncio.wait_for(socket.recv(), 5)
    assert 'data-event-types="station.shortage_reported"' in str(reported)
    assert 'data-event-types="station.shortage_updated"' in str(sent)
    await login(client, coordinator)
    path = f"/lund/planning/materials/elections/{day.election_id}/shortages"
    page = await (await client.get(path)).get_data(as_text=True)
    assert 'id="shortages-socket"' in page and f"topics={topic.replace(':', '%3A')}" in page
    fragment = await client.get(path, headers={"HX-Request": "true"})
    body = await fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="shortage-list"') and "Pennor" in body
    assert "<html" not in body and 'id="shortages-socket"' not in body
