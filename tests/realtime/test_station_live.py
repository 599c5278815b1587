"""Every clerk's phone live: a teammate's check-in, posted to the API of a
Hypercorn-served app, reaches a clerk's socket on the station's topic as the station's
team, drawn; a clerk of another station is refused the topic."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.request
from collections import deque
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import event as sql_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.events import station_topic
from app.core.i18n import reader_scope
from app.core.models import Tenant, User, utcnow
from app.core.tenancy import tenant_scope
from app.domain.models import Person
from app.domain.ops import checkins, station_live
from app.realtime.drawing import take_batch
from app.realtime.live_event import LiveEvent
from app.realtime.ws import HUB
from tests.domain.ops.test_checkins import link_user, ops_day
from tests.domain.ops.test_dashboard import _second_station
from tests.portal.test_election_day import PAGE, login_en, today_at_station
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


async def test_a_teammates_check_in_reaches_a_clerks_socket_as_the_team(
    app: Quart, db: AsyncSession, tenant: Tenant, clerk: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = await ops_day(db, tenant)
    clock = day.at(7, 45).astimezone(dt.UTC)
    monkeypatch.setattr(checkins, "utcnow", lambda: clock)
    monkeypatch.setattr(station_live, "utcnow", lambda: clock)
    await link_user(db, tenant, day.clerk_ids[1], clerk)
    with tenant_scope(tenant.id):
        _row, secret = await create_api_token(db, Actor.system("test"), "Kiosk")
    topic = station_topic(tenant.id, day.station_id)
    async with open_socket(app, await session_cookie(app, clerk), topics=topic) as socket:
        assert (await receive(socket))["topics"] == [topic]
        http = app.config["TEST_WS_URL"].replace("ws://", "http://", 1)
        status = await asyncio.to_thread(
            _post,
            f"{http}/api/v1/checkins",
            {"person_id": day.clerk_ids[0], "shift_id": day.early_id, "kind": "arrived"},
            {"Authorization": f"Bearer {secret}", "Idempotency-Key": "team-1"},
        )
        assert status == 201
        fragment = await asyncio.wait_for(socket.recv(), 5)
    assert isinstance(fragment, str) and not fragment.startswith("{")
    assert f'<div id="roster-{day.station_id}"' in fragment
    assert f'id="problems-{day.station_id}"' in fragment
    # A check-in changes the team and what keeps the station from opening, nothing else:
    # its state, messages, turnout and shortages are neither read nor sent again.
    for part in ("state-line", "messages", "turnout-table", "shortages"):
        assert f'id="{part}-{day.station_id}"' not in fragment
    # One of the three placed has arrived, since 07:45 Stockholm time (06:45 UTC).
    assert fragment.count('class="roster-arrived"') == 1
    assert fragment.count('class="roster-missing"') == 2
    assert "Here since 07:45" in fragment or "07:45" in fragment.split("roster-arrived")[1][:400]
    assert 'id="day-cursor" data-live-cursor' in fragment
    # Nothing of anyone's contact details goes to the whole station.
    assert "@" not in fragment and "tel:" not in fragment


async def test_a_clerk_of_another_station_is_refused_its_topic(
    app: Quart, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    day = await ops_day(db, tenant)
    other_id = await _second_station(db, tenant, day)
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    foreign = station_topic(tenant.id, other_id)
    own = station_topic(tenant.id, day.station_id)
    cookie = await session_cookie(app, clerk)
    async with open_socket(app, cookie, topics=f"{foreign},{own}") as socket:
        assert await receive(socket) == {"type": "ws.error", "code": "forbidden", "topic": foreign}
        assert (await receive(socket))["topics"] == [own]


async def test_a_stations_events_drawn_together_name_every_event(
    app: Quart, db: AsyncSession, tenant: Tenant
) -> None:
    """Check-ins, a state change and a turnout report that waited while another was
    drawn: one fragment with the station as it is now and every event id; the
    dashboard's renderer still draws the same types on the ops topic."""
    day = await ops_day(db, tenant)
    topic = station_topic(tenant.id, day.station_id)
    events = [
        LiveEvent(921, tenant.id, topic, "checkin.arrived", {"station_id": day.station_id}),
        LiveEvent(922, tenant.id, topic, "station.state_changed", {"station_id": day.station_id}),
        LiveEvent(923, tenant.id, topic, "turnout.reported", {"station_id": day.station_id}),
    ]
    waiting = deque(events)
    assert take_batch(waiting) == events
    (delivery,) = await app.extensions[HUB].draw(events)
    assert delivery.event_ids == (921, 922, 923)
    assert delivery.text.count(f'id="roster-{day.station_id}"') == 1
    assert f'id="turnout-table-{day.station_id}"' in delivery.text
    assert f'id="state-line-{day.station_id}"' in delivery.text
    assert f'id="messages-{day.station_id}"' not in delivery.text
    assert 'data-last-event-id="923"' in delivery.text
    # A coordinators' message to the station is drawn with the station's messages.
    sent = LiveEvent(925, tenant.id, topic, "station.message", {"message_id": 1})
    (drawn,) = await app.extensions[HUB].draw([sent])
    assert f'<div class="station-messages" id="messages-{day.station_id}"' in drawn.text
    # ...and alone: the team and the turnout did not change.
    assert f'id="roster-{day.station_id}"' not in drawn.text
    assert f'id="turnout-table-{day.station_id}"' not in drawn.text
    # An event type the station's page does not draw still goes as JSON.
    note = LiveEvent(924, tenant.id, topic, "incident.noted", {"station_id": day.station_id})
    (as_json,) = await app.extensions[HUB].draw([note])
    assert json.loads(as_json.text)["id"] == 924


async def test_a_phone_that_reconnects_gets_what_it_missed_drawn(
    app: Quart, db: AsyncSession, tenant: Tenant, clerk: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phone's network blinks: it comes back with the last event id it applied and
    the station's events since are replayed to it as the station's parts."""
    day = await ops_day(db, tenant)
    clock = day.at(7, 45).astimezone(dt.UTC)
    monkeypatch.setattr(checkins, "utcnow", lambda: clock)
    monkeypatch.setattr(station_live, "utcnow", lambda: clock)
    await link_user(db, tenant, day.clerk_ids[1], clerk)
    topic = station_topic(tenant.id, day.station_id)
    cookie = await session_cookie(app, clerk)
    async with open_socket(app, cookie, topics=topic) as socket:
        cursor = (await receive(socket))["last_event_id"]
    # Offline meanwhile: a teammate checks in.
    with tenant_scope(tenant.id):
        await checkins.check_in(
            db,
            Actor.system("kiosk"),
            person_id=day.clerk_ids[0],
            shift_id=day.early_id,
            kind="arrived",
            idempotency_key="blink-1",
            source="api",
        )
    async with open_socket(app, cookie, topics=topic, last_event_id=cursor) as socket:
        assert (await receive(socket))["type"] == "ws.subscribed"
        fragment = await asyncio.wait_for(socket.recv(), 5)
    assert isinstance(fragment, str) and not fragment.startswith("{")
    assert fragment.count('class="roster-arrived"') == 1


def _part(html: str, start: str, end: str) -> str:
    """The element that opens with ``start`` up to its ``end``, as the page shows it
    (without the out-of-band swap the socket adds)."""
    begin = html.index(start)
    return html[begin : html.index(end, begin) + len(end)].replace(' hx-swap-oob="true"', "")


async def test_a_check_in_is_drawn_as_the_page_draws_the_team(
    app: Quart,
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    clerk: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The station's team and what keeps it from opening, drawn for a check-in's event,
    are the chair's page's, byte for byte: one arrived, one left, one not yet."""
    setup = await today_at_station(db, tenant, clerk)
    clock = utcnow()
    monkeypatch.setattr(station_live, "utcnow", lambda: clock)
    with tenant_scope(tenant.id):
        chair_id, clerk_id = [
            await db.scalar(select(Person.id).where(Person.user_id == user.id))
            for user in (setup.chair, setup.clerk)
        ]
        assert chair_id is not None and clerk_id is not None
        for number, (person_id, kind) in enumerate(
            [(chair_id, "arrived"), (clerk_id, "arrived"), (clerk_id, "left")]
        ):
            await checkins.check_in(
                db,
                Actor.system("kiosk"),
                person_id=person_id,
                shift_id=setup.early_id,
                kind=kind,
                idempotency_key=f"same-{number}",
                source="api",
            )
    await login_en(client, setup.chair)
    page = await (await client.get(PAGE)).get_data(as_text=True)
    topic = station_topic(tenant.id, setup.station_id)
    event = LiveEvent(931, tenant.id, topic, "checkin.left", {"station_id": setup.station_id})
    with reader_scope("en"):
        (drawn,) = await app.extensions[HUB].draw([event])
    roster = (f'<div id="roster-{setup.station_id}"', "</ul>\n\n</div>")
    problems = (f'<ul class="opening-problems" id="problems-{setup.station_id}"', "</ul>")
    for start, end in (roster, problems):
        assert _part(drawn.text, start, end) == _part(page, start, end)
    assert _part(page, *roster).count('class="roster-arrived"') == 1
    assert "No chair or vice chair has checked in." not in _part(page, *problems)


async def test_a_check_in_is_drawn_in_five_reads(
    app: Quart, db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The team and the opening check share one read of the station's shifts, norms,
    places and check-ins (each read them all again: ten or eleven reads a drawing)."""
    day = await ops_day(db, tenant)
    # At 23:00 the operations day asks whether tomorrow's shifts have begun.
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "set_config" not in statement:
            statements.append(statement)

    for number, clock in enumerate((day.at(7, 45), day.at(23, 0))):
        monkeypatch.setattr(station_live, "utcnow", lambda clock=clock: clock.astimezone(dt.UTC))
        topic = station_topic(tenant.id, day.station_id)
        event = LiveEvent(
            941 + number, tenant.id, topic, "checkin.arrived", {"station_id": day.station_id}
        )
        statements.clear()

        engine = db.get_bind()
        sql_event.listen(engine, "before_cursor_execute", seen)
        try:
            (drawn,) = await app.extensions[HUB].draw([event])
        finally:
            sql_event.remove(engine, "before_cursor_execute", seen)
        assert f'id="roster-{day.station_id}"' in drawn.text
        # The municipality, the shifts, their norms, their places, their check-ins.
        assert len(statements) == 5, statements
