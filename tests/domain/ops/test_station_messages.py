"""Coordinators' messages to the stations: to one station, a district's stations or all
of the election; stored, audited, announced on each station's topic, pushed to the
leads of the day; read per station."""

from __future__ import annotations

import datetime as dt

import pytest
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.events import station_topic
from app.core.models import AuditEntry, Event, OutboxMessage, PushSubscription, Tenant, User
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import District, Station, StationMessage, StationMessageRead
from app.domain.ops import OpsForbidden, station_messages
from tests.domain.ops.test_checkins import OpsDay, link_user, ops_day
from tests.domain.ops.test_dashboard import _second_station
from tests.factories import login, post_form


async def _two_districts(db: AsyncSession, tenant: Tenant, day: OpsDay) -> int:
    """A second station, in a district of its own; its id."""
    other_id = await _second_station(db, tenant, day)
    with tenant_scope(tenant.id):
        district = District(election_id=day.election_id, code="99", name="Norr")
        db.add(district)
        await db.flush()
        station = await db.scalar(select(Station).where(Station.id == other_id))
        assert station is not None
        station.district_id = district.id
        await db.commit()
    return other_id


async def _stations_of(db: AsyncSession, tenant: Tenant, message_id: int) -> set[int]:
    with tenant_scope(tenant.id):
        rows = await db.scalars(
            select(StationMessageRead.station_id).where(StationMessageRead.message_id == message_id)
        )
        return set(rows)


async def test_a_message_to_a_district_reaches_only_its_stations(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    other_id = await _two_districts(db, tenant, day)
    with tenant_scope(tenant.id):
        north = await db.scalar(select(Station.district_id).where(Station.id == other_id))
    assert north is not None
    with tenant_scope(tenant.id):
        message = await station_messages.send_station_message(
            db,
            Actor.for_user(coordinator),
            day.election_id,
            scope="district",
            target_id=str(north),
            text="Stäng dörren kl. 20.",
        )
        message_id = message.id
        topics = set(await db.scalars(select(Event.topic).where(Event.type == "station.message")))
        audited = await db.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.code == "ops.station_message.sent")
        )
    assert await _stations_of(db, tenant, message_id) == {other_id}
    assert station_topic(tenant.id, other_id) in topics
    assert station_topic(tenant.id, day.station_id) not in topics
    assert audited == 1
    with tenant_scope(tenant.id):
        everyone = await station_messages.send_station_message(
            db, Actor.for_user(coordinator), day.election_id, scope="all", text="Tack!"
        )
        everyone_id = everyone.id
    assert await _stations_of(db, tenant, everyone_id) == {day.station_id, other_id}


async def test_it_pushes_to_the_stations_leads_of_the_day(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    clerk: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = await ops_day(db, tenant)
    await link_user(db, tenant, day.chair_id, clerk)
    with tenant_scope(tenant.id):
        db.add(
            PushSubscription(
                user_id=clerk.id, endpoint="https://push.example/a", p256dh="k", auth="a"
            )
        )
        await db.commit()

    async def election_day(
        _session: AsyncSession, _now: dt.datetime | None = None, **_of: object
    ) -> dt.date:
        return day.day

    monkeypatch.setattr(station_messages, "ops_day", election_day)
    with tenant_scope(tenant.id):
        await station_messages.send_station_message(
            db,
            Actor.for_user(coordinator),
            day.election_id,
            scope="station",
            target_id=str(day.station_id),
            text="Ring kansliet.",
        )
        pushes = list(
            await db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "push"))
        )
    assert len(pushes) == 1


async def test_it_refuses_a_planner_an_empty_text_and_another_elections_station(
    db: AsyncSession, tenant: Tenant, coordinator: User, planner: User
) -> None:
    day = await ops_day(db, tenant)
    with tenant_scope(tenant.id):
        with pytest.raises(OpsForbidden):
            await station_messages.send_station_message(
                db, Actor.for_user(planner), day.election_id, scope="all", text="Hej"
            )
        with pytest.raises(FieldErrors) as empty:
            await station_messages.send_station_message(
                db, Actor.for_user(coordinator), day.election_id, scope="all", text="  "
            )
        assert set(empty.value.errors) == {"text"}
        with pytest.raises(FieldErrors) as nowhere:
            await station_messages.send_station_message(
                db,
                Actor.for_user(coordinator),
                day.election_id,
                scope="station",
                target_id="999999",
                text="Hej",
            )
        assert set(nowhere.value.errors) == {"target_id"}
        with pytest.raises(NotFound):
            await station_messages.send_station_message(
                db, Actor.for_user(coordinator), 999999, scope="all", text="Hej"
            )
        assert await db.scalar(select(func.count(StationMessage.id))) == 0


async def test_a_clerk_of_the_station_marks_it_read_and_the_coordinators_see_the_count(
    db: AsyncSession, tenant: Tenant, coordinator: User, clerk: User
) -> None:
    day = await ops_day(db, tenant)
    other_id = await _second_station(db, tenant, day)
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    with tenant_scope(tenant.id):
        message = await station_messages.send_station_message(
            db, Actor.for_user(coordinator), day.election_id, scope="all", text="Hej"
        )
        message_id = message.id
        with pytest.raises(NotFound):  # not their station
            await station_messages.mark_read(db, Actor.for_user(clerk), other_id, message_id)
        await station_messages.mark_read(db, Actor.for_user(clerk), day.station_id, message_id)
        await station_messages.mark_read(db, Actor.for_user(clerk), day.station_id, message_id)
        (sent,) = await station_messages.sent_messages(db, day.election_id)
        shown = await station_messages.messages_of_station(db, day.station_id)
    assert (sent.stations, sent.read) == (2, 1)
    assert [m.read_at is not None for m in shown] == [True]


async def test_the_pages_answer_an_outsider_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User
) -> None:
    day = await ops_day(db, tenant)
    await login(client, outsider)
    base = f"/lund/planning/elections/{day.election_id}/live/messages"
    assert (await client.get(base)).status_code == 404
    assert (await post_form(client, base, {"scope": "all", "text": "x"})).status_code == 404
    read = f"/lund/portal/election-day/stations/{day.station_id}/messages/1/read"
    assert (await post_form(client, read)).status_code == 404


async def test_a_coordinator_sends_from_the_page_and_a_bad_form_says_why(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    await login(client, coordinator)
    base = f"/lund/planning/elections/{day.election_id}/live/messages"
    page = await client.get(base)
    assert page.status_code == 200
    assert 'name="station_id"' in await page.get_data(as_text=True)
    refused = await post_form(client, base, {"scope": "station", "station_id": "", "text": "Hej"})
    body = await refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="field-station_id"' in body and 'aria-invalid="true"' in body
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(StationMessage.id))) == 0
    sent = await post_form(
        client, base, {"scope": "station", "station_id": str(day.station_id), "text": "Hej"}
    )
    assert sent.status_code == 302
    listed = await (await client.get(base)).get_data(as_text=True)
    assert "Hej" in listed and "0 av 1" in listed
