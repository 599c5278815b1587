"""Emergency dispatch on election day: a coordinator sends a reserve past the training
rule or a soft rule only with a reason (audited), never past a hard one; the drawer's
list says beforehand what each person takes; the person sent shows as sent until they
confirm on their phone, which only they can do."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import Assignment, Person, Reserve
from app.domain.ops import OpsError
from app.domain.ops.dashboard import dashboard
from app.domain.ops.reassign import reassign, reassign_candidates
from app.domain.ops.send_checks import PlaceToFill, assess_candidates, phone_numbers
from app.domain.ops.sent_places import confirm_sent
from app.domain.ops.stations import station_roster
from tests.domain.ops.test_checkins import ops_day
from tests.domain.ops.test_notify import (
    _election,
    _person_with_user,
    _pushes,
    _reserve,
    _role_id,
    _subscribe,
)
from tests.factories import make_clerk, make_course, make_user


async def _trail(db: AsyncSession, tenant_id: int, person_id: int) -> tuple[int, int, int]:
    """The reserve's places, the dispatch audit entries and the staffing events."""
    with tenant_scope(tenant_id):
        places = await db.scalar(
            select(func.count(Assignment.id)).where(Assignment.person_id == person_id)
        )
        audits = await db.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.code.like("ops.reassign%"))
        )
        events = await db.scalar(select(func.count(Event.id)).where(Event.type.like("staffing.%")))
    return int(places or 0), int(audits or 0), int(events or 0)


async def test_it_sends_a_reserve_without_the_training_only_with_a_reason_and_audits_it(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    # A refusal rolls the session back: the ids are read before.
    tenant_id, coordinator_id = tenant.id, coordinator.id
    day = await ops_day(db, tenant)
    # The clerks' course comes after the staffing: the reserve has not taken it.
    await make_course(db, tenant, await _election(db, tenant, day), roles=("clerk",))
    reserve_id, _user = await _reserve(db, tenant, day)
    clerk_role = await _role_id(db, tenant, "clerk")
    actor = Actor.for_user(coordinator)
    with tenant_scope(tenant_id), locale_scope("en"), pytest.raises(FieldErrors) as refused:
        await reassign(
            db,
            actor,
            shift_id=day.early_id,
            role_type_id=clerk_role,
            person_id=reserve_id,
            override_reason="   ",
        )
    assert list(refused.value.errors) == ["override_reason"]
    message = refused.value.errors["override_reason"]
    assert "Lacks the required course" in message and "Give a reason" in message
    assert await _trail(db, tenant_id, reserve_id) == (0, 0, 0)

    with tenant_scope(tenant_id), locale_scope("en"):
        placed = await reassign(
            db,
            actor,
            shift_id=day.early_id,
            role_type_id=clerk_role,
            person_id=reserve_id,
            override_reason=" Two clerks ill; she did the course in 2022. ",
        )
        assert (placed.state, placed.overrides, placed.confirmed_at) == (
            "accepted",
            ["course"],
            None,
        )
        assert placed.sent_at is not None
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "ops.reassign.overridden")
        )
    assert entry is not None
    assert entry.actor_user_id == coordinator_id and entry.created_at is not None
    assert entry.data["overrides"] == ["course"]
    assert entry.data["override_reason"] == "Two clerks ill; she did the course in 2022."
    assert await _trail(db, tenant_id, reserve_id) == (1, 1, 2)


async def test_it_asks_a_reason_for_a_soft_rule_too(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    person = await make_clerk(db, tenant, await _election(db, tenant, day), kinds=())
    person_id = person.id
    with tenant_scope(tenant.id):
        db.add(Reserve(election_id=day.election_id, person_id=person_id))
        await db.commit()
    clerk_role = await _role_id(db, tenant, "clerk")
    tenant_id, actor = tenant.id, Actor.for_user(coordinator)
    with tenant_scope(tenant_id), locale_scope("sv"):
        with pytest.raises(FieldErrors) as refused:
            await reassign(
                db,
                actor,
                shift_id=day.early_id,
                role_type_id=clerk_role,
                person_id=person_id,
            )
        assert "Ange ett skäl" in refused.value.errors["override_reason"]
        placed = await reassign(
            db,
            actor,
            shift_id=day.early_id,
            role_type_id=clerk_role,
            person_id=person_id,
            override_reason="Kan komma, ringde just.",
        )
    assert placed.overrides == ["availability"]


async def test_it_refuses_a_hard_rule_whatever_the_reason(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    tenant_id = tenant.id
    day = await ops_day(db, tenant)
    reserve_id, _user = await _reserve(db, tenant, day)
    clerk_role = await _role_id(db, tenant, "clerk")
    with tenant_scope(tenant_id):
        person = await db.get(Person, reserve_id)
        assert person is not None
        person.birth_date = day.day - dt.timedelta(days=17 * 365)
        await db.commit()
    actor = Actor.for_user(coordinator)
    with tenant_scope(tenant_id), locale_scope("en"), pytest.raises(OpsError) as refused:
        await reassign(
            db,
            actor,
            shift_id=day.early_id,
            role_type_id=clerk_role,
            person_id=reserve_id,
            override_reason="We need anyone.",
        )
    assert refused.value.field == "person_id" and "18 or older" in refused.value.message
    assert await _trail(db, tenant_id, reserve_id) == (0, 0, 0)


async def test_it_marks_each_candidate_with_what_sending_them_takes(
    db: AsyncSession, tenant: Tenant, coordinator: User, planner: User
) -> None:
    day = await ops_day(db, tenant)
    await make_course(db, tenant, await _election(db, tenant, day), roles=("chair",))
    fine_id, _u1 = await _reserve(db, tenant, day)
    young_id, _u2 = await _reserve(db, tenant, day)
    with tenant_scope(tenant.id):
        young = await db.get(Person, young_id)
        fine = await db.get(Person, fine_id)
        assert young is not None and fine is not None
        young.birth_date = day.day - dt.timedelta(days=17 * 365)
        fine.mobile = "+46701234567"
        await db.commit()
    places = [
        PlaceToFill(day.early_id, await _role_id(db, tenant, "clerk"), "Förmiddag · Clerk"),
        PlaceToFill(day.early_id, await _role_id(db, tenant, "chair"), "Förmiddag · Chair"),
    ]
    with tenant_scope(tenant.id), locale_scope("en"):
        candidates = await reassign_candidates(db, day.station_id, day.day)
        checks = await assess_candidates(db, candidates, places)
        numbers = await phone_numbers(db, Actor.for_user(coordinator), [fine_id, young_id])
        hidden = await phone_numbers(db, Actor.for_user(planner), [fine_id])
        # Worded when drawn, in the reader's language.
        summaries = {person_id: check.summary for person_id, check in checks.items()}
    # The fine reserve lacks only the chair's course: a reason will do, as chair only.
    assert not checks[fine_id].refused and checks[fine_id].needs_reason
    assert [(n.rule, n.places) for n in checks[fine_id].notes] == [
        ("course", ("Förmiddag · Chair",))
    ]
    assert "needs a reason: lacks the training (Förmiddag · Chair)" in summaries[fine_id]
    # The young one cannot be sent anywhere, and the list says why.
    assert checks[young_id].refused
    assert summaries[young_id].startswith("cannot be sent: under 18")
    assert numbers == {fine_id: "+46701234567"} and hidden == {}


async def test_only_the_person_sent_confirms_and_the_leads_hear_it(
    db: AsyncSession, tenant: Tenant, coordinator: User, owner_db: AsyncSession
) -> None:
    day = await ops_day(db, tenant)
    _chair_id, chair = await _person_with_user(db, tenant, day, day.chair_id)
    await _subscribe(db, tenant, chair, "chair")
    reserve_id, reserve_user = await _reserve(db, tenant, day)
    other_clerk_id, other_user = await _person_with_user(db, tenant, day, day.clerk_ids[0])
    with tenant_scope(tenant.id):
        placed = await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=day.early_id,
            role_type_id=await _role_id(db, tenant, "clerk"),
            person_id=reserve_id,
        )
        placed_id = placed.id
        roster = await station_roster(db, day.station_id, day.day)
    assert [e.sending for e in roster[0].entries if e.person_id == reserve_id] == ["sent"]
    # A teammate, a coordinator, or a stranger cannot confirm it for them.
    stranger = await make_user(db, tenant, "clerk")
    for someone in (other_user, coordinator, stranger):
        with tenant_scope(tenant.id), pytest.raises(NotFound):
            await confirm_sent(db, Actor.for_user(someone), placed_id)
    # Not a place that was sent either: the teammate's own place has nothing to confirm.
    with tenant_scope(tenant.id):
        own = await db.scalar(select(Assignment.id).where(Assignment.person_id == other_clerk_id))
        assert own is not None
        with pytest.raises(NotFound):
            await confirm_sent(db, Actor.for_user(other_user), own)
        confirmed = await confirm_sent(db, Actor.for_user(reserve_user), placed_id)
        first = confirmed.confirmed_at
        again = await confirm_sent(db, Actor.for_user(reserve_user), placed_id)
        roster = await station_roster(db, day.station_id, day.day)
        events = list(
            await db.scalars(select(Event.topic).where(Event.type == "staffing.sent_confirmed"))
        )
    assert first is not None and again.confirmed_at == first
    assert [e.sending for e in roster[0].entries if e.person_id == reserve_id] == ["confirmed"]
    # Once on the ops topic and once on the station's, and only once.
    assert len(events) == 2 and any(":station:" in topic for topic in events)
    titles = [row.subject for row in await _pushes(owner_db) if "on the way" in row.subject]
    assert titles == ["The person sent to Hamnskolan is on the way"]


async def test_a_person_sent_during_the_shift_is_late_only_20_minutes_after_being_sent(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    reserve_id, _user = await _reserve(db, tenant, day)
    clerk_role = await _role_id(db, tenant, "clerk")
    with tenant_scope(tenant.id):
        placed = await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=day.early_id,
            role_type_id=clerk_role,
            person_id=reserve_id,
        )
        placed.sent_at = day.at(9, 0).astimezone(dt.UTC)
        await db.commit()

    async def late_names(hour: int, minute: int) -> list[str]:
        with tenant_scope(tenant.id), locale_scope("en"):
            board = await dashboard(db, day.election_id, now=day.at(hour, minute))
        (row,) = board.rows
        assert [sent.person_id for sent in row.sent] == [reserve_id]
        return [a.message for a in row.alerts if a.kind == "not_arrived"]

    # At 09:10 the team who never came are late, the reserve sent at 09:00 is not.
    (message,) = await late_names(9, 10)
    assert await _name(db, tenant, reserve_id) not in message
    (message,) = await late_names(9, 25)
    assert await _name(db, tenant, reserve_id) in message


async def _name(db: AsyncSession, tenant: Tenant, person_id: int) -> str:
    with tenant_scope(tenant.id):
        person = await db.get(Person, person_id)
    assert person is not None
    return person.full_name
