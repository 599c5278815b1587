"""Erasing a person: every field and every row that refers to them, what is kept
anonymous, pay data kept for the pay-record period, the refusal while a place is
still ahead, the removal-request queue, and the retention of inactive people."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.models import (
    AuditEntry,
    AuthSession,
    Base,
    Membership,
    OutboxMessage,
    PasswordResetToken,
    PushSubscription,
    Tenant,
    User,
)
from app.core.models.signin import SignInToken
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.elections.districts import save_district
from app.domain.models import (
    Application,
    Assignment,
    Availability,
    CheckIn,
    ContactMessage,
    CourseBooking,
    DistrictPreference,
    Person,
    Qualification,
    Reserve,
    SessionTeacher,
)
from app.domain.registers import erasure, removal_requests, retention
from app.domain.registers.people import set_status, update_person
from app.domain.site import webparts
from tests.factories import (
    local_today,
    make_application,
    make_course,
    make_course_session,
    make_election,
    make_person,
    make_staffed_station,
    make_user,
)

ACTOR = Actor.system("test")
SECRETS = (
    "Bettan",
    "Blomqvist",
    "bettan.blomqvist@example.se",
    "+46701112233",
    "Hemliga gatan 7",
    "Tycker om kaffe",
    "Jag har flyttat till Spanien",
    "Kan inte den dagen, min mamma fyller år",
)
FULL_ID = "198001019986"


def _in_past(tenant: Tenant, days: int) -> dt.date:
    return local_today(tenant) - dt.timedelta(days=days)


async def _past_station(db: AsyncSession, tenant: Tenant, days_ago: int = 60) -> dict[str, Any]:
    day = _in_past(tenant, days_ago)
    election = await make_election(
        db,
        tenant,
        name=f"Valet {day.isoformat()}",
        election_day=day.isoformat(),
        advance_start="",
        advance_end="",
    )
    with tenant_scope(tenant.id):
        await save_district(db, ACTOR, election.id, {"code": "D1", "name": "Distrikt 1"})
    return await make_staffed_station(db, tenant, election=election, name="Gamla skolan")


async def _everything(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    """A clerk with a record in every table that can refer to them."""
    future = await make_staffed_station(db, tenant)
    past = await _past_station(db, tenant)
    user = await make_user(
        db, tenant, "clerk", email="bettan.blomqvist@example.se", name="Bettan Blomqvist"
    )
    person = await make_person(
        db,
        tenant,
        first_name="Bettan",
        last_name="Blomqvist",
        national_id=FULL_ID,
        email="bettan.blomqvist@example.se",
        mobile="070-111 22 33",
        street_address="Hemliga gatan 7",
        postal_code="222 22",
        city="Lund",
        notes="Tycker om kaffe",
        tags="kaffe",
    )
    await make_application(
        db,
        tenant,
        future["election"],
        first_name="Bettan",
        last_name="Blomqvist",
        national_id=FULL_ID,
        email="bettan.blomqvist@example.se",
        message="Jag har flyttat till Spanien",
    )
    old_course = await make_course(db, tenant)
    new_course = await make_course(db, tenant)
    past_session = await make_course_session(db, tenant, old_course, day=_in_past(tenant, 90))
    coming_session = await make_course_session(db, tenant, new_course)
    today = local_today(tenant)
    with tenant_scope(tenant.id):
        person.user_id = user.id
        person.bank_account_encrypted = "encrypted-account"
        person.calendar_token_hash = "c" * 64
        p = person.id
        roles = past["roles"]
        db.add_all(
            [
                Availability(
                    person_id=p,
                    election_id=future["election"].id,
                    day=future["election"].election_day,
                    work_kind="election_day",
                ),
                DistrictPreference(person_id=p, district_id=future["district"].id),
                ContactMessage(
                    name="Bettan Blomqvist",
                    email="bettan.blomqvist@example.se",
                    subject="Flytt",
                    message="Jag har flyttat till Spanien",
                ),
                CourseBooking(
                    session_id=past_session.id,
                    course_id=old_course.id,
                    person_id=p,
                    state="attended",
                    booked_by_label="bettan.blomqvist@example.se",
                ),
                CourseBooking(session_id=coming_session.id, course_id=new_course.id, person_id=p),
                SessionTeacher(session_id=coming_session.id, person_id=p),
                Qualification(person_id=p, course_id=old_course.id, achieved_on=today),
                Reserve(election_id=past["election"].id, person_id=p, note="Bettan, ring först"),
                # A declined place in the coming election: no place, and gone.
                Assignment(
                    election_id=future["election"].id,
                    station_id=future["station"].id,
                    shift_id=future["early"].id,
                    role_type_id=roles["clerk"].id,
                    person_id=p,
                    state="declined",
                    decline_reason="Kan inte den dagen, min mamma fyller år",
                ),
            ]
        )
        worked = Assignment(
            election_id=past["election"].id,
            station_id=past["station"].id,
            shift_id=past["early"].id,
            role_type_id=roles["clerk"].id,
            person_id=p,
            state="accepted",
            created_by_label="Bettan Blomqvist",
        )
        db.add(worked)
        await db.flush()
        db.add(
            CheckIn(
                election_id=past["election"].id,
                station_id=past["station"].id,
                shift_id=past["early"].id,
                person_id=p,
                assignment_id=worked.id,
                kind="in",
                checked_at=dt.datetime.combine(
                    past["election"].election_day, dt.time(7), tzinfo=dt.UTC
                ),
                source="portal",
                idempotency_key="k-1",
                payload_hash="0" * 64,
                created_by_label="bettan.blomqvist@example.se",
            )
        )
        subscription = PushSubscription(
            user_id=user.id, endpoint="https://push.example/abc", p256dh="k", auth="a"
        )
        db.add(subscription)
        await db.flush()
        never = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        db.add_all(
            [
                AuthSession(token_hash="s" * 64, user_id=user.id, expires_at=never),
                SignInToken(kind="link", token_hash="l" * 64, user_id=user.id, expires_at=never),
                PasswordResetToken(token_hash="r" * 64, user_id=user.id, expires_at=never),
                OutboxMessage(
                    tenant_id=tenant.id,
                    channel="email",
                    recipient="bettan.blomqvist@example.se",
                    subject="Hej Bettan",
                    idempotency_key="mail-1",
                ),
                OutboxMessage(
                    tenant_id=tenant.id,
                    channel="sms",
                    recipient="+46701112233",
                    body_text="Hej Bettan",
                    idempotency_key="sms-1",
                ),
                OutboxMessage(
                    tenant_id=tenant.id,
                    channel="push",
                    recipient=f"push-subscription:{subscription.id}",
                    idempotency_key="push-1",
                ),
                OutboxMessage(
                    tenant_id=tenant.id,
                    channel="email",
                    recipient="val@lund.test",
                    subject="Bettan Blomqvist asks to be removed",
                    idempotency_key=f"removal-request:{p}:2026-01-01",
                ),
            ]
        )
        await record(db, Actor.for_user(user, "10.0.0.7"), "portal.profile.updated", person)
        await db.commit()
    # A sign-in outside any municipality, audited under the address.
    await record(db, Actor.for_user(user, "10.0.0.7"), "accounts.login.succeeded", user)
    await db.commit()
    return {"person": person, "user": user, "past": past, "future": future, "today": today}


async def _all_text(db: AsyncSession, tenant: Tenant) -> str:
    """Every row of every table the tenant can see, as one text."""
    rows = []
    with tenant_scope(tenant.id):
        for table in Base.metadata.sorted_tables:
            for row in await db.execute(select(table)):
                rows.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(rows)


def test_every_table_that_refers_to_people_is_handled_by_erasure() -> None:
    referring = {
        table.name
        for table in Base.metadata.tables.values()
        for key in table.foreign_keys
        if key.column.table.name == "people"
    }
    assert referring == set(erasure.HANDLED_PERSON_TABLES)


def test_every_table_that_refers_to_accounts_lets_an_account_go() -> None:
    """Erasing deletes a clerk's account; a table holding on to accounts would stop it."""
    stuck = {
        f"{table.name}.{key.parent.name}"
        for table in Base.metadata.tables.values()
        for key in table.foreign_keys
        if key.column.table.name == "users" and key.ondelete not in ("CASCADE", "SET NULL")
    }
    assert stuck == set()


async def test_it_erases_every_field_and_row_and_keeps_the_pay_records_anonymous(
    db: AsyncSession, tenant: Tenant
) -> None:
    made = await _everything(db, tenant)
    person, user, today = made["person"], made["user"], made["today"]
    for secret in SECRETS:
        assert secret in await _all_text(db, tenant), secret
    with tenant_scope(tenant.id):
        counts = await erasure.erase_person(db, ACTOR, person.id, "office", today=today)
    # Four made here, and the application's receipt.
    assert counts["applications"] == 1 and counts["outbox_messages"] == 5
    text = await _all_text(db, tenant)
    for secret in SECRETS:
        assert secret not in text, secret
    with tenant_scope(tenant.id):
        db.expunge_all()
        erased = await db.get(Person, person.id)
        assert erased is not None
        assert erased.full_name == f"Raderad person #{person.id}"
        assert (erased.email, erased.mobile, erased.birth_date, erased.user_id) == (
            None,
            None,
            None,
            None,
        )
        assert erased.street_address == erased.notes == "" and erased.tags == []
        assert erased.calendar_token_hash is None and erased.erased_at is not None
        # Paid for the past election: the id number and account stay for the pay records.
        year = made["past"]["election"].election_day.year
        assert erased.pay_data_kept_until == dt.date(year + 7, 12, 31)
        assert erased.national_id == FULL_ID and erased.bank_account_encrypted
        for model in (Availability, DistrictPreference, Application, SessionTeacher):
            assert (await db.scalars(select(model))).all() == [], model
        [booking] = (await db.scalars(select(CourseBooking))).all()
        assert booking.state == "attended" and booking.person_id == person.id
        [worked] = (await db.scalars(select(Assignment))).all()
        assert worked.state == "accepted" and worked.decline_reason == ""
        assert (await db.scalars(select(CheckIn))).one().person_id == person.id
        assert (await db.scalars(select(Qualification))).one().person_id == person.id
        assert (await db.scalars(select(Reserve))).one().note == ""
        assert (await db.scalars(select(PushSubscription))).all() == []
        assert (
            await db.scalars(select(Membership).where(Membership.user_id == user.id))
        ).all() == []
    assert await db.get(User, user.id) is None
    for model in (AuthSession, SignInToken, PasswordResetToken):
        left = await db.scalars(select(model).where(model.user_id == user.id))  # type: ignore[attr-defined]
        assert left.all() == [], model
    # The audit log says what happened with ids and counts, never who it was.
    with tenant_scope(tenant.id):
        [entry] = (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.person.erased"))
        ).all()
        assert entry.object_id == str(person.id)
        assert entry.data["reason"] == "office" and entry.data["counts"]["applications"] == 1
        assert "10.0.0.7" not in text


async def test_it_erases_pay_data_at_once_when_the_pay_period_is_over(
    db: AsyncSession, tenant: Tenant
) -> None:
    made = await _everything(db, tenant)
    later = dt.date(made["past"]["election"].election_day.year + 8, 1, 1)
    with tenant_scope(tenant.id):
        await db.execute(
            Assignment.__table__.delete().where(Assignment.state != "accepted")  # type: ignore[attr-defined]
        )
        await db.commit()
        plan = await erasure.plan_erasure(db, made["person"].id, later)
        assert plan.pay_data_kept_until is None and not plan.blocked
        await erasure.erase_person(db, ACTOR, made["person"].id, "office", today=later)
        db.expunge_all()
        erased = await db.get(Person, made["person"].id)
        assert erased is not None
        assert erased.national_id is None and erased.bank_account_encrypted is None


async def test_the_retention_job_erases_pay_data_when_its_period_ends(
    db: AsyncSession, tenant: Tenant
) -> None:
    made = await _everything(db, tenant)
    with tenant_scope(tenant.id):
        await erasure.erase_person(db, ACTOR, made["person"].id, "office", today=made["today"])
        kept_until = (await db.get(Person, made["person"].id)).pay_data_kept_until  # type: ignore[union-attr]
        assert kept_until is not None
        assert await retention.erase_expired_pay_data(db, ACTOR, kept_until) == 0
        assert await retention.erase_expired_pay_data(db, ACTOR, kept_until + dt.timedelta(1)) == 1
        db.expunge_all()
        erased = await db.get(Person, made["person"].id)
        assert erased is not None
        assert erased.national_id is None and erased.bank_account_encrypted is None
        [entry] = (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.pay_data.erased"))
        ).all()
        assert entry.data == {"reason": "retention", "count": 1}


async def test_it_refuses_while_the_person_has_a_place_in_a_coming_election(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_person(db, tenant, first_name="Cilla", email="cilla@example.se")
    with tenant_scope(tenant.id):
        db.add(
            Assignment(
                election_id=s["election"].id,
                station_id=s["station"].id,
                shift_id=s["early"].id,
                role_type_id=s["roles"]["clerk"].id,
                person_id=person.id,
                state="accepted",
            )
        )
        await db.commit()
        person_id, election_name = person.id, s["election"].name
        with pytest.raises(erasure.ErasureError) as refused:
            await erasure.erase_person(db, ACTOR, person_id, "office")
        assert election_name in refused.value.message
        await db.rollback()
        db.expunge_all()
        kept = await db.get(Person, person_id)
        assert kept is not None and kept.email == "cilla@example.se" and kept.erased_at is None
        assert (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.person.erased"))
        ).all() == []


async def test_another_municipalitys_person_is_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await make_person(db, other_tenant, first_name="Malte")
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await erasure.erase_person(db, ACTOR, theirs.id, "office")
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await removal_requests.approve_removal(db, ACTOR, theirs.id)


async def test_it_keeps_an_account_that_belongs_to_another_municipality_too(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    user = await make_user(db, tenant, "clerk", email="dual@example.se")
    with tenant_scope(other_tenant.id):
        db.add(Membership(user_id=user.id, role="clerk"))
        await db.commit()
    person = await make_person(db, tenant, email="dual@example.se")
    with tenant_scope(tenant.id):
        person.user_id = user.id
        await db.commit()
        await erasure.erase_person(db, ACTOR, person.id, "office")
        assert (await db.scalars(select(Membership))).all() == []
    assert await db.get(User, user.id) is not None
    with tenant_scope(other_tenant.id):
        assert len((await db.scalars(select(Membership))).all()) == 1


async def test_the_office_refuses_a_request_with_a_reason_and_the_clerk_is_told(
    db: AsyncSession, tenant: Tenant
) -> None:
    person = await make_person(
        db, tenant, email="dagny@example.se", preferred_language="da", first_name="Dagny"
    )
    with tenant_scope(tenant.id):
        person.removal_requested_at = dt.datetime.now(dt.UTC)
        await db.commit()
        assert await removal_requests.count_removal_requests(db) == 1
        with pytest.raises(erasure.DomainError) as missing:
            await removal_requests.refuse_removal(db, ACTOR, tenant, person.id, {"reason": " "})
        assert missing.value.field == "reason"
        await removal_requests.refuse_removal(
            db, ACTOR, tenant, person.id, {"reason": "Lønnen for valget er ikke udbetalt."}
        )
        assert removal_requests.removal_state(person) == "refused"
        assert await removal_requests.count_removal_requests(db) == 0
        mail = (await db.scalars(select(OutboxMessage))).one()
        assert mail.recipient == "dagny@example.se"
        assert "Lønnen for valget er ikke udbetalt." in mail.body_text
        assert "Dagny" in mail.body_text
        [entry] = (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.removal.refused"))
        ).all()
        assert entry.data == {"mailed": True}
        with pytest.raises(erasure.ErasureError):
            await removal_requests.approve_removal(db, ACTOR, person.id)


async def test_approving_a_request_erases_the_person(db: AsyncSession, tenant: Tenant) -> None:
    person = await make_person(db, tenant, email="erik@example.se", first_name="Erik")
    with tenant_scope(tenant.id):
        person.removal_requested_at = dt.datetime.now(dt.UTC)
        await db.commit()
        [plan] = await removal_requests.removal_requests(db)
        assert plan.person.id == person.id and not plan.blocked
        await removal_requests.approve_removal(db, ACTOR, person.id)
        db.expunge_all()
        erased = await db.get(Person, person.id)
        assert erased is not None and erased.email is None and erased.erased_at is not None
        [entry] = (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.person.erased"))
        ).all()
        assert entry.data["reason"] == "request"
        assert await removal_requests.removal_requests(db) == []


async def test_the_retention_job_erases_only_the_inactive(db: AsyncSession, tenant: Tenant) -> None:
    old = await _past_station(db, tenant, days_ago=5 * 365)
    recent = await _past_station(db, tenant, days_ago=400)
    sleeper = await make_person(db, tenant, first_name="Sov", email="sov@example.se")
    worker = await make_person(db, tenant, first_name="Jobb", email="jobb@example.se")
    newcomer = await make_person(db, tenant, first_name="Ny", email="ny@example.se")
    today = local_today(tenant)
    with tenant_scope(tenant.id):
        for person, station in ((sleeper, old), (worker, recent)):
            db.add(
                Assignment(
                    election_id=station["election"].id,
                    station_id=station["station"].id,
                    shift_id=station["early"].id,
                    role_type_id=station["roles"]["clerk"].id,
                    person_id=person.id,
                    state="accepted",
                )
            )
        sleeper.created_at = worker.created_at = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
        await db.commit()
        # Off by default: nobody is erased until the office chooses a period.
        assert await retention.inactive_people(db, today) == []
        await webparts.save_site_settings(
            db, ACTOR, {"inactive_retention_months": "36", "pay_retention_years": "7"}
        )
        assert await retention.inactive_people(db, today) == [sleeper.id]
        assert await retention.erase_inactive(db, ACTOR, today) == 1
        db.expunge_all()
        names = {p.id: p.first_name for p in await db.scalars(select(Person))}
        assert names[sleeper.id] == "Raderad person"
        assert names[worker.id] == "Jobb" and names[newcomer.id] == "Ny"
        entries = (
            await db.scalars(
                select(AuditEntry).where(
                    AuditEntry.code.in_(("people.inactive.erased", "people.person.erased"))
                )
            )
        ).all()
        assert [(e.code, e.data) for e in entries] == [
            ("people.inactive.erased", {"reason": "retention", "count": 1, "months": 36})
        ]
        # Running again erases nobody twice.
        assert await retention.erase_inactive(db, ACTOR, today) == 0


async def test_a_run_erases_a_bounded_batch_and_the_next_the_rest(
    db: AsyncSession, tenant: Tenant
) -> None:
    people = [await make_person(db, tenant, email=f"p{n}@example.se") for n in range(3)]
    today = local_today(tenant)
    with tenant_scope(tenant.id):
        for person in people:
            person.created_at = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
        await webparts.save_site_settings(db, ACTOR, {"inactive_retention_months": "12"})
        assert await retention.erase_inactive(db, ACTOR, today, limit=2) == 2
        assert len(await retention.inactive_people(db, today)) == 1
        assert await retention.erase_inactive(db, ACTOR, today, limit=2) == 1


async def test_an_erased_person_cannot_be_filled_in_again(db: AsyncSession, tenant: Tenant) -> None:
    person = await make_person(db, tenant, first_name="Lina", email="lina@example.se")
    with tenant_scope(tenant.id):
        await erasure.erase_person(db, ACTOR, person.id, "office")
        with pytest.raises(FieldErrors):
            await update_person(db, ACTOR, person.id, {"first_name": "Lina", "last_name": "L"})
        assert await set_status(db, ACTOR, [person.id], "active") == 0
