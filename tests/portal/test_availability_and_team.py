"""A clerk's availability, the station lead's team page, and what makes the portal
installable."""

import json
from typing import Any

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Availability
from tests.factories import login, make_clerk, make_staffed_station, make_user, post_form
from tests.portal.test_my_assignments import _linked_clerk, _place


async def test_it_lets_a_clerk_change_when_they_can_work(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    user, _me = await _linked_clerk(db, tenant, s)
    election = s["election"]
    await login(client, user)
    page = await (await client.get("/lund/portal/availability")).get_data(as_text=True)
    assert election.name in page and f'name="days_{election.id}"' in page
    form: dict[str, Any] = {
        "election_id": str(election.id),
        f"kinds_{election.id}": "advance",
        f"days_{election.id}": str(election.advance_start),
    }
    saved = await post_form(client, "/lund/portal/availability", form)
    assert saved.status_code == 302
    with tenant_scope(tenant.id):
        rows = [(a.day, a.work_kind) for a in await db.scalars(select(Availability))]
    assert rows == [(election.advance_start, "advance")]
    bad = await post_form(
        client,
        "/lund/portal/availability",
        {"election_id": str(election.id), f"kinds_{election.id}": "counting",
         f"days_{election.id}": str(election.advance_start)},
    )  # fmt: skip
    assert bad.status_code == 422
    with tenant_scope(tenant.id):
        assert len(list(await db.scalars(select(Availability)))) == 1  # nothing half-written


async def test_it_shows_the_chair_the_whole_team_with_contacts(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    chair_user, chair = await _linked_clerk(db, tenant, s)
    clerk_user, clerk = await _linked_clerk(db, tenant, s)
    member = await make_clerk(
        db, tenant, s["election"], first_name="Lagmedlem", mobile="0705550000"
    )
    await _place(db, tenant, s, "early", "chair", chair, "accepted")
    await _place(db, tenant, s, "early", "clerk", clerk, "accepted")
    await _place(db, tenant, s, "late", "clerk", member, "accepted")
    asked = await make_clerk(db, tenant, s["election"], first_name="Tillfrågad")
    await _place(db, tenant, s, "late", "clerk", asked, "offered")
    await login(client, chair_user)
    page = await (await client.get("/lund/portal/team")).get_data(as_text=True)
    assert "Lagmedlem" in page and "+46705550000" in page and member.email in page
    assert "Tillfrågad" not in page  # only those who accepted are the team
    other = client.app.test_client()
    await login(other, clerk_user)
    page = await (await other.get("/lund/portal/team")).get_data(as_text=True)
    assert "Lagmedlem" not in page  # a clerk is no lead


async def test_it_is_installable(client: QuartClient, tenant: Tenant) -> None:
    manifest = await client.get("/lund/portal/manifest.webmanifest")
    data = json.loads(await manifest.get_data(as_text=True))
    assert data["start_url"] == "/lund/portal/" and data["display"] == "standalone"
    assert {icon["sizes"] for icon in data["icons"]} >= {"192x192", "512x512"}
    worker = await client.get("/lund/portal/sw.js")
    assert worker.content_type.startswith("text/javascript")
    assert "caches" in await worker.get_data(as_text=True)
    assert (await client.get("/malmo/portal/manifest.webmanifest")).status_code == 404


async def test_it_keeps_outsiders_and_the_anonymous_out(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: Any
) -> None:
    for path in ("/lund/portal/availability", "/lund/portal/team"):
        response = await client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    await login(client, outsider)
    for path in ("/lund/portal/availability", "/lund/portal/team"):
        assert (await client.get(path)).status_code == 404
    planner = await make_user(db, tenant, "planner")
    other = client.app.test_client()
    await login(other, planner)
    assert (await other.get("/lund/portal/team")).status_code == 403
