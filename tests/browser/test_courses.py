"""The issue "Courses" walked as new users would, on the demo municipality: a planner
creates a basic course for the coming election with a session today and one in ten
days, books the untrained team of the demo clerk's district onto the later one, the
clerk moves to today's session on a phone, the planner takes the roll call, and the
staffing board shows the clerk with the course done.

The planner works in English (switched with the language switcher), so the test does
not depend on the Swedish wording of pages still being translated; the clerk keeps
Swedish and is driven by the page's structure (ids, forms, links).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from babel.dates import format_date
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, choose_in_swapping_filter
from tests.browser.test_recruitment import (
    DEMO_PASSWORD,
    DESKTOP,
    PHONE,
    _assert_fits_phone,
    _new_page,
    _sign_in_planner,
)

ELECTION = "Val till Europaparlamentet 2029"
COURSE = "Grundkurs i röstmottagning 2029"
#: The demo's own basic course, which the office replaces with the one it creates.
OLD_COURSE = "Grundutbildning för röstmottagare"
CHAIR_COURSE = "Ordförandeutbildning"
CLERK_EMAIL = "clerk@demo.stemma.test"
CLERK = "Röstmottagare, Robin"
CLERK_NAME = "Robin Röstmottagare"
ROOM = "Utbildningscentrum – Hörsalen (40)"
#: The demo municipality's clock (deadlines and roll calls go by its local day).
TODAY = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date()
LATER = TODAY + dt.timedelta(days=10)


def _shot(name: str) -> str:
    return str(ARTIFACTS / f"courses-{name}.png")


async def _open_course(page: Page, name: str) -> None:
    await page.locator("nav a[href$='/planning/courses/']").click()
    await expect(page.locator("h1")).to_have_text("Courses")
    await page.get_by_role("link", name=name, exact=True).click()
    await expect(page.locator("h1")).to_contain_text(name)


async def _add_session(
    page: Page, day: dt.date, start: str, end: str, deadline: dt.date | None
) -> int:
    """Add a session in the training centre's hall from the course page; its id."""
    await page.get_by_role("link", name="Add a session").click()
    await expect(page.locator("h1")).to_contain_text("Add a session")
    await page.locator("#field-day").fill(day.isoformat())
    await page.locator("#field-starts_at").fill(start)
    await page.locator("#field-ends_at").fill(end)
    await page.locator("#field-room_id").select_option(label=ROOM)
    if deadline is not None:
        await page.locator("#field-booking_deadline").fill(deadline.isoformat())
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".flash-success")).to_have_text("The session has been saved.")
    found = re.search(r"/sessions/(\d+)$", page.url)
    assert found, page.url
    await page.get_by_role("link", name=f"← {COURSE}").click()
    return int(found.group(1))


async def _mark_attended(page: Page, name: str) -> None:
    """On a roll call: mark one person as having come, and save."""
    row = page.locator("li.roll-row").filter(has_text=name)
    await expect(row).to_have_count(1)
    await row.locator("input[value=attended]").check()
    await page.get_by_role("button", name="Save the roll call").click()
    await expect(page.locator(".flash-success")).to_contain_text("The roll call has been saved")
    await expect(page.locator("li.roll-row.state-attended").filter(has_text=name)).to_have_count(1)


async def test_it_trains_a_clerk_from_a_new_course_to_the_staffing_board(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    planner = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(planner, live_server)
    await planner.locator("form.language-switcher button[value=en]").click()
    await expect(planner.locator("html")).to_have_attribute("lang", "en")

    # Where the demo clerk works: their register page names the station they chair.
    await planner.locator("nav a[href$='/planning/people/']").click()
    await planner.locator("#field-q").fill("Röstmottagare")
    await planner.locator("#people-results").get_by_role("link", name=CLERK).click()
    await expect(planner.locator("h1")).to_contain_text(CLERK_NAME)
    place = await (
        planner.locator("#places-heading ~ ul li")
        .filter(has_text=f"{ELECTION}: Chair")
        .inner_text()
    )
    station = place.split(",")[1].strip()
    person_url = planner.url

    # 1. The office replaces the demo's basic course with its own: the old one retires
    # (else the board's badge would wait for it too: it sums up every course a role requires)...
    await _open_course(planner, OLD_COURSE)
    await planner.get_by_role("link", name="Edit", exact=True).click()
    await planner.get_by_label("Active (offered for booking)").uncheck()
    await planner.get_by_role("button", name="Save").click()
    await expect(planner.locator(".flash-success")).to_have_text("The course has been saved.")
    await expect(planner.locator("h1 .badge")).to_have_text("Inactive")

    # ... and the new one is required for the station's leads and clerks in 2029.
    await planner.locator("nav a[href$='/planning/courses/']").click()
    await planner.get_by_role("link", name="New course").click()
    await planner.locator("#field-name").fill(COURSE)
    await planner.locator("#field-description").fill(
        "Röstmottagning från öppning till rösträkning."
    )
    await planner.locator("#field-kind").select_option("classroom")
    await planner.locator("#field-election_id").select_option(label=ELECTION)
    await planner.locator("#field-duration_minutes").fill("150")
    await planner.locator("#field-materials").fill("Legitimation.")
    for role in ("Chair", "Vice chair", "Poll clerk"):
        await planner.get_by_role("checkbox", name=role, exact=True).check()
    await planner.screenshot(path=_shot("new-course"), full_page=True)
    await planner.get_by_role("button", name="Save").click()
    await expect(planner.locator(".flash-success")).to_have_text("The course has been saved.")
    await expect(planner.locator("h1")).to_have_text(COURSE)
    course_url = planner.url
    course_id = int(course_url.rsplit("/", 1)[1])
    facts = planner.locator("dl.facts")
    await expect(facts).to_contain_text(ELECTION)
    await expect(facts).to_contain_text("Chair, Vice chair, Poll clerk")

    # Two sessions in the training centre: today (booking open until today) and later.
    today_id = await _add_session(planner, TODAY, "18:00", "20:30", TODAY)
    later_id = await _add_session(planner, LATER, "09:30", "12:00", None)
    sessions = planner.locator("table.sessions tbody tr")
    await expect(sessions).to_have_count(2)
    await expect(sessions.nth(0).locator("td").nth(2)).to_have_text("Utbildningscentrum, Hörsalen")
    await expect(sessions.nth(0)).to_contain_text("0/40")

    # 2. Book the untrained people of the clerk's district onto the later session.
    await planner.get_by_role("link", name="Book untrained clerks").click()
    await expect(planner.locator("#field-election_id option:checked")).to_have_text(ELECTION)
    station_option = planner.locator("#field-station_id option").filter(
        has_text=re.compile(rf" · {re.escape(station)}$")
    )
    district_code = (await station_option.inner_text()).split(" · ")[0]
    district = planner.locator("#field-district_id option").filter(
        has_text=re.compile(rf"^{re.escape(district_code)} ")
    )
    district_label = (await district.inner_text()).strip()
    await planner.locator("#field-district_id").select_option(label=district_label)
    await planner.locator(f"input[name=session_ids][value='{later_id}']").check()
    await planner.get_by_role("button", name="Show who goes where").click()
    plan = planner.locator(".plan-table tbody tr")
    await expect(plan.filter(has_text=CLERK)).to_have_count(1)
    seated = await plan.count()
    assert seated >= 2, "the chair and at least one clerk of the team"
    await planner.screenshot(path=_shot("book-preview"), full_page=True)
    await planner.get_by_role("button", name=f"Book {seated} people and tell them").click()
    await expect(planner).to_have_url(course_url)
    await expect(planner.locator(".flash-success")).to_have_text(
        f"{seated} people have been booked and told by email."
    )
    await expect(sessions.nth(1)).to_contain_text(f"{seated}/40")
    await planner.screenshot(path=_shot("course"), full_page=True)

    # 3. The clerk, on a phone, moves to today's session.
    phone = await _new_page(browser, errors, **PHONE)
    await phone.goto(f"{live_server}/login")
    await phone.get_by_label("E-post").fill(CLERK_EMAIL)
    await phone.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await phone.get_by_role("button", name="Logga in").click()
    await expect(phone).to_have_url(f"{live_server}/demo/portal/")
    await phone.locator("nav.portal-nav a[href$='/portal/courses']").click()
    await expect(phone).to_have_url(f"{live_server}/demo/portal/courses")
    card = phone.locator(f"#course-{course_id}")
    await expect(card.locator("h2")).to_have_text(COURSE)
    await expect(card).to_contain_text(station)
    choice = card.locator(f"#session-{today_id}")
    has_choice = phone.locator(f"#session-{today_id}")
    await card.locator("details", has=has_choice).locator("summary").click()
    await expect(choice).to_be_visible()
    await _assert_fits_phone(phone)
    await choice.scroll_into_view_if_needed()
    await phone.screenshot(path=_shot("portal-change-phone"))
    await choice.locator("button[type=submit]").click()
    await expect(phone).to_have_url(f"{live_server}/demo/portal/courses")
    await expect(phone.locator(".flash-success")).to_contain_text(COURSE)
    # Booked today now (the clerk's Swedish dates), with the later session to move back to.
    booked = card.locator(":scope > .card")
    await expect(booked).to_contain_text(format_date(TODAY, "full", locale="sv"))
    await expect(booked.locator(f"#session-{later_id}")).to_have_count(1)
    await expect(card.locator(f"#session-{today_id}")).to_have_count(0)
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("portal-moved-phone"))

    # 4. Today's roll call: the clerk came. And the demo chair course's (also today), since
    # the clerk's chair place requires that course as well.
    await planner.goto(f"{course_url}/sessions/{today_id}")
    await expect(planner.locator("section[aria-labelledby=booked-heading]")).to_contain_text(CLERK)
    await planner.get_by_role("link", name="Roll call").click()
    await expect(planner.locator("h1")).to_contain_text("Roll call")
    await _mark_attended(planner, CLERK)
    await expect(planner.locator(".count-attended strong")).to_have_text("1")
    await planner.screenshot(path=_shot("roll-call"), full_page=True)
    await _open_course(planner, CHAIR_COURSE)
    today_row = planner.locator("table.sessions tbody tr").first
    await expect(today_row).to_contain_text(format_date(TODAY, "EEE d MMM y", locale="en_GB"))
    await today_row.locator("a").click()
    await planner.get_by_role("link", name="Roll call").click()
    await _mark_attended(planner, CLERK)

    # 5. The board of the 2029 election: the chair has every course the role requires;
    # the rest of the team holds a seat on the later session.
    await planner.locator("nav a[href$='/planning/elections/']").click()
    await planner.get_by_role("link", name=ELECTION).click()
    await planner.get_by_role("link", name="Staffing", exact=True).click()
    await expect(planner.locator("h1")).to_contain_text("Staffing")
    await choose_in_swapping_filter(planner, "#field-district", label=district_label)
    card = planner.locator(".station-card").filter(
        has=planner.get_by_role("heading", name=station, exact=True)
    )
    chair = card.locator(".holders li").filter(has_text=CLERK_NAME)
    await expect(chair.locator(".training")).to_have_text("✓ Course done")
    await expect(chair.locator(".training")).to_have_class(re.compile(r"\bbadge-ok\b"))
    team = card.locator(".holders li").filter(has_not_text=CLERK_NAME)
    await expect(team.first).to_be_visible()
    members = await team.count()
    assert 1 <= members < seated, (members, seated)
    later = format_date(LATER, "d MMM", locale="en_GB")
    for index in range(members):
        await expect(team.nth(index).locator(".training")).to_have_text(f"Course booked {later}")
    await card.scroll_into_view_if_needed()
    await planner.screenshot(path=_shot("board"), full_page=False)

    # The register page says the same, course by course.
    await planner.goto(person_url)
    courses = planner.locator("#courses")
    held = courses.locator("tbody tr").filter(has_text=COURSE)
    await expect(held).to_contain_text("Attended")
    await planner.screenshot(path=_shot("person"), full_page=True)
    assert errors == [], errors
