"""A station lead checks in on the phone: the same page's team list and what keeps the
station from opening say so at once, not "not arrived" until the page is reloaded
(found walking the README as a newcomer)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_election_day_live import CLERK_EMAIL, STATION
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import PHONE, _new_page

CLERK_NAME = "Robin Röstmottagare"


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def test_the_leads_own_check_in_shows_in_the_team_without_a_reload(
    live_server: str, browser: Browser
) -> None:
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
