"""After someone declines an offered place of an accepted proposal, the planner re-runs
the optimiser from the proposal's page: only the freed place is filled again (without
the person who declined), everyone else keeps their place, and the new proposal says
what changed."""

from __future__ import annotations

from typing import Any

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.autostaff import apply_run, create_run
from app.domain.autostaff.rerunning import declined_since
from app.domain.models import Assignment, AutostaffRun, Person
from app.domain.staffing.offers import answer_assignment
from tests.factories import login, make_clerk, make_staffed_station, post_form

ACTOR = Actor.system("test")


async def _accepted_proposal(db: AsyncSession, tenant: Tenant) -> tuple[dict[str, Any], Any]:
    """Seven places, ten people who can work either shift: the optimiser fills all seven
    and the planner accepts them."""
    s = await make_staffed_station(db, tenant)
    for n in range(10):
        await make_clerk(db, tenant, s["election"], first_name=f"Klara{n}")
    with tenant_scope(tenant.id):
        run = await create_run(db, ACTOR, s["election"].id)
        assert len(run.items) == 7
        await apply_run(db, ACTOR, run.id, None)
    return s, run


async def _holders(
    db: AsyncSession, tenant: Tenant, election_id: int
) -> set[tuple[int, int, int, str]]:
    with tenant_scope(tenant.id):
        return {
            (a.shift_id, a.role_type_id, a.person_id, a.state)
            for a in await db.scalars(
                select(Assignment).where(Assignment.election_id == election_id)
            )
        }


async def _decline(db: AsyncSession, tenant: Tenant, election_id: int) -> Assignment:
    """The chair of the early shift is offered the place and declines."""
    with tenant_scope(tenant.id):
        chosen = await db.scalar(
            select(Assignment)
            .where(Assignment.election_id == election_id)
            .order_by(Assignment.shift_id, Assignment.role_type_id, Assignment.id)
        )
        assert chosen is not None
        chosen.state = "offered"
        await db.commit()
        await answer_assignment(db, chosen, False, "Bortrest", ACTOR)
    return chosen


async def test_a_rerun_after_one_decline_changes_only_that_place(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s, run = await _accepted_proposal(db, tenant)
    election_id = s["election"].id
    declined = await _decline(db, tenant, election_id)
    before = await _holders(db, tenant, election_id)
    await login(client, planner)
    base = f"/lund/planning/elections/{election_id}/autostaff"

    page = await (await client.get(f"{base}/{run.id}")).get_data(as_text=True)
    assert "1 plats i förslaget har fått nej tack" in page
    assert "Kör om för de lediga platserna" in page

    # The board offers it too: the planner comes back there after the offers.
    board = f"/lund/planning/elections/{election_id}/staffing"
    page = await (await client.get(board)).get_data(as_text=True)
    assert f'action="{base}/{run.id}/rerun"' in page
    assert "Kör om för de lediga platserna" in page

    response = await post_form(client, f"{base}/{run.id}/rerun")
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        new = await db.scalar(select(AutostaffRun).order_by(AutostaffRun.id.desc()))
        assert new is not None and new.id != run.id
        assert response.headers["Location"].endswith(f"{base}/{new.id}")
        # One item: the declined place, someone else in it, nobody already placed.
        assert [(i["shift_id"], i["role_type_id"]) for i in new.items] == [
            (declined.shift_id, declined.role_type_id)
        ]
        instead = new.items[0]["person_id"]
        assert instead != declined.person_id
        assert instead not in {h[2] for h in before if h[3] != "declined"}
        assert new.costs["optimal"] == 1 and new.costs["rerun_of"] == run.id
        assert new.costs["changes"] == [
            [declined.shift_id, declined.role_type_id, declined.person_id, instead]
        ]
        names = {
            p.id: f"{p.first_name} {p.last_name}"
            for p in await db.scalars(
                select(Person).where(Person.id.in_([instead, declined.person_id]))
            )
        }
    # Nothing written yet: every assignment as it was.
    assert await _holders(db, tenant, election_id) == before

    page = await (await client.get(f"{base}/{new.id}")).get_data(as_text=True)
    assert "Vad som ändrades" in page
    assert "Omkört: 1 ledig plats är tillsatt igen" in page
    assert names[declined.person_id] in page and names[instead] in page
    assert "Föreslås i stället" in page
    # The decline is answered: the board offers no re-run any more.
    page = await (await client.get(board)).get_data(as_text=True)
    assert "/rerun" not in page

    # Accepting it fills the place; the other six are untouched.
    response = await post_form(client, f"{base}/{new.id}/apply", {"all": "1"})
    assert response.status_code == 302
    after = await _holders(db, tenant, election_id)
    assert after == before | {(declined.shift_id, declined.role_type_id, instead, "proposed")}

    # The decline was answered: the old proposal offers no second re-run.
    page = await (await client.get(f"{base}/{run.id}")).get_data(as_text=True)
    assert "Kör om för de lediga platserna" not in page
    response = await post_form(client, f"{base}/{run.id}/rerun", follow_redirects=True)
    assert "Ingen har tackat nej till en plats i det här förslaget" in await response.get_data(
        as_text=True
    )
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(AutostaffRun)) == 2


async def test_without_a_decline_there_is_nothing_to_rerun(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s, run = await _accepted_proposal(db, tenant)
    await login(client, planner)
    base = f"/lund/planning/elections/{s['election'].id}/autostaff"

    page = await (await client.get(f"{base}/{run.id}")).get_data(as_text=True)
    assert "Kör om för de lediga platserna" not in page
    response = await post_form(client, f"{base}/{run.id}/rerun", follow_redirects=True)
    assert "det finns inget att köra om" in await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(AutostaffRun)) == 1


async def test_another_tenants_proposal_cannot_be_rerun(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant, planner: User
) -> None:
    mine = await make_staffed_station(db, tenant)
    _s, theirs = await _accepted_proposal(db, other_tenant)
    await _decline(db, other_tenant, _s["election"].id)
    await login(client, planner)

    response = await post_form(
        client, f"/lund/planning/elections/{mine['election'].id}/autostaff/{theirs.id}/rerun"
    )
    assert response.status_code == 404
    with tenant_scope(other_tenant.id):
        assert await db.scalar(select(func.count()).select_from(AutostaffRun)) == 1


async def test_a_rerun_leaves_out_people_a_pending_proposal_gives_that_day(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    election_id, run_id, waiting = await _six_of_seven_accepted_one_declined(db, tenant)
    await login(client, planner)
    base = f"/lund/planning/elections/{election_id}/autostaff"

    response = await post_form(client, f"{base}/{run_id}/rerun", follow_redirects=True)

    # The only one free that day is the waiting row's person: not proposed again.
    page = await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        new = await db.scalar(select(AutostaffRun).order_by(AutostaffRun.id.desc()))
        assert new is not None and new.costs["rerun_of"] == run_id
        assert waiting not in {item["person_id"] for item in new.items}
        assert new.items == [] and new.costs["held_by_pending"] == 1
        assert new.costs["held_by_runs"] == [run_id]
    assert "Ingen: platsen förblir ledig" in page
    assert "1 person som kunde ha tagit en ledig plats lämnades utanför" in page
    assert "Förkasta det förslaget" in page
    assert f'<a href="{base}/{run_id}">Förslag {run_id}</a>' in page
    # The waiting row can still be accepted: nobody is booked twice.
    response = await post_form(client, f"{base}/{run_id}/apply", {"all": "1"})
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        rows = (await db.scalars(select(Assignment).where(Assignment.person_id == waiting))).all()
        assert [a.state for a in rows] == ["proposed"]


async def test_discarding_a_rerun_gives_its_declines_back_to_rerun_again(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    # The re-run finds nobody (the only free person waits in a pending row): the planner
    # discards it, frees the person, and re-runs the same decline again.
    election_id, run_id, _waiting = await _six_of_seven_accepted_one_declined(db, tenant)
    await login(client, planner)
    base = f"/lund/planning/elections/{election_id}/autostaff"
    await post_form(client, f"{base}/{run_id}/rerun")
    with tenant_scope(tenant.id):
        empty = await db.scalar(select(AutostaffRun).order_by(AutostaffRun.id.desc()))
        assert empty is not None and empty.items == []
        empty_id = empty.id
        assert await declined_since(db, await _fresh(db, run_id)) == []

    response = await post_form(client, f"{base}/{empty_id}/discard")

    assert response.status_code == 302
    with tenant_scope(tenant.id):
        assert len(await declined_since(db, await _fresh(db, run_id))) == 1
    # The waiting row is discarded too (the whole rest of the proposal): the re-run fills it.
    await post_form(client, f"{base}/{run_id}/discard")
    response = await post_form(client, f"{base}/{run_id}/rerun", follow_redirects=True)
    assert response.status_code == 200
    with tenant_scope(tenant.id):
        again = await db.scalar(select(AutostaffRun).order_by(AutostaffRun.id.desc()))
        assert again is not None and again.id != empty_id and len(again.items) == 1


async def _fresh(db: AsyncSession, run_id: int) -> AutostaffRun:
    """The run as the database holds it now (the pages changed it in their own session)."""
    query = select(AutostaffRun).where(AutostaffRun.id == run_id)
    return (await db.execute(query.execution_options(populate_existing=True))).scalar_one()


async def _six_of_seven_accepted_one_declined(
    db: AsyncSession, tenant: Tenant
) -> tuple[int, int, int]:
    """Seven places, seven people: the planner accepts six rows of the proposal, the
    seventh waits, and one accepted person declines. (election, run, the waiting person)"""
    s = await make_staffed_station(db, tenant)
    for n in range(7):
        await make_clerk(db, tenant, s["election"], first_name=f"Klara{n}")
    with tenant_scope(tenant.id):
        run = await create_run(db, ACTOR, s["election"].id)
        assert len(run.items) == 7
        await apply_run(db, ACTOR, run.id, list(range(6)))
        run_id, waiting = run.id, run.items[6]["person_id"]
    election_id = s["election"].id
    await _decline(db, tenant, election_id)
    return election_id, run_id, waiting
