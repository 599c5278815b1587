"""Live fragments for the coordinators' dashboard: what the socket sends for each
election-day event on an election's ops topic.

The hub renders once per event and topic, then sends the same string to every
coordinator watching (``app.realtime.hub``), so a fragment holds nothing personal to
one reader: the changed stations' rows, the election's counters and the event ids
(the highest is the page's reconnect cursor), each swapped by id (htmx out-of-band).
Events that wait while one is drawn are drawn together (``register_coalescing_renderer``):
the rows show the stations as they are now, whatever number of events changed them.
It is drawn in the municipality's language, without a request (no ``url_for``, no CSRF
token): rows link to the panel by path. Events on a station's own topic go as JSON (the
portal's).
"""

from __future__ import annotations

from typing import Any

from quart import current_app

from app.core.events import topic_election_id
from app.core.i18n import locale_scope, reader_locale
from app.core.models import Tenant
from app.domain.ops.counters import LiveCounters
from app.domain.ops.dashboard import live_update
from app.domain.ops.stations import STATE_LABELS
from app.realtime.drawing import as_page_of, register_coalescing_renderer
from app.realtime.live_event import LiveEvent

UPDATE = "planning/ops/_live_update.html"
#: Where the app keeps the live counters (``app.extensions``).
COUNTERS = "ops_live_counters"
#: Drawing an election's dashboard takes at most this share of the process's time: after
#: each fragment the election's events rest three times as long as it took to draw (a
#: fragment of 15 ms: 45 ms), and the check-ins of that rest go as one fragment. So the
#: drawing costs about the same at 50 check-ins a second as at 10 (bench --only
#: realtime). The rest is at most 50 ms: a drawing's time counts what the busy process
#: did meanwhile (a 10 ms drawing takes 30-40 ms at 50 check-ins a second), and the
#: rest adds to every dashboard's wait (at 100 ms the p50 was 90 ms and the p99 200).
DRAWING_SHARE = 0.25
MAX_REST_SECONDS = 0.05
#: Every event type that changes what a dashboard row or the counters show.
EVENT_TYPES = (
    "checkin.arrived",
    "checkin.left",
    "station.state_changed",
    "incident.reported",
    "incident.acknowledged",
    "incident.assigned",
    "incident.resolved",
    "incident.noted",
    "staffing.reassigned",
    "staffing.sent_confirmed",
    "turnout.reported",
    "station.shortage_reported",
    "station.shortage_updated",
)


async def render_ops_events(events: list[LiveEvent]) -> str:
    """The touched stations' rows, the counters and the cursor for a run of ops events
    of one topic (or the JSON of the last, when they name no station)."""
    last = events[-1]
    election = topic_election_id(last.topic)
    station_ids = [
        e.payload["station_id"] for e in events if isinstance(e.payload.get("station_id"), int)
    ]
    if election is None or not station_ids:
        return last.as_json()
    runtime = current_app.extensions["stemma"]
    async with runtime.session_factory() as session:
        tenant = await session.get(Tenant, last.tenant_id)
        if tenant is None:
            return last.as_json()
        # In the readers' language; the municipality's when the hub does not know it.
        language = reader_locale() or tenant.locale or runtime.settings.default_locale
        with locale_scope(language), as_page_of(tenant):
            counters = current_app.extensions.get(COUNTERS)
            if counters is None:
                counters = current_app.extensions[COUNTERS] = LiveCounters()
            board = await live_update(session, election, station_ids, counters)
            context: dict[str, Any] = {
                "board": board,
                "cursor": max(e.id for e in events),
                "event_ids": ",".join(str(e.id) for e in events),
                # What happened, for pages that follow some kinds only (the shortages).
                "event_types": ",".join(sorted({e.type for e in events})),
                "base": f"/{tenant.slug}/planning/elections/{election}/live",
                "zone": tenant.timezone,
                "state_labels": STATE_LABELS,
            }
            template = current_app.jinja_env.get_template(UPDATE)
            return await template.render_async(**context)


def is_ops_topic(topic: str) -> bool:
    return topic_election_id(topic) is not None


def register() -> None:
    # Drawn together only on the ops topic: a station's team gets every event as JSON.
    for event_type in EVENT_TYPES:
        register_coalescing_renderer(
            event_type,
            render_ops_events,
            share=DRAWING_SHARE,
            max_rest_seconds=MAX_REST_SECONDS,
            topics=is_ops_topic,
        )
