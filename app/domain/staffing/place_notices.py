"""Telling the people on a place that it changed: the shift's time moved, or the office
took them off it. E-mail and SMS through the outbox, in the person's own language,
written in the change's transaction (a refused change tells nobody)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _, format_locale, named
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.queue import queue_message
from app.domain.models import Assignment, Person, RoleType, Shift, Station

#: Only these have heard of their place; a proposal is the office's draft.
TOLD_STATES = ("offered", "accepted")


@dataclass(frozen=True)
class When:
    """A shift's day and times."""

    day: dt.date
    starts_at: dt.time
    ends_at: dt.time

    def text(self, locale: str) -> str:
        day = format_date(self.day, format="medium", locale=format_locale(locale))
        return f"{day} {self.starts_at.strftime('%H:%M')}–{self.ends_at.strftime('%H:%M')}"


@dataclass(frozen=True)
class Place:
    """Which place a notice is about, as the person knows it."""

    assignment_id: int
    state: str
    role: str
    station: str


@dataclass(frozen=True)
class PlaceSummary:
    """One assignment as a planner confirms taking its person off: who, where, when,
    and whether they will be told."""

    assignment: Assignment
    person: Person
    role_type: RoleType
    station: str
    shift: Shift

    @property
    def role(self) -> str:
        """The role's name in the reader's language."""
        return named(self.role_type)

    @property
    def will_be_told(self) -> bool:
        return self.assignment.state in TOLD_STATES

    @property
    def place(self) -> Place:
        return Place(
            self.assignment.id,
            self.assignment.state,
            named(self.role_type, self.person.preferred_language),
            self.station,
        )

    @property
    def when(self) -> When:
        return When(self.shift.day, self.shift.starts_at, self.shift.ends_at)


async def place_summary(session: AsyncSession, assignment_id: int) -> PlaceSummary:
    """The person, role, station and shift of an assignment (404 when not there)."""
    row = (
        await session.execute(
            select(Assignment, Person, RoleType, Station.name, Shift)
            .join(Person, Person.id == Assignment.person_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .join(Station, Station.id == Assignment.station_id)
            .join(Shift, Shift.id == Assignment.shift_id)
            .where(Assignment.id == assignment_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(_("Not found."))
    assignment, person, role, station, shift = row
    return PlaceSummary(assignment, person, role, station, shift)


async def _tell(
    session: AsyncSession,
    person: Person,
    place: Place,
    key: str,
    idempotency: tuple[str, str],
    extra: dict[str, str] | None = None,
) -> None:
    """Send one notice by e-mail and SMS, in the person's language, with the office's
    text of the message ``key``; ``idempotency`` holds the mail's and the text's keys."""
    assignment = await session.get(Assignment, place.assignment_id)
    assert assignment is not None
    fields = await merge_fields(session, person=person, assignment=assignment, extra=extra)
    for channel, to, once in (
        ("email", person.email, idempotency[0]),
        ("sms", person.mobile, idempotency[1]),
    ):
        if to:
            await queue_message(
                session,
                key=key,
                channel=channel,
                to=to,
                locale=person.preferred_language,
                fields=fields,
                idempotency_key=once,
            )


async def tell_time_changed(
    session: AsyncSession, person: Person, place: Place, was: When, now: When, key: str
) -> None:
    """Tell a person on a shift that its day or times changed."""
    locale = person.preferred_language
    await _tell(
        session,
        person,
        place,
        "shift_changed",
        (
            f"shift-changed:{place.assignment_id}:{key}",
            f"shift-changed-sms:{place.assignment_id}:{key}",
        ),
        {"change.was": was.text(locale), "change.now": now.text(locale)},
    )


async def tell_withdrawn(session: AsyncSession, person: Person, place: Place) -> None:
    """Tell a person the office took them off a place they were offered or had."""
    await _tell(
        session,
        person,
        place,
        "staffing_withdrawn",
        (f"withdrawn:{place.assignment_id}", f"withdrawn-sms:{place.assignment_id}"),
    )
