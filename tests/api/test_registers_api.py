"""People, premises and election structure over the API, with isolation."""

from typing import Any

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from tests.factories import make_person


async def _headers(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, Actor.system("test"), "Integration")
    return {"Authorization": f"Bearer {secret}"}


async def test_it_creates_and_finds_people_with_masked_numbers(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    headers = await _headers(db, tenant)
    created = await client.post(
        "/api/v1/people",
        headers=headers,
        json={
            "first_name": "Maja",
            "last_name": "Berg",
            "national_id": "900101-0017",
            "mobile": "0701234567",
        },
    )
    assert created.status_code == 201, await created.get_data(as_text=True)
    body = await created.get_json()
    assert body["national_id_masked"] == "19900101-****"
    assert "national_id" not in body
    assert body["mobile"] == "+46701234567"
    found = await (await client.get("/api/v1/people?q=berg", headers=headers)).get_json()
    assert [p["last_name"] for p in found["items"]] == ["Berg"]
    patched = await client.patch(
        f"/api/v1/people/{body['id']}", headers=headers, json={"city": "Lund"}
    )
    assert (await patched.get_json())["city"] == "Lund"
    assert (await patched.get_json())["national_id_masked"] == "19900101-****"
    with tenant_scope(tenant.id):
        codes = (
            await db.scalars(
                select(AuditEntry.actor_label).where(AuditEntry.code.startswith("people."))
            )
        ).all()
    assert set(codes) == {"api:Integration"}


async def test_it_never_gives_out_a_protected_address(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    person = await make_person(
        db,
        tenant,
        street_address="Hemliga vägen 1",
        postal_code="22100",
        city="Lund",
        address_protected_shown="1",
        address_protected="y",
    )
    headers = await _headers(db, tenant)
    read = await (await client.get(f"/api/v1/people/{person.id}", headers=headers)).get_json()
    assert read["address_protected"] is True
    assert (read["street_address"], read["postal_code"], read["city"]) == ("", "", "")
    listed = await (await client.get("/api/v1/people", headers=headers)).get_json()
    assert "Hemliga" not in str(listed)


async def test_it_refuses_bad_people_with_field_errors(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    headers = await _headers(db, tenant)
    response = await client.post(
        "/api/v1/people",
        headers=headers,
        json={
            "first_name": "X",
            "last_name": "Y",
            "national_id": "900101-0018",
            "email": "nope",
        },
    )
    assert response.status_code == 422
    body = await response.get_json()
    assert {e["field"] for e in body["errors"]} == {"national_id", "email"}
    missing = await client.post("/api/v1/people", headers=headers, json={"first_name": "X"})
    assert missing.status_code == 400


async def test_it_builds_an_election_structure(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    headers = await _headers(db, tenant)

    async def post(path: str, json: dict[str, Any], status: int = 201) -> Any:
        response = await client.post(path, headers=headers, json=json)
        assert response.status_code == status, await response.get_data(as_text=True)
        return await response.get_json()

    building = await post("/api/v1/buildings", {"name": "Stadshuset", "city": "Lund"})
    room = await post(
        f"/api/v1/buildings/{building['id']}/rooms", {"name": "Sal A", "capacity": 60}
    )
    election = await post(
        "/api/v1/elections",
        {"name": "Val 2026", "kind": "parliament", "election_day": "2026-09-13"},
    )
    district = await post(
        f"/api/v1/elections/{election['id']}/districts", {"code": "01", "name": "Centrum"}
    )
    station = await post(
        f"/api/v1/elections/{election['id']}/stations",
        {
            "name": "Centrumskolan",
            "kind": "polling",
            "district_id": district["id"],
            "room_id": room["id"],
        },
    )
    shift = await post(
        f"/api/v1/elections/{election['id']}/stations/{station['id']}/shifts",
        {"name": "Dag", "day": "2026-09-13", "starts_at": "07:30", "ends_at": "14:00"},
    )
    assert shift["starts_at"].startswith("07:30")
    await post(
        f"/api/v1/elections/{election['id']}/stations/{station['id']}/shifts",
        {"name": "Kväll", "day": "2026-09-13", "starts_at": "20:00", "ends_at": "14:00"},
        422,
    )
    await post(
        "/api/v1/elections",
        {
            "name": "Fel",
            "kind": "parliament",
            "election_day": "2026-09-13",
            "advance_start": "2026-09-20",
            "advance_end": "2026-09-25",
        },
        422,
    )
    listing = await (
        await client.get(f"/api/v1/elections/{election['id']}/stations", headers=headers)
    ).get_json()
    assert [s["name"] for s in listing["items"]] == ["Centrumskolan"]


async def test_it_gives_another_municipalitys_token_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    person = await make_person(db, tenant)
    foreign = await _headers(db, other_tenant)
    for method, path in (
        ("GET", f"/api/v1/people/{person.id}"),
        ("PATCH", f"/api/v1/people/{person.id}"),
    ):
        response = await client.open(path, method=method, headers=foreign, json={})
        assert response.status_code == 404, path


async def test_it_updates_and_removes_structure(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    headers = await _headers(db, tenant)
    election = await (
        await client.post(
            "/api/v1/elections",
            headers=headers,
            json={"name": "Val", "kind": "municipal", "election_day": "2026-09-13"},
        )
    ).get_json()
    base = f"/api/v1/elections/{election['id']}"
    district = await (
        await client.post(f"{base}/districts", headers=headers, json={"code": "01", "name": "A"})
    ).get_json()
    renamed = await client.put(
        f"{base}/districts/{district['id']}",
        headers=headers,
        json={"code": "01", "name": "Centrum"},
    )
    assert (await renamed.get_json())["name"] == "Centrum"
    station = await (
        await client.post(
            f"{base}/stations",
            headers=headers,
            json={"name": "Skolan", "kind": "polling", "district_id": district["id"]},
        )
    ).get_json()
    shift = await (
        await client.post(
            f"{base}/stations/{station['id']}/shifts",
            headers=headers,
            json={"name": "Dag", "day": "2026-09-13", "starts_at": "08:00", "ends_at": "12:00"},
        )
    ).get_json()
    moved = await client.put(
        f"{base}/stations/{station['id']}/shifts/{shift['id']}",
        headers=headers,
        json={"name": "Dag", "day": "2026-09-13", "starts_at": "09:00", "ends_at": "13:00"},
    )
    assert (await moved.get_json())["starts_at"].startswith("09:00")
    assert (
        await client.delete(
            f"{base}/stations/{station['id']}/shifts/{shift['id']}", headers=headers
        )
    ).status_code == 204
    assert (
        await client.delete(f"{base}/stations/{station['id']}", headers=headers)
    ).status_code == 204
    assert (
        await client.get(f"{base}/stations/{station['id']}", headers=headers)
    ).status_code == 404


VALID_BODIES = {
    "/api/v1/people/<id:person_id>": {"city": "X"},
    "/api/v1/buildings/<id:building_id>": {"name": "B"},
    "/api/v1/buildings/<id:building_id>/rooms": {"name": "R"},
    "/api/v1/buildings/<id:building_id>/rooms/<id:room_id>": {"name": "R"},
    "/api/v1/elections/<id:election_id>": {
        "name": "E",
        "kind": "municipal",
        "election_day": "2026-09-13",
    },
    "/api/v1/elections/<id:election_id>/districts": {"code": "9", "name": "D"},
    "/api/v1/elections/<id:election_id>/districts/<id:district_id>": {"code": "9", "name": "D"},
    "/api/v1/elections/<id:election_id>/stations": {"name": "S", "kind": "advance"},
    "/api/v1/elections/<id:election_id>/stations/<id:station_id>": {
        "name": "S",
        "kind": "advance",
    },
    "/api/v1/elections/<id:election_id>/stations/<id:station_id>/shifts": {
        "name": "Dag",
        "day": "2026-09-13",
        "starts_at": "08:00",
        "ends_at": "12:00",
    },
    "/api/v1/elections/<id:election_id>/stations/<id:station_id>/shifts/<id:shift_id>": {
        "name": "Dag",
        "day": "2026-09-13",
        "starts_at": "08:00",
        "ends_at": "12:00",
    },
}


async def test_it_gives_404_on_every_api_route_with_another_municipalitys_ids(
    app: Any, client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    import re

    from app.domain.elections.districts import save_district
    from app.domain.elections.shifts import save_shift
    from app.domain.elections.stations import save_station
    from tests.factories import (
        make_application,
        make_course,
        make_election,
        make_open_election,
        make_room,
    )

    person = await make_person(db, tenant)
    room = await make_room(db, tenant)
    election = await make_election(db, tenant)
    with tenant_scope(tenant.id):
        actor = Actor.system("test")
        district = await save_district(db, actor, election.id, {"code": "01", "name": "A"})
        station = await save_station(
            db,
            actor,
            election.id,
            {"name": "S", "kind": "polling", "district_id": str(district.id)},
        )
        shift = await save_shift(
            db,
            actor,
            election.id,
            station.id,
            {"name": "Dag", "day": "2026-09-13", "starts_at": "8", "ends_at": "12"},
        )
    ids = {
        "person_id": person.id,
        "building_id": room.building_id,
        "room_id": room.id,
        "election_id": election.id,
        "district_id": district.id,
        "station_id": station.id,
        "shift_id": shift.id,
        "application_id": (
            await make_application(db, tenant, await make_open_election(db, tenant))
        ).application.id,
        "assignment_id": await _an_assignment(db, tenant),
        "course_id": (await make_course(db, tenant)).id,
        "dispatch_id": await _a_dispatch(db, tenant),
        "article_id": await _an_article(db, tenant),
    }
    foreign = await _headers(db, other_tenant)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "<id:" not in rule.rule:
            continue
        path = re.sub(r"<id:(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            body = VALID_BODIES.get(rule.rule) if method in ("POST", "PUT", "PATCH") else None
            response = await client.open(path, method=method, headers=foreign, json=body)
            assert response.status_code == 404, (method, path, response.status_code)
            checked += 1
    assert checked >= 15


async def _a_dispatch(db: AsyncSession, tenant: Tenant) -> int:
    from app.domain.models import Dispatch

    with tenant_scope(tenant.id):
        dispatch = Dispatch(title="Information", request_key="a-dispatch")
        db.add(dispatch)
        await db.commit()
        return dispatch.id


async def _an_article(db: AsyncSession, tenant: Tenant) -> int:
    from app.domain.models import MaterialArticle

    with tenant_scope(tenant.id):
        article = MaterialArticle(name="Valsedel S", unit="st")
        db.add(article)
        await db.commit()
        return article.id


async def _an_assignment(db: AsyncSession, tenant: Tenant) -> int:
    from app.domain.staffing.assignments import assign_person
    from tests.factories import make_clerk, make_staffed_station

    staffed = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, staffed["election"])
    with tenant_scope(tenant.id):
        assignment = await assign_person(
            db,
            Actor.system("test"),
            staffed["early"].id,
            staffed["roles"]["clerk"].id,
            person.id,
        )
    return assignment.id


async def test_a_shift_moved_by_the_api_keeps_the_staffing_rules(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    from app.domain.staffing.assignments import assign_person
    from tests.factories import make_clerk, make_staffed_station

    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, s["election"], name="Biblioteket")
    person = await make_clerk(db, tenant, s["election"], first_name="Ebba", last_name="Ek")
    actor = Actor.system("test")
    with tenant_scope(tenant.id):
        await assign_person(db, actor, s["late"].id, s["roles"]["clerk"].id, person.id)
        person_id = person.id
        ids = (s["election"].id, other["station"].id, other["early"].id)
    clerk, day = s["roles"]["clerk"].id, str(s["late"].day)
    headers = await _headers(db, tenant)
    with tenant_scope(tenant.id):
        # Biblioteket's morning until 13:00, then Ebba takes it too (late starts 13:30).
        moved = await client.put(
            f"/api/v1/elections/{ids[0]}/stations/{ids[1]}/shifts/{ids[2]}",
            headers=headers,
            json={"name": "Förmiddag", "day": day, "starts_at": "07:30",
                  "ends_at": "13:00"},
        )  # fmt: skip
        assert moved.status_code == 200, await moved.get_json()
        db.expire_all()  # the request changed the shift this session holds
        await assign_person(db, actor, ids[2], clerk, person_id)
    clash = await client.put(
        f"/api/v1/elections/{ids[0]}/stations/{ids[1]}/shifts/{ids[2]}",
        headers=headers,
        json={"name": "Förmiddag", "day": day, "starts_at": "07:30",
              "ends_at": "15:00"},
    )  # fmt: skip
    problem = await clash.get_json()
    assert clash.status_code == 422, problem
    assert "Ebba Ek" in str(problem) and "Hamnskolan" in str(problem)


async def test_it_refuses_a_shift_time_that_is_not_a_wall_clock_time(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    """JSON's 0 reads as a time with an offset: a 422 at its field, not a server error
    (found by the API fuzzer)."""
    from tests.factories import make_staffed_station

    headers = await _headers(db, tenant)
    s = await make_staffed_station(db, tenant)
    answer = await client.post(
        f"/api/v1/elections/{s['election'].id}/stations/{s['station'].id}/shifts",
        headers=headers,
        json={"day": "2026-09-13", "name": "Natt", "starts_at": 0, "ends_at": "06:00"},
    )
    assert answer.status_code == 422
    fields = {error["field"] for error in (await answer.get_json())["errors"]}
    assert "starts_at" in fields
