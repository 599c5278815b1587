"""The clerk's election-day page: check-in without JavaScript, and the chair's station view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import (
    TURNOUT_SLOTS,
    CheckIn,
    Incident,
    Shift,
    StationStatus,
    TurnoutReport,
)
from tests.domain.ops.test_checkins import link_user, ops_day
from tests.factories import csrf_token, login, make_user, post_form

PAGE = "/lund/portal/election-day"


async def login_en(client: QuartClient, user: User) -> None:
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})


@dataclass(frozen=True)
class Today:
    station_id: int
    early_id: int
    late_id: int
    chair: User
    clerk: User


async def today_at_station(db: AsyncSession, tenant: Tenant, clerk: User) -> Today:
    """A station whose early shift runs all of today (so check-in is open whenever the
    test runs) and whose late shift is tomorrow; ``clerk`` is a clerk of the early
    shift, a new user its chair."""
    day = await ops_day(db, tenant)
    today = dt.datetime.now(ZoneInfo(tenant.timezone)).date()
    with tenant_scope(tenant.id):
        early = await db.scalar(select(Shift).where(Shift.id == day.early_id))
        late = await db.scalar(select(Shift).where(Shift.id == day.late_id))
        assert early is not None and late is not None
        early.day, early.starts_at, early.ends_at = today, dt.time(0, 0), dt.time(23, 59)
        late.day = today + dt.timedelta(days=1)
        await db.commit()
    chair = await make_user(db, tenant, "clerk", name="Chair Person")
    await link_user(db, tenant, day.chair_id, chair)
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    return Today(day.station_id, day.early_id, day.late_id, chair, clerk)


async def place_on_late_shift(
    db: AsyncSession, tenant: Tenant, person_id: int, late_id: int
) -> None:
    from app.core.audit import Actor
    from app.domain.models import RoleType
    from app.domain.staffing import assignments

    with tenant_scope(tenant.id):
        clerk_role = await db.scalar(select(RoleType).where(RoleType.code == "clerk"))
        assert clerk_role is not None
        placed = await assignments.assign_person(
            db, Actor.system("test"), late_id, clerk_role.id, person_id, override=True
        )
        placed.state = "accepted"
        await db.commit()


async def count(db: AsyncSession, tenant: Tenant, model: type) -> int:
    with tenant_scope(tenant.id):
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_it_shows_the_check_in_and_the_menu_entry(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    await today_at_station(db, tenant, clerk)
    await login_en(client, clerk)
    response = await client.get("/lund/portal/")
    home = await response.get_data(as_text=True)
    assert 'href="/lund/portal/election-day"' in home
    response = await client.get(PAGE)
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hamnskolan" in body
    assert 'data-kind="arrived"' in body
    assert 'name="idempotency_key"' in body
    assert "js/checkin.js" in body and "css/election_day.css" in body
    # A clerk who does not lead the station sees no station controls.
    assert "station-lead" not in body
    assert "/state" not in body


async def test_it_hides_the_menu_entry_without_a_shift_soon(
    client: QuartClient, clerk: User
) -> None:
    await login(client, clerk)
    home = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert 'href="/lund/portal/election-day"' not in home


async def test_it_checks_in_without_javascript_and_replays_the_same_answer(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login(client, clerk)
    form = {"shift_id": str(setup.early_id), "kind": "arrived", "idempotency_key": "form-key-1"}
    first = await post_form(client, PAGE + "/check-in", form)
    assert first.status_code == 302
    first_page = await (await client.get(PAGE)).get_data(as_text=True)
    again = await post_form(client, PAGE + "/check-in", form)
    assert again.status_code == 302
    again_page = await (await client.get(PAGE)).get_data(as_text=True)
    assert await count(db, tenant, CheckIn) == 1
    with tenant_scope(tenant.id):
        row = await db.scalar(select(CheckIn))
        assert row is not None
        assert (row.source, row.idempotency_key, row.kind) == ("portal", "form-key-1", "arrived")
    confirmed = row.checked_at.astimezone(ZoneInfo(tenant.timezone)).strftime("%H:%M")
    for page in (first_page, again_page):
        assert confirmed in page
        assert page.count("flash-success") == 1
    # Checked in: the page now offers "I am leaving".
    assert 'data-kind="left" data-shift-id' in again_page
    assert f'data-kind="arrived" data-shift-id="{setup.early_id}" hidden' in again_page


async def test_it_makes_a_key_when_the_form_sends_none(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login(client, clerk)
    response = await post_form(
        client, PAGE + "/check-in", {"shift_id": str(setup.early_id), "kind": "arrived"}
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        row = await db.scalar(select(CheckIn))
    assert row is not None and len(row.idempotency_key) == 36


async def test_it_refuses_a_shift_that_is_not_today_with_a_message(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    with tenant_scope(tenant.id):
        from app.domain.models import Person

        person = await db.scalar(select(Person).where(Person.user_id == clerk.id))
        assert person is not None
        person_id = person.id
    await place_on_late_shift(db, tenant, person_id, setup.late_id)
    await login_en(client, clerk)
    token = await csrf_token(client)
    response = await client.post(
        PAGE + "/check-in",
        form={"shift_id": str(setup.late_id), "kind": "arrived", "csrf_token": token},
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Check-in for this shift opens at" in body
    assert await count(db, tenant, CheckIn) == 0
    # Tomorrow's shift is listed, with when check-in opens.
    assert "Tomorrow" in body


async def test_it_tells_a_clerk_without_a_shift_at_the_posters_station(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login_en(client, clerk)
    here = await client.get(f"{PAGE}?station={setup.station_id}")
    elsewhere = await client.get(f"{PAGE}?station={setup.station_id + 999}")
    assert "You have no shift at this station today." not in await here.get_data(as_text=True)
    body = await elsewhere.get_data(as_text=True)
    assert elsewhere.status_code == 200
    assert "You have no shift at this station today." in body


async def test_it_shows_the_chair_the_team_and_opens_only_with_a_reason(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login_en(client, setup.chair)
    page = await (await client.get(PAGE + "")).get_data(as_text=True)
    assert "station-lead" in page
    assert "Not arrived" in page
    assert "No chair or vice chair has checked in." in page
    token = await csrf_token(client, PAGE)
    refused = await client.post(
        f"{PAGE}/stations/{setup.station_id}/state",
        form={"state": "open", "expected_state": "not_opened", "csrf_token": token},
    )
    body = await refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Give a reason to open anyway." in body
    assert 'name="override_reason"' in body
    assert await count(db, tenant, StationStatus) == 0
    opened = await client.post(
        f"{PAGE}/stations/{setup.station_id}/state",
        form={
            "state": "open",
            "expected_state": "not_opened",
            "override_reason": "The others are parking",
            "csrf_token": token,
        },
    )
    assert opened.status_code == 302
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "The others are parking" in page
    with tenant_scope(tenant.id):
        status = await db.scalar(select(StationStatus))
        assert status is not None
        assert (status.state, status.override_reason) == ("open", "The others are parking")


async def test_it_opens_without_a_reason_when_the_checks_pass(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login(client, setup.chair)
    # The chair checks in from the phone (the JSON API with the session); a coordinator
    # checks in the rest of the team.
    with tenant_scope(tenant.id):
        from app.domain.models import Assignment, Person

        chair_id = await db.scalar(select(Person.id).where(Person.user_id == setup.chair.id))
        others = list(
            await db.scalars(
                select(Assignment.person_id).where(
                    Assignment.shift_id == setup.early_id, Assignment.person_id != chair_id
                )
            )
        )
    token = await csrf_token(client, PAGE)
    response = await client.post(
        "/api/v1/checkins",
        json={"person_id": chair_id, "shift_id": setup.early_id, "kind": "arrived"},
        headers={"Idempotency-Key": "chair-phone", "X-CSRF-Token": token},
    )
    assert response.status_code == 201
    for number, person_id in enumerate(others):
        await _coordinator_check_in(db, tenant, person_id, setup.early_id, f"team-{number}")
    opened = await client.post(
        f"{PAGE}/stations/{setup.station_id}/state",
        form={"state": "open", "expected_state": "not_opened", "csrf_token": token},
    )
    assert opened.status_code == 302
    with tenant_scope(tenant.id):
        status = await db.scalar(select(StationStatus))
        assert status is not None
        assert (status.state, status.override_reason) == ("open", "")


async def _coordinator_check_in(
    db: AsyncSession, tenant: Tenant, person_id: int, shift_id: int, key: str
) -> None:
    from app.core.audit import Actor
    from app.domain.ops.checkins import check_in

    with tenant_scope(tenant.id):
        await check_in(
            db,
            Actor(label="coordinator@lund.test"),
            person_id=person_id,
            shift_id=shift_id,
            kind="arrived",
            idempotency_key=key,
            source="coordinator",
        )


async def test_it_lets_the_chair_report_an_incident_a_note_and_turnout(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login_en(client, setup.chair)
    token = await csrf_token(client, PAGE)
    missing = await client.post(
        f"{PAGE}/stations/{setup.station_id}/incidents",
        form={"category": "queue", "severity": "high", "text": "", "csrf_token": token},
    )
    assert missing.status_code == 422
    assert 'aria-invalid="true"' in await missing.get_data(as_text=True)
    reported = await client.post(
        f"{PAGE}/stations/{setup.station_id}/incidents",
        form={
            "category": "material",
            "severity": "high",
            "text": "The ballot papers for the region are missing",
            "csrf_token": token,
        },
    )
    assert reported.status_code == 302
    with tenant_scope(tenant.id):
        incident = await db.scalar(select(Incident))
        assert incident is not None
        incident_id = incident.id
        assert (incident.severity, incident.state) == ("high", "open")
    noted = await client.post(
        f"{PAGE}/stations/{setup.station_id}/notes",
        form={
            "incident_id": str(incident_id),
            "text": "Fetched from the school office",
            "csrf_token": token,
        },
    )
    assert noted.status_code == 302
    bad_count = await client.post(
        f"{PAGE}/stations/{setup.station_id}/turnout",
        form={"slot": "11:00", "count": "many", "csrf_token": token},
    )
    assert bad_count.status_code == 422
    turnout = await client.post(
        f"{PAGE}/stations/{setup.station_id}/turnout",
        form={"slot": "11:00", "count": "123", "csrf_token": token},
    )
    assert turnout.status_code == 302
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "The ballot papers for the region are missing" in page
    assert "Fetched from the school office" in page
    assert "<td>123</td>" in page
    assert await count(db, tenant, TurnoutReport) == 1


async def test_the_page_stands_once_every_turnout_time_is_reported(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    """After the last time of the day is reported the form offers that time again, for a
    correction (it was a 500 from 20:00 on the demo, whose earlier times are reported)."""
    setup = await today_at_station(db, tenant, clerk)
    await login_en(client, setup.chair)
    token = await csrf_token(client, PAGE)
    for number, slot in enumerate(TURNOUT_SLOTS, start=1):
        reported = await client.post(
            f"{PAGE}/stations/{setup.station_id}/turnout",
            form={"slot": slot, "count": str(100 * number), "csrf_token": token},
        )
        assert reported.status_code == 302, slot
    response = await client.get(PAGE)
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert f'<option value="{TURNOUT_SLOTS[-1]}" selected>' in page
    assert await count(db, tenant, TurnoutReport) == len(TURNOUT_SLOTS)


async def test_it_refuses_station_controls_to_a_clerk_who_does_not_lead(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login_en(client, clerk)
    token = await csrf_token(client, PAGE)
    response = await client.post(
        f"{PAGE}/stations/{setup.station_id}/state",
        form={"state": "open", "override_reason": "why not", "csrf_token": token},
    )
    assert response.status_code == 403
    assert "You may not do this at this station." in await response.get_data(as_text=True)
    assert await count(db, tenant, StationStatus) == 0


async def test_it_sends_anonymous_to_login(client: QuartClient, tenant: Tenant) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


async def test_it_gives_an_outsider_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User, outsider: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login(client, outsider)
    assert (await client.get(PAGE)).status_code == 404
    token = await csrf_token(client, "/login")
    response = await client.post(
        f"{PAGE}/stations/{setup.station_id}/incidents",
        form={"category": "queue", "severity": "low", "text": "x", "csrf_token": token},
    )
    assert response.status_code == 404
    assert await count(db, tenant, Incident) == 0


async def test_it_refuses_a_turnout_count_of_digits_int_cannot_read(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    setup = await today_at_station(db, tenant, clerk)
    await login_en(client, setup.chair)
    token = await csrf_token(client, PAGE)
    for count in ("²", "١٢", "9" * 30):
        response = await client.post(
            f"{PAGE}/stations/{setup.station_id}/turnout",
            form={"slot": "11:00", "count": count, "csrf_token": token},
        )
        assert response.status_code == 422, count
