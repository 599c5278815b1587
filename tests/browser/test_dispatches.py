"""A dispatch in a real browser: the planner writes an SMS and an e-mail with merge
fields to the accepted clerks of one district, sees the count and the cost and one
recipient's messages first, confirms, and follows the messages' states. axe finds
nothing on the list, the form, the preview, the confirm step and the states, in a
desktop and a phone window."""

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


async def _write(page: Page, audit: Audit | None, view: str) -> None:
    """From the list to the preview of a dispatch to one district's accepted clerks of
    the past election (the demo's staffed one)."""
    await page.get_by_role("link", name="Utskick", exact=True).click()
    await expect(page.get_by_role("heading", name="Utskick")).to_be_visible()
    if audit is not None:
        await audit.check(page, view)
    await page.get_by_role("link", name="Nytt utskick").click()
    election = page.locator("#field-pick-election")
    # The click navigates: count the options only once the new page shows its form,
    # or the old page's nothing is counted and option -1 is never found.
    await expect(
        page.get_by_role("button", name="Visa dess valdistrikt och vallokaler")
    ).to_be_visible()
    await election.select_option(index=await election.locator("option").count() - 1)
    await page.get_by_role("button", name="Visa dess valdistrikt och vallokaler").click()
    if audit is not None:
        await audit.check(page, view)
    await page.get_by_label("Namn").fill("Välkommen")
    await page.locator("#field-district_id").select_option(index=1)
    await page.locator("#field-subject_sv").fill("Välkommen {{ person.first_name }}")
    await page.locator("#field-email_sv").fill(
        "Hej {{ person.first_name }}! Du arbetar på {{ station.name }}."
    )
    await page.locator("#field-sms_sv").fill(
        "Hej {{ person.first_name }}! Vi ses på {{ station.name }} kl {{ shift.starts }}."
    )
    await page.get_by_role("button", name="Se vilka som får det").click()
    await expect(page.get_by_role("heading", name="Vilka som får det")).to_be_visible()


async def test_a_planner_sends_to_a_districts_accepted_clerks_after_seeing_count_and_cost(
    live_server: str, browser: Browser
) -> None:
    page = await _signed_in(browser, live_server, 1280, 900)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await _write(page, None, "desktop")
    counts = page.locator("ul.counts")
    await expect(counts).to_contain_text("E-post")
    await expect(page.locator("section[aria-labelledby=count-heading]")).to_contain_text("kr")
    await expect(page.locator("article.message-sample").last).to_contain_text("Vi ses på")
    await page.get_by_role("button", name="Skicka …").click()
    question = page.locator("p[role=alert]")
    await expect(question).to_contain_text("Skicka ")
    await expect(question).to_contain_text("kr?")
    await page.screenshot(path=str(ARTIFACTS / "dispatch-confirm.png"), full_page=False)
    await page.get_by_role("button", name="Ja, skicka").click()
    await expect(page.locator(".flash-success")).to_contain_text("utkorgen")
    await expect(page.get_by_role("heading", name="Var meddelandena är")).to_be_visible()
    await expect(page.locator("nav.tabs")).to_contain_text("I kö")
    await page.screenshot(path=str(ARTIFACTS / "dispatch-states.png"), full_page=True)
    assert errors == []


async def test_the_dispatch_pages_pass_axe(live_server: str, browser: Browser) -> None:
    audit = Audit(live_server)
    for view, (width, height) in {"desktop": (1280, 900), "phone": (390, 844)}.items():
        page = await _signed_in(browser, live_server, width, height)
        await _write(page, audit, view)
        await audit.check(page, view)
        await page.get_by_role("button", name="Skicka …").click()
        await audit.check(page, view)
        await page.get_by_role("button", name="Ja, skicka").click()
        await expect(page.get_by_role("heading", name="Var meddelandena är")).to_be_visible()
        await audit.check(page, view)
        await page.close()
    assert not audit.found, audit.report()
