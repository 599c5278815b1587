"""The documents pages: the list, the editor with its preview, a refusal at its field,
versions and reset; the letters by post page with its labels and workbook; the offer
page's introduction and the staff list's header; outsiders get 404."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.documents import texts
from app.domain.models import Person
from app.domain.staffing.assignments import assign_person
from tests.domain.staffing.test_staffing_reports import Staffed, build_staffed_election
from tests.factories import (
    login,
    make_clerk,
    make_open_election,
    make_staffed_station,
    post_form,
)

ACTOR = Actor.system("test")

EDITOR = "/lund/planning/documents/appointment_letter/sv"


@pytest.fixture
async def staffed(db: AsyncSession, tenant: Tenant) -> Staffed:
    return await build_staffed_election(db, tenant)


def _mailing(staffed: Staffed, path: str = "") -> str:
    return f"/lund/planning/elections/{staffed.election.id}/staffing/mailing{path}"


async def test_the_planner_edits_previews_saves_and_resets_a_document(
    client: QuartClient, db: AsyncSession, tenant: Tenant, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    page = await (await client.get("/lund/planning/documents/")).get_data(as_text=True)
    assert "Förordnande" in page and f'href="{EDITOR}"' in page
    page = await (await client.get(EDITOR)).get_data(as_text=True)
    assert "Valnämnden i {{ municipality.name }}" in page and "{{ places }}" in page
    text = "Hej {{ person.first_name }}!\n\n{{ places }}"
    response = await post_form(
        client, EDITOR, {"body": text, "person": "Öberg", "action": "preview"}
    )
    preview = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hej Åsa!" in preview and "Stadshuset" in preview
    # Unknown field: the form again, the message at the text, nothing saved.
    response = await post_form(
        client, EDITOR, {"body": "Hej\n{{ person.national_id }}", "action": "save"}
    )
    assert response.status_code == 422
    refused = await response.get_data(as_text=True)
    assert "person.national_id" in refused and 'aria-invalid="true"' in refused
    with tenant_scope(tenant.id):
        assert await texts.history(db, "appointment_letter", "sv") == []
    response = await post_form(client, EDITOR, {"body": text, "action": "save"})
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        assert await texts.current_text(db, "appointment_letter", "sv") == text
    page = await (await client.get(EDITOR)).get_data(as_text=True)
    assert "Egen text, version 1" in page
    # The letter printed now carries the text.
    letter = await client.get(
        f"/lund/planning/elections/{staffed.election.id}/staffing/letters/person/"
        f"{staffed.people['asa'].id}.pdf"
    )
    assert "Hej Åsa!" in PdfReader(io.BytesIO(await letter.get_data())).pages[0].extract_text()
    response = await post_form(client, EDITOR, {"body": text, "action": "reset"})
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        state = await texts.document_state(db, "appointment_letter", "sv")
        versions = await texts.history(db, "appointment_letter", "sv")
    assert state.is_default
    response = await post_form(client, f"{EDITOR}/versions/{versions[-1].id}/restore")
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        assert await texts.current_text(db, "appointment_letter", "sv") == text


async def test_the_preview_is_a_fragment_for_htmx(
    client: QuartClient, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    response = await post_form(
        client,
        EDITOR,
        {"body": "{{ person.name }}", "person": "Søren", "action": "preview"},
        headers={"HX-Request": "true"},
    )
    fragment = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="document-preview"' in fragment and "Søren Ærø" in fragment
    assert "<nav" not in fragment


async def test_letters_by_post_count_and_download(
    client: QuartClient, db: AsyncSession, tenant: Tenant, staffed: Staffed, planner: User
) -> None:
    with tenant_scope(tenant.id):
        soren = await db.scalar(select(Person).where(Person.first_name == "Søren"))
        assert soren is not None
        soren.street_address, soren.postal_code, soren.city = "Hemlig 1", "111 11", "Lund"
        soren.address_protected = True
        await db.commit()
    await login(client, planner)
    page = await (await client.get(_mailing(staffed))).get_data(as_text=True)
    assert "1 brev" in page and "Skyddad adress: 1" in page and "Ingen postadress: 1" in page
    response = await client.get(_mailing(staffed, "/labels.pdf?states=accepted&layout=2x7"))
    assert response.status_code == 200 and response.content_type == "application/pdf"
    text = PdfReader(io.BytesIO(await response.get_data())).pages[0].extract_text()
    assert "Åsa Öberg" in text and "Storgatan 1" in text and "Hemlig" not in text
    response = await client.get(_mailing(staffed, "/mail-merge.xlsx?states=accepted"))
    sheet = load_workbook(io.BytesIO(await response.get_data())).active
    assert sheet is not None
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Åsa Öberg"]
    # A choice that is not one: a message at the field.
    response = await client.get(_mailing(staffed, "?states=everyone"))
    assert response.status_code == 422
    assert 'aria-invalid="true"' in await response.get_data(as_text=True)
    # The reserves (the staffed election has none): nobody, nobody left out.
    page = await (await client.get(_mailing(staffed, "?group=reserves"))).get_data(as_text=True)
    assert "0 brev" in page and "Tas inte med" not in page
    response = await client.get(_mailing(staffed, "/labels.pdf?layout=9x9"))
    assert response.status_code == 422


async def test_the_person_form_sets_a_protected_address(
    client: QuartClient, db: AsyncSession, tenant: Tenant, staffed: Staffed, planner: User
) -> None:
    asa = staffed.people["asa"]
    await login(client, planner)
    form = {
        "first_name": "Åsa", "last_name": "Öberg", "national_id_country": "SE",
        "email": "asa@example.se", "street_address": "Storgatan 1", "postal_code": "222 22",
        "city": "Lund", "preferred_language": "sv", "status": "active",
        "address_protected_shown": "1", "address_protected": "1",
    }  # fmt: skip
    response = await post_form(client, f"/lund/planning/people/{asa.id}/edit", form)
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        person = await db.scalar(select(Person).where(Person.id == asa.id))
        assert person is not None
        await db.refresh(person)
        assert person.address_protected
    page = await (await client.get(f"/lund/planning/people/{asa.id}/edit")).get_data(as_text=True)
    assert 'name="address_protected" type="checkbox" value="1" checked' in page
    page = await (await client.get(f"/lund/planning/people/{asa.id}")).get_data(as_text=True)
    assert "Skyddad identitet: adressen visas aldrig" in page and "Storgatan 1" not in page


async def test_the_staff_list_carries_the_offices_header(
    client: QuartClient, db: AsyncSession, tenant: Tenant, staffed: Staffed, planner: User
) -> None:
    await login(client, planner)
    await post_form(
        client,
        "/lund/planning/documents/staff_list_header/sv",
        {"body": "Sekretess! {{ election.name }}", "action": "save"},
    )
    response = await client.get(
        f"/lund/planning/elections/{staffed.election.id}/staffing/reports/staff.pdf"
    )
    text = PdfReader(io.BytesIO(await response.get_data())).pages[0].extract_text()
    assert f"Sekretess! {staffed.election.name}" in text


async def test_outsiders_get_404(
    client: QuartClient, db: AsyncSession, staffed: Staffed, other_tenant: Tenant, outsider: User
) -> None:
    await login(client, outsider)
    for path in (
        "/lund/planning/documents/",
        EDITOR,
        _mailing(staffed),
        _mailing(staffed, "/labels.pdf"),
        _mailing(staffed, "/mail-merge.xlsx"),
    ):
        assert (await client.get(path)).status_code == 404, path
    # In their own municipality, our election is not found either.
    await make_open_election(db, other_tenant)
    own_path = f"/malmo/planning/elections/{staffed.election.id}/staffing/mailing"
    assert (await client.get(own_path)).status_code == 404
    assert (await client.get("/malmo/planning/documents/nothing/sv")).status_code == 404
    assert (await client.get("/malmo/planning/documents/offer_intro/xx")).status_code == 404


async def test_a_clerk_may_not_edit_documents(
    client: QuartClient, staffed: Staffed, clerk: Any
) -> None:
    await login(client, clerk)
    assert (await client.get(EDITOR)).status_code in (403, 404)
    assert (await client.get(_mailing(staffed))).status_code in (403, 404)


async def test_the_offer_page_opens_with_the_offices_introduction(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        await assign_person(db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id)
        await texts.save_text(
            db,
            ACTOR,
            "offer_intro",
            "sv",
            {"body": "Välkommen {{ person.first_name }}!\n\nVi ses i {{ station.name }}."},
        )
    await login(client, planner)
    await post_form(
        client,
        f"/lund/planning/elections/{s['election'].id}/staffing/offers",
        {"confirmed": "1"},
    )
    mail = (
        await owner_db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    ).one()
    link = mail.body_text.split("http://localhost", 1)[1].split()[0]
    visitor = client.app.test_client()
    await visitor.get(link)
    page = await (await visitor.get("/lund/offer")).get_data(as_text=True)
    assert f"<p>Välkommen {person.first_name}!</p><p>Vi ses i Hamnskolan.</p>" in page
