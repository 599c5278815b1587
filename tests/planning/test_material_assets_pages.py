"""The hand-out pages: items handed out and taken back by their tag, refusals at the
field with nothing written, the filters, an item's history, a person's page with what
they hold, what is not returned after the election (reminded, as XLSX); and the
logistics role, which sees and edits materials and nothing of the people register,
the staffing, the pay, the statistics or the API."""

from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import District, MaterialAsset, MaterialHandout, Person, Station
from tests.domain.materials.delivery_helpers import stocked_day
from tests.factories import login, make_person, make_user, post_form

BASE = "/lund/planning/materials"


async def _english(client: QuartClient, user: User) -> None:
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})


async def _items(db: AsyncSession, tenant: Tenant, screen_id: int, *tags: str) -> None:
    with tenant_scope(tenant.id):
        db.add_all(MaterialAsset(article_id=screen_id, tag=tag) for tag in tags)
        await db.commit()


async def _handouts(db: AsyncSession, tenant: Tenant) -> int:
    with tenant_scope(tenant.id):
        return int(await db.scalar(select(func.count(MaterialHandout.id))) or 0)


async def test_a_logistics_user_hands_out_takes_back_and_follows_up(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    await _items(db, tenant, stocked.screen_id, "VS-0101", "VS-0102")
    driver = await make_person(db, tenant, first_name="Dora", last_name="Driver",
                               mobile="+46701234567")  # fmt: skip
    with tenant_scope(tenant.id):
        chair = await db.get(Person, stocked.day.chair_id)
        assert chair is not None
        chair.mobile, chair_name = "+46709876543", f"{chair.first_name} {chair.last_name}"
        await db.commit()
    logistics = await make_user(db, tenant, "logistics")
    await _english(client, logistics)
    # The logistics user's home is the materials.
    response = await client.get("/lund/planning/")
    assert response.status_code == 302 and response.location.endswith(f"{BASE}/")
    page = await (await client.get(f"{BASE}/assets")).get_data(as_text=True)
    assert "Hand out" in page and "Take back" in page and chair_name in page
    station = {"holder": "station", "station_id": str(stocked.day.station_id)}
    response = await post_form(client, f"{BASE}/assets/hand-out", {"tag": "vs-0101", **station})
    assert response.status_code == 302
    # Out already: refused at the tag with where it is, nothing written.
    response = await post_form(
        client, f"{BASE}/assets/hand-out",
        {"tag": "VS-0101", "holder": "person", "person_id": str(driver.id)},
    )  # fmt: skip
    assert response.status_code == 422
    page = await response.get_data(as_text=True)
    assert "VS-0101 is already out to Hamnskolan" in page and 'aria-invalid="true"' in page
    assert await _handouts(db, tenant) == 1
    response = await post_form(
        client, f"{BASE}/assets/hand-out",
        {"tag": "VS-0102", "holder": "person", "person_id": str(driver.id),
         "due_back": "2000-01-02", "election_id": str(stocked.day.election_id)},
    )  # fmt: skip
    assert response.status_code == 302
    page = await (await client.get(f"{BASE}/assets?overdue=1")).get_data(as_text=True)
    assert "VS-0102" in page and "VS-0101" not in page and "Overdue" in page
    page = await (await client.get(f"{BASE}/assets?holder=station")).get_data(as_text=True)
    assert "VS-0101" in page and "VS-0102" not in page
    # After the election: what is still out, whom to call, a reminder, a spreadsheet.
    not_returned = f"{BASE}/elections/{stocked.day.election_id}/not-returned"
    page = await (await client.get(not_returned)).get_data(as_text=True)
    assert "Hamnskolan" in page and "+46709876543" in page and "Dora Driver" in page
    response = await post_form(client, f"{not_returned}/remind")
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(OutboxMessage.id))) == 2
    response = await client.get(f"{not_returned}.xlsx")
    assert response.status_code == 200
    rows = list(
        load_workbook(BytesIO(await response.get_data())).active.iter_rows(values_only=True)
    )  # type: ignore[union-attr]
    assert [row[3] for row in rows[1:]] == ["VS-0101", "VS-0102"]
    # Taken back damaged: the item's state and history say so.
    response = await post_form(
        client, f"{BASE}/assets/take-back", {"tag": "VS-0101", "condition": "damaged"}
    )
    assert response.status_code == 302
    response = await post_form(client, f"{BASE}/assets/take-back", {"tag": "VS-0101"})
    assert response.status_code == 422
    assert "VS-0101 is not out" in await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        asset_id = await db.scalar(select(MaterialAsset.id).where(MaterialAsset.tag == "VS-0101"))
    page = await (await client.get(f"{BASE}/assets/{asset_id}")).get_data(as_text=True)
    assert "Hamnskolan" in page and "Damaged" in page and logistics.email in page


async def test_a_logistics_user_sees_nothing_of_people_staffing_pay_or_statistics(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    election = f"/lund/planning/elections/{stocked.day.election_id}"
    logistics = await make_user(db, tenant, "logistics")
    await _english(client, logistics)
    for path in [
        "/lund/planning/people/",
        f"/lund/planning/people/{stocked.day.chair_id}",
        "/lund/planning/people/export.csv",
        f"{election}/staffing",
        f"{election}/staffing/reports",
        f"{election}/pay/",
        f"{election}/statistics",
        "/lund/planning/live",
        "/lund/planning/users",
        "/lund/planning/audit",
    ]:
        response = await client.get(path)
        assert response.status_code in (403, 404), (path, response.status_code)
    # The API answers to tokens only, which a logistics user cannot make.
    assert (await client.get("/api/v1/people")).status_code == 401
    assert (await client.get("/lund/planning/tokens")).status_code in (403, 404)
    # The menu offers materials only.
    page = await (await client.get(f"{BASE}/")).get_data(as_text=True)
    assert "/lund/planning/people/" not in page and "Packing and return" in page
    for path in [
        f"{BASE}/",
        f"{BASE}/equipment",
        f"{BASE}/assets",
        f"{BASE}/rules",
        f"{BASE}/stock",
        f"{BASE}/elections/{stocked.day.election_id}/needs",
        f"{BASE}/elections/{stocked.day.election_id}/packing",
        f"{BASE}/elections/{stocked.day.election_id}/runs",
        f"{BASE}/elections/{stocked.day.election_id}/shortages",
        f"{BASE}/elections/{stocked.day.election_id}/not-returned",
    ]:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "Election day live" not in await response.get_data(as_text=True), path


async def test_a_person_s_page_shows_the_equipment_they_hold(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stocked = await stocked_day(db, tenant)
    await _items(db, tenant, stocked.screen_id, "LAP-7")
    driver = await make_person(db, tenant, first_name="Dora", last_name="Driver")
    await _english(client, planner)
    person_page = f"/lund/planning/people/{driver.id}"
    assert "Holds no equipment." in await (await client.get(person_page)).get_data(as_text=True)
    # Opened from the person's page, the form names them.
    page = await (await client.get(f"{BASE}/assets?person_id={driver.id}")).get_data(as_text=True)
    assert "Dora Driver" in page
    response = await post_form(
        client, f"{BASE}/assets/hand-out",
        {"tag": "LAP-7", "holder": "person", "person_id": str(driver.id), "back_to": "person"},
    )  # fmt: skip
    assert response.status_code == 302 and response.location.endswith(person_page)
    page = await (await client.get(person_page)).get_data(as_text=True)
    assert "LAP-7" in page and "Valskärm" in page


async def test_another_municipality_s_item_and_election_are_not_found(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant, planner: User
) -> None:
    other = await stocked_day(db, other_tenant)
    await _items(db, other_tenant, other.screen_id, "VS-9")
    with tenant_scope(other_tenant.id):
        asset_id = await db.scalar(select(MaterialAsset.id))
    await _english(client, planner)
    assert (await client.get(f"{BASE}/assets/{asset_id}")).status_code == 404
    not_returned = f"{BASE}/elections/{other.day.election_id}/not-returned"
    assert (await client.get(not_returned)).status_code == 404
    assert (await client.get(f"{not_returned}.xlsx")).status_code == 404
    assert (await post_form(client, f"{not_returned}/remind")).status_code == 404
    response = await post_form(
        client, f"{BASE}/assets/hand-out",
        {"tag": "VS-9", "holder": "station", "station_id": str(other.day.station_id)},
    )  # fmt: skip
    assert response.status_code == 422
    assert await _handouts(db, other_tenant) == 0


async def test_the_hand_out_form_finds_a_station_among_hundreds_by_district(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User
) -> None:
    """A city's stations are searched for (name or district) and chosen among, grouped
    under their districts; the page draws no list of them all."""
    stocked = await stocked_day(db, tenant)
    election_id = stocked.day.election_id
    with tenant_scope(tenant.id):
        north = District(election_id=election_id, code="0201", name="Norr")
        south = District(election_id=election_id, code="0301", name="Söder")
        db.add_all([north, south])
        await db.flush()
        db.add_all(
            Station(election_id=election_id, district_id=north.id, kind="polling",
                    name=f"Norrskolan {n:03}")
            for n in range(1, 81)
        )  # fmt: skip
        db.add(Station(election_id=election_id, district_id=south.id, kind="polling",
                       name="Söderhallen"))  # fmt: skip
        await db.commit()
        hall = await db.scalar(select(Station.id).where(Station.name == "Söderhallen"))
    logistics = await make_user(db, tenant, "logistics")
    await _english(client, logistics)
    page = await (await client.get(f"{BASE}/assets")).get_data(as_text=True)
    assert '<select id="field-give-station_id"' not in page
    assert 'id="field-give-station_id" name="station_query" type="search"' in page
    assert page.count('name="station_id"') == 50
    assert "32 more stations match: type more of the name." in page
    found = await client.get(f"{BASE}/assets/stations?station_query=s%C3%B6der")
    text = " ".join((await found.get_data(as_text=True)).split())
    assert (
        f'<legend>0301 Söder</legend> <label class="choice"><input type="radio" name="station_id" value="{hall}">'
        in text
    )
    assert "Norrskolan" not in text
    by_code = await (await client.get(f"{BASE}/assets/stations?station_query=0201")).get_data(
        as_text=True
    )
    assert "<legend>0201 Norr</legend>" in by_code and "Söderhallen" not in by_code
    assert "30 more stations match" in by_code  # 80 in Norr, 50 shown
    none = await (await client.get(f"{BASE}/assets/stations?station_query=zzz")).get_data(
        as_text=True
    )
    assert "No station matches." in none
    # A refusal draws the form again with the station chosen.
    response = await post_form(
        client, f"{BASE}/assets/hand-out",
        {"tag": "NONE-1", "holder": "station", "station_id": str(hall), "station_query": "söder"},
    )  # fmt: skip
    assert response.status_code == 422
    again = " ".join((await response.get_data(as_text=True)).split())
    assert f'value="{hall}" checked> <span>Söderhallen</span>' in again
    assert 'type="search" value="söder"' in again and "Norrskolan" not in again
    await login(client, outsider)
    assert (await client.get(f"{BASE}/assets/stations?station_query=s")).status_code == 404
