"""Turnout after the day: each station's counts by reporting time as CSV, Excel and PDF,
linked from the live dashboard beside the incident log and the check-in times."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.ops import turnout as turnout_module
from app.domain.ops.turnout import report_turnout
from tests.domain.ops.test_checkins import OpsDay, ops_day
from tests.domain.ops.test_turnout_figures import _advance_station, _eligible
from tests.factories import csrf_token, login
from tests.planning.test_ops_exports import _csv, _english, _pdf, _url


@pytest.fixture
async def day(
    db: AsyncSession, tenant: Tenant, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> OpsDay:
    """A polling station of 1,200 eligible voters that reported at 11:00 and 14:00 (the
    second at 14:04), and an advance voting station that reported nothing."""
    found = await ops_day(db, tenant)
    await _eligible(db, tenant, found, 1200)
    await _advance_station(db, tenant, found)
    actor = Actor.for_user(coordinator)
    clock = {"now": found.at(11, 2)}
    monkeypatch.setattr(turnout_module, "utcnow", lambda: clock["now"].astimezone(dt.UTC))
    with tenant_scope(tenant.id):
        await report_turnout(db, actor, found.station_id, "11:00", 180)
        clock["now"] = found.at(14, 4)
        await report_turnout(db, actor, found.station_id, "14:00", 462)
    return found


async def test_it_links_the_turnout_exports_from_the_dashboard(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    page = await (await client.get(f"/lund/planning/elections/{day.election_id}/live")).get_data(
        as_text=True
    )
    for format in ("csv", "xlsx", "pdf"):
        assert f'href="{_url(day, f"turnout.{format}")}"' in page


async def test_it_downloads_each_stations_turnout_and_the_totals_as_csv(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    response = await client.get(_url(day, "turnout.csv"))
    assert response.status_code == 200
    assert 'filename="turnout-' in response.headers["Content-Disposition"]
    rows = _csv(await response.get_data())
    header = rows[0]
    assert header == [
        "Station", "District", "Eligible voters", "Voted by 11:00", "Voted by 14:00",
        "Voted by 17:00", "Voted by 20:00", "Share of eligible voters (%)", "Last report",
        "Reported by",
    ]  # fmt: skip
    polling, advance, total = (dict(zip(header, row, strict=True)) for row in rows[1:])
    assert (polling["Station"], polling["District"]) == ("Hamnskolan", "D1 Distrikt 1")
    assert (polling["Eligible voters"], polling["Voted by 11:00"]) == ("1200", "180")
    assert (polling["Voted by 14:00"], polling["Voted by 17:00"]) == ("462", "")
    assert polling["Share of eligible voters (%)"] == "38.5"
    assert polling["Last report"] == day.at(14, 4).isoformat(sep=" ", timespec="minutes")
    assert polling["Reported by"] == coordinator.name
    assert (advance["Station"], advance["District"], advance["Voted by 11:00"]) == (
        "Stadshuset",
        "Advance voting",
        "",
    )
    assert total["Station"] == "All stations"
    assert (total["Voted by 11:00"], total["Voted by 14:00"], total["Voted by 20:00"]) == (
        "180",
        "462",
        "",
    )


async def test_it_downloads_the_turnout_as_excel_numbers_and_prints_it(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    response = await client.get(_url(day, "turnout.xlsx"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(await response.get_data()))
    assert book.sheetnames == ["Turnout"]
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    polling = rows[1]
    assert polling[:5] == ("Hamnskolan", "D1 Distrikt 1", 1200, 180, 462)
    assert polling[7] == pytest.approx(38.5)
    assert polling[8] == day.at(14, 4).replace(tzinfo=None)
    response = await client.get(_url(day, "turnout.pdf"))
    assert response.status_code == 200
    _pages, text = _pdf(await response.get_data())
    assert "Turnout" in text and "Hamnskolan" in text and "All stations" in text
    assert "11:00: 1 of 2 stations reported." in text


async def test_it_gives_an_outsider_and_another_election_not_found(
    client: QuartClient, day: OpsDay, outsider: User, coordinator: User
) -> None:
    await login(client, outsider)
    assert (await client.get(_url(day, "turnout.csv"))).status_code == 404
    own = f"/malmo/planning/elections/{day.election_id}/ops/export/turnout.xlsx"
    assert (await client.get(own)).status_code == 404
    await client.post("/logout", form={"csrf_token": await csrf_token(client, "/malmo/planning/")})
    await login(client, coordinator)
    missing = f"/lund/planning/elections/{day.election_id + 999}/ops/export/turnout.csv"
    assert (await client.get(missing)).status_code == 404


async def test_it_shows_the_turnout_on_the_dashboard(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    page = await (await client.get(f"/lund/planning/elections/{day.election_id}/live")).get_data(
        as_text=True
    )
    assert 'id="ops-turnout"' in page and "last report 14:04" in page
    assert "<strong>462</strong>" in page and "38.5 %" in page
    assert "by 14:00" in page and "sent 14:04" in page
    assert "1 / 2" in page  # stations that reported 11:00, of the election's two


async def test_the_stations_panel_shows_every_reporting_time(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await _english(client, coordinator)
    panel = await (
        await client.get(
            f"/lund/planning/elections/{day.election_id}/live/stations/{day.station_id}",
            headers={"HX-Request": "true"},
        )
    ).get_data(as_text=True)
    assert "<strong>11:00</strong> 180 (15.0 %)" in panel
    assert "<strong>14:00</strong> 462 (38.5 %)" in panel
    assert "Last report at 14:04" in panel
