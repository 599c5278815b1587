"""The writer's journey through the documents, as a new user would: the appointment
letter's text rewritten with merge fields, previewed for a real person (HTMX), saved;
then letters by post: the count follows the chosen district, and the labels download.
Each page passes axe (WCAG 2.1 AA) on a desktop and a phone window."""

from __future__ import annotations

import io

import pytest
from playwright.async_api import Browser, expect
from pypdf import PdfReader

from tests.browser.test_accessibility import PLANNER_EMAIL, SIZES, Audit
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import ELECTION, _new_page

pytestmark = pytest.mark.browser


async def test_the_planner_writes_the_letter_and_prints_labels(
    live_server: str, browser: Browser
) -> None:
    audit = Audit(live_server)
    errors: list[str] = []
    for view, size in SIZES.items():
        page = await _new_page(browser, errors, **size)
        await sign_in(page, live_server, PLANNER_EMAIL)
        planning = f"{live_server}/demo/planning"
        await audit.visit(page, f"{planning}/documents/", view)
        await page.locator("main a[href$='/documents/appointment_letter/sv']").click()
        await expect(page.locator("h1")).to_contain_text("Förordnande")
        body = page.locator("#field-body")
        await body.fill(f"Hej {{{{ person.first_name }}}} ({view})!\n\n{{{{ places }}}}")
        await page.locator("#field-person").fill("a")
        await page.locator("button[value=preview]").click()
        preview = page.locator("#document-preview")
        await expect(preview).to_contain_text(f"({view})!")
        await expect(preview).to_contain_text("kl.")
        await audit.check(page, f"{view}, preview")
        # A field the letter does not have: refused at the text, with its line.
        await body.fill("Hej\n{{ shift.day }}")
        await page.locator("button[value=save]").click()
        await expect(page.locator("#field-body-error")).to_contain_text("shift.day")
        await audit.check(page, f"{view}, refused")
        await body.fill(f"Hej {{{{ person.first_name }}}} ({view})!\n\n{{{{ places }}}}")
        await page.locator("button[value=save]").click()
        await expect(page.locator("main")).to_contain_text("Egen text, version")
        # Letters by post for the election: the count follows the district.
        await page.goto(f"{planning}/elections/")
        election = (
            await page.locator("main a").filter(has_text=ELECTION).first.get_attribute("href")
        )
        assert election
        await audit.visit(page, f"{live_server}{election}staffing/mailing", view)
        count = page.locator("#count-heading")
        everyone = await count.inner_text()
        await page.locator("#field-district_id").select_option(index=1)
        await expect(count).not_to_have_text(everyone)
        await page.locator("#field-district_id").select_option("")
        await expect(count).to_have_text(everyone)
        async with page.expect_download() as download_info:
            await page.locator("a[href*='labels.pdf']").click()
        download = await download_info.value
        path = await download.path()
        assert path is not None
        reader = PdfReader(io.BytesIO(path.read_bytes()))
        assert len(reader.pages) >= 1 and reader.pages[0].extract_text().strip()
        await page.context.close()
    if audit.found:
        pytest.fail(audit.report(), pytrace=False)
    assert audit.views == 2 * 4
    # The refused save answers 422, which the browser reports; nothing else may fail.
    assert [error for error in errors if "status of 422" not in error] == []
