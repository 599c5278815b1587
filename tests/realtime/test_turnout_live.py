"""A chair's turnout report reaches the coordinators' dashboard live: the service's event,
published after its commit, comes over a real socket as the station's row with its count
and the election's turnout, swapped out of band."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.events import ops_topic
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.ops import dashboard as dashboard_module
from app.domain.ops import turnout as turnout_module
from app.domain.ops.turnout import report_turnout
from tests.domain.ops.test_checkins import link_user, ops_day
from tests.domain.ops.test_turnout_figures import _eligible
from tests.factories import make_user
from tests.realtime.conftest import open_socket, receive, session_cookie


async def test_a_chairs_report_updates_an_open_dashboard_without_reload(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = await ops_day(db, tenant)
    await _eligible(db, tenant, day, 1000)
    chair = await make_user(db, tenant, "clerk", "chair@lund.test")
    await link_user(db, tenant, day.chair_id, chair)
    clock = day.at(11, 3).astimezone(dt.UTC)
    monkeypatch.setattr(turnout_module, "utcnow", lambda: clock)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: clock)
    topic = ops_topic(tenant.id, day.election_id)
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        assert (await receive(socket))["topics"] == [topic]
        # The chair reports through the service as the portal does, in a session of the
        # served app's own (its publisher announces the event after the commit).
        async with app.extensions["stemma"].session_factory() as session:
            with tenant_scope(tenant.id):
                await report_turnout(session, Actor.for_user(chair), day.station_id, "11:00", 123)
        fragment = await asyncio.wait_for(socket.recv(), 5)
    assert isinstance(fragment, str)
    assert f'<tr id="ops-station-{day.station_id}"' in fragment
    row = fragment.split(f'<tr id="ops-station-{day.station_id}"', 1)[1].split("</tr>", 1)[0]
    assert "<strong>123</strong>" in row and "12,3 %" in row  # the municipality's Swedish
    assert '<section id="ops-turnout"' in fragment and 'hx-swap-oob="true"' in fragment
    turnout = fragment.split('<section id="ops-turnout"', 1)[1].split("</section>", 1)[0]
    assert "1 / 1" in turnout and "12,3 %" in turnout and "11:03" in turnout
    assert 'id="ops-summary"' in fragment and 'id="ops-cursor"' in fragment
