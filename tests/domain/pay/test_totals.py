"""Pay per role and district summed in the database equals the per-person computation
(which payroll and approval use) on a varied election: rules per role (a day fee with
supplements, a prorated shift fee, an hourly rate), check-ins to the second and early
leavers, a no-show, a conflict, settled hours, two places, training, adjustments either
way, an advance voting station, and districts approved (with a correction) beside ones
not approved; read before, during and after election day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.districts import save_district
from app.domain.elections.norms import set_norms
from app.domain.elections.shifts import save_shift
from app.domain.elections.stations import save_station
from app.domain.models import CourseBooking, District, Election, PayEntry, RoleType
from app.domain.pay.adjustments import add_adjustment, settle_hours
from app.domain.pay.approval import approve_district
from app.domain.pay.compute import compute_pay
from app.domain.pay.review import ADVANCE
from app.domain.pay.rules import save_pay_rule
from app.domain.pay.totals import pay_by_role_and_district
from app.domain.staffing import assignments
from tests.domain.pay.helpers import PLANNER, PayDay, pay_day, stamp
from tests.factories import make_clerk, make_course, make_course_session, make_election

D = Decimal
SYSTEM = Actor.system("test")
Totals = dict[tuple[int, int | None], tuple[Decimal, int]]


async def _per_person(db: AsyncSession, election_id: int, now: dt.datetime) -> Totals:
    """The totals as the lines computed person by person add up."""
    pay = await compute_pay(db, election_id, now=now)
    amounts: dict[tuple[int, int | None], Decimal] = {}
    people: dict[tuple[int, int | None], set[int]] = {}
    for line in pay.lines:
        if line.role_type_id is None:
            continue
        key = (line.role_type_id, line.district_id)
        amounts[key] = amounts.get(key, D(0)) + line.amount
        people.setdefault(key, set()).add(line.person_id)
    return {key: (amount, len(people[key])) for key, amount in amounts.items()}


async def _summed(db: AsyncSession, election_id: int, now: dt.datetime) -> Totals:
    totals = await pay_by_role_and_district(db, election_id, now=now)
    return {(t.role_type_id, t.district_id): (t.amount, t.people) for t in totals}


async def _place(db: AsyncSession, shift_id: int, role_id: int, person_id: int) -> None:
    # Past the soft rules (available that day): what matters here is the place.
    placed = await assignments.assign_person(
        db, SYSTEM, shift_id, role_id, person_id, override=True
    )
    placed.state = "accepted"
    await db.commit()


async def _shift(
    db: AsyncSession, election_id: int, station_id: int, day: dt.date, hours: tuple[str, str]
) -> Any:
    shift = await save_shift(
        db, SYSTEM, election_id, station_id,
        {"name": f"Pass {hours[0]}", "day": str(day), "starts_at": hours[0], "ends_at": hours[1]},
    )  # fmt: skip
    await set_norms(
        db, SYSTEM, election_id, station_id, shift.id,
        {"min_clerk": "0", "target_clerk": "4", "min_vice_chair": "0", "target_vice_chair": "2"},
    )  # fmt: skip
    return shift


async def _varied(db: AsyncSession, tenant: Tenant) -> tuple[PayDay, dict[str, Any]]:
    day = await pay_day(db, tenant, clerks=3)
    roles = day.role_ids
    chair, (leaver, exact, forgot) = day.chair_id, day.clerk_ids
    # The late clerk never comes (an estimate until the late shift ends).
    absent = day.late_clerk_id
    with tenant_scope(tenant.id):
        election = await db.get(Election, day.election_id)
        assert election is not None and election.advance_start is not None
        second = await db.scalar(
            select(District).where(District.election_id == election.id, District.code == "D2")
        )
        assert second is not None
        north = await save_station(
            db, SYSTEM, election.id,
            {"name": "Norrskolan", "kind": "polling", "district_id": str(second.id)},
        )  # fmt: skip
        advance = await save_station(
            db, SYSTEM, election.id, {"name": "Stadshuset", "kind": "advance"}
        )
        north_day = await _shift(db, election.id, north.id, day.day, ("08:00", "21:30"))
        before = day.day - dt.timedelta(days=3)
        assert before >= election.advance_start
        advance_shift = await _shift(db, election.id, advance.id, before, ("10:00", "18:00"))
        for rule, values in {
            "chair": {"basis": "day", "amount": "3700", "day_supplement": "300",
                      "counting_supplement": "500", "training_fee": "400",
                      "training_only_if_served": "on", "travel_allowance": "60",
                      "prorate_early_leave": "on"},
            "clerk": {"basis": "shift", "amount": "2400.55", "counting_supplement": "400",
                      "training_fee": "300", "travel_allowance": "45.50",
                      "prorate_early_leave": "on"},
            "vice_chair": {"basis": "hour", "amount": "170", "evening_rate": "190",
                           "weekend_rate": "210.25", "training_fee": "250"},
        }.items():  # fmt: skip
            await save_pay_rule(db, PLANNER, election.id, roles[rule], values)
    north_clerks = [await make_clerk(db, tenant, election) for _ in range(3)]
    host = await make_clerk(db, tenant, election)
    early_voter = await make_clerk(db, tenant, election)
    with tenant_scope(tenant.id):
        for person in north_clerks:
            await _place(db, north_day.id, roles["clerk"], person.id)
        await _place(db, north_day.id, roles["vice_chair"], host.id)
        await _place(db, advance_shift.id, roles["clerk"], early_voter.id)
        # Two places: the advance shift, then the late shift of election day.
        await _place(db, advance_shift.id, roles["clerk"], absent)
    at = day.at
    for person_id, came, went in (
        (chair, at(7, 20), at(14, 5)),
        (leaver, at(7, 31), at(10, 47)),
        (exact, at(7, 29) + dt.timedelta(microseconds=700_000), at(13, 59, 0)),
        (forgot, at(7, 25), None),
    ):
        await stamp(db, tenant, day, person_id, "arrived", came)
        if went is not None:
            await stamp(db, tenant, day, person_id, "left", went)
    first, second_clerk, third = north_clerks
    await stamp(db, tenant, day, first.id, "arrived", at(7, 55), north_day.id)
    await stamp(db, tenant, day, first.id, "left", at(21, 40), north_day.id)
    await stamp(db, tenant, day, second_clerk.id, "arrived", at(8, 0), north_day.id)
    await stamp(db, tenant, day, second_clerk.id, "left", at(12, 0), north_day.id)
    await stamp(db, tenant, day, host.id, "arrived", at(8, 5), north_day.id)
    await stamp(db, tenant, day, host.id, "left", at(21, 0), north_day.id)
    # The third north clerk never comes; the early voter keeps their advance day.
    del third
    course = await make_course(db, tenant, election)
    session = await make_course_session(db, tenant, course, day=day.day - dt.timedelta(days=20))
    with tenant_scope(tenant.id):
        for person_id in (chair, leaver, absent, north_clerks[2].id, host.id):
            db.add(
                CourseBooking(
                    session_id=session.id, course_id=course.id, person_id=person_id,
                    state="attended",
                )
            )  # fmt: skip
        await db.commit()
        await add_adjustment(db, PLANNER, election.id, exact, {"amount": "150", "reason": "Bil"})
        await add_adjustment(
            db, PLANNER, election.id, chair, {"amount": "-50.50", "reason": "Förskott"}
        )
        await add_adjustment(
            db, PLANNER, election.id, first.id, {"amount": "99.99", "reason": "Mat"}
        )
    return day, {"forgot": forgot, "north": second.id, "advance_shift": advance_shift.id}


async def test_the_sums_equal_the_per_person_pay_before_during_and_after_the_day(
    db: AsyncSession, tenant: Tenant
) -> None:
    day, made = await _varied(db, tenant)
    moments = [day.at(9, days=-10), day.at(9, days=-3), day.at(15), day.at(21, 45), day.after]
    with tenant_scope(tenant.id):
        for now in moments:
            summed = await _summed(db, day.election_id, now)
            assert summed == await _per_person(db, day.election_id, now), now
        after = await _summed(db, day.election_id, day.after)
    # Not trivially equal: five roles in three districts, each with people and pay.
    assert {district for _role, district in after} == {day.district_id, made["north"], None}
    assert len(after) == 5
    assert all(amount > 0 and people > 0 for amount, people in after.values())
    # The plain chair: 3700 fee, 300 supplement, 400 training, 60 travel, less 50.50.
    assert after[(day.role_ids["chair"], day.district_id)] == (D("4409.50"), 1)


async def test_the_sums_stay_equal_through_settled_hours_approval_and_corrections(
    db: AsyncSession, tenant: Tenant
) -> None:
    day, made = await _varied(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        await settle_hours(
            db, PLANNER, day.election_id, day.early_id, made["forgot"],
            {"worked": "on", "worked_from": "07:25", "worked_until": "13:10",
             "reason": "Glömde checka ut"},
        )  # fmt: skip
        await approve_district(db, PLANNER, day.election_id, day.district_id, day.after)
        await approve_district(db, PLANNER, day.election_id, ADVANCE, day.after)
        assert await _summed(db, day.election_id, day.after) == await _per_person(
            db, day.election_id, day.after
        )
        # A change after approval: a correction approved in one district, while the
        # rule's change waits unapproved in the other.
        await add_adjustment(
            db, PLANNER, day.election_id, day.chair_id, {"amount": "25", "reason": "Parkering"}
        )
        await approve_district(db, PLANNER, day.election_id, day.district_id, day.after)
        await save_pay_rule(
            db, PLANNER, day.election_id, day.role_ids["clerk"],
            {"basis": "day", "amount": "2500", "prorate_early_leave": ""},
        )  # fmt: skip
        corrections = await db.scalar(select(PayEntry.id).where(PayEntry.correction.is_(True)))
        assert corrections is not None
        summed = await _summed(db, day.election_id, day.after)
        assert summed == await _per_person(db, day.election_id, day.after)
    # Without prorating, the early leaver's day fee is the whole 2500.
    assert summed[(day.role_ids["clerk"], day.district_id)][0] > D("2500") * 3


async def test_a_night_the_clocks_change_is_summed_as_the_per_person_pay(
    db: AsyncSession, tenant: Tenant
) -> None:
    # Summer time begins at 02:00 on 28 March 2027: the night shift 00:30-06:00 is 4.5
    # hours long, not 5.5; a clerk who leaves at 05:00 worked 3.5 of them (0.78).
    election = await make_election(
        db, tenant, name="Extraval", election_day="2027-03-28",
        advance_start="2027-03-20", advance_end="2027-03-28",
    )  # fmt: skip
    day = dt.date(2027, 3, 28)
    with tenant_scope(tenant.id):
        district = await save_district(db, SYSTEM, election.id, {"code": "N1", "name": "Natt"})
        station = await save_station(
            db, SYSTEM, election.id,
            {"name": "Nattskolan", "kind": "polling", "district_id": str(district.id)},
        )  # fmt: skip
        night = await _shift(db, election.id, station.id, day, ("00:30", "06:00"))
        roles = {r.code: r.id for r in await db.scalars(select(RoleType))}
    clerks = [await make_clerk(db, tenant, election) for _ in range(2)]
    with tenant_scope(tenant.id):
        for clerk in clerks:
            await _place(db, night.id, roles["clerk"], clerk.id)
    payday = PayDay(
        election.id, district.id, station.id, night.id, night.id, clerks[0].id,
        [c.id for c in clerks], clerks[1].id, roles, day,
    )  # fmt: skip
    await stamp(db, tenant, payday, clerks[0].id, "arrived", payday.at(0, 30))
    await stamp(db, tenant, payday, clerks[0].id, "left", payday.at(5, 0))
    after = payday.at(12)
    with tenant_scope(tenant.id):
        summed = await _summed(db, election.id, after)
        assert summed == await _per_person(db, election.id, after)
    # The default clerk's fee of the role type (by the day), 0.78 of it.
    with tenant_scope(tenant.id):
        clerk_role = await db.get(RoleType, roles["clerk"])
    assert clerk_role is not None
    expected = (clerk_role.pay_amount * D("0.78")).quantize(D("0.01"))
    assert summed == {(roles["clerk"], district.id): (expected, 1)}
