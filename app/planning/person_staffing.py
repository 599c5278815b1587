"""From a person (or their approved application) to a place: where they stand in each
election, booking them on a course session, and placing them by hand with the board's
rules."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, lazy_gettext, named
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import db, on_refusal, render
from app.domain.courses import booking
from app.domain.elections.elections import get_election
from app.domain.labels import ASSIGNMENT_STATE
from app.domain.models import Person
from app.domain.registers.people import get_person
from app.domain.staffing import assignments, board, placing, standing
from app.planning.courses import sender

routes = Routes()

#: A required course's state for the person, in words.
COURSE_STATES = {
    "qualified": lazy_gettext("Has the course"),
    "booked": lazy_gettext("Booked before election day"),
    "late": lazy_gettext("Booked too late"),
    "waiting": lazy_gettext("On the waiting list"),
    "missing": lazy_gettext("Not booked"),
}


async def standing_context(
    person: Person, election_ids: list[int] | None = None, application_id: int | None = None
) -> dict[str, Any]:
    """What the standing panel (``planning/people/_standing.html``) draws, for those who
    may see staffing; ``application_id`` sends its actions back to the application."""
    if not can("staffing.view"):
        return {"standings": None}
    return {
        "standings": await standing.person_standing(db(), person, sender().today(), election_ids),
        "standing_person": person,
        "back_application": application_id,
        "course_state_labels": COURSE_STATES,
        "place_state_labels": ASSIGNMENT_STATE,
    }


def _back(person_id: int, application_id: int | None) -> WerkzeugResponse:
    """To the page the action was taken on: the application, or the person."""
    if application_id is not None:
        return redirect(url_for("planning.application_detail", application_id=application_id))
    return redirect(url_for("planning.person_detail", person_id=person_id) + "#standing")


@routes.post("/people/<int:person_id>/course-booking")
@requires("courses.edit")
async def person_course_booking(person_id: int) -> Any:
    """Book the person on a course session; a full one puts them on its waiting list
    only when the form says so (the button of a full session does)."""
    person = await get_person(db(), person_id)
    form = await request.form
    session_id = parse_id(form.get("session_id"))
    application_id = parse_id(form.get("application_id"))
    if session_id is None:
        raise NotFound(_("Not found."))

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return _back(person.id, application_id)

    on_refusal(refused)
    made = await booking.book_person(
        db(),
        current_actor(),
        sender(),
        session_id,
        person.id,
        join_waiting_list=form.get("waiting") == "1",
    )
    if made.state == "waiting":
        message = _("%(name)s has been put on the waiting list.", name=person.full_name)
    else:
        message = _("%(name)s has been booked.", name=person.full_name)
    await flash(message, "success")
    return _back(person.id, application_id)


@routes.get("/people/<int:person_id>/elections/<int:election_id>/place")
@requires("staffing.edit")
async def person_place(person_id: int, election_id: int) -> str:
    """The open places of one district (or the advance voting stations) with what
    placing this person there would break; the first wished district by default."""
    person = await get_person(db(), person_id)
    election = await get_election(db(), election_id)
    districts = await board.district_choices(db(), election.id)
    wished = (await assignments.wishes_of(db(), [person.id], election.id)).get(person.id, set())
    chosen = request.args.get("district", "")
    district_id = parse_id(chosen)
    if chosen != "advance" and district_id not in {d.id for d in districts}:
        district_id = await placing.first_area(db(), person.id, election, districts)
    # The days the person can work first; every day on request (a soft rule).
    all_days = request.args.get("days") == "all"
    their_days = await placing.days_of(db(), person.id, election.id)
    return await render(
        "planning/people/place.html",
        person=person,
        election=election,
        districts=districts,
        wished=wished,
        district_id=district_id,
        choices=await placing.open_places_for(
            db(), person, election.id, district_id, None if all_days else their_days or None
        ),
        all_days=all_days,
        their_days=sorted(their_days),
        application_id=parse_id(request.args.get("application")),
    )


@routes.post("/people/<int:person_id>/elections/<int:election_id>/place")
@requires("staffing.edit")
async def person_place_assign(person_id: int, election_id: int) -> WerkzeugResponse:
    """Propose the person for one place, through the board's service and rules."""
    person = await get_person(db(), person_id)
    form = await request.form
    shift_id = parse_id(form.get("shift_id"))
    role_type_id = parse_id(form.get("role_type_id"))
    application_id = parse_id(form.get("application_id"))
    if shift_id is None or role_type_id is None:
        raise NotFound(_("Not found."))
    slot = await assignments.slot_context(db(), shift_id, role_type_id)
    if slot.election.id != election_id:
        raise NotFound(_("Not found."))
    again = url_for(
        "planning.person_place",
        person_id=person.id,
        election_id=election_id,
        district=slot.station.district_id or "advance",
        application=application_id,
    )

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(again)

    on_refusal(refused)
    await assignments.assign_person(
        db(),
        current_actor(),
        shift_id,
        role_type_id,
        person.id,
        override=form.get("override") == "1",
    )
    await flash(
        _(
            "%(name)s has been proposed as %(role)s at %(station)s.",
            name=person.full_name,
            role=named(slot.role),
            station=slot.station.name,
        ),
        "success",
    )
    return _back(person.id, application_id)
