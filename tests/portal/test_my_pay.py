"""A clerk's own pay in the portal: the lines so far and the statement as PDF, their
own only."""

from __future__ import annotations

import io

from pypdf import PdfReader
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Person
from tests.domain.pay.helpers import PayDay, pay_day, worked
from tests.factories import login, make_user, post_form


async def _chair_user(db: AsyncSession, tenant: Tenant) -> tuple[PayDay, User]:
    day = await pay_day(db, tenant, past=True)
    await worked(db, tenant, day)
    user = await make_user(db, tenant, "clerk")
    with tenant_scope(tenant.id):
        chair = await db.get(Person, day.chair_id)
        assert chair is not None
        chair.user_id = user.id
        await db.commit()
    return day, user


async def test_it_shows_my_pay_and_my_statement(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    day, user = await _chair_user(db, tenant)
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})
    page = await (await client.get("/lund/portal/pay/")).get_data(as_text=True)
    assert "My pay" in page and "3,700.00" in page
    assert f"/lund/portal/pay/{day.election_id}/statement.pdf" in page
    pdf = await client.get(f"/lund/portal/pay/{day.election_id}/statement.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(await pdf.get_data(as_text=False))).pages
    )
    assert "Pay statement" in text and "3,700" in text


async def test_a_clerk_without_a_place_has_no_statement(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    day = await pay_day(db, tenant, past=True)
    with tenant_scope(tenant.id):
        stranger = Person(first_name="Ny", last_name="Person", search_name="ny person",
                          search_name_reversed="person ny", user_id=clerk.id)  # fmt: skip
        db.add(stranger)
        await db.commit()
    await login(client, clerk)
    await post_form(client, "/lang", {"lang": "en"})
    page = await (await client.get("/lund/portal/pay/")).get_data(as_text=True)
    assert "You have no pay yet" in page
    assert (
        await client.get(f"/lund/portal/pay/{day.election_id}/statement.pdf")
    ).status_code == 404


async def test_an_outsider_and_the_anonymous_get_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User
) -> None:
    day, _user = await _chair_user(db, tenant)
    urls = ("/lund/portal/pay/", f"/lund/portal/pay/{day.election_id}/statement.pdf")
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    await login(client, outsider)
    for url in urls:
        assert (await client.get(url)).status_code == 404
