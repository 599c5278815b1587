"""Live fragments for the coordinators' dashboard: what the socket sends for each
election-day event on an election's ops topic.

The hub renders once per event and topic, then sends the same string to every
coordinator watching (``app.realtime.hub``), so a fragment holds nothing personal to
one reader: the changed station's row, the election's counters and the event id (the
page's reconnect cursor), each swapped by id (htmx out-of-band). It is drawn in the
municipality's language, without a request (no ``url_for``, no CSRF token): rows link
to the panel by path. Events on a station's own topic go as JSON (the portal's).
"""

from __future__ import annotations

from typing import Any

from quart import current_app

from app.core.events import TOPIC_PATTERN
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.domain.ops.dashboard import LiveCounters, live_update
from app.domain.ops.stations import STATE_LABELS
from app.realtime.hub import LiveEvent, register_renderer

UPDATE = "planning/ops/_live_update.html"
#: Where the app keeps the live counters (``app.extensions``).
COUNTERS = "ops_live_counters"
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
)


async def render_ops_event(event: LiveEvent) -> str:
    """The station's row, the counters and the cursor for one ops event (or the JSON)."""
    match = TOPIC_PATTERN.match(event.topic)
    election = match.group("election") if match else None
    station_id = event.payload.get("station_id")
    if election is None or not isinstance(station_id, int):
        return event.as_json()
    runtime = current_app.extensions["stemma"]
    async with runtime.session_factory() as session:
        tenant = await session.get(Tenant, event.tenant_id)
        if tenant is None:
            return event.as_json()
        with locale_scope(tenant.locale or runtime.settings.default_locale):
            counters = current_app.extensions.get(COUNTERS)
            if counters is None:
                counters = current_app.extensions[COUNTERS] = LiveCounters()
            board = await live_update(session, int(election), station_id, counters)
            context: dict[str, Any] = {
                "board": board,
                "cursor": event.id,
                "base": f"/{tenant.slug}/planning/elections/{election}/live",
                "zone": tenant.timezone,
                "state_labels": STATE_LABELS,
            }
            template = current_app.jinja_env.get_template(UPDATE)
            return await template.render_async(**context)


def register() -> None:
    for event_type in EVENT_TYPES:
        register_renderer(event_type, render_ops_event)


register()
