"""The reminders' page of an election: the settings form (bad input refused at its
field, nothing saved), what will be sent next and what was sent, on the election's
page too; an outsider gets 404."""

from __future__ import annotations

import datetime as dt

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, ReminderSettings
from app.jobs.election_reminders import send_reminders_everywhere
from tests.domain.reminders.test_sending import SETTINGS, at
from tests.factories import login, make_person, make_staffed_station, post_form

GOOD = {**SETTINGS, "wake_up_at": "06:30"}


async def _election(db: AsyncSession, tenant: Tenant) -> dict[str, object]:
    pieces = await make_staffed_station(db, tenant)
    person = await make_person(db, tenant, email="kalle@example.se", mobile="+46709990001")
    with tenant_scope(tenant.id):
        db.add(
            Assignment(
                election_id=pieces["election"].id,
                station_id=pieces["station"].id,
                shift_id=pieces["early"].id,
                role_type_id=pieces["roles"]["clerk"].id,
                person_id=person.id,
                state="accepted",
            )
        )
        await db.commit()
    return pieces


async def _kept(db: AsyncSession, tenant: Tenant) -> ReminderSettings | None:
    with tenant_scope(tenant.id):
        return await db.scalar(select(ReminderSettings).execution_options(populate_existing=True))


async def test_a_planner_switches_the_reminders_on_and_sees_what_comes_next(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    pieces = await _election(db, tenant)
    election = pieces["election"]
    planner.locale = "en"
    await db.commit()
    await login(client, planner)
    path = f"/lund/planning/elections/{election.id}/reminders"
    page = await (await client.get(path)).get_data(as_text=True)
    assert "Every reminder is off." in page
    saved = await post_form(client, path, GOOD)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(path)
    kept = await _kept(db, tenant)
    assert kept is not None and kept.shift_reminder_on and kept.wake_up_at == dt.time(6, 30)
    assert (kept.shift_reminder_days, kept.offer_hour) == (3, 11)
    page = await (await client.get(path)).get_data(as_text=True)
    assert "The reminders have been saved." in page
    assert "Next to be sent" in page and "Wake-up on the day" in page
    # Each reminder's text is the office's to write, in the message templates.
    editor = "/lund/planning/message-templates/wake_up/sms/sv"
    assert f'href="{editor}"' in page
    assert (await client.get(editor)).status_code == 200
    # The election's own page shows the same overview.
    detail = await (await client.get(f"/lund/planning/elections/{election.id}/")).get_data(
        as_text=True
    )
    assert "Next to be sent" in detail and "Shift reminder" in detail


async def test_the_swedish_settings_name_each_occasions_channels_in_lower_case(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    pieces = await _election(db, tenant)
    await login(client, planner)
    path = f"/lund/planning/elections/{pieces['election'].id}/reminders"
    page = await (await client.get(path)).get_data(as_text=True)
    assert "Väckning på dagen (bara sms)</legend>" in page
    assert "(e-post och sms)</legend>" in page and "(Sms)" not in page


async def test_it_counts_what_was_sent_per_occasion(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    planner: User,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    pieces = await _election(db, tenant)
    election = pieces["election"]
    planner.locale = "en"
    await db.commit()
    await login(client, planner)
    path = f"/lund/planning/elections/{election.id}/reminders"
    assert (await post_form(client, path, GOOD)).status_code == 302
    day = election.election_day
    now = at(day - dt.timedelta(days=3), 10, 5)
    assert await send_reminders_everywhere(session_factory, "http://stemma.test", now) == {
        "lund": 1
    }
    page = await (await client.get(path)).get_data(as_text=True)
    row = page.split("<td>Shift reminder</td>", 2)[2].split("</tr>", 1)[0]
    assert "<td>1</td>" in row and "<td>0</td>" in row


async def test_it_refuses_bad_settings_at_their_fields_and_keeps_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    pieces = await _election(db, tenant)
    planner.locale = "en"
    await db.commit()
    await login(client, planner)
    path = f"/lund/planning/elections/{pieces['election'].id}/reminders"
    bad = {
        **GOOD,
        "shift_reminder_days": "many",
        "offer_days": "0",
        "eve_hour": "25",
        "wake_up_at": "26:99",
    }
    answer = await post_form(client, path, bad)
    body = await answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Enter a whole number." in body
    assert "Enter a number from 1 to 30." in body
    assert "Enter a number from 0 to 23." in body
    assert "Enter a time as HH:MM." in body
    assert 'id="field-wake_up_at-error"' in body
    assert await _kept(db, tenant) is None
    missing = await post_form(client, path, {**GOOD, "offer_hour": ""})
    assert missing.status_code == 422
    assert "This field is required." in await missing.get_data(as_text=True)
    assert await _kept(db, tenant) is None


async def test_a_coordinator_sees_the_reminders_but_cannot_change_them(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    pieces = await _election(db, tenant)
    await login(client, coordinator)
    path = f"/lund/planning/elections/{pieces['election'].id}/reminders"
    page = await client.get(path)
    assert page.status_code == 200
    assert 'name="shift_reminder_on"' not in await page.get_data(as_text=True)
    assert (await post_form(client, path, GOOD)).status_code == 403
    assert await _kept(db, tenant) is None


async def test_an_outsider_gets_404_and_the_anonymous_the_sign_in(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User
) -> None:
    pieces = await _election(db, tenant)
    path = f"/lund/planning/elections/{pieces['election'].id}/reminders"
    anonymous = await client.get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    await login(client, outsider)
    assert (await client.get(path)).status_code == 404
    assert (await post_form(client, path, GOOD)).status_code == 404
    # Their own municipality has no such election either.
    assert (
        await client.get(f"/malmo/planning/elections/{pieces['election'].id}/reminders")
    ).status_code == 404
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(ReminderSettings.id))) == 0
