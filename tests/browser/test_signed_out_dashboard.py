"""A dashboard left open in one tab when its user signs out in another: the server closes
its socket (4401) at once, and the page, instead of reconnecting with a dead session,
loads once and lands on the sign-in page."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_election_day_live import COORDINATOR_EMAIL, DESKTOP, _sign_in
from tests.browser.test_recruitment import _new_page


async def test_a_dashboard_open_in_another_tab_goes_to_sign_in_after_signing_out(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    dashboard = await _new_page(browser, errors, **DESKTOP)
    await _sign_in(dashboard, live_server, COORDINATOR_EMAIL)
    await dashboard.goto(f"{live_server}/demo/planning/live")
    await expect(dashboard).to_have_url(re.compile(r"/demo/planning/elections/\d+/live$"))
    await expect(dashboard.locator("#ops-connection")).to_have_class(re.compile(r"\bis-live\b"))

    other_tab = await dashboard.context.new_page()
    await other_tab.goto(f"{live_server}/demo/planning/")
    await other_tab.get_by_role("button", name="Logga ut").click()
    await expect(other_tab).to_have_url(re.compile(r"/login$"))

    # The dashboard's socket was closed by the server; the page went to sign in.
    await expect(dashboard).to_have_url(re.compile(r"/login"), timeout=10_000)
    await dashboard.screenshot(path=str(ARTIFACTS / "signed-out-dashboard.png"))
    assert errors == []
