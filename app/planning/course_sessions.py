"""A course's sessions in the back office: add and change them (room, seats, teachers),
cancel one with a reason, and book, cancel or move the people on it."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, ngettext
from app.core.routes import Routes
from app.core.validation import parse_id, parse_ids
from app.core.web import db, on_refusal, render
from app.domain.courses import attendance, booking, booking_changes, catalog, scheduling
from app.domain.labels import LANGUAGE
from app.domain.models import CourseSession, Person
from app.domain.registers import people, premises
from app.planning.courses import (
    course_or_404,
    find_people,
    labels,
    search_left_in_url,
    sender,
)

routes = Routes()

SESSION_FIELDS = (
    "day", "starts_at", "ends_at", "room_id", "capacity", "language", "booking_deadline", "notes",
)  # fmt: skip


async def session_of(course_id: int, session_id: int) -> CourseSession:
    """A session of this course, else 404 (also for another course's session)."""
    course_session = await catalog.get_session(db(), session_id)
    if course_session.course_id != course_id:
        raise NotFound(_("Not found."))
    return course_session


def _form_values(course_session: CourseSession) -> dict[str, Any]:
    values: dict[str, Any] = {key: getattr(course_session, key) for key in SESSION_FIELDS}
    values["starts_at"] = course_session.starts_at.strftime("%H:%M")
    values["ends_at"] = course_session.ends_at.strftime("%H:%M")
    return values


@routes.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@requires("courses.edit")
async def course_session_new(course_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    return await _session_form(course_id, None)


@routes.route("/courses/<int:course_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@requires("courses.edit")
async def course_session_edit(
    course_id: int, session_id: int
) -> str | WerkzeugResponse | tuple[str, int]:
    return await _session_form(course_id, session_id)


async def _session_form(
    course_id: int, session_id: int | None
) -> str | WerkzeugResponse | tuple[str, int]:
    """The session form. Teachers are found with a search of the register that keeps
    what is typed (the "Search" button posts the form back without saving it)."""
    course = await course_or_404(course_id)
    values: dict[str, Any] = {"language": "sv", "starts_at": "18:00", "ends_at": "20:00"}
    teacher_ids: list[int] = []
    if session_id is not None:
        course_session = await session_of(course_id, session_id)
        if course_session.status == "cancelled":
            await flash(_("The session is cancelled and can no longer be changed."), "error")
            return redirect(
                url_for(
                    "planning.course_session_detail", course_id=course_id, session_id=session_id
                )
            )
        values = _form_values(course_session)
        teacher_ids = [teacher.person_id for teacher in course_session.teachers]
    query = ""

    async def form_page(errors: dict[str, str]) -> str | tuple[str, int]:
        return await _session_form_page(course_id, session_id, values, teacher_ids, query, errors)

    if request.method == "POST":
        form = await request.form
        values = {key: form.get(key, "") for key in SESSION_FIELDS}
        teacher_ids = parse_ids(form.getlist("teacher_ids"))
        query = form.get("teacher_q", "").strip()
        if form.get("action") != "find_teachers":
            on_refusal(lambda error: form_page(error.errors))
            saved = await scheduling.save_session(
                db(), current_actor(), course.id, sender(), values, teacher_ids, session_id
            )
            await flash(_("The session has been saved."), "success")
            return redirect(
                url_for("planning.course_session_detail", course_id=course_id, session_id=saved.id)
            )
    return await form_page({})


async def _session_form_page(
    course_id: int,
    session_id: int | None,
    values: dict[str, Any],
    teacher_ids: list[int],
    query: str,
    errors: dict[str, str],
) -> str | tuple[str, int]:
    course = await course_or_404(course_id)
    teachers = [await db().get(Person, person_id) for person_id in teacher_ids]
    found: list[Person] = []
    if query:
        found = [
            person
            for person in (await people.search_people(db(), query=query, per_page=20)).people
            if person.id not in teacher_ids
        ]
    page = await render(
        "planning/courses/session_form.html",
        course=course,
        session_id=session_id,
        values=values,
        errors=errors,
        teachers=[person for person in teachers if person is not None],
        found=found,
        query=query,
        rooms=await premises.room_choices(db()),
        language_choices=list(LANGUAGE.items()),
    )
    return (page, 422) if errors else page


@routes.route("/courses/<int:course_id>/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@requires("courses.edit")
async def course_session_cancel(
    course_id: int, session_id: int
) -> str | WerkzeugResponse | tuple[str, int]:
    """Ask first, saying how many people will be told; then cancel with the reason."""
    await session_of(course_id, session_id)
    if request.method == "POST":
        reason = (await request.form).get("reason", "").strip()[:500]
        on_refusal(lambda refusal: _cancel_page(session_id, refusal.message))
        told = await scheduling.cancel_session(db(), current_actor(), sender(), session_id, reason)
        await flash(
            ngettext(
                "The session has been cancelled and %(num)s person has been told.",
                "The session has been cancelled and %(num)s people have been told.",
                told,
            ),
            "success",
        )
        return redirect(url_for("planning.course_detail", course_id=course_id))
    return await _cancel_page(session_id, None)


async def _cancel_page(session_id: int, error: str | None) -> str | tuple[str, int]:
    row = await catalog.session_row(db(), session_id)
    page = await render(
        "planning/courses/session_cancel.html",
        row=row,
        course=row.session.course,
        error=error,
        affected=row.booked + row.waiting - row.attended,
        **labels(),
    )
    return (page, 409) if error else page


# --- the session page: who is booked, and booking ---------------------------------------


@routes.get("/courses/<int:course_id>/sessions/<int:session_id>")
@requires("courses.view")
async def course_session_detail(course_id: int, session_id: int) -> Any:
    return search_left_in_url() or await session_page(course_id, session_id)


@routes.route("/courses/<int:course_id>/sessions/<int:session_id>/search", methods=["GET", "POST"])
@requires("courses.edit")
async def course_session_search(course_id: int, session_id: int) -> Any:
    """Find a person to book: posted, so no id number is put in a URL. A GET (the
    language switch, a reload) goes back to the session page."""
    if request.method == "GET":
        return redirect(
            url_for("planning.course_session_detail", course_id=course_id, session_id=session_id)
        )
    form = await request.form
    return await session_page(course_id, session_id, query=form.get("q", "").strip())


async def session_page(
    course_id: int, session_id: int, status: int = 200, query: str = "", **context: Any
) -> Any:
    """The session page: its booked list and waiting list, and the booking tools."""
    await session_of(course_id, session_id)
    row = await catalog.session_row(db(), session_id)
    call = await attendance.roll_call(db(), session_id)
    found = await find_people(query)
    others = [
        other
        for other in await catalog.session_rows(
            db(), course_id=course_id, from_day=sender().today(), only_open=True
        )
        if other.session.id != session_id
    ]
    page = await render(
        "planning/courses/session.html",
        row=row,
        course=row.session.course,
        call=call,
        query=query,
        found=found,
        others=others,
        today=sender().today(),
        **{"offer_waiting": None, "error": None, **context},
        **labels(),
    )
    return (page, status) if status != 200 else page


@routes.post("/courses/<int:course_id>/sessions/<int:session_id>/book")
@requires("courses.edit")
async def course_session_book(course_id: int, session_id: int) -> Any:
    """Book one person; a full session offers the waiting list, explicitly."""
    await session_of(course_id, session_id)
    form = await request.form
    person_id = parse_id(form.get("person_id"))
    if person_id is None:
        raise NotFound(_("Not found."))

    async def refused(error: DomainError) -> Any:
        offer = None
        if error.field == "session_id" and (await catalog.session_row(db(), session_id)).full:
            # Full: ask before putting them on the waiting list.
            offer = await db().get(Person, person_id)
        return await session_page(
            course_id, session_id, 409, error=error.message, offer_waiting=offer
        )

    on_refusal(refused)
    made = await booking.book_person(
        db(),
        current_actor(),
        sender(),
        session_id,
        person_id,
        join_waiting_list=form.get("waiting") == "1",
    )
    if made.state == "waiting":
        message = _("%(name)s has been put on the waiting list.", name=made.person.full_name)
    else:
        message = _("%(name)s has been booked.", name=made.person.full_name)
    await flash(message, "success")
    return redirect(
        url_for("planning.course_session_detail", course_id=course_id, session_id=session_id)
    )


@routes.post("/courses/<int:course_id>/sessions/<int:session_id>/bookings/<int:booking_id>/cancel")
@requires("courses.edit")
async def course_booking_cancel(course_id: int, session_id: int, booking_id: int) -> Any:
    found = await booking.get_booking(db(), booking_id)
    if found.session_id != session_id or found.course_id != course_id:
        raise NotFound(_("Not found."))
    name = found.person.full_name
    on_refusal(lambda error: session_page(course_id, session_id, 409, error=error.message))
    await booking_changes.cancel_booking(db(), current_actor(), sender(), booking_id)
    await flash(_("The booking of %(name)s has been cancelled.", name=name), "success")
    return redirect(
        url_for("planning.course_session_detail", course_id=course_id, session_id=session_id)
    )


@routes.post("/courses/<int:course_id>/sessions/<int:session_id>/bookings/<int:booking_id>/move")
@requires("courses.edit")
async def course_booking_move(course_id: int, session_id: int, booking_id: int) -> Any:
    """Move a booking to another session of the course in one step."""
    found = await booking.get_booking(db(), booking_id)
    if found.session_id != session_id or found.course_id != course_id:
        raise NotFound(_("Not found."))
    form = await request.form
    target = parse_id(form.get("new_session_id"))
    if target is None:
        await flash(_("Choose the session to move to."), "error")
        return redirect(
            url_for("planning.course_session_detail", course_id=course_id, session_id=session_id)
        )
    on_refusal(lambda error: session_page(course_id, session_id, 409, error=error.message))
    moved = await booking_changes.rebook(
        db(),
        current_actor(),
        sender(),
        booking_id,
        target,
        join_waiting_list=form.get("waiting") == "1",
    )
    await flash(
        _(
            "%(name)s has been moved to %(day)s %(start)s.",
            name=moved.person.full_name,
            day=moved.session.day.isoformat(),
            start=moved.session.starts_at.strftime("%H:%M"),
        ),
        "success",
    )
    return redirect(
        url_for("planning.course_session_detail", course_id=course_id, session_id=session_id)
    )
