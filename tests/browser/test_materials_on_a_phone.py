"""Materials on election day, as a station's chair and the office live them: the chair,
on a 390x844 phone, opens the delivery's QR code (its URL, as the camera would) and
confirms it with one count corrected; then reports a shortage, which the coordinator's
dashboard and the logistics view of shortages show without a reload; logistics marks it
on its way (the chair's phone says so without a reload), then delivered."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_election_day_live import (
    CLERK_EMAIL,
    COORDINATOR_EMAIL,
    STATION,
    _shot,
)
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import DESKTOP, PHONE, _new_page

SHORT = "Tejpen är slut, två rullar behövs"


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def test_a_chair_confirms_the_delivery_and_a_shortage_goes_live_to_delivered(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    phone = await _new_page(browser, errors, **PHONE)
    await sign_in(phone, live_server, CLERK_EMAIL)
    await phone.goto(f"{live_server}/demo/portal/election-day")
    lead = phone.locator("section.station-lead").filter(has_text=STATION)
    confirm = lead.get_by_role("link", name="Bekräfta leveransen")
    await expect(confirm).to_have_count(1)
    # The QR code on each crate opens this address: the delivery's random code.
    address = await confirm.get_attribute("href")
    assert address is not None and re.fullmatch(r"/demo/portal/deliveries/[\w-]{16}", address)
    await phone.goto(f"{live_server}{address}")
    await expect(phone.get_by_role("heading", level=1)).to_contain_text(STATION)
    counts = phone.locator("form.delivery-form input[type=number]")
    assert await counts.count() > 1
    packed = int(await counts.first.input_value())
    await counts.first.fill(str(max(packed - 1, 0)))
    await phone.screenshot(path=_shot("materials-phone-delivery"), full_page=True)
    await phone.get_by_role("button", name="Bekräfta leveransen").click()
    await expect(phone.get_by_text("Leveransen är bekräftad. Tack!")).to_be_visible()
    # Back on the election-day page; the QR code's page now shows the counts confirmed.
    await phone.goto(f"{live_server}{address}")
    await expect(phone.get_by_text(re.compile(r"Bekräftad .* av "))).to_be_visible()
    await expect(phone.locator("form.delivery-form")).to_have_count(0)
    await expect(
        phone.get_by_role("cell", name=str(max(packed - 1, 0)), exact=True).first
    ).to_be_visible()
    await phone.screenshot(path=_shot("materials-phone-confirmed"), full_page=True)

    # The coordinator's dashboard and the logistics view of shortages, both open.
    dashboard = await _new_page(browser, errors, **DESKTOP)
    await sign_in(dashboard, live_server, COORDINATOR_EMAIL)
    await dashboard.goto(f"{live_server}/demo/planning/live")
    # By the search: the station's page in the "problems first" order depends on the hour.
    await expect(dashboard).to_have_url(re.compile(r"/planning/elections/\d+/live$"))
    await dashboard.goto(f"{dashboard.url}?q={STATION}")
    await expect(dashboard.locator("#ops-connection")).to_have_class(re.compile(r"\bis-live\b"))
    logistics = await _new_page(browser, errors, **DESKTOP)
    await sign_in(logistics, live_server, COORDINATOR_EMAIL)
    await logistics.goto(f"{live_server}/demo/planning/live")
    await logistics.get_by_role("link", name="Brister").click()
    await expect(logistics).to_have_url(re.compile(r"/materials/elections/\d+/shortages$"))
    await logistics.wait_for_function(
        "() => { const s = document.getElementById('shortages-socket');"
        " return !!(s && s['htmx-internal-data'] && s['htmx-internal-data'].webSocket"
        " && s['htmx-internal-data'].webSocket.socket"
        " && s['htmx-internal-data'].webSocket.socket.readyState === 1); }"
    )
    for page in (dashboard, logistics):
        await page.evaluate("window.stemmaTestMarker = 'no reload'")

    # The chair reports the shortage on the phone.
    await phone.goto(f"{live_server}/demo/portal/election-day")
    lead = phone.locator("section.station-lead").filter(has_text=STATION)
    await lead.get_by_label("Med egna ord").fill(SHORT)
    await lead.get_by_role("button", name="Rapportera bristen").click()
    lead = phone.locator("section.station-lead").filter(has_text=STATION)
    await expect(lead.get_by_text(SHORT)).to_be_visible()

    row = dashboard.locator("tr.ops-row").filter(
        has=dashboard.get_by_role("link", name=STATION, exact=True)
    )
    await expect(row.locator('[data-alert="shortage"]')).to_have_count(1)
    reported = logistics.locator("#shortage-list tr").filter(has_text=SHORT)
    await expect(reported).to_have_count(1)
    for page in (dashboard, logistics):
        assert await page.evaluate("window.stemmaTestMarker") == "no reload"
    await dashboard.screenshot(path=_shot("materials-dashboard-shortage"))
    await logistics.screenshot(path=_shot("materials-logistics-shortage"), full_page=True)

    # Logistics marks it on its way: the chair's phone says so without a reload.
    await phone.evaluate("window.stemmaTestMarker = 'no reload'")
    await reported.get_by_role("button", name="Markera som på väg").click()
    sent = logistics.locator("#shortage-list tr").filter(has_text=SHORT)
    await expect(sent).to_contain_text("På väg")
    shown = phone.locator("section.station-lead").filter(has_text=STATION)
    await expect(shown.locator("li, tr, p").filter(has_text=SHORT).first).to_contain_text("På väg")
    assert await phone.evaluate("window.stemmaTestMarker") == "no reload"
    await phone.screenshot(path=_shot("materials-phone-on-its-way"), full_page=True)
    await sent.get_by_role("button", name="Markera som levererad").click()
    delivered = logistics.locator("#shortage-list tr").filter(has_text=SHORT)
    await expect(delivered).to_contain_text("Levererat")
    await expect(delivered.get_by_role("button")).to_have_count(0)
    await expect(row.locator('[data-alert="shortage"]')).to_have_count(0)
    assert errors == []
