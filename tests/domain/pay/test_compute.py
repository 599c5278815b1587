"""Pay computed from what happened: fees, hours, early leavers, no-shows, supplements,
training, conflicts, rules and their rollover, and the totals the statistics read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.elections.norms import set_norms
from app.domain.elections.rollover import roll_over
from app.domain.elections.shifts import save_shift
from app.domain.models import CourseBooking, Election, PayRule
from app.domain.pay.compute import ElectionPay, compute_pay
from app.domain.pay.hours import EVENING, WEEKDAY, WEEKEND, split_seconds
from app.domain.pay.rules import rules_by_role, save_pay_rule
from app.domain.pay.totals import pay_by_role_and_district
from app.domain.staffing import assignments
from tests.domain.pay.helpers import PLANNER, STOCKHOLM, PayDay, pay_day, stamp, worked
from tests.factories import make_course, make_course_session, make_election

D = Decimal


async def _pay(db: AsyncSession, tenant: Tenant, day: PayDay, now: Any = None) -> ElectionPay:
    with tenant_scope(tenant.id):
        return await compute_pay(db, day.election_id, now=now or day.after)


def _amounts(pay: ElectionPay, person_id: int) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for line in pay.lines_of(person_id):
        found[line.kind] = found.get(line.kind, D(0)) + line.amount
    return found


async def _rule(db: AsyncSession, tenant: Tenant, day: PayDay, role: str, **data: str) -> None:
    with tenant_scope(tenant.id):
        await save_pay_rule(db, PLANNER, day.election_id, day.role_ids[role], data)


def test_it_splits_hours_into_weekday_evening_and_weekend() -> None:
    friday = dt.datetime(2026, 9, 11, 16, 0, tzinfo=STOCKHOLM)
    # Friday 16:00 to Saturday 02:00: two weekday hours, six evening hours, two weekend.
    seconds = split_seconds(friday, friday + dt.timedelta(hours=10), dt.time(18), STOCKHOLM)
    assert seconds == {WEEKDAY: 2 * 3600, EVENING: 6 * 3600, WEEKEND: 2 * 3600}


async def test_it_pays_the_day_fee_from_check_ins_and_nothing_to_a_no_show(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    pay = await _pay(db, tenant, day)
    assert _amounts(pay, day.chair_id) == {"fee": D("3700.00")}
    assert _amounts(pay, day.clerk_ids[0]) == {"fee": D("2400.00")}
    assert pay.lines_of(day.late_clerk_id) == []
    assert [(pid, p.shift_id) for pid, p in pay.no_shows] == [(day.late_clerk_id, day.late_id)]
    assert pay.conflicts == []
    assert not any(line.estimate for line in pay.lines)


async def test_it_estimates_from_the_plan_before_the_shift_is_over(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    pay = await _pay(db, tenant, day, now=day.at(6))
    assert _amounts(pay, day.late_clerk_id) == {"fee": D("2400.00")}
    assert all(line.estimate for line in pay.lines)
    assert pay.no_shows == []


async def test_it_cuts_a_fixed_fee_in_proportion_for_leaving_early_unless_told_not_to(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    clerk = day.clerk_ids[0]
    # 07:30-10:45 of a 6.5-hour shift: half of it.
    await stamp(db, tenant, day, clerk, "arrived", day.at(7, 30))
    await stamp(db, tenant, day, clerk, "left", day.at(10, 45))
    pay = await _pay(db, tenant, day)
    (fee,) = pay.lines_of(clerk)
    assert (fee.quantity, fee.rate, fee.amount) == (D("0.50"), D("2400"), D("1200.00"))
    await _rule(db, tenant, day, "clerk", basis="day", amount="2400")
    assert _amounts(await _pay(db, tenant, day), clerk) == {"fee": D("2400.00")}


async def test_a_day_fee_is_shared_by_the_days_places_and_a_missed_one_cuts_it(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    clerk = day.clerk_ids[0]
    with tenant_scope(tenant.id):
        evening = await save_shift(
            db, Actor.system("test"), day.election_id, day.station_id,
            {"name": "Kväll", "day": str(day.day), "starts_at": "14:00", "ends_at": "22:30"},
        )  # fmt: skip
        await set_norms(
            db, Actor.system("test"), day.election_id, day.station_id, evening.id,
            {"min_clerk": "1", "target_clerk": "2"},
        )  # fmt: skip
        second = await assignments.assign_person(
            db, Actor.system("test"), evening.id, day.role_ids["clerk"], clerk
        )
        second.state = "accepted"
        await db.commit()
    # Worked the early shift (07:20-14:05) and never came to the evening one (8.5 h).
    await worked(db, tenant, day)
    pay = await _pay(db, tenant, day)
    (fee,) = pay.lines_of(clerk)
    assert (fee.quantity, fee.amount) == (D("0.45"), D("1080.00"))  # 6.75 h of 15
    assert (clerk, evening.id) in [(pid, p.shift_id) for pid, p in pay.no_shows]
    # Without the cut, one shift of the day earns the day's fee; none earns nothing.
    await _rule(db, tenant, day, "clerk", basis="day", amount="2400")
    assert _amounts(await _pay(db, tenant, day), clerk) == {"fee": D("2400.00")}
    assert _amounts(await _pay(db, tenant, day), day.late_clerk_id) == {}


async def test_it_pays_hours_actually_worked_at_the_weekend_rate_with_supplements(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await _rule(
        db, tenant, day, "clerk",
        basis="hour", amount="170", weekend_rate="200", evening_rate="190",
        counting_supplement="500", day_supplement="100", travel_allowance="60",
    )  # fmt: skip
    late = day.late_clerk_id
    # Election day is a Sunday: every hour is a weekend hour. 13:30 to 23:15.
    await stamp(db, tenant, day, late, "arrived", day.at(13, 30), shift_id=day.late_id)
    await stamp(db, tenant, day, late, "left", day.at(23, 15), shift_id=day.late_id)
    pay = await _pay(db, tenant, day)
    lines = {line.kind: line for line in pay.lines_of(late)}
    assert (lines["hours_weekend"].quantity, lines["hours_weekend"].amount) == (
        D("9.75"),
        D("1950.00"),
    )
    assert lines["counting"].amount == D("500.00")
    assert lines["supplement"].amount == D("100.00")
    assert lines["travel"].amount == D("60.00")


async def test_it_pays_training_only_to_those_who_then_served(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    await _rule(db, tenant, day, "clerk", basis="day", amount="2400", training_fee="300",
                training_only_if_served="on")  # fmt: skip
    with tenant_scope(tenant.id):
        election = await db.get(Election, day.election_id)
    course = await make_course(db, tenant, election)
    session = await make_course_session(db, tenant, course, day=day.day - dt.timedelta(days=20))
    with tenant_scope(tenant.id):
        for person_id in (day.clerk_ids[0], day.late_clerk_id):
            db.add(
                CourseBooking(
                    session_id=session.id, course_id=course.id, person_id=person_id,
                    state="attended",
                )
            )  # fmt: skip
        await db.commit()
    pay = await _pay(db, tenant, day)
    assert _amounts(pay, day.clerk_ids[0])["training"] == D("300")
    # The late clerk trained but never came: no training fee either.
    assert pay.lines_of(day.late_clerk_id) == []


async def test_it_reports_conflicts_it_cannot_compute_from(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await stamp(db, tenant, day, day.chair_id, "arrived", day.at(7, 25))
    await stamp(db, tenant, day, day.clerk_ids[0], "left", day.at(14))
    # The late clerk has no place on the early shift.
    await stamp(db, tenant, day, day.late_clerk_id, "arrived", day.at(7, 30))
    pay = await _pay(db, tenant, day)
    problems = sorted((c.person_id, c.problem) for c in pay.conflicts)
    assert problems == sorted(
        [
            (day.chair_id, "never_left"),
            (day.clerk_ids[0], "never_arrived"),
            (day.late_clerk_id, "no_place"),
        ]
    )


async def test_it_refuses_a_negative_rate_and_writes_nothing(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"), pytest.raises(FieldErrors) as refused:
        await save_pay_rule(
            db, PLANNER, day.election_id, day.role_ids["clerk"],
            {"basis": "hour", "amount": "170", "evening_rate": "-5"},
        )  # fmt: skip
    assert refused.value.errors == {"evening_rate": "A rate or amount cannot be below zero."}
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(PayRule.id))) == 0
        assert (
            await db.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.code == "pay.rule.saved")
            )
            == 0
        )


async def test_it_rolls_the_rules_over_with_the_election(db: AsyncSession, tenant: Tenant) -> None:
    day = await pay_day(db, tenant)
    await _rule(db, tenant, day, "chair", basis="shift", amount="1900", day_supplement="250")
    next_day = day.day + dt.timedelta(days=4 * 364)
    with tenant_scope(tenant.id):
        copy = await roll_over(
            db, PLANNER, day.election_id,
            {"name": "Nästa val", "kind": "municipal", "election_day": next_day.isoformat()},
        )  # fmt: skip
        copied = (await rules_by_role(db, copy.id))[day.role_ids["chair"]]
    assert (copied.id is not None, copied.basis, copied.amount, copied.day_supplement) == (
        True,
        "shift",
        D("1900.00"),
        D("250.00"),
    )


async def test_it_totals_pay_per_role_and_district(db: AsyncSession, tenant: Tenant) -> None:
    day = await pay_day(db, tenant)
    await worked(db, tenant, day)
    with tenant_scope(tenant.id):
        totals = await pay_by_role_and_district(db, day.election_id, now=day.after)
    found = {(t.role_type_id, t.district_id): (t.amount, t.people) for t in totals}
    assert found == {
        (day.role_ids["chair"], day.district_id): (D("3700.00"), 1),
        (day.role_ids["clerk"], day.district_id): (D("4800.00"), 2),
    }


async def test_another_municipality_gets_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = await pay_day(db, tenant)
    await make_election(db, other_tenant)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await pay_by_role_and_district(db, day.election_id)
