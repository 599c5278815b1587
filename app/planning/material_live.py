"""The shortages page live: it listens on the election's ops topic, as the coordinators'
dashboard does, and redraws its list when a station reports a shortage or one is marked
sent or delivered (``static/js/shortages_live.js``; the dashboard's fragments carry the
types of the events they draw)."""

from __future__ import annotations

from urllib.parse import urlencode

from quart import g

from app.core.events import latest_event_id, ops_topic
from app.core.web import db


async def shortages_socket(election_id: int) -> str:
    """The socket's address: the election's ops topic from the latest event on (an
    event committed while the page is built is replayed and only redraws the list)."""
    topic = ops_topic(g.tenant.id, election_id)
    cursor = await latest_event_id(db(), [topic])
    return "/{}/ws?{}".format(g.tenant.slug, urlencode({"topics": topic, "last_event_id": cursor}))
