"""A station's shortage reaches the coordinators' dashboard live: the lead's report,
published after its commit, comes over a real socket as the station's row with the
shortage's alert; marked delivered, the row comes again without it."""

from __future__ import annotations

import asyncio

from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.events import ops_topic, station_topic
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.materials.shortages import move_shortage, report_shortage
from tests.domain.materials.delivery_helpers import stocked_day
from tests.domain.ops.test_checkins import link_user
from tests.factories import make_user
from tests.realtime.conftest import open_socket, receive, session_cookie


def _row(fragment: str, station_id: int) -> str:
    return fragment.split(f'<tr id="ops-station-{station_id}"', 1)[1].split("</tr>", 1)[0]


async def test_a_leads_shortage_shows_on_an_open_dashboard_and_clears_when_delivered(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    stocked = await stocked_day(db, tenant)
    day = stocked.day
    chair = await make_user(db, tenant, "clerk", "chair@lund.test")
    await link_user(db, tenant, day.chair_id, chair)
    topic = ops_topic(tenant.id, day.election_id)
    cookie = await session_cookie(app, coordinator)
    factory = app.extensions["stemma"].session_factory
    async with open_socket(app, cookie, topics=topic) as socket:
        assert (await receive(socket))["topics"] == [topic]
        # As the portal does, in a session of the served app (its publisher announces
        # the event after the commit).
        async with factory() as session:
            with tenant_scope(tenant.id):
                shortage = await report_shortage(
                    session, Actor.for_user(chair), day.station_id,
                    article_id=str(stocked.ballots_id), text="Slut",
                )  # fmt: skip
                shortage_id = shortage.id
        reported = await asyncio.wait_for(socket.recv(), 5)
        async with factory() as session:
            with tenant_scope(tenant.id):
                await move_shortage(session, Actor.for_user(coordinator), shortage_id, "delivered")
        delivered = await asyncio.wait_for(socket.recv(), 5)
    assert isinstance(reported, str) and isinstance(delivered, str)
    row = _row(reported, day.station_id)
    assert 'data-alert="shortage"' in row and "Valsedel S – Slut" in row
    assert 'hx-swap-oob="true"' in reported
    assert 'data-alert="shortage"' not in _row(delivered, day.station_id)


async def test_the_stations_phones_see_their_shortage_on_its_way_without_reload(
    app: Quart, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    stocked = await stocked_day(db, tenant)
    day = stocked.day
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    topic = station_topic(tenant.id, day.station_id)
    factory = app.extensions["stemma"].session_factory
    async with open_socket(app, await session_cookie(app, clerk), topics=topic) as socket:
        assert (await receive(socket))["topics"] == [topic]
        async with factory() as session:
            with tenant_scope(tenant.id):
                system = Actor.system("test")
                shortage = await report_shortage(session, system, day.station_id, text="Pennor")
                await move_shortage(session, system, shortage.id, "sent")
        fragments = [await asyncio.wait_for(socket.recv(), 5)]
        while "På väg" not in str(fragments[-1]):
            fragments.append(await asyncio.wait_for(socket.recv(), 5))
    last = str(fragments[-1])
    assert f'id="shortages-{day.station_id}" hx-swap-oob="true"' in last
    assert "Pennor" in last
