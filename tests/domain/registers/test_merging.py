"""Duplicate people: the likely pairs, and merging two records into one with all their
history, the office's choice per field, conflicts refused before anything is written,
a tombstone for the old id, and another municipality's people not found."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Base, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import (
    Assignment,
    Availability,
    CheckIn,
    CourseBooking,
    DistrictPreference,
    Person,
    PersonExclusion,
    PersonMerge,
    Qualification,
    Reserve,
)
from app.domain.registers import duplicates, merging
from tests.factories import (
    make_application,
    make_clerk,
    make_course,
    make_course_session,
    make_person,
    make_staffed_station,
)

ACTOR = Actor(label="planner@lund.test")


def test_every_table_that_refers_to_people_is_handled_by_merging() -> None:
    referring = {
        table.name
        for table in Base.metadata.tables.values()
        for key in table.foreign_keys
        if key.column.table.name == "people"
    }
    assert referring == set(merging.HANDLED_PERSON_TABLES)
    assert {model.__tablename__ for model, _column, _keys in merging._MOVES} == referring


async def _pair(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    """One clerk entered twice: with an identity number and an old address, and again
    with no number, a new address, another mobile, each with history of their own."""
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    s["kept"] = await make_clerk(
        db, tenant, election, first_name="Bo", last_name="Berg", street_address="Gamla vägen 1",
        city="Lund", tags="nyckel", mobile="070-111 11 11", kinds=("election_day",),
    )  # fmt: skip
    s["twin"] = await make_clerk(
        db, tenant, election, first_name="Bo", last_name="Berg", national_id="",
        street_address="Nya vägen 2", city="Malmö", tags="bil", mobile="070-222 22 22",
        notes="Har bil", spoken_languages="ar", kinds=("election_day", "counting"),
    )  # fmt: skip
    course = await make_course(db, tenant)
    session = await make_course_session(db, tenant, course)
    with tenant_scope(tenant.id):
        s["kept"].birth_date = s["twin"].birth_date = dt.date(1980, 1, 1)
        twin = s["twin"].id
        s["twin"].address_protected = True
        db.add_all(
            [
                DistrictPreference(person_id=s["kept"].id, district_id=s["district"].id),
                DistrictPreference(person_id=twin, district_id=s["district"].id),
                Reserve(election_id=election.id, person_id=twin, note="Ring först"),
                CourseBooking(session_id=session.id, course_id=course.id, person_id=twin),
                Qualification(person_id=twin, course_id=course.id, achieved_on=dt.date(2026, 3, 3)),
                PersonExclusion(person_id=twin, reason="Testar", created_by_label="x"),
            ]
        )
        place = Assignment(
            election_id=election.id,
            station_id=s["station"].id,
            shift_id=s["late"].id,
            role_type_id=s["roles"]["clerk"].id,
            person_id=twin,
            state="accepted",
        )
        db.add(place)
        await db.flush()
        db.add(
            CheckIn(
                election_id=election.id,
                station_id=s["station"].id,
                shift_id=s["late"].id,
                person_id=twin,
                assignment_id=place.id,
                kind="in",
                checked_at=dt.datetime(2026, 9, 13, 11, 0, tzinfo=dt.UTC),
                source="portal",
                idempotency_key="k-1",
                payload_hash="0" * 64,
                created_by_label="bo",
            )
        )
        await db.commit()
    s["course"], s["session"] = course, session
    return s


async def _count(db: AsyncSession, model: Any, person_id: int) -> int:
    return int(
        await db.scalar(select(func.count(model.id)).where(model.person_id == person_id)) or 0
    )


async def test_likely_pairs_are_found_by_name_and_birth_date_and_by_mobile(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _pair(db, tenant)
    other = await make_person(db, tenant, first_name="Eva", last_name="Ek", mobile="070-222 22 22")
    await make_person(db, tenant, first_name="Bo", last_name="Berg")  # no birth date
    with tenant_scope(tenant.id), locale_scope("en"):
        pairs = await duplicates.likely_pairs(db)
    found = {(p.first.id, p.second.id): p.reasons for p in pairs}
    assert found == {
        (s["kept"].id, s["twin"].id): ["Same name and birth date"],
        (s["twin"].id, other.id): ["Same mobile number"],
    }


async def test_a_merge_moves_all_history_and_keeps_the_chosen_values(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _pair(db, tenant)
    kept_id, twin_id = s["kept"].id, s["twin"].id
    with tenant_scope(tenant.id), locale_scope("en"):
        plan = await merging.plan_merge(db, kept_id, twin_id)
        assert plan.conflicts == []
        assert {f.name for f in plan.differences} == {"address", "mobile", "identity", "email"}
        assert plan.moving["assignments"] == 1 and plan.moving["check_ins"] == 1
        tombstone = await merging.merge_people(
            db, ACTOR, kept_id, twin_id, {"address": "merged", "mobile": "survivor"}
        )
        assert await db.scalar(select(Person).where(Person.id == twin_id)) is None
        person = await db.scalar(select(Person).where(Person.id == kept_id))
        assert person is not None
        assert (person.street_address, person.city) == ("Nya vägen 2", "Malmö")
        assert person.mobile == "+46701111111"
        # The identity number stayed (the twin had none): the default kept it.
        assert person.national_id and person.birth_date == dt.date(1980, 1, 1)
        assert person.tags == ["nyckel", "bil"] and "ar" in person.spoken_languages
        assert person.notes == "Har bil" and person.address_protected
        for model in (Assignment, CheckIn, Reserve, CourseBooking, Qualification, PersonExclusion):
            assert await _count(db, model, kept_id) == 1, model
        # Availability on election day: one twin dropped, counting moved.
        assert await _count(db, Availability, kept_id) == 2
        assert await _count(db, DistrictPreference, kept_id) == 1
        # No row of any table refers to the old id.
        for model, column, _keys in merging._MOVES:
            left = await db.scalar(
                select(func.count()).select_from(model).where(getattr(model, column) == twin_id)
            )
            assert not left, model.__tablename__
        assert tombstone.fields_taken == ["address"]
        assert await merging.merged_into(db, twin_id) == kept_id
        entry = await db.scalar(select(AuditEntry).where(AuditEntry.code == "people.person.merged"))
        assert entry is not None and entry.object_id == str(kept_id)
        assert entry.data["merged"] == twin_id and entry.data["fields_taken"] == ["address"]
        assert "Nya vägen" not in str(entry.data)


async def test_an_application_matched_later_follows_the_merge(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _pair(db, tenant)
    submitted = await make_application(db, tenant, s["election"], first_name="Bo")
    application = submitted.application
    kept_id, twin_id = s["kept"].id, s["twin"].id
    with tenant_scope(tenant.id):
        application.person_id = twin_id
        await db.commit()
        await merging.merge_people(db, ACTOR, kept_id, twin_id)
        await db.refresh(application)
        assert application.person_id == kept_id


async def test_a_merge_of_a_survivor_moves_older_tombstones_on(
    db: AsyncSession, tenant: Tenant
) -> None:
    first = await make_person(db, tenant, first_name="A", last_name="A")
    second = await make_person(db, tenant, first_name="B", last_name="B")
    third = await make_person(db, tenant, first_name="C", last_name="C")
    ids = first.id, second.id, third.id
    with tenant_scope(tenant.id):
        await merging.merge_people(db, ACTOR, ids[1], ids[0])
        await merging.merge_people(db, ACTOR, ids[2], ids[1])
        assert await merging.merged_into(db, ids[0]) == ids[2]
        assert await merging.merged_into(db, ids[1]) == ids[2]
        assert await db.scalar(select(func.count(PersonMerge.id))) == 2


@pytest.mark.parametrize("clash", ["same_day", "same_course", "two_numbers"])
async def test_a_conflict_is_listed_and_refuses_the_merge_with_nothing_written(
    db: AsyncSession, tenant: Tenant, clash: str
) -> None:
    s = await _pair(db, tenant)
    kept_id, twin_id, tenant_id = s["kept"].id, s["twin"].id, tenant.id
    with tenant_scope(tenant_id):
        if clash == "same_day":
            db.add(
                Assignment(
                    election_id=s["election"].id,
                    station_id=s["station"].id,
                    shift_id=s["early"].id,
                    role_type_id=s["roles"]["clerk"].id,
                    person_id=kept_id,
                    state="offered",
                )
            )
        elif clash == "same_course":
            db.add(
                CourseBooking(
                    session_id=s["session"].id, course_id=s["course"].id, person_id=kept_id
                )
            )
        else:
            s["twin"].national_id, s["twin"].national_id_country = "198001019986", "SE"
        await db.commit()
    expected = {
        "same_day": "Both records hold a place on",
        "same_course": "Both records are booked on the course",
        "two_numbers": "different identity numbers",
    }[clash]
    with tenant_scope(tenant_id), locale_scope("en"):
        plan = await merging.plan_merge(db, kept_id, twin_id)
        assert len(plan.conflicts) == 1 and expected in plan.conflicts[0]
        with pytest.raises(merging.MergeError) as refused:
            await merging.merge_people(db, ACTOR, kept_id, twin_id)
        assert expected in refused.value.message
        await db.rollback()
        assert await db.scalar(select(Person.id).where(Person.id == twin_id)) == twin_id
        assert await _count(db, Assignment, twin_id) == 1
        assert await db.scalar(select(func.count(PersonMerge.id))) == 0
    with tenant_scope(tenant_id), locale_scope("sv"):
        with pytest.raises(merging.MergeError) as swedish:
            await merging.merge_people(db, ACTOR, kept_id, twin_id)
        assert expected not in swedish.value.message


async def test_bad_choices_and_the_same_record_twice_are_refused(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _pair(db, tenant)
    kept_id, twin_id = s["kept"].id, s["twin"].id
    with tenant_scope(tenant.id), locale_scope("en"):
        with pytest.raises(merging.MergeError) as unknown:
            await merging.merge_people(db, ACTOR, kept_id, twin_id, {"notes": "merged"})
        assert unknown.value.field == "notes"
        with pytest.raises(merging.MergeError) as bad:
            await merging.merge_people(db, ACTOR, kept_id, twin_id, {"address": "both"})
        assert bad.value.field == "address"
        with pytest.raises(merging.MergeError, match="two different records"):
            await merging.plan_merge(db, kept_id, kept_id)
        assert await db.scalar(select(func.count(PersonMerge.id))) == 0


async def test_another_municipalitys_person_is_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    s = await _pair(db, tenant)
    stranger = await make_person(db, other_tenant, first_name="Bo", last_name="Berg")
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await merging.plan_merge(db, s["kept"].id, stranger.id)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await merging.merge_people(db, ACTOR, stranger.id, s["twin"].id)
    with tenant_scope(other_tenant.id):
        assert await merging.merged_into(db, s["twin"].id) is None
