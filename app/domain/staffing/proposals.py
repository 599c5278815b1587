"""Reading an optimiser run for review: its items with names, grouped by station."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _, named
from app.domain.models import AutostaffRun, District, Person, RoleType, Shift, Station


@dataclass(frozen=True)
class ProposalRow:
    index: int
    station_id: int
    station: str
    district: str
    district_id: int | None
    day: dt.date
    shift: str
    role: str
    person_id: int
    person: str
    reasons: list[str]


async def get_run(session: AsyncSession, election_id: int, run_id: int) -> AutostaffRun:
    run = await session.scalar(
        select(AutostaffRun).where(
            AutostaffRun.id == run_id, AutostaffRun.election_id == election_id
        )
    )
    if run is None:
        raise NotFound(_("Not found."))
    return run


async def latest_run(session: AsyncSession, election_id: int) -> AutostaffRun | None:
    return await session.scalar(
        select(AutostaffRun)
        .where(AutostaffRun.election_id == election_id)
        .order_by(AutostaffRun.id.desc())
        .limit(1)
    )


async def proposal_rows(
    session: AsyncSession, run: AutostaffRun, district_id: int | None = None
) -> list[ProposalRow]:
    """The run's items as rows a planner reads, optionally for one district."""
    items = run.items
    shift_ids = {item["shift_id"] for item in items}
    person_ids = {item["person_id"] for item in items}
    # Plain columns, not whole rows: a Stockholm-scale proposal has thousands of items.
    shifts = {
        row.id: row
        for row in await session.execute(
            select(
                Shift.id,
                Shift.day,
                Shift.name,
                Shift.names,
                Shift.starts_at,
                Shift.ends_at,
                Station.id.label("station_id"),
                Station.name.label("station"),
                Station.district_id,
                District.code.label("district_code"),
                District.name.label("district_name"),
            )
            .join(Station, Station.id == Shift.station_id)
            .outerjoin(District, District.id == Station.district_id)
            .where(Shift.id.in_(shift_ids))
        )
    }
    people = {
        person_id: f"{first} {last}"
        for person_id, first, last in await session.execute(
            select(Person.id, Person.first_name, Person.last_name).where(Person.id.in_(person_ids))
        )
    }
    roles = {r.id: named(r) for r in await session.scalars(select(RoleType))}
    rows = []
    for index, item in enumerate(items):
        if item.get("applied"):
            continue
        found = shifts.get(item["shift_id"])
        if found is None:
            continue
        shift = found
        if district_id is not None and shift.district_id != district_id:
            continue
        rows.append(
            ProposalRow(
                index=index,
                station_id=shift.station_id,
                station=shift.station,
                district=f"{shift.district_code} {shift.district_name}"
                if shift.district_code is not None
                else "",
                district_id=shift.district_id,
                day=shift.day,
                shift=f"{named(shift)} {shift.starts_at:%H:%M}–{shift.ends_at:%H:%M}",
                role=roles.get(item["role_type_id"], ""),
                person_id=item["person_id"],
                person=people.get(item["person_id"], ""),
                reasons=list(item.get("reasons", [])),
            )
        )
    rows.sort(key=lambda r: (r.district, r.station, r.day, r.shift, r.role, r.person))
    return rows
