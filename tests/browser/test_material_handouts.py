"""The logistics user's day at the depot, in the demo: signed in, they land on the
materials, with no people register in the menu; they hand a voting screen to a station
by typing its tag, see it out, take it back damaged, and open what is not returned
after the election, with whom to call."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import DEMO_PASSWORD

DESKTOP = {"width": 1280, "height": 900}


def _shot(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / f"handouts-{name}.png")


async def _sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("E-post").fill(email)
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page).not_to_have_url(re.compile(r"/login"))


async def test_a_logistics_user_hands_out_and_takes_back_an_item(
    live_server: str, browser: Browser
) -> None:
    context = await browser.new_context(viewport=DESKTOP, locale="sv-SE")
    page = await context.new_page()
    await _sign_in(page, live_server, "logistics@demo.stemma.test")
    await expect(page).to_have_url(re.compile(r"/demo/planning/materials/$"))
    menu = page.get_by_role("navigation", name="Huvudmeny")
    await expect(menu.get_by_role("link", name="Personer")).to_have_count(0)
    await page.goto(f"{live_server}/demo/planning/materials/assets?state=in_stock")
    tag = (await page.locator("tbody th a").first.inner_text()).strip()
    await page.get_by_label("Inventarienummer").first.fill(tag.lower())
    await page.locator("#give-station-choice input[type=radio]").nth(1).check()
    await page.get_by_role("button", name="Lämna ut").click()
    await expect(page.locator(".flash, [role=status], .alert").first).to_contain_text(tag)
    await page.goto(f"{live_server}/demo/planning/materials/assets?holder=station")
    await expect(page.locator("tbody")).to_contain_text(tag)
    await page.screenshot(path=_shot("list"), full_page=True)
    # Out already: refused at the field, with where it is.
    await page.get_by_label("Inventarienummer").first.fill(tag)
    await page.locator("#give-station-choice input[type=radio]").nth(2).check()
    await page.get_by_role("button", name="Lämna ut").click()
    await expect(page.locator("#field-give-tag-error")).to_contain_text("redan utlämnad")
    await page.screenshot(path=_shot("refused"), full_page=True)
    await page.get_by_label("Inventarienummer").nth(1).fill(tag)
    await page.get_by_label("Skadad").check()
    await page.get_by_role("button", name="Ta tillbaka").click()
    await page.get_by_role("link", name=tag).first.click()
    await expect(page.locator("h1")).to_contain_text(tag)
    await expect(page.locator("table")).to_contain_text("Skadad")
    await page.screenshot(path=_shot("history"), full_page=True)
    await page.get_by_role("link", name="Utlämning").first.click()
    await page.get_by_role("link", name="Inte återlämnat").first.click()
    await expect(page.locator("h1")).to_contain_text("Inte återlämnat")
    await expect(page.locator("table")).to_contain_text("Försenad")
    await page.screenshot(path=_shot("not-returned"), full_page=True)
    await context.close()
