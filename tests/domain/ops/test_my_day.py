"""What a clerk's phone offers to check in on: the shifts of the day, and any other
whose check-in is open (a shift starting soon after midnight, a count past it)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Shift
from app.domain.ops.my_day import shifts_of_the_day
from tests.domain.ops.test_checkins import STOCKHOLM, ops_day


@pytest.mark.parametrize(
    ("starts", "ends", "hour", "days", "now_or_later"),
    [
        # 07:30-14:00: on its day, from midnight (to check in from 05:30), not the day before.
        ((7, 30), (14, 0), 0, 0, "now"),
        ((7, 30), (14, 0), 23, -1, "later"),
        # At 00:30: check-in opens at 22:30 the evening before.
        ((0, 30), (7, 0), 21, -1, "later"),
        ((0, 30), (7, 0), 23, -1, "now"),
        # Until 23:30: check-out until 01:30 the next night, then gone.
        ((16, 0), (23, 30), 1, 1, "now"),
        ((16, 0), (23, 30), 2, 1, None),
    ],
)
async def test_the_phone_offers_the_shifts_whose_check_in_is_open(
    db: AsyncSession,
    tenant: Tenant,
    starts: tuple[int, int],
    ends: tuple[int, int],
    hour: int,
    days: int,
    now_or_later: str | None,
) -> None:
    day = await ops_day(db, tenant, clerks=0)
    with tenant_scope(tenant.id):
        await db.execute(
            update(Shift)
            .where(Shift.id == day.early_id)
            .values(starts_at=dt.time(*starts), ends_at=dt.time(*ends))
        )
        await db.commit()
        now, later = await shifts_of_the_day(db, day.chair_id, day.at(hour, days=days), STOCKHOLM)
    found = {"now": [m.shift.id for m in now], "later": [m.shift.id for m in later]}
    expected = {"now": [], "later": []}
    if now_or_later:
        expected[now_or_later] = [day.early_id]
    assert found == expected
