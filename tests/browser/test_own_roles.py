"""The office's own roles in a real browser: a team leader added with its pay, course and
where it works; the clerk role, used in the demo, refused deletion where it was asked."""

from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility import Audit
from tests.browser.test_registers import _sign_in


async def test_the_office_adds_a_team_leader_and_cannot_delete_a_used_role(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors = await _sign_in(page, live_server)
    await page.goto(f"{live_server}/demo/planning/roles/")
    new = page.locator("section", has=page.get_by_role("heading", name="Lägg till en roll"))
    await new.get_by_label("Roll (svenska)").fill("Lagledare")
    await new.get_by_label("Roll (English)").fill("Team leader")
    await new.get_by_label("Arvode").fill("3100")
    await new.get_by_label("Kräver utbildning").select_option(index=1)
    await new.get_by_label("Förtidsröstning").uncheck()
    await new.get_by_role("button", name="Lägg till rollen").click()
    await expect(page.get_by_text("Rollen har lagts till.")).to_be_visible()
    leader = page.locator("section", has=page.get_by_role("heading", name="Lagledare"))
    await expect(leader.get_by_label("Förtidsröstning")).not_to_be_checked()
    await expect(leader.locator("a")).to_have_count(1)  # its course, linked
    await page.screenshot(path=str(ARTIFACTS / "own-roles.png"), full_page=True)

    clerk = page.locator("section", has=page.get_by_role("heading", name="Röstmottagare"))
    await clerk.get_by_role("button", name="Ta bort").click()
    clerk = page.locator("section", has=page.get_by_role("heading", name="Röstmottagare"))
    await expect(clerk.get_by_role("alert")).to_contain_text("avveckla den i stället")
    audit = Audit(live_server)
    await audit.check(page, "desktop, a refusal shown")
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(ARTIFACTS / "own-roles-phone.png"), full_page=True)
    await audit.check(page, "phone")
    assert not audit.found, audit.report()
    # The refused deletion answers 422 (the form again, with the reason), as it should.
    assert [e for e in errors if "status of 422" not in e] == [], errors
