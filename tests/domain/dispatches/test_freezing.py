"""The frozen list written by the database (one INSERT … SELECT): the very rows the
candidates would give, for every kind of group, held to the municipality on SQLite
too (the statement skips the ORM's tenant hook), another municipality's people never
on it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope, unscoped_tables
from app.domain.dispatches.filters import RecipientFilter, resolve
from app.domain.dispatches.freezing import freeze_in_database, frozen_list_statement
from app.domain.dispatches.queueing import write_frozen_list
from app.domain.models import Dispatch, DispatchRecipient, Person
from tests.domain.dispatches.helpers import make_dispatch, world
from tests.factories import make_person, make_tenant

KEPT = (
    "recipient_key", "channel", "person_id", "application_id", "assignment_id", "name",
    "first_name", "station_id", "shift_id", "role_type_id", "address", "locale", "left_out",
)  # fmt: skip


async def _frozen(db: AsyncSession, dispatch_id: int) -> list[tuple[Any, ...]]:
    rows = await db.scalars(
        select(DispatchRecipient)
        .where(DispatchRecipient.dispatch_id == dispatch_id)
        .order_by(DispatchRecipient.id)
    )
    return [tuple(getattr(row, name) for name in KEPT) for row in rows]


def _filters(w: dict[str, Any]) -> list[dict[str, Any]]:
    election = w["election"].id
    return [
        {"group": "staff", "election_id": election, "states": ["accepted", "offered"]},
        {"group": "staff", "election_id": election, "district_id": w["district2"].id,
         "states": ["accepted", "proposed"]},
        {"group": "staff", "election_id": election, "unanswered": True},
        {"group": "staff", "election_id": election, "day": str(w["election"].election_day),
         "arrival": "not_arrived", "course_id": w["course"].id, "course_state": "not_booked"},
        {"group": "reserves", "election_id": election},
        {"group": "course", "course_id": w["course"].id},
        {"group": "register", "course_id": w["course"].id, "course_state": "booked"},
        {"group": "register"},
    ]  # fmt: skip


async def test_it_freezes_exactly_the_rows_the_candidates_give(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    dispatch_id = dispatch.id
    with tenant_scope(tenant.id):
        for data in _filters(w):
            chosen = RecipientFilter.from_mapping(data)
            dispatch = await db.get(Dispatch, dispatch_id)
            assert dispatch is not None and dispatch.channels == ["email", "sms"]
            await write_frozen_list(db, dispatch, await resolve(db, chosen))
            by_candidates = await _frozen(db, dispatch_id)
            await db.execute(delete(DispatchRecipient))
            frozen = await freeze_in_database(db, dispatch, chosen)
            assert await _frozen(db, dispatch_id) == by_candidates, data
            assert frozen == len(by_candidates)
            await db.execute(delete(DispatchRecipient))
        await db.rollback()


async def test_another_municipalitys_people_are_never_frozen(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    other = await make_tenant(db, slug="malmo")
    stranger = await make_person(db, other, first_name="Främling", email="x@malmo.test")
    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    with tenant_scope(tenant.id):
        dispatch = await db.get(Dispatch, dispatch.id)
        assert dispatch is not None
        everyone = RecipientFilter.from_mapping({"group": "register"})
        await freeze_in_database(db, dispatch, everyone)
        frozen = {row[2] for row in await _frozen(db, dispatch.id)}
        ours = set(await db.scalars(select(Person.id)))
    assert stranger.id not in frozen and frozen <= ours and frozen


@pytest.mark.parametrize("index", range(8))
async def test_every_table_the_statement_reads_is_held_to_the_municipality(
    db: AsyncSession, tenant: Tenant, index: int
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    chosen = RecipientFilter.from_mapping(_filters(w)[index])
    assert unscoped_tables(frozen_list_statement(dispatch, chosen, tenant.id)) == set()
