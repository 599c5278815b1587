"""Demo data for courses: the basic course for the coming election with sessions most
available people are booked on, and a chair course valid four years that last
election's leads hold, with a session today so the roll call can be tried at once.

Written after the staffing demo, as an office would: some people already holding a
place are not yet booked, so "book all untrained" has something to do.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.models.base import utcnow
from app.core.tenancy import tenant_scope
from app.demo.rows import insert_in_batches
from app.domain.courses.catalog import save_course
from app.domain.courses.notices import Letterhead, letterhead_for
from app.domain.courses.scheduling import save_session
from app.domain.models import (
    Assignment,
    Availability,
    Building,
    Course,
    CourseBooking,
    Election,
    Person,
    Qualification,
    RoleType,
    Room,
)

#: Of the people available for the coming election, how many are already booked.
BOOKED_SHARE = 0.7
SEATS = 40
#: Sessions one hall holds: mornings and evenings over seven weeks.
SLOTS_PER_HALL = 98


async def fill_courses_demo(
    session: AsyncSession, tenant: Tenant, election_id: int, base_url: str, size: str = "small"
) -> None:
    rng = random.Random(f"stemma-courses-{size}")  # noqa: S311 - demo data
    actor = Actor.system("demo")
    sender = letterhead_for(tenant, base_url)
    with tenant_scope(tenant.id):
        election = await session.scalar(select(Election).where(Election.id == election_id))
        assert election is not None and election.rolled_over_from_id is not None
        roles = {r.code: r.id for r in await session.scalars(select(RoleType))}
        building, hall, small_room = await _training_centre(session)
        teachers = list(
            await session.scalars(
                select(Person.id).where(Person.status == "active").order_by(Person.id).limit(2)
            )
        )
        basic, chair_course = await _courses(session, actor, election.id, roles)
        # Who will need the basic course: the people available for the coming election.
        available = sorted(
            set(
                await session.scalars(
                    select(Availability.person_id).where(Availability.election_id == election.id)
                )
            )
        )
        demo = _Demo(session, actor, sender, tenant.id, election, teachers, utcnow())
        await _book_basic_course(demo, rng, basic, building.id, hall, available)
        await _hold_chair_course(demo, rng, chair_course, small_room, roles, available)
        await session.commit()


@dataclass(frozen=True)
class _Demo:
    """What every step of the courses demo writes with."""

    session: AsyncSession
    actor: Actor
    sender: Letterhead
    tenant_id: int
    election: Election
    teachers: list[int]
    now: dt.datetime


async def _training_centre(session: AsyncSession) -> tuple[Building, Room, Room]:
    """The building courses are held in, its lecture hall and its small room."""
    building = Building(
        name="Utbildningscentrum",
        street_address="Skolgatan 4",
        postal_code="222 21",
        city="Demostad",
        step_free_access=True,
        accessible_toilet=True,
    )
    building.rooms = [
        Room(name="Hörsalen", capacity=SEATS, has_power=True, has_network=True),
        Room(name="Lilla salen", capacity=16, has_power=True, has_network=True),
    ]
    session.add(building)
    await session.commit()
    hall, small_room = building.rooms
    return building, hall, small_room


async def _courses(
    session: AsyncSession, actor: Actor, election_id: int, roles: dict[str, int]
) -> tuple[Course, Course]:
    """The basic course of the coming election, the chair course valid four years, and
    the authority's web course with its test; returns the first two."""
    basic = await save_course(
        session,
        actor,
        {
            "name": "Grundutbildning för röstmottagare",
            "description": (
                "Hur en röstmottagning går till: legitimation, röstlängd, valsedlar, "
                "skyddat röstningsförfarande, tillgänglighet och rösträkning."
            ),
            "kind": "classroom",
            "election_id": str(election_id),
            "duration_minutes": "150",
            "materials": "Legitimation och något att anteckna med.",
        },
        [roles["chair"], roles["vice_chair"], roles["clerk"]],
    )
    chair_course = await save_course(
        session,
        actor,
        {
            "name": "Ordförandeutbildning",
            "description": "För ordförande och vice ordförande: ansvar, avvikelser, protokoll.",
            "kind": "classroom",
            "valid_years": "4",
            "duration_minutes": "180",
            "materials": "Legitimation.",
        },
        [roles["chair"], roles["vice_chair"]],
    )
    await save_course(
        session,
        actor,
        {
            "name": "Valmyndighetens webbutbildning med kunskapstest",
            "kind": "test",
            "external_url": "https://www.val.se/",
            "election_id": str(election_id),
            "duration_minutes": "60",
        },
    )
    return basic, chair_course


def _booking(demo: _Demo, session_id: int, course_id: int, person_id: int) -> dict[str, Any]:
    return {
        "tenant_id": demo.tenant_id,
        "session_id": session_id,
        "course_id": course_id,
        "person_id": person_id,
        "state": "booked",
        "walk_in": False,
        "booked_by_label": "demo",
        "created_at": demo.now,
        "seated_at": demo.now,
    }


async def _book_basic_course(
    demo: _Demo,
    rng: random.Random,
    basic: Course,
    building_id: int,
    hall: Room,
    available: list[int],
) -> None:
    """Sessions of the basic course, morning and evening, in as many halls as it takes,
    and most available people booked on them."""
    session = demo.session
    # The demo clerk (the one person with an account) is booked, so the portal
    # shows a booking to change.
    with_account = set(await session.scalars(select(Person.id).where(Person.user_id.is_not(None))))
    booked_people = [p for p in available if p in with_account or rng.random() < BOOKED_SHARE]
    sessions_needed = max(3, -(-len(booked_people) // SEATS) + 2)
    first_day = demo.election.election_day - dt.timedelta(days=7 * 8)
    # A morning and an evening session a day in the hall over seven weeks; the large
    # demo needs more halls than one.
    halls = [hall]
    while len(halls) * SLOTS_PER_HALL < sessions_needed:
        extra = Room(
            building_id=building_id,
            name=f"Hörsal {len(halls) + 1}",
            capacity=SEATS,
            has_power=True,
            has_network=True,
        )
        session.add(extra)
        await session.flush()
        halls.append(extra)
    basic_sessions = []
    for index in range(sessions_needed):
        slot = index % SLOTS_PER_HALL
        day = first_day + dt.timedelta(days=(slot // 2) * 3 % 49)
        room = halls[index // SLOTS_PER_HALL]
        basic_sessions.append(
            await save_session(
                session,
                demo.actor,
                basic.id,
                demo.sender,
                {
                    "day": str(day),
                    "starts_at": "18:00" if slot % 2 else "09:30",
                    "ends_at": "20:30" if slot % 2 else "12:00",
                    "room_id": str(room.id),
                    "capacity": str(SEATS),
                    "language": "en" if index == 4 else "sv",
                },
                # One teacher per time of day, in the first hall.
                demo.teachers[slot % 2 : slot % 2 + 1] if room is hall else [],
            )
        )
    bookings = [
        _booking(demo, basic_sessions[index // SEATS].id, basic.id, person_id)
        for index, person_id in enumerate(booked_people)
    ]
    await insert_in_batches(session, CourseBooking, bookings)


async def _hold_chair_course(
    demo: _Demo,
    rng: random.Random,
    chair_course: Course,
    small_room: Room,
    roles: dict[str, int],
    available: list[int],
) -> None:
    """Last election's leads took the chair course in August 2026; a session today
    (for new leads, so the roll call can be tried) and one in the spring before the
    election."""
    session = demo.session
    election = demo.election
    last_leads = sorted(
        set(
            await session.scalars(
                select(Assignment.person_id).where(
                    Assignment.election_id == election.rolled_over_from_id,
                    Assignment.role_type_id.in_((roles["chair"], roles["vice_chair"])),
                    Assignment.state == "accepted",
                )
            )
        )
    )
    achieved = dt.date(2026, 8, 20)
    await insert_in_batches(
        session,
        Qualification,
        [
            {
                "tenant_id": demo.tenant_id,
                "person_id": person_id,
                "course_id": chair_course.id,
                "achieved_on": achieved,
                "valid_until": achieved.replace(year=2030),
                "source": "attendance",
                "result": "",
                "recorded_by_label": "demo",
                "created_at": demo.now,
            }
            for person_id in last_leads
        ],
    )
    today = demo.sender.today()
    today_session = await save_session(
        session,
        demo.actor,
        chair_course.id,
        demo.sender,
        {
            "day": str(today),
            "starts_at": "13:00",
            "ends_at": "16:00",
            "room_id": str(small_room.id),
            "capacity": "12",
            "booking_deadline": str(today),
        },
        demo.teachers[:1],
    )
    await save_session(
        session,
        demo.actor,
        chair_course.id,
        demo.sender,
        {
            "day": str(election.election_day - dt.timedelta(days=30)),
            "starts_at": "09:00",
            "ends_at": "12:00",
            "room_id": str(small_room.id),
            "capacity": "16",
        },
        demo.teachers[1:2],
    )
    leads_now = sorted(
        set(
            await session.scalars(
                select(Assignment.person_id).where(
                    Assignment.election_id == election.id,
                    Assignment.role_type_id.in_((roles["chair"], roles["vice_chair"])),
                    Assignment.person_id.not_in(last_leads),
                )
            )
        )
    )
    fresh = [p for p in available if p not in last_leads and p not in leads_now]
    rng.shuffle(fresh)
    await insert_in_batches(
        session,
        CourseBooking,
        [
            _booking(demo, today_session.id, chair_course.id, person_id)
            for person_id in (leads_now + fresh)[:10]
        ],
    )
