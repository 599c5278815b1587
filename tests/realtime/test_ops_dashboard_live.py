"""The dashboard's live path end to end: a check-in posted to the API of a Hypercorn-served
app reaches a coordinator's socket on the election's ops topic as the station's row."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.request
from collections import deque

import pytest
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.accounts.users import set_user_locale
from app.core.audit import Actor
from app.core.events import ops_topic
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.ops import checkins
from app.domain.ops import dashboard as dashboard_module
from app.realtime.drawing import take_batch
from app.realtime.live_event import LiveEvent
from app.realtime.ws import HUB
from tests.domain.ops.test_checkins import ops_day
from tests.domain.ops.test_dashboard import _second_station
from tests.realtime.conftest import open_socket, receive, session_cookie


def _post(url: str, body: dict[str, object], headers: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310 (a loopback test server)
        url,
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return int(answer.status)


async def test_it_pushes_the_stations_row_to_a_dashboard_socket_after_a_check_in(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = await ops_day(db, tenant)
    clock = day.at(7, 45).astimezone(dt.UTC)
    monkeypatch.setattr(checkins, "utcnow", lambda: clock)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: clock)
    with tenant_scope(tenant.id):
        _row, secret = await create_api_token(db, Actor.system("test"), "Kiosk")
    topic = ops_topic(tenant.id, day.election_id)
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        assert (await receive(socket))["topics"] == [topic]
        http = app.config["TEST_WS_URL"].replace("ws://", "http://", 1)
        status = await asyncio.to_thread(
            _post,
            f"{http}/api/v1/checkins",
            {"person_id": day.clerk_ids[0], "shift_id": day.early_id, "kind": "arrived"},
            {"Authorization": f"Bearer {secret}", "Idempotency-Key": "live-1"},
        )
        assert status == 201
        fragment = await asyncio.wait_for(socket.recv(), 5)
    assert isinstance(fragment, str)
    assert f'<tr id="ops-station-{day.station_id}"' in fragment
    assert 'hx-swap-oob="true"' in fragment and 'id="ops-summary"' in fragment
    assert "<strong>1/2</strong>" in fragment  # one of at least two clerks now
    assert 'id="ops-cursor"' in fragment and 'data-last-event-id="' in fragment


async def test_events_drawn_together_show_every_touched_station_and_name_every_event(
    app: Quart, db: AsyncSession, tenant: Tenant
) -> None:
    """Check-ins at two stations that waited while another was drawn: one fragment with
    both stations' rows, the counters once, every event id and the highest as cursor."""
    day = await ops_day(db, tenant)
    other_id = await _second_station(db, tenant, day)
    topic = ops_topic(tenant.id, day.election_id)
    events = [
        LiveEvent(901, tenant.id, topic, "checkin.arrived", {"station_id": day.station_id}),
        LiveEvent(902, tenant.id, topic, "station.state_changed", {"station_id": other_id}),
        LiveEvent(903, tenant.id, topic, "checkin.arrived", {"station_id": day.station_id}),
    ]
    waiting = deque(events)
    assert take_batch(waiting) == events
    (delivery,) = await app.extensions[HUB].draw(events)
    assert delivery.event_ids == (901, 902, 903)
    fragment = delivery.text
    assert fragment.count(f'<tr id="ops-station-{day.station_id}"') == 1
    assert fragment.count(f'<tr id="ops-station-{other_id}"') == 1
    assert fragment.count('id="ops-summary"') == 1
    assert 'data-last-event-id="903"' in fragment and 'data-event-ids="901,902,903"' in fragment


async def test_a_live_row_is_drawn_in_the_language_of_each_page_that_shows_it(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    planner: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One check-in, two dashboards: the one read in English gets its row in English,
    the Swedish one in Swedish (the hub draws once per language its sockets read)."""
    day = await ops_day(db, tenant)
    clock = day.at(7, 45).astimezone(dt.UTC)
    monkeypatch.setattr(checkins, "utcnow", lambda: clock)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: clock)
    with tenant_scope(tenant.id):
        _row, secret = await create_api_token(db, Actor.system("test"), "Kiosk")
    await set_user_locale(db, coordinator, "en")
    topic = ops_topic(tenant.id, day.election_id)
    english_cookie = await session_cookie(app, coordinator)
    swedish_cookie = await session_cookie(app, planner)
    async with (
        open_socket(app, english_cookie, topics=topic) as english,
        open_socket(app, swedish_cookie, topics=topic) as swedish,
    ):
        assert (await receive(english))["topics"] == [topic]
        assert (await receive(swedish))["topics"] == [topic]
        http = app.config["TEST_WS_URL"].replace("ws://", "http://", 1)
        status = await asyncio.to_thread(
            _post,
            f"{http}/api/v1/checkins",
            {"person_id": day.clerk_ids[0], "shift_id": day.early_id, "kind": "arrived"},
            {"Authorization": f"Bearer {secret}", "Idempotency-Key": "live-languages"},
        )
        assert status == 201
        in_english = await asyncio.wait_for(english.recv(), 5)
        in_swedish = await asyncio.wait_for(swedish.recv(), 5)
    assert isinstance(in_english, str) and isinstance(in_swedish, str)
    assert ">Not opened<" in in_english and "Ej öppnat" not in in_english
    assert ">Ej öppnat<" in in_swedish and "Not opened" not in in_swedish
