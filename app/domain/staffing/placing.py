"""Placing one person by hand from their own page: the open places of an election in
one district (or its advance voting stations), each with the rules putting this person
there would break. The rules are the board's (``assignments.broken_rules``) and the
placing is ``assignments.assign_person``, so there is one set of rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import Availability, District, Election, Person, Shift, StaffingNorm, Station
from app.domain.staffing.assignments import SlotContext, broken_rules, slot_context, wishes_of
from app.domain.staffing.rules import Broken

#: Open places listed at once; a district has a station or two, so this is a guard.
MAX_PLACES = 80


@dataclass(frozen=True)
class PlaceChoice:
    """One open place (a role on a shift) and what placing the person there breaks."""

    slot: SlotContext
    target: int
    broken: list[Broken]

    @property
    def blocked(self) -> bool:
        return any(rule.hard for rule in self.broken)


async def open_places_for(
    session: AsyncSession,
    person: Person,
    election_id: int,
    district_id: int | None,
    days: set[dt.date] | None = None,
) -> list[PlaceChoice]:
    """The open places of the election's stations in ``district_id`` (``None``: the
    advance voting stations), on ``days`` (``None``: every day), by day, station and
    role, with the rules broken."""
    statement = (
        select(StaffingNorm.shift_id, StaffingNorm.role_type_id, StaffingNorm.target)
        .join(Shift, Shift.id == StaffingNorm.shift_id)
        .join(Station, Station.id == Shift.station_id)
        .where(Station.election_id == election_id, StaffingNorm.target > 0)
        .order_by(Shift.day, Shift.starts_at, Station.name, Shift.id, StaffingNorm.role_type_id)
    )
    if district_id is None:
        statement = statement.where(Station.kind == "advance")
    else:
        statement = statement.where(Station.district_id == district_id)
    if days is not None:
        statement = statement.where(Shift.day.in_(sorted(days)))
    choices = []
    for shift_id, role_type_id, target in await session.execute(statement):
        slot = await slot_context(session, shift_id, role_type_id)
        if slot.filled >= target:
            continue
        broken = (await broken_rules(session, slot, [person]))[person.id]
        choices.append(PlaceChoice(slot, target, broken))
        if len(choices) >= MAX_PLACES:
            break
    return choices


async def first_area(
    session: AsyncSession, person_id: int, election: Election, districts: list[District]
) -> int | None:
    """The area shown first: the advance voting stations (``None``) for someone who can
    work only before election day, else their first wished district, else the first."""
    days = await days_of(session, person_id, election.id)
    if days and election.election_day not in days:
        return None
    wished = (await wishes_of(session, [person_id], election.id)).get(person_id, set())
    return next((d.id for d in districts if d.id in wished), districts[0].id if districts else None)


async def days_of(session: AsyncSession, person_id: int, election_id: int) -> set[dt.date]:
    """The days the person said they can work in the election."""
    return set(
        await session.scalars(
            select(Availability.day).where(
                Availability.person_id == person_id, Availability.election_id == election_id
            )
        )
    )
