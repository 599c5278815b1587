"""The optimiser's proposal on the demo says how good it is ("optimal", or the gap to a
proven bound) and why each place it leaves open stays empty; seen on a desktop and a
phone."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import DESKTOP, PHONE, _new_page, _sign_in_planner
from tests.browser.test_staffing import _open_board

QUALITY = re.compile(r"Optimalt|Inom [0-9]+,[0-9]{2,4} % från det bästa möjliga")


async def test_the_proposal_says_optimal_or_its_gap_and_why_places_stay_open(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    await _sign_in_planner(page, live_server)
    await _open_board(page, live_server)

    await page.locator("form[action$='/autostaff'] button").click()

    # The solve runs up to its time limit, on a machine others share.
    await expect(page.locator("h1")).to_contain_text("Optimerarens förslag", timeout=120_000)
    # Proved optimal, or (stopped at the time limit on a loaded machine) the gap.
    quality = page.locator(".optimality")
    await expect(quality).to_contain_text(QUALITY)
    await page.screenshot(path=str(ARTIFACTS / "optimiser-quality.png"), full_page=False)
    open_places = page.locator("#open-places-title")
    if await open_places.count():
        await open_places.scroll_into_view_if_needed()
        await page.screenshot(path=str(ARTIFACTS / "optimiser-open-places.png"), full_page=False)
    url = page.url
    phone = await _new_page(browser, errors, **PHONE)
    await _sign_in_planner(phone, live_server)
    await phone.goto(url)
    await expect(phone.locator(".optimality")).to_contain_text(QUALITY)
    await phone.screenshot(path=str(ARTIFACTS / "optimiser-quality-phone.png"), full_page=True)
    assert errors == []
