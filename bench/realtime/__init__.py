"""Realtime benchmark: election-day check-ins through the whole path to thousands of
live sockets, against one app process, two behind Redis, and a minimal peer.

Run (takes 15-20 minutes at full scale, so only on request, not in ``make bench``)::

    make bench ARGS="--only realtime"                      # one process on SQLite
    make bench ARGS="--only realtime --database-url postgresql+asyncpg://.../scratch \\
        --redis-url redis://127.0.0.1:6395/0"              # + two processes behind Redis
    .venv/bin/python -m bench --only realtime --stations 50 --traffic-seconds 10  # small
    make bench ARGS="--only realtime --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/stemma_rt \
        --database-role both"        # the app role and the superuser, one process each

On PostgreSQL (trust auth at 127.0.0.1:5432; the database is created when missing) the
app's processes connect as ``--database-role``: ``app`` (the default) an ordinary role
the row policies bind, as production (``stemma_bench_app``, made and granted by the
benchmark), ``superuser`` the URL's own role, ``both`` one process as each, side by side.

What it does. It fills a municipality whose election day is today: ``--stations``
polling stations (500) with ``--clerks`` poll clerks each (10), every clerk a user with
a place, and 50 coordinators. It starts the app as real ``stemma serve`` processes and
load generators (``bench.realtime_load``) as separate processes with real WebSocket
clients: a socket per clerk on its station's and its own topic, a socket per
coordinator on the election's dashboard topic, each opened with a one-time ticket
(``POST /api/v1/realtime/tickets``). Then it posts check-ins (``POST /api/v1/checkins``,
Idempotency-Key) at ``--rate`` per second (50): database write, events, broker, render,
fan-out. Phases, one after another:

1. connect: every socket subscribed, goal within 60 s;
2. idle: the server's CPU over ``--idle-seconds`` (20, one ping round), goal < 5 %;
3. traffic: ``--traffic-seconds`` (30) of check-ins; latency from the moment the check-in
   was posted to its receipt on a dashboard and on a station team's socket (same clock),
   p50/p99, goal p99 < 250 ms; server RSS per socket after traffic, goal < 60 KiB;
4. stall: 2 % of the sockets stop reading for ``--stall-seconds`` (20 by default; the
   issue asks 60, pass ``--stall-seconds 60``) while traffic goes on: everyone else's
   p99 should stay within 20 % of phase 3's, and the server's RSS bounded;
5. (two processes only) kill: one of the two is killed (SIGKILL) mid-traffic; its
   sockets fetch a ticket from the other and reconnect with their last event id; goal
   all back within 30 s and no event missed after replay. Run twice: after the full
   scenario above (half of its 5,050 sockets on the killed process), and as the issue
   states it, with ``--kill-sockets`` (2,000) on the killed process: a municipality of
   their stations (400 of 10 clerks, the same 50 coordinators, 4,050 sockets in all),
   the same check-ins at the same rate going on.

Every event each socket should have had (from the events table, or the peer's list)
is checked against what it received: lost and duplicated messages are counted over
the whole run. A probe socket that offers permessage-deflate shows whether the server
declines it. The same load then runs against the peer (``bench.realtime_peer``, the
same fan-out without a database), once with deflate declined and once accepted, to
show what deflate would cost. Results: a table on stdout and ``var/bench/realtime.json``.
"""
