"""Issue 20, item 2, walked on the demo: a planner approves an application, reads on its
page why the applicant cannot be placed yet (the required course), books them on a
session with a free seat, and places them in a station from the same page, with the
board's rules; the application then says they are placed. Also at a phone's size."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import DESKTOP, PHONE, _new_page, _sign_in_planner

COURSE = "Grundutbildning för röstmottagare"


async def test_an_approved_applicant_is_booked_and_placed_from_the_application(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(page, live_server)
    await page.goto(f"{live_server}/demo/planning/applications/")
    first = page.locator("a[href*='/planning/applications/']").filter(has_not_text="Ansökningar")
    await first.first.click()
    await page.locator("#approve-form button[type=submit]").click()

    standing = page.locator("#standing")
    await expect(standing.locator("h2")).to_have_text("På väg mot en plats")
    await expect(standing).to_contain_text("Inte placerad ännu")
    await expect(standing).to_contain_text(f"Saknar utbildningen {COURSE}")
    await page.screenshot(path=ARTIFACTS / "approved-blocked.png", full_page=True)

    course = standing.locator(".standing-courses > li", has_text=COURSE)
    await course.get_by_role("button", name="Boka på det här tillfället").first.click()
    await expect(page.locator(".flash").first).to_contain_text("har bokats")
    await expect(standing).to_contain_text("Bokad före valdagen")
    await expect(standing).not_to_contain_text(f"Saknar utbildningen {COURSE}")

    await standing.get_by_role("link", name="Placera i en vallokal…").click()
    await expect(page.locator("h1")).to_contain_text("Placera")
    await page.screenshot(path=ARTIFACTS / "approved-place.png", full_page=True)
    # The first place that breaks no hard rule (a clerk's; a chair's needs its course).
    await page.locator("table button[type=submit]").first.click()
    await expect(page.locator(".flash").first).to_contain_text("har föreslagits som")
    await expect(page.locator("#standing")).to_contain_text("Placerad")
    await page.screenshot(path=ARTIFACTS / "approved-placed.png", full_page=True)

    phone = await _new_page(browser, errors, **PHONE)
    await _sign_in_planner(phone, live_server)
    await phone.goto(page.url)
    await expect(phone.locator("#standing")).to_contain_text("Placerad")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    await phone.screenshot(path=ARTIFACTS / "approved-placed-phone.png", full_page=True)
    assert errors == []
