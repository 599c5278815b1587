"""Courses in the back office: the catalogue, a course's page with its sessions,
booking many people at once, and results recorded by hand or imported from a file.

Sessions and their bookings are in ``course_sessions``, the roll call in ``roll_call``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, ngettext
from app.core.routes import Routes
from app.core.validation import Cleaner, parse_id, parse_ids
from app.core.web import app_settings, db, on_refusal, render
from app.domain.courses import CourseError, attendance, bulk_booking, catalog, notices
from app.domain.courses.notices import Letterhead
from app.domain.courses.results_import import ResultsImportError, import_results
from app.domain.elections import elections
from app.domain.elections.districts import districts_of
from app.domain.elections.stations import station_page
from app.domain.labels import (
    BOOKING_STATE,
    COURSE_KIND,
    LANGUAGE,
    QUALIFICATION_SOURCE,
    SESSION_STATUS,
    choices,
)
from app.domain.models import Course, Person
from app.domain.registers import people
from app.domain.registers.roles import list_role_types

routes = Routes()

#: Stations offered in the "one station's team" picker (a city has about 660).
MAX_STATIONS = 2000
COURSE_FIELDS = (
    "name", "description", "kind", "external_url", "election_id", "valid_years",
    "duration_minutes", "materials", "active",
)  # fmt: skip


def sender() -> Letterhead:
    """Who course mail comes from: this municipality, with links to its portal."""
    return notices.letterhead_for(g.tenant, app_settings().base_url)


def labels() -> dict[str, Any]:
    """The translated names every course page shows."""
    return {
        "kind_labels": COURSE_KIND,
        "session_status_labels": SESSION_STATUS,
        "booking_state_labels": BOOKING_STATE,
        "source_labels": QUALIFICATION_SOURCE,
        "language_labels": LANGUAGE,
    }


async def find_people(query: str) -> list[Person]:
    """People of the register matching a search typed on a course page.

    These searches are posted, never sent as a query string: a whole id number
    typed into one must not end up in a URL, the browser's history or a log line.
    Like the person register, a whole number matches exactly (and the search is
    audited) for those who may see whole numbers.
    """
    query = query.strip()
    if not query:
        return []
    actor = current_actor() if can("people.reveal") else None
    return (await people.search_people(db(), query=query, per_page=20, actor=actor)).people


def search_left_in_url() -> WerkzeugResponse | None:
    """A search in the query string (an old bookmark, an address typed by hand) is sent
    back to the page without it: the page would otherwise repeat an id number from its
    address, e.g. in the language switch. ``None`` when there is none."""
    if "q" not in request.args:
        return None
    # Not the keys url_for reads itself (``endpoint``, ``_anchor``...) nor the tenant.
    values: dict[str, Any] = {
        key: value
        for key, value in request.args.items()
        if key not in ("q", "endpoint", "tenant") and not key.startswith("_")
    }
    values.update(request.view_args or {})
    return redirect(url_for(request.endpoint or "", **values))


async def course_or_404(course_id: int) -> Course:
    return await catalog.get_course(db(), course_id)


# --- the catalogue ------------------------------------------------------------------


@routes.get("/courses/")
@requires("courses.view")
async def courses_list() -> str:
    election_id = parse_id(request.args.get("election"))
    election_rows = await elections.list_elections(db())
    if election_id is not None and election_id not in {e.id for e, _d, _s in election_rows}:
        election_id = None
    courses = await catalog.list_courses(db(), election_id)
    return await render(
        "planning/courses/list.html",
        courses=courses,
        election_rows=election_rows,
        election_id=election_id,
        **labels(),
    )


@routes.route("/courses/new", methods=["GET", "POST"])
@requires("courses.edit")
async def course_new() -> str | WerkzeugResponse | tuple[str, int]:
    return await _course_form(None)


@routes.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@requires("courses.edit")
async def course_edit(course_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    return await _course_form(course_id)


async def _course_form(course_id: int | None) -> str | WerkzeugResponse | tuple[str, int]:
    course = None
    values: dict[str, Any] = {
        "kind": "classroom",
        "duration_minutes": 120,
        "active": True,
        "election_id": request.args.get("election", ""),
    }
    role_ids: list[int] = []
    if course_id is not None:
        course = await course_or_404(course_id)
        values = {key: getattr(course, key) for key in COURSE_FIELDS}
        role_ids = [req.role_type_id for req in course.requirements]

    async def form_page(errors: dict[str, str]) -> str | tuple[str, int]:
        page = await render(
            "planning/courses/form.html",
            course=course,
            values=values,
            errors=errors,
            role_ids=role_ids,
            role_types=await list_role_types(db()),
            election_rows=await elections.list_elections(db()),
            kind_choices=choices(COURSE_KIND),
        )
        return (page, 422) if errors else page

    if request.method == "POST":
        form = await request.form
        values = form.to_dict()
        values["active"] = form.get("active") == "1"
        role_ids = parse_ids(form.getlist("role_type_ids"))
        on_refusal(lambda error: form_page(error.errors))
        saved = await catalog.save_course(
            db(), current_actor(), {**values, "active": "1" if values["active"] else "0"},
            role_ids, course_id,
        )  # fmt: skip
        await flash(_("The course has been saved."), "success")
        return redirect(url_for("planning.course_detail", course_id=saved.id))
    return await form_page({})


@routes.get("/courses/<int:course_id>")
@requires("courses.view")
async def course_detail(course_id: int) -> str:
    course = await course_or_404(course_id)
    today = sender().today()
    show_past = request.args.get("past") == "1"
    rows = await catalog.session_rows(
        db(), course_id=course.id, from_day=None if show_past else today
    )
    return await render(
        "planning/courses/detail.html",
        course=course,
        rows=rows,
        show_past=show_past,
        today=today,
        **labels(),
    )


# --- booking many at once -----------------------------------------------------------


@dataclass
class BookingChoice:
    """Whom to book (an election, perhaps narrowed to a district or a station) and onto
    which sessions."""

    election_id: int | None
    district_id: int | None
    station_id: int | None
    session_ids: list[int]


@routes.route("/courses/<int:course_id>/book-many", methods=["GET", "POST"])
@requires("courses.edit")
async def course_book_many(course_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Book the untrained people holding a place in an election (a district, or one
    station's team) onto chosen sessions: choose, preview who goes where, confirm."""
    source = await request.form if request.method == "POST" else request.args
    choice = BookingChoice(
        election_id=parse_id(source.get("election_id")),
        district_id=parse_id(source.get("district_id")),
        station_id=parse_id(source.get("station_id")),
        session_ids=parse_ids(source.getlist("session_ids")),
    )
    if request.method == "POST":
        expected = parse_ids(source.getlist("person_ids"))

        async def refused(refusal: DomainError) -> tuple[str, int]:
            return await _book_many_page(course_id, choice, True, refusal.message), 409

        on_refusal(refused)
        plan = await bulk_booking.book_plan(
            db(),
            current_actor(),
            sender(),
            course_id,
            choice.election_id or 0,
            choice.session_ids,
            expected,
            district_id=choice.district_id,
            station_id=choice.station_id,
        )
        await flash(
            ngettext(
                "%(num)s person has been booked and told by email.",
                "%(num)s people have been booked and told by email.",
                len(plan.seats),
            ),
            "success",
        )
        return redirect(url_for("planning.course_detail", course_id=course_id))
    return await _book_many_page(course_id, choice, preview="preview" in source, error=None)


async def _book_many_page(
    course_id: int, choice: BookingChoice, preview: bool, error: str | None
) -> str:
    today = sender().today()
    course = await course_or_404(course_id)
    election_id = choice.election_id or course.election_id
    if election_id is not None:
        await elections.get_election(db(), election_id)  # another municipality's: 404
    else:
        election_id = await _coming_election_id(today)
    if election_id is not None:
        # A district or station of another election would quietly find nobody.
        districts = {d.id for d in await districts_of(db(), election_id)}
        page = await station_page(db(), election_id, per_page=MAX_STATIONS)
        if choice.district_id not in districts:
            choice.district_id = None
        if choice.station_id not in {station.id for station in page.rows}:
            choice.station_id = None
    plan = None
    if preview and election_id is not None:
        if not choice.session_ids:
            error = error or _("Choose at least one session.")
        else:
            # The preview is a part of the page, not the page's answer: a refusal is
            # shown in its place, and the rest of the page is drawn all the same.
            try:
                plan = await bulk_booking.plan_bookings(
                    db(),
                    sender(),
                    course.id,
                    election_id,
                    choice.session_ids,
                    district_id=choice.district_id,
                    station_id=choice.station_id,
                )
            except (CourseError, NotFound) as refusal:
                error = refusal.message
    course = await course_or_404(course_id)
    rows = await catalog.session_rows(db(), course_id=course.id, from_day=today, only_open=True)
    open_ids = {row.session.id for row in rows}
    choice.session_ids = [sid for sid in choice.session_ids if sid in open_ids]
    return await render(
        "planning/courses/book_many.html",
        course=course,
        election_rows=await elections.list_elections(db()),
        election_id=election_id,
        districts=await districts_of(db(), election_id) if election_id else [],
        stations=(
            (await station_page(db(), election_id, per_page=MAX_STATIONS)).rows
            if election_id
            else []
        ),
        rows=rows,
        choice=choice,
        plan=plan,
        error=error,
        **labels(),
    )


async def _coming_election_id(today: Any) -> int | None:
    """The next election (or the latest, when none is coming), to start from."""
    rows = await elections.list_elections(db())
    coming = [election for election, _d, _s in rows if election.election_day >= today]
    if coming:
        return min(coming, key=lambda election: election.election_day).id
    return rows[0][0].id if rows else None


# --- results ------------------------------------------------------------------------


@routes.route("/courses/results/new", methods=["GET", "POST"])
@requires("courses.edit")
async def course_result_new() -> str | WerkzeugResponse | tuple[str, int]:
    """Record by hand that a person has a course: a test, an online course, training
    taken elsewhere. The person is chosen by a search of the register."""
    if request.method == "GET" and (clean := search_left_in_url()) is not None:
        return clean
    source = await request.form if request.method == "POST" else request.args
    values: dict[str, Any] = {
        "course_id": source.get("course_id") or source.get("course", ""),
        "person_id": source.get("person_id") or source.get("person", ""),
        "achieved_on": source.get("achieved_on") or sender().today().isoformat(),
        "result": source.get("result", ""),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        cleaner = Cleaner(values)
        course_id = cleaner.identifier("course_id", required=True)
        person_id = cleaner.identifier("person_id", required=True)
        achieved_on = cleaner.date("achieved_on", required=True)
        result = cleaner.text("result", 100)
        errors = cleaner.errors
        if not errors:
            assert course_id and person_id and achieved_on

            async def refused(refusal: DomainError) -> str | tuple[str, int]:
                if isinstance(refusal, NotFound):
                    return await _result_form(
                        values, {"form": _("Choose the person and the course again.")}
                    )
                return await _result_form(values, refusal.errors)

            on_refusal(refused, not_found=True)
            await attendance.record_result(
                db(), current_actor(), person_id, course_id, achieved_on, result
            )
            await flash(_("The result has been recorded."), "success")
            return redirect(url_for("planning.person_detail", person_id=person_id))
    return await _result_form(values, errors)


async def _result_form(values: dict[str, Any], errors: dict[str, str]) -> str | tuple[str, int]:
    person = None
    if (chosen := parse_id(values["person_id"])) is not None:
        try:
            person = await people.get_person(db(), chosen)
        except NotFound:
            values["person_id"] = ""
    page = await _result_page(values, errors, person)
    return (page, 422) if errors else page


@routes.route("/courses/results/search", methods=["GET", "POST"])
@requires("courses.edit")
async def course_result_search() -> str | WerkzeugResponse:
    """The person search of the result form, posted so no id number is put in a URL.
    A GET (the language switch, a reload) goes back to the empty form."""
    if request.method == "GET":
        return redirect(url_for("planning.course_result_new"))
    form = await request.form
    values = {
        "course_id": form.get("course", ""),
        "person_id": "",
        "achieved_on": sender().today().isoformat(),
        "result": "",
    }
    return await _result_page(values, {}, None, form.get("q", "").strip())


async def _result_page(
    values: dict[str, Any], errors: dict[str, str], person: Person | None, query: str = ""
) -> str:
    return await render(
        "planning/courses/result_form.html",
        values=values,
        errors=errors,
        person=person,
        query=query,
        found=await find_people(query),
        courses=await catalog.list_courses(db()),
    )


@routes.route("/courses/<int:course_id>/results/import", methods=["GET", "POST"])
@requires("courses.edit")
async def course_results_import(course_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Import an online course's or a test's results: every row, or none."""
    course = await course_or_404(course_id)
    problems: list[str] = []
    if request.method == "POST":
        upload = (await request.files).get("file")
        if upload is None or not upload.filename:
            problems = [_("Choose a file.")]
        else:
            on_refusal(
                lambda error: _import_page(
                    course_id,
                    error.problems if isinstance(error, ResultsImportError) else [error.message],
                ),
                not_found=True,
            )
            count = await import_results(
                db(), current_actor(), course.id, upload.filename, upload.read()
            )
            await flash(
                ngettext(
                    "%(num)s result has been recorded.",
                    "%(num)s results have been recorded.",
                    count,
                ),
                "success",
            )
            return redirect(url_for("planning.course_detail", course_id=course_id))
    return await _import_page(course_id, problems)


async def _import_page(course_id: int, problems: list[str]) -> str | tuple[str, int]:
    course = await course_or_404(course_id)
    page = await render("planning/courses/results_import.html", course=course, problems=problems)
    return (page, 422) if problems else page
