"""Live changes: record them in the change's transaction, publish them after it commits.

Domain services call ``record_event`` next to the change itself; the row is the truth
(clients replay from it), the broker only carries the news. Publishing goes through a
callable the app puts in every session's ``info`` (see ``app.realtime.ws``), so the
domain never imports the realtime layer, and a rolled-back change is never announced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Row,
    Text,
    bindparam,
    cast,
    func,
    inspect,
    literal_column,
    select,
    union_all,
)
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import UserDefinedType

from app.core.models import Event
from app.core.tenancy import execute_for_tenant, scalar_for_tenant, tenant_statement

log = logging.getLogger(__name__)

#: ``session.info`` key of the callable ``publish(topic, message)`` the app provides.
PUBLISHER = "event_publisher"
#: ``session.info`` key of the events recorded in the open transaction.
_PENDING = "events_pending"

#: Topics look like ``t:{tenant}:e:{election}:ops``, ``t:{tenant}:station:{id}``,
#: ``t:{tenant}:user:{id}``; the tenant always comes first so it can be checked.
TOPIC_PATTERN = re.compile(
    r"^t:(?P<tenant>\d+):(?:e:(?P<election>\d+):ops|(?P<kind>station|user):(?P<id>\d+))$"
)

#: Where news that a user's access changed travels (signed out, role changed,
#: deactivated): every process's hub hears it (its pattern is ``t:*``) and re-checks
#: that user's sockets. Not a tenant's topic (a session spans municipalities), never
#: stored and never sent to a socket: the database is the truth the hub re-reads.
ACCESS_TOPIC = "t:access"
#: ``session.info`` key of the users whose access the open transaction changes.
_ACCESS_PENDING = "access_changes_pending"

Publisher = Callable[[str, str], Awaitable[None]]

# Publishing tasks are kept here until done: the loop holds only weak references.
_publishing: set[asyncio.Task[None]] = set()
PUBLISH_ATTEMPTS = 3


def ops_topic(tenant_id: int, election_id: int) -> str:
    """The operations room of one election: everything coordinators watch."""
    return f"t:{tenant_id}:e:{election_id}:ops"


def station_topic(tenant_id: int, station_id: int) -> str:
    """One polling station: what its clerks and lead see."""
    return f"t:{tenant_id}:station:{station_id}"


def user_topic(tenant_id: int, user_id: int) -> str:
    """One user's own news (a new assignment, a message to them)."""
    return f"t:{tenant_id}:user:{user_id}"


def topic_tenant_id(topic: str) -> int | None:
    """The tenant a well-formed topic belongs to, or None for anything else."""
    match = TOPIC_PATTERN.match(topic)
    return int(match.group("tenant")) if match else None


def topic_election_id(topic: str) -> int | None:
    """The election of an ops topic, or None for any other topic."""
    match = TOPIC_PATTERN.match(topic)
    election = match.group("election") if match else None
    return int(election) if election is not None else None


def event_message(event: Event) -> str:
    """What travels on the broker, and what a socket receives by default."""
    return json.dumps(
        {"id": event.id, "topic": event.topic, "type": event.type, "payload": event.payload},
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )


async def record_event(
    session: AsyncSession,
    *,
    topic: str,
    type: str,
    payload: dict[str, Any],
    election_id: int | None = None,
) -> Event:
    """Add a live event to the caller's transaction; it is published once that commits.

    The row takes the current tenant (like every tenant-scoped row) and the topic must
    be that tenant's: an event can never be announced on another municipality's topic.
    Flushes, so the event has its id (the clients' replay cursor) before the commit.
    """
    (row,) = await record_events(
        session, topics=[topic], type=type, payload=payload, election_id=election_id
    )
    return row


async def record_events(
    session: AsyncSession,
    *,
    topics: list[str],
    type: str,
    payload: dict[str, Any],
    election_id: int | None = None,
) -> list[Event]:
    """``record_event`` for the same event on each of ``topics``, in one flush."""
    tenant_ids = [topic_tenant_id(topic) for topic in topics]
    for topic, tenant_id in zip(topics, tenant_ids, strict=True):
        if tenant_id is None:
            raise ValueError(f"not a topic: {topic!r}")
    rows = [
        Event(topic=topic, type=type, payload=dict(payload), election_id=election_id)
        for topic in topics
    ]
    session.add_all(rows)
    await session.flush()
    if any(row.tenant_id != tenant_id for row, tenant_id in zip(rows, tenant_ids, strict=True)):
        raise ValueError("an event's topic must belong to the current tenant")
    pending = session.sync_session.info.setdefault(_PENDING, [])
    pending.extend((row, event_message(row)) for row in rows)
    return rows


#: The replay's reads, made once and run as plain SQL on the session's connection:
#: every socket coming back after a process died runs them, and the ORM's overhead was
#: most of their cost. The tenant is named in each, as the ORM's hook would add it.
_TOPICS: BindParameter[list[str]] = bindparam("topics", expanding=True)
_EVENTS_AFTER = tenant_statement(
    select(Event.id, Event.tenant_id, Event.topic, Event.type, Event.payload)
    .where(Event.tenant_id == bindparam("tenant"), Event.topic.in_(_TOPICS))
    .where(Event.id > bindparam("after"))
    .order_by(Event.id)
    .limit(bindparam("limit"))
)


class PgSnapshot(UserDefinedType[str]):
    """PostgreSQL's ``pg_snapshot`` (in statements only: the column keeps it as text)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "pg_snapshot"


class Xid8(UserDefinedType[int]):
    """PostgreSQL's ``xid8`` (in statements only: the column keeps it as a bigint)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "xid8"


def as_snapshot(value: Any) -> Any:
    """A snapshot kept as text, as PostgreSQL's ``pg_snapshot``."""
    return cast(cast(value, Text), PgSnapshot())


def finished_in(txid: Any, snapshot: Any) -> Any:
    """Whether transaction ``txid`` (a bigint) had ended when ``snapshot`` was taken:
    with its row visible now, it had committed."""
    return func.pg_visible_in_snapshot(cast(cast(txid, Text), Xid8()), snapshot, type_=Boolean)


#: On PostgreSQL, the events after ``after`` and, before it, those whose transaction had
#: not committed when ``after`` was written (its ``snap`` did not see it finished): a
#: lower id committed later is replayed, not skipped. The client may have some of these
#: (what committed between ``after``'s INSERT and its commit): the overlap is small, the
#: fragments are idempotent, and one socket never sends an id twice.
#: Read first, so that the planner sees the fence's bound (an InitPlan's value it cannot
#: estimate, and then walks a topic's whole history: 26 ms instead of 0.5 on 400,000).
_FENCE_OF = tenant_statement(
    select(Event.snap).where(Event.tenant_id == bindparam("tenant"), Event.id == bindparam("after"))
)
_FENCE = as_snapshot(bindparam("fence", type_=Text))
_COLUMNS = (Event.id, Event.tenant_id, Event.topic, Event.type, Event.payload)
_EVENTS_AFTER_FENCED = tenant_statement(
    union_all(
        select(*_COLUMNS)
        .where(Event.tenant_id == bindparam("tenant"), Event.topic.in_(_TOPICS))
        .where(Event.id > bindparam("after")),
        select(*_COLUMNS)
        .where(Event.tenant_id == bindparam("tenant"), Event.topic.in_(_TOPICS))
        .where(Event.id < bindparam("after"), Event.txid >= bindparam("oldest", BigInteger))
        .where(~finished_in(Event.txid, _FENCE)),
    )
    .order_by(literal_column("id"))
    .limit(bindparam("limit"))
)
_LATEST = tenant_statement(
    select(func.max(Event.id)).where(
        Event.tenant_id == bindparam("tenant"), Event.topic.in_(_TOPICS)
    )
)


async def events_after(
    session: AsyncSession, topics: Iterable[str], after_id: int, limit: int
) -> list[Row[Any]]:
    """The current tenant's events on ``topics`` with an id above ``after_id``, oldest
    first, at most ``limit`` (ask for one more than you accept to detect a larger gap):
    rows of id, tenant_id, topic, type and payload. On PostgreSQL also those with a
    lower id that committed after event ``after_id`` was written (``_EVENTS_AFTER_FENCED``)."""
    wanted = sorted(set(topics))
    if not wanted:
        return []
    fence = None
    if after_id > 0 and session.get_bind().dialect.name == "postgresql":
        fence = await scalar_for_tenant(session, _FENCE_OF, after=after_id)
    if fence is None:
        found = await execute_for_tenant(
            session, _EVENTS_AFTER, topics=wanted, after=after_id, limit=limit
        )
    else:
        found = await execute_for_tenant(
            session,
            _EVENTS_AFTER_FENCED,
            topics=wanted,
            after=after_id,
            limit=limit,
            fence=fence,
            oldest=int(str(fence).split(":", 1)[0]),
        )
    return list(found)


async def latest_event_id(session: AsyncSession, topics: Iterable[str]) -> int:
    """The id of the current tenant's newest event on ``topics`` (0 when none).

    A page that shows live state puts this in its markup, so its socket can ask for
    everything after it and miss nothing between rendering and connecting.
    """
    wanted = sorted(set(topics))
    if not wanted:
        return 0
    latest = await scalar_for_tenant(session, _LATEST, topics=wanted)
    return int(latest or 0)


def record_access_change(session: AsyncSession, user_id: int) -> None:
    """Announce, once the caller's transaction commits, that what ``user_id`` may see
    changed: their open sockets are checked again and closed or narrowed. Services
    that end a session, change a role or deactivate a user call it. A rollback leaves
    it pending: a needless check costs a query, a missed one leaves a socket open."""
    session.sync_session.info.setdefault(_ACCESS_PENDING, set()).add(user_id)


def access_change_message(user_id: int) -> str:
    return json.dumps({"type": "access.changed", "user_id": user_id}, separators=(",", ":"))


@sqlalchemy_event.listens_for(Session, "after_commit")
def _publish_committed_events(session: Session) -> None:
    pending = session.info.pop(_PENDING, None) or []
    changed = session.info.pop(_ACCESS_PENDING, None) or set()
    if not pending and not changed:
        return
    # An event added inside a savepoint that was rolled back is no longer persistent.
    messages = [(row.topic, message) for row, message in pending if inspect(row).persistent]
    # Access news goes last: the hub re-reads the database, which has it all by now.
    messages += [(ACCESS_TOPIC, access_change_message(user)) for user in sorted(changed)]
    publisher: Publisher | None = session.info.get(PUBLISHER)
    if not messages or publisher is None:
        # No broker here (a CLI command): the rows stay, clients replay them.
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        log.warning("events committed outside an event loop were not published")
        return
    task = loop.create_task(_publish(publisher, messages))
    _publishing.add(task)
    task.add_done_callback(_publishing.discard)


@sqlalchemy_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_events(session: Session, _previous_transaction: Any) -> None:
    # Runs after every rollback, a savepoint's too, once the session has thrown away
    # the rows that rollback undid: keep only the events still on their way in.
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [item for item in pending if inspect(item[0]).persistent]


async def _publish(publisher: Publisher, messages: list[tuple[str, str]]) -> None:
    """Publish in commit order, retrying a short broker hiccup; past that, clients catch
    up from the events table when the hub resubscribes or they reconnect."""
    for topic, message in messages:
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                await publisher(topic, message)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if attempt == PUBLISH_ATTEMPTS:
                    log.warning("event on %s not published: %s", topic, type(error).__name__)
                else:
                    await asyncio.sleep(0.2 * attempt)


async def wait_for_publishing() -> None:
    """Wait until every event committed so far was handed to the broker (tests, shutdown)."""
    while _publishing:
        await asyncio.gather(*list(_publishing), return_exceptions=True)
