"""Every tenant route, swept: an outsider gets 404, anonymous is sent to sign in,
and each role meets exactly the permissions it has."""

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.permissions import role_has
from tests.factories import csrf_token, login, make_user
from tests.support.routes import tenant_routes


async def _request(client: QuartClient, method: str, path: str) -> int:
    token = await csrf_token(client)
    if method == "GET":
        return (await client.get(path)).status_code
    response = await client.open(path, method=method, form={"csrf_token": token})
    return response.status_code


async def test_it_protects_every_tenant_route(app: Quart) -> None:
    routes = tenant_routes(app)
    assert len(routes) >= 7, routes  # the sweep must actually find the back office and portal


async def test_it_gives_an_outsider_404_on_every_tenant_route(
    app: Quart, client: QuartClient, admin: User, outsider: User
) -> None:
    await login(client, outsider)
    for method, path, _permission in tenant_routes(app):
        assert await _request(client, method, path) == 404, (method, path)


async def test_it_sends_anonymous_visitors_to_sign_in(
    app: Quart, client: QuartClient, admin: User
) -> None:
    for method, path, _permission in tenant_routes(app):
        if method != "GET":
            continue
        response = await client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


async def test_it_answers_htmx_requests_from_anonymous_visitors_with_a_redirect_header(
    client: QuartClient, admin: User
) -> None:
    response = await client.get("/lund/planning/admin/audit", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


async def test_it_gives_404_for_an_unknown_municipality(client: QuartClient, admin: User) -> None:
    await login(client, admin)
    assert (await client.get("/nowhere/planning/")).status_code == 404
    assert (await client.get("/nowhere/")).status_code == 404


@pytest.mark.parametrize("role", ["planner", "coordinator", "clerk"])
async def test_it_refuses_what_a_role_may_not_do_with_403(
    app: Quart, client: QuartClient, db: AsyncSession, admin: User, tenant: Tenant, role: str
) -> None:
    user = await make_user(db, tenant, role)
    await login(client, user)
    for method, path, permission in tenant_routes(app):
        status = await _request(client, method, path)
        if role_has(role, permission):
            assert status != 403, (method, path)
        else:
            assert status == 403, (method, path)


async def test_it_shows_403_in_the_face_layout(client: QuartClient, planner: User) -> None:
    await login(client, planner)
    response = await client.get("/lund/planning/admin/audit")
    body = await response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Du har inte behörighet till den här sidan" in body
    assert 'class="app-nav"' in body


async def test_it_answers_404_for_an_id_beyond_the_database_range(
    client: QuartClient, planner: User
) -> None:
    await login(client, planner)
    assert (await client.get("/lund/planning/people/99999999999999999999")).status_code == 404
