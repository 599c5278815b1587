"""The course reports page, its downloads and the attendance lists: who may see them,
what the files hold, and that another municipality sees nothing."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.courses import scheduling
from app.planning.course_reports import REPORT_FORMATS
from tests.domain.courses.test_course_reports import Trained, build_trained_election
from tests.factories import (
    letterhead,
    login,
    make_course,
    make_course_session,
    make_open_election,
    post_form,
)


@pytest.fixture
async def trained(db: AsyncSession, tenant: Tenant) -> Trained:
    return await build_trained_election(db, tenant)


def _base(trained: Trained) -> str:
    return f"/lund/planning/elections/{trained.election.id}/courses/reports"


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


async def test_it_shows_the_reports_with_the_lacking_list_and_the_sessions(
    client: QuartClient, db: AsyncSession, tenant: Tenant, trained: Trained, planner: User
) -> None:
    repeat = await make_course(db, tenant, trained.election, name="Repetition", roles=())
    called_off = await make_course_session(db, tenant, repeat)
    with tenant_scope(tenant.id):
        await scheduling.cancel_session(db, Actor(label="test"), letterhead(tenant), called_off.id)
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get(_base(trained))
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    for kind, formats in REPORT_FORMATS.items():
        for format in formats:
            assert f"{_base(trained)}/{kind}.{format}" in page
    assert "Anna Ek" in page and "Cia Åberg" in page and "Dan Holm" in page
    assert "Bo Ström" not in page and "Eva Lind" not in page
    assert "Booked after the first shift" in page and "On the waiting list" in page
    assert f"{_base(trained)}/sessions/{trained.soon.id}.pdf" in page
    assert "1 attended session, 1 person, 3.50 hours." in page
    assert "Repetition" in page and "Cancelled" in page and "All courses" in page
    assert "All courses: 5 of 22 seats booked (23 %), 1 waiting" in page


async def test_it_filters_the_lacking_list_as_a_fragment(
    client: QuartClient, db: AsyncSession, tenant: Tenant, trained: Trained, planner: User
) -> None:
    other = await make_course(db, tenant, trained.election, name="Ordförandeutbildning")
    await login(client, planner)
    fragment = await (
        await client.get(f"{_base(trained)}?course={other.id}", headers={"HX-Request": "true"})
    ).get_data(as_text=True)
    assert "<html" not in fragment
    # The new course is required for every role, so everyone holding a place lacks it.
    assert "Bo Ström" in fragment and "Ordförandeutbildning" in fragment
    assert f"lacking.xlsx?course={other.id}" in fragment
    station = trained.station["station"].id
    narrowed = await (
        await client.get(f"{_base(trained)}?station={station + 1000}", headers={"HX-Request": "1"})
    ).get_data(as_text=True)
    assert "Anna Ek" not in narrowed


async def test_it_downloads_the_lacking_list_and_the_fill_rates(
    client: QuartClient, trained: Trained, planner: User
) -> None:
    await login(client, planner)
    excel = await client.get(f"{_base(trained)}/lacking.xlsx")
    assert excel.status_code == 200
    assert excel.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(await excel.get_data(as_text=False))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[2] for row in rows[1:]] == ["Dan Holm", "Anna Ek", "Cia Åberg"]
    counts = load_workbook(
        io.BytesIO(
            await (await client.get(f"{_base(trained)}/lacking_counts.xlsx")).get_data(
                as_text=False
            )
        )
    ).worksheets[0]
    assert list(counts.iter_rows(values_only=True))[-1][3:] == (3, 1, 1, 1)
    pdf = await client.get(f"{_base(trained)}/lacking.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = _pdf_text(await pdf.get_data(as_text=False))
    assert "Lunds kommun" in text and "Anna Ek" in text and "Hamnskolan" in text
    fill = await client.get(f"{_base(trained)}/fill.pdf")
    text = _pdf_text(await fill.get_data(as_text=False))
    assert "Grundutbildning 2026" in text and "Totalt" in text
    assert (await client.get(f"{_base(trained)}/fill.csv")).status_code == 404
    assert (await client.get(f"{_base(trained)}/nothing.pdf")).status_code == 404


async def test_it_prints_an_attendance_list_with_names_and_no_id_numbers(
    client: QuartClient, db: AsyncSession, tenant: Tenant, trained: Trained, planner: User
) -> None:
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get(f"{_base(trained)}/sessions/{trained.soon.id}.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert "attendance-list-grundutbildning-2026" in response.headers["Content-Disposition"]
    body = await response.get_data(as_text=False)
    assert body.startswith(b"%PDF")
    text = _pdf_text(body)
    assert "Attendance list" in text and "Bo Ström" in text and "Olle Berg" in text
    assert "Cia Åberg" not in text  # waiting, not seated
    assert trained.people["bo"].national_id not in text
    empty = await make_course_session(db, tenant, trained.course)
    response = await client.get(f"{_base(trained)}/sessions/{empty.id}.pdf")
    assert response.status_code == 200 and (await response.get_data(as_text=False)).startswith(
        b"%PDF"
    )


async def test_it_exports_attended_training_for_pay(
    client: QuartClient, trained: Trained, planner: User
) -> None:
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get(f"{_base(trained)}/pay.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(
        csv.reader(
            io.StringIO((await response.get_data(as_text=False)).decode("utf-8-sig")), delimiter=";"
        )
    )
    assert rows[0] == ["Person id", "Name", "Course", "Session date", "Hours", "State"]
    eva = trained.people["eva"]
    assert rows[1][:3] == [str(eva.id), "Eva Lind", "Grundutbildning 2026"]
    assert rows[1][4:] == ["3.50", "Attended"] and len(rows) == 2
    assert eva.national_id not in (await response.get_data(as_text=False)).decode("utf-8-sig")
    excel = await client.get(f"{_base(trained)}/pay.xlsx?from=2000-01-01&to=2000-12-31")
    assert "2000-01-01-2000-12-31" in excel.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await excel.get_data(as_text=False))).worksheets[0]
    assert sheet.max_row == 1  # nothing attended in 2000
    assert (await client.get(f"{_base(trained)}/pay.pdf")).status_code == 404


async def test_it_lets_a_coordinator_see_reports_but_not_a_clerk(
    client: QuartClient, trained: Trained, coordinator: User, clerk: User
) -> None:
    await login(client, coordinator)
    assert (await client.get(_base(trained))).status_code == 200
    await client.get("/logout")
    await login(client, clerk)
    assert (await client.get(_base(trained))).status_code == 403
    assert (await client.get(f"{_base(trained)}/pay.csv")).status_code == 403


@pytest.mark.parametrize("path", ["", "/lacking.xlsx", "/pay.csv", "/sessions/1.pdf"])
async def test_it_sends_anonymous_to_login(
    client: QuartClient, trained: Trained, path: str
) -> None:
    response = await client.get(f"{_base(trained)}{path}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


async def test_it_refuses_a_session_of_another_election(
    client: QuartClient, db: AsyncSession, tenant: Tenant, trained: Trained, planner: User
) -> None:
    other = await make_open_election(db, tenant)
    await login(client, planner)
    base = f"/lund/planning/elections/{other.id}/courses/reports"
    assert (await client.get(f"{base}/sessions/{trained.soon.id}.pdf")).status_code == 404
    assert (await client.get(f"{_base(trained)}/sessions/999999.pdf")).status_code == 404


async def test_it_shows_an_outsider_nothing(
    client: QuartClient, db: AsyncSession, trained: Trained, other_tenant: Tenant, outsider: User
) -> None:
    await login(client, outsider)
    for path in ("", "/lacking.pdf", "/fill.xlsx", "/pay.csv", f"/sessions/{trained.soon.id}.pdf"):
        response = await client.get(f"{_base(trained)}{path}")
        assert response.status_code == 404, path
    own = await make_open_election(db, other_tenant)
    theirs = f"/malmo/planning/elections/{trained.election.id}/courses/reports"
    assert (await client.get(theirs)).status_code == 404
    mine = f"/malmo/planning/elections/{own.id}/courses/reports"
    assert (await client.get(f"{mine}/sessions/{trained.soon.id}.pdf")).status_code == 404
    page = await (await client.get(mine)).get_data(as_text=True)
    assert "Anna Ek" not in page and "Grundutbildning 2026" not in page
