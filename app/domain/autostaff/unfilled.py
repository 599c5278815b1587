"""Why a place stays open in a proposal: the rule that left it empty.

For each open place the proposal does not fill, the first of these that holds, looking
at the candidates (active, of age, not kept off, not a reserve kept back):

``nobody_available``  nobody said they can work that day for every kind of work the
                      shift consists of (or the rest after a place they hold rules them out)
``no_course``         some can work it, but none has the course the role requires
``all_placed``        everyone who could fill it has a place that day already
``rest``              those still free that day would get too little rest next to a
                      place the proposal gives them on the day before or after
``too_costly``        someone is still free, but placing them costs more than the open
                      place (they already have many places, or live far away)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import lazy_gettext, named
from app.domain.autostaff.costs import Pick
from app.domain.autostaff.problem import Candidate, Problem, Shift
from app.domain.models import AutostaffRun, RoleType
from app.domain.models import Shift as ShiftRow
from app.domain.models import Station as StationRow

#: Each reason in the words a planner reads.
REASONS: dict[str, Any] = {
    "nobody_available": lazy_gettext("Nobody can work that day"),
    "no_course": lazy_gettext("Nobody free has the course the role requires"),
    "all_placed": lazy_gettext("Everyone who could is placed elsewhere that day"),
    "rest": lazy_gettext("Those still free would get too little rest"),
    "too_costly": lazy_gettext("Those still free cost more than an open place"),
}


@dataclass(frozen=True)
class OpenPlace:
    """A place a run left open, as the run's page shows it."""

    station: str
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    role: str
    count: int
    reason: str


async def open_places(session: AsyncSession, run: AutostaffRun, limit: int) -> list[OpenPlace]:
    """The first ``limit`` places the run left open, with the rule that left each empty
    (runs made before reasons were stored have none)."""
    rows = run.costs.get("unfilled") or []
    rows = rows[:limit]
    shift_ids = sorted({row[0] for row in rows})
    shifts = {
        row.id: row
        for row in await session.execute(
            select(ShiftRow.id, ShiftRow.day, ShiftRow.starts_at, ShiftRow.ends_at, StationRow.name)
            .join(StationRow, StationRow.id == ShiftRow.station_id)
            .where(ShiftRow.id.in_(shift_ids))
        )
    }
    roles = {role.id: named(role) for role in await session.scalars(select(RoleType))}
    return [
        OpenPlace(
            shifts[shift_id].name,
            shifts[shift_id].day,
            shifts[shift_id].starts_at,
            shifts[shift_id].ends_at,
            roles.get(role_id, ""),
            count,
            str(REASONS.get(reason, reason)),
        )
        for shift_id, role_id, count, reason in rows
        if shift_id in shifts
    ]


def unfilled_places(problem: Problem, picks: Sequence[Pick]) -> list[tuple[int, int, int, str]]:
    """Each place left open: (shift id, role id, how many, reason), in shift order."""
    filled: dict[tuple[int, int], int] = {}
    busy: set[tuple[int, dt.date]] = set()
    shifts_of: dict[int, list[int]] = {}
    for pick in picks:
        key = (pick.shift_id, pick.role_type_id)
        filled[key] = filled.get(key, 0) + 1
        busy.add((pick.person_id, problem.shift(pick.shift_id).day))
        shifts_of.setdefault(pick.person_id, []).append(pick.shift_id)
    # Who can work a day's kinds of work, and who of them is still free that day: a
    # handful of groups, each found once.
    groups: dict[tuple[dt.date, tuple[str, ...]], tuple[list[Candidate], list[Candidate]]] = {}
    trained: dict[tuple[object, int], tuple[list[Candidate], list[Candidate]]] = {}
    found = []
    for place in sorted(
        problem.places, key=lambda p: (problem.shift_order(p.shift_id), p.role_type_id)
    ):
        left = place.open - filled.get((place.shift_id, place.role_type_id), 0)
        if left <= 0:
            continue
        shift = problem.shift(place.shift_id)
        group = (shift.day, shift.work_kinds)
        if group not in groups:
            able = [
                c
                for c in problem.candidates
                if (kinds := c.days.get(shift.day)) is not None
                and all(kind in kinds for kind in shift.work_kinds)
            ]
            groups[group] = able, [c for c in able if (c.id, shift.day) not in busy]
        able, free = groups[group]
        role = (group, place.role_type_id)
        if role not in trained:
            trained[role] = (
                [c for c in able if c.may_fill(place.role_type_id, shift.day)],
                [c for c in free if c.may_fill(place.role_type_id, shift.day)],
            )
        reason = _reason(problem, shift, able, *trained[role], shifts_of)
        found.append((place.shift_id, place.role_type_id, left, reason))
    return found


def _reason(
    problem: Problem,
    shift: Shift,
    able: list[Candidate],
    trained: list[Candidate],
    free: list[Candidate],
    shifts_of: dict[int, list[int]],
) -> str:
    """The first rule of the module's list that leaves the place empty: ``able`` can
    work the shift's day, ``trained`` of them may fill the role, ``free`` of those have
    no place that day (each test stops at the first person it finds where it can)."""
    if all(shift.id in c.unfit_shifts for c in able):
        return "nobody_available"
    if all(shift.id in c.unfit_shifts for c in trained):
        return "no_course"
    free = [c for c in free if shift.id not in c.unfit_shifts]
    if not free:
        return "all_placed"
    for c in free:
        if not any(problem.too_close(other, shift.id) for other in shifts_of.get(c.id, ())):
            return "too_costly"
    return "rest"
