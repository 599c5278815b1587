"""Who a dispatch's filter names: every filter, against a small election."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.dispatches import DispatchError
from app.domain.dispatches.filters import RecipientFilter, check_objects, resolve
from tests.domain.dispatches.helpers import world
from tests.factories import make_application


async def _names(db: AsyncSession, tenant: Tenant, **data: Any) -> list[str]:
    with tenant_scope(tenant.id):
        chosen = RecipientFilter.from_mapping(data)
        await check_objects(db, chosen)
        return sorted(c.name.split()[0] for c in await resolve(db, chosen))


async def test_it_chooses_staff_by_state_district_station_role_and_day(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    e = w["election"].id
    assert await _names(db, tenant, election_id=e) == ["Alva", "Eva", "Gun"]
    assert await _names(db, tenant, election_id=e, states=["proposed"]) == ["Dan"]
    assert await _names(db, tenant, election_id=e, states=["offered", "declined"]) == [
        "Bo",
        "Cilla",
    ]
    assert await _names(
        db, tenant, election_id=e, district_id=w["district"].id, states=["accepted", "offered"]
    ) == ["Alva", "Bo", "Eva"]
    assert await _names(db, tenant, election_id=e, station_id=w["station2"].id,
                        states=["accepted", "proposed"]) == ["Dan", "Gun"]  # fmt: skip
    assert await _names(db, tenant, election_id=e, role_type_id=w["roles"]["vice_chair"].id) == [
        "Eva"
    ]
    assert await _names(db, tenant, election_id=e, day=str(w["election"].election_day)) == [
        "Alva",
        "Eva",
        "Gun",
    ]
    assert await _names(db, tenant, election_id=e, day="2020-01-01") == []


async def test_it_chooses_unanswered_offers_arrivals_and_course_bookings(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    e, course = w["election"].id, w["course"].id
    assert await _names(db, tenant, election_id=e, unanswered="1") == ["Bo"]
    assert await _names(db, tenant, election_id=e, arrival="arrived") == ["Gun"]
    assert await _names(db, tenant, election_id=e, arrival="not_arrived") == ["Alva", "Eva"]
    booked = {"election_id": e, "course_id": course}
    assert await _names(db, tenant, **booked, course_state="booked") == ["Gun"]
    assert await _names(db, tenant, **booked, course_state="not_booked") == ["Alva", "Eva"]
    assert await _names(db, tenant, **booked, course_state="attended") == []
    assert await _names(db, tenant, **booked, course_state="absent") == []
    assert await _names(db, tenant, group="course", course_id=course) == ["Gun"]


async def test_it_chooses_reserves_and_applicants(db: AsyncSession, tenant: Tenant) -> None:
    w = await world(db, tenant)
    e = w["election"].id
    assert await _names(db, tenant, group="reserves", election_id=e) == ["Frida"]
    # Everyone active in the register, the erased Eva not.
    assert await _names(db, tenant, group="register") == [
        "Alva", "Bo", "Cilla", "Dan", "Frida", "Gun",
    ]  # fmt: skip
    assert await _names(
        db, tenant, group="register", course_id=w["course"].id, course_state="booked"
    ) == ["Gun"]
    await make_application(db, tenant, w["election"], first_name="Hugo")
    assert await _names(db, tenant, group="applicants") == ["Hugo"]
    assert await _names(db, tenant, group="applicants", election_id=e) == ["Hugo"]
    assert await _names(db, tenant, group="applicants", application_statuses=["approved"]) == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"group": "everyone"}, "group"),
        ({}, "election_id"),
        ({"election_id": "x"}, "election_id"),
        ({"election_id": "1", "states": ["withdrawn"]}, "states"),
        ({"election_id": "1", "course_state": "booked"}, "course_id"),
        ({"election_id": "1", "arrival": "late"}, "arrival"),
        ({"election_id": "1", "day": "13/9"}, "day"),
        ({"group": "course"}, "course_id"),
    ],
)
def test_it_refuses_a_filter_that_is_no_group(data: dict[str, Any], field: str) -> None:
    with pytest.raises(DispatchError) as refused:
        RecipientFilter.from_mapping(data)
    assert refused.value.field == field


async def test_it_refuses_another_municipalitys_election(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    w = await world(db, tenant)
    with pytest.raises(DispatchError) as refused:
        await _names(db, other_tenant, election_id=w["election"].id)
    assert refused.value.field == "election_id"
