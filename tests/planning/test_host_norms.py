"""A host is not counted toward the legal minimum, so the norm editors take no minimum for
one: the station's form has no minimum field for it, and a minimum sent anyway (a form of
the station or of a staffing template, or a crafted post) is refused with a translated
message at the role's target, nothing saved."""

from __future__ import annotations

import pytest
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.elections.norm_templates import save_template
from app.domain.elections.norms import set_norms
from app.domain.models import RoleType, StaffingNorm
from tests.factories import login, make_staffed_station, post_form

ACTOR = Actor.system("test")


async def _host_norms(db: AsyncSession, tenant: Tenant, shift_id: int) -> list[tuple[int, int]]:
    with tenant_scope(tenant.id):
        host = await db.scalar(select(RoleType.id).where(RoleType.code == "host"))
        rows = await db.execute(
            select(StaffingNorm.minimum, StaffingNorm.target).where(
                StaffingNorm.shift_id == shift_id, StaffingNorm.role_type_id == host
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_it_refuses_a_minimum_for_a_host_and_takes_a_target(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    election, station, early = s["election"].id, s["station"].id, s["early"].id
    with tenant_scope(tenant.id), locale_scope("en"):
        with pytest.raises(FieldErrors) as refused:
            await set_norms(
                db, ACTOR, election, station, early, {"min_host": "1", "target_host": "2"}
            )
        assert refused.value.errors == {
            "target_host": "This role is not counted toward the legal minimum: give it a target only."
        }
    assert await _host_norms(db, tenant, early) == []
    with tenant_scope(tenant.id):
        await set_norms(db, ACTOR, election, station, early, {"target_host": "2"})
    assert await _host_norms(db, tenant, early) == [(0, 2)]


async def test_a_staffing_template_refuses_a_minimum_for_a_host(
    db: AsyncSession, tenant: Tenant
) -> None:
    shifts = [{"name": "Dag", "starts_at": "08:00", "ends_at": "12:00", "norms": {"host": [1, 1]}}]
    with tenant_scope(tenant.id), locale_scope("sv"):
        with pytest.raises(FieldErrors) as refused:
            await save_template(
                db, ACTOR, {"name": "Värdar", "station_kind": "polling", "shifts": shifts}
            )
        assert "räknas inte med i lagens minsta antal" in refused.value.errors["shifts"]
        shifts[0]["norms"] = {"host": [0, 1]}
        await save_template(
            db, ACTOR, {"name": "Värdar", "station_kind": "polling", "shifts": shifts}
        )


async def test_the_station_page_has_no_host_minimum_and_says_why_a_posted_one_is_refused(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, admin)
    page = f"/{tenant.slug}/planning/elections/{s['election'].id}/stations/{s['station'].id}"
    html = await (await client.get(page)).get_data(as_text=True)
    assert 'name="min_clerk"' in html and 'name="target_host"' in html
    assert 'name="min_host"' not in html
    response = await post_form(
        client,
        f"{page}/shifts/{s['early'].id}/norms",
        {"min_chair": "1", "target_chair": "1", "min_host": "1", "target_host": "1"},
    )
    assert response.status_code == 422
    text = " ".join((await response.get_data(as_text=True)).split())
    assert "Rollen räknas inte med i lagens minsta antal: ange bara ett mål." in text
    assert await _host_norms(db, tenant, s["early"].id) == []
