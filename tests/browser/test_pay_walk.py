"""Issue 23's walk through pay, tried as a new user would in Chromium: the office opens
the election's pay (rates set, each person's pay computed from the demo's election-day
check-ins), approves one district that is ready, sets the payroll file's own columns
(Excel), downloads the file and opens it as a spreadsheet. The statistics page and the
chair's turnout on the dashboard have their walks in ``test_statistics`` and
``test_turnout_live``.
"""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from playwright.async_api import Browser, expect

from app.demo import DEMO_PASSWORD
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import DESKTOP, _new_page
from tests.browser.test_statistics import ELECTION


async def test_the_office_approves_a_district_and_opens_its_payroll_file(
    browser: Browser, live_server: str
) -> None:
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    page = await _new_page(browser, errors, accept_downloads=True, **DESKTOP)
    # The administrator: pay and the payroll file (a permission of its own).
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("admin@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await page.goto(f"{live_server}/demo/planning/elections/")
    await page.get_by_role("link", name=ELECTION).click()
    found = re.search(r"/elections/(\d+)", page.url)
    assert found is not None
    pay = f"{live_server}/demo/planning/elections/{found.group(1)}/pay/"
    await page.goto(pay)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Arvode")
    await page.screenshot(path=ARTIFACTS / "pay-overview-desktop.png", full_page=True)

    # A district ready to approve: its people's pay from the check-ins, then approved.
    ready = page.locator("tbody tr").filter(has_text="Klart att godkänna").first
    district = (await ready.locator("th a").inner_text()).strip()
    await ready.locator("th a").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(district)
    people = page.locator("#people-heading ~ * tbody tr th a")
    assert await people.count() > 0
    await page.screenshot(path=ARTIFACTS / "pay-district-desktop.png", full_page=True)
    await page.get_by_role("button", name="Godkänn distriktets arvoden").click()
    await expect(page.get_by_text("Godkänn distriktets arvoden")).to_have_count(0)

    # The payroll file in the municipality's own layout: name and amount, as Excel.
    await page.goto(pay)
    await page.get_by_role("link", name="Ställ in filens kolumner och lönearter").click()
    await page.get_by_label("Filformat").select_option("xlsx")
    await page.get_by_label("Kolumn 1", exact=True).select_option("name")
    await page.get_by_label("Rubrik för kolumn 1", exact=True).fill("Namn")
    await page.get_by_label("Kolumn 2", exact=True).select_option("amount")
    await page.get_by_label("Rubrik för kolumn 2", exact=True).fill("Summa")
    columns = page.locator("select[name^='field_']")
    for index in range(2, await columns.count()):
        await columns.nth(index).select_option("")
    await page.get_by_role("button", name="Spara").click()
    await expect(page).to_have_url(pay)
    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Ladda ned lönefilen").click()
    download = await waiting.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO((await download.path()).read_bytes())).active
    assert sheet is not None
    rows = list(sheet.values)
    assert rows[0] == ("Namn", "Summa")
    assert len(rows) > 1
    assert all(row[0] and isinstance(row[1], int | float) for row in rows[1:])
    # The download is recorded: who took the file, listed on the pay page.
    await page.reload()
    await expect(page.get_by_role("heading", name="Senaste lönefilerna")).to_be_visible()
    await expect(page.locator("#payroll-heading ~ ul").first).to_contain_text(
        "admin@demo.stemma.test"
    )
    await page.screenshot(path=ARTIFACTS / "pay-after-export-desktop.png", full_page=True)
    assert errors == []
