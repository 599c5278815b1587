"""Courses over the API, read only: courses with their requirements, sessions with how
full they are, bookings and qualifications; paged, scoped to the token's municipality."""

import datetime as dt
from typing import Any

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.courses import booking, qualifications
from tests.factories import (
    letterhead,
    local_today,
    make_course,
    make_course_session,
    make_election,
    make_person,
)

ACTOR = Actor.system("test")


async def _headers(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, ACTOR, "HR")
    return {"Authorization": f"Bearer {secret}"}


async def _courses(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    """A course for clerks with a two-seat session: two booked, one waiting; one person
    holds the course already."""
    election = await make_election(db, tenant)
    course = await make_course(db, tenant, election, roles=("clerk",), name="Grundutbildning")
    other = await make_course(db, tenant, name="Webbtest", kind="test", external_url="https://x.se")
    course_session = await make_course_session(db, tenant, course, capacity=2)
    later = await make_course_session(
        db, tenant, course, day=local_today(tenant) + dt.timedelta(days=30)
    )
    people = [
        await make_person(db, tenant, national_id="19900101-0017", email="a@example.se"),
        await make_person(db, tenant, email="b@example.se"),
        await make_person(db, tenant, email="c@example.se"),
    ]
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        seats = [
            await booking.book_person(
                db, ACTOR, sender, course_session.id, p.id, join_waiting_list=True
            )
            for p in people
        ]
        await qualifications.grant(
            db, ACTOR, people[0].id, other, local_today(tenant), source="import", result="18/20"
        )
        await db.commit()
    return {
        "election": election,
        "course": course,
        "other": other,
        "session": course_session,
        "later": later,
        "people": people,
        "seats": seats,
    }


async def test_it_lists_courses_with_their_requirements_in_pages(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _courses(db, tenant)
    headers = await _headers(db, tenant)
    listing = await (await client.get("/api/v1/courses", headers=headers)).get_json()
    assert [item["name"] for item in listing["items"]] == ["Grundutbildning", "Webbtest"]
    assert (listing["total"], listing["pages"]) == (2, 1)
    course = listing["items"][0]
    assert [r["role_code"] for r in course["requirements"]] == ["clerk"]
    assert course["election_id"] == c["election"].id
    paged = await (
        await client.get("/api/v1/courses?per_page=1&page=2", headers=headers)
    ).get_json()
    assert [item["name"] for item in paged["items"]] == ["Webbtest"]
    assert (paged["total"], paged["pages"], paged["page"]) == (2, 2, 2)
    one = await client.get(f"/api/v1/courses/{c['other'].id}", headers=headers)
    assert (await one.get_json())["kind"] == "test"


async def test_it_lists_sessions_with_seats_and_waiting_list(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _courses(db, tenant)
    headers = await _headers(db, tenant)
    response = await client.get(f"/api/v1/courses/{c['course'].id}/sessions", headers=headers)
    assert response.status_code == 200
    sessions = (await response.get_json())["items"]
    assert [s["id"] for s in sessions] == [c["session"].id, c["later"].id]
    first = sessions[0]
    assert (first["seats_booked"], first["waiting"], first["status"]) == (2, 1, "full")
    assert (sessions[1]["seats_booked"], sessions[1]["status"]) == (0, "open")
    later_only = await (
        await client.get(
            f"/api/v1/courses/{c['course'].id}/sessions?from_day={c['later'].day}",
            headers=headers,
        )
    ).get_json()
    assert [s["id"] for s in later_only["items"]] == [c["later"].id]


async def test_it_lists_bookings_and_qualifications_without_id_numbers(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _courses(db, tenant)
    headers = await _headers(db, tenant)
    by_session = await client.get(
        f"/api/v1/course-bookings?session_id={c['session'].id}", headers=headers
    )
    items = (await by_session.get_json())["items"]
    assert [b["state"] for b in items] == ["booked", "booked", "waiting"]
    by_person = await (
        await client.get(
            f"/api/v1/course-bookings?person_id={c['people'][2].id}&course_id={c['course'].id}",
            headers=headers,
        )
    ).get_json()
    assert [b["id"] for b in by_person["items"]] == [c["seats"][2].id]
    waiting = await (
        await client.get("/api/v1/course-bookings?state=waiting", headers=headers)
    ).get_json()
    assert waiting["total"] == 1
    bad = await client.get("/api/v1/course-bookings?state=lost", headers=headers)
    assert bad.status_code == 400
    held = await client.get(
        f"/api/v1/qualifications?person_id={c['people'][0].id}", headers=headers
    )
    body = await held.get_data(as_text=True)
    (qualification,) = (await held.get_json())["items"]
    assert (qualification["course_id"], qualification["source"]) == (c["other"].id, "import")
    assert qualification["result"] == "18/20"
    assert "19900101" not in body and "0017" not in body
    for path in ("/api/v1/course-bookings", "/api/v1/qualifications"):
        assert "900101" not in await (await client.get(path, headers=headers)).get_data(
            as_text=True
        )


async def test_it_gives_404_for_another_municipalitys_ids(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    c = await _courses(db, tenant)
    await _courses(db, other_tenant)
    foreign = await _headers(db, other_tenant)
    for path in (
        f"/api/v1/courses/{c['course'].id}",
        f"/api/v1/courses/{c['course'].id}/sessions",
        f"/api/v1/course-bookings?session_id={c['session'].id}",
        f"/api/v1/course-bookings?person_id={c['people'][0].id}",
        f"/api/v1/course-bookings?course_id={c['course'].id}",
        f"/api/v1/qualifications?person_id={c['people'][0].id}",
        f"/api/v1/qualifications?course_id={c['other'].id}",
    ):
        response = await client.get(path, headers=foreign)
        assert response.status_code == 404, path
    # Their lists hold only their own rows.
    mine = {seat.id for seat in c["seats"]}
    theirs = await (await client.get("/api/v1/course-bookings", headers=foreign)).get_json()
    assert theirs["total"] == 3 and not {b["id"] for b in theirs["items"]} & mine
    courses = await (await client.get("/api/v1/courses", headers=foreign)).get_json()
    assert courses["total"] == 2
    assert (await client.get("/api/v1/courses")).status_code == 401


async def test_it_refuses_the_anonymous_on_every_course_endpoint(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _courses(db, tenant)
    paths = (
        "/api/v1/courses",
        f"/api/v1/courses/{c['course'].id}",
        f"/api/v1/courses/{c['course'].id}/sessions",
        "/api/v1/course-bookings",
        f"/api/v1/course-bookings?session_id={c['session'].id}",
        "/api/v1/qualifications",
        f"/api/v1/qualifications?person_id={c['people'][0].id}",
    )
    for path in paths:
        for headers in ({}, {"Authorization": "Bearer stm_wrong"}):
            response = await client.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            body = await response.get_json()
            assert body["status"] == 401 and "items" not in body and "name" not in body


async def test_it_documents_the_course_endpoints(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    paths = document["paths"]
    for path in (
        "/api/v1/courses",
        "/api/v1/courses/{course_id}/sessions",
        "/api/v1/course-bookings",
        "/api/v1/qualifications",
    ):
        assert "get" in paths[path], path
