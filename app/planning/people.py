"""The person register: list and search, detail, create, edit, reveal, bulk status."""

from __future__ import annotations

from typing import Any

from quart import Response, abort, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.paging import page_number
from app.core.routes import Routes
from app.core.validation import parse_ids
from app.core.web import app_settings, db, is_htmx, on_refusal, render
from app.domain.clerks import places as portal
from app.domain.courses import booking, qualifications
from app.domain.labels import (
    ASSIGNMENT_STATE,
    COUNTRY,
    EXPERIENCE,
    LANGUAGE,
    PERSON_STATUS,
    SPOKEN_LANGUAGES,
    WORK_KIND,
    choices,
)
from app.domain.materials.handouts import held_by_person
from app.domain.ops.access import local_today
from app.domain.registers import availability, merging, people
from app.domain.registers.identity import format_phone, mask_national_id
from app.domain.registers.population.flags import person_flags
from app.domain.registers.removal_requests import removal_state
from app.domain.staffing import assignments as staffing_assignments
from app.planning.courses import labels
from app.planning.person_staffing import standing_context

routes = Routes()


def default_country() -> str:
    return {"da": "DK", "en": "SE"}.get(g.tenant.locale, "SE")


def _context() -> dict[str, Any]:
    return {
        "status_choices": choices(PERSON_STATUS),
        "country_choices": choices(COUNTRY),
        "language_choices": list(LANGUAGE.items()),
        "language_names": {code: str(name) for code, name in SPOKEN_LANGUAGES.items()},
        "status_labels": PERSON_STATUS,
        "experience_labels": EXPERIENCE,
        "experience_choices": choices(EXPERIENCE),
        "work_kind_labels": WORK_KIND,
        "state_labels": ASSIGNMENT_STATE,
        "mask": mask_national_id,
        "format_phone": format_phone,
        "removal_state": None,
    }


@routes.get("/people/")
@requires("registers.view")
async def people_list() -> Response:
    args = request.args
    page = await people.search_people(
        db(),
        query=args.get("q", ""),
        status=args.get("status") or None,
        tag=args.get("tag") or None,
        sort=args.get("sort", "name"),
        actor=current_actor() if can("people.reveal") else None,
        page=page_number(args.get("page")),
    )
    body = await render("planning/people/list.html", block="results", page=page, **_context())
    response = Response(body, content_type="text/html; charset=utf-8")
    if people.is_full_id_query(args.get("q", "")):
        # A whole id number must not end up in the address bar or the history.
        response.headers["HX-Push-Url"] = "false"
        response.headers["HX-Replace-Url"] = url_for("planning.people_list")
    return response


@routes.route("/people/new", methods=["GET", "POST"])
@requires("registers.edit")
async def person_new() -> str | WerkzeugResponse:
    values: dict[str, object] = {"national_id_country": default_country(), "status": "active"}

    async def form_page(errors: dict[str, str]) -> str:
        return await render(
            "planning/people/form.html", values=values, errors=errors, person=None, **_context()
        )

    if request.method == "POST":
        form = await request.form
        values = form.to_dict()
        values["spoken_languages"] = ",".join(form.getlist("spoken_languages"))
        on_refusal(lambda error: form_page(error.errors))
        person = await people.create_person(db(), current_actor(), values, default_country())
        await flash(_("%(name)s has been added to the register.", name=person.full_name), "success")
        return redirect(url_for("planning.person_detail", person_id=person.id))
    return await form_page({})


async def _courses_of(person_id: int) -> dict[str, Any]:
    """The person's courses and bookings, for those who may see courses."""
    if not can("courses.view"):
        return {"qualifications": None, "bookings": None}
    return {
        "qualifications": await qualifications.person_qualifications(db(), person_id),
        "bookings": await booking.bookings_of(db(), person_id),
        **labels(),
    }


@routes.get("/people/<int:person_id>")
@requires("registers.view")
async def person_detail(person_id: int) -> str | WerkzeugResponse:
    person, survivor = await merging.person_or_survivor(db(), person_id)
    if person is None:
        # A record merged into another leaves its id behind: old links lead on.
        if not survivor:
            abort(404)
        return redirect(url_for("planning.person_detail", person_id=survivor), 301)
    return await render("planning/people/detail.html", **await _detail_context(person))


async def _detail_context(person: Any) -> dict[str, Any]:
    """What the person's page shows: availability, places, courses, standing per
    election, and the removal request's state."""
    return {
        "person": person,
        "availability": await availability.for_person(db(), person.id),
        "places": await staffing_assignments.places_of_person(db(), person.id),
        **await _courses_of(person.id),
        **await standing_context(person),
        **_context(),
        "removal_state": removal_state(person),
        "equipment": await held_by_person(db(), person.id),
        "register_flags": await person_flags(db(), person, await local_today(db())),
    }


@routes.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@requires("registers.edit")
async def person_edit(person_id: int) -> str | WerkzeugResponse:
    person = await people.get_person(db(), person_id)
    values: dict[str, object] = {
        key: getattr(person, key) for key in people.PERSON_FIELDS if key != "national_id"
    }
    values["spoken_languages"] = ",".join(person.spoken_languages)
    values["tags"] = ", ".join(person.tags)
    values["address_protected"] = person.address_protected
    if person.address_protected:
        # Never shown, not even here (registers.protection): empty fields keep it.
        values.update(street_address="", postal_code="", city="")

    async def form_page(errors: dict[str, str]) -> str:
        return await render(
            "planning/people/form.html", values=values, errors=errors, person=person, **_context()
        )

    if request.method == "POST":
        form = await request.form
        values = form.to_dict()
        values["spoken_languages"] = ",".join(form.getlist("spoken_languages"))
        on_refusal(lambda error: form_page(error.errors))
        await people.update_person(db(), current_actor(), person.id, values, default_country())
        await flash(_("The changes have been saved."), "success")
        return redirect(url_for("planning.person_detail", person_id=person.id))
    return await form_page({})


@routes.post("/people/<int:person_id>/reveal")
@requires("people.reveal")
async def person_reveal(person_id: int) -> str:
    """Show the whole id number once; the reveal is written to the audit log."""
    number = await people.reveal_national_id(db(), current_actor(), person_id)
    if is_htmx():
        return await render("planning/people/_revealed.html", number=number)
    person = await people.get_person(db(), person_id)
    return await render(
        "planning/people/detail.html", number=number, **await _detail_context(person)
    )


@routes.post("/people/bulk")
@requires("registers.edit")
async def people_bulk() -> WerkzeugResponse:
    form = await request.form
    ids = parse_ids(form.getlist("person_ids"))
    kept = ("q", "status", "tag", "sort", "page")
    arguments: dict[str, Any] = {key: request.args[key] for key in kept if key in request.args}

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.people_list", **arguments))

    if not ids:
        await flash(_("Choose at least one person."), "error")
    else:
        on_refusal(refused)
        changed = await people.set_status(db(), current_actor(), ids, form.get("status", ""))
        await flash(
            ngettext("%(num)s person changed status.", "%(num)s people changed status.", changed),
            "success",
        )
    return redirect(url_for("planning.people_list", **arguments))


@routes.post("/people/<int:person_id>/portal-invite")
@requires("registers.edit")
async def person_portal_invite(person_id: int) -> WerkzeugResponse:
    """Give the person a clerk account for the portal and mail the invitation."""

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.person_detail", person_id=person_id))

    on_refusal(refused)
    await portal.invite_to_portal(db(), current_actor(), app_settings(), g.tenant, person_id)
    await flash(_("The invitation to the portal has been sent."), "success")
    return redirect(url_for("planning.person_detail", person_id=person_id))
