"""Issue 27: the accessibility statement, reached by keyboard from the footer of the public
site on a phone, read through Chromium's accessibility tree: the demo office's finding,
how to report a problem and the supervisory authority."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import PHONE, _assert_fits_phone, _new_page


async def test_the_statement_is_reached_by_keyboard_from_the_footer(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **PHONE)
    await page.goto(f"{live_server}/demo/")
    link = page.locator("footer").get_by_role("link", name="Tillgänglighetsredogörelse")
    for _press in range(80):
        await page.keyboard.press("Tab")
        if await link.evaluate("element => element === document.activeElement"):
            break
    await expect(link).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{live_server}/demo/accessibility")
    tree = await page.locator("main").aria_snapshot()
    for part in (
        'heading "Tillgänglighetsredogörelse" [level=1]',
        'heading "Kända brister just nu" [level=2]',
        'heading "Meddela brister eller be om innehåll i tillgänglig form" [level=2]',
        'link "Skriv till oss via kontaktformuläret"',
        'link "Anmäl brister till Myndigheten för digital förvaltning (Digg)"',
        "term: Senast granskad",
    ):
        assert part in tree, part
    await _assert_fits_phone(page)
    await page.screenshot(path=str(ARTIFACTS / "phone-accessibility-statement.png"), full_page=True)
    assert errors == []
