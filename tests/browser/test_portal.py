"""The issue "Clerk portal" walked as a clerk would, on a phone: sign in with an emailed
link, accept an offer, see the co-workers and the map link, add the calendar feed,
change availability, and install the portal (manifest and service worker)."""

from __future__ import annotations

import re

from icalendar import Calendar
from playwright.async_api import Browser, expect

from app.core.settings import Settings
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import PHONE, _new_page, _text_of, _wait_for_email

CLERK = "clerk@demo.stemma.test"


async def test_a_clerk_uses_the_portal_on_a_phone(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **PHONE)

    # Sign in with a link sent by email.
    await page.goto(f"{live_server}/login/link")
    await page.locator("#email").fill(CLERK)
    await page.locator("form.card button[type=submit]").click()
    message = await _wait_for_email(settings.data_dir / "outbox" / "mail", CLERK)
    link = re.findall(r"https?://\S+/login/link/open\?token=[\w-]+", _text_of(message))[0]
    await page.goto(link)
    await expect(page).to_have_url(re.compile(r"/login/link/open$"))
    await page.locator("form.card button[type=submit]").click()
    await expect(page).to_have_url(f"{live_server}/demo/portal/")

    # The offer, accepted; the chair's place with the team and a map.
    offer = page.locator(".place-card").filter(has=page.locator("form.offer-answer"))
    await expect(offer).to_have_count(1)
    await page.screenshot(path=str(ARTIFACTS / "portal-home-phone.png"), full_page=True)
    await offer.get_by_role("button", name="Tacka ja").click()
    await expect(page.locator(".flash-success")).to_be_visible()
    await expect(page.locator("form.offer-answer")).to_have_count(0)
    chair = page.locator(".place-card").filter(has_text="Ordförande")
    await expect(chair.get_by_role("heading", name="Arbetar med dig")).to_be_visible()
    assert await chair.locator(".compact li").count() >= 1
    map_link = chair.get_by_role("link", name="Visa på karta")
    assert "openstreetmap.org" in (await map_link.get_attribute("href") or "")

    # The calendar feed: made on the profile page, it parses and lists both shifts and
    # the booked courses.
    await page.get_by_role("link", name="Profil").click()
    await page.get_by_role("button", name="Skapa min kalenderadress").click()
    feed_url = await page.locator("#feed-url").input_value()
    feed = await page.request.get(feed_url)
    assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(await feed.body())
    summaries = [str(event["summary"]) for event in calendar.walk("VEVENT")]
    # Both shifts, and the two course sessions the demo clerk is booked on.
    assert len(summaries) == 4 and any(s.startswith("Ordförande") for s in summaries), summaries
    assert sum(s.startswith("Utbildning:") for s in summaries) == 2, summaries

    # Availability for the coming election.
    await page.get_by_role("link", name="När jag kan arbeta").click()
    form = page.locator("form.card").first
    await form.locator("input[name^=kinds_][value=election_day]").check()
    await form.locator("input[name^=days_]").last.check()
    await form.get_by_role("button", name="Spara").click()
    await expect(page.locator(".flash-success")).to_be_visible()

    # Installable: the manifest loads and the service worker controls the portal.
    manifest = await page.request.get(f"{live_server}/demo/portal/manifest.webmanifest")
    assert manifest.ok and (await manifest.json())["display"] == "standalone"
    scope = await page.evaluate(
        "navigator.serviceWorker.ready.then((registration) => registration.scope)"
    )
    assert scope == f"{live_server}/demo/portal/"
    await page.goto(f"{live_server}/demo/portal/")
    await page.screenshot(path=str(ARTIFACTS / "portal-installed-phone.png"), full_page=False)
    assert errors == [], errors
