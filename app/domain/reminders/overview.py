"""What an election's reminders will send next, and what they have sent: for the
election's page and the settings page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.domain.elections.elections import get_election
from app.domain.models import (
    REMINDER_OCCASIONS,
    Assignment,
    Election,
    Person,
    ReminderSent,
    ReminderSettings,
    Shift,
)
from app.domain.reminders.settings import reminder_settings
from app.domain.reminders.timing import WINDOWS, is_on, local_moment, moment_of

#: How many coming sends the overview lists.
UPCOMING = 6


@dataclass(frozen=True)
class Upcoming:
    """A send to come: the occasion, when (local), and how many people it would tell
    as things stand now."""

    occasion: str
    at: dt.datetime
    people: int


@dataclass(frozen=True)
class Sent:
    occasion: str
    people: int
    #: Claimed but not told: the person had no e-mail nor mobile for the occasion.
    unreachable: int
    last_at: dt.datetime | None


@dataclass
class Overview:
    settings: ReminderSettings
    upcoming: list[Upcoming] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    @property
    def sent_total(self) -> int:
        return sum(row.people for row in self.sent)


async def _people_by_day(
    session: AsyncSession, election_id: int, first: dt.date
) -> dict[dt.date, int]:
    rows = await session.execute(
        select(Shift.day, func.count(distinct(Assignment.person_id)))
        .join(Assignment, Assignment.shift_id == Shift.id)
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Assignment.election_id == election_id,
            Assignment.state == "accepted",
            Shift.day >= first,
            Person.erased_at.is_(None),
        )
        .group_by(Shift.day)
    )
    return {day: count for day, count in rows.all()}


async def _sent_by_ref(session: AsyncSession, election_id: int) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(ReminderSent.occasion, ReminderSent.ref, func.count())
        .where(ReminderSent.election_id == election_id)
        .group_by(ReminderSent.occasion, ReminderSent.ref)
    )
    return {(occasion, ref): count for occasion, ref, count in rows.all()}


def _day_sends(
    settings: ReminderSettings, election: Election, day: dt.date, zone: ZoneInfo
) -> list[tuple[str, dt.datetime]]:
    """The moments the day-bound occasions are sent for shifts on ``day``."""
    sends = []
    if settings.shift_reminder_on:
        before = day - dt.timedelta(days=settings.shift_reminder_days)
        sends.append(
            ("shift_reminder", local_moment(before, moment_of(settings, "shift_reminder"), zone))
        )
    if settings.eve_on and day == election.election_day:
        eve = day - dt.timedelta(days=1)
        sends.append(("election_eve", local_moment(eve, moment_of(settings, "election_eve"), zone)))
    if settings.wake_up_on:
        sends.append(("wake_up", local_moment(day, settings.wake_up_at, zone)))
    return sends


async def _offers_due(
    session: AsyncSession, settings: ReminderSettings, election_id: int, at: dt.datetime
) -> int:
    """The offers the reminder at ``at`` would remind of, as things stand."""
    reminded = select(ReminderSent.person_id).where(
        ReminderSent.election_id == election_id,
        ReminderSent.occasion == "offer_unanswered",
        ReminderSent.ref == literal("a", String).concat(cast(Assignment.id, String)),
    )
    count = await session.scalar(
        select(func.count(Assignment.id))
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Assignment.election_id == election_id,
            Assignment.state == "offered",
            Assignment.offered_at <= at - dt.timedelta(days=settings.offer_days),
            or_(Assignment.answer_by.is_(None), Assignment.answer_by > at),
            Person.erased_at.is_(None),
            ~reminded.exists(),
        )
    )
    return int(count or 0)


async def _next_offer_send(
    session: AsyncSession,
    settings: ReminderSettings,
    election_id: int,
    now: dt.datetime,
    zone: ZoneInfo,
) -> Upcoming:
    """The next daily offer window with anything to send (today's, while open), else
    tomorrow's, with the offers that will be due in it."""
    today = now.astimezone(zone).date()
    at = local_moment(today, moment_of(settings, "offer_unanswered"), zone)
    if at + WINDOWS["offer_unanswered"] > now:
        count = await _offers_due(session, settings, election_id, max(at, now))
        if at > now or count:
            return Upcoming("offer_unanswered", max(at, now), count)
    at = local_moment(today + dt.timedelta(days=1), moment_of(settings, "offer_unanswered"), zone)
    return Upcoming("offer_unanswered", at, await _offers_due(session, settings, election_id, at))


async def reminder_overview(session: AsyncSession, election_id: int, now: dt.datetime) -> Overview:
    """The election's settings, its next sends (soonest first) and its sent counts."""
    election = await get_election(session, election_id)
    settings = await reminder_settings(session, election_id)
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    zone = ZoneInfo(tenant.timezone)
    overview = Overview(settings)
    sent = await _sent_by_ref(session, election.id)
    coming: list[Upcoming] = []
    first = now.astimezone(zone).date()
    for day, people in sorted((await _people_by_day(session, election.id, first)).items()):
        for occasion, at in _day_sends(settings, election, day, zone):
            left = people - sent.get((occasion, day.isoformat()), 0)
            # A window open now lists only who is still to hear; a coming one, everyone.
            if at > now or (at + WINDOWS[occasion] > now and left > 0):
                coming.append(Upcoming(occasion, max(at, now), max(left, 0)))
    if settings.offer_on:
        coming.append(await _next_offer_send(session, settings, election.id, now, zone))
    overview.upcoming = sorted(coming, key=lambda row: (row.at, row.occasion))[:UPCOMING]
    overview.sent = await _sent_counts(session, election.id)
    return overview


async def _sent_counts(session: AsyncSession, election_id: int) -> list[Sent]:
    rows = await session.execute(
        select(
            ReminderSent.occasion,
            func.count().filter(ReminderSent.channels != ""),
            func.count().filter(ReminderSent.channels == ""),
            func.max(ReminderSent.sent_at),
        )
        .where(ReminderSent.election_id == election_id)
        .group_by(ReminderSent.occasion)
    )
    found = {row[0]: Sent(*row) for row in rows.all()}
    return [found.get(occasion, Sent(occasion, 0, 0, None)) for occasion in REMINDER_OCCASIONS]


def occasion_is_on(settings: ReminderSettings, occasion: str) -> bool:
    return is_on(settings, occasion)
