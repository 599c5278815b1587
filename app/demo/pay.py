"""Demo data for pay: rules for the demo's elections, and the last election's day as it
happened (check-ins), so that a newcomer sees each person's pay computed, a district
ready to approve, a few no-shows and early leavers, and two check-ins to settle.

Deterministic (seeded random) and written in bulk: the large demo's last election has
thousands of places.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import refresh_statistics
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.demo.rows import insert_in_batches
from app.domain.models import Assignment, CheckIn, Election, PayRule, RoleType, Shift, Station

#: role code -> the rule's fields; the rest as the role type says.
DEMO_RULES: dict[str, dict[str, Any]] = {
    "chair": {"basis": "day", "amount": "3700", "counting_supplement": "500",
              "day_supplement": "300", "training_fee": "400"},
    "vice_chair": {"basis": "day", "amount": "2900", "counting_supplement": "500",
                   "training_fee": "400"},
    "clerk": {"basis": "day", "amount": "2400", "counting_supplement": "400",
              "training_fee": "300"},
    "reserve": {"basis": "day", "amount": "2400", "training_fee": "300"},
    "host": {"basis": "hour", "amount": "170", "evening_rate": "190", "weekend_rate": "210"},
}  # fmt: skip
#: Of the last election's places: who never came, and who left early.
NO_SHOW_SHARE = 0.03
EARLY_LEAVE_SHARE = 0.03


def _rules(election_id: int, roles: dict[str, int], tenant_id: int) -> list[dict[str, Any]]:
    rows = []
    for code, fields in DEMO_RULES.items():
        if code not in roles:
            continue
        row: dict[str, Any] = {
            "tenant_id": tenant_id,
            "election_id": election_id,
            "role_type_id": roles[code],
            "evening_rate": None,
            "weekend_rate": None,
            "evening_from": dt.time(18, 0),
            "prorate_early_leave": True,
            "day_supplement": Decimal("0"),
            "counting_supplement": Decimal("0"),
            "training_fee": Decimal("0"),
            "training_only_if_served": True,
            "travel_allowance": Decimal("0"),
            "updated_at": dt.datetime.now(dt.UTC),
        }
        row.update({k: Decimal(v) if k != "basis" else v for k, v in fields.items()})
        rows.append(row)
    return rows


def _stamp(
    tenant_id: int, election_id: int, place: Any, kind: str, at: dt.datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "election_id": election_id,
        "station_id": place.station_id,
        "shift_id": place.shift_id,
        "person_id": place.person_id,
        "assignment_id": place.id,
        "kind": kind,
        "checked_at": at,
        "device_time": at,
        "source": "portal",
        "idempotency_key": f"demo-{uuid.uuid4().hex}",
        "payload_hash": "0" * 64,
        "created_by_label": "demo",
    }


def _day_of(
    rng: random.Random, tenant_id: int, election_id: int, places: list[Any], zone: ZoneInfo
) -> list[dict[str, Any]]:
    """Check-ins of the places: most on time, a few never came or left early; in the
    second district two never checked out (the conflicts to settle)."""
    districts = sorted({p.district_id for p in places if p.district_id is not None})
    unsettled = districts[1] if len(districts) > 1 else None
    left_open = 0
    rows = []
    for place in places:
        starts = dt.datetime.combine(place.day, place.starts_at, zone)
        ends = dt.datetime.combine(place.day, place.ends_at, zone)
        # The first district is clean: ready to approve.
        draw = 1.0 if districts and place.district_id == districts[0] else rng.random()
        if draw < NO_SHOW_SHARE:
            continue
        arrived = starts - dt.timedelta(minutes=rng.randint(5, 25))
        rows.append(_stamp(tenant_id, election_id, place, "arrived", arrived))
        if place.district_id == unsettled and left_open < 2:
            left_open += 1
            continue
        if draw < NO_SHOW_SHARE + EARLY_LEAVE_SHARE:
            left = starts + (ends - starts) * rng.uniform(0.5, 0.8)
        else:
            left = ends + dt.timedelta(minutes=rng.randint(0, 20))
        rows.append(_stamp(tenant_id, election_id, place, "left", left))
    return rows


async def fill_pay_demo(session: AsyncSession, tenant_id: int, upcoming_id: int) -> None:
    """Pay rules for every election of the demo, and the last election's check-ins."""
    rng = random.Random(f"stemma-demo-pay-{tenant_id}")  # noqa: S311 - demo data
    with tenant_scope(tenant_id):
        tenant = await session.get(Tenant, tenant_id)
        zone = ZoneInfo(tenant.timezone if tenant else "Europe/Stockholm")
        roles = {r.code: r.id for r in await session.scalars(select(RoleType))}
        elections = list(await session.scalars(select(Election).order_by(Election.election_day)))
        for election in elections:
            await insert_in_batches(session, PayRule, _rules(election.id, roles, tenant_id))
        for election in elections:
            if election.id == upcoming_id:
                continue
            places = (
                await session.execute(
                    select(
                        Assignment.id,
                        Assignment.person_id,
                        Assignment.shift_id,
                        Assignment.station_id,
                        Station.district_id,
                        Shift.day,
                        Shift.starts_at,
                        Shift.ends_at,
                    )
                    .join(Shift, Shift.id == Assignment.shift_id)
                    .join(Station, Station.id == Assignment.station_id)
                    .where(Assignment.election_id == election.id, Assignment.state == "accepted")
                    .order_by(Assignment.id)
                )
            ).all()
            rows = _day_of(rng, tenant_id, election.id, list(places), zone)
            await insert_in_batches(session, CheckIn, rows)
        await session.commit()
    # Thousands of check-ins at once: without fresh statistics PostgreSQL plans the pay
    # queries for a handful of rows (seconds instead of milliseconds).
    await refresh_statistics(session, "check_ins", "pay_rules", "assignments")
