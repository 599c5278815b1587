"""The pages of a staged file (the register import, a candidate list, a population
register extract) share their parts: no file chosen is refused at the file field, drawn
by the one form macro (its message tied to the input); a file confirmed a second time
is refused with a flash on the upload page, and nothing is written twice."""

from __future__ import annotations

import io
import re

from quart.datastructures import FileStorage
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from tests.factories import csrf_token, login, make_clerk, make_staffed_station, post_form


async def test_each_upload_page_refuses_a_missing_file_at_its_field(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, planner)
    pages = [
        "/lund/planning/import",
        f"/lund/planning/elections/{s['election'].id}/candidates",
        "/lund/planning/register/population",
    ]
    for path in pages:
        response = await post_form(client, path, {"kind": "people"})
        assert response.status_code == 422, path
        html = await response.get_data(as_text=True)
        (file_input,) = re.findall(r'<input id="field-file"[^>]*>', html)
        assert 'aria-invalid="true"' in file_input, (path, file_input)
        assert "field-file-error" in file_input and "value=" not in file_input, path
        assert '<p class="error" id="field-file-error">Välj en fil.</p>' in html, path


async def test_a_file_confirmed_twice_is_refused_the_second_time(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Karin", last_name="Kand")
    await login(client, planner)
    upload = f"/lund/planning/elections/{s['election'].id}/candidates"
    token = await csrf_token(client, upload)
    content = f"förnamn;efternamn;personnummer;parti\nKarin;Kand;{person.national_id};P\n"
    staged = await client.post(
        upload,
        form={"csrf_token": token},
        files={"file": FileStorage(io.BytesIO(content.encode()), filename="k.csv")},
    )
    assert staged.status_code == 302
    preview = staged.headers["Location"]
    assert (await client.post(preview, form={"csrf_token": token})).status_code == 302
    again = await client.post(preview, form={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"].endswith(upload)
    page = await (await client.get(upload)).get_data(as_text=True)
    assert "Filen har redan importerats." in page
    with tenant_scope(tenant.id):
        saved = await db.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.code == "elections.candidates.imported"
            )
        )
    assert saved == 1
