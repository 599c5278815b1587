"""The population register, walked as a planner would on the demo municipality: the
protected person's address is on their page; the demo's register extract is uploaded
from the register's page, its preview read and confirmed; the address is gone from
their page and the board warns about the clerk who died."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import Audit
from tests.browser.test_recruitment import DESKTOP, _new_page, _sign_in_planner

EXTRACT = Path(__file__).parents[2] / "static" / "demo" / "registerutdrag-demo.csv"
#: The person the demo's extract protects, and their address in the demo.
PROTECTED, ADDRESS = "Aino Pettersson", "Ängsvägen 86"


async def test_an_extract_marks_a_person_protected_and_their_address_disappears(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    audit = Audit(live_server)
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(page, live_server)
    await page.goto(f"{live_server}/demo/planning/people/?q=Aino+Pettersson")
    await page.get_by_role("link", name="Pettersson, Aino").first.click()
    person_url = page.url
    await expect(page.locator("body")).to_contain_text(ADDRESS)

    await page.goto(f"{live_server}/demo/planning/people/")
    await page.get_by_role("link", name="Befolkningsregistret").click()
    await expect(page.locator("h1")).to_have_text("Befolkningsregistret")
    await expect(
        page.get_by_role("link", name="Ladda ned demokommunens utdragsfil")
    ).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "population-upload.png"), full_page=True)
    await audit.check(page, "desktop")
    await page.get_by_label("Utdragsfil").set_input_files(str(EXTRACT))
    await page.get_by_role("button", name="Kontrollera filen").click()

    await expect(page.locator("h1")).to_have_text("Granska registerutdraget")
    changes = page.locator("table[aria-labelledby=changes]")
    await expect(changes).to_contain_text(PROTECTED)
    await expect(changes).to_contain_text("Skyddad identitet: adressen visas aldrig")
    await expect(changes).to_contain_text("Avliden 2026-11-01")
    await expect(page.locator("body")).not_to_contain_text("198204307659")
    await page.screenshot(path=str(ARTIFACTS / "population-preview.png"), full_page=True)
    await audit.check(page, "desktop")
    await page.get_by_role("button", name="Spara ändringarna").click()
    await expect(page.locator(".flash-success")).to_contain_text("Registret är uppdaterat")

    await page.goto(person_url)
    await expect(page.locator("h1")).to_have_text(PROTECTED)
    await expect(page.locator("body")).not_to_contain_text(ADDRESS)
    await expect(page.locator("#register-flags")).to_contain_text("Skyddad identitet")
    await page.screenshot(path=str(ARTIFACTS / "population-protected-person.png"), full_page=True)
    await audit.check(page, "desktop")
    assert errors == []
