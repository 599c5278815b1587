"""The municipality's working-time rules in the optimiser's problem.

**The most hours a day.** The optimiser gives a person one shift a day, on a day they
hold no place yet, so their day is that shift alone: a shift longer than the most a
person may work in a day is left out of the problem, with its places (nobody may be
proposed for it; the planner sees it open on the board).

**The least rest.** A person's held places on the days either side may leave too little
rest before or after a shift: such a shift is not offered to them
(``Candidate.unfit_shifts``). The rest between two places the optimiser proposes on
consecutive days is a rule over pairs of days, no longer a flow: ``Problem.
min_rest_minutes`` carries it to the exact model (``exact_model``), which keeps it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.autostaff.problem import Candidate, Place, Shift
from app.domain.staffing.working_time import (
    WorkingTime,
    bookings_around,
    rest_rule,
    shift_end,
    shift_minutes,
)


def fitting_shifts(
    limits: WorkingTime, shifts: list[Shift], places: list[Place]
) -> tuple[list[Shift], list[Place]]:
    """The shifts (and their places) one person may work within a day's most hours."""
    if limits.max_day_minutes is None:
        return shifts, places
    kept = [
        shift
        for shift in shifts
        if shift_minutes(shift.day, shift.starts_at, shift.ends_at) <= limits.max_day_minutes
    ]
    ids = {shift.id for shift in kept}
    return kept, [place for place in places if place.shift_id in ids]


async def rested_candidates(
    session: AsyncSession, limits: WorkingTime, shifts: list[Shift], candidates: list[Candidate]
) -> list[Candidate]:
    """The candidates, each with the shifts too close to a place they hold on the day
    before or after; only people holding such places are looked at."""
    if limits.min_rest_minutes is None or not shifts or not candidates:
        return candidates
    days = sorted({shift.day for shift in shifts})
    one = dt.timedelta(days=1)
    # Everyone's places in the window (a candidate list may be tens of thousands long).
    held = await bookings_around(session, None, days[0] - one, days[-1] + one)
    if not held:
        return candidates
    # Shifts with the same times share the answer: a handful of windows, not thousands.
    windows: dict[tuple[dt.date, dt.time, dt.time], list[int]] = {}
    for shift in shifts:
        windows.setdefault((shift.day, shift.starts_at, shift.ends_at), []).append(shift.id)
    result = []
    for candidate in candidates:
        bookings = held.get(candidate.id)
        if not bookings:
            result.append(candidate)
            continue
        unfit: set[int] = set()
        for (day, starts, ends), ids in windows.items():
            if day not in candidate.days:
                continue
            start = dt.datetime.combine(day, starts)
            if rest_rule(limits, start, shift_end(day, starts, ends), bookings) is not None:
                unfit.update(ids)
        result.append(replace(candidate, unfit_shifts=frozenset(unfit)) if unfit else candidate)
    return result
