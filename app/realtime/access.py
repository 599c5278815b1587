"""Who may hear which topic: checked once per topic when a socket asks for it, and
again for every open socket of a user whose access changed (signed out, role changed,
deactivated) or whose session lapsed (``SocketGuard``, run by the hub)."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.sessions import session_lapses_at
from app.core.accounts.users import active_membership
from app.core.events import TOPIC_PATTERN
from app.core.models import AuthSession, Membership, User, utcnow
from app.core.permissions import role_has
from app.core.settings import Settings
from app.core.tenancy import scalar_for_tenant, tenant_scope, tenant_statement
from app.core.validation import MAX_ID
from app.domain.models import HOLDING_STATES, Assignment, Person
from app.realtime.subscribers import NOT_ALLOWED, SIGNED_OUT, Subscriber, Verdict

#: Permissions that open every topic of the tenant (the operations room, all stations).
TENANT_WIDE = ("ops.view", "staffing.view")


@dataclass(frozen=True, slots=True)
class Member:
    """Who a socket serves, as its topic checks need it. A socket keeps this for its
    whole life rather than the ORM membership, which would keep the loading state of
    the query that found it (some 6 KiB for each of thousands of sockets)."""

    tenant_id: int
    user_id: int
    role: str

    @classmethod
    def of(cls, membership: Membership) -> Member:
        return cls(membership.tenant_id, membership.user_id, membership.role)


async def refuse_topic(session: AsyncSession, member: Member, topic: str) -> str | None:
    """Why ``member`` may not subscribe to ``topic`` ("bad_topic" or "forbidden"),
    or None when it may.

    A user topic is its owner's alone, whatever the role (it carries personal news).
    Coordinators, planners and administrators hear the tenant's election and station
    topics; a clerk hears only the stations where they hold a place (an assignment
    proposed, offered or accepted). Runs in the tenant's scope.
    """
    match = TOPIC_PATTERN.match(topic)
    if match is None or not _ids_in_range(match):
        return "bad_topic"
    if int(match.group("tenant")) != member.tenant_id:
        return "forbidden"
    kind = match.group("kind")
    if kind == "user":
        return None if int(match.group("id")) == member.user_id else "forbidden"
    if any(role_has(member.role, permission) for permission in TENANT_WIDE):
        return None
    if kind == "station" and await holds_place_at_station(
        session, member.user_id, int(match.group("id"))
    ):
        return None
    return "forbidden"


def _ids_in_range(match: re.Match[str]) -> bool:
    """Whether every number in a topic could be an id (a longer one names nothing)."""
    return all(
        len(value) <= 10 and int(value) <= MAX_ID
        for value in match.groupdict().values()
        if value is not None and value.isdigit()
    )


#: Made once and run as plain SQL: every clerk's socket asks it when it opens (after a
#: process died, thousands at once). The tenant is named, as the ORM's hook would.
_HOLDS_PLACE = tenant_statement(
    select(Assignment.id)
    .join(Person, Person.id == Assignment.person_id)
    .where(
        Person.tenant_id == bindparam("tenant"),
        Person.user_id == bindparam("user"),
        Assignment.tenant_id == bindparam("tenant"),
        Assignment.station_id == bindparam("station"),
        Assignment.state.in_(HOLDING_STATES),
    )
    .limit(1)
)


async def holds_place_at_station(session: AsyncSession, user_id: int, station_id: int) -> bool:
    """Whether the user's person in the current tenant holds a place at the station."""
    found = await scalar_for_tenant(session, _HOLDS_PLACE, user=user_id, station=station_id)
    return found is not None


@dataclass(slots=True)
class Grant:
    """On what a socket stands: its member (the role as last checked) and, when a
    browser's session cookie opened it, that session (a ticket's socket has none: it
    lives on its membership alone)."""

    member: Member
    session_id: int | None = None
    #: When the session stops being good unless it is used meanwhile.
    lapses_at: datetime | None = None
    #: The language of the page that opened the socket ("" when unknown: a ticket's).
    locale: str = ""

    def recheck_at(self) -> float:
        """When (``time.monotonic()``) the session is to be looked at again."""
        return _monotonic_at(self.lapses_at)


def _monotonic_at(moment: datetime | None) -> float:
    if moment is None:
        return math.inf
    return time.monotonic() + max(0.0, (moment - utcnow()).total_seconds())


class SocketGuard:
    """The hub's second look at a socket, against the database as it is now: its
    session still there and not lapsed (idle or ended, as a page request would find
    it), its user active and a member, and each topic still allowed to the role."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings

    async def review(self, subscriber: Subscriber) -> Verdict:
        grant: Grant = subscriber.grant
        member = grant.member
        async with self.session_factory() as db:
            recheck_at = math.inf
            if grant.session_id is not None:
                auth = await db.get(AuthSession, grant.session_id)
                if auth is None:
                    return Verdict(SIGNED_OUT)
                grant.lapses_at = session_lapses_at(auth, self.settings)
                if utcnow() >= grant.lapses_at:
                    return Verdict(SIGNED_OUT)
                recheck_at = grant.recheck_at()
            membership = await active_membership(db, member.user_id, member.tenant_id)
            if membership is None:
                user = await db.get(User, member.user_id)
                return Verdict(SIGNED_OUT if user is None or not user.is_active else NOT_ALLOWED)
            member = grant.member = Member.of(membership)
            with tenant_scope(member.tenant_id):
                drop = frozenset(
                    [
                        topic
                        for topic in list(subscriber.topics)
                        if await refuse_topic(db, member, topic) is not None
                    ]
                )
        return Verdict(drop=drop, recheck_at=recheck_at)
