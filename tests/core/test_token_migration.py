"""Migration 0015: a token made before scopes existed keeps every power it had, and
now works for a year."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from app.core.accounts.api_tokens import SCOPES
from app.core.db import create_engine
from app.core.migrations import upgrade


async def _execute(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def test_an_old_token_keeps_every_scope_and_gets_a_year(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0013")
    asyncio.run(
        _execute(
            url,
            "INSERT INTO tenants (id, slug, name, locale, timezone, created_at)"
            " VALUES (1, 'lund', 'Lund', 'sv', 'Europe/Stockholm', '2026-11-01 00:00:00')",
        )
    )
    asyncio.run(
        _execute(
            url,
            "INSERT INTO api_tokens (tenant_id, name, token_hash, prefix, created_at)"
            " VALUES (1, 'Old', 'h', 'stm_old', '2026-11-01 00:00:00')",
        )
    )
    upgrade(url)
    [(scopes, expires_at)] = asyncio.run(_execute(url, "SELECT scopes, expires_at FROM api_tokens"))
    # Every scope there was then; the messaging, dispatch, pay and materials scopes came
    # later (an old token never had their powers).
    later = {"messaging:read", "dispatches:read", "dispatches:write", "pay:read", "materials:read"}
    assert json.loads(str(scopes)) == [s for s in SCOPES if s not in later]
    expires = datetime.fromisoformat(str(expires_at)).replace(tzinfo=UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(days=365))) < timedelta(hours=1)
