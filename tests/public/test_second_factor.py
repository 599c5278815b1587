"""The pages of the second factor: the second step, enrolment, the security page, and
the administrator's policy and reset on the users page."""

import re
import time

import pyotp
import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts import second_factor
from app.core.audit import Actor
from app.core.crypto import FieldCipher
from app.core.models import AuditEntry, AuthSession, Membership, Tenant, User
from app.core.tenancy import tenant_scope
from tests import factories
from tests.factories import login, post_form
from tests.public.test_signin_by_link import (
    _code_in,
    _link_person,
    _mailed_links,
    _request_code,
    _texted,
)
from tests.test_isolation import tenant_routes

SECOND_STEP = "/login/second-step"
ENROL = "/account/second-factor"


def _cipher(app: Quart) -> FieldCipher:
    return FieldCipher(app.extensions["stemma"].settings.secret_key)


async def _enrol(app: Quart, db: AsyncSession, user: User) -> str:
    enrolment = second_factor.new_enrolment(_cipher(app), user)
    await second_factor.confirm_enrolment(
        db,
        _cipher(app),
        Actor.for_user(user),
        user,
        enrolment.sealed,
        pyotp.TOTP(enrolment.secret).now(),
        "::1",
    )
    return enrolment.secret


def _next_code(secret: str) -> str:
    """A code of the coming step: the enrolment used up the current one."""
    return pyotp.TOTP(secret).at(int(time.time()) + 30)


@pytest.fixture
async def strict_tenant(db: AsyncSession) -> Tenant:
    return await factories.make_tenant(db, slug="umea", second_factor_policy="required")


async def test_half_signed_in_grants_nothing(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    await _enrol(app, db, planner)
    response = await login(client, planner)
    assert response.headers["Location"] == SECOND_STEP
    assert await db.scalar(select(AuthSession.id)) is None
    routes = tenant_routes(app)
    assert routes
    for method, path, _permission in routes:
        if method == "GET":
            answer = await client.get(path)
        else:
            token = await factories.csrf_token(client)
            answer = await client.open(path, method=method, form={"csrf_token": token})
        assert answer.status_code == 302, (method, path)
        assert answer.headers["Location"] == SECOND_STEP, (method, path)
    chooser = await client.get("/account/municipalities")
    assert chooser.headers["Location"] == SECOND_STEP
    assert (await client.get("/account/security")).headers["Location"] == SECOND_STEP
    htmx = await client.get("/lund/planning/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == SECOND_STEP


async def test_password_then_code_signs_in_and_remembers_the_browser(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    secret = await _enrol(app, db, planner)
    await login(client, planner)
    page = await client.get(SECOND_STEP)
    assert "Andra steget" in await page.get_data(as_text=True)
    wrong = await post_form(client, SECOND_STEP, {"code": "000000"})
    assert "Koden stämmer inte" in await wrong.get_data(as_text=True)
    right = await post_form(client, SECOND_STEP, {"code": _next_code(secret), "remember": "y"})
    assert right.status_code == 302
    assert right.headers["Location"] == "/lund/planning/"
    cookie = right.headers.get("Set-Cookie", "")
    assert "stemma_device=" in " ".join(right.headers.getlist("Set-Cookie"))
    assert "HttpOnly" in " ".join(
        c for c in right.headers.getlist("Set-Cookie") if c.startswith("stemma_device=")
    ), cookie
    assert (await client.get("/lund/planning/")).status_code == 200

    await post_form(client, "/logout")
    again = await login(client, planner)
    assert again.headers["Location"] == "/lund/planning/"


async def test_a_mailed_link_does_not_skip_the_second_step(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    await _enrol(app, db, planner)
    await post_form(client, "/login/link", {"email": planner.email})
    [link] = await _mailed_links(app)
    await client.get(link)
    opened = await post_form(client, "/login/link/open")
    assert opened.headers["Location"] == SECOND_STEP
    assert (await client.get("/lund/planning/")).headers["Location"] == SECOND_STEP


async def test_a_planner_who_must_enrol_reaches_nothing_else_until_done(
    app: Quart, client: QuartClient, db: AsyncSession, strict_tenant: Tenant
) -> None:
    planner = await factories.make_user(db, strict_tenant, "planner")
    response = await login(client, planner)
    assert response.headers["Location"] == ENROL
    assert (await client.get("/umea/planning/")).headers["Location"] == ENROL
    page = await (await client.get(ENROL)).get_data(as_text=True)
    assert "<svg" in page and "style=" not in page.split("<svg", 1)[1].split("</svg>")[0]
    match = re.search(r'id="enrol-secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert match, page
    secret = match.group(1).replace(" ", "")
    wrong = await post_form(client, ENROL, {"code": "000000"})
    assert wrong.status_code == 422
    assert match.group(1) in await wrong.get_data(as_text=True)
    # Someone else signing in with the same password is shown a secret of their own,
    # never the one this browser is about to confirm.
    other = app.test_client()
    await login(other, planner)
    assert match.group(1) not in await (await other.get(ENROL)).get_data(as_text=True)
    done = await post_form(client, ENROL, {"code": pyotp.TOTP(secret).now()})
    body = await done.get_data(as_text=True)
    assert len(re.findall(r"<li><code>[a-z0-9-]{19}</code></li>", body)) == 10
    assert (await client.get("/umea/planning/")).status_code == 200


async def test_a_coordinator_may_enrol_from_the_security_page(
    app: Quart, client: QuartClient, db: AsyncSession, strict_tenant: Tenant
) -> None:
    coordinator = await factories.make_user(db, strict_tenant, "coordinator")
    response = await login(client, coordinator)
    assert response.headers["Location"] == "/umea/planning/"
    security = await (await client.get("/account/security")).get_data(as_text=True)
    assert "Av." in security
    assert (await client.get(ENROL)).status_code == 200


async def test_the_security_page_lists_and_forgets_remembered_browsers(
    app: Quart, client: QuartClient, db: AsyncSession, planner: User
) -> None:
    secret = await _enrol(app, db, planner)
    await login(client, planner)
    await post_form(
        client,
        SECOND_STEP,
        {"code": _next_code(secret), "remember": "y"},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"},
    )
    page = await (await client.get("/account/security")).get_data(as_text=True)
    assert "Firefox på Linux" in page
    match = re.search(r'action="(/account/security/devices/\d+/forget)"', page)
    assert match
    await post_form(client, match.group(1))
    page = await (await client.get("/account/security")).get_data(as_text=True)
    assert "Firefox på Linux" not in page


async def test_an_admin_sets_the_policy_and_resets_a_second_factor(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User, planner: User
) -> None:
    await _enrol(app, db, planner)
    await login(client, admin)
    page = await (await client.get("/lund/planning/admin/users")).get_data(as_text=True)
    assert 'id="policy-optional" name="policy" value="optional" checked' in page
    await post_form(
        client, "/lund/planning/admin/users/second-factor-policy", {"policy": "required"}
    )
    await db.refresh(tenant)
    assert tenant.second_factor_policy == "required"
    with tenant_scope(tenant.id):
        membership = await db.scalar(select(Membership).where(Membership.user_id == planner.id))
        assert membership is not None
        reset = await post_form(
            client, f"/lund/planning/admin/users/{membership.id}/second-factor/reset"
        )
        assert reset.status_code == 302
        codes = set(await db.scalars(select(AuditEntry.code)))
    assert {"accounts.second_factor.reset", "tenancy.second_factor_policy.changed"} <= codes
    assert not await second_factor.has_second_factor(db, planner.id)


async def test_a_texted_code_does_not_skip_the_second_step(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    # Codes by SMS are for clerks only; one who turned the app on takes the step too.
    await _link_person(db, tenant, clerk)
    await _enrol(app, db, clerk)
    await _request_code(client, clerk.email)
    [sms] = await _texted(app)
    entered = await post_form(client, "/login/code/enter", {"code": _code_in(sms)})
    assert entered.headers["Location"] == SECOND_STEP
    assert await db.scalar(select(AuthSession.id)) is None
