"""People booking course seats at the same moment never over-fill a session or book
one person twice, on PostgreSQL (row locks, a unique index) and on SQLite (one writer
at a time). Each actor has its own session and connection, as two requests would."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.courses import CourseError, booking, booking_changes
from app.domain.models import CourseBooking
from tests.factories import letterhead, make_course, make_course_session, make_person

ACTOR = Actor(label="planner")

Attempt = Callable[[AsyncSession], Awaitable[Any]]


async def _race(
    session_factory: async_sessionmaker[AsyncSession], tenant: Tenant, attempts: list[Attempt]
) -> list[Any]:
    """Run each attempt in its own session, all released at once; a CourseError is
    returned rather than raised."""
    start = asyncio.Event()

    async def run(attempt: Attempt) -> Any:
        with tenant_scope(tenant.id):
            async with session_factory() as session:
                await start.wait()
                try:
                    return await attempt(session)
                except CourseError as error:
                    return error

    tasks = [asyncio.create_task(run(attempt)) for attempt in attempts]
    await asyncio.sleep(0.05)
    start.set()
    return await asyncio.gather(*tasks)


def _book(tenant: Tenant, session_id: int, person_id: int, **kw: Any) -> Attempt:
    async def attempt(session: AsyncSession) -> Any:
        return await booking.book_person(
            session, ACTOR, letterhead(tenant), session_id, person_id, **kw
        )

    return attempt


def _cancel(tenant: Tenant, booking_id: int) -> Attempt:
    async def attempt(session: AsyncSession) -> Any:
        return await booking_changes.cancel_booking(session, ACTOR, letterhead(tenant), booking_id)

    return attempt


async def _states(db: AsyncSession, tenant: Tenant, session_id: int) -> dict[str, int]:
    with tenant_scope(tenant.id):
        rows = await db.execute(
            select(CourseBooking.state, func.count(CourseBooking.id))
            .where(CourseBooking.session_id == session_id)
            .group_by(CourseBooking.state)
        )
        return {state: count for state, count in rows}


async def test_it_gives_the_last_seat_to_exactly_one_person(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course, capacity=2)
    first = await make_person(db, tenant)
    await _race(session_factory, tenant, [_book(tenant, course_session.id, first.id)])
    people = [await make_person(db, tenant) for _ in range(4)]
    results = await _race(
        session_factory, tenant, [_book(tenant, course_session.id, p.id) for p in people]
    )
    assert sum(isinstance(r, CourseBooking) for r in results) == 1
    refused = [r for r in results if isinstance(r, CourseError)]
    assert len(refused) == 3 and all("full" in str(r) for r in refused)
    assert await _states(db, tenant, course_session.id) == {"booked": 2}


async def test_it_puts_the_others_on_the_waiting_list_when_they_ask_for_it(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course, capacity=1)
    people = [await make_person(db, tenant) for _ in range(4)]
    results = await _race(
        session_factory,
        tenant,
        [_book(tenant, course_session.id, p.id, join_waiting_list=True) for p in people],
    )
    assert sorted(r.state for r in results) == ["booked", "waiting", "waiting", "waiting"]
    assert await _states(db, tenant, course_session.id) == {"booked": 1, "waiting": 3}


async def test_it_books_one_person_on_only_one_of_two_sessions_at_once(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    one = await make_course_session(db, tenant, course)
    two = await make_course_session(db, tenant, course)
    person = await make_person(db, tenant)
    results = await _race(
        session_factory,
        tenant,
        [_book(tenant, one.id, person.id), _book(tenant, two.id, person.id)],
    )
    assert sorted(type(r).__name__ for r in results) == ["CourseBooking", "CourseError"]
    refused = next(r for r in results if isinstance(r, CourseError))
    # Refused as a second booking of the course (the message names the person), not as full.
    assert person.full_name in str(refused)
    with tenant_scope(tenant.id):
        count = await db.scalar(
            select(func.count(CourseBooking.id)).where(CourseBooking.person_id == person.id)
        )
    assert count == 1


async def test_it_never_over_fills_when_a_cancel_and_new_bookings_race(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course, capacity=2)
    seated = [await make_person(db, tenant) for _ in range(2)]
    waiting = await make_person(db, tenant)
    made = await _race(
        session_factory,
        tenant,
        [_book(tenant, course_session.id, p.id) for p in seated],
    )
    await _race(
        session_factory,
        tenant,
        [_book(tenant, course_session.id, waiting.id, join_waiting_list=True)],
    )
    newcomers = [await make_person(db, tenant) for _ in range(3)]
    results = await _race(
        session_factory,
        tenant,
        [
            _cancel(tenant, made[0].id),
            *(_book(tenant, course_session.id, p.id, join_waiting_list=True) for p in newcomers),
        ],
    )
    assert not any(isinstance(r, CourseError) for r in results)
    states = await _states(db, tenant, course_session.id)
    # One seat freed, one seat filled again: by the first on the waiting list if the
    # cancel came first, else by nobody new (the newcomers all waited behind them).
    assert states == {"booked": 2, "cancelled": 1, "waiting": 3}
    with tenant_scope(tenant.id):
        promoted = await db.scalar(
            select(CourseBooking.state).where(CourseBooking.person_id == waiting.id)
        )
    assert promoted == "booked"


async def test_it_never_over_fills_when_a_cancel_races_plain_bookings(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant)
    course_session = await make_course_session(db, tenant, course, capacity=2)
    seated = [await make_person(db, tenant) for _ in range(2)]
    made = await _race(
        session_factory, tenant, [_book(tenant, course_session.id, p.id) for p in seated]
    )
    newcomers = [await make_person(db, tenant) for _ in range(4)]
    results = await _race(
        session_factory,
        tenant,
        [
            _cancel(tenant, made[0].id),
            *(_book(tenant, course_session.id, p.id) for p in newcomers),
        ],
    )
    # Whoever came after the cancel may take the freed seat; at most one of them.
    assert sum(isinstance(r, CourseBooking) and r.state == "booked" for r in results) <= 1
    states = await _states(db, tenant, course_session.id)
    assert states.get("booked", 0) <= 2 and states["cancelled"] == 1
    assert "waiting" not in states
