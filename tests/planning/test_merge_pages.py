"""The pages of duplicate people: the likely pairs, the two records side by side, the
merge with its confirmation, an old link leading on, a conflict shown and refused, the
dismissal of a likely candidate match; an outsider gets 404."""

from __future__ import annotations

import datetime as dt

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, Person, PersonMerge
from tests.factories import csrf_token, login, make_clerk, make_person, make_staffed_station


async def _twins(db: AsyncSession, tenant: Tenant) -> tuple[int, int]:
    kept = await make_person(
        db, tenant, first_name="Bo", last_name="Berg", national_id="198001019986",
        city="Lund", street_address="Gamla vägen 1",
    )  # fmt: skip
    twin = await make_person(
        db, tenant, first_name="Bo", last_name="Berg", city="Malmö", street_address="Nya vägen 2"
    )
    with tenant_scope(tenant.id):
        twin.birth_date = dt.date(1980, 1, 1)
        await db.commit()
    return kept.id, twin.id


async def test_the_pair_is_listed_compared_and_merged_and_the_old_link_leads_on(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    kept, twin = await _twins(db, tenant)
    await login(client, planner)
    listed = await (await client.get("/lund/planning/people/duplicates")).get_data(as_text=True)
    assert "Samma namn och födelsedatum" in listed
    path = f"/lund/planning/people/merge/{kept}/{twin}"
    assert path in listed
    page = await (await client.get(path)).get_data(as_text=True)
    assert "Gamla vägen 1, Lund" in page and "Nya vägen 2, Malmö" in page
    assert "198001019986" not in page and "Slå ihop posterna" in page
    token = await csrf_token(client, path)
    unconfirmed = await client.post(path, form={"csrf_token": token, "keep_address": "merged"})
    assert unconfirmed.status_code == 422
    assert "Kryssa i rutan för att bekräfta sammanslagningen." in await unconfirmed.get_data(
        as_text=True
    )
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Person.id))) == 2
    merged = await client.post(
        path, form={"csrf_token": token, "keep_address": "merged", "confirm": "1"}
    )
    assert merged.status_code == 302
    assert merged.headers["Location"].endswith(f"/people/{kept}")
    with tenant_scope(tenant.id):
        person = await db.scalar(select(Person).where(Person.id == kept))
        assert person is not None and person.city == "Malmö"
        assert await db.scalar(select(func.count(PersonMerge.id))) == 1
    old = await client.get(f"/lund/planning/people/{twin}")
    assert old.status_code == 301 and old.headers["Location"].endswith(f"/people/{kept}")
    gone = await client.get(f"/lund/planning/people/merge/{kept}/{twin}")
    assert gone.status_code == 404
    assert (await client.get(f"/lund/planning/people/{twin}/edit")).status_code == 404


async def test_a_conflict_is_shown_and_a_forced_post_is_refused_with_nothing_written(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    kept = await make_clerk(db, tenant, s["election"], first_name="Bo", last_name="Berg")
    twin = await make_clerk(
        db, tenant, s["election"], first_name="Bo", last_name="Berg", national_id=""
    )
    with tenant_scope(tenant.id):
        for person, shift in ((kept, s["early"]), (twin, s["late"])):
            db.add(
                Assignment(
                    election_id=s["election"].id,
                    station_id=s["station"].id,
                    shift_id=shift.id,
                    role_type_id=s["roles"]["clerk"].id,
                    person_id=person.id,
                    state="accepted",
                )
            )
        await db.commit()
        kept_id, twin_id = kept.id, twin.id
    await login(client, planner)
    path = f"/lund/planning/people/merge/{kept_id}/{twin_id}"
    page = await (await client.get(path)).get_data(as_text=True)
    assert "Båda posterna har en plats den" in page and "Slå ihop posterna" not in page
    token = await csrf_token(client, path)
    refused = await client.post(path, form={"csrf_token": token, "confirm": "1"})
    assert refused.status_code == 422
    assert "Båda posterna har en plats den" in await refused.get_data(as_text=True)
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(PersonMerge.id))) == 0
        assert await db.scalar(select(Person.id).where(Person.id == twin_id)) == twin_id


async def test_an_outsider_gets_404_and_a_clerk_is_refused(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    outsider: User,
    planner: User,
) -> None:
    kept, twin = await _twins(db, tenant)
    stranger = await make_person(db, other_tenant, first_name="Bo", last_name="Berg")
    await login(client, outsider)
    assert (await client.get(f"/lund/planning/people/merge/{kept}/{twin}")).status_code == 404
    assert (await client.get("/lund/planning/people/duplicates")).status_code == 404
    await login(client, planner)
    path = f"/lund/planning/people/merge/{kept}/{stranger.id}"
    assert (await client.get(path)).status_code == 404
    token = await csrf_token(client, f"/lund/planning/people/merge/{kept}/{twin}")
    posted = await client.post(path, form={"csrf_token": token, "confirm": "1"})
    assert posted.status_code == 404
    same = await client.get(f"/lund/planning/people/merge/{kept}/{kept}")
    assert same.status_code == 404


async def test_an_applicant_in_the_register_shows_the_languages_joined_beside_the_rest(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    from tests.factories import make_application, make_open_election

    election = await make_open_election(db, tenant)
    await make_person(
        db, tenant, first_name="Sara", last_name="Lind", national_id="19900101-0017",
        email="sara@example.se", spoken_languages="sv",
    )  # fmt: skip
    submitted = await make_application(db, tenant, election, email="sara.ny@example.se")
    await login(client, planner)
    page = await (
        await client.get(f"/lund/planning/applications/{submitted.application.id}")
    ).get_data(as_text=True)
    assert "sara@example.se" in page and "sara.ny@example.se" in page
    assert "Sammanfogas: registret får båda." in page
