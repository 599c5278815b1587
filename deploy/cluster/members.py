"""What the fault drill and the restore drill share about the cluster on one machine
(``make cluster``): its settings, whether it runs, which member is the PostgreSQL
primary, and a drill run with the cluster started before it and stopped after it when
it was not running."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "cluster" / "cluster.sh"


def cluster(*args: str, timeout: float = 900) -> str:
    """The output of ``cluster.sh`` with ``args``; its error output when it fails."""
    command = ["sh", str(CLUSTER), *args]
    done = subprocess.run(  # noqa: S603 - our own script, no shell
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cluster.sh {' '.join(args)} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def cluster_env() -> dict[str, str]:
    """The cluster's settings (folders, ports) as ``cluster.sh env`` prints them."""
    found = {}
    for line in cluster("env").splitlines():
        name, _, value = line.partition("=")
        found[name] = value.strip("'")
    return found


def running(env: dict[str, str]) -> bool:
    folder = Path(env["RUN"])
    return folder.is_dir() and any(folder.iterdir())


def primary_number(env: dict[str, str]) -> int | None:
    """The number of the member Patroni's REST health check calls the primary."""
    for number, port in enumerate(env["REST_PORTS"].split()):
        url = f"http://127.0.0.1:{port}/primary"
        status = subprocess.run(  # noqa: S603 - curl, no shell
            ["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        if status == "200":
            return number
    return None


def run_drill(
    name: str,
    env: dict[str, str],
    keep: bool,
    drill: Callable[[], dict[str, Any]],
    log: Callable[[str], None],
    stop_seconds: float = 900,
) -> int:
    """``drill`` against the cluster, started first when it is not running and then
    stopped again (unless ``keep``); its report printed and written to
    ``var/<name>.json``. Exit status 0 when the report says it passed."""
    started_here = not running(env)
    if started_here:
        log("starting the cluster")
        subprocess.run(["sh", str(CLUSTER), "start"], check=True)  # noqa: S603,S607 - ours
    try:
        report = drill()
    finally:
        if started_here and not keep:
            cluster("stop", timeout=stop_seconds)
    print(json.dumps(report, indent=2))
    out = Path(env["CLUSTER_DIR"]).parent / f"{name}.json"
    out.write_text(json.dumps(report, indent=2))
    log(("passed" if report["passed"] else "FAILED") + f" in {report['seconds']} s; {out}")
    return 0 if report["passed"] else 1
