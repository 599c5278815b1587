"""Register imports: an id the file's form names is checked within the municipality."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import ImportBatch
from app.domain.registers.imports import stage_import
from tests.factories import make_election

ACTOR = Actor.system("test")
PEOPLE = "förnamn;efternamn\nAnna;Ek\n".encode()


@pytest.mark.parametrize("kind", ["people", "rooms", "structure"])
async def test_it_answers_another_municipalitys_election_as_one_that_does_not_exist(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, kind: str
) -> None:
    foreign_id = (await make_election(db, other_tenant)).id
    answers = []
    with tenant_scope(tenant.id), locale_scope("en"):
        own_id = (await make_election(db, tenant)).id
        for election_id in (foreign_id, foreign_id + own_id + 1000):
            with pytest.raises(FieldErrors) as refused:
                await stage_import(db, ACTOR, kind, "a.csv", PEOPLE, election_id)
            answers.append(refused.value.errors)
            await db.rollback()
        assert (
            answers[0]
            == answers[1]
            == {"election_id": "There is no such election; choose one from the list."}
        )
        assert await db.scalar(select(func.count(ImportBatch.id))) == 0
        # The municipality's own election is taken; only a structure import keeps it.
        preview = await stage_import(db, ACTOR, kind, "a.csv", PEOPLE, own_id)
        assert preview.batch.election_id == (own_id if kind == "structure" else None)
