"""Election day on the clerk's phone: "I have arrived" and "I am leaving", and for a
station's chair the team, the station's state, incidents and turnout.

The buttons post to ``POST /api/v1/checkins`` from ``static/js/checkin.js``, which keeps a
check-in made offline in the phone's IndexedDB and sends it again with the same
idempotency key. Without JavaScript the same buttons post a plain form here, with a
key the server made when it drew the page, so a form sent twice still checks in once.
The station poster's QR code opens this page with ``?station=<id>``.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, current_membership, current_user, requires
from app.core.errors import DomainError, NotFound
from app.core.events import latest_event_id, station_topic
from app.core.i18n import _, lazy_gettext
from app.core.models import utcnow
from app.core.routes import Routes
from app.core.templating import localtime
from app.core.validation import FieldErrors, parse_id
from app.core.web import RefusalAnswer, db, on_refusal, render
from app.domain.materials import deliveries, shortages
from app.domain.materials.labels import DELIVERY_LABELS, SHORTAGE_LABELS
from app.domain.models import (
    INCIDENT_CATEGORIES,
    INCIDENT_SEVERITIES,
    STATION_TRANSITIONS,
    TURNOUT_SLOTS,
    CheckIn,
    Person,
)
from app.domain.ops import (
    access,
    incident_labels,
    incidents,
    my_day,
    sent_places,
    station_messages,
    stations,
    turnout,
)
from app.domain.ops.checkins import check_in
from app.domain.ops.station_live import StationNow, station_now
from app.portal.me import my_person, my_person_or_404

routes = Routes()

STATE_ACTIONS = {
    "open": lazy_gettext("Open the station"),
    "paused": lazy_gettext("Pause"),
    "closed": lazy_gettext("Close the station"),
    "counting": lazy_gettext("Start counting"),
    "result_reported": lazy_gettext("Result reported"),
}


#: A page section's refusal: {"message": ..., "errors": {field: message}, "given": {...}}.
Refusals = dict[str, dict[str, Any]]


@routes.context_processor
async def _election_day_menu() -> dict[str, object]:
    """Whether the menu shows "Election day": only with a shift today or tomorrow."""
    if current_user() is None or current_membership() is None or g.get("tenant") is None:
        return {"election_day_soon": False}
    if "election_day_soon" not in g:
        person = await my_person()
        g.election_day_soon = person is not None and await my_day.has_shift_soon(
            db(), person.id, await access.local_today(db())
        )
    return {"election_day_soon": g.election_day_soon}


def confirmed_text(row: CheckIn) -> str:
    """ "Confirmed at 07:28 (server time)": the time the server took, in local time."""
    return _(
        "Confirmed at %(time)s (server time)",
        time=localtime(row.checked_at, g.tenant.timezone, "HH:mm"),
    )


async def _page(
    person: Person | None,
    station_id: int | None = None,
    refusals: Refusals | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = db()
    zone, now = await access.local_zone(session), utcnow()
    today = now.astimezone(zone).date()
    all_today, tomorrow = (
        await my_day.shifts_of_the_day(session, person.id, now, zone) if person else ([], [])
    )
    # The cursor first: an event committed while the page is drawn is replayed.
    station_ids = list(dict.fromkeys(mine.station.id for mine in all_today))
    topics = [station_topic(g.tenant.id, station_id) for station_id in station_ids]
    cursor = await latest_event_id(session, topics)
    shifts, not_here = all_today, False
    if station_id is not None:
        # Opened from a station's poster: that station's shift first and alone.
        at_station = [mine for mine in all_today if mine.station.id == station_id]
        not_here = not at_station
        shifts = at_station or all_today
    led = await _led_stations(all_today)
    led_ids = {entry["station"].id for entry in led}
    # The stations where the clerk works today without leading: state and team, read only.
    others = [
        (mine.station, await station_now(session, mine.station.id, mine.shift.day))
        for mine in {m.station.id: m for m in all_today}.values()
        if mine.station.id not in led_ids
    ]
    refusals = refusals or {}
    shown = {f"shift-{mine.shift.id}" for mine in shifts}
    for entry in led:
        station = entry["station"].id
        shown |= {f"state-{station}", f"incident-{station}", f"turnout-{station}"}
        shown.add(f"shortage-{station}")
        shown |= {f"note-{incident.id}" for incident in entry["incidents"]}
    # A refusal with no section on the page (a clerk who is not the lead) shows on top.
    elsewhere = [r["message"] for k, r in refusals.items() if k not in shown and r["message"]]
    page = await render(
        "portal/election_day.html",
        person=person,
        today=today,
        shifts=shifts,
        tomorrow=tomorrow,
        station_id=station_id,
        not_here=not_here,
        led=led,
        others=others,
        socket_url=_socket_url(topics, cursor),
        cursor=cursor,
        refusals=refusals,
        elsewhere=elsewhere,
        confirmed_text=confirmed_text,
        new_key=lambda: str(uuid.uuid4()),
        transitions=STATION_TRANSITIONS,
        state_labels=stations.STATE_LABELS,
        state_actions=STATE_ACTIONS,
        category_choices=[(c, incident_labels.CATEGORY_LABELS[c]) for c in INCIDENT_CATEGORIES],
        severity_choices=[(s, incident_labels.SEVERITY_LABELS[s]) for s in INCIDENT_SEVERITIES],
        category_labels=incident_labels.CATEGORY_LABELS,
        severity_labels=incident_labels.SEVERITY_LABELS,
        incident_state_labels=incident_labels.STATE_LABELS,
        turnout_slots=TURNOUT_SLOTS,
        shortage_labels=SHORTAGE_LABELS,
        delivery_labels=DELIVERY_LABELS,
    )
    return page, status


async def _led_stations(shifts: list[my_day.MyShift]) -> list[dict[str, Any]]:
    """The stations the clerk leads today, with what their chair needs to see."""
    session = db()
    led: list[dict[str, Any]] = []
    seen: set[int] = set()
    for mine in shifts:
        station = mine.station
        if not mine.leads_station or station.id in seen:
            continue
        seen.add(station.id)
        live: StationNow = await station_now(session, station.id, mine.shift.day)
        led.append(
            {
                "station": station,
                "now": live,
                "state": live.state,
                "status": live.status,
                "check": live.check,
                "incidents": await my_day.station_incidents(session, station.id),
                "turnout": live.turnout,
                "delivery": await deliveries.station_delivery(session, station.id),
                "shortages": await shortages.station_shortages(session, station.id),
                "article_choices": [
                    (str(article.id), article.name)
                    for article in await shortages.station_articles(session, station.id)
                ],
            }
        )
    return led


def _socket_url(topics: list[str], cursor: int) -> str | None:
    """The page's live socket: its stations' topics, resuming after ``cursor``."""
    if not topics:
        return None
    query = urlencode({"topics": ",".join(topics), "last_event_id": cursor})
    return f"/{g.tenant.slug}/ws?{query}"


@routes.get("/election-day")
@requires("portal.use")
async def election_day() -> tuple[str, int]:
    return await _page(await my_person(), parse_id(request.args.get("station")))


def _refused(section: str, values: dict[str, Any]) -> RefusalAnswer:
    """A refusal shown in the section it concerns."""

    async def answer(error: DomainError) -> tuple[str, int]:
        if isinstance(error, FieldErrors):
            refusal = {"message": "", "errors": error.errors, "given": values}
            status = 422
        else:
            refusal = {
                "message": error.message,
                "errors": {error.field: error.message} if error.field else {},
                "given": values,
            }
            status = error.status
        station_id = parse_id(request.args.get("station"))
        return await _page(await my_person_or_404(), station_id, {section: refusal}, status)

    return answer


async def _ensure_station_visible(station_id: int) -> None:
    """Someone neither on the station's team nor a coordinator learns nothing of it, not
    even that their form was incomplete: 404 before any check of the input."""
    actor = current_actor()
    if not (
        await access.is_coordinator(db(), actor)
        or await access.on_station_team(db(), actor, station_id)
    ):
        raise NotFound(_("Not found."))


def _back(anchor: str | None = None) -> WerkzeugResponse:
    """To the page again (to the section acted on), keeping the poster's station."""
    station_id = parse_id(request.args.get("station"))
    return redirect(url_for("portal.election_day", station=station_id, _anchor=anchor))


@routes.post("/election-day/check-in")
@requires("portal.use")
async def election_day_check_in() -> Any:
    """The no-JavaScript check-in: the key came with the page, or is made here."""
    person = await my_person_or_404()
    form = await request.form
    shift_id = parse_id(form.get("shift_id"))
    if shift_id is None:
        raise NotFound(_("Not found."))
    kind = form.get("kind", "")
    key = form.get("idempotency_key", "").strip() or str(uuid.uuid4())
    on_refusal(_refused(f"shift-{shift_id}", {}))
    row, _replayed = await check_in(
        db(),
        current_actor(),
        person_id=person.id,
        shift_id=shift_id,
        kind=kind,
        idempotency_key=key,
        source="portal",
    )
    if row.kind == "arrived":
        message = _("You have checked in. %(confirmed)s.", confirmed=confirmed_text(row))
    else:
        message = _("You have checked out. %(confirmed)s.", confirmed=confirmed_text(row))
    await flash(message, "success")
    return _back()


@routes.post("/election-day/sent/<int:assignment_id>/confirm")
@requires("portal.use")
async def election_day_confirm_sent(assignment_id: int) -> Any:
    """The person a coordinator sent confirms they are on their way (their own place
    only: anyone else's gives 404)."""
    assignment = await sent_places.confirm_sent(db(), current_actor(), assignment_id)
    await flash(
        _("Thank you. The station and the coordinators see that you are on your way."),
        "success",
    )
    return _back(f"shift-{assignment.shift_id}")


@routes.post("/election-day/stations/<int:station_id>/state")
@requires("portal.use")
async def election_day_station_state(station_id: int) -> Any:
    """The chair opens, pauses, closes... the station; opening may need a reason."""
    await _ensure_station_visible(station_id)
    form = await request.form
    values = {"override_reason": form.get("override_reason", "")}
    on_refusal(_refused(f"state-{station_id}", values))
    status = await stations.set_station_state(
        db(),
        current_actor(),
        station_id,
        form.get("state", ""),
        form.get("override_reason", ""),
        expected_state=form.get("expected_state") or None,
    )
    await flash(
        _("The station is now: %(state)s.", state=stations.STATE_LABELS[status.state]), "success"
    )
    return _back(f"station-{station_id}")


@routes.post("/election-day/stations/<int:station_id>/incidents")
@requires("portal.use")
async def election_day_incident(station_id: int) -> Any:
    """Report an incident at the station (the coordinators see it at once)."""
    await _ensure_station_visible(station_id)
    form = await request.form
    values = {key: form.get(key, "") for key in ("category", "severity", "text")}
    on_refusal(_refused(f"incident-{station_id}", values))
    await incidents.report_incident(db(), current_actor(), station_id, **values)
    await flash(_("The incident is reported. The coordinators see it now."), "success")
    return _back(f"station-incidents-{station_id}")


@routes.post("/election-day/stations/<int:station_id>/notes")
@requires("portal.use")
async def election_day_incident_note(station_id: int) -> Any:
    """The chair adds what happened next to an incident of their station."""
    await _ensure_station_visible(station_id)
    form = await request.form
    incident_id = parse_id(form.get("incident_id"))
    incident = await incidents.get_incident(db(), incident_id) if incident_id else None
    if incident is None or incident.station_id != station_id:
        raise NotFound(_("Not found."))
    values = {"text": form.get("text", "")}
    on_refusal(_refused(f"note-{incident_id}", values))
    await incidents.add_note(db(), current_actor(), incident.id, values["text"])
    await flash(_("Your note is added."), "success")
    return _back(f"incident-note-{incident_id}")


@routes.post("/election-day/stations/<int:station_id>/turnout")
@requires("portal.use")
async def election_day_turnout(station_id: int) -> Any:
    """Report how many have voted by one of the day's reporting times."""
    await _ensure_station_visible(station_id)
    form = await request.form
    values = {"slot": form.get("slot", ""), "count": form.get("count", "")}
    raw = values["count"].strip()
    on_refusal(_refused(f"turnout-{station_id}", values))
    if not (raw.isascii() and raw.isdigit()):  # "²" is a digit to isdigit, not to int
        raise FieldErrors({"count": _("Enter a whole number.")})
    await turnout.report_turnout(db(), current_actor(), station_id, values["slot"], int(raw))
    await flash(
        _("Turnout at %(slot)s reported: %(count)s.", slot=values["slot"], count=int(raw)),
        "success",
    )
    return _back(f"turnout-{station_id}")


@routes.post("/election-day/stations/<int:station_id>/messages/<int:message_id>/read")
@requires("portal.use")
async def election_day_message_read(station_id: int, message_id: int) -> Any:
    """A clerk of the station marks a coordinators' message read there: the station's
    messages again (htmx), or back to the page."""
    await _ensure_station_visible(station_id)
    await station_messages.mark_read(db(), current_actor(), station_id, message_id)
    if request.headers.get("HX-Request"):
        live = await station_now(db(), station_id)
        return await render(
            "portal/_station_messages.html", now=live, base=url_for("portal.election_day")
        )
    return _back(f"station-{station_id}")


@routes.post("/election-day/stations/<int:station_id>/shortages")
@requires("portal.use")
async def election_day_shortage(station_id: int) -> Any:
    """The chair reports something short at the station (the coordinators see it at once)."""
    await _ensure_station_visible(station_id)
    form = await request.form
    values = {key: form.get(key, "") for key in ("article_id", "text")}
    on_refusal(_refused(f"shortage-{station_id}", values))
    await shortages.report_shortage(db(), current_actor(), station_id, **values)
    await flash(_("The shortage is reported. The coordinators see it now."), "success")
    return _back(f"shortage-{station_id}")
