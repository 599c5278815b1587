"""Sliding-window rate limits counted in the database, so every process agrees."""

from __future__ import annotations

import ipaddress
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


def address_key(ip_address: str) -> str:
    """IPv6 clients own whole /64 networks: count them as one address."""
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return ip_address
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


async def retry_after(
    session: AsyncSession, limit: Limit, key: str, counted: bool = False
) -> int | None:
    """Seconds until another event is allowed, or None when under the limit.

    With ``counted``, the current attempt has already been recorded with ``hit``,
    so the limit is exceeded only above ``max_events``.
    """
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
    if count < limit.max_events + (1 if counted else 0):
        return None
    oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=since.tzinfo)
    return max(1, math.ceil((oldest_at + limit.window - utcnow()).total_seconds()))


async def check(session: AsyncSession, limit: Limit, key: str, counted: bool = False) -> None:
    """Raise RateLimited when ``key`` has used up ``limit``."""
    wait = await retry_after(session, limit, key, counted)
    if wait is not None:
        raise RateLimited(wait)


def hit(session: AsyncSession, limit: Limit, key: str) -> RateLimitEvent:
    """Count one event; it is stored when the session commits."""
    event = RateLimitEvent(bucket=limit.bucket, key_hash=_key_hash(limit, key))
    session.add(event)
    return event


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
