"""Run the benchmarks: ``make bench`` or ``.venv/bin/python -m bench [--only NAME]``.

SQLite in a temporary folder by default; ``--database-url`` points at PostgreSQL
(the database is migrated and filled, so use a scratch one).

``--only render`` times what one election-day event costs to render for the dashboards;
``--only costs`` the server's CPU per live socket opened and per check-in.
``--only delivery`` sends 15,000 SMS to a local gateway and kills a worker mid-send.
``--only dispatch`` times a dispatch to the whole register of the large demo (15,000 SMS).
``--only dispatch-board`` a district's staffing board while one worker sends a dispatch
to 15,000 (its p95 against the p95 without the send).
``--only pay`` computes and exports pay at Stockholm scale.
``--only materials`` recomputes every station's needs after a rule change at Stockholm scale.
``--only packing`` the whole election's packing lists as one PDF at Stockholm scale (and the
materials report as Excel and PDF).
``--only start`` the back office's start page and the live dashboard with turnout on
the large demo's election day (on PostgreSQL as an ordinary role).
``--only rls`` (PostgreSQL only, on ``stemma demo --size large``; see
``bench/rls_path.py``) times the check-in path as an ordinary role under the row
policies beside the owner, and explains its statements.
``--only rehearsal`` (PostgreSQL only; see ``bench/rehearsal/``) election day on the
Stockholm-scale demo compressed to ``--minutes``, at ``--scale``, with Redis restarted and
a worker killed midway, then an audit of everything seen against the database.
``--only realtime`` (live sockets under load, see ``bench/realtime/``) runs only when
asked for: at full scale it takes 10-15 minutes and starts its own server processes.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench import (
    autostaff,
    delivery,
    dispatch,
    dispatch_board,
    foundation,
    materials,
    packing,
    pay,
    realtime_costs,
    realtime_render,
    registers,
    rehearsal,
    rls_path,
    staffing_board,
    start_page,
    statistics,
)
from bench.realtime import runner as realtime_runner
from bench.realtime import scale as realtime_scale
from bench.rehearsal import plan as rehearsal_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only",
        choices=[
            "foundation",
            "registers",
            "autostaff",
            "board",
            "render",
            "costs",
            "delivery",
            "dispatch",
            "dispatch-board",
            "pay",
            "materials",
            "packing",
            "statistics",
            "start",
            "realtime",
            "rls",
            "rehearsal",
        ],
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--checkins", type=int, default=200, help="--only rls: per role")
    realtime_scale.add_arguments(parser)
    rehearsal_plan.add_arguments(parser)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        if arguments.only in (None, "foundation"):
            asyncio.run(
                foundation.run(arguments.requests, arguments.database_url, Path(directory) / "f")
            )
        if arguments.only in (None, "registers"):
            asyncio.run(registers.run(arguments.database_url, Path(directory) / "r", repeat=100))
        for name, bench, folder in (
            ("autostaff", autostaff.run, "a"),
            ("board", staffing_board.run, "b"),
            ("dispatch", dispatch.run, "d"),
        ):
            if arguments.only in (None, name):
                asyncio.run(bench(arguments.database_url, Path(directory) / folder))
        if arguments.only in (None, "dispatch-board"):
            asyncio.run(
                dispatch_board.run(
                    arguments.database_url, Path(directory) / "db", min(arguments.requests, 200)
                )
            )
        for name, bench, folder in (
            ("pay", pay.run, "p"),
            ("materials", materials.run, "m"),
            ("packing", packing.run, "k"),
            ("statistics", statistics.run, "s"),
            ("start", start_page.run, "t"),
        ):
            if arguments.only in (None, name):
                asyncio.run(bench(arguments.database_url, Path(directory) / folder))
        if arguments.only in (None, "render"):
            asyncio.run(
                realtime_render.run(
                    arguments.database_url,
                    Path(directory) / "rr",
                    realtime_scale.scale_from(arguments),
                )
            )
        if arguments.only in (None, "costs"):
            asyncio.run(realtime_costs.run(arguments.database_url, Path(directory) / "c"))
        if arguments.only in (None, "delivery"):
            delivery.run(arguments.database_url, Path(directory) / "dl")
        if arguments.only == "rls":
            asyncio.run(rls_path.run(arguments.database_url, arguments.checkins))
        if arguments.only in ("realtime", "rehearsal"):
            _on_request(arguments, Path(directory))


def _on_request(arguments: argparse.Namespace, directory: Path) -> None:
    """The long runs with server processes of their own, only when asked for."""
    if arguments.only == "rehearsal":
        options = rehearsal_plan.options_from(arguments)
        differences = asyncio.run(rehearsal.run(arguments.database_url, directory / "rh", options))
        raise SystemExit(1 if differences else 0)
    asyncio.run(
        realtime_runner.run(
            arguments.database_url,
            arguments.redis_url,
            directory / "rt",
            realtime_scale.scale_from(arguments),
            skip_peer=arguments.skip_peer,
            skip_one=arguments.skip_one_process,
            database_role=arguments.database_role,
        )
    )


if __name__ == "__main__":
    main()
