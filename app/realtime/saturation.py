"""Whether this process is saturated, so that its dashboards rest longer between
drawings and leave the CPU to the sockets' requests."""

from __future__ import annotations

import time

#: A process using this share of a core or more is saturated: thousands of sockets
#: coming back after another process died, on top of the election day's traffic ...
BUSY_CPU_SHARE = 0.9
#: ... and draws each coalescing topic at most this often, so that its CPU goes to the
#: requests. Every event still arrives, drawn with the others of its rest; a dashboard
#: of a saturated process is seconds behind whatever it draws.
BUSY_REST_SECONDS = 0.5
#: Over how long the process's CPU use is measured.
BUSY_WINDOW_SECONDS = 1.0


class CpuGauge:
    """Whether this process is saturated: the CPU it used (all its threads) over the
    last window, as a share of the wall time. Read by the drawing loop between
    drawings; two clock readings a call."""

    def __init__(self, window: float = BUSY_WINDOW_SECONDS) -> None:
        self.window = window
        self.share = 0.0
        self._wall = time.monotonic()
        self._cpu = time.process_time()

    def busy(self) -> bool:
        wall = time.monotonic()
        if wall - self._wall >= self.window:
            cpu = time.process_time()
            self.share = (cpu - self._cpu) / (wall - self._wall)
            self._wall, self._cpu = wall, cpu
        return self.share >= BUSY_CPU_SHARE
