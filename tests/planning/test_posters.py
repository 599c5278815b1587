"""The check-in poster per station: a QR code that opens the station's check-in."""

from __future__ import annotations

import io

import segno
from pypdf import PdfReader
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.planning.posters import qr_code
from tests.factories import login, make_staffed_station
from tests.pdf_tags import read_tagged


async def test_it_draws_the_poster_with_an_inline_qr_code(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election_id, station_id = s["election"].id, s["station"].id
    await login(client, planner)
    station_page = await client.get(f"/lund/planning/elections/{election_id}/stations/{station_id}")
    poster_path = f"/lund/planning/elections/{election_id}/stations/{station_id}/poster"
    assert poster_path in await station_page.get_data(as_text=True)
    response = await client.get(poster_path)
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    base = app.extensions["stemma"].settings.base_url.rstrip("/")
    url = f"{base}/lund/portal/election-day?station={station_id}"
    assert url in body
    assert '<svg viewBox="0 0 ' in body and 'class="poster-qr"' in body
    assert "data:image" not in body
    # The inline code is exactly the code of the station's check-in address.
    expected = qr_code(url).svg_inline(scale=10, border=4, omitsize=True, lineclass=None)
    assert expected.split("<path", 1)[1] in body
    assert segno.make_qr(url, error="q").version == qr_code(url).version


async def test_it_gives_the_poster_as_a_pdf(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, planner)
    response = await client.get(
        f"/lund/planning/elections/{s['election'].id}/stations/{s['station'].id}/poster.pdf"
    )
    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    reader = PdfReader(io.BytesIO(await response.get_data(as_text=False)))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Hamnskolan" in text
    assert f"election-day?station={s['station'].id}" in text
    tagged = read_tagged(await response.get_data(as_text=False))
    assert tagged.lang == "sv" and "Hamnskolan" in tagged.title
    assert tagged.texts("H1") == ["Hamnskolan"]
    # The code is a figure with its text alternative, read after the heading.
    roles = [role for role, _text, _lang in tagged.leaves]
    assert roles.index("H1") < roles.index("Figure") < len(roles) - 1
    assert tagged.texts("Figure") == ["QR-kod som öppnar incheckningen för Hamnskolan"]


async def test_it_sends_anonymous_to_login(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    response = await client.get(
        f"/lund/planning/elections/{s['election'].id}/stations/{s['station'].id}/poster"
    )
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


async def test_it_refuses_a_clerk(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, clerk)
    response = await client.get(
        f"/lund/planning/elections/{s['election'].id}/stations/{s['station'].id}/poster"
    )
    assert response.status_code == 403


async def test_it_gives_an_outsider_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User, other_tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, outsider)
    for path in (
        f"/lund/planning/elections/{s['election'].id}/stations/{s['station'].id}/poster",
        f"/malmo/planning/elections/{s['election'].id}/stations/{s['station'].id}/poster",
        f"/malmo/planning/elections/{s['election'].id}/stations/{s['station'].id}/poster.pdf",
    ):
        assert (await client.get(path)).status_code == 404, path
