"""The broker through Redis Sentinel: the master found by the sentinels, and found again
after it is killed and a replica takes over (real redis-server and redis-sentinel)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.realtime.broker import RedisBroker
from tests.conftest import IN_CI
from tests.realtime.processes import _die_with_the_tests, free_port

pytestmark = pytest.mark.drill


class RedisGroup:
    """A master, its replica and one sentinel (quorum 1), each on a free port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.master_port, self.replica_port, self.sentinel_port = (free_port() for _ in "abc")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        base = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._spawn("master", ["redis-server", "--port", str(self.master_port), *base])
        self._spawn(
            "replica",
            ["redis-server", "--port", str(self.replica_port), *base,
             "--replicaof", "127.0.0.1", str(self.master_port)],
        )  # fmt: skip
        conf = self.directory / "sentinel.conf"
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor drill 127.0.0.1 {self.master_port} 1\n"
            "sentinel down-after-milliseconds drill 1000\n"
            "sentinel failover-timeout drill 5000\n"
        )
        self._spawn("sentinel", ["redis-sentinel", str(conf)])

    def _spawn(self, name: str, command: list[str]) -> None:
        self.processes[name] = subprocess.Popen(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_the_tests,
        )

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/drill/0"

    async def master_port_now(self) -> int | None:
        process = await asyncio.create_subprocess_exec(
            "redis-cli", "-p", str(self.sentinel_port),
            "sentinel", "get-master-addr-by-name", "drill",
            stdout=subprocess.PIPE,
        )  # fmt: skip
        out, _ = await process.communicate()
        answer = out.decode().split()
        return int(answer[1]) if len(answer) == 2 else None

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(5)


@pytest.fixture
def redis_group(tmp_path: Path) -> Iterator[RedisGroup]:
    if shutil.which("redis-sentinel") is None:
        if IN_CI:
            pytest.fail("redis-sentinel is needed (Debian's redis-sentinel package)")
        pytest.skip("redis-sentinel is not installed")
    group = RedisGroup(tmp_path)
    group.start()
    try:
        yield group
    finally:
        group.stop()


async def _until(check: object, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_it_follows_the_master_through_a_failover(redis_group: RedisGroup) -> None:
    broker = RedisBroker(redis_group.url)
    try:
        await _until(broker.ping, 15)
        subscribed = 0
        received: list[tuple[str, str]] = []

        def on_subscribed() -> None:
            nonlocal subscribed
            subscribed += 1

        async def listen() -> None:
            # As the hub does: a broken subscription is made again (on the new master).
            while True:
                try:
                    async for item in broker.psubscribe("t:*", on_subscribed):
                        received.append(item)
                except Exception:  # the old master is gone
                    await asyncio.sleep(0.2)

        listening = asyncio.create_task(listen())
        await _until(lambda: asyncio.sleep(0, subscribed == 1), 10)
        await broker.publish("t:1:a", "before")
        await _until(lambda: asyncio.sleep(0, ("t:1:a", "before") in received), 10)

        redis_group.processes["master"].send_signal(signal.SIGKILL)
        replica = redis_group.replica_port

        async def replica_is_master() -> bool:
            return await redis_group.master_port_now() == replica

        await _until(replica_is_master, 30)

        async def published_after() -> bool:
            try:
                await broker.publish("t:1:b", "after")
            except Exception:  # the old master's connection, until dropped
                return False
            await asyncio.sleep(0.2)
            return ("t:1:b", "after") in received

        await _until(published_after, 30)
        # The subscription was made again on the new master, and said so.
        assert subscribed >= 2
        listening.cancel()
    finally:
        await broker.close()


async def test_readiness_sees_a_failover_the_old_master_still_answers(
    redis_group: RedisGroup,
) -> None:
    """Asked to fail over (SENTINEL FAILOVER), the sentinel replaces a master that still
    answers PING: only its flags say that writes are about to move, and /readyz's broker
    check reports the failover until the replica has taken over."""
    from app.core.health import broker_state

    broker = RedisBroker(redis_group.url)
    try:
        await _until(broker.ping, 15)
        assert await broker_state(broker) == "ok"

        async def failover_started() -> bool:
            # The sentinel learns of the replica from the master's INFO first.
            process = await asyncio.create_subprocess_exec(
                "redis-cli", "-p", str(redis_group.sentinel_port),
                "sentinel", "failover", "drill",
                stdout=subprocess.PIPE,
            )  # fmt: skip
            out, _ = await process.communicate()
            return out.strip() == b"OK"

        await _until(failover_started, 30)
        seen: list[str] = []
        deadline = asyncio.get_running_loop().time() + 30
        while await redis_group.master_port_now() != redis_group.replica_port:
            assert asyncio.get_running_loop().time() < deadline, "no failover"
            seen.append(await broker_state(broker))
            await asyncio.sleep(0.02)
        assert "failover" in seen

        async def ready_again() -> bool:
            return await broker_state(broker) == "ok"

        await _until(ready_again, 30)
    finally:
        await broker.close()
