"""The application form tells the applicant that candidates cannot serve, and keeps
their declaration of not being one."""

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Application
from tests.factories import make_open_election
from tests.public.test_site import _form, _post


async def test_it_tells_candidates_they_cannot_serve_and_keeps_the_declaration(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    page = await (await client.get("/lund/apply")).get_data(as_text=True)
    assert 'name="not_candidate"' in page
    declared = await _post(client, "/lund/apply", _form(election, not_candidate="1"))
    assert declared.status_code == 302
    silent = await _post(
        client,
        "/lund/apply",
        _form(election, national_id="850505-1238", email="bo@example.se", mobile="0709876543"),
    )
    assert silent.status_code == 302
    with tenant_scope(tenant.id):
        answers = dict(
            (
                await db.execute(
                    select(Application.email, Application.declared_not_candidate).execution_options(
                        populate_existing=True
                    )
                )
            ).all()
        )
    assert answers == {"sara.lind@example.se": True, "bo@example.se": False}
