"""The people of the day over HTTP, as their browsers and phones would: clerks check in
and out (``POST /api/v1/checkins`` with an Idempotency-Key, sent again with the same key
when no answer came, as ``static/js/checkin.js`` does from the phone's IndexedDB; a
flaky phone's answer is lost once and it sends again), chairs sign in and open their
station and report incidents (the portal's forms), a coordinator signs in and
acknowledges and resolves them, and moves a clerk to where someone did not come (the
dashboard's forms). Every answer is kept for the audit."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import text

from bench.rehearsal.plan import Place
from bench.rehearsal.prepare import PASSWORD, Prepared

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: A phone keeps a check-in it got no answer for (its IndexedDB queue) and sends it again
#: until answered; the rehearsal gives up after this long and counts it as failed.
RETRY_SECONDS = 300.0
#: As ``static/js/checkin.js``: a try waits this long for an answer...
ANSWER_SECONDS = 20.0
#: ... and the queue is sent again this often.
RESEND_SECONDS = 30.0
#: Answers that mean "try again later" (the server went away, or is restarting).
TRANSIENT = {0, 500, 502, 503, 504}


@dataclass
class Answered:
    key: str
    check_in_id: int | None
    statuses: list[int]
    replayed_id: int | None = None


@dataclass
class Day:
    url: str
    prepared: Prepared
    run_id: str
    checkins: dict[str, Answered] = field(default_factory=dict)
    #: What chairs and coordinators did: (action, HTTP status) counted.
    actions: Counter[tuple[str, int]] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)
    sessions: dict[str, aiohttp.ClientSession] = field(default_factory=dict)
    #: Per person: set once the phone's check-in was answered (or given up).
    arrivals: dict[int, asyncio.Event] = field(default_factory=dict)
    signing_in: dict[str, asyncio.Lock] = field(default_factory=dict)
    #: Each signed-in browser's CSRF token (bound to its session).
    tokens: dict[str, str] = field(default_factory=dict)
    api: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Day:
        self.api = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for session in [self.api, *self.sessions.values()]:
            if session is not None:
                await session.close()

    # --- phones ---------------------------------------------------------------------

    async def check_in(self, place: Place, kind: str, flaky: bool) -> None:
        """One check-in from the phone; a check-out waits until the phone's check-in
        was answered (a phone sends its queue in order)."""
        arrived = self.arrivals.setdefault(place.person_id, asyncio.Event())
        if kind == "left":
            await arrived.wait()
        try:
            await self._check_in(place, kind, flaky)
        finally:
            if kind == "arrived":
                arrived.set()

    async def _check_in(self, place: Place, kind: str, flaky: bool) -> None:
        key = f"reh-{self.run_id}-{place.assignment_id}-{kind}"
        body = {"person_id": place.person_id, "shift_id": place.shift_id, "kind": kind}
        answered = self.checkins[key] = Answered(key, None, [])
        status, data = await self._post_checkin(key, body, answered)
        if status in (200, 201):
            answered.check_in_id = int(data["id"])
            if flaky:
                # The answer was lost on the way: the phone sends the same again.
                status, data = await self._post_checkin(key, body, answered)
                if status in (200, 201):
                    answered.replayed_id = int(data["id"])
        elif status not in TRANSIENT:
            self.refusals.append(f"check-in {kind} {place.person_id}: {status} {data}")

    async def _post_checkin(
        self, key: str, body: dict[str, Any], answered: Answered
    ) -> tuple[int, Any]:
        assert self.api is not None
        headers = {"Authorization": f"Bearer {self.prepared.token}", "Idempotency-Key": key}
        started = time.monotonic()
        status, data = 0, None
        while time.monotonic() - started < RETRY_SECONDS:
            try:
                async with self.api.post(
                    f"{self.url}/api/v1/checkins",
                    json=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=ANSWER_SECONDS),
                ) as response:
                    status = response.status
                    data = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            answered.statuses.append(status)
            if status not in TRANSIENT:
                return status, data
            await asyncio.sleep(RESEND_SECONDS)
        return status, data

    # --- people signed in -------------------------------------------------------------

    async def signed_in(self, email: str) -> tuple[aiohttp.ClientSession, str]:
        """A browser signed in as ``email``, and its CSRF token (one sign-in at a time
        per person: a second one would rotate the token the first just read)."""
        async with self.signing_in.setdefault(email, asyncio.Lock()):
            return await self._signed_in(email)

    async def _signed_in(self, email: str) -> tuple[aiohttp.ClientSession, str]:
        session = self.sessions.get(email)
        if session is not None and email in self.tokens:
            return session, self.tokens[email]
        if session is None:
            session = self.sessions[email] = aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True)
            )
            async with session.get(f"{self.url}/login") as page:
                token = CSRF.search(await page.text())
            assert token is not None, "no CSRF token on the sign-in page"
            async with session.post(
                f"{self.url}/login",
                data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
                allow_redirects=False,
            ) as response:
                if response.status != 302:
                    raise RuntimeError(f"{email} could not sign in: {response.status}")
        async with session.get(f"{self.url}/{self.prepared.slug}/portal/") as page:
            found = CSRF.search(await page.text())
        if found is None:
            async with session.get(f"{self.url}/login") as page:
                found = CSRF.search(await page.text())
        assert found is not None
        self.tokens[email] = found.group(1)
        return session, found.group(1)

    async def sign_in(self, email: str) -> None:
        """Sign in ahead of the first form (again later when this fails)."""
        try:
            await self.signed_in(email)
            self.actions[("sign in", 200)] += 1
        except (aiohttp.ClientError, TimeoutError, RuntimeError, AssertionError):
            self.actions[("sign in", 0)] += 1
            self.tokens.pop(email, None)
            stale = self.sessions.pop(email, None)
            if stale is not None:
                await stale.close()

    async def form(self, name: str, email: str, path: str, fields: dict[str, Any]) -> int:
        """Post a form as ``email``, again after a lost connection (as a person would)."""
        status = 0
        for _attempt in range(10):
            try:
                session, token = await self.signed_in(email)
                async with session.post(
                    f"{self.url}/{self.prepared.slug}{path}",
                    data={**fields, "csrf_token": token},
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=ANSWER_SECONDS),
                ) as response:
                    status = response.status
                    if status >= 400 and status not in TRANSIENT:
                        self.refusals.append(f"{name} {path}: {status}")
            except (aiohttp.ClientError, TimeoutError, RuntimeError, AssertionError):
                status = 0
                self.tokens.pop(email, None)
                stale = self.sessions.pop(email, None)
                if stale is not None:
                    await stale.close()
            if status not in TRANSIENT:
                break
            await asyncio.sleep(5.0)
        self.actions[(name, status)] += 1
        return status

    def email_of(self, place: Place) -> str:
        return f"rehearsal-p{place.person_id}@storstad.rehearsal"

    async def open_station(self, chair: Place) -> None:
        await self.form(
            "open",
            self.email_of(chair),
            f"/portal/election-day/stations/{chair.station_id}/state",
            {
                "state": "open",
                "expected_state": "not_opened",
                "override_reason": "Rehearsal: opened on time",
            },
        )

    async def report_incident(self, chair: Place, severity: str) -> None:
        await self.form(
            "incident",
            self.email_of(chair),
            f"/portal/election-day/stations/{chair.station_id}/incidents",
            {"category": "other", "severity": severity, "text": "Rehearsal: the printer jams"},
        )

    async def handle_incidents(self, owner: Any, station_id: int) -> None:
        """The first coordinator acknowledges the station's open incident, then resolves it."""
        email = self.prepared.coordinators[0][1]
        election = self.prepared.election_id
        for action in ("acknowledge", "resolve"):
            async with owner.connect() as connection:
                row = (
                    await connection.execute(
                        text(
                            "SELECT id, version FROM incidents WHERE station_id = :s"
                            " AND state <> 'resolved' ORDER BY id DESC LIMIT 1"
                        ),
                        {"s": station_id},
                    )
                ).first()
            if row is None:
                return
            await self.form(
                action,
                email,
                f"/planning/elections/{election}/live/incidents/{row.id}/{action}",
                {"version": row.version},
            )
            await asyncio.sleep(2.0)

    async def reassign(self, owner: Any, absent: Place) -> None:
        """Move a clerk from a station outside the rehearsal to a no-show's place."""
        chosen = {s.id for s in self.prepared.stations}
        async with owner.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT a.id, a.person_id FROM assignments a JOIN shifts s"
                        " ON s.id = a.shift_id JOIN shifts mine ON mine.id = :shift"
                        " WHERE a.election_id = :e AND a.state = 'accepted'"
                        " AND s.day = mine.day AND NOT (s.station_id = ANY(:chosen))"
                        " AND a.role_type_id = (SELECT role_type_id FROM assignments"
                        "  WHERE id = :absent)"
                        " AND NOT EXISTS (SELECT 1 FROM check_ins c WHERE c.person_id ="
                        " a.person_id) ORDER BY a.id DESC LIMIT 1 OFFSET :n"
                    ),
                    {
                        "shift": absent.shift_id,
                        "e": self.prepared.election_id,
                        "chosen": list(chosen),
                        "absent": absent.assignment_id,
                        "n": sum(n for (a, _s), n in self.actions.items() if a == "reassign"),
                    },
                )
            ).first()
        if row is None:
            self.refusals.append(f"reassign {absent.assignment_id}: no clerk to move")
            return
        election = self.prepared.election_id
        await self.form(
            "reassign",
            self.prepared.coordinators[0][1],
            f"/planning/elections/{election}/live/stations/{absent.station_id}/reassign",
            {"replace": absent.assignment_id, "person": f"clerk:{row.person_id}:{row.id}"},
        )
