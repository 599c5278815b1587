"""How fast the SMS gateway is sent to: a token bucket of ``rate`` messages a second.

With Redis configured the bucket is one key that every worker takes from, so the rate
holds for the instance however many workers run; without it each worker keeps its own.
A worker that cannot reach Redis falls back to its own bucket rather than stop sending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from redis.exceptions import RedisError

from app.core.redis_url import redis_from_url

log = logging.getLogger(__name__)

#: Takes one token if it can; else answers how many milliseconds until one is there.
#: Tokens and the time they were counted live in one hash; its key expires when idle.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now_ms
tokens = math.min(burst, tokens + (now_ms - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now_ms)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""


class Throttle(Protocol):
    async def take(self) -> None: ...


class TokenBucket:
    """One process's bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._tokens = self.burst
        self._at = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class RedisTokenBucket:
    """The bucket every worker shares, kept in Redis under ``key``."""

    def __init__(self, url: str, key: str, rate: float, burst: float | None = None) -> None:
        self.url = url
        self.key = key
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._clients: dict[int, Any] = {}
        self._local = TokenBucket(rate, self.burst)

    def _client(self) -> Any:
        # One client per event loop: a client's connections belong to the loop that
        # made them.
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients[loop] = redis_from_url(self.url)
        return self._clients[loop]

    async def take(self) -> None:
        while True:
            try:
                wait = int(await self._client().eval(_TAKE, 1, self.key, self.rate, self.burst))
            except (RedisError, OSError) as error:
                log.warning(
                    "shared SMS throttle unreachable, this worker throttles alone: %s",
                    type(error).__name__,
                )
                await self._local.take()
                return
            if wait <= 0:
                return
            await asyncio.sleep(wait / 1000)


def throttle_for(rate: float, redis_url: str | None, prefix: str = "") -> Throttle:
    if redis_url:
        return RedisTokenBucket(redis_url, f"{prefix}stemma:sms-throttle", rate)
    return TokenBucket(rate)
