"""The staffing reports page, its Excel and PDF downloads and the appointment letters:
who may see them, what the files hold, and that another municipality sees nothing."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.staffing import reports
from app.planning.staffing_reports import (
    REPORT_KINDS,
    districts_table,
    roles_table,
    unfilled_table,
)
from tests.domain.staffing.test_staffing_reports import Staffed, build_staffed_election
from tests.factories import login, make_open_election, make_person, post_form


@pytest.fixture
async def staffed(db: AsyncSession, tenant: Tenant) -> Staffed:
    return await build_staffed_election(db, tenant)


def _base(staffed: Staffed) -> str:
    return f"/lund/planning/elections/{staffed.election.id}/staffing"


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


async def test_it_puts_totals_and_notes_under_the_tables(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id), locale_scope("en"):
        unfilled = unfilled_table(await reports.unfilled_places(db, staffed.election.id))
        districts = districts_table(await reports.staffing_per_district(db, staffed.election.id))
        roles = roles_table(await reports.people_per_role(db, staffed.election.id))
    assert unfilled.totals is not None and unfilled.totals[-1] == 5
    assert unfilled.notes == ["5 places missing, 3 of them below the minimum."]
    assert districts.rows[-1][1] == "Advance voting stations"
    assert districts.totals == ["Total", "", 3, 11, 6, 3]
    assert roles.totals is not None and roles.totals[-1] == Decimal("12260.00")


async def test_it_shows_the_reports_with_their_downloads_and_the_unfilled_places(
    client: QuartClient, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get(f"{_base(staffed)}/reports")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    for kind in REPORT_KINDS:
        assert f"{_base(staffed)}/reports/{kind}.xlsx" in page
        assert f"{_base(staffed)}/reports/{kind}.pdf" in page
    assert "Unfilled places" in page and "Västra skolan" in page and "Eftermiddag" in page
    assert f"{_base(staffed)}/letters.pdf" in page
    assert f"{_base(staffed)}/letters/station/{staffed.hall.id}.pdf" in page
    # Nobody at the library has accepted: no letters to print there.
    assert f"letters/station/{staffed.library.id}.pdf" not in page


async def test_it_lists_one_stations_letters_as_a_fragment(
    client: QuartClient, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    response = await client.get(
        f"{_base(staffed)}/reports?people={staffed.hall.id}", headers={"HX-Request": "true"}
    )
    fragment = await response.get_data(as_text=True)
    assert "<html" not in fragment
    assert "Åsa Öberg" in fragment and "Søren Ærø" in fragment and "Karin" not in fragment
    assert f"letters/person/{staffed.people['asa'].id}.pdf" in fragment
    full = await (await client.get(f"{_base(staffed)}/reports?people={staffed.hall.id}")).get_data(
        as_text=True
    )
    assert "<html" in full and "Åsa Öberg" in full


@pytest.mark.parametrize("kind", REPORT_KINDS)
async def test_it_downloads_each_report_as_excel_and_pdf(
    client: QuartClient, staffed: Staffed, planner: User, kind: str
) -> None:
    await login(client, planner)
    excel = await client.get(f"{_base(staffed)}/reports/{kind}.xlsx")
    assert excel.status_code == 200
    assert excel.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    disposition = excel.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.endswith('.xlsx"')
    assert "kommunval" in disposition
    sheet = load_workbook(io.BytesIO(await excel.get_data())).worksheets[0]
    assert sheet.max_row > 1
    if kind == "staff":
        names = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
        # A text cell, never run as a formula, shown as written.
        assert "Åsa Öberg" in names and "=Erik Holm" in names
        assert all(row[4].data_type == "s" for row in sheet.iter_rows(min_row=2))
    pdf = await client.get(f"{_base(staffed)}/reports/{kind}.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    body = await pdf.get_data()
    assert body.startswith(b"%PDF") and "Lunds kommun" in _pdf_text(body)


async def test_it_narrows_the_staff_list_to_a_station(
    client: QuartClient, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    response = await client.get(f"{_base(staffed)}/reports/staff.pdf?station={staffed.school.id}")
    assert "vastra-skolan" in response.headers["Content-Disposition"]
    text = _pdf_text(await response.get_data())
    assert "Lukasz Nowak" in text and "Åsa Öberg" not in text
    assert "Namn" in text  # the reader's language (Swedish first), also in the worker thread
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get(f"{_base(staffed)}/reports/staff.pdf?station={staffed.school.id}")
    text = _pdf_text(await response.get_data())
    assert "Name" in text and "Namn" not in text
    assert (await client.get(f"{_base(staffed)}/reports/nothing.pdf")).status_code == 404
    assert (await client.get(f"{_base(staffed)}/reports/staff.csv")).status_code == 404
    missing = await client.get(f"{_base(staffed)}/reports/staff.pdf?station=999999")
    assert missing.status_code == 404


async def test_it_prints_appointment_letters_for_all_a_station_or_one_person(
    client: QuartClient, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    every = await client.get(f"{_base(staffed)}/letters.pdf")
    assert every.status_code == 200 and every.headers["Content-Type"] == "application/pdf"
    assert "attachment" in every.headers["Content-Disposition"]
    text = _pdf_text(await every.get_data())
    assert "Åsa Öberg" in text and "Søren Ærø" in text and "Lukasz Nowak" in text
    assert "Karin" not in text and "Erik" not in text
    hall = await client.get(f"{_base(staffed)}/letters/station/{staffed.hall.id}.pdf")
    text = _pdf_text(await hall.get_data())
    assert "Åsa Öberg" in text and "Lukasz" not in text
    asa = staffed.people["asa"]
    one = await client.get(f"{_base(staffed)}/letters/person/{asa.id}.pdf")
    assert one.status_code == 200
    assert "asa-oberg" in one.headers["Content-Disposition"]
    assert len(PdfReader(io.BytesIO(await one.get_data())).pages) == 1
    # Proposed or offered is not appointed.
    for name in ("karin", "erik"):
        person = staffed.people[name]
        response = await client.get(f"{_base(staffed)}/letters/person/{person.id}.pdf")
        assert response.status_code == 404
    # A station where nobody has accepted sends the planner back with a message.
    library = await client.get(f"{_base(staffed)}/letters/station/{staffed.library.id}.pdf")
    assert library.status_code == 302


async def test_it_refuses_a_person_or_station_of_another_election(
    client: QuartClient, db: AsyncSession, tenant: Tenant, staffed: Staffed, planner: User
) -> None:
    other = await make_open_election(db, tenant)
    await login(client, planner)
    base = f"/lund/planning/elections/{other.id}/staffing"
    asa = staffed.people["asa"]
    assert (await client.get(f"{base}/letters/person/{asa.id}.pdf")).status_code == 404
    response = await client.get(f"{base}/letters/station/{staffed.hall.id}.pdf")
    assert response.status_code == 404
    assert (await client.get(f"{base}/letters.pdf")).status_code == 302


async def test_it_lets_a_coordinator_see_reports_but_not_print_letters(
    client: QuartClient, staffed: Staffed, coordinator: User
) -> None:
    await login(client, coordinator)
    page = await client.get(f"{_base(staffed)}/reports")
    assert page.status_code == 200
    body = await page.get_data(as_text=True)
    assert "letters.pdf" not in body and "letters/station" not in body
    assert (await client.get(f"{_base(staffed)}/reports/staff.xlsx")).status_code == 200
    assert (await client.get(f"{_base(staffed)}/letters.pdf")).status_code == 403
    asa = staffed.people["asa"]
    assert (await client.get(f"{_base(staffed)}/letters/person/{asa.id}.pdf")).status_code == 403


async def test_it_refuses_a_clerk(client: QuartClient, staffed: Staffed, clerk: User) -> None:
    await login(client, clerk)
    assert (await client.get(f"{_base(staffed)}/reports")).status_code == 403
    assert (await client.get(f"{_base(staffed)}/reports/staff.pdf")).status_code == 403


@pytest.mark.parametrize(
    "path", ["/reports", "/reports/unfilled.xlsx", "/letters.pdf", "/letters/person/1.pdf"]
)
async def test_it_sends_anonymous_to_login(
    client: QuartClient, staffed: Staffed, path: str
) -> None:
    response = await client.get(f"{_base(staffed)}{path}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


async def test_it_shows_an_outsider_nothing(
    client: QuartClient,
    db: AsyncSession,
    staffed: Staffed,
    other_tenant: Tenant,
    outsider: User,
) -> None:
    await login(client, outsider)
    asa = staffed.people["asa"]
    for path in (
        "/reports",
        "/reports/staff.pdf",
        "/reports/roles.xlsx",
        "/letters.pdf",
        f"/letters/person/{asa.id}.pdf",
        f"/letters/station/{staffed.hall.id}.pdf",
    ):
        response = await client.get(f"{_base(staffed)}{path}")
        assert response.status_code == 404, path
    # In their own municipality, our election and person ids are not found either.
    own = await make_open_election(db, other_tenant)
    their_base = f"/malmo/planning/elections/{staffed.election.id}/staffing"
    assert (await client.get(f"{their_base}/reports")).status_code == 404
    assert (await client.get(f"{their_base}/letters/person/{asa.id}.pdf")).status_code == 404
    stranger: Any = await make_person(db, other_tenant, first_name="Olle")
    response = await client.get(
        f"/malmo/planning/elections/{own.id}/staffing/letters/person/{stranger.id}.pdf"
    )
    assert response.status_code == 404


async def test_it_audits_printing_appointment_letters_without_personal_data(
    client: QuartClient, db: AsyncSession, tenant: Tenant, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    asa = staffed.people["asa"]
    for path in (
        "letters.pdf",
        f"letters/station/{staffed.hall.id}.pdf",
        f"letters/person/{asa.id}.pdf",
    ):
        assert (await client.get(f"{_base(staffed)}/{path}")).status_code == 200
    with tenant_scope(tenant.id):
        entries = list(
            await db.scalars(
                select(AuditEntry)
                .where(AuditEntry.code == "staffing.letters.printed")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.data["scope"], e.data["count"]) for e in entries] == [
        ("election", 3),
        ("station", 2),
        ("person", 1),
    ]
    assert {e.actor_label for e in entries} == {planner.email}
    assert {e.object_id for e in entries} == {str(staffed.election.id)}
    for entry in entries:
        assert set(entry.data) <= {"scope", "count", "station"}  # no one is named
