"""The candidate list pages and the exclusions pages: upload, preview with matches or
row errors, the saved list; anonymous is sent to sign in, an outsider gets 404."""

import io

from quart.datastructures import FileStorage
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Candidate, PersonExclusion
from app.domain.registers import candidates
from tests.factories import csrf_token, login, make_clerk, make_staffed_station


async def _upload(client: QuartClient, election_id: int, content: bytes) -> str:
    path = f"/lund/planning/elections/{election_id}/candidates"
    token = await csrf_token(client, path)
    response = await client.post(
        path,
        form={"csrf_token": token},
        files={"file": FileStorage(io.BytesIO(content), filename="kandidater.csv")},
    )
    assert response.status_code == 302, await response.get_data(as_text=True)
    return response.headers["Location"]


async def test_it_imports_a_list_after_its_preview_and_shows_the_match(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Karin", last_name="Kandidat")
    await login(client, planner)
    content = f"namn;personnummer;parti\nKarin Kandidat;{person.national_id};Gröna\n".encode()
    preview_path = await _upload(client, s["election"].id, content)
    page = await (await client.get(preview_path)).get_data(as_text=True)
    assert "Karin Kandidat" in page and person.national_id not in page
    assert person.national_id not in preview_path
    token = await csrf_token(client, preview_path)
    saved = await client.post(preview_path, form={"csrf_token": token})
    assert saved.status_code == 302
    list_page = await (await client.get(saved.headers["Location"])).get_data(as_text=True)
    assert "Gröna" in list_page and "Karin Kandidat" in list_page


async def test_a_bad_file_shows_row_errors_and_saves_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, planner)
    preview_path = await _upload(client, s["election"].id, b"namn;skonummer\nBo Berg;42\n")
    page = await (await client.get(preview_path)).get_data(as_text=True)
    assert "skonummer" in page and "error-summary" in page
    token = await csrf_token(client, preview_path)
    refused = await client.post(preview_path, form={"csrf_token": token})
    assert refused.status_code == 422
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Candidate.id))) == 0


async def test_an_exclusion_is_added_with_its_reason_and_refused_without(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    await login(client, planner)
    path = f"/lund/planning/people/{person.id}/exclusions"
    token = await csrf_token(client, path)
    empty = await client.post(path, form={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422
    added = await client.post(path, form={"csrf_token": token, "reason": "Party official"})
    assert added.status_code == 302
    listed = await (await client.get("/lund/planning/exclusions")).get_data(as_text=True)
    assert "Party official" in listed
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(PersonExclusion.id))) == 1


async def test_anonymous_is_sent_to_sign_in_and_an_outsider_gets_404(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    outsider: User,
    planner: User,
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        staged = await candidates.stage_candidates(
            db,
            Actor.system("test"),
            s["election"].id,
            "k.csv",
            f"namn;personnummer\nK K;{person.national_id}\n".encode(),
        )
        saved = await candidates.commit_candidates(db, Actor.system("test"), staged.batch.id)
    base = f"/lund/planning/elections/{s['election'].id}/candidates"
    paths = [base, f"{base}/{saved.list_id}", f"/lund/planning/people/{person.id}/exclusions"]
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 302 and "login" in response.headers["Location"]
    # Another municipality's election, list and person are not found in the own one.
    other = await make_staffed_station(db, other_tenant)
    await login(client, planner)
    foreign = f"/lund/planning/elections/{other['election'].id}/candidates"
    assert (await client.get(foreign)).status_code == 404
    own_election = f"/lund/planning/elections/{s['election'].id}/candidates"
    assert (await client.get(f"{own_election}/{saved.list_id + 1000}")).status_code == 404
    await login(client, outsider)
    for path in paths:
        assert (
            await client.get(path.replace("/lund/", f"/{other_tenant.slug}/"))
        ).status_code == 404


async def test_a_candidate_file_is_not_opened_by_the_register_import(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, planner)
    preview_path = await _upload(client, s["election"].id, b"namn;parti\nBo Berg;P\n")
    batch_id = preview_path.rstrip("/").rsplit("/", 1)[-1]
    assert (await client.get(f"/lund/planning/import/{batch_id}")).status_code == 404


async def test_a_likely_match_is_dismissed_with_a_reason_and_refused_without(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    import datetime as dt

    s = await make_staffed_station(db, tenant)
    person = await make_clerk(
        db, tenant, s["election"], first_name="Nils", last_name="Namnsson", national_id=""
    )
    with tenant_scope(tenant.id):
        person.birth_date = dt.date(1980, 1, 1)
        await db.commit()
    await login(client, planner)
    preview_path = await _upload(
        client,
        s["election"].id,
        b"namn;f\xc3\xb6delsedatum;parti\nNils Namnsson;1980-01-01;Bl\xc3\xa5\n",
    )
    token = await csrf_token(client, preview_path)
    saved = await client.post(preview_path, form={"csrf_token": token})
    list_path = saved.headers["Location"]
    with tenant_scope(tenant.id):
        row = await db.scalar(select(Candidate))
        assert row is not None and row.matched_by == "name_birth_date"
        row_id = row.id
    dismiss = f"{list_path}/{row_id}/dismiss"
    empty = await client.post(dismiss, form={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 422
    assert "Skriv varför träffen är någon annan." in await empty.get_data(as_text=True)
    done = await client.post(dismiss, form={"csrf_token": token, "reason": "Född i Malmö"})
    assert done.status_code == 302
    page = await (await client.get(list_path)).get_data(as_text=True)
    assert "Avfärdad: någon annan" in page and "Född i Malmö" in page
    other = await client.post(f"{list_path}/{row_id + 99}/dismiss", form={"csrf_token": token})
    assert other.status_code == 404
