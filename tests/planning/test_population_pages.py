"""The population register's pages: the layouts, an upload, its preview and the
confirmation; a bad file's row errors with nothing saved; an outsider gets 404. The
pages are Swedish for a Swedish municipality."""

from __future__ import annotations

import io

from quart.datastructures import FileStorage
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from tests.factories import csrf_token, login, make_clerk, make_staffed_station

HEADER = (
    "personnummer;förnamn;efternamn;utdelningsadress;postnummer;postort;skyddad;avliden;utflyttad\n"
)


async def _upload(client: QuartClient, content: bytes, filename: str = "spar.csv") -> str:
    path = "/lund/planning/register/population"
    token = await csrf_token(client, path)
    response = await client.post(
        path,
        form={"csrf_token": token},
        files={"file": FileStorage(io.BytesIO(content), filename=filename)},
    )
    assert response.status_code == 302, await response.get_data(as_text=True)
    return response.headers["Location"]


async def test_an_extract_is_previewed_then_saved_and_the_protected_address_is_gone(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    sara = await make_clerk(
        db, tenant, s["election"], first_name="Sara", last_name="Skydd",
        street_address="Hemligavägen 7", postal_code="222 99", city="Skyddsby",
    )  # fmt: skip
    dag = await make_clerk(db, tenant, s["election"], first_name="Dag", last_name="Död")
    await login(client, planner)
    layouts = await (await client.get("/lund/planning/register/population")).get_data(as_text=True)
    assert "Befolkningsregistret" in layouts and "utdelningsadress" in layouts
    content = (
        HEADER
        + f"{sara.national_id};Sara;Skydd;;;;J;;\n"
        + f"{dag.national_id};Dag;Död;;;;N;20261101;\n"
    ).encode()
    preview_path = await _upload(client, content)
    assert sara.national_id not in preview_path
    page = await (await client.get(preview_path)).get_data(as_text=True)
    assert "Sara Skydd" in page and "Skyddad identitet" in page
    assert sara.national_id not in page and "Hemligavägen" not in page
    person_page = f"/lund/planning/people/{sara.id}"
    assert "Hemligavägen" in await (await client.get(person_page)).get_data(as_text=True)
    token = await csrf_token(client, preview_path)
    saved = await client.post(preview_path, form={"csrf_token": token})
    assert saved.status_code == 302
    shown = await (await client.get(person_page)).get_data(as_text=True)
    assert "Hemligavägen" not in shown and "Skyddsby" not in shown
    assert "Skyddad identitet" in shown
    dead = await (await client.get(f"/lund/planning/people/{dag.id}")).get_data(as_text=True)
    assert "Avliden enligt folkbokföringen" in dead and "2026-11-01" in dead
    board = await (
        await client.get(f"/lund/planning/elections/{s['election'].id}/staffing")
    ).get_data(as_text=True)
    assert board.count("register-flag") == 0  # neither holds a place


async def test_a_bad_extract_shows_row_errors_and_saves_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    dag = await make_clerk(db, tenant, s["election"], first_name="Dag", last_name="Död")
    await login(client, planner)
    content = (HEADER + f"{dag.national_id};Dag;Död;;;;N;igår;\n").encode()
    preview_path = await _upload(client, content)
    page = await (await client.get(preview_path)).get_data(as_text=True)
    assert "error-summary" in page and "Skriv datumet" in page
    token = await csrf_token(client, preview_path)
    refused = await client.post(preview_path, form={"csrf_token": token})
    assert refused.status_code == 422
    with tenant_scope(tenant.id):
        await db.refresh(dag)
        assert dag.died_on is None and dag.register_checked_at is None
    # A file that is no table at all is refused at the field.
    path = "/lund/planning/register/population"
    token = await csrf_token(client, path)
    response = await client.post(
        path,
        form={"csrf_token": token},
        files={"file": FileStorage(io.BytesIO(b"\x00\x01"), filename="spar.pdf")},
    )
    assert response.status_code == 422


async def test_an_outsider_gets_404_for_another_municipalitys_extract(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, outsider: User
) -> None:
    await login(client, planner)
    preview_path = await _upload(client, (HEADER + "198001011231;Eva;Ek;;;;N;;\n").encode())
    await login(client, outsider)
    assert (await client.get(preview_path)).status_code == 404
    batch_id = preview_path.rsplit("/", 1)[1]
    assert (await client.get(f"/malmo/planning/register/population/{batch_id}")).status_code == 404
