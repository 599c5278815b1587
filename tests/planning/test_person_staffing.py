"""From an approved application or a person's page to a place: the standing panel says
what blocks a placement, books a course session (a seat, or the waiting list only when
asked), and places the person by hand through the board's service and rules."""

import datetime as dt

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, CourseBooking
from app.domain.recruitment.review import approve_applications
from tests.factories import (
    login,
    make_application,
    make_clerk,
    make_course,
    make_course_session,
    make_staffed_station,
    post_form,
)

ACTOR = Actor.system("t")


async def _approved(db: AsyncSession, tenant: Tenant, election: object) -> tuple[int, int]:
    """An application for ``election``'s election day, approved: (application, person)."""
    application = (await make_application(db, tenant, election)).application
    with tenant_scope(tenant.id):
        await approve_applications(db, ACTOR, tenant, [application.id])
        await db.refresh(application)
    return application.id, application.person_id


async def _in_english(db: AsyncSession, user: User) -> None:
    user.locale = "en"
    await db.commit()


async def test_an_approved_application_says_why_it_is_blocked_and_books_a_seat(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    course = await make_course(db, tenant, s["election"], name="Grundkurs")
    day = s["election"].election_day - dt.timedelta(days=10)
    course_session = await make_course_session(db, tenant, course, day=day)
    application_id, person_id = await _approved(db, tenant, s["election"])
    await _in_english(db, planner)
    await login(client, planner)
    page_url = f"/lund/planning/applications/{application_id}"

    body = await (await client.get(page_url)).get_data(as_text=True)
    assert "On the way to a place" in body and "Not placed yet" in body
    assert "Lacks the course Grundkurs (required for" in body
    assert "Book on this session" in body and "10 seats free" in body
    assert f"/people/{person_id}/elections/{s['election'].id}/place?application=" in body

    booked = await post_form(
        client,
        f"/lund/planning/people/{person_id}/course-booking",
        {"session_id": str(course_session.id), "application_id": str(application_id)},
    )
    assert booked.status_code == 302 and booked.headers["Location"].endswith(page_url)
    body = await (await client.get(page_url)).get_data(as_text=True)
    assert "Sara Lind has been booked." in body
    assert "Booked before election day" in body and "Nothing keeps them from a place." in body
    with tenant_scope(tenant.id):
        states = list(await db.scalars(select(CourseBooking.state)))
    assert states == ["booked"]


async def test_a_full_session_takes_the_waiting_list_only_when_asked(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    course = await make_course(db, tenant, s["election"], name="Grundkurs")
    day = s["election"].election_day - dt.timedelta(days=10)
    full = await make_course_session(db, tenant, course, day=day, capacity=1)
    seated = await make_clerk(db, tenant, s["election"])
    person = await make_clerk(db, tenant, s["election"], first_name="Vera")
    await _in_english(db, planner)
    await login(client, planner)
    url = f"/lund/planning/people/{person.id}/course-booking"
    assert (await post_form(client, url.replace(str(person.id), str(seated.id)), {
        "session_id": str(full.id)})).status_code == 302  # fmt: skip

    body = await (await client.get(f"/lund/planning/people/{person.id}")).get_data(as_text=True)
    assert "no seat free" in body and "Put on the waiting list" in body
    refused = await post_form(client, url, {"session_id": str(full.id)})
    assert refused.status_code == 302
    body = await (await client.get(refused.headers["Location"])).get_data(as_text=True)
    assert "The session is full." in body
    await post_form(client, url, {"session_id": str(full.id), "waiting": "1"})
    body = await (await client.get(f"/lund/planning/people/{person.id}")).get_data(as_text=True)
    assert "On the waiting list for Grundkurs" in body
    with tenant_scope(tenant.id):
        states = sorted(await db.scalars(select(CourseBooking.state)))
    assert states == ["booked", "waiting"]


async def test_it_places_a_person_with_the_boards_rules(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await make_course(db, tenant, s["election"], name="Ordförandekurs", roles=("chair",))
    person = await make_clerk(db, tenant, s["election"], first_name="Tilde")
    await _in_english(db, planner)
    await login(client, planner)
    base = f"/lund/planning/people/{person.id}/elections/{s['election'].id}/place"

    page = await (await client.get(base)).get_data(as_text=True)
    assert "Place Tilde" in page and "Hamnskolan" in page
    assert "Lacks the required course Ordförandekurs" in page  # the board's wording
    clerk, chair = s["roles"]["clerk"].id, s["roles"]["chair"].id
    # A hard rule refuses, and nothing is written.
    refused = await post_form(
        client, base, {"shift_id": str(s["early"].id), "role_type_id": str(chair)}
    )
    assert refused.status_code == 302 and refused.headers["Location"].startswith(base)
    body = await (await client.get(refused.headers["Location"])).get_data(as_text=True)
    assert "Lacks the required course Ordförandekurs" in body
    placed = await post_form(
        client, base, {"shift_id": str(s["early"].id), "role_type_id": str(clerk)}
    )
    assert placed.headers["Location"].endswith(f"/people/{person.id}#standing")
    body = await (await client.get(f"/lund/planning/people/{person.id}")).get_data(as_text=True)
    assert "Tilde" in body and "has been proposed as Röstmottagare at Hamnskolan." in body
    assert "Placed" in body
    with tenant_scope(tenant.id):
        rows = list(await db.scalars(select(Assignment)))
    assert [(a.person_id, a.role_type_id, a.state, a.source) for a in rows] == [
        (person.id, clerk, "proposed", "manual")
    ]


async def test_a_shift_of_another_election_is_not_found(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, name="Stadshuset")
    person = await make_clerk(db, tenant, s["election"])
    await login(client, planner)
    url = f"/lund/planning/people/{person.id}/elections/{s['election'].id}/place"
    form = {"shift_id": str(other["early"].id), "role_type_id": str(s["roles"]["clerk"].id)}
    assert (await post_form(client, url, form)).status_code == 404


async def test_a_coordinator_sees_the_standing_but_no_actions(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    await _in_english(db, coordinator)
    await login(client, coordinator)
    body = await (await client.get(f"/lund/planning/people/{person.id}")).get_data(as_text=True)
    assert "On the way to a place" in body
    assert "/place" not in body and "course-booking" not in body
    place = f"/lund/planning/people/{person.id}/elections/{s['election'].id}/place"
    assert (await client.get(place)).status_code == 403
