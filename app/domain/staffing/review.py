"""The optimiser's proposal as a planner reviews it at any size: a summary in words
first (places filled and left open, reserves kept, travel in kilometres, the soft rules
bent), then the proposed people grouped by district, a page of districts at a time.

The optimiser's cost is a sum of weighted parts (``autostaff.costs``); a planner reads
it back here as what it counts: places, kilometres, people and shifts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.autostaff.costs import NEW_TO_TEAM, NO_EXPERIENCED, NO_LANGUAGE
from app.domain.models import AutostaffRun, Building, Person, Room, Station
from app.domain.staffing.board import distance_km
from app.domain.staffing.overview import OverviewFilters, staffing_overview
from app.domain.staffing.proposals import ProposalRow
from app.domain.staffing.reserves import reserve_people


@dataclass(frozen=True)
class ReviewFilters:
    district_id: int | None = None
    role: str = ""
    #: A part of a station's name, case-insensitive.
    station_query: str = ""


@dataclass
class ReviewRow:
    row: ProposalRow
    #: From the person's home to the station's building; None when either is unknown.
    km: float | None


@dataclass
class ReviewGroup:
    """One district's proposals (``district_id`` None: the advance voting stations)."""

    district_id: int | None
    district: str
    rows: list[ReviewRow] = field(default_factory=list)
    #: Places still open in the district once these proposals are accepted.
    left_open: int = 0


@dataclass(frozen=True)
class ReviewSummary:
    proposed: int
    open_places: int
    left_open: int
    left_below_minimum: int
    travel_km: float
    with_distance: int
    reserves_kept: int
    reserves_proposed: int
    new_to_team: int
    no_language: int
    shifts_without_experienced: int
    people_with_more_shifts: int

    @property
    def average_km(self) -> float:
        return self.travel_km / self.with_distance if self.with_distance else 0.0

    @property
    def without_distance(self) -> int:
        return self.proposed - self.with_distance


@dataclass
class Review:
    summary: ReviewSummary
    #: The groups the filters keep, each with the rows they keep.
    groups: list[ReviewGroup]
    #: How many proposals each role has, and each district (the other filters as chosen).
    role_counts: dict[str, int]
    district_counts: dict[int | None, int]
    #: The election's reserves, for the rows to mark them.
    reserve_ids: set[int] = field(default_factory=set)

    @property
    def shown(self) -> int:
        return sum(len(group.rows) for group in self.groups)


async def review(
    session: AsyncSession, run: AutostaffRun, rows: list[ProposalRow], filters: ReviewFilters
) -> Review:
    """The summary of the whole proposal and its rows grouped by district under
    ``filters``; ``rows`` are the run's pending items (``proposals.proposal_rows``)."""
    kms = await _distances(session, rows)
    reviewed = [ReviewRow(row, kms.get((row.person_id, row.station_id))) for row in rows]
    open_now = await _open_by_district(session, run.election_id)
    reserves = await reserve_people(session, run.election_id)
    summary = _summary(run, reviewed, open_now, reserves)
    query = " ".join(filters.station_query.lower().split())

    def kept(row: ProposalRow, *, role: bool = True, district: bool = True) -> bool:
        return (
            (not district or filters.district_id in (None, row.district_id))
            and (not role or not filters.role or row.role == filters.role)
            and (not query or query in row.station.lower())
        )

    groups: dict[int | None, ReviewGroup] = {}
    pending: Counter[int | None] = Counter(row.district_id for row in rows)
    for item in reviewed:
        if kept(item.row):
            group = groups.setdefault(
                item.row.district_id, ReviewGroup(item.row.district_id, item.row.district)
            )
            group.rows.append(item)
    for district_id, group in groups.items():
        group.left_open = max(0, open_now.get(district_id, 0) - pending[district_id])
    ordered = sorted(groups.values(), key=lambda g: (g.district_id is None, g.district))
    return Review(
        summary,
        ordered,
        dict(Counter(row.role for row in rows if kept(row, role=False))),
        dict(Counter(row.district_id for row in rows if kept(row, district=False))),
        reserves,
    )


def _summary(
    run: AutostaffRun,
    rows: list[ReviewRow],
    open_now: dict[int | None, int],
    reserves: set[int],
) -> ReviewSummary:
    """The proposal in words: counts read back from the run's cost parts (each part is
    a count times its weight) and from its pending rows."""
    costs = run.costs
    known = [item.km for item in rows if item.km is not None]
    proposed_people = {item.row.person_id for item in rows}
    per_person = Counter(item.row.person_id for item in rows)
    left_open = sum(open_now.values()) - len(rows)
    return ReviewSummary(
        proposed=len(rows),
        open_places=int(costs.get("places", 0)),
        left_open=max(0, left_open),
        left_below_minimum=int(costs.get("unfilled_below_minimum", 0)),
        travel_km=sum(known),
        with_distance=len(known),
        reserves_kept=len(reserves - proposed_people),
        reserves_proposed=len(reserves & proposed_people),
        new_to_team=int(costs.get("team", 0)) // NEW_TO_TEAM,
        no_language=int(costs.get("language", 0)) // NO_LANGUAGE,
        shifts_without_experienced=int(costs.get("experience", 0)) // NO_EXPERIENCED,
        people_with_more_shifts=sum(1 for count in per_person.values() if count > 1),
    )


async def _open_by_district(session: AsyncSession, election_id: int) -> dict[int | None, int]:
    """Places open up to the target now, per district (None: advance voting)."""
    found = await staffing_overview(session, election_id, OverviewFilters())
    open_places: dict[int | None, int] = {}
    for line in found.stations:
        open_places[line.district_id] = open_places.get(line.district_id, 0) + line.tally.missing
    return open_places


async def _distances(
    session: AsyncSession, rows: list[ProposalRow]
) -> dict[tuple[int, int], float | None]:
    """Each (person, station) pair's great-circle distance in km, None when unknown."""
    person_ids = {row.person_id for row in rows}
    station_ids = {row.station_id for row in rows}
    homes = {
        person_id: (lat, lon)
        for person_id, lat, lon in await session.execute(
            select(Person.id, Person.latitude, Person.longitude).where(Person.id.in_(person_ids))
        )
    }
    places = {
        station_id: (lat, lon)
        for station_id, lat, lon in await session.execute(
            select(Station.id, Building.latitude, Building.longitude)
            .join(Room, Room.id == Station.room_id)
            .join(Building, Building.id == Room.building_id)
            .where(Station.id.in_(station_ids))
        )
    }
    return {
        (row.person_id, row.station_id): distance_km(
            homes.get(row.person_id, (None, None)), places.get(row.station_id, (None, None))
        )
        for row in rows
    }
