"""The planner runs the optimiser on the demo, accepts its proposal and sends the offers
of one district; a clerk declines from the emailed link; the planner discards the rest of
the proposal (its rows hold their people) and re-runs from the proposal's page, and only
that place changes. Seen on a desktop and a phone."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

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
from tests.browser.test_staffing import _open_board


async def test_a_decline_and_a_rerun_change_only_that_place(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    await _sign_in_planner(page, live_server)
    await _open_board(page, live_server)

    # The optimiser proposes; the planner accepts one district's part of it (the demo
    # is short of people: the others' proposed people stay free for a re-run).
    await page.locator("form[action$='/autostaff'] button").click()
    await expect(page.locator("h1")).to_contain_text("Optimerarens förslag", timeout=120_000)
    proposal_url = page.url
    district = await page.locator("#field-district option").nth(1).get_attribute("value")
    assert district
    await page.locator("#field-district").select_option(value=district)
    await page.get_by_role("button", name="Visa", exact=True).click()
    await expect(page).to_have_url(re.compile(f"district={district}"))
    await page.get_by_role("button", name="Acceptera de markerade på den här sidan").click()
    await expect(page.locator(".flash-success")).to_be_visible()
    # Nothing declined yet: nothing to re-run.
    await page.goto(proposal_url)
    await expect(page.locator("form[action$='/rerun']")).to_have_count(0)

    # One district's offers; a clerk of its first station declines.
    await _open_board(page, live_server)
    await choose_in_swapping_filter(page, "#field-district", value=district)
    await page.locator("form[action$='/staffing/offers'] button").click()
    await expect(page.locator("#offers-heading")).to_contain_text("erbjudande")
    await page.locator("form[action$='/staffing/offers'] button").click()
    await expect(page.locator(".flash-success")).to_contain_text("erbjudande")
    station = page.locator(".station-card").first
    # A clerk's place (the chair's needs a course few hold: nobody may be left for it).
    holder = station.locator(".cell").last.locator(".holders li").first
    await expect(holder.locator(".state")).to_have_text("erbjuden")
    name = (await holder.locator("a").inner_text()).strip()
    await holder.locator("a").click()
    email_text = await page.locator("dd").filter(has_text="@").first.inner_text()
    message = await _wait_for_email(settings.data_dir / "outbox" / "mail", email_text.strip())
    link = re.findall(r"https?://\S+/demo/offer\?token=[\w-]+", _text_of(message))[0]
    clerk = await _new_page(browser, errors, **PHONE)
    await clerk.goto(link)
    await clerk.get_by_role("button", name="Tacka nej").click()
    await expect(clerk.locator("p.card[role=status]")).to_contain_text("tackat nej")

    # The board says so and offers the re-run, as does the proposal's page.
    await _open_board(page, live_server)
    await expect(page.locator(".rerun")).to_contain_text("1 plats i förslaget")
    await page.screenshot(path=str(ARTIFACTS / "optimiser-rerun-board.png"), full_page=False)
    # The other districts' rows still wait in the proposal and hold their people for it
    # (a re-run proposing them would book them twice): the planner discards the rest.
    await page.goto(proposal_url)
    await page.get_by_role("button", name="Förkasta förslaget").click()
    await expect(page.locator(".flash-success")).to_contain_text("förkastats")
    # The proposal's page offers the re-run; the new proposal fills only that place.
    await page.goto(proposal_url)
    await expect(page.locator("#rerun-title")).to_be_visible()
    await expect(page.locator(".rerun")).to_contain_text("1 plats i förslaget")
    await page.get_by_role("button", name="Kör om för de lediga platserna").click()
    await expect(page.locator(".flash-success")).to_contain_text("1 ledig plats är tillsatt igen")
    changes = page.locator("tr.rerun-change")
    await expect(changes).to_have_count(1)
    await expect(changes.locator("td.diff-remove")).to_have_text(name)
    instead = (await changes.locator("td.diff-add").inner_text()).strip()
    assert instead and instead != name and "Ingen" not in instead
    rows = page.locator("tr.diff-add")
    await expect(rows).to_have_count(1)
    await expect(rows.locator("td").nth(1)).to_have_text(
        (await changes.locator("td").first.inner_text()).strip()
    )
    await expect(rows.locator("td").nth(4)).to_have_text(instead)
    await expect(page.locator(".optimality")).to_contain_text("Optimalt")
    await page.evaluate("document.getElementById('rerun-changes-title').scrollIntoView()")
    await page.screenshot(path=str(ARTIFACTS / "optimiser-rerun.png"), full_page=False)
    rerun_url = page.url
    phone = await _new_page(browser, errors, **PHONE)
    await _sign_in_planner(phone, live_server)
    await phone.goto(rerun_url)
    await expect(phone.locator("tr.rerun-change")).to_have_count(1)
    await phone.screenshot(path=str(ARTIFACTS / "optimiser-rerun-phone.png"), full_page=True)

    # The declined place answered: the earlier proposal offers no second re-run.
    await page.goto(proposal_url)
    await expect(page.locator("form[action$='/rerun']")).to_have_count(0)
    assert errors == [], errors
