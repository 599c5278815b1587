"""The newcomer's path from the README: sign in as the demo planner, see Swedish,
switch to English, sign out. And a clerk on a phone."""

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS

DEMO_PASSWORD = "stemma-demo-2026"


async def test_it_takes_the_demo_planner_through_the_back_office(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )

    await page.goto(f"{live_server}/")
    await expect(page.get_by_role("heading", name="Logga in")).to_be_visible()
    await page.get_by_label("E-post").fill("planner@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()

    await expect(page).to_have_url(f"{live_server}/demo/planning/")
    await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "planning-sv.png"), full_page=True)

    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.screenshot(path=str(ARTIFACTS / "planning-en.png"), full_page=True)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{live_server}/login")
    await expect(page.get_by_text("You have been signed out.")).to_be_visible()

    await page.goto(f"{live_server}/demo/planning/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert errors == [], errors  # no CSP violations, no script errors


async def test_it_shows_a_clerk_the_portal_on_a_phone(live_server: str, browser: Browser) -> None:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("clerk@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("heading", name="Mina uppdrag")).to_be_visible()
    # Nothing is wider than the phone.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await page.screenshot(path=str(ARTIFACTS / "portal-phone.png"), full_page=True)
    await context.close()


async def test_it_shows_a_wrong_password_and_a_phone_sized_login(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("planner@demo.stemma.test")
    await page.get_by_label("Lösenord").fill("not the password")
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Fel e-post eller lösenord.")
    await page.screenshot(path=str(ARTIFACTS / "login-error-phone.png"), full_page=True)
