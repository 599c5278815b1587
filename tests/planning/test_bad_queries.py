"""Query strings no page expected: numbers past any page or id, keys that name the
link builder's own arguments, an election that does not exist. Never a 500."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from tests.factories import login, make_course, make_person

HUGE = "9" * 25


async def test_it_shows_the_last_page_for_a_page_past_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    person = await make_person(db, tenant, first_name="Sista")
    await login(client, admin)
    for query in (f"page={HUGE}", "page=7", "page=-2147483649", "page=x"):
        response = await client.get(f"/lund/planning/people/?{query}")
        assert response.status_code == 200, query
        assert person.first_name in await response.get_data(as_text=True), query
    for path in (
        "/lund/planning/admin/audit",
        "/lund/planning/applications/",
        "/lund/planning/messages/",
    ):
        response = await client.get(f"{path}?page={HUGE}")
        assert response.status_code == 200, path


async def test_it_keeps_query_keys_apart_from_the_links_own_values(
    client: QuartClient, admin: User
) -> None:
    await login(client, admin)
    response = await client.get("/lund/planning/people/?format=x&endpoint=y")
    assert response.status_code == 200
    response = await client.get("/lund/planning/courses/results/new?q=1&endpoint=y&tenant=z")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/lund/planning/courses/results/new")


async def test_it_answers_404_for_the_staffing_board_of_an_unknown_election(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await make_course(db, tenant)  # a course required in every election of the tenant
    await login(client, planner)
    response = await client.get("/lund/planning/elections/999999/staffing")
    assert response.status_code == 404
