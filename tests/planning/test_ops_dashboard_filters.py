"""The live dashboard's page for many stations: each filter's choices with their counts,
problems first, search by name or district number, the alert feed linking to each
station, and another municipality's election not found."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.domain.ops import dashboard as dashboard_module
from tests.domain.ops.test_dashboard_facets import Three, _three
from tests.factories import login, make_open_election

HTMX = {"HX-Request": "true"}


@pytest.fixture
async def three(
    db: AsyncSession, tenant: Tenant, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> Three:
    found = await _three(db, tenant)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: found.day.at(9, 0).astimezone(dt.UTC))
    coordinator.locale = "en"
    await db.commit()
    return found


def _base(three: Three) -> str:
    return f"/lund/planning/elections/{three.day.election_id}/live"


def _rows(body: str) -> list[str]:
    return re.findall(r'<tr id="ops-station-(\d+)"', body)


async def test_it_counts_every_choice_and_shows_problems_first_beside_the_alert_feed(
    client: QuartClient, three: Three, coordinator: User
) -> None:
    await login(client, coordinator)
    body = await (await client.get(_base(three))).get_data(as_text=True)
    for label in (
        "Any alert (2)",
        "High-severity incident (1)",
        "Below minimum (2)",
        "Not open at opening time (0)",
        "Any open incident (2)",
        "Not opened (3)",
    ):
        assert f"{label}</option>" in body, label
    assert re.search(rf'<option value="{three.other_district.id}">[^<]*\(1\)</option>', body)
    # Skogsskolan (a high-severity incident), Biblioteket (below minimum), Hamnskolan.
    assert _rows(body) == [str(three.forest_id), str(three.library_id), str(three.day.station_id)]
    feed = body[body.index('<aside class="ops-feed"') :]
    links = re.findall(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#ops-panel"', feed)
    assert links[0] == f"{_base(three)}/stations/{three.forest_id}"
    assert len(links) == 3 and 'Alerts <span class="muted">(3)</span>' in feed
    assert 'data-alert="high_incident"' in feed and "08:50" in feed
    # The panel the feed links to opens.
    panel = await client.get(links[0], headers=HTMX)
    assert panel.status_code == 200 and "Skogsskolan" in await panel.get_data(as_text=True)


async def test_it_narrows_by_problem_district_and_search_and_ignores_nonsense(
    client: QuartClient, three: Three, coordinator: User
) -> None:
    await login(client, coordinator)
    base = _base(three)
    high = await (await client.get(f"{base}?alert=high_incident", headers=HTMX)).get_data(
        as_text=True
    )
    assert _rows(high) == [str(three.forest_id)]
    assert '<option value="high_incident" selected>' in high
    assert "All (1)</option>" in high  # the state filter counts what the problem leaves
    code = three.other_district.code
    found = await (await client.get(f"{base}?q={code}", headers=HTMX)).get_data(as_text=True)
    assert _rows(found) == [str(three.forest_id)]
    district = await (
        await client.get(f"{base}?district={three.district_id}&order=district", headers=HTMX)
    ).get_data(as_text=True)
    assert _rows(district) == [str(three.library_id), str(three.day.station_id)]
    assert 'class="ops-district-head"' in district
    # Choices it does not know are left out, never an error.
    odd = await client.get(f"{base}?alert=nope&state=nope&district=x&order=nope&page=-3")
    assert odd.status_code == 200
    assert len(_rows(await odd.get_data(as_text=True))) == 3


async def test_another_municipalitys_election_is_not_found(
    client: QuartClient, db: AsyncSession, three: Three, coordinator: User, other_tenant: Tenant
) -> None:
    theirs = await make_open_election(db, other_tenant)
    await login(client, coordinator)
    response = await client.get(f"/lund/planning/elections/{theirs.id}/live?alert=any&q=D1")
    assert response.status_code == 404
    panel = await client.get(
        f"/lund/planning/elections/{theirs.id}/live/stations/{three.forest_id}", headers=HTMX
    )
    assert panel.status_code == 404
