"""Issue 25 on a phone and a desk: the office requires the confidentiality undertaking;
the clerk is told on the start page, cannot check in unsigned, reads and signs on the
phone, then checks in; a coordinator checks in another unsigned clerk with a reason."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_election_day_live import CLERK_EMAIL, COORDINATOR_EMAIL, DESKTOP, STATION
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import PHONE, _assert_fits_phone, _new_page


def _shot(name: str) -> str:
    return str(ARTIFACTS / f"undertaking-{name}.png")


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def test_a_clerk_signs_on_a_phone_and_a_coordinator_overrides_for_another(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    # 1. The office requires the undertaking.
    office = await _new_page(browser, errors, **DESKTOP)
    await sign_in(office, live_server, "planner@demo.stemma.test")
    await office.goto(f"{live_server}/demo/planning/working-rules/")
    await office.get_by_role("button", name="Kräv tystnadsförbindelsen").click()
    await expect(office.locator(".flash-success")).to_be_visible()
    await office.get_by_label("Högst antal timmar per dag").fill("10")
    await office.get_by_role("button", name="Spara", exact=True).click()
    await office.screenshot(path=_shot("office"), full_page=True, caret="initial")

    # 2. The clerk is told on the start page, and check-in is refused.
    phone = await _new_page(browser, errors, service_workers="block", **PHONE)
    await sign_in(phone, live_server, CLERK_EMAIL)
    await phone.goto(f"{live_server}/demo/portal/")
    notice = phone.locator("section.undertaking-notice")
    await expect(notice).to_be_visible()
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("phone-home"), caret="initial")
    await phone.goto(f"{live_server}/demo/portal/election-day")
    card = phone.locator("[data-checkin-card]").filter(has_text=STATION)
    await card.locator(".checkin-arrived").click()
    await expect(card.locator("[data-checkin-alert]")).to_contain_text("tystnadsförbindelsen")
    await phone.screenshot(path=_shot("phone-refused"), full_page=True, caret="initial")

    # 3. A coordinator checks in another unsigned clerk of the station, with a reason.
    desk = await _new_page(browser, errors, **DESKTOP)
    await sign_in(desk, live_server, COORDINATOR_EMAIL)
    await desk.goto(f"{live_server}/demo/planning/live")
    await expect(desk).to_have_url(re.compile(r"/demo/planning/elections/\d+/live$"))
    board = desk.url
    # By the search: the station's page in the "problems first" order depends on the hour.
    await desk.goto(f"{board}?q={STATION}")
    await desk.goto(f"{board}/stations/" + await _station_id(desk, STATION))
    # Not the clerk who signs below: someone else of the team.
    other = (
        desk.locator("ul.ops-roster li")
        .filter(has_not_text="Robin")
        .filter(has=desk.locator("details.ops-override"))
        .first
    )
    await other.locator("details.ops-override summary").click()
    override = other.locator("form.ops-override-form")
    await override.locator("input[name=override_reason]").fill("Skrev på papper i morse")
    await desk.screenshot(path=_shot("coordinator-before"), full_page=True, caret="initial")
    forms = await desk.locator("form.ops-override-form").count()
    await override.get_by_role("button", name="Checka in ändå").click()
    await expect(desk.locator(".flash-success")).to_contain_text("Personen är incheckad.")
    await expect(desk.locator("form.ops-override-form")).to_have_count(forms - 1)
    await desk.screenshot(path=_shot("coordinator-after"), full_page=True, caret="initial")

    # 4. The clerk reads, ticks and signs on the phone, then checks in.
    await phone.goto(f"{live_server}/demo/portal/")
    await notice.get_by_role("link", name="Läs och skriv under").click()
    await expect(phone).to_have_url(f"{live_server}/demo/portal/undertaking")
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("phone-read"), full_page=True, caret="initial")
    await phone.get_by_role("button", name="Skriv under").click()
    await expect(phone.locator(".error-summary")).to_be_visible()
    await phone.get_by_label("Jag har läst tystnadsförbindelsen och kommer att följa den").check()
    await phone.get_by_role("button", name="Skriv under").click()
    await expect(phone.locator(".flash-success")).to_contain_text("Din underskrift")
    await expect(phone.get_by_text("Du skrev under tystnadsförbindelsen")).to_be_visible()
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("phone-signed"), full_page=True, caret="initial")
    await phone.goto(f"{live_server}/demo/portal/election-day")
    await card.locator(".checkin-arrived").click()
    await expect(card.locator(".checkin-confirmed")).to_have_count(1)
    # The two refusals (the check-in unsigned, the form not ticked) answer 422 on purpose.
    assert [e for e in errors if "status of 422" not in e] == []
    assert len(errors) == 2, errors
    for page in (office, phone, desk):
        await page.context.close()


async def _station_id(page: object, name: str) -> str:
    link = page.get_by_role("link", name=name, exact=True).first  # type: ignore[attr-defined]
    href = await link.get_attribute("href")
    assert href is not None
    return href.rstrip("/").rsplit("/", 1)[-1]
