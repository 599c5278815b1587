"""Schemathesis over the JSON API's OpenAPI document, against the real app.

    .venv/bin/python tools/fuzz_api.py                 # SQLite, the CI's bounds
    STEMMA_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python tools/fuzz_api.py             # PostgreSQL, as the app role
    .venv/bin/python tools/fuzz_api.py --smoke         # 5 examples an operation

What it does, as `make run` and the browser tests' live server do: a fresh database
(a SQLite file, or ``<database>_fuzz`` beside STEMMA_TEST_DATABASE_URL's, migrated by
its owner and used by the ordinary app role with row-level security forced, as the
tests make it), `stemma migrate`, `stemma demo`, an API token of the demo
municipality (`stemma token create`), and `stemma serve` on a free port. Then
schemathesis runs every phase (examples, coverage, fuzzing, stateful) with every check
and a fixed seed. The run fails on any schemathesis failure and on any ERROR record or
traceback in the server's log.

Every extra argument goes on to `schemathesis run` (``-- --include-path-regex people``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers, run as `python tools/fuzz_api.py`

from sqlalchemy.engine import make_url  # noqa: E402

from app.core.migrations import upgrade  # noqa: E402
from tests.conftest import (  # noqa: E402
    _create_app_role,
    _create_database,
    _reset_postgres,
    app_role_url,
    asyncpg_url,
)

#: The bounds CI runs with: every operation and phase in about five minutes on 2 cores.
SEED = 19
MAX_EXAMPLES = 25
#: `--smoke`: a handful of examples per operation, for trying a change quickly.
SMOKE_EXAMPLES = 5
DEMO_SLUG = "demo"
SECRET_KEY = "fuzz-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a throwaway app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(work: Path) -> str:
    """A fresh database: a SQLite file in ``work``, or a PostgreSQL one beside the test
    database, reset, migrated by its owner and handed to the app role."""
    test_url = os.environ.get("STEMMA_TEST_DATABASE_URL")
    if not test_url:
        return f"sqlite+aiosqlite:///{work / 'stemma.db'}"
    run_url = asyncpg_url(test_url)
    parsed = make_url(run_url)
    owner_url = parsed.set(database=f"{parsed.database}_fuzz").render_as_string(hide_password=False)
    asyncio.run(_create_database(run_url, f"{parsed.database}_fuzz"))
    asyncio.run(_reset_postgres(owner_url))
    upgrade(owner_url)
    asyncio.run(_create_app_role(owner_url))
    return app_role_url(owner_url)


def stemma(environment: dict[str, str], *arguments: str) -> str:
    """Runs one `stemma` command; its output, or the run stops with it."""
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "app.cli", *arguments],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"stemma {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_for(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.2)


def server_errors(log: Path) -> list[str]:
    """ERROR records and tracebacks the server logged: a 500 that schemathesis may not
    have seen as one (a failed response after its headers) still fails the run."""
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
    ]


def schemathesis_command(
    base_url: str, token: str, examples: int, seed: int, report: Path, extra: list[str]
) -> list[str]:
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(ROOT / "tools" / "schemathesis.toml"),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(seed),
        "--max-examples",
        str(examples),
        "--generation-database",
        "none",
        "--header",
        f"Authorization: Bearer {token}",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        "--no-color",
        *extra,
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--max-examples", type=int, default=MAX_EXAMPLES)
    parser.add_argument("--smoke", action="store_true", help="a few examples per operation")
    parser.add_argument(
        "--keep", type=Path, help="keep the server's log and the reports in this folder"
    )
    parser.add_argument("extra", nargs="*", help="passed on to `schemathesis run`")
    arguments = parser.parse_args()
    examples = SMOKE_EXAMPLES if arguments.smoke else arguments.max_examples

    with tempfile.TemporaryDirectory(prefix="stemma-fuzz-") as temporary:
        work = arguments.keep or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        environment = {
            **os.environ,
            "STEMMA_DATABASE_URL": database_url(work),
            "STEMMA_DATA_DIR": str(work / "var"),
            "STEMMA_SECRET_KEY": SECRET_KEY,
            "STEMMA_BASE_URL": base_url,
        }
        if redis_url := os.environ.get("STEMMA_TEST_REDIS_URL"):
            environment["STEMMA_REDIS_URL"] = redis_url
            environment["STEMMA_REDIS_CHANNEL_PREFIX"] = f"fuzz-{uuid.uuid4().hex}:"
        stemma(environment, "migrate")
        stemma(environment, "demo")
        token = stemma(environment, "token", "create", "--tenant", DEMO_SLUG, "--name", "fuzz")
        secret = token.strip().splitlines()[-1]

        log_path = work / "server.log"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                env=environment,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for(base_url, server, log_path)
                command = schemathesis_command(
                    base_url, secret, examples, arguments.seed, work / "report", arguments.extra
                )
                shown = shlex.join(command).replace(secret, "<token>")
                print(f"$ {shown}", flush=True)
                started = time.monotonic()
                # In the work folder: schemathesis keeps a cache of its own where it runs.
                code = subprocess.run(command, cwd=work, check=False).returncode  # noqa: S603
                print(f"schemathesis: exit code {code} in {time.monotonic() - started:.0f} s")
            finally:
                server.terminate()
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=5)
        errors = server_errors(log_path)
        if errors:
            print(f"The server logged {len(errors)} errors:", *errors[:40], sep="\n  ")
        return code or (1 if errors else 0)


if __name__ == "__main__":
    sys.exit(main())
