"""Issue 20, items 10 and 11, on a phone: the public site's header is one row with a
menu button, an election's "all days" box ticks every day; the portal's check-in says
"sending" while it waits for the server, "no answer yet" when the server is slow, and
"offline" only when the phone is."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Route, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_election_day_live import CLERK_EMAIL, STATION
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import ELECTION, PHONE, _assert_fits_phone, _new_page


def _shot(name: str) -> str:
    return str(ARTIFACTS / f"phone-{name}.png")


async def test_the_public_header_is_one_row_and_all_days_ticks_every_day(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **PHONE)
    await page.goto(f"{live_server}/demo/")
    header = await page.locator("header.public-header").bounding_box()
    assert header is not None
    # One row: the name, "Apply now" and the menu button (before: 250-470 px of 844).
    assert header["height"] < 100, header
    menu = page.locator("details.site-menu")
    await expect(menu.get_by_role("link", name="Kontakt")).to_be_hidden()
    await _assert_fits_phone(page)
    await page.screenshot(path=_shot("public-home"), caret="initial")
    await menu.locator("summary").click()
    await expect(menu.get_by_role("button", name="English")).to_be_visible()
    await page.screenshot(path=_shot("public-menu-open"), caret="initial")
    await menu.get_by_role("link", name="Kontakt").click()
    await expect(page).to_have_url(f"{live_server}/demo/contact")

    await page.get_by_role("link", name="Ansök nu").click()
    await expect(page).to_have_url(f"{live_server}/demo/apply")
    election = page.locator("fieldset.election-choice").filter(has_text=ELECTION)
    days = election.locator(".day-choices input[type=checkbox]:not([value=all])")
    every = election.locator(".day-choices input[value=all]")
    await expect(every).to_be_visible()
    assert await days.count() > 1
    await every.check()
    for index in range(await days.count()):
        await expect(days.nth(index)).to_be_checked()
    await days.first.uncheck()
    await expect(every).not_to_be_checked()
    await days.first.check()
    await expect(every).to_be_checked()
    await _assert_fits_phone(page)
    await election.screenshot(path=_shot("public-all-days"), caret="initial")
    assert errors == []
    await page.context.close()


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def test_check_in_says_sending_then_no_answer_yet_and_offline_only_when_offline(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    # Without the service worker, so the test's route sees the page's requests.
    page = await _new_page(browser, errors, service_workers="block", **PHONE)
    await sign_in(page, live_server, CLERK_EMAIL)
    await page.goto(f"{live_server}/demo/portal/election-day")
    card = page.locator("[data-checkin-card]").filter(has_text=STATION)
    banner = page.locator("[data-checkin-offline]")

    # The server is slow: the check-in waits for it.
    answer = asyncio.Event()

    async def slow_server(route: Route) -> None:
        await answer.wait()
        await route.continue_()

    await page.route("**/api/v1/checkins", slow_server)
    await card.locator(".checkin-arrived").click()
    sending = card.locator('.checkin-queued[data-state="sending"]')
    await expect(sending).to_contain_text("Skickar")
    await expect(banner).to_be_hidden()
    await page.screenshot(path=_shot("checkin-sending"), caret="initial")
    # Still no answer after a while: "no answer yet, we keep trying", never "offline".
    await expect(banner).to_have_attribute("data-state", "waiting", timeout=15_000)
    await expect(banner).to_contain_text("Inget svar från servern än")
    await expect(banner).not_to_contain_text("offline")
    await page.screenshot(path=_shot("checkin-waiting"), caret="initial")
    answer.set()
    await expect(card.locator(".checkin-confirmed")).to_have_count(1)
    await expect(card.locator(".checkin-queued")).to_have_count(0)
    await expect(banner).to_be_hidden()
    await page.unroute("**/api/v1/checkins")

    # The phone goes offline: now the page says so, and keeps the check-in.
    await page.context.set_offline(True)
    await expect(banner).to_have_attribute("data-state", "offline")
    await expect(banner).to_contain_text(re.compile("offline", re.I))
    await card.locator(".checkin-left").click()
    await expect(card.locator('.checkin-queued[data-state="queued"]')).to_have_count(1)
    await page.screenshot(path=_shot("checkin-offline"), caret="initial")
    await page.context.set_offline(False)
    await expect(card.locator(".checkin-confirmed")).to_have_count(2)
    await expect(banner).to_be_hidden()
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    await page.context.close()
