"""At the end of the day: what everyone saw against the database.

- Check-ins: every check-in a phone was answered for is in the database once, under its
  key, and a phone that sent it again got the same one back; none recorded twice.
- Sockets: every event on a socket's topics after its first subscription reached it
  (after any number of reconnects), unless the server told it to reload (a snapshot).
- Dashboards: each station row and the counters as the dashboard last drew them
  (state, people checked in per role, open incidents; the counters of stations per
  state, people and incidents) against the same drawn now from the database. What
  changes with the clock alone (alerts, "last change") is left out.
- Pushes: every push the outbox holds for the rehearsal's browsers was sent, and the
  push service received each exactly once.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app import create_app
from app.core.db import create_engine
from app.core.events import ops_topic
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.domain.models import STATION_STATES
from app.planning.ops_fragments import render_ops_events
from app.realtime.live_event import LiveEvent
from bench.rehearsal.actors import Day
from bench.rehearsal.prepare import Prepared
from bench.rehearsal.push_service import PushService

STATE = re.compile(rf"ops-state-({'|'.join(STATION_STATES)})\b")
ROLE = re.compile(r"<strong>(\d+)/(\d+)</strong>")
INCIDENTS = re.compile(r'class="ops-incidents"[^>]*>(.*?)</td>', re.DOTALL)
TAG = re.compile(r"<[^>]+>")
COUNTER = re.compile(
    r'<div class="ops-counter counter-(open|not_opened|paused|closed|present|incidents)"(.*?)</div>',
    re.DOTALL,
)
SWAPPED = re.compile(r'<(tr|section) id="(ops-station-\d+|ops-summary)".*?</\1>', re.DOTALL)
#: Differences listed per kind at most.
SHOWN = 8


def _plain(html: str) -> str:
    return " ".join(TAG.sub(" ", html).split())


def facts(element_id: str, html: str) -> Any:
    """What an element says that only events change."""
    if element_id == "ops-summary":
        return {name: _plain(">" + body.split(">", 1)[-1]) for name, body in COUNTER.findall(html)}
    state = STATE.search(html)
    incidents = INCIDENTS.search(html)
    return {
        "state": state.group(1) if state else None,
        "roles": ROLE.findall(html),
        "incidents": _plain(incidents.group(1)) if incidents else None,
    }


async def audit(
    owner_url: str,
    prepared: Prepared,
    day: Day,
    dumps: list[dict[str, Any]],
    push: PushService,
    data_dir: Path,
) -> dict[str, Any]:
    engine = create_engine(owner_url)
    try:
        async with engine.connect() as connection:
            checkins = await _checkins(connection, day)
            sockets = await _sockets(connection, prepared, dumps)
            pushes = await _pushes(connection, prepared, push)
    finally:
        await engine.dispose()
    dashboards = await _dashboards(owner_url, prepared, dumps, data_dir)
    return {"check-ins": checkins, "sockets": sockets, "dashboards": dashboards, "pushes": pushes}


async def _checkins(connection: Any, day: Day) -> dict[str, Any]:
    rows = (
        await connection.execute(
            text(
                "SELECT idempotency_key, count(*) AS n, min(id) AS id FROM check_ins"
                " WHERE idempotency_key LIKE :prefix GROUP BY idempotency_key"
            ),
            {"prefix": f"reh-{day.run_id}-%"},
        )
    ).all()
    stored = {row.idempotency_key: (row.n, row.id) for row in rows}
    differences = []
    answered = 0
    for key, sent in day.checkins.items():
        n, stored_id = stored.get(key, (0, None))
        if sent.check_in_id is not None:
            answered += 1
            if n == 0:
                differences.append(f"{key}: answered {sent.check_in_id}, not in the database")
            elif stored_id != sent.check_in_id:
                differences.append(f"{key}: answered {sent.check_in_id}, stored {stored_id}")
        if sent.replayed_id is not None and sent.replayed_id != sent.check_in_id:
            differences.append(f"{key}: sent again, answered {sent.replayed_id}")
        if n > 1:
            differences.append(f"{key}: recorded {n} times")
        if sent.check_in_id is None and n:
            differences.append(f"{key}: the phone got no answer ({sent.statuses}) but it is stored")
    unknown = sorted(set(stored) - set(day.checkins))
    differences += [f"{key}: stored, never sent" for key in unknown]
    return {
        "sent": len(day.checkins),
        "answered": answered,
        "stored": sum(n for n, _id in stored.values()),
        "sent_again": sum(1 for s in day.checkins.values() if s.replayed_id is not None),
        "tries_after_no_answer": sum(len(s.statuses) - 1 for s in day.checkins.values()),
        "failed": [k for k, s in day.checkins.items() if s.check_in_id is None][:SHOWN],
        "differences": differences,
    }


async def _sockets(
    connection: Any, prepared: Prepared, dumps: list[dict[str, Any]]
) -> dict[str, Any]:
    cursors = [d["first_cursor"] for d in dumps if d["first_cursor"] is not None]
    floor = min(cursors, default=0)
    events = (
        await connection.execute(
            text("SELECT id, topic FROM events WHERE tenant_id = :t AND id > :floor"),
            {"t": prepared.tenant_id, "floor": floor},
        )
    ).all()
    by_topic: dict[str, list[int]] = {}
    for event_id, topic in events:
        by_topic.setdefault(topic, []).append(event_id)
    differences = []
    lost = duplicated = expected_total = resynced = never = 0
    for socket in dumps:
        if socket["first_cursor"] is None:
            never += 1
            differences.append(f"socket {socket['key']}: never subscribed")
            continue
        received = [event_id for event_id, _at in socket["received"]]
        duplicated += len(received) - len(set(received))
        expected = {
            event_id
            for topic in socket["topics"]
            for event_id in by_topic.get(topic, ())
            if event_id > socket["first_cursor"]
        }
        expected_total += len(expected)
        if socket["snapshots"]:
            resynced += 1
            continue
        missing = sorted(expected - set(received))
        lost += len(missing)
        if missing:
            differences.append(
                f"socket {socket['key']} ({len(socket['closes'])} reconnects): missed"
                f" {len(missing)} events, first {missing[:5]}"
            )
    return {
        "sockets": len(dumps),
        "reconnects": sum(len(d["closes"]) for d in dumps),
        "blinks": sum(d["drops"] for d in dumps),
        "events_expected": expected_total,
        "lost": lost,
        "repeated_after_reconnect": duplicated,
        "resynced_by_snapshot": resynced,
        "never_subscribed": never,
        "differences": differences,
    }


async def _dashboards(
    owner_url: str, prepared: Prepared, dumps: list[dict[str, Any]], data_dir: Path
) -> dict[str, Any]:
    """Each dashboard's last drawing of every part against a drawing made now."""
    truth = await _drawn_now(owner_url, prepared, data_dir)
    changed = await _stations_changed(owner_url, prepared)
    differences = []
    compared = 0
    boards = [d for d in dumps if d["key"].startswith("d")]
    for board in boards:
        if board["snapshots"]:
            continue
        for element_id, html in board["parts"].items():
            if element_id not in truth:
                continue
            compared += 1
            seen, now = facts(element_id, html), truth[element_id]
            if seen != now:
                differences.append(f"dashboard {board['key']} {element_id}: shows {seen}, is {now}")
        # The stations an event named after the dashboard subscribed: their rows came.
        touched = {
            f"ops-station-{station_id}"
            for event_id, station_id in changed
            if event_id > (board["first_cursor"] or 0)
        }
        never = touched - set(board["parts"])
        if never:
            differences.append(f"dashboard {board['key']}: rows never drawn {sorted(never)[:5]}")
        if not board["parts"]:
            differences.append(f"dashboard {board['key']}: no part it could read")
    return {"dashboards": len(boards), "parts_compared": compared, "differences": differences}


async def _stations_changed(owner_url: str, prepared: Prepared) -> list[tuple[int, int]]:
    """(event id, station id) of every event on the election's topic naming a station."""
    engine = create_engine(owner_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT id, (payload->>'station_id')::int FROM events WHERE tenant_id = :t"
                    " AND topic = :topic AND payload ? 'station_id'"
                ),
                {
                    "t": prepared.tenant_id,
                    "topic": ops_topic(prepared.tenant_id, prepared.election_id),
                },
            )
            return [(int(a), int(b)) for a, b in rows.all()]
    finally:
        await engine.dispose()


async def _drawn_now(owner_url: str, prepared: Prepared, data_dir: Path) -> dict[str, Any]:
    """The rehearsal's stations' rows and the counters, drawn from the database now by the
    dashboard's own renderer: element id -> facts."""
    settings = load_settings(
        data_dir=data_dir, database_url=owner_url, secret_key="r" * 40, run_worker_in_process=False
    )
    app = create_app(settings)
    topic = ops_topic(prepared.tenant_id, prepared.election_id)
    events = [
        LiveEvent(2**62, prepared.tenant_id, topic, "checkin.arrived", {"station_id": s.id})
        for s in prepared.stations
    ]
    try:
        async with app.app_context():
            with tenant_scope(prepared.tenant_id):
                fragment = await render_ops_events(events)
    finally:
        await app.extensions["stemma"].engine.dispose()
    return {m.group(2): facts(m.group(2), m.group(0)) for m in SWAPPED.finditer(fragment)}


async def _pushes(connection: Any, prepared: Prepared, push: PushService) -> dict[str, Any]:
    recipients = {f"push-subscription:{sid}": name for sid, name in prepared.subscriptions.items()}
    rows = (
        await connection.execute(
            text(
                "SELECT recipient, body_text, status FROM outbox_messages"
                " WHERE channel = 'push' AND recipient = ANY(:recipients)"
            ),
            {"recipients": list(recipients)},
        )
    ).all()
    expected: Counter[tuple[str, str]] = Counter()
    differences = []
    for row in rows:
        key = (recipients[row.recipient], str(json.loads(row.body_text)["tag"]))
        expected[key] += 1
        if row.status != "sent":
            differences.append(f"push {key}: {row.status} in the outbox")
    received = push.counted()
    for key in sorted(set(expected) | set(received)):
        if received[key] != expected[key]:
            differences.append(f"push {key}: queued {expected[key]}, received {received[key]}")
    if push.unreadable:
        differences.append(f"{push.unreadable} pushes the browser could not decrypt")
    return {
        "queued": sum(expected.values()),
        "received": sum(received.values()),
        "differences": differences,
    }


def print_audit(result: dict[str, Any]) -> int:
    """Print the audit; the number of differences."""
    total = 0
    for name, part in result.items():
        differences = part.pop("differences")
        total += len(differences)
        figures = ", ".join(f"{k} {v}" for k, v in part.items() if k != "failed" or v)
        print(f"   {name}: {figures}; differences: {len(differences)}")
        for line in differences[:SHOWN]:
            print(f"      {line}")
        if len(differences) > SHOWN:
            print(f"      ... and {len(differences) - SHOWN} more")
        part["differences"] = differences
    return total
