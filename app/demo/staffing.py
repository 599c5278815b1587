"""Demo data for staffing: what the optimiser needs to propose the next election's staff.

The demo's people get home coordinates around the schools they live near, the last
election (2026) gets the teams that worked it (accepted assignments, so "team kept"
and "experienced" mean something), and the next election gets availability, district
wishes and a few stations whose voters need another language.

Deterministic for a size (seeded random) and written in bulk, so the large demo
(15,000 people, 660 stations) still takes seconds.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import refresh_statistics
from app.core.tenancy import tenant_scope
from app.demo.rows import insert_in_batches, update_in_batches
from app.domain.models import (
    Assignment,
    Availability,
    Building,
    DistrictPreference,
    Election,
    Person,
    Room,
    Shift,
    StaffingNorm,
    Station,
)

#: Languages some stations' voters need, as the municipality would note them.
STATION_LANGUAGES = (("ar",), ("so",), ("fi",), ("ar", "so"), ("fa",), ("pl",))
#: Of the active people: who can work election day, of those also the count, and who
#: can work some advance-voting days.
ELECTION_DAY_SHARE = 0.86
COUNTING_SHARE = 0.6
ADVANCE_SHARE = 0.22
WISH_SHARE = 0.2
#: How much of each 2026 polling shift's target its team filled.
TEAM_SHARE = 0.7


def _near(rng: random.Random, latitude: float, longitude: float) -> tuple[float, float]:
    """A home about a kilometre from a point (1° of longitude is ~63 km at 55.7° N)."""
    return (
        round(latitude + rng.gauss(0, 0.009), 5),
        round(longitude + rng.gauss(0, 0.009 / math.cos(math.radians(latitude))), 5),
    )


async def fill_staffing_demo(
    session: AsyncSession, tenant_id: int, election_id: int, size: str = "small"
) -> dict[str, int]:
    """Give the demo's people what the optimiser needs for election ``election_id``
    (rolled over from the demo's first election, whose teams are written here)."""
    rng = random.Random(f"stemma-staffing-{size}")  # noqa: S311 - demo data
    with tenant_scope(tenant_id):
        election = await session.scalar(select(Election).where(Election.id == election_id))
        assert election is not None and election.rolled_over_from_id is not None
        last_id = election.rolled_over_from_id
        stations = (
            await session.execute(
                select(
                    Station.id,
                    Station.election_id,
                    Station.name,
                    Station.kind,
                    Station.district_id,
                    Building.latitude,
                    Building.longitude,
                )
                .join(Room, Room.id == Station.room_id)
                .join(Building, Building.id == Room.building_id)
                .where(Station.election_id.in_((last_id, election.id)))
                .order_by(Station.id)
            )
        ).all()
        homes = [s for s in stations if s.election_id == last_id and s.kind == "polling"]
        people = (await session.execute(select(Person.id, Person.status).order_by(Person.id))).all()
        # The generator is drawn from in this order, so the demo is the same every time.
        home_of, located = _homes(rng, people, homes)
        assignments = await _last_elections_teams(
            session, rng, tenant_id, last_id, people, homes, home_of
        )
        await insert_in_batches(session, Assignment, assignments)
        worked_last = {row["person_id"] for row in assignments}
        await _locate_and_grade(session, rng, people, located, worked_last)
        upcoming = [s for s in stations if s.election_id == election.id]
        polling = [s for s in upcoming if s.kind == "polling"]
        available, wishes = await _availability_and_wishes(
            session, rng, tenant_id, election, people, homes, home_of, polling
        )
        await insert_in_batches(session, Availability, available)
        await insert_in_batches(session, DistrictPreference, wishes)
        languages = [
            {"id": s.id, "languages": list(rng.choice(STATION_LANGUAGES))}
            for s in polling
            if rng.random() < 0.06
        ]
        if languages:
            await session.execute(update(Station), languages)
        await session.commit()
    await refresh_statistics(session, "assignments", "availabilities", "district_preferences")
    return {
        "team_assignments": len(assignments),
        "availabilities": len(available),
        "wishes": len(wishes),
        "language_stations": len(languages),
    }


def _homes(
    rng: random.Random, people: Sequence[Any], homes: Sequence[Any]
) -> tuple[dict[int, int], dict[int, tuple[float, float]]]:
    """Each person's neighbourhood (a school of last election) and, for most, a home
    near it; some homes stay unknown."""
    home_of: dict[int, int] = {}
    located: dict[int, tuple[float, float]] = {}
    for person in people:
        near = rng.randrange(len(homes))
        home_of[person.id] = near
        if rng.random() < 0.92:
            located[person.id] = _near(rng, homes[near].latitude, homes[near].longitude)
    return home_of, located


async def _last_elections_teams(
    session: AsyncSession,
    rng: random.Random,
    tenant_id: int,
    last_id: int,
    people: Sequence[Any],
    homes: Sequence[Any],
    home_of: dict[int, int],
) -> list[dict[str, Any]]:
    """Last election's teams: people of the neighbourhood, accepted, one shift each."""
    active_near: dict[int, list[int]] = {}
    for person in people:
        if person.status == "active":
            active_near.setdefault(home_of[person.id], []).append(person.id)
    last_shifts = (
        await session.execute(
            select(Shift.id, Shift.station_id, StaffingNorm.role_type_id, StaffingNorm.target)
            .join(StaffingNorm, StaffingNorm.shift_id == Shift.id)
            .join(Station, Station.id == Shift.station_id)
            .where(Station.election_id == last_id, Station.kind == "polling")
            .order_by(Shift.id, StaffingNorm.role_type_id)
        )
    ).all()
    home_index = {station.id: index for index, station in enumerate(homes)}
    used: set[int] = set()
    assignments: list[dict[str, Any]] = []
    decided = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)
    for row in last_shifts:
        pool = [p for p in active_near.get(home_index[row.station_id], []) if p not in used]
        wanted = sum(rng.random() < TEAM_SHARE for _ in range(row.target))
        for person_id in rng.sample(pool, min(wanted, len(pool))):
            used.add(person_id)
            assignments.append(
                {
                    "tenant_id": tenant_id,
                    "election_id": last_id,
                    "station_id": row.station_id,
                    "shift_id": row.id,
                    "role_type_id": row.role_type_id,
                    "person_id": person_id,
                    "state": "accepted",
                    "source": "manual",
                    "overrides": [],
                    "reasons": [],
                    "offered_at": decided,
                    "responded_at": decided,
                    "created_by_label": "demo",
                }
            )
    return assignments


async def _locate_and_grade(
    session: AsyncSession,
    rng: random.Random,
    people: Sequence[Any],
    located: dict[int, tuple[float, float]],
    worked_last: set[int],
) -> None:
    """Write each person's home and experience (much or some for last election's teams)."""
    person_updates = []
    for person in people:
        latitude, longitude = located.get(person.id, (None, None))
        if person.id in worked_last:
            experience = "much" if rng.random() < 0.35 else "some"
        else:
            experience = "some" if rng.random() < 0.08 else "none"
        person_updates.append(
            {
                "id": person.id,
                "latitude": latitude,
                "longitude": longitude,
                "experience": experience,
            }
        )
    await update_in_batches(session, Person, person_updates)


async def _availability_and_wishes(
    session: AsyncSession,
    rng: random.Random,
    tenant_id: int,
    election: Election,
    people: Sequence[Any],
    homes: Sequence[Any],
    home_of: dict[int, int],
    polling: Sequence[Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The next election: when the active people can work, and the districts some wish
    for (the polling stations nearest their home)."""
    # Advance-voting stations are open on election day too.
    advance_days = sorted(
        await session.scalars(
            select(Shift.day)
            .join(Station, Station.id == Shift.station_id)
            .where(Station.election_id == election.id, Station.kind == "advance")
            .distinct()
        )
    )
    available: list[dict[str, Any]] = []
    wishes: list[dict[str, Any]] = []

    def can(person_id: int, day: dt.date, kind: str) -> None:
        available.append(
            {
                "tenant_id": tenant_id,
                "person_id": person_id,
                "election_id": election.id,
                "day": day,
                "work_kind": kind,
            }
        )

    for person in people:
        if person.status != "active":
            continue
        if rng.random() < ELECTION_DAY_SHARE:
            can(person.id, election.election_day, "election_day")
            if rng.random() < COUNTING_SHARE:
                can(person.id, election.election_day, "counting")
        if advance_days and rng.random() < ADVANCE_SHARE:
            count = min(len(advance_days), rng.randint(2, 6))
            for day in sorted(rng.sample(advance_days, count)):
                can(person.id, day, "advance")
        if rng.random() < WISH_SHARE:
            home = homes[home_of[person.id]]
            nearest = sorted(
                polling,
                key=lambda s: (
                    (s.latitude - home.latitude) ** 2 + ((s.longitude - home.longitude) * 0.56) ** 2
                ),
            )[: rng.randint(1, 3)]
            wishes.extend(
                {"tenant_id": tenant_id, "person_id": person.id, "district_id": s.district_id}
                for s in nearest
            )
    return available, wishes
