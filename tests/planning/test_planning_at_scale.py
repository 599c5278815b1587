"""The planning pages at a municipality's size: the staffing board, the optimiser's
review and the live dashboard each show a summary first, filters that say how many
they keep, and a page of the list at a time."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import named
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import AutostaffRun, Election
from app.domain.ops import dashboard as dashboard_module
from app.domain.staffing.assignments import add_reserve, assign_person
from app.planning import ops_dashboard
from tests.domain.ops.test_checkins import ops_day
from tests.factories import login, make_clerk, make_staffed_station

HTMX = {"HX-Request": "true"}
ACTOR = Actor.system("test")


async def _twelve_stations(db: AsyncSession, tenant: Tenant) -> list[dict[str, Any]]:
    """Twelve stations of one district, each with 7 places (4 of them to the minimum);
    the first has its minimum: a chair and two clerks early, a clerk late."""
    first = await make_staffed_station(db, tenant, name="Skola 01")
    stations = [first] + [
        await make_staffed_station(db, tenant, first["election"], name=f"Skola {n:02d}")
        for n in range(2, 13)
    ]
    roles = first["roles"]
    places = [
        (first["early"], roles["chair"]),
        (first["early"], roles["clerk"]),
        (first["early"], roles["clerk"]),
        (first["late"], roles["clerk"]),
    ]
    for shift, role in places:
        person = await make_clerk(db, tenant, first["election"])
        with tenant_scope(tenant.id):
            await assign_person(db, ACTOR, shift.id, role.id, person.id)
    return stations


async def _in_english(db: AsyncSession, user: User) -> None:
    user.locale = "en"
    await db.commit()


def _cards(body: str) -> list[str]:
    return re.findall(r'<h2 id="station-\d+-name"[^>]*>([^<]+)</h2>', body)


async def test_the_board_shows_the_totals_first_and_counts_beside_each_filter(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stations = await _twelve_stations(db, tenant)
    election = stations[0]["election"]
    await _in_english(db, planner)
    await login(client, planner)
    base = f"/lund/planning/elections/{election.id}/staffing"

    body = await (await client.get(base)).get_data(as_text=True)
    assert "<strong>4 / 84</strong>" in body  # 12 stations x 7 places, 4 filled
    assert "<strong>44</strong> missing below the minimum" in body  # 11 x 4
    assert "All stations (12)</option>" in body
    assert "Only stations below the minimum (11)</option>" in body
    assert "Only stations with open places (12)</option>" in body
    clerk = stations[0]["roles"]["clerk"]
    assert f"{named(clerk, 'en')} (57 open)</option>" in body  # 12 x 5 clerk places, 3 filled
    # Twelve stations do not fit one page of cards: the district line, no cards.
    assert _cards(body) == []
    summary = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "<td>12</td>" in summary and "4 / 84" in summary

    # The station filter narrows to the station's card; the counts follow it.
    fragment = await (await client.get(f"{base}?q=skola+01", headers=HTMX)).get_data(as_text=True)
    assert "<html" not in fragment
    assert _cards(fragment) == ["Skola 01"]
    assert "All stations (1)</option>" in fragment
    assert "Only stations below the minimum (0)</option>" in fragment


async def test_the_board_pages_the_stations_below_the_minimum(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stations = await _twelve_stations(db, tenant)
    await _in_english(db, planner)
    await login(client, planner)
    base = f"/lund/planning/elections/{stations[0]['election'].id}/staffing?show=below_minimum"

    first = await (await client.get(base)).get_data(as_text=True)
    assert _cards(first) == [f"Skola {n:02d}" for n in range(2, 12)]
    assert "11 stations match." in first and "Page 1 of 2" in first
    second = await (await client.get(f"{base}&page=2")).get_data(as_text=True)
    assert _cards(second) == ["Skola 12"]
    # A page past the last shows the last.
    assert _cards(await (await client.get(f"{base}&page=99")).get_data(as_text=True)) == [
        "Skola 12"
    ]


async def test_the_board_shows_only_the_chosen_role(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stations = await _twelve_stations(db, tenant)
    roles = stations[0]["roles"]
    await login(client, planner)
    url = (
        f"/lund/planning/elections/{stations[0]['election'].id}/staffing"
        f"?district={stations[0]['district'].id}&role={roles['chair'].id}"
    )
    body = await (await client.get(url)).get_data(as_text=True)
    assert len(_cards(body)) == 10
    assert f"<strong>{roles['chair'].name}</strong>" in body
    assert f"<strong>{roles['clerk'].name}</strong>" not in body
    assert "<strong>1 / 12</strong>" in body  # a chair's place per station, one filled


async def test_the_review_says_what_the_proposal_costs_in_words(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    people = [await make_clerk(db, tenant, s["election"]) for _ in range(3)]
    clerk = s["roles"]["clerk"].id
    with tenant_scope(tenant.id):
        await add_reserve(db, ACTOR, s["election"].id, people[2].id, None, "")
        run = AutostaffRun(
            election_id=s["election"].id,
            status="pending",
            items=[
                {
                    "shift_id": shift.id,
                    "role_type_id": clerk,
                    "person_id": person.id,
                    "cost": 1234,
                    "reasons": ["Erfaren"],
                }
                for shift, person in (
                    (s["early"], people[0]),
                    (s["late"], people[0]),
                    (s["early"], people[1]),
                )
            ],
            costs={
                "unfilled_minimum": 2_000_000,
                "unfilled_target": 20_000,
                "travel": 2_000,
                "team": 6_000,
                "language": 1_500,
                "experience": 10_000,
                "spread": 2_000,
                "total": 2_041_500,
                "places": 7,
                "filled": 3,
                "unfilled_below_minimum": 2,
            },
            seconds=0.5,
            created_by_label="test",
        )
        db.add(run)
        await db.commit()
    await _in_english(db, planner)
    await login(client, planner)

    body = await (
        await client.get(f"/lund/planning/elections/{s['election'].id}/autostaff/{run.id}")
    ).get_data(as_text=True)
    assert "3 open places are filled." in body
    assert "4 places stay open" in body  # 7 open now, 3 of them proposed
    assert "2 of them below the minimum" in body
    assert "2 shifts have no experienced clerk;" in body
    assert "2 people join stations whose last teams are kept together;" in body
    assert "1 person speaks none of the languages the station needs;" in body
    assert "1 person gets more than one shift." in body
    assert "3 people have no known distance" in body  # the station has no building
    assert "<strong>1</strong> reserve kept" in body
    # The optimiser's own measure is not shown as a number.
    assert "2 041 500" not in body and "2,041,500" not in body and "1 000 000" not in body
    # The proposals by district, each row ready to be accepted.
    assert body.count('class="diff-add"') == 3
    assert f"{s['district'].code} {s['district'].name}</strong>" in body
    assert "3 proposed" in body


@pytest.fixture
async def big_day(db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Election day at 08:30 with three stations: one staffed, two with nobody."""
    day = await ops_day(db, tenant)
    with tenant_scope(tenant.id):
        election = await db.get(Election, day.election_id)
    for name in ("Ängsskolan", "Östra skolan"):
        await make_staffed_station(db, tenant, election, name=name)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: day.at(8, 30).astimezone(dt.UTC))
    return day


async def test_the_dashboard_counts_each_filter_and_pages_its_stations(
    client: QuartClient,
    db: AsyncSession,
    big_day: Any,
    coordinator: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ops_dashboard, "STATIONS_PER_PAGE", 2)
    await _in_english(db, coordinator)
    await login(client, coordinator)
    base = f"/lund/planning/elections/{big_day.election_id}/live"

    body = await (await client.get(base)).get_data(as_text=True)
    assert body.count('class="ops-row') == 2
    assert "3 stations match." in body and "Page 1 of 2" in body
    assert "(3)</option>" in body  # "All (3)"
    assert re.search(r"Any alert\s*\(\d\)</option>", body)
    assert 'id="ops-page" type="hidden" name="page" value="1"' in body
    second = await (await client.get(f"{base}?page=2", headers=HTMX)).get_data(as_text=True)
    assert second.count('class="ops-row') == 1
    assert 'name="page" value="2"' in second

    # The station search keeps the one station; by district, under its district's
    # heading and counts.
    found = await (await client.get(f"{base}?q=%C3%B6stra&order=district", headers=HTMX)).get_data(
        as_text=True
    )
    assert found.count('class="ops-row') == 1 and "Östra skolan" in found
    assert "1 station" in found and "0 of 0 checked in" in found
