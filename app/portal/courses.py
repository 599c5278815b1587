"""My courses: the training my places require, booking a session (or its waiting list),
moving to another session and cancelling, within the office's rules.

A refused booking is shown inside the card of the course it concerns, with the page
answered 409, so the clerk sees what went wrong where they tapped.
"""

from __future__ import annotations

from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.routes import Routes
from app.core.templating import longdate
from app.core.validation import parse_id
from app.core.web import RefusalAnswer, app_settings, db, on_refusal, render
from app.domain.courses import booking, booking_changes, notices
from app.domain.courses import my_courses as my
from app.domain.courses.notices import Letterhead
from app.domain.labels import COURSE_KIND, LANGUAGE
from app.domain.models import CourseBooking, Person
from app.portal.me import my_person, my_person_or_404

routes = Routes()


def _sender() -> Letterhead:
    return notices.letterhead_for(g.tenant, app_settings().base_url)


async def _page(
    person: Person | None, errors: dict[int, str] | None = None, status: int = 200
) -> tuple[str, int]:
    sender = _sender()
    today = sender.today()
    courses = await my.my_courses(db(), person, today) if person else []
    page = await render(
        "portal/courses.html",
        person=person,
        courses=courses,
        errors=errors or {},
        today=today,
        kind_labels=COURSE_KIND,
        language_labels=LANGUAGE,
        place_of=notices.place_of,
    )
    return page, status


@routes.get("/courses")
@requires("portal.use")
async def courses() -> tuple[str, int]:
    return await _page(await my_person())


def _refused(course_id: int) -> RefusalAnswer:
    """A refusal shown in its course's card."""

    async def answer(error: DomainError) -> tuple[str, int]:
        return await _page(await my_person_or_404(), {course_id: error.message}, 409)

    return answer


def _when(course_booking: CourseBooking) -> dict[str, str]:
    course_session = course_booking.session
    return {
        "course": course_session.course.name,
        "day": longdate(course_session.day),
        "start": course_session.starts_at.strftime("%H:%M"),
    }


async def _done(course_booking: CourseBooking) -> WerkzeugResponse:
    if course_booking.state == "waiting":
        message = _(
            "You are on the waiting list for %(course)s on %(day)s. You get a seat "
            "automatically if one frees up, and we tell you by email.",
            **_when(course_booking),
        )
    else:
        message = _(
            "You are booked on %(course)s on %(day)s at %(start)s.", **_when(course_booking)
        )
    await flash(message, "success")
    return redirect(url_for("portal.courses"))


@routes.post("/courses/book")
@requires("portal.use")
async def course_book() -> Any:
    """Book a session of one of my courses, or join its waiting list when asked to."""
    person = await my_person_or_404()
    form = await request.form
    session_id = parse_id(form.get("session_id"))
    sender = _sender()
    mine = await my.my_courses(db(), person, sender.today())
    course = my.course_of_session(mine, session_id) if session_id else None
    if course is None or session_id is None:
        # Not a session this clerk is offered: not theirs to book.
        raise NotFound(_("Not found."))
    on_refusal(_refused(course.course.id))
    seat = await booking.book_person(
        db(),
        current_actor(),
        sender,
        session_id,
        person.id,
        by_clerk=True,
        join_waiting_list=form.get("waiting") == "1",
    )
    return await _done(seat)


@routes.post("/courses/bookings/<int:booking_id>/rebook")
@requires("portal.use")
async def course_rebook(booking_id: int) -> Any:
    """Move my booking to another session of the same course in one step."""
    person = await my_person_or_404()
    current = await booking.get_booking(db(), booking_id, person.id)
    course_id = current.course_id
    form = await request.form
    session_id = parse_id(form.get("session_id"))
    sender = _sender()
    mine = await my.my_courses(db(), person, sender.today())
    course = my.find_course(mine, course_id)
    if course is None or session_id is None or course.choice(session_id) is None:
        raise NotFound(_("Not found."))
    on_refusal(_refused(course_id))
    moved = await booking_changes.rebook(
        db(),
        current_actor(),
        sender,
        booking_id,
        session_id,
        person_id=person.id,
        join_waiting_list=form.get("waiting") == "1",
    )
    return await _done(moved)


@routes.post("/courses/bookings/<int:booking_id>/cancel")
@requires("portal.use")
async def course_cancel(booking_id: int) -> Any:
    """Cancel my seat or waiting-list place (the confirm step is on the page)."""
    person = await my_person_or_404()
    current = await booking.get_booking(db(), booking_id, person.id)
    course_id = current.course_id
    on_refusal(_refused(course_id))
    cancelled = await booking_changes.cancel_booking(
        db(), current_actor(), _sender(), booking_id, person_id=person.id
    )
    await flash(
        _(
            "Your booking of %(course)s on %(day)s is cancelled.",
            course=cancelled.session.course.name,
            day=longdate(cancelled.session.day),
        ),
        "success",
    )
    return redirect(url_for("portal.courses"))
