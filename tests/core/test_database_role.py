"""The app's database role: the outbox under row-level security, no setting that opens
every tenant, and no start as a role the policies do not bind (PostgreSQL)."""

import contextlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from quart.testing.app import LifespanError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.cli import main
from app.core.db import create_engine
from app.core.db_role import UnsafeDatabaseRoleError, refuse_privileged_role
from app.core.models import Tenant, User
from app.core.settings import Settings, load_settings
from app.core.tenancy import tenant_scope
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="row-level security is PostgreSQL's")


async def _queue_mail(database_url: str, tenant_id: int | None, key: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            with tenant_scope(tenant_id) if tenant_id is not None else contextlib.nullcontext():
                await connection.execute(
                    text(
                        "INSERT INTO outbox_messages (tenant_id, channel, recipient, subject,"
                        " body_text, idempotency_key, sensitive, status, attempts,"
                        " next_attempt_at, created_at) VALUES (:tenant, 'email', 'a@b.test',"
                        " 'Sign in', 'https://x.test/signin?token=secret', :key, true,"
                        " 'pending', 0, now(), now())"
                    ),
                    {"tenant": tenant_id, "key": key},
                )
                await connection.commit()
    finally:
        await engine.dispose()


async def test_another_tenants_outbox_rows_are_invisible_to_the_app_role(
    database_url: str, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _queue_mail(database_url, tenant.id, "lund")
    await _queue_mail(database_url, other_tenant.id, "malmo")
    await _queue_mail(database_url, None, "account")
    engine = create_engine(database_url)
    keys = text("SELECT array_agg(idempotency_key ORDER BY id) FROM outbox_messages")
    try:
        async with engine.connect() as connection:
            with tenant_scope(tenant.id):
                assert await connection.scalar(keys) == ["lund"]
                # Nor can it be written for another municipality.
                with pytest.raises(DBAPIError, match="row-level security"):
                    await connection.execute(
                        text("UPDATE outbox_messages SET tenant_id = :other"),
                        {"other": other_tenant.id},
                    )
            await connection.rollback()
            # Outside any municipality: the mail of none only.
            assert await connection.scalar(keys) == ["account"]
    finally:
        await engine.dispose()


async def test_no_session_setting_shows_the_app_role_other_tenants_rows(
    database_url: str, tenant: Tenant, other_tenant: Tenant, admin: User, outsider: User
) -> None:
    await _queue_mail(database_url, other_tenant.id, "malmo")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            with tenant_scope(tenant.id):
                for setting in ("stemma.all_tenants", "stemma.bypass", "stemma.system"):
                    await connection.execute(
                        text("SELECT set_config(:name, 'on', false)"), {"name": setting}
                    )
                tenants = await connection.scalar(
                    text("SELECT array_agg(DISTINCT tenant_id) FROM memberships")
                )
                assert tenants == [tenant.id]
                assert await connection.scalar(text("SELECT count(*) FROM outbox_messages")) == 0
                # Turning row security off is refused, not silently obeyed.
                await connection.execute(text("SET row_security = off"))
                with pytest.raises(DBAPIError, match="row-level security"):
                    await connection.execute(text("SELECT count(*) FROM memberships"))
    finally:
        await engine.dispose()


async def test_the_functions_across_tenants_answer_with_ids_only(
    database_url: str, tenant: Tenant, other_tenant: Tenant, outsider: User
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            with tenant_scope(tenant.id):
                found = await connection.scalar(
                    text("SELECT array_agg(t) FROM stemma_membership_tenants(:user) AS t"),
                    {"user": outsider.id},
                )
                assert found == [other_tenant.id]
                # The owner's functions are not a way to read the rows themselves.
                assert await connection.scalar(text("SELECT count(*) FROM memberships")) == 0
    finally:
        await engine.dispose()


def _settings_as(url: str, tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        run_worker_in_process=False,
        **overrides,
    )


@pytest.mark.allow_error_logs  # Quart logs the failed start
async def test_it_refuses_to_start_as_a_superuser(migrated_database: str, tmp_path: Path) -> None:
    """``migrated_database`` is the owner's URL: the tests' superuser."""
    application = create_app(_settings_as(migrated_database, tmp_path))
    with pytest.raises(LifespanError) as refused:
        async with application.test_app():
            pass
    message = str(refused.value)
    assert "superuser" in message and "NOSUPERUSER" in message and "BYPASSRLS" in message
    assert "STEMMA_ALLOW_PRIVILEGED_DATABASE_ROLE" in message
    await application.extensions["stemma"].engine.dispose()
    with pytest.raises(UnsafeDatabaseRoleError, match="owns the tables"):
        await refuse_privileged_role(application.extensions["stemma"].engine, allowed=False)
    await application.extensions["stemma"].engine.dispose()


def test_stemma_serve_and_worker_refuse_a_superuser(
    migrated_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMMA_DATABASE_URL", migrated_database)
    monkeypatch.setenv("STEMMA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("STEMMA_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
    for command in (["serve", "--port", "1"], ["worker"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "refuses to start" in result.output and "NOSUPERUSER" in result.output


async def test_the_development_escape_lets_it_start_and_an_ordinary_role_starts(
    migrated_database: str, database_url: str, tmp_path: Path
) -> None:
    for settings in (
        _settings_as(migrated_database, tmp_path, allow_privileged_database_role=True),
        _settings_as(database_url, tmp_path),
    ):
        application = create_app(settings)
        async with application.test_app():
            pass
