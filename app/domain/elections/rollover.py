"""Starting the next election from this one: districts, stations, rooms, hours, shifts
and norms are copied with their days moved, the pay rules and the pay budget as they
were; the old election is left as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.domain.elections.elections import clean_election, get_election
from app.domain.models import (
    District,
    Election,
    PayBudget,
    PayRule,
    Shift,
    StaffingNorm,
    Station,
    StationOpening,
)
from app.domain.pay.rules import write_rule_copies
from app.domain.statistics.budgets import write_budget_copies


@dataclass(frozen=True)
class RolloverPreview:
    source: Election
    districts: int
    polling_stations: int
    advance_stations: int
    openings: int
    shifts: int
    norms: int
    day_offset: int
    #: Opening days and shifts that fall outside the new election's voting days.
    dropped_days: int
    #: The pay rules and the pay budget's lines, copied as they are.
    pay_rules: int = 0
    budget_lines: int = 0


async def _load(
    session: AsyncSession, election_id: int
) -> tuple[Election, list[District], list[Station]]:
    source = await get_election(session, election_id)
    districts = list(
        await session.scalars(
            select(District).where(District.election_id == source.id).order_by(District.code)
        )
    )
    stations = list(
        await session.scalars(
            select(Station)
            .where(Station.election_id == source.id)
            .options(
                selectinload(Station.openings),
                selectinload(Station.shifts).selectinload(Shift.norms),
            )
            .order_by(Station.id)
            .execution_options(populate_existing=True)
        )
    )
    return source, districts, stations


def _shift_day(day: dt.date, offset: dt.timedelta, target: Mapping[str, Any]) -> dt.date | None:
    """The copied day, or None when it falls outside the new election's voting days."""
    moved = day + offset
    if moved == target["election_day"]:
        return moved
    start, end = target.get("advance_start"), target.get("advance_end")
    if start and end and start <= moved <= end:
        return moved
    return None


async def preview_rollover(
    session: AsyncSession, election_id: int, data: Mapping[str, Any]
) -> RolloverPreview:
    """What a rollover into an election described by ``data`` would copy."""
    target = clean_election(data)
    source, districts, stations = await _load(session, election_id)
    offset = target["election_day"] - source.election_day
    openings = shifts = norms = dropped = 0
    for station in stations:
        for opening in station.openings:
            if _shift_day(opening.day, offset, target):
                openings += 1
            else:
                dropped += 1
        for shift in station.shifts:
            if _shift_day(shift.day, offset, target):
                shifts += 1
                norms += len(shift.norms)
            else:
                dropped += 1
    return RolloverPreview(
        source=source,
        districts=len(districts),
        polling_stations=sum(s.kind == "polling" for s in stations),
        advance_stations=sum(s.kind == "advance" for s in stations),
        openings=openings,
        shifts=shifts,
        norms=norms,
        day_offset=offset.days,
        dropped_days=dropped,
        pay_rules=await _count(session, PayRule, source.id),
        budget_lines=await _count(session, PayBudget, source.id),
    )


async def _count(
    session: AsyncSession, model: type[PayRule] | type[PayBudget], election_id: int
) -> int:
    return int(
        await session.scalar(select(func.count(model.id)).where(model.election_id == election_id))
        or 0
    )


async def roll_over(
    session: AsyncSession, actor: Actor, election_id: int, data: Mapping[str, Any]
) -> Election:
    """Create the next election as a copy of this one's structure, in one transaction."""
    target = clean_election({**data, "status": "planning"})
    source, districts, stations = await _load(session, election_id)
    offset = target["election_day"] - source.election_day
    election = Election(**target, rolled_over_from_id=source.id)
    session.add(election)
    await session.flush()
    district_map: dict[int, District] = {}
    for district in districts:
        copy = District(
            election_id=election.id,
            code=district.code,
            name=district.name,
            eligible_voters=district.eligible_voters,
        )
        session.add(copy)
        district_map[district.id] = copy
    await session.flush()
    for station in stations:
        # Children hang on the relationships, so one flush writes the whole tree.
        session.add(
            Station(
                election_id=election.id,
                district_id=district_map[station.district_id].id if station.district_id else None,
                room_id=station.room_id,
                kind=station.kind,
                name=station.name,
                languages=list(station.languages),
                openings=[
                    StationOpening(day=day, opens_at=opening.opens_at, closes_at=opening.closes_at)
                    for opening in station.openings
                    if (day := _shift_day(opening.day, offset, target))
                ],
                shifts=[
                    Shift(
                        day=day,
                        name=shift.name,
                        names=dict(shift.names),
                        starts_at=shift.starts_at,
                        ends_at=shift.ends_at,
                        norms=[
                            StaffingNorm(
                                role_type_id=n.role_type_id, minimum=n.minimum, target=n.target
                            )
                            for n in shift.norms
                        ],
                    )
                    for shift in station.shifts
                    if (day := _shift_day(shift.day, offset, target))
                ],
            )
        )
    # The pay rules go with the structure: the office starts from last time's rates.
    write_rule_copies(
        session,
        list(await session.scalars(select(PayRule).where(PayRule.election_id == source.id))),
        election.id,
    )
    # So does the pay budget, per role and per (copied) district: last time's amounts
    # are where this year's budget starts.
    budgets = write_budget_copies(
        session,
        list(await session.scalars(select(PayBudget).where(PayBudget.election_id == source.id))),
        election.id,
        {old_id: copy.id for old_id, copy in district_map.items()},
        actor.label,
    )
    await session.flush()
    await record(
        session,
        actor,
        "elections.election.rolled_over",
        election,
        data={
            "from": source.id,
            "stations": len(stations),
            "districts": len(districts),
            "budget_lines": budgets,
        },
    )
    await session.commit()
    return election
