"""Posting check-ins at a steady rate, as the phones would."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from app.core.events import ops_topic, station_topic
from bench.realtime.municipality import Clerk

# --- check-ins ------------------------------------------------------------------------


@dataclass
class Posted:
    check_in_id: int
    sent_at: float
    answered_at: float
    status: int


@dataclass
class Poster:
    """Posts check-ins at a steady rate, round the stations, each clerk arriving and
    leaving in turn; a post that fails (its server died) goes again with the same
    Idempotency-Key to the next server, as a phone would."""

    servers: list[str]
    token: str
    clerks: list[list[Clerk]]
    peer: bool = False
    tenant_id: int = 0
    election_id: int = 0
    run_id: str = field(default_factory=lambda: f"{time.time():.0f}")
    count: int = 0
    last_kind: dict[int, str] = field(default_factory=dict)
    posted: list[Posted] = field(default_factory=list)
    errors: int = 0
    retried: int = 0

    async def run(self, rate: float, seconds: float) -> None:
        connector = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(connector=connector) as http:
            started = time.monotonic()
            tasks = []
            total = int(rate * seconds)
            for number in range(total):
                delay = started + number / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.post_one(http)))
            await asyncio.gather(*tasks)

    async def post_one(self, http: aiohttp.ClientSession) -> None:
        number = self.count
        self.count += 1
        stations = len(self.clerks)
        team = self.clerks[number % stations]
        clerk = team[(number // stations) % len(team)]
        kind = "left" if self.last_kind.get(clerk.person_id) == "arrived" else "arrived"
        self.last_kind[clerk.person_id] = kind
        body: dict[str, Any] = {
            "person_id": clerk.person_id,
            "shift_id": clerk.shift_id,
            "kind": kind,
        }
        if self.peer:
            # The peer has no database: it is told where the check-in is news.
            body["station_id"] = clerk.station_id
            body["topics"] = [
                ops_topic(self.tenant_id, self.election_id),
                station_topic(self.tenant_id, clerk.station_id),
            ]
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": f"bench-{self.run_id}-{number}",
        }
        sent_at = time.time()
        # A phone gives up on an answer after a while and sends again, to the other
        # server when there are two; past a few tries the check-in counts as an error.
        for attempt in range(len(self.servers) * 2):
            server = self.servers[(number + attempt) % len(self.servers)]
            try:
                async with http.post(
                    f"{server}/api/v1/checkins",
                    json=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as response:
                    data = await response.json(content_type=None)
                    if response.status in (200, 201):
                        self.posted.append(
                            Posted(int(data["id"]), sent_at, time.time(), response.status)
                        )
                    else:
                        self.errors += 1
                        print(f"check-in refused: {response.status} {data}", file=sys.stderr)
                    return
            except (aiohttp.ClientError, TimeoutError):
                self.retried += 1
                await asyncio.sleep(0.1)
        self.errors += 1
