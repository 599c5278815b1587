"""The SMS gateway's rate: a token bucket per worker, or one shared through Redis."""

import asyncio
import time
import uuid

import pytest

from app.core.outbox.throttle import RedisTokenBucket, TokenBucket, throttle_for
from tests.conftest import TEST_REDIS_URL


async def _take(bucket: TokenBucket | RedisTokenBucket, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        await bucket.take()
    return time.perf_counter() - start


async def test_a_bucket_holds_its_rate_after_its_burst() -> None:
    bucket = TokenBucket(rate=50, burst=5)
    # 5 at once, then 45 more at 50 a second: about 0.9 s.
    elapsed = await _take(bucket, 50)
    assert 0.8 <= elapsed < 2.0


async def test_without_redis_each_worker_throttles_alone() -> None:
    assert isinstance(throttle_for(20, None), TokenBucket)


@pytest.mark.skipif(not TEST_REDIS_URL, reason="Redis runs when STEMMA_TEST_REDIS_URL is set")
async def test_workers_sharing_redis_share_one_rate() -> None:
    assert TEST_REDIS_URL is not None
    key = f"test-{uuid.uuid4().hex}:stemma:sms-throttle"
    first = RedisTokenBucket(TEST_REDIS_URL, key, rate=40, burst=4)
    second = RedisTokenBucket(TEST_REDIS_URL, key, rate=40, burst=4)
    start = time.perf_counter()
    # Two workers, 22 each: 44 from one bucket of 40 a second, 4 of them at once.
    await asyncio.gather(_take(first, 22), _take(second, 22))
    elapsed = time.perf_counter() - start
    assert 0.9 <= elapsed < 2.5
