"""The outbox worker runs the elections' reminders: every minute, and again at once
after a round that told anyone (a round out of time left the rest for the next)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.jobs import outbox
from tests.core.test_push import NoMail


async def test_the_worker_runs_the_reminders_again_at_once_while_they_tell_anyone(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds: list[str] = []
    answers = [{"lund": 200}, {"lund": 3}, {}]
    done = asyncio.Event()

    async def remind(
        factory: async_sessionmaker[AsyncSession], base_url: str, now: dt.datetime | None = None
    ) -> dict[str, int]:
        assert factory is session_factory and base_url == "http://stemma.test"
        rounds.append(base_url)
        if len(rounds) == len(answers):
            done.set()
        return answers[min(len(rounds), len(answers)) - 1]

    monkeypatch.setattr(outbox, "send_reminders_everywhere", remind)
    # An interval far longer than the test: only the wake-up after a round brings the
    # next one, and a round that told nobody waits for the next minute.
    worker = outbox.OutboxWorker(
        session_factory,
        NoMail(),
        interval=30,
        base_url="http://stemma.test",  # type: ignore[arg-type]
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
        await asyncio.sleep(0.3)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert len(rounds) == 3


async def test_the_worker_without_a_site_address_sends_no_reminders(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    called = asyncio.Event()

    async def remind(*_args: object, **_kwargs: object) -> dict[str, int]:
        called.set()
        return {}

    monkeypatch.setattr(outbox, "send_reminders_everywhere", remind)
    worker = outbox.OutboxWorker(session_factory, NoMail(), interval=0.01)  # type: ignore[arg-type]
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert not called.is_set()
