"""The clerk reads and signs the confidentiality undertaking on their phone; the start
page asks them to until they have."""

from __future__ import annotations

import re

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.clerks import undertaking
from app.domain.models import UndertakingSignature
from tests.factories import login, make_clerk, make_open_election, post_form

PAGE = "/lund/portal/undertaking"


async def _linked(db: AsyncSession, tenant: Tenant, clerk: User, required: bool = True) -> int:
    election = await make_open_election(db, tenant)
    person = await make_clerk(db, tenant, election, first_name="Robin")
    with tenant_scope(tenant.id):
        person.user_id = clerk.id
        await db.commit()
        if required:
            await undertaking.set_required(db, Actor.system("test"), True)
    return person.id


async def test_the_clerk_is_asked_to_sign_reads_ticks_and_signs(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    person_id = await _linked(db, tenant, clerk)
    await login(client, clerk)
    home = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "Skriv under tystnadsförbindelsen" in home and PAGE in home

    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Robin" in page and "tystnadsplikten" in page
    # The office's "Standardtext" is no word for a clerk (found walking issue 25).
    assert "Standardtext" not in page
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', page)
    assert digest is not None

    refused = await post_form(client, PAGE, {"locale": "sv", "digest": digest.group(1)})
    assert refused.status_code == 422
    assert "Kryssa i rutan" in await refused.get_data(as_text=True)

    signed = await post_form(
        client,
        PAGE,
        {"locale": "sv", "digest": digest.group(1), "agree": "1"},
        headers={"User-Agent": "Mozilla/5.0 (iPhone)"},
    )
    assert signed.status_code == 302
    with tenant_scope(tenant.id):
        row = await db.scalar(select(UndertakingSignature))
    assert row is not None and row.person_id == person_id
    assert row.user_agent == "Mozilla/5.0 (iPhone)" and row.ip_address
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Du skrev under tystnadsförbindelsen" in page and 'name="agree"' not in page
    home = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "Skriv under tystnadsförbindelsen" not in home


async def test_the_text_is_there_in_danish_and_english(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    await _linked(db, tenant, clerk)
    await login(client, clerk)
    danish = await (await client.get(f"{PAGE}?lang=da")).get_data(as_text=True)
    assert "Tavshedserklæring" in danish and 'name="locale" value="da"' in danish
    english = await (await client.get(f"{PAGE}?lang=en")).get_data(as_text=True)
    assert "Confidentiality undertaking for election workers" in english


async def test_nothing_is_asked_until_the_office_requires_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    await _linked(db, tenant, clerk, required=False)
    await login(client, clerk)
    home = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "Skriv under tystnadsförbindelsen" not in home
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert 'name="agree"' not in page


async def test_anonymous_goes_to_sign_in(client: QuartClient, tenant: Tenant) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


async def test_a_clerk_without_a_register_entry_gets_404(client: QuartClient, clerk: User) -> None:
    await login(client, clerk)
    assert (await client.get(PAGE)).status_code == 404
