"""The roll call of a course session, made on a tablet at the door: who came, who did
not, and people who came without a seat on this session (walk-ins)."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import db, on_refusal, render
from app.domain.courses import attendance
from app.domain.models import Person
from app.planning.course_sessions import session_of
from app.planning.courses import find_people, labels, search_left_in_url, sender

routes = Routes()


async def roll_call_page(
    course_id: int, session_id: int, status: int = 200, query: str = "", **context: Any
) -> Any:
    await session_of(course_id, session_id)
    call = await attendance.roll_call(db(), session_id)
    found = await find_people(query)
    on_list = {row.person_id for row in call.rows}
    page = await render(
        "planning/courses/roll_call.html",
        call=call,
        course=call.session.course,
        query=query,
        found=[person for person in found if person.id not in on_list],
        unmarked=sum(1 for row in call.rows if row.state == "booked"),
        opens=call.session.day <= sender().today(),
        **{"error": None, "walk_in": None, **context},
        **labels(),
    )
    return (page, status) if status != 200 else page


@routes.get("/courses/<int:course_id>/sessions/<int:session_id>/roll-call")
@requires("courses.edit")
async def course_roll_call(course_id: int, session_id: int) -> Any:
    return search_left_in_url() or await roll_call_page(course_id, session_id)


@routes.route(
    "/courses/<int:course_id>/sessions/<int:session_id>/roll-call/search", methods=["GET", "POST"]
)
@requires("courses.edit")
async def course_roll_call_search(course_id: int, session_id: int) -> Any:
    """Find a walk-in in the register: posted, so no id number is put in a URL. A GET
    (the language switch, a reload) goes back to the roll call."""
    if request.method == "GET":
        return redirect(
            url_for("planning.course_roll_call", course_id=course_id, session_id=session_id)
        )
    form = await request.form
    return await roll_call_page(course_id, session_id, query=form.get("q", "").strip())


@routes.post("/courses/<int:course_id>/sessions/<int:session_id>/roll-call")
@requires("courses.edit")
async def course_roll_call_save(course_id: int, session_id: int) -> Any:
    """Save every mark at once: all of them are written, or none."""
    await session_of(course_id, session_id)
    form = await request.form
    marks: dict[int, str] = {}
    for key, value in form.items():
        if key.startswith("mark-") and (booking_id := parse_id(key[5:])) is not None:
            marks[booking_id] = value
    on_refusal(lambda error: roll_call_page(course_id, session_id, 409, error=error.message))
    changed = await attendance.mark_attendance(db(), current_actor(), sender(), session_id, marks)
    await flash(
        ngettext(
            "The roll call has been saved (%(num)s change).",
            "The roll call has been saved (%(num)s changes).",
            changed,
        ),
        "success",
    )
    return redirect(
        url_for("planning.course_roll_call", course_id=course_id, session_id=session_id)
    )


@routes.post("/courses/<int:course_id>/sessions/<int:session_id>/roll-call/walk-in")
@requires("courses.edit")
async def course_walk_in(course_id: int, session_id: int) -> Any:
    """Someone came who is not on the list: first say so, then record them only when
    the planner confirms the walk-in."""
    await session_of(course_id, session_id)
    form = await request.form
    person_id = parse_id(form.get("person_id"))
    if person_id is None:
        return await roll_call_page(
            course_id, session_id, 422, error=_("Choose the person who came.")
        )
    person = await db().get(Person, person_id)
    if person is None:
        return await roll_call_page(
            course_id, session_id, 422, error=_("Choose the person who came.")
        )
    name = person.full_name

    async def refused(error: DomainError) -> Any:
        # Not booked here: ask for the explicit walk-in choice.
        ask = error.field == "person_id"
        return await roll_call_page(
            course_id,
            session_id,
            409,
            error=error.message,
            walk_in=await db().get(Person, person_id) if ask else None,
        )

    on_refusal(refused)
    await attendance.add_walk_in(
        db(),
        current_actor(),
        sender(),
        session_id,
        person_id,
        confirmed=form.get("confirmed") == "1",
    )
    await flash(_("%(name)s has been recorded as a walk-in who attended.", name=name), "success")
    return redirect(
        url_for("planning.course_roll_call", course_id=course_id, session_id=session_id)
    )
