"""The office writes its messages in a real browser: an SMS with merge fields, previewed
as a person of the register while it is written (the counter warns of a character that
makes it Unicode), saved; an e-mail with a field put in from the list; the versions.
axe finds nothing on the three pages, in a desktop and a phone window."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import Audit

DEMO_PASSWORD = "stemma-demo-2026"


async def _signed_in(browser: Browser, base: str, width: int, height: int) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    await page.goto(f"{base}/login")
    await page.get_by_label("E-post").fill("planner@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.locator("form:has(#password) button[type=submit]").click()
    await expect(page.get_by_role("heading", name="Översikt")).to_be_visible()
    return page


async def test_a_planner_writes_previews_and_saves_an_sms_and_an_email(
    live_server: str, browser: Browser
) -> None:
    page = await _signed_in(browser, live_server, 1280, 900)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.get_by_role("link", name="Meddelandemallar").click()
    await expect(page.get_by_role("heading", name="Meddelandemallar")).to_be_visible()
    await page.locator("a[href$='/staffing_offer/sms/sv']").click()

    await page.get_by_label("Förhandsgranska som en person i registret").fill("a")
    person = page.locator("#field-person_id")
    await expect(person).to_be_visible()
    chosen = (await person.locator("option").nth(1).inner_text()).split(",")[0]
    await person.select_option(index=1)
    await expect(page.locator("#preview")).to_contain_text(chosen.split()[0])
    await page.get_by_label("Text").fill(
        "Hej {{ person.first_name }}, vi ses på {{ station.name }}!"
    )
    await expect(page.locator("#preview")).to_contain_text(f"Hej {chosen.split()[0]}, vi ses på")
    await expect(page.locator("#sms-length")).to_contain_text("GSM")
    await page.get_by_label("Text").press("End")
    await page.get_by_label("Text").type(" – tack")
    await expect(page.locator("#sms-length")).to_contain_text("Unicode")
    await expect(page.locator("#preview")).to_contain_text("De här tecknen")
    await page.screenshot(path=str(ARTIFACTS / "message-template-sms.png"), full_page=True)
    await page.get_by_role("button", name="Spara").click()
    await expect(page.get_by_text("Sparad som version 1")).to_be_visible()
    await expect(page.get_by_label("Text")).to_have_value(
        "Hej {{ person.first_name }}, vi ses på {{ station.name }}! – tack"
    )

    await page.get_by_role("link", name="E-post · svenska").click()
    body = page.get_by_label("Text")
    await body.fill("Hej!")
    await body.press("End")
    await page.get_by_role("button", name="{{ pay }}").click()
    await expect(body).to_have_value("Hej!{{ pay }}")
    await page.get_by_label("Ämne").fill("Arvode {{ person.shoe_size }}")
    await page.get_by_role("button", name="Spara").click()
    await expect(page.locator("#field-subject-error")).to_contain_text("person.shoe_size")
    await page.get_by_label("Ämne").fill("Arvodet")
    await page.get_by_role("button", name="Spara").click()
    await expect(page.get_by_text("Sparad som version 1")).to_be_visible()
    await page.get_by_role("link", name="Versioner").click()
    await expect(page.get_by_role("cell", name="planner@demo.stemma.test")).to_be_visible()
    # The refused save answers 422 on purpose (the form again, with the message).
    assert [e for e in errors if "status of 422" not in e] == [], errors


async def test_the_message_template_pages_pass_axe(live_server: str, browser: Browser) -> None:
    audit = Audit(live_server)
    base = f"{live_server}/demo/planning/message-templates"
    for view, (width, height) in {"desktop": (1280, 900), "phone": (390, 844)}.items():
        page = await _signed_in(browser, live_server, width, height)
        await audit.visit(page, f"{base}/", view)
        await audit.visit(page, f"{base}/staffing_offer/email/sv", view)
        await page.get_by_label("Förhandsgranska som en person i registret").fill("a")
        await expect(page.locator("#field-person_id")).to_be_visible()
        await page.locator("#field-person_id").select_option(index=1)
        await expect(page.locator("#preview")).to_contain_text("Som ")
        await audit.check(page, view)
        await audit.visit(page, f"{base}/staffing_offer/sms/da", view)
        await page.get_by_label("Text").fill("Hej – {{ person.first_name }}")
        await expect(page.locator("#sms-length")).to_contain_text("Unicode")
        await audit.check(page, view)
        await audit.visit(page, f"{base}/staffing_offer/sms/da/history", view)
        await page.close()
    assert not audit.found, audit.report()
