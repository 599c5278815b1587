"""A check-in whose database connection is cut (a failover) is run again, and stored once."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import again_after_failover, lost_the_database, retried_after_failover
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import CheckIn
from app.domain.ops import checkins
from tests.conftest import TEST_DATABASE_URL
from tests.domain.ops.test_checkins import _check_in, ops_day

postgres_only = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="a connection cut from the server is PostgreSQL's"
)


async def _cut_connection(db: AsyncSession, owner_db: AsyncSession) -> None:
    """End the server process of ``db``'s connection, as a primary that died would."""
    pid = await db.scalar(text("SELECT pg_backend_pid()"))
    assert await owner_db.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await owner_db.commit()


@postgres_only
async def test_it_checks_in_once_on_a_new_connection_when_the_old_one_is_cut(
    db: AsyncSession, owner_db: AsyncSession, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    day = await ops_day(db, tenant)
    with tenant_scope(tenant.id):
        await _cut_connection(db, owner_db)
        with caplog.at_level(logging.WARNING, "app.core.db"):
            row, replayed = await _check_in(db, tenant, day, day.clerk_ids[0], "cut-1")
        stored = await db.scalar(
            select(func.count(CheckIn.id)).where(CheckIn.idempotency_key == "cut-1")
        )
    assert (row.kind, replayed, stored) == ("arrived", False, 1)
    # It ran again on a new connection, which sent the municipality's setting again for
    # the row policies (else the person would not have been found).
    assert any("database lost" in message for message in caplog.messages)


@postgres_only
async def test_it_replays_a_check_in_whose_commit_reached_the_database_before_the_cut(
    db: AsyncSession, owner_db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    first, _ = await _check_in(db, tenant, day, day.clerk_ids[0], "cut-2")
    with tenant_scope(tenant.id):
        await _cut_connection(db, owner_db)
        again, replayed = await _check_in(db, tenant, day, day.clerk_ids[0], "cut-2")
        stored = await db.scalar(
            select(func.count(CheckIn.id)).where(CheckIn.idempotency_key == "cut-2")
        )
    assert (again.id, replayed, stored) == (first.id, True, 1)


async def test_it_does_not_run_again_what_failed_for_another_reason(db: AsyncSession) -> None:
    attempts = 0

    async def refused() -> None:
        nonlocal attempts
        attempts += 1
        raise IntegrityError("INSERT", {}, ValueError("duplicate key"))

    with pytest.raises(IntegrityError):
        await again_after_failover(db, refused)
    assert attempts == 1


async def test_a_use_case_marked_retried_runs_again_with_the_same_arguments(
    db: AsyncSession,
) -> None:
    calls: list[tuple[int, str]] = []

    @retried_after_failover
    async def use_case(session: AsyncSession, number: int, *, word: str) -> str:
        """Says what it was given."""
        calls.append((number, word))
        if len(calls) == 1:
            raise ConnectionResetError("the primary went away")
        return f"{number} {word}"

    assert await use_case(db, 7, word="sju") == "7 sju"
    assert calls == [(7, "sju"), (7, "sju")]
    assert use_case.__doc__ == "Says what it was given."
    # The check-in is such a use case: its signature is its own, written once.
    assert checkins.check_in.__wrapped__.__name__ == "check_in"  # type: ignore[attr-defined]
    assert not hasattr(checkins, "_check_in_once")


async def test_it_gives_up_once_its_patience_is_spent(db: AsyncSession) -> None:
    attempts = 0

    async def unreachable() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionRefusedError("no primary")

    with pytest.raises(ConnectionRefusedError):
        await again_after_failover(db, unreachable, patience=0.5)
    assert 2 <= attempts <= 4


def test_it_tells_a_lost_database_from_a_wrong_statement() -> None:
    class ReadOnly(Exception):
        sqlstate = "25006"

    class Shutdown(Exception):
        sqlstate = "57P01"

    class Duplicate(Exception):
        sqlstate = "23505"

    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = ConnectionResetError()
    assert lost_the_database(ReadOnly())
    assert lost_the_database(Shutdown())
    assert lost_the_database(wrapped)
    assert lost_the_database(TimeoutError())
    assert not lost_the_database(Duplicate())
    assert not lost_the_database(ValueError("no such shift"))
