"""Signing in and out, CSRF, rate limits and session rotation."""

from datetime import timedelta

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, AuthSession, RateLimitEvent, User
from tests.factories import PASSWORD, csrf_token, login, make_user, post_form, shift_back


async def test_it_shows_the_login_page_in_swedish(client: QuartClient) -> None:
    response = await client.get("/login")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="sv">' in body
    assert "Logga in" in body
    assert 'name="csrf_token"' in body


async def test_it_signs_a_planner_in_to_the_back_office(client: QuartClient, planner: User) -> None:
    response = await login(client, planner)
    assert response.headers["Location"] == "/lund/planning/"
    page = await client.get("/lund/planning/")
    assert page.status_code == 200
    assert "Översikt" in await page.get_data(as_text=True)


async def test_it_signs_a_clerk_in_to_the_portal(client: QuartClient, clerk: User) -> None:
    response = await login(client, clerk)
    assert response.headers["Location"] == "/lund/portal/"


async def test_it_returns_to_a_safe_next_page_only(client: QuartClient, admin: User) -> None:
    token = await csrf_token(client)
    form = {"email": admin.email, "password": PASSWORD, "csrf_token": token}
    response = await client.post("/login?next=/lund/planning/admin/audit", form=form)
    assert response.headers["Location"] == "/lund/planning/admin/audit"
    await post_form(client, "/logout")
    token = await csrf_token(client)
    form["csrf_token"] = token
    response = await client.post("/login?next=//evil.example/x", form=form)
    assert response.headers["Location"] == "/lund/planning/"


async def test_it_gives_the_same_answer_for_a_wrong_password_and_an_unknown_user(
    client: QuartClient, planner: User
) -> None:
    wrong = await post_form(
        client, "/login", {"email": planner.email, "password": "nope-nope-nope"}
    )
    unknown = await post_form(
        client, "/login", {"email": "nobody@lund.test", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert "Fel e-post eller lösenord." in await wrong.get_data(as_text=True)
    assert "Fel e-post eller lösenord." in await unknown.get_data(as_text=True)


async def test_it_refuses_a_post_without_or_with_a_wrong_csrf_token(
    client: QuartClient, planner: User
) -> None:
    missing = await client.post("/login", form={"email": planner.email, "password": PASSWORD})
    assert missing.status_code == 400
    assert "Formuläret hade gått ut" in await missing.get_data(as_text=True)
    await csrf_token(client)
    wrong = await client.post(
        "/login", form={"email": planner.email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert wrong.status_code == 400
    assert "auth" not in ((client.cookie_jar and {c.name for c in client.cookie_jar}) or set())


async def test_it_accepts_the_csrf_token_as_an_htmx_header(
    client: QuartClient, admin: User
) -> None:
    await login(client, admin)
    token = await csrf_token(client, "/lund/planning/")
    response = await client.post(
        "/lang", form={"lang": "en", "next": "/lund/planning/"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 302


async def test_it_limits_failed_logins_per_account_with_retry_after(
    client: QuartClient, planner: User
) -> None:
    for _attempt in range(5):
        response = await post_form(
            client, "/login", {"email": planner.email, "password": "wrong-password"}
        )
        assert response.status_code == 200
    # Even the right password is refused now, so guessing cannot continue.
    limited = await post_form(client, "/login", {"email": planner.email, "password": PASSWORD})
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60
    assert "För många försök" in await limited.get_data(as_text=True)


async def test_it_limits_unknown_accounts_exactly_like_known_ones(
    client: QuartClient, tenant: object
) -> None:
    statuses = []
    for _attempt in range(6):
        response = await post_form(
            client, "/login", {"email": "ghost@lund.test", "password": "wrong-password"}
        )
        statuses.append(response.status_code)
    assert statuses == [200] * 5 + [429]


async def test_it_limits_attempts_per_address(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: object
) -> None:
    runtime = app.extensions["stemma"]
    runtime.settings = runtime.settings.model_copy(update={"login_attempts_per_ip": 3})
    for number in range(3):
        response = await post_form(
            client, "/login", {"email": f"x{number}@lund.test", "password": "wrong"}
        )
        assert response.status_code == 200
    limited = await post_form(
        client, "/login", {"email": "someone-else@lund.test", "password": "wrong"}
    )
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


async def test_it_forgets_failures_after_a_successful_login(
    client: QuartClient, db: AsyncSession, planner: User
) -> None:
    for _attempt in range(4):
        await post_form(client, "/login", {"email": planner.email, "password": "wrong-password"})
    await login(client, planner)
    buckets = (await db.scalars(select(RateLimitEvent.bucket))).all()
    assert "login.account_address" not in buckets


async def test_it_lets_the_window_expire(
    client: QuartClient, db: AsyncSession, planner: User
) -> None:
    for _attempt in range(5):
        await post_form(client, "/login", {"email": planner.email, "password": "wrong-password"})
    await shift_back(db, RateLimitEvent, "created_at", timedelta(minutes=16))
    await login(client, planner)


async def test_it_rotates_the_session_at_login_and_ends_it_at_logout(
    client: QuartClient, db: AsyncSession, planner: User
) -> None:
    await csrf_token(client)
    cookie_before = client.cookie_jar.get("stemma") if hasattr(client.cookie_jar, "get") else None
    planner_id = planner.id
    await login(client, planner)
    sessions = (
        await db.scalars(select(AuthSession).where(AuthSession.user_id == planner_id))
    ).all()
    assert len(sessions) == 1
    first_hash = sessions[0].token_hash
    stolen_cookies = [(c.name, c.value) for c in client.cookie_jar]
    assert cookie_before != dict(stolen_cookies).get("stemma")

    await post_form(client, "/logout")
    assert (await db.scalars(select(AuthSession))).all() == []

    # Replaying the cookie from before the logout gets nowhere.
    replay = client.__class__(client.app)
    for name, value in stolen_cookies:
        replay.set_cookie("localhost", name, value)
    response = await replay.get("/lund/planning/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")

    await login(client, planner)
    second = (await db.scalars(select(AuthSession).execution_options(populate_existing=True))).one()
    assert second.token_hash != first_hash


async def test_it_ends_an_idle_session(
    client: QuartClient, db: AsyncSession, planner: User
) -> None:
    await login(client, planner)
    await shift_back(db, AuthSession, "last_seen_at", timedelta(hours=9))
    response = await client.get("/lund/planning/")
    assert response.status_code == 302
    assert (await db.scalars(select(AuthSession))).all() == []


async def test_it_audits_a_login(
    client: QuartClient, owner_db: AsyncSession, planner: User
) -> None:
    await login(client, planner)
    codes = (
        await owner_db.scalars(
            select(AuditEntry.code)
            .where(AuditEntry.actor_user_id == planner.id)
            .execution_options(all_tenants=True)
        )
    ).all()
    assert "accounts.login" in codes


async def test_it_lets_a_user_of_two_municipalities_choose(
    client: QuartClient, db: AsyncSession, tenant: object, other_tenant: object
) -> None:
    user = await make_user(db, tenant, "planner", email="both@example.test")  # type: ignore[arg-type]
    from app.core.accounts.users import create_user
    from app.core.audit import Actor

    await create_user(
        db, Actor.system("test"), other_tenant, "both@example.test", "", "coordinator"
    )  # type: ignore[arg-type]
    response = await login(client, user)
    assert response.headers["Location"] == "/account/municipalities"
    page = await (await client.get("/account/municipalities")).get_data(as_text=True)
    assert "/lund/planning/" in page and "/malmo/planning/" in page


async def test_it_counts_parallel_guesses_against_each_other(
    client: QuartClient, planner: User
) -> None:
    import asyncio

    token = await csrf_token(client)
    form = {"email": planner.email, "password": "wrong-password", "csrf_token": token}
    responses = await asyncio.gather(*(client.post("/login", form=form) for _ in range(12)))
    statuses = sorted(response.status_code for response in responses)
    # At most five passwords were checked; the rest were refused unchecked.
    assert statuses.count(200) <= 5
    assert statuses.count(429) >= 7


async def test_it_does_not_let_others_lock_an_account_from_elsewhere(
    app: Quart, planner: User
) -> None:
    attacker = app.test_client()
    for _attempt in range(6):
        await post_form(
            attacker,
            "/login",
            {"email": planner.email, "password": "wrong-password"},
            scope_base={"client": ("203.0.113.9", 5000)},
        )
    owner = app.test_client()
    await login(owner, planner)


async def test_it_holds_no_database_connection_while_checking_the_password(
    app: Quart, client: QuartClient, planner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash runs for a noticeable fraction of a second; a sign-in holding its
    connection meanwhile starved the pool when many signed in at once."""
    from app.core.accounts import sessions
    from app.core.security import verify_password

    pool = app.extensions["stemma"].engine.sync_engine.pool
    held: list[int] = []

    def checking(password_hash: str | None, password: str) -> bool:
        held.append(pool.checkedout())
        return verify_password(password_hash, password)

    monkeypatch.setattr(sessions, "verify_password", checking)
    response = await login(client, planner)
    assert response.status_code == 302
    assert held == [0]
