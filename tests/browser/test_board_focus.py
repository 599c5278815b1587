"""The staffing board by keyboard (issue 27, item 4): placing and taking off a person
swap the station's card, and focus stays in it (not on the page's body); the "add"
panel comes into view with focus on its search field; the confirm step for taking
someone off takes focus, and gives it back when cancelled. What happened is read out
by the page's live region."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, choose_in_swapping_filter
from tests.browser.test_recruitment import DESKTOP, _new_page, _sign_in_planner
from tests.browser.test_staffing import _open_board

#: What has focus: its tag, id, text, the id of the station card it is in (or none).
FOCUSED = """() => {
  const e = document.activeElement;
  const card = e && e.closest ? e.closest('.station-card') : null;
  const rect = e ? e.getBoundingClientRect() : null;
  return {
    tag: e ? e.tagName.toLowerCase() : null,
    id: e ? e.id : null,
    text: e ? (e.innerText || '').trim() : null,
    card: card ? card.id : null,
    inView: rect ? rect.top >= 0 && rect.bottom <= window.innerHeight : false,
    confirm: !!(e && e.closest && e.closest('.withdraw-confirm')),
  };
}"""


async def _focused(page: Page) -> dict[str, object]:
    focused: dict[str, object] = await page.evaluate(FOCUSED)
    return focused


async def _settled(page: Page) -> None:
    await expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


async def test_placing_and_taking_off_keep_focus_in_the_station_card(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(page, live_server)
    await _open_board(page, live_server)
    await choose_in_swapping_filter(page, "#field-district", index=1)
    card = page.locator(".station-card").first
    card_id = await card.get_attribute("id")
    card = page.locator(f"#{card_id}")

    # "Add": the panel opens at the card's foot, in view, with focus on its search field.
    add = card.locator(".cell a.button").first
    await add.focus()
    await page.keyboard.press("Enter")
    search = card.locator(".place input[type=search]")
    await expect(search).to_be_focused()
    await _settled(page)
    focused = await _focused(page)
    assert focused["inView"], focused
    await page.screenshot(path=str(ARTIFACTS / "board-focus-add.png"))

    # Assign the first who fits, from the keyboard: the card is swapped and focus is on
    # the person just placed, in the new card; the live region says so.
    assign = card.locator(".candidates form button").first
    name = (await assign.locator(".visually-hidden").inner_text()).strip()
    await assign.focus()
    await page.keyboard.press("Enter")
    placed = card.locator(".holders li a", has_text=name)
    await expect(placed).to_be_focused()
    focused = await _focused(page)
    assert focused["card"] == card_id and focused["tag"] == "a", focused
    await expect(page.locator("#stemma-announcer")).to_contain_text(name)

    # Its × opens the confirm step with focus on its first button; Cancel gives focus
    # back to the × (and closes the step).
    holder = card.locator(".holders li").filter(has=page.locator("a", has_text=name))
    cross = holder.locator("button")
    await cross.focus()
    await page.keyboard.press("Enter")
    confirm = card.locator(".withdraw-confirm")
    await expect(confirm.get_by_role("button")).to_be_focused()
    assert (await _focused(page))["confirm"]
    await page.screenshot(path=str(ARTIFACTS / "board-focus-confirm.png"))
    await page.keyboard.press("Tab")
    await expect(confirm.locator("a[data-cancel-panel]")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(confirm).to_have_count(0)
    await expect(cross).to_be_focused()

    # Again, and confirmed: the person is off, focus is on the card's heading (not the
    # body) and the live region reads the notice.
    await page.keyboard.press("Enter")
    await expect(confirm.get_by_role("button")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(card.locator(".holders li a", has_text=name)).to_have_count(0)
    await expect(card.locator("h2")).to_be_focused()
    focused = await _focused(page)
    assert focused["card"] == card_id, focused
    await expect(page.locator("#stemma-announcer")).to_contain_text(name)
    await page.screenshot(path=str(ARTIFACTS / "board-focus-removed.png"))
    assert errors == [], errors
