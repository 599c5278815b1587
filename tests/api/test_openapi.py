"""The API answers bad input as its OpenAPI document says, never with a server error,
and the document lists every answer a route gives (what `tools/fuzz_api.py` found)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.courses import BookingState
from app.api.staffing import AssignmentState
from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import ASSIGNMENT_STATES, BOOKING_STATES

HUGE = 10**20  # past 64 bits
PAST_INT32 = 2**31
PROBLEM = "application/problem+json"


@pytest.fixture
async def bearer(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _row, secret = await create_api_token(db, Actor.system("test"), "Fuzz")
    return {"Authorization": f"Bearer {secret}"}


async def _problem(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, await response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body: dict[str, Any] = await response.get_json()
    assert body["status"] == response.status_code and body["title"]
    return body


@pytest.mark.parametrize("number", [PAST_INT32, HUGE])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/people/{n}",
        "/api/v1/applications/{n}",
        "/api/v1/courses/{n}/sessions",
        "/api/v1/elections/{n}/staffing",
        "/api/v1/elections/{n}/assignments",
        "/api/v1/elections/1/stations/{n}",
    ],
)
async def test_an_id_past_the_columns_in_a_path_is_not_found(
    client: QuartClient, bearer: dict[str, str], path: str, number: int
) -> None:
    response = await client.get(path.format(n=number), headers=bearer)
    await _problem(response, 404)


@pytest.mark.parametrize(
    "query",
    [
        f"/api/v1/people?page={HUGE}",
        f"/api/v1/courses?page={HUGE}",
        f"/api/v1/qualifications?page={HUGE}&person_id=1",
        f"/api/v1/course-bookings?page=2&session_id={HUGE}",
        f"/api/v1/applications?page={HUGE}",
        f"/api/v1/applications?election_id={PAST_INT32}",
        f"/api/v1/audit-entries?before_id={HUGE}",
        f"/api/v1/elections/1/assignments?station_id={HUGE}",
    ],
)
async def test_an_integer_past_its_bounds_in_a_query_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str], query: str
) -> None:
    body = await _problem(await client.get(query, headers=bearer), 400)
    assert body["errors"]


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/v1/assignments", {"shift_id": HUGE, "role_type_id": 1, "person_id": 1}),
        ("/api/v1/realtime/tickets", {"user_id": PAST_INT32}),
        ("/api/v1/buildings/1/rooms", {"name": "Sal", "capacity": HUGE}),
        ("/api/v1/elections/1/districts", {"code": "1", "name": "A", "eligible_voters": HUGE}),
    ],
)
async def test_an_integer_past_its_bounds_in_a_body_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str], path: str, payload: dict[str, Any]
) -> None:
    body = await _problem(await client.post(path, headers=bearer, json=payload), 400)
    assert body["errors"]


async def test_a_check_in_with_a_huge_id_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/checkins",
        headers={**bearer, "Idempotency-Key": "k-1"},
        json={"person_id": HUGE, "shift_id": 1, "kind": "arrived"},
    )
    await _problem(response, 400)


async def test_a_body_that_is_not_utf8_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/people",
        headers={**bearer, "Content-Type": "application/json"},
        data=b'{"first_name": "\xe8", "last_name": "X"}',
    )
    await _problem(response, 400)


async def test_a_lone_surrogate_in_a_body_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/people",
        headers={**bearer, "Content-Type": "application/json"},
        data=b'{"first_name": "A\\ud800", "last_name": "X"}',
    )
    await _problem(response, 400)


async def test_a_shift_time_with_an_offset_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/elections/1/stations/1/shifts",
        headers=bearer,
        json={"name": "Dag", "day": "2026-09-13", "starts_at": "07:00Z", "ends_at": "21:00"},
    )
    await _problem(response, 400)


def test_the_state_filters_list_the_models_states() -> None:
    assert set(BookingState.__args__) == set(BOOKING_STATES)
    assert set(AssignmentState.__args__) == set(ASSIGNMENT_STATES)


async def _document(client: QuartClient) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = await response.get_json()
    return document


async def test_every_operation_documents_its_problem_answers(client: QuartClient) -> None:
    document = await _document(client)
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert any(status.startswith("2") for status in responses), where
            for status in ("400", "401"):
                assert responses[status]["content"] == problem, where
            if "{" in path:
                assert responses["404"]["content"] == problem, where
            if "requestBody" in operation:
                assert {"413", "422"} <= set(responses), where


async def test_every_integer_parameter_is_bounded(client: QuartClient) -> None:
    document = await _document(client)
    # pydantic's own names leak out for a bound after a validator; JSON Schema ignores them.
    assert '"ge":' not in json.dumps(document) and '"le":' not in json.dumps(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schemas = parameter["schema"].get("anyOf", [parameter["schema"]])
                for schema in schemas:
                    if schema.get("type") == "integer":
                        assert "maximum" in schema and "minimum" in schema, (
                            f"{method.upper()} {path} {parameter['name']}"
                        )


async def test_deletes_document_their_empty_answer(client: QuartClient) -> None:
    document = await _document(client)
    station = document["paths"]["/api/v1/elections/{election_id}/stations/{station_id}"]
    assert "204" in station["delete"]["responses"]


async def test_local_times_are_documented_without_an_offset(client: QuartClient) -> None:
    schemas = (await _document(client))["components"]["schemas"]
    for name in ("SessionOut", "ShiftOut"):
        starts_at = schemas[name]["properties"]["starts_at"]
        assert "format" not in starts_at and starts_at["pattern"].startswith("^")


async def test_a_day_as_a_number_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    for query in ("/api/v1/applications?day=0", "/api/v1/qualifications?valid_on=0"):
        await _problem(await client.get(query, headers=bearer), 400)


async def test_a_method_the_address_does_not_take_names_those_it_does(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    response = await client.open("/api/v1/people", method="TRACE", headers=bearer)
    await _problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


async def test_a_write_without_a_body_is_documented_as_needing_one(client: QuartClient) -> None:
    document = await _document(client)
    assert document["paths"]["/api/v1/people"]["post"]["requestBody"]["required"] is True


async def test_a_boolean_for_a_number_or_a_number_for_a_boolean_is_a_bad_request(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    """pydantic reads 0 as false and false as 0; the document says boolean and integer."""
    for path, payload in (
        ("/api/v1/buildings", {"name": "Skolan", "parking": 0}),
        ("/api/v1/buildings/1/rooms", {"name": "Sal", "tables": False}),
        ("/api/v1/assignments", {"shift_id": "1", "role_type_id": 1, "person_id": 1}),
    ):
        await _problem(await client.post(path, headers=bearer, json=payload), 400)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", f"/api/v1/people/{PAST_INT32}"),
        ("PUT", f"/api/v1/elections/{HUGE}"),
        ("DELETE", f"/api/v1/elections/1/stations/{PAST_INT32}"),
        ("POST", f"/api/v1/elections/{HUGE}/stations"),
    ],
)
async def test_a_write_to_an_id_past_the_columns_is_not_found(
    client: QuartClient, bearer: dict[str, str], method: str, path: str
) -> None:
    """Not 405: the app's bounded ``int`` left the path to no rule, and werkzeug answers
    405 when a rule of the same shape takes other methods."""
    response = await client.open(path, method=method, headers=bearer, json={})
    await _problem(response, 404)


async def test_an_integer_written_with_a_zero_fraction_is_an_integer(
    client: QuartClient, bearer: dict[str, str]
) -> None:
    """JSON Schema counts 130.0 as an integer; so does the API."""
    response = await client.post(
        "/api/v1/assignments",
        headers=bearer,
        json={"shift_id": 1.0, "role_type_id": 1, "person_id": 1},
    )
    await _problem(response, 404)
