"""The live dashboard by keyboard, while it is live (issue 27, item 4): the live updates
can be paused (WCAG 2.2.2) and a paused page applies no live row until it is resumed;
the minute's redraw keeps focus on the control that had it and waits while someone is
in the filters; a station's drawer, closed, gives focus back to the station's link, even
when its row was redrawn by a live update meanwhile.

The live updates are the real ones: the demo clerk, chair of a station, checks in and
out on a phone."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from app.core.settings import Settings
from tests.browser.conftest import ARTIFACTS, no_turnout_yet
from tests.browser.test_election_day_live import (
    CLERK_EMAIL,
    COORDINATOR_EMAIL,
    DESKTOP,
    STATION,
    _sign_in,
)
from tests.browser.test_recruitment import PHONE, _new_page


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


#: Counts the live fragments that carry the row ``row_id`` (applied or not).
WATCH_ROW = """(rowId) => {
  window.rowMessages = 0;
  document.addEventListener('htmx:wsBeforeMessage', (event) => {
    const text = event.detail.message;
    if (typeof text === 'string' && text.includes('id="' + rowId + '"')) { window.rowMessages += 1; }
  }, true);
}"""

#: Triggers the minute's redraw now; says whether it went to the server at once.
REDRAW = """() => {
  let sent = 0;
  const count = () => { sent += 1; };
  document.addEventListener('htmx:beforeSend', count);
  htmx.trigger('#ops-live', 'ops-snapshot');
  document.removeEventListener('htmx:beforeSend', count);
  return sent;
}"""

#: Resolves once the next redraw of the live part has settled.
NEXT_REDRAW = """() => new Promise((resolve) => {
  const live = document.getElementById('ops-live');
  live.addEventListener('htmx:afterSettle', () => resolve(true), { once: true });
})"""

FOCUSED_LINK = """() => {
  const e = document.activeElement;
  return e && e.tagName === 'A' && e.closest('tr.ops-row') ? e.closest('tr').id + ':' + e.innerText.trim() : (e ? e.tagName + '#' + e.id : null);
}"""


async def _until(page: Page, expression: str) -> None:
    """Waits until ``expression`` holds in the page (``wait_for_function`` evaluates a
    string, which the pages' CSP forbids)."""
    for _ in range(300):
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {expression}")


async def _checkin_card(
    browser: Browser, live_server: str, errors: list[str]
) -> tuple[Page, Locator]:
    phone = await _new_page(browser, errors, **PHONE)
    await _sign_in(phone, live_server, CLERK_EMAIL)
    await phone.goto(f"{live_server}/demo/portal/election-day")
    card = phone.locator("[data-checkin-card]").filter(has_text=STATION)
    await expect(card).to_have_count(1)
    return phone, card


async def test_the_dashboard_pauses_and_keeps_focus_while_live(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    await no_turnout_yet(settings)
    errors: list[str] = []
    dashboard = await _new_page(browser, errors, **DESKTOP)
    await _sign_in(dashboard, live_server, COORDINATOR_EMAIL)
    await dashboard.goto(f"{live_server}/demo/planning/live")
    # By the search: the station's page in the "problems first" order depends on the hour.
    await expect(dashboard).to_have_url(re.compile(r"/planning/elections/\d+/live$"))
    await dashboard.goto(f"{dashboard.url}?q={STATION}")
    await expect(dashboard.locator("#ops-connection")).to_have_class(re.compile(r"\bis-live\b"))
    row = dashboard.locator("tr.ops-row").filter(
        has=dashboard.get_by_role("link", name=STATION, exact=True)
    )
    row_id = await row.get_attribute("id")
    assert row_id
    last_change = row.locator(".ops-last-change")
    # Nothing yet: the demo's turnout is cleared, its last report could have been sent
    # the very minute the check-in below is made.
    await expect(last_change).to_have_text("–")
    before = (await last_change.inner_text()).strip()
    await dashboard.evaluate(WATCH_ROW, row_id)
    phone, card = await _checkin_card(browser, live_server, errors)

    # 1. Pause by keyboard: the label says what pressing does next, the status "paused".
    pause = dashboard.locator("#ops-pause")
    await expect(pause).to_have_text("Pausa liveuppdateringarna")
    await pause.focus()
    await dashboard.keyboard.press("Enter")
    await expect(pause).to_have_text("Återuppta liveuppdateringarna")
    await expect(pause).to_be_focused()
    await expect(dashboard.locator("#ops-connection")).to_have_text("Pausat")
    await dashboard.screenshot(path=str(ARTIFACTS / "dashboard-paused.png"), caret="initial")

    # The chair checks in: the row's update reaches the paused page and is not applied.
    await card.locator(".checkin-arrived").click()
    await expect(card.locator(".checkin-confirmed")).to_have_count(1)
    await _until(dashboard, "window.rowMessages > 0")
    await expect(last_change).to_have_text(before)
    # Paused, the minute's redraw does not go either.
    assert await dashboard.evaluate(REDRAW) == 0
    await expect(last_change).to_have_text(before)

    # Resumed: the page is drawn again with what was missed.
    redrawn = dashboard.evaluate(NEXT_REDRAW)
    await pause.focus()
    await dashboard.keyboard.press("Enter")
    await expect(pause).to_have_text("Pausa liveuppdateringarna")
    assert await redrawn
    await expect(last_change).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(last_change).not_to_have_text(before)
    await expect(dashboard.locator("#ops-connection")).to_have_text("Live")
    await expect(pause).to_be_focused()

    # The pause is kept for the session (a reload of the tab), until resumed.
    await dashboard.keyboard.press("Enter")
    await dashboard.reload()
    await expect(pause).to_have_text("Återuppta liveuppdateringarna")
    await expect(dashboard.locator("#ops-connection")).to_have_text("Pausat")
    redrawn = dashboard.evaluate(NEXT_REDRAW)
    await pause.focus()
    await dashboard.keyboard.press("Enter")
    assert await redrawn
    await expect(dashboard.locator("#ops-connection")).to_have_text("Live")

    # 2. The minute's redraw keeps focus on the station's link it had (a new element).
    link = row.get_by_role("link", name=STATION, exact=True)
    await link.focus()
    redrawn = dashboard.evaluate(NEXT_REDRAW)
    assert await dashboard.evaluate(REDRAW) == 1
    assert await redrawn
    assert await dashboard.evaluate(FOCUSED_LINK) == f"{row_id}:{STATION}"

    # ... and waits while someone types in the filters: the field and its text stay.
    search = dashboard.locator("#field-q")
    # The board is searched for the station (see above): typing replaces the search.
    searched = await search.input_value()
    await search.select_text()
    await dashboard.keyboard.type("Backa")
    await dashboard.evaluate("document.getElementById('field-q').stemmaMark = 1")
    assert await dashboard.evaluate(REDRAW) == 0
    await expect(search).to_be_focused()
    await expect(search).to_have_value("Backa")
    assert await dashboard.evaluate("document.getElementById('field-q').stemmaMark") == 1
    await search.fill(searched)
    # Leaving the filters, the redraw that waited comes.
    redrawn = dashboard.evaluate(NEXT_REDRAW)
    await pause.focus()
    assert await redrawn
    await _until(
        dashboard, "!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"
    )

    # 3. The drawer by keyboard: it takes focus; meanwhile the chair checks out and the
    # row is redrawn; closing with Escape gives focus to the station's (new) link.
    await link.focus()
    await dashboard.keyboard.press("Enter")
    panel = dashboard.locator("#ops-panel.ops-drawer")
    await expect(panel.locator("#ops-panel-title")).to_be_focused()
    await dashboard.evaluate(f"document.getElementById('{row_id}').stemmaOld = 1")
    await card.locator(".checkin-left").click()
    await _until(
        dashboard,
        f"!!document.getElementById('{row_id}') && !document.getElementById('{row_id}').stemmaOld",
    )
    await expect(panel.locator("#ops-panel-title")).to_be_focused()
    await dashboard.keyboard.press("Escape")
    await expect(dashboard.locator("#ops-panel")).to_be_hidden()
    assert await dashboard.evaluate(FOCUSED_LINK) == f"{row_id}:{STATION}"

    # Again, closed with its button.
    await dashboard.keyboard.press("Enter")
    await expect(panel.locator("#ops-panel-title")).to_be_focused()
    await panel.locator("[data-close-panel]").focus()
    await dashboard.keyboard.press("Enter")
    assert await dashboard.evaluate(FOCUSED_LINK) == f"{row_id}:{STATION}"
    assert errors == [], errors
    await dashboard.context.close()
    await phone.context.close()
