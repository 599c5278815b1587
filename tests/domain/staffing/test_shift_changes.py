"""Changing a staffed shift's time, what an offer tells, and taking a person off a place:
the rules, the outbox and the audit."""

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import AuditEntry, Event, OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import Assignment, Shift
from app.domain.site import webparts
from app.domain.staffing import assignments, offers
from app.domain.staffing.offer_terms import answer_deadline
from app.domain.staffing.shift_changes import edit_shift
from tests.factories import make_clerk, make_staffed_station

ACTOR = Actor(label="planner@lund.test")


async def _assign(db: AsyncSession, tenant: Tenant, shift: Any, role: Any, person: Any) -> Any:
    with tenant_scope(tenant.id):
        return await assignments.assign_person(db, ACTOR, shift.id, role.id, person.id)


async def _office(db: AsyncSession, tenant: Tenant, days: str = "5") -> None:
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(
            db,
            ACTOR,
            {
                "office_email": "val@lund.test",
                "office_phone": "+46 46 35 50 00",
                "offer_answer_days": days,
                "retention_months": "12",
                "applications_open": "1",
            },
        )


async def _outbox(owner_db: AsyncSession) -> list[OutboxMessage]:
    return list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _times(shift: Any, starts: str, ends: str, day: Any = None) -> dict[str, str]:
    return {
        "name": shift.name,
        "day": str(day or shift.day),
        "starts_at": starts,
        "ends_at": ends,
    }


async def test_an_edited_shift_keeps_its_people_and_tells_those_who_know(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    await _office(db, tenant)
    offered = await make_clerk(db, tenant, s["election"], mobile="0701234567")
    danish = await make_clerk(db, tenant, s["election"], preferred_language="da")
    proposed = await make_clerk(db, tenant, s["election"])
    clerk = s["roles"]["clerk"]
    one = await _assign(db, tenant, s["early"], clerk, offered)
    two = await _assign(db, tenant, s["early"], clerk, danish)
    three = await _assign(db, tenant, s["early"], clerk, proposed)
    with tenant_scope(tenant.id):
        await offers.send_offers(db, ACTOR, tenant, [one.id, two.id], "http://x.test")
    before = len(await _outbox(owner_db))
    with tenant_scope(tenant.id):
        shift = await edit_shift(
            db,
            ACTOR,
            s["election"].id,
            s["station"].id,
            s["early"].id,
            _times(s["early"], "08:00", "14:30"),
        )
        kept = set(await db.scalars(select(Assignment.id).where(Assignment.shift_id == shift.id)))
        audit = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "staffing.shift.time_changed")
        )
        event = await db.scalar(select(Event).where(Event.type == "shift.changed"))
    assert (shift.starts_at, shift.ends_at) == (dt.time(8, 0), dt.time(14, 30))
    assert kept == {one.id, two.id, three.id}
    new = (await _outbox(owner_db))[before:]
    # The two offered are told (mail each, a text to the one with a mobile); the
    # proposal, which its person never heard of, is not.
    assert sorted((m.channel, m.recipient) for m in new) == sorted(
        [("email", offered.email), ("sms", "+46701234567"), ("email", danish.email)]
    )
    mail = next(m for m in new if m.recipient == offered.email)
    assert "08:00–14:30" in mail.body_text and "07:30–14:00" in mail.body_text
    assert "Hamnskolan" in mail.body_text and "val@lund.test" in mail.body_text
    danish_mail = next(m for m in new if m.recipient == danish.email)
    assert "Kære" in danish_mail.body_text and "ændret" in danish_mail.subject
    sms = next(m for m in new if m.channel == "sms")
    assert "Hamnskolan" in sms.body_text and "08:00–14:30" in sms.body_text
    assert audit is not None and audit.data["told"] == 2 and audit.data["kept"] == 3
    assert event is not None and event.payload["starts_at"] == "08:00"


async def test_an_edit_that_would_overlap_is_refused_naming_the_person_and_writes_nothing(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, s["election"], name="Biblioteket")
    person = await make_clerk(db, tenant, s["election"], first_name="Ebba", last_name="Ek")
    clerk = s["roles"]["clerk"]
    with tenant_scope(tenant.id):
        await edit_shift(
            db,
            ACTOR,
            s["election"].id,
            other["station"].id,
            other["late"].id,
            _times(other["late"], "15:00", "22:00"),
        )
    on_early = await _assign(db, tenant, s["early"], clerk, person)  # 07:30–14:00
    await _assign(db, tenant, other["late"], clerk, person)  # 15:00–22:00 elsewhere
    with tenant_scope(tenant.id):
        await offers.send_offers(db, ACTOR, tenant, [on_early.id], "http://x.test")
    before = len(await _outbox(owner_db))
    # The refusal rolls back, which expires what the session loaded: keep the ids.
    tenant_id, shift_id = tenant.id, s["early"].id
    with tenant_scope(tenant_id), pytest.raises(FieldErrors) as refused:
        await edit_shift(
            db,
            ACTOR,
            s["election"].id,
            s["station"].id,
            s["early"].id,
            _times(s["early"], "07:30", "15:30"),
        )
    assert "Ebba Ek" in refused.value.errors["starts_at"]
    assert "Biblioteket" in refused.value.errors["starts_at"]
    with tenant_scope(tenant_id):
        shift = await db.scalar(select(Shift).where(Shift.id == shift_id))
        changed = await db.scalar(
            select(AuditEntry).where(
                AuditEntry.code.in_(("staffing.shift.time_changed", "elections.shift.updated")),
                AuditEntry.object_id == str(shift_id),
            )
        )
    assert shift is not None and shift.ends_at == dt.time(14, 0)
    assert changed is None
    assert len(await _outbox(owner_db)) == before


async def test_an_edit_keeps_the_shifts_own_checks(db: AsyncSession, tenant: Tenant) -> None:
    s = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id), pytest.raises(FieldErrors) as refused:
        await edit_shift(
            db,
            ACTOR,
            s["election"].id,
            s["station"].id,
            s["early"].id,
            _times(s["early"], "14:00", "08:00"),
        )
    assert "ends_at" in refused.value.errors


async def test_an_offer_carries_pay_deadline_contact_and_station(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    await _office(db, tenant, days="5")
    person = await make_clerk(db, tenant, s["election"], mobile="0701234567")
    proposal = await _assign(db, tenant, s["early"], s["roles"]["clerk"], person)
    with tenant_scope(tenant.id):
        await offers.send_offers(db, ACTOR, tenant, [proposal.id], "http://x.test")
        offered = await db.scalar(
            select(Assignment)
            .where(Assignment.id == proposal.id)
            .execution_options(populate_existing=True)
        )
    assert offered is not None and offered.answer_by is not None
    local = offered.answer_by.astimezone(dt.UTC)
    assert offered.offered_at is not None
    assert dt.timedelta(days=4) < local - offered.offered_at <= dt.timedelta(days=6)
    rows = {m.channel: m for m in await _outbox(owner_db)}
    mail, sms = rows["email"].body_text, rows["sms"].body_text
    assert "2 400 kr per dag" in mail.replace("\u00a0", " ")
    assert "Svara senast" in mail and "val@lund.test" in mail and "+46 46 35 50 00" in mail
    assert "Hamnskolan" in sms and "2 400 kr per dag" in sms.replace("\u00a0", " ")
    assert "Svara senast" in sms and "+46 46 35 50 00" in sms


def test_the_deadline_is_the_end_of_a_day_and_never_after_the_day_before_the_shift() -> None:
    now = dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.UTC)
    far = answer_deadline(now, 7, "Europe/Stockholm", dt.date(2026, 9, 13), dt.time(7, 30))
    assert far == dt.datetime(2026, 9, 8, 21, 59, tzinfo=dt.UTC)  # 23:59 in Stockholm
    near = answer_deadline(now, 7, "Europe/Stockholm", dt.date(2026, 9, 4), dt.time(7, 30))
    assert near == dt.datetime(2026, 9, 3, 21, 59, tzinfo=dt.UTC)
    today = answer_deadline(now, 7, "Europe/Stockholm", dt.date(2026, 9, 1), dt.time(14, 0))
    assert today == dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)


async def test_taking_off_an_offered_person_tells_them_and_a_proposal_nobody(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    await _office(db, tenant)
    told = await make_clerk(db, tenant, s["election"], mobile="0701234567")
    untold = await make_clerk(db, tenant, s["election"], mobile="0701234568")
    clerk = s["roles"]["clerk"]
    offered = await _assign(db, tenant, s["early"], clerk, told)
    proposed = await _assign(db, tenant, s["early"], clerk, untold)
    with tenant_scope(tenant.id):
        await offers.send_offers(db, ACTOR, tenant, [offered.id], "http://x.test")
    before = len(await _outbox(owner_db))
    with tenant_scope(tenant.id):
        await assignments.withdraw_assignment(db, ACTOR, offered.id)
        await assignments.withdraw_assignment(db, ACTOR, proposed.id)
        entries = list(
            await db.scalars(
                select(AuditEntry)
                .where(AuditEntry.code == "staffing.assignment.withdrawn")
                .order_by(AuditEntry.id)
            )
        )
    new = (await _outbox(owner_db))[before:]
    assert sorted((m.channel, m.recipient) for m in new) == [
        ("email", told.email),
        ("sms", "+46701234567"),
    ]
    mail = next(m for m in new if m.channel == "email")
    assert "Hamnskolan" in mail.body_text and "07:30–14:00" in mail.body_text
    assert "inte längre" in mail.subject
    assert [e.data["told"] for e in entries] == [True, False]
