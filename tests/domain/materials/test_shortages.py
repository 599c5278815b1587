"""Shortages on election day: a station's lead reports one, the coordinators' dashboard
shows it as an alert at once (an event on the ops topic), logistics marks it sent (the
lead gets a push) and delivered (the alert clears)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.events import ops_topic, station_topic
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Event, OutboxMessage, PushSubscription, Tenant, User
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.materials import shortages
from app.domain.models import MaterialArticle, MaterialShortage
from app.domain.ops import OpsForbidden, notify
from app.domain.ops.dashboard import dashboard
from tests.domain.materials.delivery_helpers import stocked_day
from tests.domain.ops.test_checkins import link_user


async def _alerts(db: AsyncSession, tenant: Tenant, election_id: int) -> list[tuple[str, str]]:
    with tenant_scope(tenant.id), locale_scope("en"):
        board = await dashboard(db, election_id)
    return [(a.kind, a.message) for row in board.rows for a in row.alerts if a.kind == "shortage"]


async def test_a_leads_shortage_shows_on_the_dashboard_and_clears_when_delivered(
    db: AsyncSession,
    tenant: Tenant,
    clerk: User,
    coordinator: User,
    planner: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stocked = await stocked_day(db, tenant)
    day = stocked.day
    await link_user(db, tenant, day.chair_id, clerk)
    with tenant_scope(tenant.id):
        db.add(
            PushSubscription(
                user_id=clerk.id, endpoint="https://push.example/a", p256dh="k", auth="a"
            )
        )
        await db.commit()

    async def election_day(
        _session: AsyncSession, _now: dt.datetime | None = None, **_of: object
    ) -> dt.date:
        return day.day

    monkeypatch.setattr(notify, "ops_day", election_day)
    with tenant_scope(tenant.id):
        reported = await shortages.report_shortage(
            db,
            Actor.for_user(clerk),
            day.station_id,
            article_id=str(stocked.ballots_id),
            text="Slut efter lunch",
        )
        shortage_id = reported.id
        events = list(
            await db.scalars(select(Event).where(Event.type == "station.shortage_reported"))
        )
    assert {e.topic for e in events} == {
        ops_topic(tenant.id, day.election_id),
        station_topic(tenant.id, day.station_id),
    }
    assert all(
        e.payload == {"station_id": day.station_id, "shortage_id": shortage_id, "state": "reported"}
        for e in events
    )
    assert await _alerts(db, tenant, day.election_id) == [
        ("shortage", "Short of: Valsedel S – Slut efter lunch.")
    ]

    with tenant_scope(tenant.id):
        await shortages.move_shortage(db, Actor.for_user(coordinator), shortage_id, "sent")
        pushes = list(
            await db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "push"))
        )
    assert len(pushes) == 1  # to the lead who reported it, on the election day
    assert await _alerts(db, tenant, day.election_id) == [
        ("shortage", "On its way: Valsedel S – Slut efter lunch.")
    ]

    with tenant_scope(tenant.id):
        await shortages.move_shortage(db, Actor.for_user(planner), shortage_id, "delivered")
        with pytest.raises(FieldErrors):
            await shortages.move_shortage(db, Actor.for_user(planner), shortage_id, "sent")
        codes = set(
            await db.scalars(
                select(AuditEntry.code).where(AuditEntry.code.like("materials.shortage.%"))
            )
        )
        updated = await db.scalar(
            select(func.count(Event.id)).where(Event.type == "station.shortage_updated")
        )
    assert await _alerts(db, tenant, day.election_id) == []
    assert codes == {
        "materials.shortage.reported",
        "materials.shortage.sent",
        "materials.shortage.delivered",
    }
    assert updated == 4  # two changes, each on the ops and the station's topic


async def test_it_refuses_an_empty_report_a_foreign_article_and_who_may_not(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, clerk: User, outsider: User
) -> None:
    stocked = await stocked_day(db, tenant)
    day = stocked.day
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    with tenant_scope(other_tenant.id):
        foreign = MaterialArticle(name="Främmande", unit="st")
        db.add(foreign)
        await db.commit()
        foreign_id = foreign.id
    lead = Actor(label="system")
    with tenant_scope(tenant.id):
        with pytest.raises(FieldErrors) as empty:
            await shortages.report_shortage(db, lead, day.station_id, text="  ")
        assert set(empty.value.errors) == {"text"}
        with pytest.raises(FieldErrors) as other:
            await shortages.report_shortage(db, lead, day.station_id, article_id=str(foreign_id))
        assert set(other.value.errors) == {"article_id"}
        with pytest.raises(OpsForbidden):  # a clerk of the team, not its lead
            await shortages.report_shortage(
                db, Actor.for_user(clerk), day.station_id, text="Pennor"
            )
        with pytest.raises(NotFound):
            await shortages.report_shortage(
                db, Actor.for_user(outsider), day.station_id, text="Pennor"
            )
        shortage = await shortages.report_shortage(db, lead, day.station_id, text="Pennor")
        shortage_id = shortage.id
        with pytest.raises(OpsForbidden):
            await shortages.move_shortage(db, Actor.for_user(clerk), shortage_id, "sent")
        assert await db.scalar(select(func.count(MaterialShortage.id))) == 1
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await shortages.move_shortage(db, Actor(label="system"), shortage_id, "sent")
