"""Courses: sessions, booking with a waiting list, attendance, and the staffing rule."""

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.courses import (
    CourseError,
    attendance,
    booking,
    booking_changes,
    bulk_booking,
    catalog,
    scheduling,
)
from app.domain.courses.qualifications import course_needs
from app.domain.models import CourseBooking, Qualification
from app.domain.staffing import assignments
from app.domain.staffing.assignments import StaffingError
from tests.factories import (
    letterhead,
    local_today,
    make_clerk,
    make_course,
    make_course_session,
    make_person,
    make_room,
    make_staffed_station,
)

ACTOR = Actor(label="planner@lund.test")


async def _book(
    db: AsyncSession, tenant: Tenant, course_session: Any, person: Any, **kw: Any
) -> Any:
    with tenant_scope(tenant.id):
        return await booking.book_person(
            db, ACTOR, letterhead(tenant), course_session.id, person.id, **kw
        )


async def test_it_books_until_full_then_keeps_a_waiting_list_that_moves_up(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course, capacity=2)
    people = [await make_person(db, tenant, email=f"p{i}@example.se") for i in range(4)]
    first = await _book(db, tenant, course_session, people[0])
    await _book(db, tenant, course_session, people[1])
    with locale_scope("en"), pytest.raises(CourseError, match="full"):
        await _book(db, tenant, course_session, people[2])
    third = await _book(db, tenant, course_session, people[2], join_waiting_list=True)
    fourth = await _book(db, tenant, course_session, people[3], join_waiting_list=True)
    assert (first.state, third.state, fourth.state) == ("booked", "waiting", "waiting")

    with tenant_scope(tenant.id):
        await booking_changes.cancel_booking(db, ACTOR, letterhead(tenant), first.id)
        states = {
            b.person_id: b.state
            for b in await db.scalars(
                select(CourseBooking).execution_options(populate_existing=True)
            )
        }
        keys = set(await owner_db.scalars(select(OutboxMessage.idempotency_key)))
    assert states == {
        people[0].id: "cancelled",
        people[1].id: "booked",
        people[2].id: "booked",
        people[3].id: "waiting",
    }
    assert any(key.startswith(f"course-moved-up:{third.id}:{course_session.id}:") for key in keys)


async def test_it_refuses_a_second_booking_of_the_same_course(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    one = await make_course_session(db, tenant, course)
    two = await make_course_session(db, tenant, course)
    person = await make_person(db, tenant)
    await _book(db, tenant, one, person)
    with locale_scope("en"), pytest.raises(CourseError, match="already booked"):
        await _book(db, tenant, two, person)


async def test_it_refuses_a_clerk_after_the_deadline_but_not_a_planner(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    day = local_today(tenant) + dt.timedelta(days=3)
    course_session = await make_course_session(
        db,
        tenant,
        course,
        day=day,
        booking_deadline=str(local_today(tenant) - dt.timedelta(days=1)),
    )
    person = await make_person(db, tenant)
    with locale_scope("en"), pytest.raises(CourseError, match="deadline"):
        await _book(db, tenant, course_session, person, by_clerk=True)
    assert (await _book(db, tenant, course_session, person)).state == "booked"


async def test_it_refuses_a_room_too_small_and_a_teacher_teaching_twice(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    room = await make_room(db, tenant)  # 40 seats
    teacher = await make_person(db, tenant)
    day = str(local_today(tenant) + dt.timedelta(days=10))
    data = {"day": day, "starts_at": "18:00", "ends_at": "20:00", "room_id": str(room.id)}
    with tenant_scope(tenant.id):
        with pytest.raises(FieldErrors) as small:
            await scheduling.save_session(
                db, ACTOR, course.id, letterhead(tenant), {**data, "capacity": "41"}
            )
        assert "capacity" in small.value.errors
        await scheduling.save_session(
            db, ACTOR, course.id, letterhead(tenant), {**data, "capacity": "20"}, [teacher.id]
        )
        with pytest.raises(FieldErrors) as clash:
            await scheduling.save_session(
                db,
                ACTOR,
                course.id,
                letterhead(tenant),
                {**data, "starts_at": "19:00", "ends_at": "21:00", "capacity": "20"},
                [teacher.id],
            )
    assert "teacher_ids" in clash.value.errors


async def test_it_grants_the_course_at_the_roll_call_and_walk_ins_need_a_choice(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course, day=local_today(tenant))
    came, missed, walked = [await make_person(db, tenant) for _ in range(3)]
    b1 = await _book(db, tenant, course_session, came)
    b2 = await _book(db, tenant, course_session, missed)
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        await attendance.mark_attendance(
            db, ACTOR, sender, course_session.id, {b1.id: "attended", b2.id: "no_show"}
        )
        with locale_scope("en"), pytest.raises(CourseError, match="walk-in"):
            await attendance.add_walk_in(db, ACTOR, sender, course_session.id, walked.id)
        await attendance.add_walk_in(
            db, ACTOR, sender, course_session.id, walked.id, confirmed=True
        )
        held = {q.person_id for q in await db.scalars(select(Qualification))}
    assert held == {came.id, walked.id}


async def test_it_makes_the_required_course_a_hard_staffing_rule(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    course = await make_course(db, tenant, s["election"])
    course_session = await make_course_session(db, tenant, course)
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id), pytest.raises(StaffingError) as caught:
        await assignments.assign_person(
            db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id, override=True
        )
    assert [b.rule for b in caught.value.broken] == ["course"]
    await _book(db, tenant, course_session, person)
    with tenant_scope(tenant.id):
        placed = await assignments.assign_person(
            db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id
        )
        needs = await course_needs(db, s["election"], [(person.id, s["roles"]["clerk"].id)])
    assert placed.state == "proposed"
    assert [n.status for n in needs[(person.id, s["roles"]["clerk"].id)]] == ["booked"]


async def test_it_plans_and_books_every_untrained_clerk_all_or_nothing(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    people = [await make_clerk(db, tenant, s["election"]) for _ in range(3)]
    with tenant_scope(tenant.id):
        for person in people:
            await assignments.assign_person(
                db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id
            )
    # The course comes after the staffing, as in a real office.
    course = await make_course(db, tenant, s["election"])
    small = await make_course_session(db, tenant, course, capacity=2)
    sender = letterhead(tenant)
    ids = (course.id, s["election"].id, [small.id])
    everyone = [p.id for p in people]
    with tenant_scope(tenant.id):
        plan = await bulk_booking.plan_bookings(db, sender, *ids, district_id=s["district"].id)
        assert (len(plan.seats), len(plan.unplaced)) == (2, 1)
        planned = plan.person_ids
        with locale_scope("en"), pytest.raises(CourseError, match="changed meanwhile"):
            await bulk_booking.book_plan(db, ACTOR, sender, *ids, everyone)
        assert await db.scalar(select(CourseBooking.id)) is None
        done = await bulk_booking.book_plan(db, ACTOR, sender, *ids, planned)
    assert len(done.seats) == 2


async def test_it_hides_another_tenants_sessions(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    course = await make_course(db, other_tenant)
    theirs = await make_course_session(db, other_tenant, course)
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await catalog.get_session(db, theirs.id)


async def _keys(db: AsyncSession, tenant: Tenant, prefix: str) -> list[str]:
    with tenant_scope(tenant.id):
        return list(
            await db.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.like(f"{prefix}%")
                )
            )
        )


async def test_it_lets_a_person_move_away_and_back_again(db: AsyncSession, tenant: Tenant) -> None:
    course = await make_course(db, tenant)
    one = await make_course_session(db, tenant, course)
    two = await make_course_session(db, tenant, course)
    person = await make_person(db, tenant, email="back@example.se")
    seat = await _book(db, tenant, one, person)
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        for target in (two, one, two):
            await booking_changes.rebook(db, ACTOR, sender, seat.id, target.id, person_id=person.id)
    # Each move is told by its own mail: four bookings, four messages.
    assert len(await _keys(db, tenant, "course-booked:")) == 4


async def test_it_records_someone_from_the_waiting_list_who_came_as_a_walk_in(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(
        db, tenant, course, day=local_today(tenant), capacity=1
    )
    seated, waiting = [await make_person(db, tenant) for _ in range(2)]
    await _book(db, tenant, course_session, seated)
    await _book(db, tenant, course_session, waiting, join_waiting_list=True)
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        with locale_scope("en"), pytest.raises(CourseError, match="waiting list") as refused:
            await attendance.add_walk_in(db, ACTOR, sender, course_session.id, waiting.id)
        assert refused.value.field == "person_id"  # so the page offers the walk-in choice
        came = await attendance.add_walk_in(
            db, ACTOR, sender, course_session.id, waiting.id, confirmed=True
        )
        held = list(await db.scalars(select(Qualification.person_id)))
    assert (came.state, came.walk_in, held) == ("attended", True, [waiting.id])


async def test_it_keeps_an_earlier_result_when_a_refresher_mark_is_taken_back(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant, valid_years="4")
    course_session = await make_course_session(db, tenant, course, day=local_today(tenant))
    person = await make_person(db, tenant)
    earlier = local_today(tenant) - dt.timedelta(days=400)
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        await attendance.record_result(db, ACTOR, person.id, course.id, earlier, "92")
    seat = await _book(db, tenant, course_session, person)
    with tenant_scope(tenant.id):
        await attendance.mark_attendance(
            db, ACTOR, sender, course_session.id, {seat.id: "attended"}
        )
        await attendance.mark_attendance(db, ACTOR, sender, course_session.id, {seat.id: "no_show"})
        kept = [(q.achieved_on, q.result) for q in await db.scalars(select(Qualification))]
    assert kept == [(earlier, "92")]


async def test_it_tells_booked_people_when_a_session_moves_and_reminds_them_again(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course)
    person = await make_person(db, tenant, email="moved@example.se")
    seat = await _book(db, tenant, course_session, person)
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        row = await db.get(CourseBooking, seat.id)
        assert row is not None
        row.reminded_at = dt.datetime.now(dt.UTC)
        await db.commit()
        data = {
            "day": str(course_session.day + dt.timedelta(days=7)),
            "starts_at": "18:00",
            "ends_at": "20:00",
            "room_id": str(course_session.room_id),
            "capacity": str(course_session.capacity),
        }
        await scheduling.save_session(db, ACTOR, course.id, sender, data, [], course_session.id)
        reminded = await db.scalar(
            select(CourseBooking.reminded_at)
            .where(CourseBooking.id == seat.id)
            .execution_options(populate_existing=True)
        )
    assert reminded is None
    assert len(await _keys(db, tenant, "course-changed:")) == 1


async def test_it_keeps_a_station_team_together_where_one_session_has_room(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    team = [await make_clerk(db, tenant, s["election"]) for _ in range(3)]
    with tenant_scope(tenant.id):
        for person in team:
            await assignments.assign_person(
                db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id
            )
    course = await make_course(db, tenant, s["election"])
    early = await make_course_session(db, tenant, course, capacity=2)
    later = await make_course_session(
        db, tenant, course, day=local_today(tenant) + dt.timedelta(days=20), capacity=5
    )
    with tenant_scope(tenant.id):
        plan = await bulk_booking.plan_bookings(
            db, letterhead(tenant), course.id, s["election"].id, [early.id, later.id]
        )
    assert {seat.id for _person, seat in plan.seats} == {later.id}


async def test_it_refuses_to_cancel_a_session_once_the_roll_call_is_taken(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course, day=local_today(tenant))
    seat = await _book(db, tenant, course_session, await make_person(db, tenant))
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        await attendance.mark_attendance(
            db, ACTOR, sender, course_session.id, {seat.id: "attended"}
        )
        with locale_scope("en"), pytest.raises(CourseError, match="roll call"):
            await scheduling.cancel_session(db, ACTOR, sender, course_session.id)


async def test_it_refuses_a_room_taken_by_another_session(db: AsyncSession, tenant: Tenant) -> None:
    course = await make_course(db, tenant)
    first = await make_course_session(db, tenant, course)
    data = {
        "day": str(first.day),
        "starts_at": "19:00",
        "ends_at": "21:00",
        "room_id": str(first.room_id),
        "capacity": "5",
    }
    with tenant_scope(tenant.id), pytest.raises(FieldErrors) as caught:
        await scheduling.save_session(db, ACTOR, course.id, letterhead(tenant), data)
    assert "room_id" in caught.value.errors
