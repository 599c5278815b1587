"""The retention job runs every rule for every municipality: applications, contact
messages, inactive people (per municipality's setting) and erased people's pay data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Person
from app.domain.site import webparts
from app.jobs.retention import Erased, erase_expired_everywhere
from tests.factories import make_person

ACTOR = Actor.system("test")


async def test_it_erases_the_inactive_of_each_municipality_by_its_own_setting(
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    ours = await make_person(db, tenant, first_name="Olle", email="olle@example.se")
    theirs = await make_person(db, other_tenant, first_name="Tora", email="tora@example.se")
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"inactive_retention_months": "12"})
        ours.created_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        await db.commit()
    with tenant_scope(other_tenant.id):
        # The other municipality keeps inactive people.
        theirs.created_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        await db.commit()
    erased = await erase_expired_everywhere(session_factory)
    assert erased == {"lund": Erased(applications=0, messages=0, people=1, pay_data=0)}
    assert await erase_expired_everywhere(session_factory) == {}
    db.expunge_all()
    with tenant_scope(tenant.id):
        assert (await db.get(Person, ours.id)).email is None  # type: ignore[union-attr]
        [entry] = (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.inactive.erased"))
        ).all()
        assert entry.actor_label == "retention"
        assert entry.data == {"reason": "retention", "count": 1, "months": 12}
    with tenant_scope(other_tenant.id):
        assert (await db.get(Person, theirs.id)).email == "tora@example.se"  # type: ignore[union-attr]
