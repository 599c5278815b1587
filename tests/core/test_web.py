"""Headers, health checks, languages, error pages and static assets."""

from pathlib import Path

from quart import Quart
from quart.testing import QuartClient

from app.core.models import User
from app.realtime.broker import RedisBroker
from tests.factories import csrf_token, login, post_form


async def test_it_sends_security_headers_on_every_page(client: QuartClient) -> None:
    response = await client.get("/login")
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_it_never_caches_back_office_pages(client: QuartClient, admin: User) -> None:
    await login(client, admin)
    response = await client.get("/lund/planning/admin/users")
    assert response.headers["Cache-Control"] == "no-store"


async def test_it_serves_vendored_static_assets_with_a_version(client: QuartClient) -> None:
    page = await (await client.get("/login")).get_data(as_text=True)
    assert "/static/js/vendor/htmx-2.0.11.min.js?v=" in page
    response = await client.get("/static/js/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"]


async def test_it_has_no_inline_script_in_templates() -> None:
    templates = Path(__file__).resolve().parents[2] / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert (
            "<script>" not in text and " onclick=" not in text and "style=" not in text
        ) or path.parts[-2] in ("emails", "messages"), path  # mail: styles inline


async def test_it_reports_health_and_readiness(client: QuartClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert (await ready.get_json())["checks"] == {"database": "ok", "broker": "ok"}


async def test_it_is_not_ready_when_the_broker_is_down(app: Quart, client: QuartClient) -> None:
    runtime = app.extensions["stemma"]
    working = runtime.broker
    runtime.broker = RedisBroker("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        response = await client.get("/readyz")
    finally:
        await runtime.broker.close()
        runtime.broker = working
    assert response.status_code == 503
    assert (await response.get_json())["checks"]["broker"] == "unreachable"


async def test_it_is_not_ready_when_the_database_is_down(
    app: Quart, client: QuartClient, tmp_path: Path
) -> None:
    from app.core.db import create_engine

    runtime = app.extensions["stemma"]
    working = runtime.engine
    runtime.engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing-dir/none.db")
    try:
        response = await client.get("/readyz")
    finally:
        await runtime.engine.dispose()
        runtime.engine = working
    assert response.status_code == 503
    assert (await response.get_json())["checks"]["database"] == "unreachable"


async def test_it_switches_language_and_remembers_it_for_the_user(
    client: QuartClient, planner: User
) -> None:
    await login(client, planner)
    swedish = await (await client.get("/lund/planning/")).get_data(as_text=True)
    assert "Översikt" in swedish
    response = await post_form(client, "/lang", {"lang": "en", "next": "/lund/planning/"})
    assert response.headers["Location"] == "/lund/planning/"
    english = await (await client.get("/lund/planning/")).get_data(as_text=True)
    assert "Overview" in english and '<html lang="en">' in english
    await post_form(client, "/lang", {"lang": "da", "next": "/lund/planning/"})
    danish = await (await client.get("/lund/planning/")).get_data(as_text=True)
    assert "Oversigt" in danish


async def test_it_ignores_an_unknown_language_and_an_offsite_next(client: QuartClient) -> None:
    response = await post_form(client, "/lang", {"lang": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert "Logga in" in await (await client.get("/login")).get_data(as_text=True)


async def test_it_shows_a_translated_404_in_the_public_layout(client: QuartClient) -> None:
    response = await client.get("/this/does/not/exist")
    assert response.status_code == 404
    assert "Sidan kunde inte hittas" in await response.get_data(as_text=True)


async def test_it_keeps_the_language_after_login(client: QuartClient, planner: User) -> None:
    await post_form(client, "/lang", {"lang": "en", "next": "/login"})
    await login(client, planner)
    assert "Overview" in await (await client.get("/lund/planning/")).get_data(as_text=True)
    token = await csrf_token(client, "/lund/planning/")
    assert token
