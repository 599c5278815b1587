"""One person's shifts in an election as pay sees them: the check-ins, the office's
settled hours, and what stands in the way (a conflict, a no-show)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.elections.elections import get_election
from app.domain.models import PaySettlement, Person, Shift, Station
from app.domain.pay import sources
from app.domain.pay.compute import compute_pay
from app.domain.pay.sources import Stamp


@dataclass(frozen=True)
class ShiftReview:
    shift_id: int
    station: str
    shift: str
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    #: None: checked in without an accepted place.
    role_type_id: int | None
    stamps: list[Stamp]
    settlement: PaySettlement | None
    #: A conflict (``never_left``, ``never_arrived``, ``no_place``), ``no_show``, or None.
    problem: str | None


async def places_of(
    session: AsyncSession, election_id: int, person_id: int, now: dt.datetime | None = None
) -> list[ShiftReview]:
    """The person's accepted places and any other shift they checked in on, by time."""
    election = await get_election(session, election_id)
    people = select(Person.id).where(Person.id == person_id)
    pay = await compute_pay(session, election.id, people=people, now=now)
    stamps = await sources.stamps(session, election.id, people)
    settled = await sources.settlements(session, election.id, people)
    problems = {c.shift_id: c.problem for c in pay.conflicts}
    problems.update({place.shift_id: "no_show" for _pid, place in pay.no_shows})
    found = [
        ShiftReview(
            p.shift_id,
            p.station,
            p.shift,
            p.day,
            p.starts_at,
            p.ends_at,
            p.role_type_id,
            stamps.get((p.shift_id, person_id), []),
            settled.get((p.shift_id, person_id)),
            problems.get(p.shift_id),
        )
        for p in await sources.accepted_places(session, election.id, people)
    ]
    placed = {review.shift_id for review in found}
    others = {shift_id for shift_id, _pid in stamps} | {shift_id for shift_id, _pid in settled}
    if others - placed:
        rows = await session.execute(
            select(Shift, Station.name)
            .join(Station, Station.id == Shift.station_id)
            .where(Shift.id.in_(others - placed))
        )
        for shift, station in rows:
            found.append(
                ShiftReview(
                    shift.id,
                    station,
                    shift.name,
                    shift.day,
                    shift.starts_at,
                    shift.ends_at,
                    None,
                    stamps.get((shift.id, person_id), []),
                    settled.get((shift.id, person_id)),
                    problems.get(shift.id),
                )
            )
    found.sort(key=lambda review: (review.day, review.starts_at))
    return found
