"""The statistics page in Chromium under the app's real CSP: no violation (no inline
style or script slips in with the charts), every chart an image with a title and its
table beside it, readable on a desktop and on a phone (the phone's own drawing), no
WCAG 2.1 AA finding by axe, and the budget form refusing a negative amount at its field.
"""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import AXE, RUN_AXE, WCAG_21_AA
from tests.browser.test_recruitment import DESKTOP, PHONE, _new_page, _sign_in_planner

#: The demo's last election: placed over the spring, with a budget.
ELECTION = "Val till riksdag, region och kommun 2026"


async def _axe(page: object) -> list[str]:
    await page.evaluate(AXE.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    rules = await page.evaluate(RUN_AXE, WCAG_21_AA)  # type: ignore[attr-defined]
    return [f"{r['id']}: {[n['target'] for n in r['nodes']][:3]}" for r in rules]


async def test_the_statistics_page_draws_every_chart_under_the_csp(
    browser: Browser, live_server: str
) -> None:
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    for name, window in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await _new_page(browser, errors, **window)
        await _sign_in_planner(page, live_server)
        await page.goto(f"{live_server}/demo/planning/elections/")
        await page.get_by_role("link", name=ELECTION).click()
        await page.get_by_role("link", name="Statistik").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Statistik")
        sections = page.locator("section.statistic")
        assert await sections.count() == 10
        # Each drawn chart: one image for this window (the other drawing is hidden), with
        # its title and description, and the table of its numbers.
        drawn = page.locator("svg.chart-svg:visible")
        assert await drawn.count() >= 8
        for index in range(await drawn.count()):
            chart = drawn.nth(index)
            assert await chart.get_attribute("role") == "img"
            assert ((await chart.locator("title").text_content()) or "").strip()
            assert ((await chart.locator("desc").text_content()) or "").strip()
        history = page.locator("#stat-history")
        await expect(history.locator("table caption")).to_contain_text("vecka för vecka")
        # The history rises over the spring: its first week holds fewer than its last.
        rows = history.locator("tbody tr")
        first = await rows.first.locator("td").first.inner_text()
        last = await rows.last.locator("td").first.inner_text()
        assert int(first.replace("\xa0", "")) < int(last.replace("\xa0", ""))
        await page.screenshot(path=ARTIFACTS / f"statistics-{name}.png", full_page=True)
        assert await _axe(page) == []
        await page.close()
    assert errors == []


async def test_the_budget_form_refuses_a_negative_amount_at_its_field(
    browser: Browser, live_server: str
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(page, live_server)
    await page.goto(f"{live_server}/demo/planning/elections/")
    await page.get_by_role("link", name=ELECTION).click()
    await page.get_by_role("link", name="Statistik").click()
    await page.get_by_role("link", name="Arvodesbudget").first.click()
    budget = page.url
    chair = page.get_by_label("Ordförande", exact=True)
    saved = await chair.input_value()
    await chair.fill("-100")
    await page.get_by_role("button", name="Spara budgeten").first.click()
    await expect(page.locator(".error-summary")).to_contain_text("kan inte vara under noll")
    await expect(chair).to_have_attribute("aria-invalid", "true")
    assert await _axe(page) == []
    # Nothing was saved: the page as loaded again still has the amount it had.
    await page.goto(budget)
    await expect(page.get_by_label("Ordförande", exact=True)).to_have_value(saved)
    await page.close()
    # The refusal's 422 is the page's own answer, not an error of the page.
    assert [e for e in errors if "422" not in e] == []
