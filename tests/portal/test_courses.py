"""My courses in the portal: the courses my places require, booking, the waiting list,
moving and cancelling within the rules, only my own bookings, and the calendar feed."""

import datetime as dt
from typing import Any

import icalendar
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.courses import booking
from app.domain.models import CourseBooking
from tests.factories import (
    letterhead,
    local_today,
    login,
    make_course,
    make_course_session,
    make_person,
    make_staffed_station,
    post_form,
)
from tests.portal.test_calendar import _feed_address
from tests.portal.test_my_assignments import _linked_clerk, _place

ACTOR = Actor.system("test")
PAGE = "/lund/portal/courses"


async def _setup(db: AsyncSession, tenant: Tenant, capacity: int = 10) -> dict[str, Any]:
    """A clerk (accepted on the early shift) whose role requires a course with two sessions."""
    s = await make_staffed_station(db, tenant)
    user, me = await _linked_clerk(db, tenant, s, first_name="Jag")
    await _place(db, tenant, s, "early", "clerk", me, "accepted")
    course = await make_course(
        db, tenant, s["election"], name="Grundutbildning", materials="Legitimation och penna"
    )
    today = local_today(tenant)
    first = await make_course_session(
        db, tenant, course, day=today + dt.timedelta(days=10), capacity=capacity
    )
    second = await make_course_session(db, tenant, course, day=today + dt.timedelta(days=20))
    return {"s": s, "user": user, "me": me, "course": course, "first": first, "second": second}


async def _in_english(client: QuartClient, user: User) -> None:
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})


async def _bookings(db: AsyncSession, tenant: Tenant, person: Any) -> list[CourseBooking]:
    with tenant_scope(tenant.id):
        return list(
            await db.scalars(
                select(CourseBooking)
                .where(CourseBooking.person_id == person.id)
                .order_by(CourseBooking.id)
                .execution_options(populate_existing=True)
            )
        )


async def _card(client: QuartClient, course: Any, path: str = PAGE) -> str:
    page = await (await client.get(path)).get_data(as_text=True)
    start = page.index(f'id="course-{course.id}"')
    return page[start : page.index("</article>", start)]


async def test_it_shows_my_required_course_and_books_a_session(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _setup(db, tenant)
    await _in_english(client, c["user"])
    card = await _card(client, c["course"])
    assert "Grundutbildning" in card and "Not booked yet" in card
    assert "Hamnskolan" in card  # required for my place there
    assert "Legitimation och penna" in card
    assert card.count("Book this session") == 2 and "10 seats left" in card
    home = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "missing – book now" in home and f"#course-{c['course'].id}" in home

    response = await post_form(client, f"{PAGE}/book", {"session_id": str(c["first"].id)})
    assert response.status_code == 302
    (mine,) = await _bookings(db, tenant, c["me"])
    assert (mine.session_id, mine.state) == (c["first"].id, "booked")
    card = await _card(client, c["course"])
    assert "Booked" in card and "Cancel my booking" in card
    assert "Move to this session" in card  # the other session
    home = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "missing – book now" not in home and "booked" in home


async def test_it_moves_and_cancels_my_booking_after_a_confirm_step(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _setup(db, tenant)
    await _in_english(client, c["user"])
    await post_form(client, f"{PAGE}/book", {"session_id": str(c["first"].id)})
    (mine,) = await _bookings(db, tenant, c["me"])
    moved = await post_form(
        client, f"{PAGE}/bookings/{mine.id}/rebook", {"session_id": str(c["second"].id)}
    )
    assert moved.status_code == 302
    (mine,) = await _bookings(db, tenant, c["me"])
    assert (mine.session_id, mine.state) == (c["second"].id, "booked")
    card = await _card(client, c["course"])
    assert "Yes, cancel my booking" in card  # inside the confirm step
    cancelled = await post_form(client, f"{PAGE}/bookings/{mine.id}/cancel")
    assert cancelled.status_code == 302
    (mine,) = await _bookings(db, tenant, c["me"])
    assert mine.state == "cancelled"
    assert "Not booked yet" in await _card(client, c["course"])


async def test_it_joins_the_waiting_list_only_when_asked(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _setup(db, tenant, capacity=1)
    someone = await make_person(db, tenant)
    with tenant_scope(tenant.id):
        await booking.book_person(db, ACTOR, letterhead(tenant), c["first"].id, someone.id)
    await _in_english(client, c["user"])
    card = await _card(client, c["course"])
    assert "Full – waiting list" in card and "Join the waiting list" in card
    refused = await post_form(client, f"{PAGE}/book", {"session_id": str(c["first"].id)})
    assert refused.status_code == 409
    page = await refused.get_data(as_text=True)
    card = page[page.index(f'id="course-{c["course"].id}"') :]
    assert card.index('id="error-summary"') < card.index("</article>")
    assert "The session is full" in card
    assert await _bookings(db, tenant, c["me"]) == []

    joined = await post_form(
        client, f"{PAGE}/book", {"session_id": str(c["first"].id), "waiting": "1"}
    )
    assert joined.status_code == 302
    (mine,) = await _bookings(db, tenant, c["me"])
    assert mine.state == "waiting"
    card = await _card(client, c["course"])
    assert "On the waiting list" in card and "number 1 on the waiting list" in card


async def test_it_refuses_a_booking_after_the_deadline_in_the_course_card(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _setup(db, tenant)
    today = local_today(tenant)
    late = await make_course_session(
        db,
        tenant,
        c["course"],
        day=today + dt.timedelta(days=3),
        booking_deadline=str(today - dt.timedelta(days=1)),
    )
    await _in_english(client, c["user"])
    card = await _card(client, c["course"])
    assert "Booking closed on" in card
    refused = await post_form(client, f"{PAGE}/book", {"session_id": str(late.id)})
    assert refused.status_code == 409
    assert "booking deadline" in await refused.get_data(as_text=True)
    assert await _bookings(db, tenant, c["me"]) == []


async def test_it_gives_404_for_another_clerks_booking_and_a_course_not_mine(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _setup(db, tenant)
    other_user, other = await _linked_clerk(db, tenant, c["s"])
    with tenant_scope(tenant.id):
        theirs = await booking.book_person(db, ACTOR, letterhead(tenant), c["first"].id, other.id)
    not_required = await make_course(db, tenant, c["s"]["election"], roles=("chair",))
    elsewhere = await make_course_session(db, tenant, not_required)
    await login(client, c["user"])
    for path, data in (
        (f"{PAGE}/bookings/{theirs.id}/cancel", {}),
        (f"{PAGE}/bookings/{theirs.id}/rebook", {"session_id": str(c["second"].id)}),
        (f"{PAGE}/book", {"session_id": str(elsewhere.id)}),
        (f"{PAGE}/book", {"session_id": "nonsense"}),
    ):
        assert (await post_form(client, path, data)).status_code == 404, path
    (still,) = await _bookings(db, tenant, other)
    assert (still.state, still.session_id) == ("booked", c["first"].id)
    assert other_user.id != c["user"].id


async def test_it_sends_anonymous_to_login_and_gives_an_outsider_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User
) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    await login(client, outsider)
    assert (await client.get(PAGE)).status_code == 404
    assert (await post_form(client, f"{PAGE}/book", {"session_id": "1"})).status_code == 404


async def test_it_puts_my_booked_sessions_in_my_calendar_until_cancelled(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _setup(db, tenant, capacity=1)
    await login(client, c["user"])
    await post_form(client, f"{PAGE}/book", {"session_id": str(c["first"].id)})
    (mine,) = await _bookings(db, tenant, c["me"])
    path, _token = await _feed_address(client)

    body = await (await app.test_client().get(path)).get_data()
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    event = events[f"course-booking-{mine.id}.lund@stemma"]
    assert "Grundutbildning" in str(event["SUMMARY"])
    assert "Utbildningscentrum" in str(event["LOCATION"])
    assert "Legitimation och penna" in str(event["DESCRIPTION"])
    start = event.decoded("DTSTART")
    assert start.tzinfo is not None and start.replace(tzinfo=None) == dt.datetime.combine(
        c["first"].day, dt.time(18, 0)
    )
    assert b"DTSTART;TZID=Europe/Stockholm:" in body

    await post_form(client, f"{PAGE}/bookings/{mine.id}/cancel")
    body = await (await app.test_client().get(path)).get_data()
    assert b"course-booking-" not in body
