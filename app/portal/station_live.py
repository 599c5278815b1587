"""Live fragments for the clerks' election-day page: what a station's socket receives
after each event on the station's topic (``t:<tenant>:station:<id>``).

The hub draws once per batch of a topic's events and language, and sends the same
string to every phone at the station (``app.realtime.hub``), so the fragment holds
nothing of one reader: the station's state, its team today and the turnout, as they
are now, each swapped by id (htmx out-of-band), and the event ids (the highest is the
page's reconnect cursor, read by ``static/js/station_live.js``). Events that wait while
one is drawn are drawn together: the parts show the station as it is now.
"""

from __future__ import annotations

from typing import Any

from quart import current_app

from app.core.events import TOPIC_PATTERN
from app.core.i18n import locale_scope, reader_locale
from app.core.models import Tenant
from app.domain.materials.labels import SHORTAGE_LABELS
from app.domain.models import TURNOUT_SLOTS
from app.domain.ops.station_live import PARTS, station_now
from app.domain.ops.stations import STATE_LABELS
from app.realtime.drawing import as_page_of, register_coalescing_renderer
from app.realtime.live_event import LiveEvent

UPDATE = "portal/_station_live_update.html"
#: Every event type on a station's topic that changes what its phones show.
EVENT_TYPES = (
    "checkin.arrived",
    "checkin.left",
    "station.state_changed",
    "turnout.reported",
    "staffing.reassigned",
    "staffing.sent_confirmed",
    "station.message",
    "station.message_read",
    "station.shortage_reported",
    "station.shortage_updated",
)
#: The parts of the station's page each event changes (``PARTS``); a type not named
#: here redraws them all. A check-in is most of election day's events: its fragment
#: reads the team and what keeps the station from opening, not its messages, turnout
#: and shortages (7 reads instead of 12, bench --only realtime).
PARTS_OF = {
    "checkin.arrived": frozenset({"team", "opening"}),
    "checkin.left": frozenset({"team", "opening"}),
    "station.state_changed": frozenset({"state", "opening"}),
    "turnout.reported": frozenset({"turnout"}),
    "staffing.reassigned": frozenset({"team", "opening"}),
    "staffing.sent_confirmed": frozenset({"team", "opening"}),
    "station.message": frozenset({"messages"}),
    "station.message_read": frozenset({"messages"}),
    "station.shortage_reported": frozenset({"shortages"}),
    "station.shortage_updated": frozenset({"shortages"}),
}
#: A station's drawing is small (one station, a few shifts), but 660 stations' check-ins
#: share the process: after each drawing the station rests as long as it took (at most
#: 50 ms), and what came meanwhile goes as one fragment.
DRAWING_SHARE = 0.5
MAX_REST_SECONDS = 0.05


def station_of_topic(topic: str) -> int | None:
    """The station of a station's topic, or None for any other topic."""
    match = TOPIC_PATTERN.match(topic)
    if match is None or match.group("kind") != "station":
        return None
    return int(match.group("id"))


def is_station_topic(topic: str) -> bool:
    return station_of_topic(topic) is not None


async def render_station_events(events: list[LiveEvent]) -> str:
    """The station's parts as they are now, and the cursor, for a run of its events."""
    last = events[-1]
    station_id = station_of_topic(last.topic)
    if station_id is None:
        return last.as_json()
    runtime = current_app.extensions["stemma"]
    async with runtime.session_factory() as session:
        tenant = await session.get(Tenant, last.tenant_id)
        if tenant is None:
            return last.as_json()
        language = reader_locale() or tenant.locale or runtime.settings.default_locale
        with locale_scope(language), as_page_of(tenant):
            context: dict[str, Any] = {
                "now": await station_now(
                    session,
                    station_id,
                    parts=frozenset().union(*(PARTS_OF.get(e.type, PARTS) for e in events)),
                ),
                "cursor": max(e.id for e in events),
                "event_ids": ",".join(str(e.id) for e in events),
                "zone": tenant.timezone,
                "base": f"/{tenant.slug}/portal/election-day",
                "state_labels": STATE_LABELS,
                "turnout_slots": TURNOUT_SLOTS,
                "shortage_labels": SHORTAGE_LABELS,
            }
            template = current_app.jinja_env.get_template(UPDATE)
            return await template.render_async(**context)


def register() -> None:
    for event_type in EVENT_TYPES:
        register_coalescing_renderer(
            event_type,
            render_station_events,
            share=DRAWING_SHARE,
            max_rest_seconds=MAX_REST_SECONDS,
            topics=is_station_topic,
        )
