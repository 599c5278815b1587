"""The issue "Staffing" walked as a planner would on the demo municipality: run the
optimiser on the upcoming election, review and accept its proposal, fix a station by
hand, send offers, and a clerk accepts from the emailed link; the board shows it."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from app.core.settings import Settings
from tests.browser.conftest import ARTIFACTS, choose_in_swapping_filter
from tests.browser.test_recruitment import (
    DESKTOP,
    PHONE,
    _new_page,
    _sign_in_planner,
    _text_of,
    _wait_for_email,
)

ELECTION = "Val till Europaparlamentet 2029"


async def _open_board(page: Page, live_server: str) -> None:
    await page.goto(f"{live_server}/demo/planning/elections/")
    await page.get_by_role("link", name=ELECTION).click()
    await page.get_by_role("link", name="Bemanning", exact=True).click()
    await expect(page.locator("h1")).to_contain_text("Bemanning")


async def test_it_staffs_an_election_with_the_optimiser_and_by_hand(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    await _sign_in_planner(page, live_server)
    await _open_board(page, live_server)

    # The optimiser proposes; the planner reviews the diff and accepts all of it.
    await page.locator("form[action$='/autostaff'] button").click()
    await expect(page.locator("h1")).to_contain_text("Optimerarens förslag")
    rows = page.locator("tr.diff-add")
    assert await rows.count() > 20
    await page.screenshot(path=str(ARTIFACTS / "staffing-proposal.png"), full_page=False)
    await (
        page.locator("form[action$='/apply'] input[name=all]")
        .locator("..")
        .locator("button")
        .click()
    )
    await expect(page.locator(".flash-success")).to_be_visible()

    # The first district's board: fix a station by hand (take one off, put another on).
    await choose_in_swapping_filter(page, "#field-district", index=1)
    code = (await page.locator("#field-district option").nth(1).inner_text()).split()[0]
    station = page.locator(".station-card").first
    await expect(station).to_contain_text(code)
    await page.screenshot(path=str(ARTIFACTS / "staffing-board.png"), full_page=False)
    station_id = await station.get_attribute("id")
    first_holder = station.locator(".holders li").first
    name = await first_holder.locator("a").inner_text()
    # The x asks first, in the station's panel, and says whether the person is told.
    card = page.locator(f"#{station_id}")
    await first_holder.locator("button").click()
    confirm = card.locator(".withdraw-confirm")
    await expect(confirm).to_contain_text(f"Ta bort {name}")
    await page.screenshot(path=str(ARTIFACTS / "staffing-withdraw-confirm.png"), full_page=False)
    await confirm.get_by_role("button", name="Ja, ta bort från passet").click()
    await expect(card.locator(".holders li a", has_text=name)).to_have_count(0)
    await expect(card.locator(".flash-success")).to_contain_text(name)
    add = card.locator(".cell a.button").first
    await add.click()
    panel = card.locator(".place")
    await expect(panel).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "staffing-place.png"), full_page=False)
    await panel.locator(".candidates form button").first.click()
    await expect(page.locator(f"#{station_id} .place")).to_have_count(0)

    # Offers for the district; a clerk accepts from the link in the email.
    await page.locator("form[action$='/staffing/offers'] button").click()
    # First what it sends and costs; then the office confirms.
    await expect(page.locator("#offers-heading")).to_contain_text("erbjudande")
    await page.locator("form[action$='/staffing/offers'] button").click()
    await expect(page.locator(".flash-success")).to_contain_text("erbjudande")
    board_url = page.url
    holder = page.locator(f"#{station_id} .holders li").first
    await expect(holder.locator(".state")).to_have_text("erbjuden")
    await holder.locator("a").click()
    email_text = await page.locator("dd").filter(has_text="@").first.inner_text()
    message = await _wait_for_email(settings.data_dir / "outbox" / "mail", email_text.strip())
    link = re.findall(r"https?://\S+/demo/offer\?token=[\w-]+", _text_of(message))[0]
    phone = await _new_page(browser, errors, **PHONE)
    await phone.goto(link)
    await expect(phone).to_have_url(f"{live_server}/demo/offer")
    await phone.screenshot(path=str(ARTIFACTS / "staffing-offer-phone.png"), full_page=True)
    # What the clerk decides by: the pay, the answer deadline, whom to ask.
    terms = phone.locator("dl.details")
    await expect(terms).to_contain_text("kr per dag")
    await expect(terms).to_contain_text("Svara senast")
    await expect(terms).to_contain_text("valkansliet@demo.stemma.test")
    await phone.get_by_role("button", name="Tacka ja").click()
    await expect(phone.locator(".card-highlight")).to_be_visible()

    await page.goto(board_url)
    await expect(page.locator(f"#{station_id} .state-accepted").first).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "staffing-board-after.png"), full_page=False)
    assert errors == [], errors
