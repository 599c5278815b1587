"""The pay budget rolls over with the election: the new election starts from the old
one's amounts, per role and per district (each on its copy of the district), and the
two are separate from then on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.rollover import preview_rollover, roll_over
from app.domain.models import District, RoleType
from app.domain.statistics import budgets
from tests.domain.staffing.test_staffing_reports import Staffed, build_staffed_election

ACTOR = Actor.system("test")


async def test_a_rolled_over_election_starts_from_the_previous_budget(
    db: AsyncSession, tenant: Tenant
) -> None:
    staffed: Staffed = await build_staffed_election(db, tenant)
    old = staffed.election
    with tenant_scope(tenant.id):
        roles = {r.code: r.id for r in await db.scalars(select(RoleType))}
        districts = {
            d.code: d.id
            for d in await db.scalars(select(District).where(District.election_id == old.id))
        }
        await budgets.save_budget(
            db, ACTOR, old.id, "roles",
            {f"role-{roles['chair']}": "37000", f"role-{roles['clerk']}": "120000,50"},
        )  # fmt: skip
        await budgets.save_budget(
            db, ACTOR, old.id, "districts",
            {f"district-{districts['D1']}": "90000", "advance": "15000"},
        )  # fmt: skip
        next_day = old.election_day + dt.timedelta(days=4 * 364)
        target = {"name": "Nästa val", "kind": "municipal", "election_day": next_day.isoformat()}
        preview = await preview_rollover(db, old.id, target)
        new = await roll_over(db, ACTOR, old.id, target)
        roles_now, districts_now = await budgets.budget_lines(db, new.id)
        new_districts = {
            d.code: d.id
            for d in await db.scalars(select(District).where(District.election_id == new.id))
        }
        rolled = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "elections.election.rolled_over")
        )
    assert {line.field: line.amount for line in roles_now if line.amount is not None} == {
        f"role-{roles['chair']}": Decimal("37000.00"),
        f"role-{roles['clerk']}": Decimal("120000.50"),
    }
    # D1's line is on the new election's D1; D2 had none and has none.
    assert {line.field: line.amount for line in districts_now} == {
        f"district-{new_districts['D1']}": Decimal("90000.00"),
        f"district-{new_districts['D2']}": None,
        "advance": Decimal("15000.00"),
    }
    assert new_districts["D1"] != districts["D1"]
    # The office was told before: four budget lines (and no pay rule set) go along.
    assert (preview.pay_rules, preview.budget_lines) == (0, 4)
    assert rolled is not None and rolled.data["budget_lines"] == 4
    # From now on each election has its own: a change to the new leaves the old alone.
    with tenant_scope(tenant.id):
        await budgets.save_budget(db, ACTOR, new.id, "roles", {f"role-{roles['chair']}": "40000"})
        roles_before, _districts = await budgets.budget_lines(db, old.id)
    assert {line.field: line.amount for line in roles_before if line.amount is not None} == {
        f"role-{roles['chair']}": Decimal("37000.00"),
        f"role-{roles['clerk']}": Decimal("120000.50"),
    }
