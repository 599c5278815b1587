"""The portal in English for a Swedish municipality: its data written in Swedish (the
election's and the course's names, a role without an English name) is marked Swedish."""

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import RoleType
from tests.portal.test_courses import _in_english, _setup


async def test_my_assignments_mark_the_municipalitys_swedish_in_english(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    c = await _setup(db, tenant)
    with tenant_scope(tenant.id):
        clerk = await db.scalar(select(RoleType).where(RoleType.code == "clerk"))
        assert clerk is not None
        clerk.names = {"da": "Valgtilforordnet"}  # none in English: the Swedish name shows
        await db.commit()
    await _in_english(client, c["user"])
    home = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert '<html lang="en">' in home
    assert f'<span lang="sv">{c["s"]["election"].name}</span>' in home
    assert '<span lang="sv">Grundutbildning</span>' in home
    assert '<span lang="sv">Röstmottagare</span>' in home
