"""The realtime benchmark's scale, goals and command-line options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path("var/bench/realtime.json")
#: Server and load-generator logs of the last run.
LOGS = Path("var/bench/realtime-logs")
TIMEZONE = "Europe/Stockholm"
P99_GOAL_MS = 250.0
MEMORY_GOAL_KIB = 60.0
IDLE_CPU_GOAL = 5.0
CONNECT_GOAL_SECONDS = 60.0
RECONNECT_GOAL_SECONDS = 30.0


@dataclass
class Scale:
    stations: int = 500
    clerks: int = 10
    coordinators: int = 50
    rate: float = 50.0
    idle_seconds: float = 20.0
    traffic_seconds: float = 30.0
    stall_seconds: float = 20.0
    stall_share: float = 0.02
    generators: int = 3
    connect_wait_seconds: float = 120.0
    #: Clerk sockets on the process the issue's kill test kills (the second run of the
    #: kill; 0 leaves it out).
    kill_sockets: int = 2000
    #: After posting stops, how long to wait for the last messages (a backlog) at most.
    drain_seconds: float = 60.0


def add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("realtime")
    group.add_argument("--redis-url", default=None, help="Redis for two app processes")
    group.add_argument("--stations", type=int, default=Scale.stations)
    group.add_argument("--clerks", type=int, default=Scale.clerks)
    group.add_argument("--coordinators", type=int, default=Scale.coordinators)
    group.add_argument("--rate", type=float, default=Scale.rate)
    group.add_argument("--idle-seconds", type=float, default=Scale.idle_seconds)
    group.add_argument("--traffic-seconds", type=float, default=Scale.traffic_seconds)
    group.add_argument("--stall-seconds", type=float, default=Scale.stall_seconds)
    group.add_argument("--generators", type=int, default=Scale.generators)
    group.add_argument("--drain-seconds", type=float, default=Scale.drain_seconds)
    group.add_argument(
        "--kill-sockets",
        type=int,
        default=Scale.kill_sockets,
        help="clerk sockets on the killed process in the issue-sized kill run (0: skip it)",
    )
    group.add_argument(
        "--database-role",
        choices=["app", "superuser", "both"],
        default="app",
        help="PostgreSQL: serve as an ordinary role under the row policies (app, as"
        " production), as the URL's own role (superuser), or one process as each (both)",
    )
    group.add_argument("--skip-peer", action="store_true")
    group.add_argument(
        "--skip-one-process", action="store_true", help="only two processes (and the peer)"
    )


def scale_from(arguments: Any) -> Scale:
    return Scale(
        stations=arguments.stations,
        clerks=arguments.clerks,
        coordinators=arguments.coordinators,
        rate=arguments.rate,
        idle_seconds=arguments.idle_seconds,
        traffic_seconds=arguments.traffic_seconds,
        stall_seconds=arguments.stall_seconds,
        generators=arguments.generators,
        drain_seconds=arguments.drain_seconds,
        kill_sockets=arguments.kill_sockets,
    )
