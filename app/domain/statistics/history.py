"""Places filled week by week before election day, against the norm.

Nothing stores the board as it was last month, so the history is read back from each
assignment's own times: a place is held from when the assignment was made (the earliest
of ``created_at``, ``offered_at`` and ``responded_at``; rows imported or copied may carry
an older offer than their creation) and accepted from the answer (``responded_at``). A
declined place was held until the answer; a withdrawn one until it was withdrawn (its
``updated_at``: a withdrawn assignment is not changed again). A place counts up to its
norm: five people on a shift that needs three fill three places. The norm is today's,
since norms keep no history of their own.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.models import Assignment, Election, Shift, StaffingNorm, Station

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


@dataclass(frozen=True)
class _Span:
    cell: tuple[int, int]
    held_from: dt.datetime
    held_until: dt.datetime | None
    accepted_from: dt.datetime | None
    accepted_until: dt.datetime | None


def _span(row: tuple[object, ...]) -> _Span:
    shift_id, role_id, state, created, offered, responded, updated = row
    assert isinstance(created, dt.datetime) and isinstance(updated, dt.datetime)
    times = [t for t in (created, offered, responded) if isinstance(t, dt.datetime)]
    held_from = min(times)
    answer = responded if isinstance(responded, dt.datetime) else None
    held_until: dt.datetime | None = None
    accepted_from: dt.datetime | None = None
    accepted_until: dt.datetime | None = None
    if state == "accepted":
        accepted_from = answer or held_from
    elif state == "declined":
        held_until = answer or updated
    elif state == "withdrawn":
        held_until = updated
        if answer is not None:  # accepted before it was withdrawn
            accepted_from, accepted_until = answer, updated
    return _Span(
        (int(str(shift_id)), int(str(role_id))),
        held_from,
        held_until,
        accepted_from,
        accepted_until,
    )


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
    norms = (
        await session.execute(
            select(
                StaffingNorm.shift_id,
                StaffingNorm.role_type_id,
                StaffingNorm.minimum,
                StaffingNorm.target,
            )
            .join(Shift, Shift.id == StaffingNorm.shift_id)
            .join(Station, Station.id == Shift.station_id)
            .where(Station.election_id == election.id)
        )
    ).all()
    target = {(s, r): t for s, r, _m, t in norms}
    rows = await session.execute(
        select(
            Assignment.shift_id,
            Assignment.role_type_id,
            Assignment.state,
            Assignment.created_at,
            Assignment.offered_at,
            Assignment.responded_at,
            Assignment.updated_at,
        ).where(Assignment.election_id == election.id)
    )
    spans = [span for span in map(_span, rows) if span.cell in target]
    earliest = min((s.held_from for s in spans), default=None)
    days = week_days(election.election_day, earliest.date() if earliest else None, today)
    last_is_today = election.election_day > today
    if last_is_today and (not days or days[-1] < today):
        days.append(today)
    # Each day's count is taken at its end (UTC midnight after it).
    ends = [dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) for d in days]
    held = _counts(ends, ((s.cell, s.held_from, s.held_until) for s in spans))
    accepted = _counts(
        ends,
        ((s.cell, s.accepted_from, s.accepted_until) for s in spans if s.accepted_from is not None),
    )
    points = [
        WeekPoint(
            day,
            sum(min(counts[i], target[cell]) for cell, counts in held.items()),
            sum(min(counts[i], target[cell]) for cell, counts in accepted.items()),
            today=last_is_today and i == len(days) - 1,
        )
        for i, day in enumerate(days)
    ]
    return FilledHistory(points, sum(target.values()), sum(m for _s, _r, m, _t in norms))


def _counts(
    ends: list[dt.datetime],
    spans: Iterable[tuple[tuple[int, int], dt.datetime | None, dt.datetime | None]],
) -> dict[tuple[int, int], list[int]]:
    """{cell: how many spans cover the end of each day}, by adding +1 at the first day
    a span covers and -1 at the first it no longer does."""
    steps: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * (len(ends) + 1))
    for cell, start, stop in spans:
        if start is None:
            continue
        first = bisect_left(ends, start)
        last = len(ends) if stop is None else bisect_left(ends, stop)
        if first < last:
            steps[cell][first] += 1
            steps[cell][last] -= 1
    counts = {}
    for cell, step in steps.items():
        running, each = 0, []
        for change in step[:-1]:
            running += change
            each.append(running)
        counts[cell] = each
    return counts
