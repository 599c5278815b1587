"""``stemma serve --workers N``: one supervising process and N worker processes that
share its listening sockets.

A worker that dies (a crash, the kernel's OOM killer, a stray ``kill``) is replaced, and
the log says which one died, how (its exit status or signal), and that another was
started; the others keep serving meanwhile, and connections that arrive wait in the
shared socket's queue. Workers that keep dying soon after their start are restarted
after a growing pause, and when they die before they ever serve, several times in a
row, the supervisor gives up: it stops the rest and exits non-zero with the reason, so
that a service manager set to restart on failure sees a failure (Hypercorn's own
supervisor replaced a worker only when it exited 0, and otherwise stopped every worker
and exited 0, saying nothing). A port already taken is such a failure too.

SIGTERM or SIGINT stops every worker cleanly (each closes its live sockets with 1012
and answers the requests under way) and exits 0; SIGHUP replaces the workers one at a
time, each new one serving before the old one stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.synchronize import Event as ProcessEvent
from types import FrameType
from typing import Any

from hypercorn.config import Config, Sockets
from hypercorn.utils import load_application

from app.realtime.serving import serve

log = logging.getLogger(__name__)

#: A worker that served this long before it died is restarted at once.
STABLE_SECONDS = 30.0
#: The pause before restarting a worker that died sooner doubles from this...
FIRST_PAUSE_SECONDS = 0.5
#: ... up to this.
LONGEST_PAUSE_SECONDS = 30.0
#: Workers that died before they ever served, in a row: the supervisor gives up.
FAILED_STARTS = 5
#: How long a worker may take to stop beyond the graceful timeout before it is killed.
STOP_MARGIN_SECONDS = 5.0
#: How often the supervisor looks at its workers when nothing happens.
TICK_SECONDS = 0.2


def run_worker(config: Config, sockets: Sockets, ready: ProcessEvent) -> None:
    """A worker process: load the app (``config.application_path``) and serve it on the
    supervisor's sockets until told to stop."""
    app = load_application(config.application_path, config.wsgi_max_body_size)
    asyncio.run(serve(app, config, sockets=sockets, ready=ready))


def exit_reason(exitcode: int | None) -> str:
    """How a process ended, in words: ``killed by SIGKILL``, ``exited with status 3``."""
    if exitcode is None:
        return "is still running"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


@dataclass
class Worker:
    """One worker's place (1..N) and the process in it now."""

    number: int
    process: SpawnProcess | None = None
    ready: ProcessEvent | None = None
    started_at: float = 0.0
    served: bool = False
    #: Deaths in a row of workers in this place that did not serve STABLE_SECONDS.
    quick_deaths: int = 0
    #: When the place's next worker may start (after a death).
    restart_at: float | None = None
    #: Old processes of this place being stopped (a reload).
    retiring: list[SpawnProcess] = field(default_factory=list)


class Supervisor:
    """Start ``count`` workers on ``config``'s sockets and keep them running; ``run()``
    returns the exit status (0 after a stop by signal, 1 when it had to give up)."""

    def __init__(self, config: Config, count: int, target: Any = run_worker) -> None:
        self.config = config
        self.workers = [Worker(number) for number in range(1, count + 1)]
        self.target = target
        self.context: SpawnContext = multiprocessing.get_context("spawn")
        self.sockets: Sockets | None = None
        self.stop_signal: str | None = None
        self.reload_asked = False
        self.failed_starts = 0
        self.failure: str | None = None

    def run(self) -> int:
        try:
            self.sockets = self.config.create_sockets()
        except OSError as error:
            log.error("cannot listen on %s: %s", ", ".join(self.config.bind), error.strerror)
            return 1
        previous = self._catch_signals()
        try:
            for worker in self.workers:
                self._start(worker)
            while self.stop_signal is None and self.failure is None:
                self._watch()
        finally:
            self._stop_all()
            self._close_sockets()
            for number, handler in previous.items():
                signal.signal(number, handler)
        if self.failure is not None:
            log.error("the server stops: %s", self.failure)
            return 1
        log.info("stopped on %s", self.stop_signal)
        return 0

    # signals

    def _catch_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        for number in (signal.SIGTERM, signal.SIGINT):
            previous[number] = signal.signal(number, self._on_stop)
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_reload)
        return previous

    def _on_stop(self, number: int, _frame: FrameType | None) -> None:
        self.stop_signal = signal.Signals(number).name

    def _on_reload(self, _number: int, _frame: FrameType | None) -> None:
        self.reload_asked = True

    # workers

    def _start(self, worker: Worker) -> None:
        worker.ready = self.context.Event()
        process = self.context.Process(
            target=self.target,
            kwargs={"config": self.config, "sockets": self.sockets, "ready": worker.ready},
            name=f"stemma-worker-{worker.number}",
        )
        # A worker stops cleanly on SIGTERM or SIGINT of its own (``serve``): systemd's
        # SIGTERM to the whole group, or a terminal's Ctrl+C, stops it as we would.
        process.start()
        worker.process = process
        worker.started_at = time.monotonic()
        worker.served = False
        worker.restart_at = None
        log.info("worker %d started (pid %s)", worker.number, process.pid)

    def _watch(self) -> None:
        sentinels = [w.process.sentinel for w in self.workers if w.process is not None]
        sentinels += [old.sentinel for w in self.workers for old in w.retiring]
        wait(sentinels, timeout=TICK_SECONDS)
        if self.stop_signal is not None:
            return
        now = time.monotonic()
        for worker in self.workers:
            self._look_at(worker, now)
            if self.failure is not None:
                return
        if self.reload_asked:
            self.reload_asked = False
            self._reload()

    def _look_at(self, worker: Worker, now: float) -> None:
        for old in [old for old in worker.retiring if old.exitcode is not None]:
            old.join()
            worker.retiring.remove(old)
            log.info(
                "worker %d (pid %s) replaced; it %s",
                worker.number,
                old.pid,
                exit_reason(old.exitcode),
            )
        process = worker.process
        if process is None:
            if worker.restart_at is not None and now >= worker.restart_at:
                self._start(worker)
            return
        if not worker.served and worker.ready is not None and worker.ready.is_set():
            worker.served = True
            self.failed_starts = 0
            log.info("worker %d (pid %s) is serving", worker.number, process.pid)
        if worker.served and now - worker.started_at >= STABLE_SECONDS:
            worker.quick_deaths = 0
        if process.exitcode is None:
            return
        process.join()
        worker.process = None
        self._after_death(worker, process, now)

    def _after_death(self, worker: Worker, process: SpawnProcess, now: float) -> None:
        reason = exit_reason(process.exitcode)
        if not worker.served:
            self.failed_starts += 1
            if self.failed_starts >= FAILED_STARTS:
                self.failure = (
                    f"workers die before they serve ({self.failed_starts} in a row; the"
                    f" last, worker {worker.number} (pid {process.pid}), {reason})"
                )
                return
        lived = now - worker.started_at
        pause = 0.0
        if lived < STABLE_SECONDS or not worker.served:
            worker.quick_deaths += 1
            pause = min(FIRST_PAUSE_SECONDS * 2 ** (worker.quick_deaths - 1), LONGEST_PAUSE_SECONDS)
        worker.restart_at = now + pause
        log.warning(
            "worker %d (pid %s) %s after %.1f s%s; starting another%s",
            worker.number,
            process.pid,
            reason,
            lived,
            "" if worker.served else ", before it served",
            f" in {pause:.1f} s" if pause else "",
        )
        if pause == 0:
            self._start(worker)

    def _reload(self) -> None:
        """Replace every worker, one at a time: the new one serves before the old stops."""
        log.info("reloading: replacing the workers one at a time")
        for worker in self.workers:
            old = worker.process
            if old is None:
                continue
            self._start(worker)
            assert worker.ready is not None and worker.process is not None
            while not worker.ready.is_set() and worker.process.exitcode is None:
                if self.stop_signal is not None:
                    worker.retiring.append(old)
                    return
                worker.ready.wait(TICK_SECONDS)
            if worker.process.exitcode is not None:
                # The new one died at start: the old one goes on serving in its place.
                log.warning(
                    "reload: the new worker %d %s; the old one goes on",
                    worker.number,
                    exit_reason(worker.process.exitcode),
                )
                worker.process = old
                continue
            self._terminate([old])
            worker.retiring.append(old)

    # stopping

    def _stop_all(self) -> None:
        processes = [w.process for w in self.workers if w.process is not None]
        processes += [old for w in self.workers for old in w.retiring]
        self._terminate(processes)
        deadline = time.monotonic() + float(self.config.graceful_timeout) + STOP_MARGIN_SECONDS
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                log.warning("worker (pid %s) did not stop in time; killed", process.pid)
                process.kill()
                process.join()

    @staticmethod
    def _terminate(processes: list[SpawnProcess]) -> None:
        for process in processes:
            if process.exitcode is None and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)

    def _close_sockets(self) -> None:
        if self.sockets is None:
            return
        for sock in (*self.sockets.secure_sockets, *self.sockets.insecure_sockets):
            sock.close()
