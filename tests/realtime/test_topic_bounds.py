"""A socket asking for a topic or a replay cursor with a number past any id: refused as
an unknown topic, or the cursor ignored, never a database error that closes it 1011."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.realtime import ws as live
from app.realtime.access import Member, refuse_topic

HUGE = "9" * 25


async def test_it_refuses_a_topic_with_an_id_past_any_id_as_unknown(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    member = Member(tenant.id, clerk.id, "clerk")
    with tenant_scope(tenant.id):
        for topic in (
            f"t:{tenant.id}:station:{HUGE}",
            f"t:{tenant.id}:station:{2**31}",
            f"t:{tenant.id}:user:{HUGE}",
            f"t:{tenant.id}:e:{HUGE}:ops",
            f"t:{HUGE}:station:1",
        ):
            assert await refuse_topic(db, member, topic) == "bad_topic", topic
        assert await refuse_topic(db, member, f"t:{tenant.id}:station:1") == "forbidden"


def test_it_ignores_a_replay_cursor_past_the_events_ids() -> None:
    assert live._parse_event_id(str(2**31 - 1)) == 2**31 - 1
    assert live._parse_event_id(str(2**31)) is None
    assert live._parse_event_id(HUGE) is None
    assert live._parse_event_id("9" * 5000) is None
