"""Administration pages: audit log, users, API tokens."""

from datetime import timedelta

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import ApiToken, AuditEntry, Membership, OutboxMessage, Tenant, User, utcnow
from app.core.tenancy import tenant_scope
from tests.factories import login, post_form


async def test_it_shows_the_audit_log_of_this_municipality_only(
    client: QuartClient, admin: User, outsider: User
) -> None:
    await login(client, admin)
    response = await client.get("/lund/planning/admin/audit")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert admin.email in body
    assert "accounts.user.added" in body
    assert outsider.email not in body


async def test_it_names_what_an_entry_is_about_in_the_readers_language(
    client: QuartClient, db: AsyncSession, admin: User
) -> None:
    admin.locale = "sv"
    await db.commit()
    await login(client, admin)
    body = await (await client.get("/lund/planning/admin/audit")).get_data(as_text=True)
    # The filter's choices and the table name the object in Swedish, not by its class.
    assert '<option value="User">Användare</option>' in body
    assert f"Användare #{admin.id}" in body
    assert "User #" not in body


async def test_it_filters_the_audit_log(client: QuartClient, admin: User) -> None:
    await login(client, admin)
    body = await (await client.get("/lund/planning/admin/audit?code=tenancy.")).get_data(
        as_text=True
    )
    assert "tenancy.tenant.created" in body
    assert "accounts.user.added" not in body
    by_actor = await (await client.get(f"/lund/planning/admin/audit?actor={admin.email}")).get_data(
        as_text=True
    )
    assert "accounts.login" in by_actor
    assert "tenancy.tenant.created" not in by_actor


async def test_it_answers_an_htmx_filter_with_the_results_fragment_only(
    client: QuartClient, admin: User
) -> None:
    await login(client, admin)
    response = await client.get(
        "/lund/planning/admin/audit?code=accounts.", headers={"HX-Request": "true"}
    )
    body = await response.get_data(as_text=True)
    assert "accounts.login" in body
    assert "<html" not in body
    assert 'class="filters"' not in body


async def test_it_ignores_a_malformed_date_filter(client: QuartClient, admin: User) -> None:
    await login(client, admin)
    response = await client.get("/lund/planning/admin/audit?date_from=not-a-date")
    assert response.status_code == 200
    assert "aria-invalid" in await response.get_data(as_text=True)


def _in_a_month() -> str:
    return (utcnow() + timedelta(days=30)).date().isoformat()


async def test_it_creates_a_token_shown_once_and_revokes_it(
    client: QuartClient, db: AsyncSession, admin: User, tenant: Tenant
) -> None:
    await login(client, admin)
    response = await post_form(
        client,
        "/lund/planning/admin/tokens",
        {"name": "Lönesystem", "scopes": "registers:read", "expires_on": _in_a_month()},
    )
    body = await response.get_data(as_text=True)
    assert "stm_" in body and "Kopiera den nya nyckeln nu" in body
    listing = await (await client.get("/lund/planning/admin/tokens")).get_data(as_text=True)
    assert "Kopiera den nya nyckeln nu" not in listing
    with tenant_scope(tenant.id):
        token = (await db.scalars(select(ApiToken))).one()
    revoked = await post_form(client, f"/lund/planning/admin/tokens/{token.id}/revoke")
    assert revoked.status_code == 302
    with tenant_scope(tenant.id):
        await db.refresh(token)
    assert token.revoked_at is not None


async def test_it_gives_404_for_another_municipalitys_token(
    client: QuartClient, db: AsyncSession, admin: User, outsider: User, other_tenant: Tenant
) -> None:
    from app.core.accounts.api_tokens import create_api_token
    from app.core.audit import Actor

    with tenant_scope(other_tenant.id):
        foreign, _secret = await create_api_token(db, Actor.system("test"), "Malmö payroll")
    await login(client, admin)
    response = await post_form(client, f"/lund/planning/admin/tokens/{foreign.id}/revoke")
    assert response.status_code == 404
    with tenant_scope(other_tenant.id):
        await db.refresh(foreign)
    assert foreign.revoked_at is None


async def test_it_refuses_a_token_without_a_name(client: QuartClient, admin: User) -> None:
    await login(client, admin)
    response = await post_form(client, "/lund/planning/admin/tokens", {"name": ""})
    body = await response.get_data(as_text=True)
    assert 'id="error-summary"' in body
    assert "stm_" not in body


async def test_it_invites_a_user_by_email(
    client: QuartClient, db: AsyncSession, admin: User, tenant: Tenant, owner_db: AsyncSession
) -> None:
    await login(client, admin)
    response = await post_form(
        client,
        "/lund/planning/admin/users",
        {"name": "Nora Ny", "email": "Nora@Lund.test", "role": "coordinator"},
    )
    assert response.status_code == 302
    user = (await db.scalars(select(User).where(User.email == "nora@lund.test"))).one()
    assert user.password_hash is None
    mail = (
        await owner_db.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "nora@lund.test")
        )
    ).one()
    assert mail.subject == "Ditt konto i Lunds kommun"
    assert "/password/reset?token=" in mail.body_text


async def test_it_refuses_a_duplicate_member_and_keeps_nothing_half_written(
    client: QuartClient, db: AsyncSession, admin: User, planner: User, owner_db: AsyncSession
) -> None:
    await login(client, admin)
    response = await post_form(
        client,
        "/lund/planning/admin/users",
        {"name": "Dup", "email": planner.email, "role": "clerk"},
    )
    assert "Adressen har redan ett konto i Stemma." in await response.get_data(as_text=True)
    assert (await owner_db.scalars(select(OutboxMessage))).all() == []


async def test_it_changes_a_role_but_keeps_one_administrator(
    client: QuartClient, db: AsyncSession, admin: User, planner: User, tenant: Tenant
) -> None:
    await login(client, admin)
    with tenant_scope(tenant.id):
        members = {m.user_id: m for m in (await db.scalars(select(Membership))).all()}
    await post_form(
        client, f"/lund/planning/admin/users/{members[planner.id].id}/role", {"role": "coordinator"}
    )
    last_admin = await post_form(
        client, f"/lund/planning/admin/users/{members[admin.id].id}/role", {"role": "planner"}
    )
    assert last_admin.status_code == 302
    page = await (await client.get("/lund/planning/admin/users")).get_data(as_text=True)
    assert "Kommunen måste ha minst en administratör." in page
    with tenant_scope(tenant.id):
        roles = {
            m.user_id: m.role
            for m in (
                await db.scalars(select(Membership).execution_options(populate_existing=True))
            ).all()
        }
        assert roles == {admin.id: "admin", planner.id: "coordinator"}
        codes = (await db.scalars(select(AuditEntry.code))).all()
    assert "accounts.membership.role_changed" in codes


async def test_it_gives_404_for_another_municipalitys_member(
    client: QuartClient, db: AsyncSession, admin: User, outsider: User, other_tenant: Tenant
) -> None:
    with tenant_scope(other_tenant.id):
        foreign = (await db.scalars(select(Membership))).one()
    await login(client, admin)
    response = await post_form(
        client, f"/lund/planning/admin/users/{foreign.id}/role", {"role": "clerk"}
    )
    assert response.status_code == 404


async def test_it_shows_the_back_office_home(
    client: QuartClient, app: Quart, coordinator: User
) -> None:
    await login(client, coordinator)
    body = await (await client.get("/lund/planning/")).get_data(as_text=True)
    assert "Översikt" in body and "Samordnare" in body
    assert "/lund/planning/admin/audit" not in body


async def test_it_refuses_to_pull_in_another_municipalitys_account(
    client: QuartClient, db: AsyncSession, admin: User, outsider: User, tenant: Tenant
) -> None:
    await login(client, admin)
    response = await post_form(
        client,
        "/lund/planning/admin/users",
        {"name": "X", "email": outsider.email, "role": "clerk"},
    )
    assert "Adressen har redan ett konto i Stemma." in await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        assert len((await db.scalars(select(Membership))).all()) == 1
