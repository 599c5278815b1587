"""The registers in a real browser, on the demo municipality that `make run` creates."""

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS

DEMO_PASSWORD = "stemma-demo-2026"


async def _sign_in(page: Page, live_server: str) -> list[str]:
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("planner@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
    return errors


async def test_it_searches_people_as_you_type_and_reveals_a_number(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors = await _sign_in(page, live_server)
    await page.get_by_role("link", name="Personer").click()
    await expect(page.get_by_text("601 personer")).to_be_visible()
    await page.get_by_label("Sök", exact=True).fill("lindb")
    await expect(page.get_by_text("601 personer")).to_have_count(0)
    await expect(page).to_have_url(
        f"{live_server}/demo/planning/people/?q=lindb&status=&tag=&sort=name"
    )
    await page.screenshot(path=str(ARTIFACTS / "people-search.png"), full_page=True)
    await page.locator("#people-results tbody a").first.click()
    masked = await page.locator("#national-id code").inner_text()
    assert masked.endswith("-****")
    await page.get_by_role("button", name="Visa hela numret").click()
    await expect(page.locator("#national-id .revealed")).to_be_visible()
    assert "*" not in await page.locator("#national-id .revealed").inner_text()
    await page.screenshot(path=str(ARTIFACTS / "person-revealed.png"), full_page=True)
    assert errors == [], errors


async def test_it_walks_the_election_structure_and_sets_norms(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors = await _sign_in(page, live_server)
    await page.get_by_role("link", name="Val", exact=True).click()
    await page.screenshot(path=str(ARTIFACTS / "elections.png"), full_page=True)
    await page.get_by_role("link", name="Val till riksdag, region och kommun 2026").click()
    await expect(page.get_by_text("45 lokaler")).to_be_visible()
    await page.get_by_label("Sök", exact=True).fill("0180-006")
    await expect(page.locator("#stations tbody tr")).to_have_count(1)
    await page.screenshot(path=str(ARTIFACTS / "election-structure.png"), full_page=False)
    await page.get_by_role("link", name="Hamnenskolan", exact=True).click()
    await expect(
        page.get_by_role("heading", name="Arbetspass och bemanningsnormer")
    ).to_be_visible()
    clerk_minimum = page.locator("form.card").first.locator("input[name=min_clerk]")
    await clerk_minimum.fill("4")
    await page.locator("form.card").first.get_by_role("button", name="Spara normer").click()
    await expect(page.get_by_text("Bemanningsnormerna har sparats.")).to_be_visible()
    await expect(page.locator("form.card").first.locator("input[name=min_clerk]")).to_have_value(
        "4"
    )
    await page.screenshot(path=str(ARTIFACTS / "station.png"), full_page=True)
    assert errors == [], errors


async def test_it_shows_every_bad_row_of_an_import(
    live_server: str, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors = await _sign_in(page, live_server)
    upload = tmp_path / "personer.csv"
    upload.write_text(
        "förnamn;efternamn;personnummer;mobil\nAnna;Ek;900101-0018;0701234567\n;Berg;;08-123 456 78\n",
        encoding="utf-8",
    )
    await page.get_by_role("link", name="Import").click()
    await page.get_by_label("Personer").check()
    await page.get_by_label("Fil", exact=True).set_input_files(str(upload))
    await page.get_by_role("button", name="Kontrollera filen").click()
    await expect(page.get_by_role("heading", name="3 fel: inget har sparats")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "import-preview.png"), full_page=True)
    assert errors == [], errors
