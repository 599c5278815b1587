"""Places filled week by week before election day, against the norm.

Nothing stores the board as it was last month, so the history is read back from each
assignment's own times: a place is held from when the assignment was made (the earliest
of ``created_at``, ``offered_at`` and ``responded_at``; rows imported or copied may carry
an older offer than their creation) and accepted from the answer (``responded_at``). A
declined place was held until the answer; a withdrawn one until it was withdrawn (its
``updated_at``: a withdrawn assignment is not changed again). A place counts up to its
norm: five people on a shift that needs three fill three places. The norm is today's,
since norms keep no history of their own. A person kept off the election (a candidate in
it, or excluded) fills no place in any week, as on the board (``staffing.kept_off``):
whether they were kept off then is not stored either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.models import (
    Assignment,
    Election,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
    counted_minimum,
)
from app.domain.staffing.kept_off import not_kept_off

#: The history reaches back at least this many weeks, and at most the second.
FEWEST_WEEKS, MOST_WEEKS = 6, 26


@dataclass(frozen=True)
class WeekPoint:
    """The places filled at the end of one day (a week apart from the next)."""

    day: dt.date
    held: int
    accepted: int
    #: The last point of an election still to come is today, not a week's end.
    today: bool = False


@dataclass(frozen=True)
class FilledHistory:
    points: list[WeekPoint]
    #: Today's norm, over every shift of the election.
    target: int
    minimum: int


#: A time no week's end reaches (after the last, or none at all): see ``_bucket``.
_NEVER = -1


def _bucket(column: Any, ends: list[dt.datetime]) -> Any:
    """The index of the first week's end at or after ``column``'s time (``len(ends)``:
    after them all; ``_NEVER`` for no time), worked out by the database, so that only a
    few hundred groups of assignments come back instead of thousands of rows."""
    whens = [(column.is_(None), _NEVER)]
    whens += [(column <= end, index) for index, end in enumerate(ends)]
    return case(*whens, else_=len(ends))


def _spans(
    state: str, made: list[int], answered: int, changed: int
) -> tuple[tuple[int, int | None], tuple[int, int | None] | None]:
    """(held from, until) and (accepted from, until) in week indexes (None: still)."""
    held_from = min(made)
    answer = None if answered == _NEVER else answered
    held_until: int | None = None
    accepted: tuple[int, int | None] | None = None
    if state == "accepted":
        accepted = (answer if answer is not None else held_from, None)
    elif state == "declined":
        held_until = answer if answer is not None else changed
    elif state == "withdrawn":
        held_until = changed
        if answer is not None:  # accepted before it was withdrawn
            accepted = (answer, changed)
    return (held_from, held_until), accepted


def week_days(election_day: dt.date, earliest: dt.date | None, today: dt.date) -> list[dt.date]:
    """The days the history is read on: every seventh day back from election day, from
    the week of the first assignment (within the bounds above), none after today."""
    weeks = FEWEST_WEEKS
    if earliest is not None:
        weeks = min(MOST_WEEKS, max(FEWEST_WEEKS, -(-(election_day - earliest).days // 7)))
    return [
        day
        for day in (election_day - dt.timedelta(days=7 * k) for k in range(weeks, -1, -1))
        if day <= today
    ]


async def filled_history(
    session: AsyncSession, election: Election, today: dt.date | None = None
) -> FilledHistory:
    """Held and accepted places at the end of each week before election day (see the
    module for how), with today's norm to hold them against."""
    today = today or utcnow().date()
    in_norm = (
        select(StaffingNorm.target)
        .join(Shift, Shift.id == StaffingNorm.shift_id)
        .join(Station, Station.id == Shift.station_id)
        .where(Station.election_id == election.id)
    )
    target, minimum = (
        await session.execute(
            in_norm.with_only_columns(
                func.coalesce(func.sum(StaffingNorm.target), 0),
                func.coalesce(func.sum(counted_minimum()), 0),
            ).join(RoleType, RoleType.id == StaffingNorm.role_type_id)
        )
    ).one()
    placed = (
        select(Assignment)
        .join(
            StaffingNorm,
            (StaffingNorm.shift_id == Assignment.shift_id)
            & (StaffingNorm.role_type_id == Assignment.role_type_id),
        )
        .where(Assignment.election_id == election.id, not_kept_off())
    )
    firsts = (
        await session.execute(
            placed.with_only_columns(
                func.min(Assignment.created_at),
                func.min(Assignment.offered_at),
                func.min(Assignment.responded_at),
            )
        )
    ).one()
    earliest = min((t for t in firsts if t is not None), default=None)
    days = week_days(election.election_day, earliest.date() if earliest else None, today)
    last_is_today = election.election_day > today
    if last_is_today and (not days or days[-1] < today):
        days.append(today)
    # Each day's count is taken at its end (UTC midnight after it).
    ends = [dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) for d in days]
    times = [
        _bucket(column, ends)
        for column in (
            Assignment.created_at,
            Assignment.offered_at,
            Assignment.responded_at,
            Assignment.updated_at,
        )
    ]
    held = [0] * (len(ends) + 1)
    accepted = [0] * (len(ends) + 1)
    grouped = await session.execute(
        placed.with_only_columns(Assignment.state, *times, func.count()).group_by(
            Assignment.state, *times
        )
    )
    for state, made, offered, answered, changed, count in grouped:
        held_span, accepted_span = _spans(
            state, [t for t in (made, offered, answered) if t != _NEVER], answered, changed
        )
        _add(held, held_span, count)
        if accepted_span is not None:
            _add(accepted, accepted_span, count)
    held_counts, accepted_counts = _running(held), _running(accepted)
    for cell_held, cell_accepted, cell_target in await _crowded(session, placed, times, len(ends)):
        # A place counts up to its norm: what a crowded cell holds past it comes off.
        for index in range(len(ends)):
            held_counts[index] -= max(0, cell_held[index] - cell_target)
            accepted_counts[index] -= max(0, cell_accepted[index] - cell_target)
    points = [
        WeekPoint(
            day, held_counts[i], accepted_counts[i], today=last_is_today and i == len(days) - 1
        )
        for i, day in enumerate(days)
    ]
    return FilledHistory(points, int(target), int(minimum))


def _add(steps: list[int], span: tuple[int, int | None], count: int) -> None:
    """Cover the week indexes from ``span``'s start up to (not with) its end."""
    first, last = span
    last = len(steps) - 1 if last is None else last
    if first < last:
        steps[first] += count
        steps[last] -= count


def _running(steps: list[int]) -> list[int]:
    counts, running = [], 0
    for change in steps[:-1]:
        running += change
        counts.append(running)
    return counts


async def _crowded(
    session: AsyncSession, placed: Any, times: list[Any], weeks: int
) -> list[tuple[list[int], list[int], int]]:
    """(held, accepted per week, target) of each cell (a role on a shift) that ever had
    more assignments than its norm's target: only there can the cap matter."""
    over = (
        placed.with_only_columns(Assignment.shift_id, Assignment.role_type_id)
        .group_by(Assignment.shift_id, Assignment.role_type_id, StaffingNorm.target)
        .having(func.count() > StaffingNorm.target)
        .subquery()
    )
    rows = await session.execute(
        placed.join(
            over,
            (over.c.shift_id == Assignment.shift_id)
            & (over.c.role_type_id == Assignment.role_type_id),
        ).with_only_columns(
            Assignment.shift_id,
            Assignment.role_type_id,
            StaffingNorm.target,
            Assignment.state,
            *times,
        )
    )
    cells: dict[tuple[int, int], tuple[list[int], list[int], int]] = {}
    for shift_id, role_id, cell_target, state, made, offered, answered, changed in rows:
        held, accepted, _t = cells.setdefault(
            (shift_id, role_id), ([0] * (weeks + 1), [0] * (weeks + 1), cell_target)
        )
        held_span, accepted_span = _spans(
            state, [t for t in (made, offered, answered) if t != _NEVER], answered, changed
        )
        _add(held, held_span, 1)
        if accepted_span is not None:
            _add(accepted, accepted_span, 1)
    return [(_running(h), _running(a), t) for h, a, t in cells.values()]
