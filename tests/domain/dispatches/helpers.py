"""A small election for dispatch tests: two districts, people in every state, a reserve,
an applicant, a course with bookings and an arrival on election day."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.domain.dispatches.sending import DispatchDraft, create_dispatch
from app.domain.elections.stations import save_station
from app.domain.models import (
    Assignment,
    CheckIn,
    CourseBooking,
    District,
    Reserve,
)
from tests.factories import (
    make_course,
    make_course_session,
    make_person,
    make_staffed_station,
)

ACTOR = Actor.system("test")


async def _place(
    db: AsyncSession,
    s: dict[str, Any],
    person: Any,
    state: str,
    station: Any,
    shift: Any,
    role: str,
) -> Assignment:
    assignment = Assignment(
        election_id=s["election"].id,
        station_id=station.id,
        shift_id=shift.id,
        role_type_id=s["roles"][role].id,
        person_id=person.id,
        state=state,
        offered_at=utcnow() if state != "proposed" else None,
        responded_at=utcnow() if state in ("accepted", "declined") else None,
    )
    db.add(assignment)
    await db.flush()
    return assignment


async def world(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    """People by first name: Alva (accepted, early, district 1, mail and mobile), Bo
    (offered, late, district 1, mail only), Cilla (declined, district 1), Dan (proposed,
    district 2, mobile only), Eva (accepted, district 1, erased), Frida (a reserve), Gun
    (accepted in district 2, English, booked on the course, arrived)."""
    s = await make_staffed_station(db, tenant)
    people = {}
    for name, email, mobile, language in (
        ("Alva", "alva@example.se", "+46701111111", "sv"),
        ("Bo", "bo@example.se", None, "sv"),
        ("Cilla", "cilla@example.se", "+46701111113", "da"),
        ("Dan", None, "+46701111114", "sv"),
        ("Eva", "eva@example.se", "+46701111115", "sv"),
        ("Frida", "frida@example.se", "+46701111116", "sv"),
        ("Gun", "gun@example.se", "+46701111117", "en"),
    ):
        people[name] = await make_person(
            db,
            tenant,
            first_name=name,
            last_name="Test",
            email=email or "",
            mobile=mobile or "",
            preferred_language=language,
        )
    course = await make_course(db, tenant, s["election"])
    course_session = await make_course_session(db, tenant, course)
    with tenant_scope(tenant.id):
        second = await db.get(District, s["district"].id + 1)
        assert second is not None and second.election_id == s["election"].id
        station2 = await save_station(
            db,
            ACTOR,
            s["election"].id,
            {"name": "Bergsskolan", "kind": "polling", "district_id": str(second.id)},
        )
        from app.domain.elections.shifts import save_shift

        shift2 = await save_shift(
            db, ACTOR, s["election"].id, station2.id,
            {"name": "Heldag", "day": str(s["election"].election_day),
             "starts_at": "07:00", "ends_at": "21:00"},
        )  # fmt: skip
        station, early, late = s["station"], s["early"], s["late"]
        await _place(db, s, people["Alva"], "accepted", station, early, "clerk")
        await _place(db, s, people["Bo"], "offered", station, late, "clerk")
        await _place(db, s, people["Cilla"], "declined", station, early, "clerk")
        await _place(db, s, people["Dan"], "proposed", station2, shift2, "clerk")
        await _place(db, s, people["Eva"], "accepted", station, late, "vice_chair")
        gun = await _place(db, s, people["Gun"], "accepted", station2, shift2, "chair")
        people["Eva"].erased_at = utcnow()
        db.add(Reserve(election_id=s["election"].id, person_id=people["Frida"].id))
        db.add(
            CourseBooking(
                session_id=course_session.id,
                course_id=course.id,
                person_id=people["Gun"].id,
                state="booked",
            )
        )
        db.add(
            CheckIn(
                election_id=s["election"].id,
                station_id=station2.id,
                shift_id=shift2.id,
                person_id=people["Gun"].id,
                assignment_id=gun.id,
                kind="arrived",
                source="coordinator",
                idempotency_key=secrets.token_hex(8),
                payload_hash="0" * 64,
            )
        )
        await db.commit()
    return {
        **s,
        "people": people,
        "district2": second,
        "station2": station2,
        "shift2": shift2,
        "course": course,
    }


def draft(**fields: Any) -> DispatchDraft:
    data: dict[str, Any] = {
        "title": "Information",
        "channels": ["email", "sms"],
        "subject_sv": "Hej {{ person.first_name }}",
        "email_sv": "Hej {{ person.first_name }}, välkommen till {{ station.name }}.",
        "sms_sv": "Hej {{ person.first_name }}! Vi ses på {{ station.name }}.",
        "request_key": secrets.token_urlsafe(16),
        **fields,
    }
    return DispatchDraft.from_mapping(data)


async def make_dispatch(db: AsyncSession, tenant: Tenant, **fields: Any) -> Any:
    with tenant_scope(tenant.id):
        return await create_dispatch(db, ACTOR, draft(**fields))
