"""Emergency dispatch walked as its users would, on the demo with its election today: a
coordinator opens a station's drawer, sees which reserves break which rule, sends one
who lacks the training for the vice chair's place by giving a reason; the reserve's
phone shows that they are sent and they confirm; the dashboard's row says "sent" and
then "confirmed" without a reload.

The reserve signs in with the demo clerk's account, given to the reserve for the test
(the demo's reserves have no accounts of their own).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select, update

from app.core.models import User
from app.core.settings import Settings
from app.domain.models import Person
from tests.browser.conftest import ARTIFACTS, in_the_demo
from tests.browser.test_accessibility import Audit
from tests.browser.test_election_day_live import CLERK_EMAIL, COORDINATOR_EMAIL, STATION
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import PHONE, _assert_fits_phone, _new_page

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


def _shot(name: str) -> str:
    return str(ARTIFACTS / f"emergency-dispatch-{name}.png")


async def _give_clerk_account_to(settings: Settings, person_id: int) -> None:
    async with in_the_demo(settings) as connection:
        user_id = await connection.scalar(select(User.id).where(User.email == CLERK_EMAIL))
        assert user_id is not None
        await connection.execute(
            update(Person).where(Person.user_id == user_id).values(user_id=None)
        )
        await connection.execute(
            update(Person).where(Person.id == person_id).values(user_id=user_id)
        )


async def test_a_coordinator_sends_a_reserve_past_the_training_rule_and_the_phone_confirms(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    errors: list[str] = []
    # The drawer and the phone as they change here pass axe too (WCAG 2.1 AA).
    audit = Audit(live_server)
    dashboard = await _new_page(browser, errors, **DESKTOP)
    await sign_in(dashboard, live_server, COORDINATOR_EMAIL)
    await dashboard.goto(f"{live_server}/demo/planning/live")
    await expect(dashboard).to_have_url(re.compile(r"/planning/elections/\d+/live$"))
    # By the search: the station's page in the "problems first" order depends on the hour.
    await dashboard.goto(f"{dashboard.url}?q={STATION}")
    await expect(dashboard.locator("#ops-connection")).to_have_class(re.compile(r"\bis-live\b"))
    await dashboard.evaluate("window.stemmaTestMarker = 'no reload'")
    row = dashboard.locator("tr.ops-row").filter(
        has=dashboard.get_by_role("link", name=STATION, exact=True)
    )
    await row.get_by_role("link", name=STATION, exact=True).click()
    panel = dashboard.locator("#ops-panel.ops-drawer")
    await expect(panel).to_be_visible()

    # Each reserve says what sending them takes; one lacks the training (a reason will do).
    untrained = panel.locator("#field-person optgroup option:not([disabled])").filter(
        has_text=re.compile(r"kräver ett skäl: saknar utbildningen")
    )
    await expect(untrained.first).to_be_attached()
    value = await untrained.first.get_attribute("value")
    assert value is not None
    reserve_id = int(value.split(":")[1])
    reserve_name = (await untrained.first.inner_text()).split(" — ")[0].strip()
    await _give_clerk_account_to(settings, reserve_id)

    await panel.locator("#field-person").select_option(value)
    # The vice chair's place on the shift in focus: the role needs a course.
    place = panel.locator("#field-place option").filter(has_text=re.compile(r"· Vice ordförande$"))
    await panel.locator("#field-place").select_option(await place.first.get_attribute("value"))
    await panel.locator("form[action$='/reassign'] button[type=submit]").click()
    # Without a reason: refused at the reason's field, nothing sent.
    reason_error = panel.locator("#field-override_reason-error")
    await expect(reason_error).to_contain_text("Ange ett skäl")
    await expect(panel.locator("#field-person")).to_have_value(value)
    await panel.locator("#field-override_reason").fill(
        "Vice ordföranden är sjuk; Karl har gjort utbildningen förra valet."
    )
    await panel.locator("#field-place").select_option(await place.first.get_attribute("value"))
    await dashboard.screenshot(path=_shot("drawer-reason"), caret="initial")
    await audit.check(dashboard, "drawer, refused at the reason")
    await panel.locator("form[action$='/reassign'] button[type=submit]").click()
    await expect(panel.locator(".flash-success")).to_be_visible()
    sent_line = row.locator(".ops-sent").filter(has_text=reserve_name)
    await expect(sent_line).to_have_attribute("data-sending", "sent")
    await expect(sent_line).to_contain_text("inte bekräftat än")
    await expect(
        panel.locator(".ops-roster li").filter(has_text=reserve_name).locator("[data-sending]")
    ).to_have_attribute("data-sending", "sent")
    await dashboard.screenshot(path=_shot("drawer-sent"), caret="initial")
    await audit.check(dashboard, "drawer, sent")

    # The reserve's phone shows where they are sent; they confirm.
    phone = await _new_page(browser, errors, **PHONE)
    await sign_in(phone, live_server, CLERK_EMAIL)
    await phone.goto(f"{live_server}/demo/portal/election-day")
    card = phone.locator("[data-checkin-card]").filter(has_text=STATION)
    await expect(card.locator(".sent-notice")).to_contain_text("Valkansliet har skickat dig hit.")
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("phone-sent"), full_page=True, caret="initial")
    await audit.check(phone, "phone, sent")
    await card.get_by_role("button", name="Jag är på väg").click()
    await expect(phone.locator(".flash-success")).to_be_visible()
    await expect(
        phone.locator("[data-checkin-card]").filter(has_text=STATION).locator(".sent-notice")
    ).to_have_class(re.compile(r"\bis-confirmed\b"))
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("phone-confirmed"), full_page=True, caret="initial")

    # The dashboard follows over its socket: confirmed, and still the page first loaded.
    await expect(sent_line).to_have_attribute("data-sending", "confirmed")
    await expect(sent_line).to_contain_text("bekräftade")
    assert await dashboard.evaluate("window.stemmaTestMarker") == "no reload"
    await dashboard.screenshot(path=_shot("dashboard-confirmed"), caret="initial")
    if audit.found:
        pytest.fail(audit.report(), pytrace=False)
    # The browser logs the refusal's answer (422, the one asked for above) as an error.
    assert [e for e in errors if "status of 422" not in e] == []
    assert len(errors) <= 1
    await dashboard.context.close()
    await phone.context.close()
