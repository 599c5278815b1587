"""The statistics page of an election: every chart with its table, each chart's CSV and
Excel file, the budget forms (a wrong amount refuses the whole form), and another
municipality that sees none of it."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import District, PayBudget, RoleType
from app.planning.statistics_charts import CHARTS
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
