"""A coordinator on a laptop finds the one station in trouble among the demo's many
(issue 24): a high-severity incident is reported at one station; on the live dashboard
it tops the alert feed, the "High-severity incident (1)" choice of the alert filter
leaves its row alone, a search by its name finds it, and the feed's link opens its
panel. On a 1280×800 window, without scrolling through the stations."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.settings import Settings
from app.domain.models import INCIDENT_CATEGORIES, Election, Station
from app.domain.ops.incidents import report_incident
from tests.browser.conftest import ARTIFACTS, choose_in_swapping_filter, in_the_demo
from tests.browser.test_election_day_live import COORDINATOR_EMAIL, _sign_in
from tests.browser.test_recruitment import ELECTION, _new_page

LAPTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def _trouble(settings: Settings) -> tuple[str, int]:
    """A high-severity incident at the last station by name of the election the demo
    moved to today (to tomorrow from 22:00: found by its name, not by the date, which the
    test's process reads in its own zone and at its own hour)."""
    async with in_the_demo(settings) as connection:
        session = AsyncSession(bind=connection)
        election_id = await session.scalar(select(Election.id).where(Election.name == ELECTION))
        station = await session.scalar(
            select(Station)
            .where(Station.election_id == election_id)
            .order_by(Station.name.desc())
            .limit(1)
        )
        assert station is not None
        name, station_id = station.name, station.id
        await report_incident(
            session,
            Actor.system("test"),
            station_id,
            category=INCIDENT_CATEGORIES[0],
            severity="high",
            text="Hot mot röstmottagarna.",
        )
        return name, station_id


async def test_a_coordinator_finds_the_one_station_in_trouble(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    name, station_id = await _trouble(settings)
    errors: list[str] = []
    page = await _new_page(browser, errors, **LAPTOP)
    await _sign_in(page, live_server, COORDINATOR_EMAIL)
    started = time.monotonic()
    await page.goto(f"{live_server}/demo/planning/live")
    await expect(page.locator("#ops-connection")).to_have_text("Live")
    rows = page.locator("#ops-live tr.ops-row")
    assert await rows.count() > 1

    # The feed's newest alert is the incident, in view without scrolling.
    first = page.locator(".ops-feed-item").first
    await expect(first).to_have_attribute("data-alert", "high_incident")
    await expect(first.get_by_role("link")).to_have_text(name)
    await expect(first).to_be_in_viewport()
    await page.screenshot(path=str(ARTIFACTS / "dashboard-laptop-45.png"), caret="initial")

    # The alert filter says how many stations each choice shows; this one shows one.
    choice = page.locator("#field-alert option[value=high_incident]")
    await expect(choice).to_have_text("Avvikelse med hög allvarlighetsgrad (1)")
    await choose_in_swapping_filter(page, "#field-alert", value="high_incident")
    await expect(rows).to_have_count(1)
    await expect(page.locator(f"#ops-station-{station_id}")).to_be_in_viewport()
    alert = page.locator(f"#ops-station-{station_id} .ops-alert-danger[data-alert=high_incident]")
    await expect(alert).to_have_count(1)

    # A search by part of its name finds it too, whatever the alert.
    await choose_in_swapping_filter(page, "#field-alert", value="")
    before = page.url
    await page.locator("#field-q").fill(name.split()[0].lower())
    await page.locator("#field-q").press("Enter")
    await expect(page).not_to_have_url(before, timeout=20_000)
    await expect(page.locator(f"#ops-station-{station_id}")).to_be_visible()
    assert 1 <= await rows.count() < 10

    # The feed's link opens the station's panel.
    await page.locator(".ops-feed-item").first.get_by_role("link").click()
    panel = page.locator("#ops-panel.ops-drawer")
    await expect(panel.locator("#ops-panel-title")).to_contain_text(name)
    found_in = time.monotonic() - started
    await page.screenshot(path=str(ARTIFACTS / "dashboard-laptop-45-found.png"), caret="initial")
    assert found_in < 60, found_in  # seconds, on a loaded machine
    assert errors == []
    await page.context.close()
