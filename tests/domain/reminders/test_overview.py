"""What an election's reminders will send next (when, to how many) and what they sent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.reminders.overview import reminder_overview
from app.jobs.election_reminders import send_reminders_everywhere
from tests.domain.reminders.test_sending import BASE_URL, _place, _setup, at


async def test_it_lists_the_next_sends_and_counts_what_was_sent(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    pieces = await _setup(db, tenant)
    election = pieces["election"]
    day = election.election_day
    await _place(db, tenant, pieces, "accepted", email="a@example.se", mobile="+46706000001")
    await _place(db, tenant, pieces, "accepted", "late", email="b@example.se", mobile="")
    # Neither e-mail nor mobile: claimed, counted apart, told nothing.
    await _place(db, tenant, pieces, "accepted", email="", mobile="")
    before = day - dt.timedelta(days=3)
    with tenant_scope(tenant.id):
        overview = await reminder_overview(db, election.id, at(before, 9))
    assert [(row.occasion, row.at, row.people) for row in overview.upcoming] == [
        ("shift_reminder", at(before, 10), 3),
        ("offer_unanswered", at(before, 11), 0),
        ("election_eve", at(day - dt.timedelta(days=1), 18), 3),
        ("wake_up", at(day, 6, 15), 3),
    ]
    assert await send_reminders_everywhere(session_factory, BASE_URL, at(before, 10, 30)) == {
        "lund": 2
    }
    with tenant_scope(tenant.id):
        overview = await reminder_overview(db, election.id, at(before, 10, 31))
    # The shift reminder's window is still open, but everyone has had it.
    assert [row.occasion for row in overview.upcoming] == [
        "offer_unanswered",
        "election_eve",
        "wake_up",
    ]
    sent = {row.occasion: (row.people, row.unreachable) for row in overview.sent}
    assert sent == {
        "offer_unanswered": (0, 0),
        "shift_reminder": (2, 1),
        "election_eve": (0, 0),
        "wake_up": (0, 0),
    }
    assert overview.sent_total == 2
