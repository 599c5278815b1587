"""A worked election day for the pay tests: a staffed station, check-ins as rows."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.districts import save_district
from app.domain.models import CheckIn
from app.domain.staffing import assignments
from tests.factories import make_clerk, make_election, make_staffed_station

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PLANNER = Actor(label="planner@lund.test", user_id=None)


@dataclass(frozen=True)
class PayDay:
    """Plain ids of an election day: a chair and clerks on the early shift (07:30-14:00),
    one clerk on the late shift (13:30-22:00), all accepted."""

    election_id: int
    district_id: int
    station_id: int
    early_id: int
    late_id: int
    chair_id: int
    clerk_ids: list[int]
    late_clerk_id: int
    role_ids: dict[str, int]
    day: dt.date

    def at(self, hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
        return dt.datetime.combine(
            self.day + dt.timedelta(days=days), dt.time(hour, minute), STOCKHOLM
        )

    @property
    def after(self) -> dt.datetime:
        """The morning after election day: every shift has ended."""
        return self.at(9, days=1)


async def past_election(db: AsyncSession, tenant: Tenant) -> Any:
    """An election whose day has passed (13 September 2026), with district D1."""
    election = await make_election(db, tenant)
    with tenant_scope(tenant.id):
        await save_district(
            db, Actor.system("test"), election.id, {"code": "D1", "name": "Centrum"}
        )
    return election


async def pay_day(db: AsyncSession, tenant: Tenant, clerks: int = 2, past: bool = False) -> PayDay:
    """``past``: an election day that has passed by the real clock (for pages, which
    read the time themselves); else one ten months ahead (for services given ``now``)."""
    election = await past_election(db, tenant) if past else None
    s = await make_staffed_station(db, tenant, election)
    chair = await make_clerk(db, tenant, s["election"])
    people = [await make_clerk(db, tenant, s["election"]) for _ in range(clerks)]
    late = await make_clerk(db, tenant, s["election"])
    places = [(chair, "chair", s["early"]), *((p, "clerk", s["early"]) for p in people)]
    places.append((late, "clerk", s["late"]))
    with tenant_scope(tenant.id):
        for person, role, shift in places:
            placed = await assignments.assign_person(
                db, Actor.system("test"), shift.id, s["roles"][role].id, person.id
            )
            placed.state = "accepted"
        await db.commit()
    return PayDay(
        election_id=s["election"].id,
        district_id=s["district"].id,
        station_id=s["station"].id,
        early_id=s["early"].id,
        late_id=s["late"].id,
        chair_id=chair.id,
        clerk_ids=[p.id for p in people],
        late_clerk_id=late.id,
        role_ids={code: role.id for code, role in s["roles"].items()},
        day=s["election"].election_day,
    )


async def stamp(
    db: AsyncSession,
    tenant: Tenant,
    day: PayDay,
    person_id: int,
    kind: str,
    when: dt.datetime,
    shift_id: int | None = None,
) -> None:
    """A check-in row as the check-in service writes it (its own rules tested there)."""
    with tenant_scope(tenant.id):
        db.add(
            CheckIn(
                election_id=day.election_id,
                station_id=day.station_id,
                shift_id=shift_id or day.early_id,
                person_id=person_id,
                kind=kind,
                checked_at=when,
                source="coordinator",
                idempotency_key=uuid.uuid4().hex,
                payload_hash="0" * 64,
            )
        )
        await db.commit()


async def worked(db: AsyncSession, tenant: Tenant, day: PayDay) -> None:
    """Everyone came on time and stayed, but the late clerk (a no-show)."""
    for person_id in [day.chair_id, *day.clerk_ids]:
        await stamp(db, tenant, day, person_id, "arrived", day.at(7, 20))
        await stamp(db, tenant, day, person_id, "left", day.at(14, 5))
