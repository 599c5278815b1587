"""Sliding-window rate limits counted in the database, so every process agrees."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import RateLimitEvent, utcnow
from app.core.security import hash_token


@dataclass(frozen=True)
class Limit:
    bucket: str
    max_events: int
    window: timedelta


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


def _key_hash(limit: Limit, key: str) -> str:
    # Keys are email addresses and IP addresses: hash them so the table holds no contact data.
    return hash_token(f"{limit.bucket}:{key.strip().lower()}")


async def retry_after(session: AsyncSession, limit: Limit, key: str) -> int | None:
    """Seconds until another event is allowed, or None when under the limit."""
    since = utcnow() - limit.window
    key_hash = _key_hash(limit, key)
    count, oldest = (
        await session.execute(
            select(func.count(RateLimitEvent.id), func.min(RateLimitEvent.created_at)).where(
                RateLimitEvent.bucket == limit.bucket,
                RateLimitEvent.key_hash == key_hash,
                RateLimitEvent.created_at > since,
            )
        )
    ).one()
    if count < limit.max_events:
        return None
    oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=since.tzinfo)
    return max(1, math.ceil((oldest_at + limit.window - utcnow()).total_seconds()))


async def check(session: AsyncSession, limit: Limit, key: str) -> None:
    """Raise RateLimited when ``key`` has used up ``limit``."""
    wait = await retry_after(session, limit, key)
    if wait is not None:
        raise RateLimited(wait)


def hit(session: AsyncSession, limit: Limit, key: str) -> None:
    """Count one event; it is stored when the session commits."""
    session.add(RateLimitEvent(bucket=limit.bucket, key_hash=_key_hash(limit, key)))


async def clear(session: AsyncSession, limit: Limit, key: str) -> None:
    await session.execute(
        delete(RateLimitEvent).where(
            RateLimitEvent.bucket == limit.bucket,
            RateLimitEvent.key_hash == _key_hash(limit, key),
        )
    )


async def prune(session: AsyncSession, older_than: timedelta = timedelta(days=1)) -> int:
    result = await session.execute(
        delete(RateLimitEvent).where(RateLimitEvent.created_at < utcnow() - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
