"""A station lead checks in on the phone: the same page's team list and what keeps the
station from opening say so at once, not "not arrived" until the page is reloaded
(found walking the README as a newcomer)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select, update

from app.core.settings import Settings
from app.domain.models import Assignment, Person, RoleType, Shift, Station
from tests.browser.conftest import in_the_demo
from tests.browser.test_election_day_live import CLERK_EMAIL, STATION
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import PHONE, _new_page

CLERK_NAME = "Robin Röstmottagare"


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def _lead_shift_runs_all_day(settings: Settings) -> None:
    """Stretch the lead's shift over the whole day. The opening check counts the shift
    at work now, and from 14:00 that is the late one; the test must not depend on the
    hour it runs."""
    async with in_the_demo(settings) as connection:
        shift_id = await connection.scalar(
            select(Assignment.shift_id)
            .join(Person, Person.id == Assignment.person_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .join(Shift, Shift.id == Assignment.shift_id)
            .join(Station, Station.id == Shift.station_id)
            .where(Person.email == CLERK_EMAIL, RoleType.code == "chair")
            .where(Station.name == STATION)
        )
        assert shift_id is not None
        await connection.execute(
            update(Shift)
            .where(Shift.id == shift_id)
            .values(starts_at=dt.time(0, 0), ends_at=dt.time(23, 59))
        )


async def test_the_leads_own_check_in_shows_in_the_team_without_a_reload(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    await _lead_shift_runs_all_day(settings)
    errors: list[str] = []
    page = await _new_page(browser, errors, **PHONE)
    await sign_in(page, live_server, CLERK_EMAIL)
    await page.goto(f"{live_server}/demo/portal/election-day")
    lead = page.locator("section.station-lead").filter(has_text=STATION)
    me = lead.locator(".roster li").filter(has_text=CLERK_NAME)
    await expect(me).to_have_class("roster-missing")
    problems = lead.locator(".opening-problems li")
    before = await problems.all_inner_texts()

    card = page.locator("[data-checkin-card]").filter(has_text=STATION)
    await card.locator(".checkin-arrived").click()
    await expect(card.locator(".checkin-confirmed")).to_have_count(1)

    await expect(me).to_have_class("roster-arrived")
    await expect(me.locator(".roster-status")).to_contain_text("På plats sedan")
    await expect(problems).not_to_have_text(before)
    assert errors == []
    await page.context.close()
