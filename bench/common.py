"""Shared pieces of the benchmarks: timing, a signed-in client."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any


def summary(name: str, latencies_ms: list[float]) -> str:
    ordered = sorted(latencies_ms)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name:<44} n={len(ordered):<4} median {statistics.median(ordered):7.2f} ms"
        f"  p95 {p95:7.2f} ms  max {ordered[-1]:7.2f} ms"
    )


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    latencies = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def cpu_seconds() -> float:
    """This process's CPU time (user and system) so far: on a shared machine the load
    stretches the wall clock far more than the CPU a step takes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def signed_in_client(app: Any, email: str, password: str) -> Any:
    client = app.test_client()
    page = await client.get("/login")
    token = (await page.get_data(as_text=True)).split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post(
        "/login", form={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    return client
