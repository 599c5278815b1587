"""The administrator's pages in a real browser: HTMX filtering, token creation, users."""

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS

DEMO_PASSWORD = "stemma-demo-2026"


async def test_it_filters_the_audit_log_in_place_and_creates_a_token(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("admin@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()

    await page.get_by_role("link", name="API-nycklar").first.click()
    await page.get_by_label("Namn").fill("Lönesystemet")
    await page.get_by_label("Läsa bemanning").check()
    await page.get_by_role("button", name="Skapa nyckel").click()
    await expect(page.locator("#new-token")).to_contain_text("stm_")
    await page.screenshot(path=str(ARTIFACTS / "tokens.png"), full_page=True)

    await page.get_by_role("link", name="Granskningslogg").first.click()
    await expect(page.get_by_text("api.token.created")).to_be_visible()
    # Filtering swaps only the results (HTMX) and keeps the address shareable.
    await page.get_by_label("Händelse").fill("tenancy.")
    await page.get_by_role("button", name="Filtrera").click()
    await expect(page.get_by_text("api.token.created")).to_have_count(0)
    await expect(page.get_by_text("tenancy.tenant.created")).to_be_visible()
    await expect(page).to_have_url(
        f"{live_server}/demo/planning/admin/audit?code=tenancy.&actor=&object_type=&date_from=&date_to=&object_id="
    )
    await page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)

    await page.get_by_role("link", name="Användare").first.click()
    await expect(page.get_by_role("cell", name="planner@demo.stemma.test")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "users.png"), full_page=True)
    assert errors == [], errors
