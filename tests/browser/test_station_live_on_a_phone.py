"""Every clerk's phone live: the demo's chair of a station, on a 390x844 phone, watches
their election-day page while a teammate checks in (through the API, as a kiosk at the
door would): the team list says so without a reload, and the page says it is live."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.async_api import Browser, expect

from app.cli import main as stemma
from app.core.settings import Settings
from tests.browser.conftest import ARTIFACTS, _environment
from tests.browser.test_checkin_updates_the_team import CLERK_NAME
from tests.browser.test_election_day_live import CLERK_EMAIL, COORDINATOR_EMAIL, STATION
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import DESKTOP, ELECTION, PHONE, _new_page


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


def _api(
    base: str, token: str, path: str, body: dict[str, Any] | None = None, key: str = ""
) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(  # noqa: S310 (the test's own server)
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())


def _check_in_a_teammate(base: str, token: str, lead_station: str) -> None:
    """Check in the first teammate at the station whose shift takes check-ins now."""
    # By its name: the demo moved it to today, or to tomorrow from 22:00 (and the
    # test's process may read another date than the municipality's).
    elections = _api(base, token, "/elections")["items"]
    election = next(e for e in elections if e["name"] == ELECTION)
    stations = _api(base, token, f"/elections/{election['id']}/stations")["items"]
    station = next(s for s in stations if s["name"] == lead_station)
    places = _api(
        base, token, f"/elections/{election['id']}/assignments?station_id={station['id']}"
    )["items"]
    for place in places:
        if place["state"] != "accepted":
            continue
        person = _api(base, token, f"/people/{place['person_id']}")
        if f"{person['first_name']} {person['last_name']}" == CLERK_NAME:
            continue  # the chair themselves
        body = {"person_id": place["person_id"], "shift_id": place["shift_id"], "kind": "arrived"}
        try:
            _api(base, token, "/checkins", body, key=f"teammate-{place['id']}")
        except urllib.error.HTTPError:
            continue  # the clerk's own place, or a shift not taking check-ins now
        return
    raise AssertionError("no teammate could check in")


async def test_a_chair_on_a_phone_sees_a_teammate_arrive_without_a_reload(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    made = await asyncio.to_thread(
        CliRunner().invoke,
        stemma,
        ["token", "create", "--tenant", "demo", "--name", "Door kiosk"],
        env={**_environment(settings), "STEMMA_BASE_URL": live_server},
        catch_exceptions=False,
    )
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    errors: list[str] = []
    page = await _new_page(browser, errors, **PHONE)
    await sign_in(page, live_server, CLERK_EMAIL)
    await page.goto(f"{live_server}/demo/portal/election-day")
    await expect(page.locator("#day-connection")).to_have_class("day-connection is-live")
    lead = page.locator("section.station-lead").filter(has_text=STATION)
    arrived = lead.locator(".roster li.roster-arrived")
    before = await arrived.count()
    await page.screenshot(path=str(ARTIFACTS / "station-live-phone-top.png"), caret="initial")

    await asyncio.to_thread(_check_in_a_teammate, live_server, token, STATION)

    await expect(arrived).to_have_count(before + 1)
    await expect(page.locator("#day-connection")).to_have_text("Live")
    await page.locator(f"#roster-{await _station_id(page)}").scroll_into_view_if_needed()
    await page.screenshot(path=str(ARTIFACTS / "station-live-phone.png"), caret="initial")

    # A coordinator on a laptop sends a message to all stations of the election.
    desk = await _new_page(browser, errors, **DESKTOP)
    await sign_in(desk, live_server, COORDINATOR_EMAIL)
    await desk.goto(f"{live_server}/demo/planning/live")
    await desk.get_by_role("link", name="Meddelanden till vallokalerna").click()
    await desk.locator("#field-scope").select_option("all")
    await desk.locator("#field-text").fill("Kom ihåg att räkna rösterna två gånger.")
    await desk.get_by_role("button", name="Skicka meddelandet").click()
    await expect(desk.locator("tbody tr").first).to_contain_text("0 av")
    await desk.screenshot(path=str(ARTIFACTS / "station-messages-desk.png"), caret="initial")

    # The phone shows it without a reload, and the chair marks it read.
    message = lead.locator(".station-message").filter(has_text="räkna rösterna")
    await expect(message).to_have_class("station-message is-unread")
    await message.scroll_into_view_if_needed()
    await page.screenshot(path=str(ARTIFACTS / "station-message-phone.png"), caret="initial")
    await message.get_by_role("button", name="Markera som läst").click()
    await expect(lead.locator(".station-message").first).to_contain_text("Läst kl.")
    await desk.reload()
    await expect(desk.locator("tbody tr").first).to_contain_text("1 av")
    assert errors == []
    await page.context.close()
    await desk.context.close()


async def _station_id(page: Any) -> str:
    section = page.locator("section.station-lead").first
    return str(await section.get_attribute("id")).removeprefix("station-")
