"""Languages on the demo, in a real browser: a Danish reader's first visit to the pay
page, the Swedish board after an HTMX change, and an English page with dates."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS, choose_in_swapping_filter
from tests.browser.test_recruitment import DESKTOP, PHONE, _new_page, _sign_in_planner

ELECTION = "Val till riksdag, region och kommun 2026"


async def test_every_page_speaks_the_readers_language(live_server: str, browser: Browser) -> None:
    errors: list[str] = []

    # A Danish browser's first visit: the site in Danish, the pay page as complete as
    # the Swedish one (the demo's Swedish is not newer, so no notice).
    phone = await _new_page(browser, errors, locale="da-DK", **PHONE)
    await phone.goto(f"{live_server}/demo/pay")
    await expect(phone.locator("html")).to_have_attribute("lang", "da")
    article = phone.locator("article")
    await expect(article).to_contain_text("Brevstemmeafgivning")
    await expect(article).to_contain_text("300 kr.")
    await expect(phone.locator(".version-notice")).to_have_count(0)
    await phone.screenshot(path=str(ARTIFACTS / "languages-pay-da-phone.png"), full_page=True)

    # The Swedish board: after taking one person off (HTMX swaps the station's card),
    # the states are still in Swedish.
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(page, live_server)
    await page.goto(f"{live_server}/demo/planning/elections/")
    await page.get_by_role("link", name=ELECTION).click()
    await page.get_by_role("link", name="Bemanning", exact=True).click()
    await choose_in_swapping_filter(page, "#field-district", index=1)
    district_board = page.url
    station = page.locator(".station-card", has=page.locator(".holders li")).first
    station_id = await station.get_attribute("id")
    holder = station.locator(".holders li").first
    name = await holder.locator("a").inner_text()
    await holder.locator("form button").click()
    card = page.locator(f"#{station_id}")
    # The x asks first, in the station's panel (in Swedish too).
    await (
        card.locator(".withdraw-confirm")
        .get_by_role("button", name="Ja, ta bort från passet")
        .click()
    )
    await expect(card.locator(".holders li a", has_text=name)).to_have_count(0)
    states = set(await card.locator(".holders .state").all_inner_texts())
    assert states and states <= {"föreslagen", "erbjuden", "accepterad"}, states
    await card.screenshot(path=str(ARTIFACTS / "languages-board-sv-after-htmx.png"))

    # In English: role names the office gave in English, dates the British way.
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    # Back on the same board, its district still chosen (the query the filter pushed).
    assert "district=" in district_board
    await expect(page).to_have_url(district_board)
    await expect(page.locator(".station-card").first).to_contain_text("Poll clerk")
    await page.goto(f"{live_server}/demo/planning/applications/")
    body = await page.locator("main").inner_text()
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2,3} \d{4}, \d{2}:\d{2}\b", body), body[:500]
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{2}|\b(AM|PM)\b", body)
    await page.screenshot(path=str(ARTIFACTS / "languages-applications-en.png"))
    assert not errors, errors
