"""Demo data for the statistics page: a history for the last election's staffing and a
pay budget for both elections.

The last election's teams are written in one go by ``app.demo.staffing`` (made now,
answered on one day in June); a real office places and hears back over months. Here
each of their assignments is made on a day between March and June, offered a few days
later and answered within two weeks, so the page's weekly history has a shape to show.
The budget is what every target place would cost at the role's fee, a few districts
kept tighter so that some show over it.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.tenancy import tenant_scope
from app.demo.rows import insert_in_batches, update_in_batches
from app.domain.models import (
    Assignment,
    Election,
    PayBudget,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
)

#: The season the last election's teams were placed in.
FIRST_PLACED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PLACING_DAYS = 120
#: Of the districts, this share gets a budget below what its places cost.
TIGHT_SHARE = 0.15


async def fill_statistics_demo(
    session: AsyncSession, tenant_id: int, election_id: int, size: str = "small"
) -> None:
    """Spread the teams of the election ``election_id`` was rolled over from over the
    spring, and give both elections a budget."""
    rng = random.Random(f"stemma-statistics-{size}")  # noqa: S311 - demo data
    with tenant_scope(tenant_id):
        election = await session.scalar(select(Election).where(Election.id == election_id))
        assert election is not None and election.rolled_over_from_id is not None
        last_id = election.rolled_over_from_id
        rows = (
            await session.execute(
                select(Assignment.id)
                .where(Assignment.election_id == last_id)
                .order_by(Assignment.id)
            )
        ).scalars()
        changes = []
        for assignment_id in rows:
            made = FIRST_PLACED + dt.timedelta(
                days=min(rng.expovariate(1 / 35), PLACING_DAYS), hours=rng.randrange(8)
            )
            offered = made + dt.timedelta(days=rng.randrange(1, 8))
            answered = offered + dt.timedelta(days=rng.randrange(0, 15), hours=rng.randrange(10))
            changes.append(
                {
                    "id": assignment_id,
                    "created_at": made,
                    "offered_at": offered,
                    "responded_at": answered,
                    "updated_at": answered,
                }
            )
        await update_in_batches(session, Assignment, changes)
        for each in (last_id, election_id):
            await insert_in_batches(
                session, PayBudget, await _budget(session, rng, tenant_id, each)
            )
        await session.commit()


async def _budget(
    session: AsyncSession, rng: random.Random, tenant_id: int, election_id: int
) -> list[dict[str, object]]:
    """Every target place at its role's fee (per day: once a shift; per hour: its
    hours), per role and per district; some districts get less."""
    places = (
        await session.execute(
            select(
                StaffingNorm.role_type_id,
                StaffingNorm.target,
                Station.district_id,
                Shift.starts_at,
                Shift.ends_at,
                RoleType.pay_amount,
                RoleType.pay_unit,
            )
            .join(Shift, Shift.id == StaffingNorm.shift_id)
            .join(Station, Station.id == Shift.station_id)
            .join(RoleType, RoleType.id == StaffingNorm.role_type_id)
            .where(Station.election_id == election_id)
        )
    ).all()
    roles: dict[int, Decimal] = {}
    districts: dict[int | None, Decimal] = {}
    for role_id, target, district_id, starts, ends, amount, unit in places:
        hours = (
            Decimal(
                (
                    dt.datetime.combine(dt.date.min, ends)
                    - dt.datetime.combine(dt.date.min, starts)
                ).seconds
            )
            / 3600
        )
        cost = amount * target * (hours if unit == "hour" else 1)
        roles[role_id] = roles.get(role_id, Decimal(0)) + cost
        districts[district_id] = districts.get(district_id, Decimal(0)) + cost
    base = {"tenant_id": tenant_id, "election_id": election_id, "updated_by_label": "demo"}
    lines: list[dict[str, object]] = [
        {
            **base,
            "scope": "role",
            "role_type_id": role_id,
            "district_id": None,
            "amount": _round(cost),
        }
        for role_id, cost in roles.items()
    ]
    for district_id, cost in districts.items():
        share = Decimal("0.5") if rng.random() < TIGHT_SHARE else Decimal(1)
        lines.append(
            {
                **base,
                "scope": "advance" if district_id is None else "district",
                "role_type_id": None,
                "district_id": district_id,
                "amount": _round(cost * share),
            }
        )
    return lines


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(100)) if amount >= 100 else amount.quantize(Decimal("0.01"))
