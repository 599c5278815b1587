"""Erasure walked in the browser: a clerk asks to be removed on a phone, the office
refuses with a reason (the clerk sees it), the office erases a person after reading
what goes and what stays, and sets how long inactive people are kept."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import (
    DEMO_PASSWORD,
    DESKTOP,
    PHONE,
    _assert_fits_phone,
    _new_page,
    _sign_in_planner,
)


async def _sign_in_clerk(page: Page, live_server: str) -> None:
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("clerk@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page).to_have_url(f"{live_server}/demo/portal/")


async def test_a_removal_request_is_refused_with_a_reason_and_a_person_erased(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    clerk = await _new_page(browser, errors, **PHONE)
    await _sign_in_clerk(clerk, live_server)
    await clerk.goto(f"{live_server}/demo/portal/profile")
    await clerk.get_by_text("Skriv en begäran").click()
    await clerk.get_by_label("Meddelande till valkansliet (frivilligt)").fill("Jag flyttar.")
    await clerk.get_by_role("button", name="Skicka begäran").click()
    await expect(clerk.get_by_text("Du bad om att bli borttagen")).to_be_visible()

    office = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(office, live_server)
    await office.goto(f"{live_server}/demo/planning/people/")
    await office.get_by_role("link", name="Begäranden om borttagning").click()
    await expect(office.get_by_text("1 begäran väntar på svar")).to_be_visible()
    # The demo clerk works the coming election: approving must wait.
    await expect(office.get_by_text("Kan inte raderas än")).to_be_visible()
    await office.screenshot(path=str(ARTIFACTS / "erasure-queue.png"), full_page=True)
    await office.get_by_role("link", name="Avslå…").click()
    await office.get_by_role("button", name="Avslå och meddela röstmottagaren").click()
    await expect(office.locator("#field-reason-error")).to_be_visible()
    await office.get_by_label("Skäl").fill(
        "Du arbetar i valet i september. Fråga igen när arvodet är utbetalt."
    )
    await office.screenshot(path=str(ARTIFACTS / "erasure-refuse.png"), full_page=True)
    await office.get_by_role("button", name="Avslå och meddela röstmottagaren").click()
    await expect(office.get_by_text("Inga begäranden väntar på svar.")).to_be_visible()

    await clerk.reload()
    await expect(clerk.get_by_text("Valkansliet avslog din begäran")).to_be_visible()
    await expect(clerk.get_by_text("Fråga igen när arvodet är utbetalt.")).to_be_visible()
    await clerk.locator("#removal").scroll_into_view_if_needed()
    await _assert_fits_phone(clerk)
    await clerk.screenshot(path=str(ARTIFACTS / "erasure-portal-refused-phone.png"), full_page=True)

    # The office erases someone without a coming place, after reading the page.
    await office.goto(f"{live_server}/demo/planning/people/?status=inactive")
    await office.locator("#people-results tbody a").first.click()
    await office.get_by_role("link", name="Radera…").click()
    await expect(office.get_by_text("Raderingen kan inte ångras")).to_be_visible()
    await office.screenshot(path=str(ARTIFACTS / "erasure-confirm.png"), full_page=True)
    await office.get_by_role("button", name="Radera personen nu").click()
    await expect(office.get_by_text("Personen har raderats.")).to_be_visible()
    await expect(office.get_by_role("heading", name="Raderad person #")).to_be_visible()
    await office.screenshot(path=str(ARTIFACTS / "erasure-erased.png"), full_page=True)

    # How long inactive people are kept, with the dry run.
    await office.goto(f"{live_server}/demo/planning/site/settings")
    await office.get_by_label("Spara inaktiva personer (månader)").fill("24")
    await office.get_by_role("button", name="Spara").click()
    await expect(office.locator("#inactive-dry-run")).to_contain_text("skulle raderas")
    await office.locator("#inactive-dry-run").scroll_into_view_if_needed()
    await office.screenshot(path=str(ARTIFACTS / "erasure-settings.png"), full_page=True)
    # The refused empty reason answered 422, as a form with errors does.
    assert [e for e in errors if "status of 422" not in e] == [], errors
