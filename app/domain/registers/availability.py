"""When and where a person can work: availability per election day and kind of work, and
district wishes. Approved applications write it; staffing reads it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import Availability, District, DistrictPreference, Election


@dataclass
class ElectionAvailability:
    election: Election
    days: dict[dt.date, list[str]] = field(default_factory=dict)
    districts: list[District] = field(default_factory=list)


async def for_person(session: AsyncSession, person_id: int) -> list[ElectionAvailability]:
    """A person's availability and district wishes, per election, newest election first."""
    by_election: dict[int, ElectionAvailability] = {}
    rows = await session.execute(
        select(Availability, Election)
        .join(Election, Election.id == Availability.election_id)
        .where(Availability.person_id == person_id)
        .order_by(Election.election_day.desc(), Availability.day, Availability.work_kind)
    )
    for availability, election in rows:
        entry = by_election.setdefault(election.id, ElectionAvailability(election))
        entry.days.setdefault(availability.day, []).append(availability.work_kind)
    wishes = await session.execute(
        select(District, Election)
        .join(DistrictPreference, DistrictPreference.district_id == District.id)
        .join(Election, Election.id == District.election_id)
        .where(DistrictPreference.person_id == person_id)
        .order_by(District.code)
    )
    for district, election in wishes:
        entry = by_election.setdefault(election.id, ElectionAvailability(election))
        entry.districts.append(district)
    return sorted(by_election.values(), key=lambda e: e.election.election_day, reverse=True)
