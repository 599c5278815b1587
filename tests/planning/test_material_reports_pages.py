"""The materials reports page and its downloads (Excel and PDF), and another
municipality's 404."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from tests.domain.materials.delivery_helpers import packed_delivery, stocked_day
from tests.factories import login, make_tenant, make_user


async def test_the_reports_page_links_its_downloads_and_they_open(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stocked = await stocked_day(db, tenant)
    await packed_delivery(db, tenant, stocked)
    await login(client, planner)
    base = f"/lund/planning/materials/elections/{stocked.day.election_id}"
    page = await client.get(f"{base}/reports")
    assert page.status_code == 200
    body = await page.get_data(as_text=True)
    assert "Valsedel S" in body and f"{base}/reports/all.xlsx" in body
    assert f"{base}/reports" in await (await client.get(f"{base}/packing")).get_data(as_text=True)
    workbook = await client.get(f"{base}/reports/all.xlsx")
    assert workbook.status_code == 200
    sheets = load_workbook(io.BytesIO(await workbook.get_data()), read_only=True)
    assert sheets.sheetnames == [
        "Material per artikel",
        "Material per lokal",
        "Material som är ute",
    ]
    rows = list(sheets["Material per artikel"].iter_rows(values_only=True))
    assert rows[1][:4] == ("Valsedel S", "st", 400, 400)
    for kind in ("all", "stations", "articles", "out"):
        pdf = await client.get(f"{base}/reports/{kind}.pdf")
        assert pdf.status_code == 200 and (await pdf.get_data()).startswith(b"%PDF"), kind
    assert (await client.get(f"{base}/reports/people.xlsx")).status_code == 404
    assert (await client.get(f"{base}/reports/all.csv")).status_code == 404


async def test_another_municipality_gets_not_found(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    other = await make_tenant(db, "malmo", "Malmö")
    theirs = await make_user(db, other, "planner", "planerare@malmo.test")
    await login(client, theirs)
    base = f"/malmo/planning/materials/elections/{stocked.day.election_id}"
    assert (await client.get(f"{base}/reports")).status_code == 404
    assert (await client.get(f"{base}/reports/all.xlsx")).status_code == 404
