"""What a clerk's phone shows on election day: their own shifts of the day with their
check-ins, and, for a station they lead, its incidents and turnout reports.

Reads only; every change goes through ``checkins``, ``stations``, ``incidents`` and
``turnout``, which check again who may do what.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    CheckIn,
    Election,
    Incident,
    RoleType,
    Shift,
    Station,
    TurnoutReport,
)
from app.domain.ops.checkins import check_in_window
from app.domain.staffing.queries import assignments_of_person


@dataclass(frozen=True)
class MyShift:
    """One of the clerk's places on a shift, with what they checked in so far."""

    assignment_id: int
    person_id: int
    shift: Shift
    station: Station
    election: Election
    role: RoleType
    #: The clerk's check-ins on this shift, oldest first (server time is ``checked_at``).
    check_ins: list[CheckIn]
    #: When a coordinator sent the clerk here on the day, and when they confirmed it.
    sent_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None

    @property
    def last_kind(self) -> str | None:
        return self.check_ins[-1].kind if self.check_ins else None

    @property
    def is_here(self) -> bool:
        return self.last_kind == "arrived"

    @property
    def leads_station(self) -> bool:
        return self.role.leads_station


async def my_shifts(
    session: AsyncSession, person_id: int, first: dt.date, last: dt.date
) -> list[MyShift]:
    """The person's held places on shifts from ``first`` to ``last`` (inclusive), soonest
    first, each with the person's check-ins on it."""
    rows = (
        await session.execute(
            assignments_of_person(person_id).where(
                Assignment.state.in_(HOLDING_STATES), Shift.day >= first, Shift.day <= last
            )
        )
    ).all()
    shift_ids = [shift.id for _assignment, _election, _station, shift, _role in rows]
    by_shift: dict[int, list[CheckIn]] = {}
    if shift_ids:
        found = await session.scalars(
            select(CheckIn)
            .where(CheckIn.person_id == person_id, CheckIn.shift_id.in_(shift_ids))
            .order_by(CheckIn.id)
        )
        for row in found:
            by_shift.setdefault(row.shift_id, []).append(row)
    return [
        MyShift(
            assignment.id,
            person_id,
            shift,
            station,
            election,
            role,
            by_shift.get(shift.id, []),
            assignment.sent_at,
            assignment.confirmed_at,
        )
        for assignment, election, station, shift, role in rows
    ]


async def shifts_of_the_day(
    session: AsyncSession, person_id: int, now: dt.datetime, zone: ZoneInfo
) -> tuple[list[MyShift], list[MyShift]]:
    """The person's shifts to check in on now, and their shifts of tomorrow still to come.

    The first are today's (the local day of ``now``) and any other whose check-in is open
    now: yesterday's when its count ran past midnight, tomorrow's when it starts soon
    after midnight (check-in opens two hours before a shift), as ``check_in`` takes them."""
    today = now.astimezone(zone).date()
    one_day = dt.timedelta(days=1)
    around = await my_shifts(session, person_id, today - one_day, today + one_day)
    current = []
    for mine in around:
        opens, closes = check_in_window(mine.shift, zone)
        if mine.shift.day == today or opens <= now < closes:
            current.append(mine)
    taken = {mine.assignment_id for mine in current}
    later = [m for m in around if m.shift.day > today and m.assignment_id not in taken]
    return current, later


async def has_shift_soon(session: AsyncSession, person_id: int, today: dt.date) -> bool:
    """Whether the person holds a place on a shift today or tomorrow (the portal then
    shows its election-day page in the menu)."""
    found = await session.scalar(
        select(Assignment.id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Assignment.person_id == person_id,
            Assignment.state.in_(HOLDING_STATES),
            Shift.day >= today,
            Shift.day <= today + dt.timedelta(days=1),
        )
        .limit(1)
    )
    return found is not None


async def station_incidents(session: AsyncSession, station_id: int) -> list[Incident]:
    """The station's incidents, newest first, each with its notes (the lead's view of
    how they are being handled)."""
    rows = await session.scalars(
        select(Incident)
        .where(Incident.station_id == station_id)
        .options(selectinload(Incident.notes))
        .order_by(Incident.id.desc())
    )
    return list(rows)


async def station_turnout(session: AsyncSession, station_id: int) -> dict[str, TurnoutReport]:
    """The station's turnout reports by reporting time ("11:00"...)."""
    rows = await session.scalars(
        select(TurnoutReport)
        .where(TurnoutReport.station_id == station_id)
        .execution_options(populate_existing=True)
    )
    return {row.slot: row for row in rows}
