"""Election day live: the coordinators' dashboard of every station, kept current over
the live socket, with a side panel per station to send a reserve and handle incidents.

The page renders the state at a known event id and its socket asks for everything
after it (``app.realtime.ws``); ``app.planning.ops_fragments`` turns each event into
the changed station's row and the counters. Actions answer with the panel redrawn in
place; a change someone else made first answers 409 with the reason in the panel.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from quart import flash, g, redirect, request, url_for

from app.core.accounts.users import list_members
from app.core.auth import current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.events import latest_event_id, ops_topic
from app.core.i18n import _, named
from app.core.paging import Page, page_number, shown_page
from app.core.permissions import role_has
from app.core.routes import Routes
from app.core.validation import FieldErrors, parse_id
from app.core.web import db, is_htmx, on_refusal, render
from app.domain.clerks.undertaking import unsigned_among
from app.domain.models import STATION_STATES
from app.domain.ops import OpsConflict, incident_labels
from app.domain.ops import incidents as ops_incidents
from app.domain.ops.checkins import check_in
from app.domain.ops.dashboard import DashboardFilters, dashboard, election_in_focus
from app.domain.ops.facets import ALERT_FILTERS, ALERT_LABELS, ORDER_LABELS, ORDERS
from app.domain.ops.reassign import absent_places, reassign, reassign_candidates
from app.domain.ops.send_checks import PlaceToFill, assess_candidates, phone_numbers
from app.domain.ops.station_rows import StationRow
from app.domain.ops.stations import STATE_LABELS, station_roster
from app.domain.staffing.kept_off import kept_off

routes = Routes()

PAGE = "planning/ops/dashboard.html"
PANEL = "planning/ops/_panel.html"
INCIDENT_ACTIONS = ("acknowledge", "assign", "resolve", "note")
#: Stations on one page of the dashboard, under their districts' headings. The live
#: rows of stations on other pages are left out when a fragment comes (dashboard.js).
STATIONS_PER_PAGE = 30


def _filters() -> DashboardFilters:
    args = request.args
    state = args.get("state")
    alert = args.get("alert")
    order = args.get("order")
    return DashboardFilters(
        district_id=parse_id(args.get("district")),
        state=state if state in STATION_STATES else None,
        alert=alert if alert in ALERT_FILTERS else None,
        alerts_only=args.get("alerts") == "1",
        station_query=args.get("q", "")[:100],
        order=order if order in ORDERS else "problems",
    )


def live_base(election_id: int) -> str:
    """The dashboard's address; rows link to ``{base}/stations/{id}`` (the live fragments
    are rendered without a request, so they build links from it the same way)."""
    return url_for("planning.ops_dashboard", election_id=election_id)


@routes.get("/live")
@requires("ops.view")
async def ops_dashboard_now() -> Any:
    """The menu's entry: today's election (or the next one) live."""
    election_id = await election_in_focus(db())
    if election_id is None:
        await flash(_("There is no election yet."), "error")
        return redirect(url_for("planning.home"))
    return redirect(url_for("planning.ops_dashboard", election_id=election_id))


@routes.get("/elections/<int:election_id>/live")
@requires("ops.view")
async def ops_dashboard(election_id: int) -> str:
    topic = ops_topic(g.tenant.id, election_id)
    # The cursor first: an event committed while the page is built is replayed, and
    # replaying one only redraws what the page already shows.
    cursor = await latest_event_id(db(), [topic])
    board = await dashboard(db(), election_id, _filters())
    socket = "/{}/ws?{}".format(
        g.tenant.slug, urlencode({"topics": topic, "last_event_id": cursor})
    )
    total = len(board.rows)
    page = shown_page(page_number(request.args.get("page")), total, STATIONS_PER_PAGE)
    return await render(
        PAGE,
        block="live",
        board=board,
        groups=board.page(page, STATIONS_PER_PAGE),
        paging=Page(page=page, per_page=STATIONS_PER_PAGE, total=total),
        cursor=cursor,
        socket_url=socket,
        base=live_base(election_id),
        zone=g.tenant.timezone,
        districts=board.districts,
        state_labels=STATE_LABELS,
        alert_labels=ALERT_LABELS,
        order_labels=ORDER_LABELS,
    )


async def _panel(
    election_id: int, station_id: int, status: int = 200, **context: Any
) -> tuple[str, int]:
    """One station's panel: its team today, open incidents, and whom to send."""
    board = await dashboard(
        db(), election_id, DashboardFilters(station_ids=frozenset({station_id}))
    )
    rows = board.rows
    if not rows:
        raise NotFound(_("Not found."))
    row: StationRow = rows[0]
    shift_ids = [focus.shift.id for focus in row.shifts]
    incidents = [
        (incident, await ops_incidents.incident_notes(db(), incident.id))
        for incident in row.open_incidents
    ]
    coordinators = [
        member.user
        for member in await list_members(db())
        if role_has(member.role, "ops.coordinate")
    ]
    template = PANEL if is_htmx() else "planning/ops/station.html"
    places = [
        PlaceToFill(focus.shift.id, role.role_type_id, f"{named(focus.shift)} · {role.name}")
        for focus in row.shifts
        for role in row.roles
    ]
    roster = await station_roster(db(), station_id, board.today)
    candidates = await reassign_candidates(db(), station_id, board.today)
    missing = [e.person_id for r in roster for e in r.entries if e.status == "missing"]
    unsigned = await unsigned_among(db(), missing)
    # Those placed but kept off the election stay listed, marked with why.
    kept_off_reasons = await kept_off(
        db(), [e.person_id for r in roster for e in r.entries], election_id
    )
    body = await render(
        template,
        board=board,
        row=row,
        base=live_base(election_id),
        zone=g.tenant.timezone,
        drawer=is_htmx(),
        roster=roster,
        incidents=incidents,
        candidates=candidates,
        assessments=await assess_candidates(db(), candidates, places),
        # Only a coordinator gets numbers (a planner watching gets none).
        phones=await phone_numbers(
            db(), current_actor(), [*missing, *(c.person_id for c in candidates)]
        ),
        absent_choices=[
            (place.assignment_id, place.label) for place in await absent_places(db(), shift_ids)
        ],
        places=[(f"{place.shift_id}:{place.role_type_id}", place.label) for place in places],
        coordinators=coordinators,
        unsigned=unsigned,
        kept_off=kept_off_reasons,
        state_labels=STATE_LABELS,
        severity_labels=incident_labels.SEVERITY_LABELS,
        category_labels=incident_labels.CATEGORY_LABELS,
        incident_state_labels=incident_labels.STATE_LABELS,
        **context,
    )
    return body, status


@routes.get("/elections/<int:election_id>/live/stations/<int:station_id>")
@requires("ops.view")
async def ops_station_panel(election_id: int, station_id: int) -> tuple[str, int]:
    return await _panel(election_id, station_id)


async def _answer(
    election_id: int,
    station_id: int,
    notice: str | None = None,
    error: DomainError | None = None,
    given: dict[str, str] | None = None,
) -> Any:
    """The panel redrawn with what happened (HTMX), or a flash and the panel's page.
    A refusal at a field shows there, with what was given kept in the form."""
    at_field = isinstance(error, FieldErrors)
    if is_htmx():
        status = 200 if error is None else (409 if isinstance(error, OpsConflict) else 422)
        return await _panel(
            election_id,
            station_id,
            status,
            notice=notice,
            error=error.message if error and not at_field else None,
            errors=error.errors if isinstance(error, FieldErrors) else {},
            given=given or {},
            conflict=isinstance(error, OpsConflict),
        )
    await flash(error.message if error else (notice or ""), "error" if error else "success")
    return redirect(
        url_for("planning.ops_station_panel", election_id=election_id, station_id=station_id)
    )


@routes.post("/elections/<int:election_id>/live/stations/<int:station_id>/reassign")
@requires("ops.coordinate")
async def ops_reassign(election_id: int, station_id: int) -> Any:
    """Send a reserve (or move a clerk) to a place at the station, or to the place of
    someone who has not come."""
    board = await dashboard(
        db(), election_id, DashboardFilters(station_ids=frozenset({station_id}))
    )
    if not board.rows:
        raise NotFound(_("Not found."))
    form = await request.form
    replace_id = parse_id(form.get("replace"))
    shift_id = role_type_id = None
    if replace_id is not None:
        place = next(
            (
                p
                for p in await absent_places(db(), [f.shift.id for f in board.rows[0].shifts])
                if p.assignment_id == replace_id
            ),
            None,
        )
        if place is not None:
            shift_id, role_type_id = place.shift_id, place.role_type_id
    else:
        shift_text, _sep, role_text = str(form.get("place", "")).partition(":")
        shift_id, role_type_id = parse_id(shift_text), parse_id(role_text)
    kind, _sep, rest = str(form.get("person", "")).partition(":")
    person_text, _sep, assignment_text = rest.partition(":")
    person_id = parse_id(person_text)
    if person_id is None or kind not in ("reserve", "clerk"):
        return await _answer(election_id, station_id, error=DomainError(_("Choose a person.")))
    if shift_id is None or role_type_id is None:
        if replace_id is not None:
            error: DomainError = OpsConflict(
                _("That place changed meanwhile. Look again and decide.")
            )
        else:
            error = DomainError(_("Choose a place."))
        return await _answer(election_id, station_id, error=error)
    if shift_id not in {f.shift.id for f in board.rows[0].shifts}:
        raise NotFound(_("Not found."))
    given = {name: str(form.get(name, "")) for name in ("person", "replace", "place")}
    given["override_reason"] = str(form.get("override_reason", ""))
    on_refusal(lambda failure: _answer(election_id, station_id, error=failure, given=given))
    await reassign(
        db(),
        current_actor(),
        shift_id=shift_id,
        role_type_id=role_type_id,
        person_id=person_id,
        move_assignment_id=parse_id(assignment_text) if kind == "clerk" else None,
        replace_assignment_id=replace_id,
        override_reason=given["override_reason"],
    )
    return await _answer(
        election_id,
        station_id,
        notice=_("The person is sent. They show as sent until they confirm on their phone."),
    )


@routes.post("/elections/<int:election_id>/live/incidents/<int:incident_id>/<action>")
@requires("ops.coordinate")
async def ops_incident(election_id: int, incident_id: int, action: str) -> Any:
    """Acknowledge, assign or resolve an incident, or add a note; each names the version
    the coordinator saw, so a change someone made meanwhile is refused, not overwritten."""
    if action not in INCIDENT_ACTIONS:
        raise NotFound(_("Not found."))
    incident = await ops_incidents.get_incident(db(), incident_id)
    if incident.election_id != election_id:
        raise NotFound(_("Not found."))
    station_id = incident.station_id
    form = await request.form
    version = parse_id(form.get("version")) or 0
    note = str(form.get("note", ""))
    actor = current_actor()
    notices = {
        "acknowledge": _("The incident is acknowledged."),
        "assign": _("The incident is assigned."),
        "resolve": _("The incident is resolved."),
        "note": _("The note is saved."),
    }
    on_refusal(lambda failure: _answer(election_id, station_id, error=failure))
    if action == "acknowledge":
        await ops_incidents.acknowledge(db(), actor, incident_id, expected_version=version)
    elif action == "assign":
        await ops_incidents.assign(
            db(),
            actor,
            incident_id,
            user_id=parse_id(form.get("user_id")) or 0,
            expected_version=version,
        )
    elif action == "resolve":
        await ops_incidents.resolve(db(), actor, incident_id, expected_version=version, note=note)
    if action == "note" or (note.strip() and action != "resolve"):
        await ops_incidents.add_note(db(), actor, incident_id, note)
    return await _answer(election_id, station_id, notice=notices[action])


@routes.post("/elections/<int:election_id>/live/stations/<int:station_id>/check-in")
@requires("ops.coordinate")
async def ops_check_in(election_id: int, station_id: int) -> Any:
    """A coordinator checks in a person of the station's team today who has not signed
    the confidentiality undertaking, with the reason (audited)."""
    board = await dashboard(
        db(), election_id, DashboardFilters(station_ids=frozenset({station_id}))
    )
    if not board.rows:
        raise NotFound(_("Not found."))
    form = await request.form
    shift_id = parse_id(form.get("shift_id"))
    person_id = parse_id(form.get("person_id"))
    # Any of the station's shifts today (the roster's), not only the one in focus.
    today = {r.shift.id for r in await station_roster(db(), station_id, board.today)}
    if shift_id not in today or person_id is None:
        raise NotFound(_("Not found."))
    given = {"override_reason": str(form.get("override_reason", ""))[:400]}
    on_refusal(lambda failure: _answer(election_id, station_id, error=failure, given=given))
    await check_in(
        db(),
        current_actor(),
        person_id=person_id,
        shift_id=shift_id,
        kind="arrived",
        idempotency_key=str(form.get("idempotency_key", "")) or f"coordinator-{uuid.uuid4()}",
        source="coordinator",
        override_reason=given["override_reason"],
    )
    return await _answer(election_id, station_id, notice=_("The person is checked in."))
