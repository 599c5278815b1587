"""The election-day rehearsal: ``python -m bench --only rehearsal`` (``make rehearsal``).

The Stockholm-scale demo's election day (``stemma demo --size large --election-day
today``, made or moved by the rehearsal itself) compressed into ``--minutes`` (10), on
PostgreSQL with the app serving as an ordinary role the row policies bind, as
production: ``--database-url`` is the owner's URL of a scratch database (made when
missing; each run clears the election day an earlier run left).

``--scale`` (1) takes that share of the 660 stations, their clerks (about 6,000 phones
at 1) and of the 50 coordinators; ``--scale 0.05 --minutes 2`` is a smoke test of about
two minutes (plus the demo's making, once). Run it larger only on a machine of its own.

What happens (``bench.rehearsal.plan``), as the people would do it over HTTP
(``bench.rehearsal.actors``), against ``stemma serve --workers 2`` (its supervisor) with
a Redis of its own on a free port and ``stemma worker`` delivering the outbox:

- every clerk's phone holds a socket on its station's and its own topic, every
  coordinator's dashboard one on the election's (load generators, ``bench.realtime_load``);
- the clerks check in along an arrival curve: a few early, most in the "hour" before the
  polls open (halfway), a few late, some check out near the end, 2 % never come;
- 10 % of the phones are on a flaky network: the connection drops at random, one to four
  times, and the phone reconnects with its last event id; a flaky phone also loses the
  answer to its check-in and sends it again with the same key;
- the chairs sign in, check in first and open their stations around opening time; a
  tenth of the stations report an incident (a third of them high: every coordinator is
  pushed), which a coordinator acknowledges and resolves (the chair is pushed); a
  coordinator moves a clerk from another station to each no-show's place;
- midway the Redis server is restarted, and then one of the two app workers is killed
  (SIGKILL); the supervisor starts another.

At the end (``bench.rehearsal.audit``) everything seen is compared with the database and
the differences are printed; the goal is none (exit status 1 otherwise). Results:
``var/bench/rehearsal-<database>.json``, logs in ``var/bench/rehearsal-logs-<database>/``.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

from app.core.db import create_engine
from app.core.events import ops_topic, station_topic, user_topic
from bench.realtime.measuring import drain
from bench.realtime.processes import Generators, Server, load_average
from bench.realtime_load import raise_open_files_limit
from bench.rehearsal.actors import Day
from bench.rehearsal.audit import audit, print_audit
from bench.rehearsal.plan import REDIS_RESTART_AT, WORKER_KILL_AT, Action, Options, plan_day
from bench.rehearsal.prepare import Prepared, ensure_demo, prepare
from bench.rehearsal.push_service import PushService
from bench.rehearsal.services import (
    RedisServer,
    free_port,
    kill_worker,
    served_env,
    start_app,
    start_outbox_worker,
    stop_process,
    workers_of,
)
from bench.rls_path import ensure_database

#: Results and logs, per database (two rehearsals at once keep theirs apart).
OUT = Path("var/bench")


async def run(database_url: str | None, data_dir: Path, options: Options) -> int:
    """The whole rehearsal; the number of differences the audit found."""
    if not database_url or not database_url.startswith("postgresql"):
        raise SystemExit("--only rehearsal needs --database-url of PostgreSQL (a scratch one)")
    print(
        f"== rehearsal: election day in {options.minutes:g} minutes at scale {options.scale:g} =="
    )
    raise_open_files_limit()
    owner_url = make_url(database_url).set(drivername="postgresql+asyncpg")
    owner = owner_url.render_as_string(hide_password=False)
    logs = OUT / f"rehearsal-logs-{owner_url.database}"
    logs.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    await ensure_database(owner)
    started = time.monotonic()
    await asyncio.to_thread(ensure_demo, owner, data_dir)
    push = PushService()
    push.start()
    prepared = await prepare(owner, options, push)
    phones = sum(len(s.places) for s in prepared.stations)
    print(
        f"   prepared in {time.monotonic() - started:.0f} s: {len(prepared.stations)} stations,"
        f" {phones} phones, {len(prepared.coordinators)} dashboards"
    )
    redis = RedisServer(logs / "redis.log")
    await redis.start()
    port = free_port()
    env = served_env(owner, data_dir, port, redis.url)
    server = await start_app(env, port, logs)
    outbox = await start_outbox_worker(env, logs)
    result: dict[str, Any] = {"options": options.__dict__, "phones": phones}
    try:
        result.update(await _the_day(server, redis, prepared, options, push, owner, data_dir))
    finally:
        await stop_process(outbox)
        # The supervisor's workers have their graceful timeout (10 s) and a margin.
        await stop_process(server.process, 40.0)
        await redis.stop()
        push.stop()
    result["server_exit_status"] = server.process.returncode
    stop_errors = _errors_after_stop(logs / "server.log")
    result["audit"]["stop"] = {
        "exit_status": server.process.returncode,
        "differences": [f"the server stopped with status {server.process.returncode}"]
        * (server.process.returncode != 0)
        + [f"logged at the stop: {line}" for line in stop_errors],
    }
    differences = print_audit(result["audit"])
    results = OUT / f"rehearsal-{owner_url.database}.json"
    results.write_text(json.dumps(result, indent=2, default=str))
    print(f"   differences: {differences} (goal: none); results: {results}, logs: {logs}")
    return differences


def _errors_after_stop(log: Path) -> list[str]:
    """ERROR lines after SIGTERM reached the supervisor (a clean stop logs none)."""
    lines = log.read_text(errors="replace").splitlines()
    stopping = min(
        (n for n, line in enumerate(lines) if "stopping: live sockets" in line), default=None
    )
    if stopping is None:
        return []
    return [line[:160] for line in lines[stopping:] if "[ERROR]" in line or " ERROR " in line]


def _sockets(prepared: Prepared) -> list[dict[str, Any]]:
    sockets: list[dict[str, Any]] = [
        {
            "key": f"d{number}",
            "user_id": user_id,
            "topics": [ops_topic(prepared.tenant_id, prepared.election_id)],
            "server": 0,
            "keep_parts": True,
        }
        for number, (user_id, _email) in enumerate(prepared.coordinators)
    ]
    for station in prepared.stations:
        for place in station.places:
            sockets.append(
                {
                    "key": f"c{place.person_id}",
                    "user_id": place.user_id,
                    "topics": [
                        station_topic(prepared.tenant_id, station.id),
                        user_topic(prepared.tenant_id, place.user_id),
                    ],
                    "server": 0,
                }
            )
    return sockets


async def _the_day(
    server: Server,
    redis: RedisServer,
    prepared: Prepared,
    options: Options,
    push: PushService,
    owner: str,
    data_dir: Path,
) -> dict[str, Any]:
    sockets = _sockets(prepared)
    count = max(1, min(3, round(len(sockets) / 2000)))
    generators = Generators()
    await generators.start(
        [
            {
                "servers": [server.url],
                "slug": prepared.slug,
                "token": prepared.token,
                "sockets": sockets[n::count],
            }
            for n in range(count)
        ],
        server.log.parent / "generators",
    )
    talk = asyncio.Lock()

    async def command(**what: Any) -> list[dict[str, Any]]:
        async with talk:
            return await generators.command(**what)

    result: dict[str, Any] = {}
    engine = create_engine(owner)
    try:
        connected = await command(cmd="connect", wait_seconds=120)
        result["connect"] = {
            "subscribed": sum(a["subscribed"] for a in connected),
            "sockets": len(sockets),
            "seconds": round(max(a["seconds"] for a in connected), 1),
        }
        print(f"   connect: {result['connect']}")
        actions = plan_day(prepared.stations, options)
        flaky = {a.detail["key"] for a in actions if a.kind == "drop"}
        async with Day(server.url, prepared, f"{int(time.time())}") as day:
            await day.sign_in(prepared.coordinators[0][1])
            seconds = options.minutes * 60
            happenings = asyncio.gather(
                _disrupt(server, redis, seconds, result),
                _play(actions, seconds, day, engine, flaky, command),
            )
            await happenings
            result["drain_seconds"] = await drain(generators, [server], 60)
            result["pushes_waited_seconds"] = await _outbox_drained(engine, prepared)
            result["workers_after"] = len(workers_of(server))
            paths = [str(data_dir / f"rehearsal-dump-{n}.json") for n in range(count)]
            async with talk:
                await generators.each([{"cmd": "dump", "path": p} for p in paths])
            dumps = [s for p in paths for s in json.loads(Path(p).read_text())]
            result["actions"] = {f"{a} {s}": n for (a, s), n in sorted(day.actions.items())}
            result["refusals"] = day.refusals
            print(f"   actions (HTTP status): {result['actions']}")
            for refusal in day.refusals[:8]:
                print(f"      refused: {refusal}")
            result["audit"] = await audit(owner, prepared, day, dumps, push, data_dir)
    finally:
        await engine.dispose()
        await generators.quit()
    result["supervisor_log"] = [
        line
        for line in server.log.read_text(errors="replace").splitlines()
        if "app.realtime.supervisor" in line or ("worker" in line.lower() and "WARNING" in line)
    ][-6:]
    for line in result["supervisor_log"]:
        print(f"      server: {line[:160]}")
    return result


async def _disrupt(
    server: Server, redis: RedisServer, seconds: float, result: dict[str, Any]
) -> None:
    """Midway: Redis restarts; a little later one of the two workers is killed."""
    await asyncio.sleep(REDIS_RESTART_AT * seconds)
    started = time.monotonic()
    await redis.restart()
    result["redis_restart"] = {"down_seconds": round(time.monotonic() - started, 1)}
    print(f"   {time.strftime('%H:%M:%S')} Redis restarted (load {load_average()})")
    await asyncio.sleep(max(0.0, (WORKER_KILL_AT - REDIS_RESTART_AT) * seconds))
    before = workers_of(server)
    victim = kill_worker(server)
    print(f"   {time.strftime('%H:%M:%S')} worker {victim} killed (of {before})")
    back = None
    killed = time.monotonic()
    while time.monotonic() - killed < 60:
        now = workers_of(server)
        if len(now) == len(before) and victim not in now:
            back = round(time.monotonic() - killed, 1)
            break
        await asyncio.sleep(0.5)
    result["worker_kill"] = {"victim": victim, "replaced_after_seconds": back}


async def _play(
    actions: list[Action], seconds: float, day: Day, engine: Any, flaky: set[str], command: Any
) -> None:
    """Each action at its time, in tasks of their own (people do not wait for each other)."""
    started = time.monotonic()
    tasks: list[asyncio.Task[Any]] = []
    for action in actions:
        delay = started + action.at * seconds - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_do(action, day, engine, flaky, command)))
    await asyncio.gather(*tasks)


async def _do(action: Action, day: Day, engine: Any, flaky: set[str], command: Any) -> None:
    place = action.place
    if action.kind in ("arrive", "leave") and place is not None:
        kind = "arrived" if action.kind == "arrive" else "left"
        await day.check_in(place, kind, f"c{place.person_id}" in flaky)
        if place.leads and kind == "arrived":
            # The chair signs in on arrival (the station's forms need a session).
            await day.sign_in(day.email_of(place))
    elif action.kind == "open":
        station = next(s for s in day.prepared.stations if s.id == action.station_id)
        if station.chair is not None:
            await day.open_station(station.chair)
    elif action.kind == "incident" and place is not None:
        await day.report_incident(place, action.detail["severity"])
        await asyncio.sleep(3.0)
        await day.handle_incidents(engine, action.station_id)
    elif action.kind == "reassign" and place is not None:
        await day.reassign(engine, place)
    elif action.kind == "drop":
        await command(cmd="drop", keys=[action.detail["key"]])


async def _outbox_drained(engine: Any, prepared: Prepared, cap: float = 90.0) -> float:
    """Wait until no push of the rehearsal's browsers is waiting in the outbox."""
    started = time.monotonic()
    recipients = [f"push-subscription:{sid}" for sid in prepared.subscriptions]
    while time.monotonic() - started < cap:
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM outbox_messages WHERE channel = 'push'"
                    " AND recipient = ANY(:r) AND status IN ('pending', 'uncertain', 'sending')"
                ),
                {"r": recipients},
            )
        if not waiting:
            break
        await asyncio.sleep(1.0)
    return round(time.monotonic() - started, 1)
