"""A merged person's history stays findable: the audit log's page for the surviving
person (linked from the person's page) also lists what was written under the id of each
record merged into them, up to the merge; not another person's entries, and not an
entry written under that id after the merge (SQLite may give the id to someone new)."""

from __future__ import annotations

import datetime as dt

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.registers import merging, people
from tests.factories import login, make_person

ACTOR = Actor(label="planner@lund.test")


async def test_the_survivors_history_lists_the_merged_records_entries(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    kept = await make_person(db, tenant, first_name="Bo", last_name="Berg")
    twin = await make_person(db, tenant, first_name="Bo", last_name="Bergh")
    other = await make_person(db, tenant, first_name="Cissi", last_name="Cederlund")
    with tenant_scope(tenant.id):
        await people.update_person(db, ACTOR, twin.id, {"first_name": "Bo", "last_name": "Berg"})
        await people.update_person(db, ACTOR, other.id, {"first_name": "Ce", "last_name": "Ce"})
        await merging.merge_people(db, ACTOR, kept.id, twin.id)
        # Written under the old id after the merge: someone else's, not this history.
        db.add(
            AuditEntry(
                tenant_id=tenant.id,
                actor_label="later@lund.test",
                code="people.person.later",
                object_type="Person",
                object_id=str(twin.id),
                created_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
                data={},
            )
        )
        await db.commit()
    await login(client, admin)
    page = await (await client.get(f"/lund/planning/people/{kept.id}")).get_data(as_text=True)
    history = f"/lund/planning/admin/audit?object_type=Person&amp;object_id={kept.id}"
    assert history in page
    response = await client.get(history.replace("&amp;", "&"))
    assert response.status_code == 200
    text = " ".join((await response.get_data(as_text=True)).split())
    assert "people.person.merged" in text  # under the survivor's id
    assert f"Person #{twin.id}</td>" in text and "people.person.updated" in text
    assert f"Person #{other.id}</td>" not in text
    assert "people.person.later" not in text
