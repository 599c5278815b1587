"""The clerk's calendar feed: a secret address, the person's own offered and accepted
shifts in the municipality's time, reset and turned off, and nobody else's data."""

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import AuditEntry, Tenant, User
from app.core.security import hash_token
from app.core.tenancy import tenant_scope
from app.domain.clerks import calendar_feed
from app.domain.models import Person, Shift, Station
from app.domain.registers.premises import save_building, save_room
from app.domain.staffing.assignments import assign_person
from tests.factories import login, make_clerk, make_staffed_station, make_user, post_form

ACTOR = Actor.system("test")
FEED = re.compile(r'value="(http://localhost(/lund/portal/calendar/([A-Za-z0-9_-]+)\.ics))"')
STOCKHOLM = ZoneInfo("Europe/Stockholm")
#: Summer (CEST, UTC+2) and winter (CET, UTC+1) days, both ahead of today.
SUMMER = dt.date(dt.date.today().year + 1, 9, 12)
WINTER = dt.date(dt.date.today().year + 1, 1, 17)


async def _station_with_place(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    """Hamnskolan in a building with an address and a room; the early shift on a summer
    day, the late one on a winter day."""
    s = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id):
        building = await save_building(
            db,
            ACTOR,
            {"name": "Hamnhuset", "street_address": "Hamngatan 1", "postal_code": "211 22",
             "city": "Lund", "access_notes": "Ingång från gården."},
        )  # fmt: skip
        room = await save_room(db, ACTOR, building.id, {"name": "Aulan", "capacity": "40"})
        station = await db.get(Station, s["station"].id)
        assert station is not None
        station.room_id = room.id
        for key, day in (("early", SUMMER), ("late", WINTER)):
            shift = await db.get(Shift, s[key].id)
            assert shift is not None
            shift.day = day
        await db.commit()
    return s


async def _place(
    db: AsyncSession, tenant: Tenant, s: dict[str, Any], shift: str, role: str, person: Any,
    state: str,
) -> Any:  # fmt: skip
    with tenant_scope(tenant.id):
        assignment = await assign_person(
            db, ACTOR, s[shift].id, s["roles"][role].id, person.id, override=True
        )
        assignment.state = state
        await db.commit()
    return assignment


async def _linked_clerk(
    db: AsyncSession, tenant: Tenant, s: dict[str, Any], **fields: Any
) -> tuple[User, Person]:
    user = await make_user(db, tenant, "clerk")
    person = await make_clerk(db, tenant, s["election"], **fields)
    with tenant_scope(tenant.id):
        person.user_id = user.id
        await db.commit()
    return user, person


async def _feed_address(client: QuartClient) -> tuple[str, str]:
    """Make the address (if there is none yet) and read it off the profile page."""
    page = await (await client.get("/lund/portal/profile")).get_data(as_text=True)
    found = FEED.search(page)
    if found is None:
        await post_form(client, "/lund/portal/calendar/reset")
        page = await (await client.get("/lund/portal/profile")).get_data(as_text=True)
        found = FEED.search(page)
    assert found is not None
    assert f'href="webcal://localhost{found.group(2)}"' in page
    return found.group(2), found.group(3)


async def _fetch(app: Any, path: str) -> Any:
    # A fresh client: calendar apps have no session.
    return await app.test_client().get(path)


async def test_it_lists_my_offered_and_accepted_shifts_in_local_time(
    app: Any, client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await _station_with_place(db, tenant)
    user, me = await _linked_clerk(db, tenant, s)
    accepted = await _place(db, tenant, s, "early", "chair", me, "accepted")
    offered = await _place(db, tenant, s, "late", "clerk", me, "offered")
    other = await make_clerk(db, tenant, s["election"], first_name="Någon", last_name="Annan")
    other_station = await make_staffed_station(db, tenant, s["election"], name="Västerskolan")
    await _place(db, tenant, other_station, "early", "clerk", other, "accepted")
    await _place(db, tenant, s, "early", "clerk", other, "accepted")
    await login(client, user)
    path, _token = await _feed_address(client)

    response = await _fetch(app, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.get_data()
    calendar = icalendar.Calendar.from_ical(body)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {
        f"assignment-{accepted.id}.lund@stemma",
        f"assignment-{offered.id}.lund@stemma",
    }
    chair = events[f"assignment-{accepted.id}.lund@stemma"]
    assert str(chair["SUMMARY"]) == "Ordförande · Hamnskolan"
    assert str(chair["LOCATION"]) == "Hamnhuset, Hamngatan 1, 211 22 Lund"
    assert "Rum: Aulan" in str(chair["DESCRIPTION"]) and "Ingång från gården." in str(
        chair["DESCRIPTION"]
    )
    assert str(chair["STATUS"]) == "CONFIRMED"
    start, end = chair.decoded("DTSTART"), chair.decoded("DTEND")
    assert start == dt.datetime.combine(SUMMER, dt.time(7, 30), STOCKHOLM)
    assert start.astimezone(dt.UTC).time() == dt.time(5, 30)  # CEST
    assert end.astimezone(dt.UTC).time() == dt.time(12, 0)
    assert b"DTSTART;TZID=Europe/Stockholm:" + SUMMER.strftime("%Y%m%d").encode() in body
    assert b"BEGIN:VTIMEZONE" in body
    offer = events[f"assignment-{offered.id}.lund@stemma"]
    assert str(offer["SUMMARY"]) == "Erbjudande: Röstmottagare · Hamnskolan"
    assert str(offer["STATUS"]) == "TENTATIVE"
    assert offer.decoded("DTSTART").astimezone(dt.UTC).time() == dt.time(12, 30)  # CET
    # Nobody else's data: not the co-worker, not their station.
    text = body.decode()
    assert "Västerskolan" not in text and "Annan" not in text
    # The same address and the same event ids on the next visit.
    again_path, _again = await _feed_address(client)
    assert again_path == path
    again = icalendar.Calendar.from_ical(await (await _fetch(app, path)).get_data())
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == set(events)


async def test_it_leaves_out_proposals_declines_and_other_peoples_shifts(
    app: Any, client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await _station_with_place(db, tenant)
    user, me = await _linked_clerk(db, tenant, s)
    await _place(db, tenant, s, "early", "clerk", me, "proposed")
    await _place(db, tenant, s, "late", "clerk", me, "declined")
    await login(client, user)
    path, _token = await _feed_address(client)
    calendar = icalendar.Calendar.from_ical(await (await _fetch(app, path)).get_data())
    assert calendar.walk("VEVENT") == []


async def test_it_stores_only_the_hash_and_resets_the_address(
    app: Any, client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await _station_with_place(db, tenant)
    user, me = await _linked_clerk(db, tenant, s)
    await login(client, user)
    old_path, old_token = await _feed_address(client)
    with tenant_scope(tenant.id):
        stored = await db.scalar(
            select(Person).where(Person.id == me.id).execution_options(populate_existing=True)
        )
    assert stored is not None and stored.calendar_token_hash == hash_token(old_token)
    assert old_token not in repr(
        [getattr(stored, c.key) for c in Person.__table__.columns]  # type: ignore[attr-defined]
    )
    assert (await post_form(client, "/lund/portal/calendar/reset")).status_code == 302
    new_path, _new_token = await _feed_address(client)
    assert new_path != old_path
    assert (await _fetch(app, old_path)).status_code == 404
    assert (await _fetch(app, new_path)).status_code == 200
    with tenant_scope(tenant.id):
        codes = list(
            await db.scalars(
                select(AuditEntry.code).where(AuditEntry.code.like("portal.calendar.%"))
            )
        )
    assert sorted(codes) == ["portal.calendar.created", "portal.calendar.reset"]


async def test_it_turns_the_address_off(
    app: Any, client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await _station_with_place(db, tenant)
    user, _me = await _linked_clerk(db, tenant, s)
    await login(client, user)
    path, _token = await _feed_address(client)
    assert (await post_form(client, "/lund/portal/calendar/stop")).status_code == 302
    assert (await _fetch(app, path)).status_code == 404
    page = await (await client.get("/lund/portal/profile")).get_data(as_text=True)
    assert FEED.search(page) is None and "Skapa min kalenderadress" in page


async def test_it_answers_404_for_an_unknown_token_or_another_municipalitys(
    app: Any, client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    s = await _station_with_place(db, tenant)
    user, _me = await _linked_clerk(db, tenant, s)
    await login(client, user)
    path, token = await _feed_address(client)
    assert (await _fetch(app, "/lund/portal/calendar/" + "A" * 43 + ".ics")).status_code == 404
    assert (await _fetch(app, "/lund/portal/calendar/.ics")).status_code == 404
    assert (await _fetch(app, f"/malmo/portal/calendar/{token}.ics")).status_code == 404
    assert (await _fetch(app, path)).status_code == 200


async def test_it_keeps_the_reset_to_the_clerk_themselves(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User, outsider: User
) -> None:
    await login(client, clerk)  # a clerk without a person record
    assert (await post_form(client, "/lund/portal/calendar/reset")).status_code == 404
    await login(client, outsider)
    for path in ("/lund/portal/calendar/reset", "/lund/portal/calendar/stop"):
        assert (await post_form(client, path)).status_code == 404


async def test_the_feeds_window_starts_from_the_municipalitys_date(
    db: AsyncSession, tenant: Tenant, monkeypatch: Any
) -> None:
    """The feed reaches PAST_DAYS back from the local date: at 00:30 in Stockholm (22:30
    or 23:30 UTC, the server's date still the day before) a shift on the first day
    outside the window is gone, whatever day the tests run."""
    s = await _station_with_place(db, tenant)
    _user, person = await _linked_clerk(db, tenant, s)
    await _place(db, tenant, s, "early", "chair", person, "accepted")
    last_day = SUMMER + dt.timedelta(days=calendar_feed.PAST_DAYS)
    evening = dt.datetime.combine(last_day, dt.time(23, 30), tzinfo=STOCKHOLM)
    after_midnight = evening + dt.timedelta(hours=1)
    assert after_midnight.astimezone(dt.UTC).date() == last_day  # the server's date
    with tenant_scope(tenant.id):
        uids = {}
        for name, now in (("evening", evening), ("after midnight", after_midnight)):
            monkeypatch.setattr(calendar_feed, "utcnow", lambda now=now: now.astimezone(dt.UTC))
            events = await calendar_feed.shift_events(db, tenant, person)
            uids[name] = [event.starts_at.date() for event in events]
    assert uids == {"evening": [SUMMER], "after midnight": []}
    assert calendar_feed.feed_since(STOCKHOLM, after_midnight) == SUMMER + dt.timedelta(days=1)
