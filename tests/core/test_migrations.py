"""Migrations run up from empty on SQLite and PostgreSQL and match the models exactly."""

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.core.db import create_engine
from app.core.migrations import downgrade, upgrade
from app.core.models import Base
from tests.conftest import TEST_DATABASE_URL


async def _schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def test_it_migrates_sqlite_up_from_empty_and_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    assert asyncio.run(_schema_differences(url)) == []
    downgrade(url, "base")
    assert asyncio.run(_table_names(url)) <= {"alembic_version"}
    upgrade(url)
    assert {"tenants", "users", "memberships", "audit_entries"} <= asyncio.run(_table_names(url))


@pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="PostgreSQL runs when STEMMA_TEST_DATABASE_URL is set"
)
def test_it_migrates_postgresql_up_from_empty_and_back(migrated_database: str) -> None:
    # The session fixture migrated this database (the worker's own under xdist) up from
    # an empty schema.
    url = migrated_database
    assert asyncio.run(_schema_differences(url)) == []
    downgrade(url, "base")
    assert asyncio.run(_table_names(url)) <= {"alembic_version"}
    upgrade(url)
    assert asyncio.run(_schema_differences(url)) == []
