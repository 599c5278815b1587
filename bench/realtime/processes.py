"""The app's server processes and the load generators, and what they use."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.realtime_load import raise_open_files_limit

# --- processes ------------------------------------------------------------------------


def _raise_limit_in_child() -> None:
    raise_open_files_limit()


class ProcessStats:
    """CPU seconds and resident memory of a process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK")

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.ticks

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


@dataclass
class Server:
    url: str
    process: asyncio.subprocess.Process
    stats: ProcessStats
    log: Path


async def start_server(command: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command,
            env={**os.environ, **env},
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_raise_limit_in_child,
        )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _attempt in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return Server(url, process, ProcessStats(process.pid), log)
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start; see {log}")


async def stop_server(server: Server) -> None:
    if server.process.returncode is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(server.process.wait(), 15)
        except TimeoutError:
            server.process.kill()
            await server.process.wait()


class Generators:
    """The load-generator processes and their line protocol (see ``bench.realtime_load``)."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, configs: list[dict[str, Any]], log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        for number, config in enumerate(configs):
            with (log_dir / f"generator-{number}.log").open("wb") as errors:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.realtime_load",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=errors,
                    limit=2**24,
                )
            self.processes.append(process)
            assert process.stdin is not None
            process.stdin.write(json.dumps(config).encode() + b"\n")
        for process in self.processes:
            await self._read(process)

    async def _read(self, process: asyncio.subprocess.Process) -> dict[str, Any]:
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError("a load generator died; see its log")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def command(self, **command: Any) -> list[dict[str, Any]]:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(json.dumps(command).encode() + b"\n")
        return [await self._read(process) for process in self.processes]

    async def each(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for process, command in zip(self.processes, commands, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps(command).encode() + b"\n")
        return [await self._read(process) for process in self.processes]

    async def quit(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.command(cmd="quit"), 30)
        for process in self.processes:
            if process.returncode is None:
                process.kill()
            await process.wait()


def stemma_command(port: int) -> list[str]:
    stemma = str(Path(sys.executable).parent / "stemma")
    return [stemma, "serve", "--host", "127.0.0.1", "--port", str(port)]


def app_env(
    url: str, data_dir: Path, port: int, redis_url: str | None, prefix: str
) -> dict[str, str]:
    env = {
        "STEMMA_DATABASE_URL": url,
        "STEMMA_DATA_DIR": str(data_dir),
        "STEMMA_SECRET_KEY": "r" * 40,
        "STEMMA_BASE_URL": f"http://127.0.0.1:{port}",
        "STEMMA_RUN_WORKER_IN_PROCESS": "false",
        "STEMMA_REDIS_CHANNEL_PREFIX": prefix,
    }
    if redis_url:
        env["STEMMA_REDIS_URL"] = redis_url
    return env


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]
