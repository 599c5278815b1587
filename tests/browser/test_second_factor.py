"""Strong sign-in in a real browser: an administrator requires a second factor, a
planner is made to enrol an authenticator app, then signs in with password and code,
and once with a recovery code that does not work a second time."""

import time

import pyotp
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS

DEMO_PASSWORD = "stemma-demo-2026"
PHONE = {"width": 390, "height": 844}


async def _password(page: Page, live_server: str, email: str) -> None:
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill(email)
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()


async def _sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Logga ut").first.click()
    await expect(page.get_by_role("heading", name="Logga in")).to_be_visible()


async def test_a_planner_enrols_and_signs_in_with_a_code_and_a_recovery_code(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    # The administrator makes the second factor required (the demo leaves it optional).
    await _password(page, live_server, "admin@demo.stemma.test")
    await page.get_by_role("link", name="Användare").first.click()
    await page.get_by_label("Krävs för administratörer och planerare").check()
    await page.locator("#second-factor-policy").get_by_role("button", name="Spara").click()
    await expect(page.get_by_text("Inloggningsregeln har sparats.")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "second-factor-policy.png"), full_page=True)
    await _sign_out(page)

    # The planner is sent to enrolment straight after the password, and nowhere else.
    await _password(page, live_server, "planner@demo.stemma.test")
    await expect(page.get_by_role("heading", name="Ställ in en autentiseringsapp")).to_be_visible()
    await page.goto(f"{live_server}/demo/planning/")
    await expect(page.get_by_role("heading", name="Ställ in en autentiseringsapp")).to_be_visible()
    await expect(page.locator("svg.enrol-qr")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "second-factor-enrol.png"), full_page=True)
    secret = (await page.locator("#enrol-secret").inner_text()).replace(" ", "")
    totp = pyotp.TOTP(secret)
    await page.get_by_label("Kod från appen").fill(totp.now())
    await page.get_by_role("button", name="Slå på").click()
    await expect(page.get_by_role("heading", name="Dina reservkoder")).to_be_visible()
    codes = await page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    await page.screenshot(path=str(ARTIFACTS / "second-factor-codes.png"), full_page=True)
    await page.get_by_role("link", name="Jag har sparat dem, fortsätt").click()
    await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
    await _sign_out(page)

    # Password, then a code from the app (the next step's: the current one is used).
    await _password(page, live_server, "planner@demo.stemma.test")
    await expect(page.get_by_role("heading", name="Andra steget")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "second-factor-step.png"), full_page=True)
    await page.get_by_label("Kod", exact=True).fill(totp.at(int(time.time()) + 30))
    await page.get_by_role("button", name="Fortsätt").click()
    await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
    await page.goto(f"{live_server}/account/security")
    await expect(page.get_by_text("10 oanvända reservkoder kvar.")).to_be_visible()
    await _sign_out(page)

    # A recovery code works once.
    for attempt in range(2):
        await _password(page, live_server, "planner@demo.stemma.test")
        await page.get_by_label("Kod", exact=True).fill(codes[0])
        await page.get_by_role("button", name="Fortsätt").click()
        if attempt == 0:
            await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
            await _sign_out(page)
    await expect(page.get_by_text("Koden stämmer inte").first).to_be_visible()
    await expect(page.get_by_role("heading", name="Andra steget")).to_be_visible()
    assert errors == [], errors


async def _fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


async def test_a_coordinator_enrols_on_a_phone_and_is_remembered(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport=PHONE)
    await _password(page, live_server, "coordinator@demo.stemma.test")
    await page.goto(f"{live_server}/account/security")
    await page.get_by_role("link", name="Ställ in en autentiseringsapp").click()
    await expect(page.locator("svg.enrol-qr")).to_be_visible()
    await _fits(page)
    await page.screenshot(path=str(ARTIFACTS / "second-factor-enrol-phone.png"), full_page=True)
    totp = pyotp.TOTP((await page.locator("#enrol-secret").inner_text()).replace(" ", ""))
    await page.get_by_label("Kod från appen").fill(totp.now())
    await page.get_by_role("button", name="Slå på").click()
    await expect(page.locator("#recovery-codes code")).to_have_count(10)
    await _fits(page)
    await page.screenshot(path=str(ARTIFACTS / "second-factor-codes-phone.png"), full_page=True)
    await page.get_by_role("link", name="Jag har sparat dem, fortsätt").click()
    await _sign_out(page)

    await _password(page, live_server, "coordinator@demo.stemma.test")
    await page.get_by_label("Kod", exact=True).fill(totp.at(int(time.time()) + 30))
    await page.get_by_label("Kom ihåg den här webbläsaren i 30 dagar").check()
    await _fits(page)
    await page.screenshot(path=str(ARTIFACTS / "second-factor-step-phone.png"), full_page=True)
    await page.get_by_role("button", name="Fortsätt").click()
    await page.goto(f"{live_server}/account/security")
    await expect(page.get_by_text("Chrome på Linux")).to_be_visible()
    await _fits(page)
    await page.screenshot(path=str(ARTIFACTS / "second-factor-security-phone.png"), full_page=True)
    await _sign_out(page)

    # The remembered browser skips the second step.
    await _password(page, live_server, "coordinator@demo.stemma.test")
    await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
