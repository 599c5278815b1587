"""Request hygiene (app/core/hygiene.py): text that cannot be stored is refused with a
400 before any view reads it, in every face; a view's body limit holds before anything
reads the body, chunked bodies too."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Building, ContactMessage
from tests.factories import csrf_token, login, make_open_election

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REFUSED = "inte kan sparas"  # the 400 page's explanation, in Swedish


async def _api_headers(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, Actor.system("test"), "Hygiene")
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


async def _buildings(db: AsyncSession, tenant: Tenant) -> int:
    with tenant_scope(tenant.id):
        return int(await db.scalar(select(func.count(Building.id))) or 0)


async def test_it_refuses_a_nul_byte_in_the_sign_in_form_with_the_400_page(
    client: QuartClient, admin: User
) -> None:
    token = await csrf_token(client)
    body = f"email=a%00b%40example.se&password=x&csrf_token={token}"
    response = await client.post("/login", data=body, headers=FORM)
    assert response.status_code == 400
    assert REFUSED in await response.get_data(as_text=True)


async def test_it_refuses_a_nul_byte_in_a_search(client: QuartClient, planner: User) -> None:
    await login(client, planner)
    response = await client.get("/lund/planning/people/?q=Anna%00")
    assert response.status_code == 400
    assert REFUSED in await response.get_data(as_text=True)
    # The same search without it is answered as always.
    assert (await client.get("/lund/planning/people/?q=Anna")).status_code == 200


async def test_it_refuses_a_form_body_that_is_not_utf8(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    token = await csrf_token(client)
    body = b"name=Sara\xff&email=s%40example.se&message=Hej&csrf_token=" + token.encode()
    response = await client.post("/lund/contact", data=body, headers=FORM)
    assert response.status_code == 400
    assert REFUSED in await response.get_data(as_text=True)  # not "the form had expired"
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(ContactMessage.id))) == 0


async def test_it_answers_the_api_with_a_problem_document_for_unstorable_json(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    headers = await _api_headers(db, tenant)
    # A NUL in a well-formed request is a refusal of its content (422, as the
    # document allows any character in a string); the rest is no Unicode or no JSON.
    bodies: list[tuple[bytes, int]] = [
        (json.dumps({"name": "Skola\ud800", "street_address": "Gatan 1"}).encode(), 400),
        (json.dumps({"name": "Skola\u0000", "street_address": "Gatan 1"}).encode(), 422),
        (json.dumps({"name\u0000": "Skola"}).encode(), 422),
        (b'{"name": "Skola\xff", "street_address": "Gatan 1"}', 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
    ]
    for body, status in bodies:
        response = await client.post("/api/v1/buildings", data=body, headers=headers)
        assert response.status_code == status, body[:40]
        assert response.content_type == "application/problem+json"
        problem: dict[str, Any] = await response.get_json()
        assert problem["status"] == status
        assert "detail" in problem
    searched = await client.get("/api/v1/people?q=Sara%00", headers=headers)
    assert searched.status_code == 422
    assert await _buildings(db, tenant) == 0


async def test_it_stops_reading_a_chunked_body_past_the_views_limit(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    """The application form takes 64 kB. A chunked body (no Content-Length) past that
    is answered as soon as the limit is passed: nothing waits for, or reads, the rest
    (before, the CSRF check read the whole form first, up to the app's 16 MB)."""
    await make_open_election(db, tenant)
    token = await csrf_token(client)
    boundary = "fuzzboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="message"\r\n\r\n'
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    async with client.request("/lund/apply", method="POST", headers=headers) as connection:
        await connection.send(head + b"x" * 100_000)
        # The rest of the body is never sent: the answer must not wait for it.
        first = await asyncio.wait_for(connection.receive(), timeout=10)
        response = await connection.as_response()
    assert connection.status_code == 413
    assert "error-summary" in (first + await response.get_data()).decode()
