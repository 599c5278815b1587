"""Issue 25 on the staffing board: with a five-hour day set (every demo shift is longer)
the board names the rule, asks for a reason to place someone anyway, and marks the
person placed as not having signed the required confidentiality undertaking."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS, choose_in_swapping_filter
from tests.browser.test_recruitment import DESKTOP, _new_page, _sign_in_planner
from tests.browser.test_staffing import _open_board


def _shot(name: str) -> str:
    return str(ARTIFACTS / f"working-time-{name}.png")


async def test_the_board_asks_a_reason_for_a_long_day_and_marks_the_unsigned(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(page, live_server)
    await page.goto(f"{live_server}/demo/planning/working-rules/")
    await page.get_by_role("button", name="Kräv tystnadsförbindelsen").click()
    await page.get_by_label("Högst antal timmar per dag").fill("5")
    await page.get_by_role("button", name="Spara", exact=True).click()
    confirm = page.locator("#confirm-working-time")
    if await confirm.count():
        await page.screenshot(path=_shot("confirm"), full_page=True, caret="initial")
        await confirm.get_by_role("button", name="Spara reglerna ändå").click()
    await expect(page.locator(".flash-success")).to_contain_text("Arbetstidsreglerna")

    await _open_board(page, live_server)
    await choose_in_swapping_filter(page, "#field-district", index=1)
    card = page.locator(".station-card").first
    station_id = await card.get_attribute("id")
    card = page.locator(f"#{station_id}")
    await card.locator(".cell a.button").first.click()
    panel = card.locator(".place")
    await expect(panel).to_contain_text("högst 5 är tillåtet")
    await panel.locator(".candidates form button").first.click()
    reason = card.locator("input[name=override_reason]")
    await expect(reason).to_be_visible()
    await expect(card.locator(".conflict")).to_contain_text("Skulle arbeta")
    await page.screenshot(path=_shot("reason"), full_page=False, caret="initial")
    await reason.fill("Ingen annan kan, avtalat med personen")
    await card.get_by_role("button", name="Placera ändå (åsidosättandet loggas)").click()
    await expect(card.locator(".conflict")).to_have_count(0)
    await expect(
        card.locator(".badge-warn", has_text="Tystnadsförbindelse saknas")
    ).not_to_have_count(0)
    await page.screenshot(path=_shot("board"), full_page=False, caret="initial")
    # The first "assign anyway" answers 409 (the reason is missing) on purpose.
    assert [e for e in errors if "status of 409" not in e] == []
    await page.context.close()
