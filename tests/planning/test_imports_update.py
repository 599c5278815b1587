"""The import pages: a template per kind in the page's language that reads back as it
is, a preview of what a re-import changes, and exports a spreadsheet shows as written."""

import io
import re

import pytest
from openpyxl import load_workbook
from quart.datastructures import FileStorage
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import ImportBatch, Person
from app.domain.registers.premises import save_building
from tests.factories import csrf_token, login, make_election, make_person


async def _as(
    client: QuartClient, db: AsyncSession, tenant: Tenant, user: User, locale: str
) -> None:
    with tenant_scope(tenant.id):
        (await db.get(User, user.id)).locale = locale  # type: ignore[union-attr]
        await db.commit()
    await login(client, user)


async def _upload(
    client: QuartClient, kind: str, filename: str, content: bytes, **form: str
) -> str:
    token = await csrf_token(client, "/lund/planning/import")
    response = await client.post(
        "/lund/planning/import",
        form={"kind": kind, "csrf_token": token, **form},
        files={"file": FileStorage(io.BytesIO(content), filename=filename)},
    )
    assert response.status_code == 302, await response.get_data(as_text=True)
    return response.headers["Location"]


@pytest.mark.parametrize("locale", ["sv", "da", "en"])
@pytest.mark.parametrize("format", ["csv", "xlsx"])
async def test_each_template_reads_back_as_one_correct_row(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, locale: str, format: str
) -> None:
    await _as(client, db, tenant, planner, locale)
    election = await make_election(db, tenant)
    headers = {"sv": "förnamn", "da": "fornavn", "en": "first name"}
    for kind in ("people", "rooms", "structure"):
        response = await client.get(f"/lund/planning/import/template-{kind}.{format}")
        assert response.status_code == 200
        body = await response.get_data()
        if format == "xlsx":
            sheet = load_workbook(io.BytesIO(body)).worksheets[0]
            header = [cell.value for cell in sheet[1]]
            assert sheet.max_row == 2
        else:
            header = body.decode("utf-8-sig").splitlines()[0].split(";")
        if kind == "people":
            assert header[0] == headers[locale]
        location = await _upload(
            client, kind, f"template.{format}", body, election_id=str(election.id)
        )
        page = await (await client.get(location)).get_data(as_text=True)
        assert 'id="error-summary"' not in page, (kind, page)


async def test_a_re_import_shows_each_change_and_the_swedish_button_says_importera(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await make_person(db, tenant, first_name="Anna", last_name="Ek", national_id="199001010017")
    await _as(client, db, tenant, planner, "sv")
    file = b"personnummer;mobil;status\n19900101-0017;0701740609;inaktiv\n"
    location = await _upload(client, "people", "people.csv", file)
    page = await (await client.get(location)).get_data(as_text=True)
    assert "Anna Ek (19900101-****)" in page
    assert "0017" not in page.replace("19900101-****", "")
    assert re.search(r"<del>–</del></td><td><ins>\+46 70 174 06 09</ins>", page)
    assert re.search(r"<del>Aktiv</del></td><td><ins>Inaktiv</ins>", page)
    assert ">Importera</button>" in page
    token = await csrf_token(client, location)
    done = await client.post(location, form={"csrf_token": token})
    assert done.status_code == 302
    with tenant_scope(tenant.id):
        anna = await db.scalar(select(Person).where(Person.first_name == "Anna"))
        assert anna is not None and anna.status == "inactive"
        batch = await db.scalar(select(ImportBatch))
        assert batch is not None and batch.rows == []  # no whole numbers kept


async def test_an_excel_export_shows_a_phone_number_as_written_and_csv_guards_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await make_person(db, tenant, first_name="Anna", last_name="Ek", mobile="0701740644")
    await _as(client, db, tenant, planner, "sv")
    body = await (await client.get("/lund/planning/people/export.xlsx")).get_data()
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:J2"
    assert sheet["E2"].value == "+46 70 174 06 44"
    assert sheet["E2"].data_type == "s"
    text = (await (await client.get("/lund/planning/people/export.csv")).get_data()).decode()
    assert ";'+46 70 174 06 44;" in text


async def test_a_building_page_prints_its_contact_phone_grouped(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    with tenant_scope(tenant.id):
        building = await save_building(
            db, Actor.system("test"), {"name": "Stadshuset", "contact_phone": "+46701740609"}
        )
    await _as(client, db, tenant, planner, "sv")
    page = await (await client.get(f"/lund/planning/premises/{building.id}")).get_data(as_text=True)
    assert "+46 70 174 06 09" in page and "+46701740609" not in page
