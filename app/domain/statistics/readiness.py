"""Whether the staff will be ready and was there: course completion per role, and the
no-shows of election day (and advance voting) per district."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import named
from app.domain.models import (
    Assignment,
    CheckIn,
    District,
    Election,
    Shift,
    Station,
)
from app.domain.ops.access import local_zone
from app.domain.registers.roles import list_role_types
from app.domain.statistics.training import TrainingCounts, training_counts

#: The training words (``training.training_states``) as the chart's groups: every course
#: held, a seat booked on each missing one, something neither held nor booked.
COURSE_GROUPS = ("qualified", "booked", "missing")


@dataclass(frozen=True)
class CourseRow:
    """People holding a place in one role that requires a course, by where they stand."""

    role_type_id: int
    role: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def course_completion(
    session: AsyncSession, election: Election, training: TrainingCounts | None = None
) -> list[CourseRow]:
    """For each role that requires a course: the people holding a place in it who hold
    every required course, who have a seat booked for what they lack, and who have
    neither. Roles requiring no course are left out. ``training``: the counts if read
    already (the statistics page reads them once for this and the funnel)."""
    found = (training or await training_counts(session, election)).per_role
    counts = {
        role_id: {group: words[group] for group in COURSE_GROUPS}
        for role_id, words in found.items()
        if any(words[group] for group in COURSE_GROUPS)
    }
    return [
        CourseRow(role.id, named(role), counts[role.id])
        for role in await list_role_types(session)
        if role.id in counts
    ]


@dataclass(frozen=True)
class NoShowRow:
    """Accepted places on shifts that have ended in one district, and how many of them
    nobody checked in to. ``district_id`` None: the advance voting stations."""

    district_id: int | None
    code: str
    name: str
    places: int
    no_shows: int


@dataclass(frozen=True)
class NoShows:
    rows: list[NoShowRow]
    #: Whether anyone checked in at all in the election: if nobody did, check-in was
    #: perhaps not used, and the no-shows say little.
    any_check_in: bool


async def no_shows_per_district(
    session: AsyncSession, election: Election, now: dt.datetime
) -> NoShows:
    """A no-show is an accepted place on a shift that has ended by ``now`` whose person
    never checked in as arrived on that shift. Districts without an ended shift are left
    out; the rest in the order of their codes, advance voting last."""
    local = now.astimezone(await local_zone(session))
    # A shift has ended when its day is past, or it is today and its end has come: the
    # database tells, in the municipality's wall-clock time (shifts keep local times).
    ended = (Shift.day < local.date()) | (
        (Shift.day == local.date()) & (Shift.ends_at <= local.time().replace(tzinfo=None))
    )
    came = (
        select(CheckIn.id)
        .where(
            CheckIn.shift_id == Assignment.shift_id,
            CheckIn.person_id == Assignment.person_id,
            CheckIn.kind == "arrived",
        )
        .exists()
    )
    # Counted per district by the database: thousands of places come back as a row each.
    per_district = await session.execute(
        select(Station.district_id, func.count(), func.sum(case((came, 0), else_=1)))
        .select_from(Assignment)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(Assignment.election_id == election.id, Assignment.state == "accepted", ended)
        .group_by(Station.district_id)
    )
    totals = {
        district_id: (places, int(missing or 0)) for district_id, places, missing in per_district
    }
    if not totals:
        return NoShows([], False)
    any_check_in = (
        await session.scalar(
            select(CheckIn.id)
            .where(CheckIn.election_id == election.id, CheckIn.kind == "arrived")
            .limit(1)
        )
    ) is not None
    districts = {
        d.id: d
        for d in await session.execute(
            select(District.id, District.code, District.name).where(
                District.election_id == election.id
            )
        )
    }
    rows = [
        NoShowRow(district_id, districts[district_id].code, districts[district_id].name, *counts)
        for district_id, counts in totals.items()
        if district_id is not None
    ]
    rows.sort(key=lambda row: row.code)
    if None in totals:
        rows.append(NoShowRow(None, "", "", *totals[None]))
    return NoShows(rows, any_check_in)
