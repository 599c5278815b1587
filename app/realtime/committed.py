"""The events table as the hub's sweep reads it: what committed between two positions.

Event ids are taken at flush and transactions commit in any order, so the sweep cannot
walk ids ("after the highest id seen" skips a lower id committed later, however long
the sweep looks back). On PostgreSQL a position is a snapshot (``pg_current_snapshot()``)
and the sweep reads the events whose transaction one snapshot did not see finished and
the next one did: every committed transaction falls between exactly two positions, so
each is swept once, whenever it commits. A long transaction stalls nobody: the
transactions that commit meanwhile are read as they commit; it only keeps the scan's
lower bound (the snapshot's xmin) where it is, which ``Position.held_by`` tells the hub.
On SQLite (one writer at a time: commit order is id order) a position is the newest id.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import BigInteger, Text, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.events import as_snapshot, finished_in
from app.core.models import Event
from app.core.tenancy import (
    execute_for_tenant,
    scalar_for_tenant,
    tenant_scope,
    tenant_statement,
)
from app.realtime.live_event import LiveEvent

log = logging.getLogger(__name__)

#: The most events one sweep reads (a minute of a busy election day is 6,000); past it
#: the hub has the tenant's sockets replay from their own cursors instead.
SWEEP_LIMIT = 20_000
#: An open transaction holding the sweep's reach back this long is logged (once).
HELD_WARN_SECONDS = 60.0


@dataclass(frozen=True)
class Position:
    """Where the events table stood at one moment, for ``CommittedEvents.since``."""

    #: A PostgreSQL snapshot as text (``xmin:xmax:xip,...``), or the newest id.
    mark: str
    #: The oldest transaction still open then (the snapshot's xmin), or None when none
    #: was: how long one stays the same is how long it has held the sweep's reach back.
    #: A transaction is named once another has ended since it began (PostgreSQL reuses
    #: a snapshot until one does; the visibility it tells is the same).
    held_by: int | None = None

    @classmethod
    def of_snapshot(cls, snapshot: str) -> Position:
        xmin, _xmax, open_ones = snapshot.split(":")
        return cls(snapshot, int(xmin) if open_ones else None)


_SNAPSHOT = select(cast(func.pg_current_snapshot(), Text))
_LATEST = tenant_statement(select(func.max(Event.id)).where(Event.tenant_id == bindparam("tenant")))
_BETWEEN_IDS = tenant_statement(
    select(Event.id, Event.topic)
    .where(Event.tenant_id == bindparam("tenant"))
    .where(Event.id > bindparam("after"), Event.id <= bindparam("upto"))
    .order_by(Event.id)
    .limit(SWEEP_LIMIT)
)
_AFTER = as_snapshot(bindparam("after", type_=Text))
_UPTO = as_snapshot(bindparam("upto", type_=Text))
_BETWEEN_SNAPSHOTS = tenant_statement(
    select(Event.id, Event.topic)
    .where(Event.tenant_id == bindparam("tenant"), Event.txid >= bindparam("oldest", BigInteger))
    .where(~finished_in(Event.txid, _AFTER), finished_in(Event.txid, _UPTO))
    .order_by(Event.id)
    .limit(SWEEP_LIMIT)
)


def _on_postgresql(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


class EventsTable:
    """The events table as the hub's sweep reads it (``app.realtime.hub.CommittedEvents``)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def position(self, tenant_id: int) -> Position:
        async with self.session_factory() as db:
            with tenant_scope(tenant_id):
                if _on_postgresql(db):
                    snapshot = await db.scalar(_SNAPSHOT)
                    return Position.of_snapshot(str(snapshot))
                return Position(str(int(await scalar_for_tenant(db, _LATEST) or 0)))

    async def since(self, tenant_id: int, after: Position, upto: Position) -> list[tuple[int, str]]:
        """(id, topic) of the tenant's events committed after ``after`` and by ``upto``
        (positions taken in that order), lowest id first."""
        async with self.session_factory() as db:
            with tenant_scope(tenant_id):
                if _on_postgresql(db):
                    rows = await execute_for_tenant(
                        db,
                        _BETWEEN_SNAPSHOTS,
                        after=after.mark,
                        upto=upto.mark,
                        oldest=int(after.mark.split(":", 1)[0]),
                    )
                else:
                    rows = await execute_for_tenant(
                        db, _BETWEEN_IDS, after=int(after.mark), upto=int(upto.mark)
                    )
                return [(int(row.id), str(row.topic)) for row in rows]

    async def load(self, tenant_id: int, ids: list[int]) -> list[LiveEvent]:
        async with self.session_factory() as db:
            with tenant_scope(tenant_id):
                rows = await db.scalars(select(Event).where(Event.id.in_(ids)).order_by(Event.id))
                return [LiveEvent.from_row(row) for row in rows]


class CommittedEvents(Protocol):
    """The events table as the hub's sweep reads it, one tenant at a time."""

    async def position(self, tenant_id: int) -> Position:
        """Where the table stands now (for the tenant)."""
        ...

    async def since(self, tenant_id: int, after: Position, upto: Position) -> list[tuple[int, str]]:
        """(id, topic) of the tenant's events committed after ``after`` and by ``upto``
        (two positions taken in that order), lowest id first."""
        ...

    async def load(self, tenant_id: int, ids: list[int]) -> list[LiveEvent]:
        """The tenant's events with these ids, oldest first."""
        ...


@dataclass(frozen=True)
class SweepLag:
    """How far the sweep is behind: ``behind_seconds`` since the position it last read
    up to (about the grace and one period when it keeps up), and ``held_seconds`` that
    the oldest open transaction (``held_by``, its id) has held its reach back (0 when
    none is open)."""

    behind_seconds: float
    held_seconds: float
    held_by: int | None = None


@dataclass
class _Swept:
    """One tenant's sweep: the position read up to, and positions not yet old enough."""

    done: Position
    done_at: float
    taken: deque[tuple[float, Position]] = field(default_factory=deque)


class Sweeper:
    """The hub's sweep's place in the table, tenant by tenant: each call reads what
    committed since the last, up to the newest position at least the grace old."""

    def __init__(self, table: CommittedEvents) -> None:
        self.table = table
        self._swept: dict[int, _Swept] = {}
        #: The oldest open transaction the last position named, and since when.
        self._held: tuple[int, float] | None = None
        self._held_warned = False

    async def committed(self, tenant_id: int, grace: float) -> list[tuple[int, str]]:
        """(id, topic) of what the tenant committed between the position read up to
        and the newest one at least ``grace`` seconds old (none at the first call:
        what came before is the sockets' own replay's business)."""
        now = time.monotonic()
        position = await self.table.position(tenant_id)
        self._note_held(position, now)
        swept = self._swept.get(tenant_id)
        if swept is None:
            self._swept[tenant_id] = _Swept(position, now)
            return []
        swept.taken.append((now, position))
        upto: tuple[float, Position] | None = None
        while swept.taken and swept.taken[0][0] <= now - grace:
            upto = swept.taken.popleft()
        if upto is None:
            return []
        rows = await self.table.since(tenant_id, swept.done, upto[1])
        swept.done_at, swept.done = upto
        return rows

    def keep_only(self, tenant_ids: set[int]) -> None:
        """Forget the tenants no local socket belongs to any more."""
        for tenant_id in set(self._swept) - tenant_ids:
            del self._swept[tenant_id]

    def _note_held(self, position: Position, now: float) -> None:
        held_by = position.held_by
        if held_by is None:
            self._held = None
        elif self._held is None or self._held[0] != held_by:
            self._held = (held_by, now)
            self._held_warned = False
        held = self.lag().held_seconds
        if held > HELD_WARN_SECONDS and not self._held_warned:
            self._held_warned = True
            log.warning("live events: a transaction open for %.0fs holds the sweep back", held)

    def lag(self) -> SweepLag:
        now = time.monotonic()
        behind = max((now - swept.done_at for swept in self._swept.values()), default=0.0)
        if self._held is None:
            return SweepLag(behind, 0.0)
        return SweepLag(behind, now - self._held[1], self._held[0])
