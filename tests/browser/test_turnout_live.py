"""Turnout live, walked as its users would on the demo with its coming election moved to
today: a coordinator watches the dashboard; the demo clerk, chair of a polling station,
reports how many have voted from a phone; the station's row and the election's turnout
on the dashboard follow without a reload. The planner's start page, too, in a browser."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.settings import Settings
from app.demo import DEMO_SLUG
from app.demo.turnout import fill_turnout
from app.domain.models import Election, TurnoutReport
from tests.browser.conftest import ARTIFACTS, in_the_demo, no_turnout_yet
from tests.browser.test_accessibility import PLANNER_EMAIL, SIZES, Audit
from tests.browser.test_election_day_live import (
    CLERK_EMAIL,
    COORDINATOR_EMAIL,
    DESKTOP,
    STATION,
    _sign_in,
)
from tests.browser.test_recruitment import ELECTION, PHONE, _assert_fits_phone, _new_page


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def _every_time_reported(settings: Settings) -> None:
    """Turnout for every reporting time of the day, as by evening: the demo fills in only
    the times already past (none before 11:00, nor from 22:00, when its election day is
    tomorrow)."""
    async with in_the_demo(settings) as connection:
        session = AsyncSession(bind=connection)
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
        election = await session.scalar(select(Election).where(Election.name == ELECTION))
        assert tenant is not None and election is not None
        await connection.execute(delete(TurnoutReport))
        zone = ZoneInfo(tenant.timezone)
        await fill_turnout(session, tenant.id, election.id, election.election_day, zone)
        await session.flush()


async def test_a_chairs_turnout_report_shows_on_the_dashboard_without_reload(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    await no_turnout_yet(settings)
    errors: list[str] = []
    dashboard = await _new_page(browser, errors, **DESKTOP)
    await _sign_in(dashboard, live_server, COORDINATOR_EMAIL)
    await dashboard.goto(f"{live_server}/demo/planning/live")
    await expect(dashboard).to_have_url(re.compile(r"/demo/planning/elections/\d+/live$"))
    await dashboard.goto(f"{dashboard.url}?q={STATION}")
    await expect(dashboard.locator("#ops-connection")).to_have_class(re.compile(r"\bis-live\b"))
    row = dashboard.locator("tr.ops-row").filter(
        has=dashboard.get_by_role("link", name=STATION, exact=True)
    )
    await expect(row).to_have_count(1)
    await expect(row.locator("td.ops-turnout")).not_to_contain_text("876")
    await dashboard.evaluate("window.stemmaTestMarker = 'no reload'")

    phone = await _new_page(browser, errors, **PHONE)
    await _sign_in(phone, live_server, CLERK_EMAIL)
    await phone.goto(f"{live_server}/demo/portal/election-day")
    form = phone.locator("form.turnout-form").first
    await form.locator("select[name=slot]").select_option("20:00")
    await form.locator("input[name=count]").fill("876")
    await form.locator("button[type=submit]").click()
    await expect(phone.locator(".flash-success")).to_be_visible()
    await _assert_fits_phone(phone)

    cell = row.locator("td.ops-turnout")
    await expect(cell).to_contain_text("876", timeout=15_000)
    await expect(cell).to_contain_text("kl. 20:00")
    totals = dashboard.locator("#ops-turnout")
    await expect(totals.get_by_role("row").nth(1)).to_contain_text("876")
    # The table-like totals stayed whole when swapped in (a table in the fragment broke out).
    await expect(totals.get_by_role("row")).to_have_count(4)
    assert await dashboard.evaluate("window.stemmaTestMarker") == "no reload"
    await dashboard.screenshot(path=str(ARTIFACTS / "turnout-dashboard.png"), caret="initial")
    assert not errors, errors


async def test_the_start_page_leads_a_planner_to_what_needs_attention(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in(page, live_server, "planner@demo.stemma.test")
    await expect(page).to_have_url(f"{live_server}/demo/planning/")
    figures = page.locator(".attention-figure")
    await expect(figures.first).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "start-page.png"), full_page=True, caret="initial")
    # On the demo's election day: the day's figures come first, each leading to the
    # dashboard; the places open below the minimum lead to the board showing those.
    await expect(page.get_by_role("heading", name="I dag i vallokalerna")).to_be_visible()
    below = page.locator(".attention-figure a[href$='show=below_minimum']")
    await expect(below.locator(".attention-number")).not_to_have_text("0")
    await below.click()
    await expect(page.locator("#field-show")).to_have_value("below_minimum")
    assert not errors, errors


async def test_the_start_page_turnout_and_overdue_offers_pass_axe_on_election_day(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    """The pages this work adds or changes, as they look on the day: the start page with
    the day's figures, the dashboard with turnout reported, the overdue offers."""
    await _every_time_reported(settings)
    audit = Audit(live_server)
    for view, size in SIZES.items():
        page = await _new_page(browser, [], **size)
        await _sign_in(page, live_server, PLANNER_EMAIL)
        await audit.visit(page, f"{live_server}/demo/planning/", view)
        live = await page.locator(".attention-figure a[href*='/live']").first.get_attribute("href")
        assert live
        await audit.visit(page, live_server + live.split("?")[0], view)
        await expect(page.locator("#ops-turnout [role=row]")).to_have_count(4)
        offers = live.split("/live")[0] + "/staffing/overdue-offers"
        await audit.visit(page, live_server + offers, view)
        await page.context.close()
    if audit.found:
        pytest.fail(audit.report(), pytrace=False)
    assert audit.views == 6, audit.views
