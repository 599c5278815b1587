"""Working-time rules a municipality sets: the most hours a person works on one day (all
their shifts together) and the least rest between the end of one shift and the start of
the next. Both are soft rules: the board warns, and a planner who places someone anyway
gives a reason, which is audited. The optimiser keeps them (``autostaff.loading``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.domain.models import HOLDING_STATES, Assignment, Shift, Station, WorkingRules
from app.domain.staffing.rules import Broken

#: The working-time rules; overriding one needs a reason.
WORKING_TIME_RULES = frozenset({"day_hours", "rest"})


@dataclass(frozen=True)
class WorkingTime:
    """The municipality's limits in minutes; None: no limit."""

    max_day_minutes: int | None = None
    min_rest_minutes: int | None = None

    @property
    def any(self) -> bool:
        return self.max_day_minutes is not None or self.min_rest_minutes is not None


@dataclass(frozen=True)
class Booking:
    """A place a person holds: its shift's day and times, and the station's name."""

    assignment_id: int
    person_id: int
    shift_id: int
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    station: str

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.day, self.starts_at)

    @property
    def end(self) -> dt.datetime:
        return shift_end(self.day, self.starts_at, self.ends_at)


def shift_end(day: dt.date, starts: dt.time, ends: dt.time) -> dt.datetime:
    """The end of a shift as a (local, naive) moment: past midnight when it ends before
    it starts."""
    end = dt.datetime.combine(day, ends)
    return end + dt.timedelta(days=1) if ends <= starts else end


def shift_minutes(day: dt.date, starts: dt.time, ends: dt.time) -> int:
    return (
        int((shift_end(day, starts, ends) - dt.datetime.combine(day, starts)).total_seconds()) // 60
    )


async def working_rules_row(session: AsyncSession) -> WorkingRules | None:
    return await session.scalar(select(WorkingRules))


async def working_time(session: AsyncSession) -> WorkingTime:
    """The municipality's working-time limits (none when it set none)."""
    row = await working_rules_row(session)
    if row is None:
        return WorkingTime()
    return WorkingTime(row.max_day_minutes, row.min_rest_minutes)


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours}" if not rest else f"{hours}:{rest:02d}"


def day_hours_rule(limits: WorkingTime, minutes_that_day: int) -> Broken | None:
    """``minutes_that_day``: the person's shifts of the day together with the new one."""
    if limits.max_day_minutes is None or minutes_that_day <= limits.max_day_minutes:
        return None
    return Broken(
        "day_hours",
        False,
        _(
            "Would work %(hours)s hours that day; the most is %(limit)s.",
            hours=_hours(minutes_that_day),
            limit=_hours(limits.max_day_minutes),
        ),
    )


def rest_rule(
    limits: WorkingTime, start: dt.datetime, end: dt.datetime, others: Sequence[Booking]
) -> Broken | None:
    """The shortest rest between the shift (``start``-``end``) and the person's other
    places, if it is below the least rest; overlapping places are the overlap rule's."""
    if limits.min_rest_minutes is None:
        return None
    shortest: tuple[int, Booking] | None = None
    for other in others:
        if other.end <= start:
            gap = start - other.end
        elif end <= other.start:
            gap = other.start - end
        else:
            continue
        minutes = int(gap.total_seconds()) // 60
        if minutes < limits.min_rest_minutes and (shortest is None or minutes < shortest[0]):
            shortest = (minutes, other)
    if shortest is None:
        return None
    minutes, other = shortest
    return Broken(
        "rest",
        False,
        _(
            "Only %(hours)s hours of rest next to %(start)s–%(end)s on %(day)s at "
            "%(station)s; the least is %(limit)s.",
            hours=_hours(minutes),
            start=other.starts_at.strftime("%H:%M"),
            end=other.ends_at.strftime("%H:%M"),
            day=other.day.isoformat(),
            station=other.station,
            limit=_hours(limits.min_rest_minutes),
        ),
    )


def broken_for(
    limits: WorkingTime,
    day: dt.date,
    starts: dt.time,
    ends: dt.time,
    others: Sequence[Booking],
) -> list[Broken]:
    """The working-time rules a shift would break next to the person's other places
    (``others``: their places around that day, without the shift itself)."""
    found = []
    if limits.max_day_minutes is not None:
        that_day = sum(shift_minutes(o.day, o.starts_at, o.ends_at) for o in others if o.day == day)
        broken = day_hours_rule(limits, that_day + shift_minutes(day, starts, ends))
        if broken is not None:
            found.append(broken)
    broken = rest_rule(
        limits, dt.datetime.combine(day, starts), shift_end(day, starts, ends), others
    )
    if broken is not None:
        found.append(broken)
    return found


async def bookings_around(
    session: AsyncSession,
    person_ids: Collection[int] | None,
    first: dt.date,
    last: dt.date,
    excluding: Collection[int] = (),
) -> dict[int, list[Booking]]:
    """Each person's places held from ``first`` to ``last`` (any election), without the
    assignments in ``excluding``; ``person_ids`` None: everyone's."""
    if person_ids is not None and not person_ids:
        return {}
    query = (
        select(
            Assignment.id,
            Assignment.person_id,
            Shift.id,
            Shift.day,
            Shift.starts_at,
            Shift.ends_at,
            Station.name,
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(
            Assignment.state.in_(HOLDING_STATES),
            Shift.day >= first,
            Shift.day <= last,
        )
        .order_by(Shift.day, Shift.starts_at, Assignment.id)
    )
    if person_ids is not None:
        query = query.where(Assignment.person_id.in_(list(person_ids)))
    if excluding:
        query = query.where(Assignment.id.not_in(list(excluding)))
    found: dict[int, list[Booking]] = {}
    for row in await session.execute(query):
        booking = Booking(*row)
        found.setdefault(booking.person_id, []).append(booking)
    return found


async def broken_working_time(
    session: AsyncSession,
    person_ids: Sequence[int],
    day: dt.date,
    starts: dt.time,
    ends: dt.time,
    excluding: Collection[int] = (),
) -> dict[int, list[Broken]]:
    """For each person, the working-time rules a shift (on ``day``, ``starts``-``ends``)
    would break; nothing when the municipality set no limits (no query then)."""
    limits = await working_time(session)
    if not limits.any:
        return {}
    around = await bookings_around(
        session, person_ids, day - dt.timedelta(days=1), day + dt.timedelta(days=1), excluding
    )
    return {
        person_id: broken
        for person_id in person_ids
        if (broken := broken_for(limits, day, starts, ends, around.get(person_id, [])))
    }
