"""The statistics page of an election: every chart with its table, each chart's CSV and
Excel file, the budget forms (a wrong amount refuses the whole form), and another
municipality that sees none of it."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any, cast

import pytest
from openpyxl import load_workbook
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import District, PayBudget, RoleType
from app.domain.statistics.readiness import NoShowRow, NoShows
from app.planning.statistics_charts import CHART_ROWS, CHARTS, no_shows
from tests.domain.staffing.test_staffing_reports import Staffed, build_staffed_election
from tests.factories import csrf_token, login, post_form


@pytest.fixture
async def staffed(db: AsyncSession, tenant: Tenant) -> Staffed:
    return await build_staffed_election(db, tenant)


def _base(staffed: Staffed) -> str:
    return f"/lund/planning/elections/{staffed.election.id}/statistics"


async def test_it_shows_every_chart_with_its_table_and_files(
    client: QuartClient, staffed: Staffed, coordinator: User
) -> None:
    await login(client, coordinator)
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get(_base(staffed))
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    for kind in CHARTS:
        assert f'id="stat-{kind}"' in page
        assert f"{_base(staffed)}/{kind}.csv" in page
        assert f"{_base(staffed)}/{kind}.xlsx" in page
    # Charts are images to a screen reader, with a title and a description; no style.
    assert page.count('role="img"') >= 5
    assert "style=" not in page and "<style" not in page and "<script>" not in page
    assert "Recruitment funnel" in page and "Checked in" in page
    assert f"{_base(staffed)}/all.xlsx" in page


async def test_each_charts_numbers_download_as_csv_and_excel(
    client: QuartClient, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get(f"{_base(staffed)}/funnel.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "recruitment-funnel" in response.headers["Content-Disposition"]
    rows = list(
        csv.reader(io.StringIO((await response.get_data()).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0] == ["Step", "People"]
    assert ["Accepted", "3"] in rows and ["Offered a place", "4"] in rows
    response = await client.get(f"{_base(staffed)}/sexes.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(await response.get_data())).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    # Three men and two women: both small, both hidden in the file as on the page.
    assert values[0] == ["Group", "People"]
    assert values[1:] == [["Female", None], ["Male", None], ["Not recorded", 0], ["Total", 5]]
    response = await client.get(f"{_base(staffed)}/all.xlsx")
    book = load_workbook(io.BytesIO(await response.get_data()))
    assert len(book.sheetnames) == len(CHARTS)
    for path in ("/all.csv", "/nothing.csv", "/funnel.pdf"):
        assert (await client.get(_base(staffed) + path)).status_code == 404


async def test_the_budget_form_saves_whole_or_shows_the_message_at_its_field(
    client: QuartClient, db: AsyncSession, tenant: Tenant, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en"})
    with tenant_scope(tenant.id):
        roles = {r.code: r.id for r in await db.scalars(select(RoleType))}
        district = await db.scalar(select(District).where(District.code == "D1"))
        assert district is not None
    page = await (await client.get(f"{_base(staffed)}/budget")).get_data(as_text=True)
    assert f'name="role-{roles["chair"]}"' in page and f'name="district-{district.id}"' in page
    assert 'name="advance"' in page
    response = await post_form(
        client,
        f"{_base(staffed)}/budget/roles",
        {f"role-{roles['chair']}": "3700", f"role-{roles['clerk']}": "-5"},
    )
    assert response.status_code == 422
    page = await response.get_data(as_text=True)
    assert "A budget cannot be below zero." in page
    assert f'id="field-role-{roles["clerk"]}-error"' in page and 'aria-invalid="true"' in page
    # What was typed stays in the form.
    assert 'value="-5"' in page and 'value="3700"' in page
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(PayBudget.id))) == 0
    response = await post_form(
        client, f"{_base(staffed)}/budget/districts", {f"district-{district.id}": "12 500,50"}
    )
    assert response.status_code == 302
    page = await (await client.get(f"{_base(staffed)}/budget")).get_data(as_text=True)
    assert "1 budget line saved." in page and 'value="12500.50"' in page
    assert (await post_form(client, f"{_base(staffed)}/budget/other", {})).status_code == 404


async def test_a_coordinator_reads_the_budget_but_may_not_change_it(
    client: QuartClient, staffed: Staffed, coordinator: User
) -> None:
    await login(client, coordinator)
    page = await (await client.get(f"{_base(staffed)}/budget")).get_data(as_text=True)
    assert "readonly" in page and 'type="submit" class="button button-primary"' not in page
    response = await post_form(client, f"{_base(staffed)}/budget/roles", {})
    assert response.status_code == 403


async def test_a_clerk_and_the_anonymous_see_no_statistics(
    client: QuartClient, staffed: Staffed, clerk: User
) -> None:
    response = await client.get(_base(staffed))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    await login(client, clerk)
    assert (await client.get(_base(staffed))).status_code == 403


async def test_it_shows_an_outsider_nothing(
    client: QuartClient,
    db: AsyncSession,
    staffed: Staffed,
    outsider: User,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    await login(client, outsider)
    for path in ("", "/funnel.csv", "/history.xlsx", "/all.xlsx", "/budget"):
        assert (await client.get(_base(staffed) + path)).status_code == 404, path
    token = await csrf_token(client, "/login")
    response = await client.post(
        f"{_base(staffed)}/budget/roles", form={"csrf_token": token, "role-1": "5"}
    )
    assert response.status_code == 404
    # Their own municipality's address with this election's id: not found either.
    own = f"/{other_tenant.slug}/planning/elections/{staffed.election.id}"
    assert (await client.get(f"{own}/statistics")).status_code == 404
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(PayBudget.id))) == 0
        saved = select(func.count(AuditEntry.id)).where(
            AuditEntry.code == "statistics.budget.saved"
        )
        assert await db.scalar(saved) == 0


def test_a_citys_districts_are_all_in_the_file_and_the_chart_s_on_the_page() -> None:
    rows = [
        NoShowRow(number, f"{number:03d}", f"Distrikt {number}", 10, number % 7)
        for number in range(1, 41)
    ]
    stats = cast(Any, SimpleNamespace(no_shows=NoShows(rows, any_check_in=True)))
    with locale_scope("en"):
        found = no_shows(stats)
    assert len(found.table.rows) == 40
    assert found.on_page is not None and len(found.on_page.rows) == CHART_ROWS
    # The page's rows are the chart's: most no-shows first; the totals are of all.
    assert [row[2] for row in found.on_page.rows][:3] == [6, 6, 6]
    assert found.on_page.totals == ["All districts", 400, sum(r.no_shows for r in rows)]
    assert found.chart is not None and len(found.chart.wide.rows) == CHART_ROWS
    assert "all 40 in the CSV and Excel files" in found.note
