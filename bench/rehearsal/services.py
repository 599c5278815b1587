"""The processes of the day: a Redis server of the rehearsal's own (restarted midway;
the shared one is never touched), the app as ``stemma serve --workers 2`` under its
supervisor (one worker killed midway), and ``stemma worker`` delivering the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import redis.asyncio as redis

from bench.realtime.processes import ProcessStats, Server, app_env
from bench.realtime_load import raise_open_files_limit
from bench.rls_path import app_role_url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """``redis-server`` on a free port, no persistence: a restart loses every message in
    flight, as a real restart would."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        client = redis.from_url(self.url)
        try:
            for _attempt in range(100):
                with contextlib.suppress(redis.ConnectionError):
                    if await client.ping():
                        return
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()
        raise RuntimeError(f"redis-server on {self.port} did not start; see {self.log}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    async def restart(self, down_seconds: float = 2.0) -> None:
        await self.stop()
        await asyncio.sleep(down_seconds)
        await self.start()


def served_env(owner_url: str, data_dir: Path, port: int, redis_url: str) -> dict[str, str]:
    """The app's environment: the ordinary role the row policies bind, as production."""
    env = app_env(app_role_url(owner_url), data_dir, port, redis_url, f"reh{port}:")
    env["STEMMA_PUSH_ALLOW_LOOPBACK"] = "true"
    return env


def stemma(*arguments: str) -> list[str]:
    return [str(Path(sys.executable).parent / "stemma"), *arguments]


async def start_app(env: dict[str, str], port: int, logs: Path) -> Server:
    """``stemma serve --workers 2``, once both workers answer (spawned workers import the
    whole app: on a loaded machine that takes longer than ``start_server`` waits)."""
    log = logs / "server.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *stemma("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"),
            env={**os.environ, **env},
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=raise_open_files_limit,
        )
    url = f"http://127.0.0.1:{port}"
    for _attempt in range(1500):  # 5 minutes: on a loaded machine a worker took two
        if process.returncode is not None:
            break
        if log.read_text(errors="replace").count("is serving") >= 2:
            return Server(url, process, ProcessStats(process.pid), log)
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the app on {port} did not start; see {log}")


def workers_of(server: Server) -> list[int]:
    """The pids of the supervisor's worker processes (not multiprocessing's helpers)."""
    pid = server.process.pid
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                if b"spawn_main" in command and b"resource_tracker" not in command:
                    found.append(int(child))
    return sorted(found)


def kill_worker(server: Server) -> int:
    """SIGKILL one worker (the first); its pid."""
    victim = workers_of(server)[0]
    os.kill(victim, signal.SIGKILL)
    return victim


async def start_outbox_worker(env: dict[str, str], logs: Path) -> asyncio.subprocess.Process:
    with (logs / "outbox-worker.log").open("wb") as out:
        return await asyncio.create_subprocess_exec(
            *stemma("worker"),
            env={**os.environ, **env},
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def stop_process(process: asyncio.subprocess.Process, seconds: float = 15.0) -> None:
    """SIGTERM, and SIGKILL after ``seconds``."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
