"""Sending the reminders that are due: who gets one, the claim that makes it once, the
messages.

Each recipient is claimed first, with one INSERT of ``reminders_sent`` rows that skips
the rows already there (``ON CONFLICT DO NOTHING``, RETURNING what it inserted), and
their messages are queued in the same transaction. A second worker at the same moment
waits on PostgreSQL for the first one's uninserted keys and then inserts none of them;
SQLite has one writer. A run after a restart finds the rows. The outbox's idempotency
keys are a second guard.

Only accepted places are reminded (an open offer for the offer reminder), never an
erased person; a person working two shifts a day hears once, of the first.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.domain.messaging.catalog import LOCALES
from app.domain.messaging.fields import day_text, merge_fields
from app.domain.messaging.queue import queue_message
from app.domain.models import (
    Assignment,
    Election,
    Person,
    ReminderSent,
    ReminderSettings,
    Shift,
)
from app.domain.reminders.timing import Due, due_now

#: The channels of each occasion, mail first.
CHANNELS: dict[str, tuple[str, ...]] = {
    "offer_unanswered": ("email", "sms"),
    "shift_reminder": ("email", "sms"),
    "election_eve": ("sms",),
    "wake_up": ("sms",),
}
#: Recipients claimed and written per transaction.
BATCH = 200
ACTOR = Actor.system("reminders")


@dataclass(frozen=True)
class Recipient:
    person_id: int
    #: The place the message is about (the first shift of the day, or the offer).
    assignment_id: int
    ref: str
    channels: tuple[str, ...]


def _reachable(occasion: str, email: str | None, mobile: str | None) -> tuple[str, ...]:
    have = {"email": bool(email), "sms": bool(mobile)}
    return tuple(channel for channel in CHANNELS[occasion] if have[channel])


async def _already(session: AsyncSession, election_id: int, occasion: str) -> set[tuple[int, str]]:
    rows = await session.execute(
        select(ReminderSent.person_id, ReminderSent.ref).where(
            ReminderSent.election_id == election_id, ReminderSent.occasion == occasion
        )
    )
    return {(person_id, ref) for person_id, ref in rows}


async def working_on(
    session: AsyncSession, election_id: int, occasion: str, day: dt.date
) -> list[Recipient]:
    """The people with an accepted place on ``day`` who have not had this occasion's
    reminder for the day, each with their first place that day (the one it names)."""
    ref = day.isoformat()
    done = await _already(session, election_id, occasion)
    rows = await session.execute(
        select(Assignment.id, Assignment.person_id, Shift.starts_at, Person.email, Person.mobile)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Assignment.election_id == election_id,
            Assignment.state == "accepted",
            Shift.day == day,
            Person.erased_at.is_(None),
        )
        .order_by(Assignment.person_id, Shift.starts_at, Assignment.id)
    )
    first: dict[int, Any] = {}
    for row in rows:
        first.setdefault(row.person_id, row)
    return [
        Recipient(row.person_id, row.id, ref, _reachable(occasion, row.email, row.mobile))
        for row in first.values()
        if (row.person_id, ref) not in done
    ]


async def open_offers(
    session: AsyncSession, election_id: int, days: int, now: dt.datetime
) -> list[Recipient]:
    """The offers sent ``days`` or more before ``now``, still unanswered and before their
    deadline, not yet reminded of."""
    done = await _already(session, election_id, "offer_unanswered")
    rows = await session.execute(
        select(Assignment.id, Assignment.person_id, Person.email, Person.mobile)
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Assignment.election_id == election_id,
            Assignment.state == "offered",
            Assignment.offered_at <= now - dt.timedelta(days=days),
            or_(Assignment.answer_by.is_(None), Assignment.answer_by > now),
            Person.erased_at.is_(None),
        )
        .order_by(Assignment.id)
    )
    return [
        Recipient(row.person_id, row.id, f"a{row.id}", _reachable("offer_unanswered", *row[2:]))
        for row in rows
        if (row.person_id, f"a{row.id}") not in done
    ]


async def recipients_for(
    session: AsyncSession,
    election: Election,
    settings: ReminderSettings,
    due: Due,
    now: dt.datetime,
) -> list[Recipient]:
    """Who gets the reminder of an occasion whose window is open now."""
    if due.occasion == "offer_unanswered":
        return await open_offers(session, election.id, settings.offer_days, now)
    if due.occasion == "shift_reminder":
        day = due.day + dt.timedelta(days=settings.shift_reminder_days)
    elif due.occasion == "election_eve":
        if due.day + dt.timedelta(days=1) != election.election_day:
            return []
        day = election.election_day
    else:
        day = due.day
    return await working_on(session, election.id, due.occasion, day)


async def _claim(
    session: AsyncSession,
    election_id: int,
    occasion: str,
    batch: Sequence[Recipient],
    now: dt.datetime,
) -> set[tuple[int, str]]:
    """Insert the batch's rows of ``reminders_sent``, skipping those there already (or
    inserted by another worker meanwhile); the (person, ref) pairs this call inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tenant_id = require_tenant_id()
    statement = (
        insert(ReminderSent)
        .values(
            [
                {
                    "tenant_id": tenant_id,
                    "election_id": election_id,
                    "occasion": occasion,
                    "person_id": recipient.person_id,
                    "ref": recipient.ref,
                    "channels": " ".join(recipient.channels),
                    "sent_at": now,
                }
                for recipient in batch
            ]
        )
        .on_conflict_do_nothing(index_elements=["election_id", "occasion", "person_id", "ref"])
        .returning(ReminderSent.person_id, ReminderSent.ref)
    )
    return {(person_id, ref) for person_id, ref in await session.execute(statement)}


def _locale(person: Person, fallback: str) -> str:
    if person.preferred_language in LOCALES:
        return person.preferred_language
    return fallback if fallback in LOCALES else "sv"


def _deadline(assignment: Assignment, zone: ZoneInfo, locale: str) -> str:
    if assignment.answer_by is None:
        return ""
    local = assignment.answer_by.astimezone(zone)
    with locale_scope(locale):
        return f"{day_text(local.date())} {local:%H:%M}"


@dataclass(frozen=True)
class SendContext:
    """What a run knows of its municipality: the moment, its zone, language and site,
    and when it should stop (``time.monotonic()``; None: when all is sent)."""

    now: dt.datetime
    zone: ZoneInfo
    locale: str
    base_url: str
    stop_at: float | None = None

    def out_of_time(self) -> bool:
        return self.stop_at is not None and time.monotonic() >= self.stop_at


async def send_batch(
    session: AsyncSession,
    election: Election,
    occasion: str,
    batch: Sequence[Recipient],
    context: SendContext,
) -> int:
    """Claim the batch and queue the messages of those claimed, in one transaction
    (committed); how many people were told (those with no address are claimed, not told)."""
    claimed = await _claim(session, election.id, occasion, batch, context.now)
    mine = [recipient for recipient in batch if (recipient.person_id, recipient.ref) in claimed]
    people = {
        person.id: person
        for person in await session.scalars(
            select(Person).where(Person.id.in_([r.person_id for r in mine]))
        )
    }
    places = {
        assignment.id: assignment
        for assignment in await session.scalars(
            select(Assignment).where(Assignment.id.in_([r.assignment_id for r in mine]))
        )
    }
    # The outbox rows go in with the commit, in one statement, not one flush a person.
    with session.no_autoflush:
        told = await _queue_batch(session, election, occasion, mine, people, places, context)
    if told:
        await record(
            session, ACTOR, "reminders.sent", election, data={"occasion": occasion, "people": told}
        )
    await session.commit()
    return told


async def _queue_batch(
    session: AsyncSession,
    election: Election,
    occasion: str,
    mine: Sequence[Recipient],
    people: dict[int, Person],
    places: dict[int, Assignment],
    context: SendContext,
) -> int:
    told = 0
    for recipient in mine:
        if not recipient.channels:
            continue
        person, place = people[recipient.person_id], places[recipient.assignment_id]
        locale = _locale(person, context.locale)
        fields = await merge_fields(
            session,
            person=person,
            election=election,
            assignment=place,
            locale=locale,
            base_url=context.base_url,
        )
        if occasion == "offer_unanswered":
            # The offer's own link holds a secret only its first mail had: the portal,
            # where the clerk signs in, answers the offer too.
            fields["offer"] = {
                "link": fields["portal_link"],
                "deadline": _deadline(place, context.zone, locale),
            }
        for channel in recipient.channels:
            await queue_message(
                session,
                key=occasion,
                channel=channel,
                to=(person.email if channel == "email" else person.mobile) or "",
                locale=locale,
                fields=fields,
                idempotency_key=(
                    f"reminder:{occasion}:{election.id}:{person.id}:{recipient.ref}:{channel}"
                ),
            )
        told += 1
    return told


async def send_due_reminders(
    session: AsyncSession, election: Election, settings: ReminderSettings, context: SendContext
) -> dict[str, int]:
    """Send the election's reminders whose window is open now; {occasion: people told}."""
    told: dict[str, int] = {}
    for due in due_now(settings, context.now, context.zone):
        recipients = await recipients_for(session, election, settings, due, context.now)
        for start in range(0, len(recipients), BATCH):
            count = await send_batch(
                session, election, due.occasion, recipients[start : start + BATCH], context
            )
            if count:
                told[due.occasion] = told.get(due.occasion, 0) + count
            if context.out_of_time():
                # The rest go in the next round (a batch each time at least): their
                # window is still open then.
                return told
    return told


#: Elections whose reminders still run: not those closed or archived.
RUNNING_STATUSES = ("planning", "active")


async def send_election_reminders(
    session: AsyncSession, now: dt.datetime, base_url: str, stop_at: float | None = None
) -> dict[int, dict[str, int]]:
    """Send the due reminders of every election of the current municipality that has
    one switched on, at the municipality's local time; {election id: {occasion: told}}.
    With ``stop_at`` (``time.monotonic()``) no further batch starts after it (a round
    sends one at least): the next round goes on where this one stopped."""
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    context = SendContext(now, ZoneInfo(tenant.timezone), tenant.locale, base_url, stop_at)
    rows = (
        await session.execute(
            select(ReminderSettings, Election)
            .join(Election, Election.id == ReminderSettings.election_id)
            .where(
                or_(
                    ReminderSettings.shift_reminder_on,
                    ReminderSettings.eve_on,
                    ReminderSettings.wake_up_on,
                    ReminderSettings.offer_on,
                ),
                Election.status.in_(RUNNING_STATUSES),
            )
            .order_by(Election.id)
        )
    ).all()
    told: dict[int, dict[str, int]] = {}
    for settings, election in rows:
        counts = await send_due_reminders(session, election, settings, context)
        if counts:
            told[election.id] = counts
        if context.out_of_time():
            break
    await session.commit()
    return told
