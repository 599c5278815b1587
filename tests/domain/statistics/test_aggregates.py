"""The statistics of a small hand-built election, number by number: places filled week
by week from the assignments' own times, the funnel, experience, age groups and legal
sex (small groups hidden), languages, course completion, no-shows and the budget."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.no import fodselsnummer

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.courses.qualifications import course_needs, grant, training_state
from app.domain.models import (
    Application,
    Assignment,
    CheckIn,
    CourseBooking,
    District,
    PayBudget,
    Person,
    PersonExclusion,
    RoleType,
    Shift,
    Station,
)
from app.domain.statistics import budgets
from app.domain.statistics.demographics import demographics
from app.domain.statistics.history import filled_history
from app.domain.statistics.overview import election_statistics
from app.domain.statistics.people import (
    experience_per_role,
    languages_needed,
    recruitment_funnel,
)
from app.domain.statistics.readiness import course_completion, no_shows_per_district
from app.domain.statistics.training import placed_training
from tests.domain.staffing.test_staffing_reports import (
    Staffed,
    build_staffed_election,
    personnummer,
)
from tests.factories import (
    make_application,
    make_course,
    make_course_session,
    make_open_election,
    make_person,
    make_staffed_station,
)

ACTOR = Actor.system("test")


@pytest.fixture
async def staffed(db: AsyncSession, tenant: Tenant) -> Staffed:
    return await build_staffed_election(db, tenant)


async def _assignment(db: AsyncSession, person: Person, shift_name: str, state: str) -> int:
    found = await db.scalar(
        select(Assignment.id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(
            Assignment.person_id == person.id, Shift.name == shift_name, Assignment.state == state
        )
    )
    assert found is not None
    return found


async def _times(db: AsyncSession, assignment_id: int, **times: dt.datetime) -> None:
    await db.execute(update(Assignment).where(Assignment.id == assignment_id).values(**times))
    await db.commit()


async def test_it_reads_the_places_filled_week_by_week_from_the_assignments_times(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    election_day = staffed.election.election_day

    def week(k: int) -> dt.datetime:
        return dt.datetime.combine(election_day - dt.timedelta(days=7 * k), dt.time(12), dt.UTC)

    p = staffed.people
    with tenant_scope(tenant.id):
        plan = [
            ("asa", "Förmiddag", "accepted", {"created_at": week(5), "responded_at": week(4)}),
            ("erik", "Hela dagen", "declined", {"created_at": week(4), "responded_at": week(3)}),
            ("soren", "Förmiddag", "accepted", {"created_at": week(3), "responded_at": week(2)}),
            ("soren", "Eftermiddag", "accepted", {"created_at": week(3), "responded_at": week(3)}),
            ("lukasz", "Hela dagen", "accepted", {"created_at": week(2), "responded_at": week(1)}),
            ("karin", "Förmiddag", "proposed", {"created_at": week(1)}),
            # An offer older than its row (copied in later) counts from the offer.
            ("erik", "Dag", "offered", {"created_at": week(0), "offered_at": week(1)}),
        ]
        for person, shift_name, state, times in plan:
            await _times(db, await _assignment(db, p[person], shift_name, state), **times)
        history = await filled_history(db, staffed.election, election_day)
    assert [point.day for point in history.points] == [
        election_day - dt.timedelta(days=7 * k) for k in range(6, -1, -1)
    ]
    assert [point.held for point in history.points] == [0, 1, 2, 3, 4, 6, 6]
    assert [point.accepted for point in history.points] == [0, 0, 1, 2, 3, 4, 4]
    # The library's host (1/1) has a target only: the legal minimum does not count hosts.
    assert (history.target, history.minimum) == (11, 8)
    assert not any(point.today for point in history.points)


async def test_an_election_still_to_come_ends_its_history_today(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    today = staffed.election.election_day - dt.timedelta(days=10)
    with tenant_scope(tenant.id):
        history = await filled_history(db, staffed.election, today)
    assert history.points[-1].day == today and history.points[-1].today
    assert all(point.day <= today for point in history.points)
    # Every place was made today in the test: the last point holds them, capped to the norm.
    assert history.points[-1].held == 6 and history.points[-1].accepted == 4


async def test_a_place_counts_up_to_its_norm(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        roles = {r.code: r for r in await db.scalars(select(RoleType))}
        morning = await db.scalar(select(Shift).where(Shift.name == "Förmiddag"))
        assert morning is not None
        # Two more clerks on a morning that needs three and has two: one more fills.
        for first_name in ("Extra1", "Extra2"):
            person = await make_person(db, tenant, first_name=first_name)
            db.add(
                Assignment(
                    election_id=staffed.election.id,
                    station_id=morning.station_id,
                    shift_id=morning.id,
                    role_type_id=roles["clerk"].id,
                    person_id=person.id,
                    state="accepted",
                )
            )
        await db.commit()
        history = await filled_history(db, staffed.election, staffed.election.election_day)
    assert history.points[-1].held == 7


async def test_a_person_kept_off_fills_no_place_in_any_week(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    """As on the board: Åsa, the morning's accepted chair, is excluded after being placed."""
    day = staffed.election.election_day
    with tenant_scope(tenant.id):
        before = await filled_history(db, staffed.election, day)
        db.add(
            PersonExclusion(
                person_id=staffed.people["asa"].id, reason="Testar", created_by_label="x"
            )
        )
        await db.commit()
        after = await filled_history(db, staffed.election, day)
    assert before.points[-1].held == 6 and before.points[-1].accepted == 4
    assert after.points[-1].held == 5 and after.points[-1].accepted == 3
    assert (after.target, after.minimum) == (before.target, before.minimum)


async def test_it_counts_the_funnel_from_applying_to_checking_in(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    await make_application(db, tenant, staffed.election)
    await make_application(
        db,
        tenant,
        staffed.election,
        national_id=personnummer("850315", "124"),
        email="b@example.se",
    )
    course = await make_course(db, tenant, staffed.election, roles=("chair",))
    p = staffed.people
    with tenant_scope(tenant.id):
        await db.execute(
            update(Application).where(Application.email == "b@example.se").values(status="approved")
        )
        await grant(db, ACTOR, p["asa"].id, course, dt.date(2026, 5, 1), source="manual")
        shift = await db.scalar(select(Shift).where(Shift.name == "Förmiddag"))
        assert shift is not None
        db.add(
            CheckIn(
                election_id=staffed.election.id,
                station_id=shift.station_id,
                shift_id=shift.id,
                person_id=p["asa"].id,
                kind="arrived",
                source="portal",
                idempotency_key="k1",
                payload_hash="0" * 64,
            )
        )
        await db.commit()
        funnel = await recruitment_funnel(db, staffed.election)
    # Offered: everyone ever offered or accepted (Erik declined one and holds an offer).
    # Accepted: Åsa, Søren, Łukasz; trained: the chair holds the chair's course, and the
    # clerks' role requires none; checked in: Åsa.
    assert [(s.step, s.people) for s in funnel] == [
        ("applied", 2),
        ("approved", 1),
        ("offered", 4),
        ("accepted", 3),
        ("trained", 3),
        ("checked_in", 1),
    ]


async def test_it_counts_first_timers_and_experienced_per_role(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    p = staffed.people
    with tenant_scope(tenant.id):
        await db.execute(update(Person).where(Person.id == p["asa"].id).values(experience="much"))
        await db.execute(update(Person).where(Person.id == p["soren"].id).values(experience="some"))
        await db.commit()
        rows = {r.role: r.counts for r in await experience_per_role(db, staffed.election)}
    assert rows["Ordförande"] == {"first_time": 0, "some": 0, "much": 1}
    # Søren (some) once though he works two shifts; Karin and Łukasz new.
    assert rows["Röstmottagare"] == {"first_time": 2, "some": 1, "much": 0}
    assert rows["Värd"] == {"first_time": 1, "some": 0, "much": 0}


def _fodselsnummer(birth: str, serial: str) -> str:
    """A valid Norwegian number for ``birth`` (born 1900-1999) whose individual number
    ends with ``serial``'s last two digits (the last odd: a man). Some individual numbers
    have no check digit for a given birth date (it would be 10), so the first digit is
    the first of 0-4 that gives both."""
    for lead in "01234":
        first = birth + lead + serial[1:]
        digit1 = fodselsnummer.calc_check_digit1(first)
        if len(digit1) != 1:
            continue
        digit2 = fodselsnummer.calc_check_digit2(first + digit1)
        if len(digit2) == 1:
            return first + digit1 + digit2
    raise AssertionError(f"no Norwegian number for {birth} {serial}")


async def _place(db: AsyncSession, election: Any, person: Person, state: str = "proposed") -> None:
    role = await db.scalar(select(RoleType).where(RoleType.code == "clerk"))
    shift = await db.scalar(select(Shift).where(Shift.name == "Förmiddag"))
    assert role is not None and shift is not None
    db.add(
        Assignment(
            election_id=election.id,
            station_id=shift.station_id,
            shift_id=shift.id,
            role_type_id=role.id,
            person_id=person.id,
            state=state,
        )
    )


async def test_it_reads_age_and_legal_sex_from_each_countrys_numbers(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    await make_staffed_station(db, tenant, election, name="Hela skolan")
    day = election.election_day
    people = []
    # Five Danish women (last digit even) and five Norwegian men (ninth digit odd), all
    # 40 on election day; and five Swedes who turn 18 that day: three women, two men.
    for number in range(5):
        people.append(
            await make_person(
                db,
                tenant,
                national_id_country="DK",
                national_id=f"{day.replace(year=day.year - 40):%d%m%y}12{number}{2 * number}",
            )
        )
        people.append(
            await make_person(
                db,
                tenant,
                national_id_country="NO",
                national_id=_fodselsnummer(
                    f"{day.replace(year=day.year - 40):%d%m%y}", f"0{number}3"
                ),
            )
        )
        eighteen = day.replace(year=day.year - 18)
        people.append(
            await make_person(
                db,
                tenant,
                national_id=personnummer(
                    f"{eighteen:%y%m%d}", f"7{number}{2 if number < 3 else 1}"
                ),
            )
        )
    with tenant_scope(tenant.id):
        for person in people:
            await _place(db, election, person)
        await db.commit()
        ages, sexes = await demographics(db, election)
    assert dict(zip(sexes.groups, sexes.shown.counts, strict=True)) == {
        "female": 8,
        "male": 7,
        "not_recorded": 0,
    }
    age = dict(zip(ages.groups, ages.shown.counts, strict=True))
    assert age["18-24"] == 5 and age["35-44"] == 10 and age["75+"] == 0


async def test_it_counts_age_groups_and_sexes_with_small_groups_hidden(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        roles = {r.code: r for r in await db.scalars(select(RoleType))}
        shift = await db.scalar(select(Shift).where(Shift.name == "Hela dagen"))
        assert shift is not None
        year = staffed.election.election_day.year
        # Six more women of about 30: with the five people already placed (three men and
        # two women, born 1977-1990) the women are 8 and the men 3.
        for number in range(6):
            person = await make_person(
                db,
                tenant,
                national_id=personnummer(f"{(year - 30) % 100:02d}0101", f"5{number}2"),
            )
            db.add(
                Assignment(
                    election_id=staffed.election.id,
                    station_id=shift.station_id,
                    shift_id=shift.id,
                    role_type_id=roles["clerk"].id,
                    person_id=person.id,
                    state="proposed",
                )
            )
        await db.commit()
        ages, sexes = await demographics(db, staffed.election)
    sex = dict(zip(sexes.groups, sexes.shown.counts, strict=True))
    # Men 3 is small; hidden alone it would be 11 - 8 - 0: the women are hidden with it.
    assert sex == {"female": None, "male": None, "not_recorded": 0}
    assert sexes.shown.total == 11
    age = dict(zip(ages.groups, ages.shown.counts, strict=True))
    assert age["25-34"] == 6
    hidden = [group for group, count in age.items() if count is None]
    assert len(hidden) >= 2
    # What is hidden holds at least five together, so no small group is pinned down.
    assert ages.shown.total == 11 and 11 - sum(c for c in age.values() if c) >= 5


async def test_it_sets_the_languages_needed_against_those_spoken(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    p = staffed.people
    with tenant_scope(tenant.id):
        await db.execute(
            update(Station).where(Station.id == staffed.hall.id).values(languages=["ar", "so"])
        )
        await db.execute(
            update(Station).where(Station.id == staffed.school.id).values(languages=["ar"])
        )
        # Karin (proposed, at the hall) speaks Arabic; nobody accepted does.
        await db.execute(
            update(Person).where(Person.id == p["karin"].id).values(spoken_languages=["ar"])
        )
        await db.commit()
        rows = await languages_needed(db, staffed.election)
    assert [(r.language, r.needed, r.covered, r.covered_accepted) for r in rows] == [
        ("ar", 2, 1, 0),
        ("so", 1, 0, 0),
    ]


async def test_it_counts_course_completion_per_role_that_requires_one(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    course = await make_course(db, tenant, staffed.election, roles=("clerk",))
    course_session = await make_course_session(db, tenant, course)
    p = staffed.people
    with tenant_scope(tenant.id):
        await grant(db, ACTOR, p["soren"].id, course, dt.date(2026, 5, 1), source="manual")
        # Karin has a seat; Łukasz only a place on the waiting list, which is no seat.
        for person, state in (("karin", "booked"), ("lukasz", "waiting")):
            db.add(
                CourseBooking(
                    session_id=course_session.id,
                    course_id=course.id,
                    person_id=p[person].id,
                    state=state,
                )
            )
        await db.commit()
        rows = await course_completion(db, staffed.election)
        # The same words as the rule staffing and the portal use, place by place.
        pairs = set(
            await db.execute(
                select(Assignment.person_id, Assignment.role_type_id).where(
                    Assignment.state.in_(("proposed", "offered", "accepted"))
                )
            )
        )
        needs = await course_needs(db, staffed.election, pairs)
        words = {pair: training_state(each) for pair, each in needs.items()}
        in_sql = {
            (row.person_id, row.role_type_id): row.word
            for row in await db.execute(select(placed_training(staffed.election)))
        }
    assert [(r.role, r.counts) for r in rows] == [
        ("Röstmottagare", {"qualified": 1, "booked": 1, "missing": 1}),
    ]
    assert in_sql == words


async def test_it_counts_no_shows_per_district_once_shifts_are_over(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    p = staffed.people
    day = staffed.election.election_day
    with tenant_scope(tenant.id):
        before = await no_shows_per_district(
            db, staffed.election, dt.datetime.combine(day, dt.time(5), dt.UTC)
        )
        shift = await db.scalar(select(Shift).where(Shift.name == "Förmiddag"))
        assert shift is not None
        db.add(
            CheckIn(
                election_id=staffed.election.id,
                station_id=shift.station_id,
                shift_id=shift.id,
                person_id=p["asa"].id,
                kind="arrived",
                source="portal",
                idempotency_key="k2",
                payload_hash="0" * 64,
            )
        )
        await db.commit()
        after = await no_shows_per_district(
            db, staffed.election, dt.datetime.combine(day, dt.time(23), dt.UTC)
        )
    assert before.rows == [] and not before.any_check_in
    # D1 (the hall): Åsa came, Søren twice did not; D2 (the school): Łukasz did not.
    # The advance voting day had only an offer: no accepted place there.
    assert [(r.code, r.places, r.no_shows) for r in after.rows] == [("D1", 3, 2), ("D2", 1, 1)]
    assert after.any_check_in


async def test_it_saves_a_budget_form_whole_or_not_at_all(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id), locale_scope("en"):
        roles = {r.code: r for r in await db.scalars(select(RoleType))}
        districts = {d.code: d for d in await db.scalars(select(District))}
        chair, clerk = f"role-{roles['chair'].id}", f"role-{roles['clerk'].id}"
        with pytest.raises(FieldErrors) as refused:
            await budgets.save_budget(
                db, ACTOR, staffed.election.id, "roles", {chair: "3700", clerk: "-100"}
            )
        assert refused.value.errors == {clerk: "A budget cannot be below zero."}
        assert await db.scalar(select(func.count(PayBudget.id))) == 0
        for wrong, message in (
            ("12,345", "At most two decimals."),
            ("tolv", "Enter an amount, such as 125000 or 125000,50."),
            ("1e5", "Enter an amount, such as 125000 or 125000,50."),
            ("2000000000", "At most 1 000 000 000."),
        ):
            with pytest.raises(FieldErrors) as refused:
                await budgets.save_budget(db, ACTOR, staffed.election.id, "roles", {clerk: wrong})
            assert refused.value.errors == {clerk: message}
        changed = await budgets.save_budget(
            db, ACTOR, staffed.election.id, "roles", {chair: "3 700", clerk: "7200,50"}
        )
        assert changed == 2
        district = f"district-{districts['D1'].id}"
        await budgets.save_budget(
            db, ACTOR, staffed.election.id, "districts", {district: "9000", "advance": "1000"}
        )
        # Emptying a field takes its line away; the other form is left as it was.
        assert (
            await budgets.save_budget(db, ACTOR, staffed.election.id, "roles", {chair: "3700"}) == 1
        )
        saved = {
            (b.scope, b.role_type_id, b.district_id): b.amount
            for b in await db.scalars(select(PayBudget))
        }
        entries = await db.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.code == "statistics.budget.saved")
        )
    assert saved == {
        ("role", roles["chair"].id, None): Decimal("3700.00"),
        ("district", None, districts["D1"].id): Decimal("9000.00"),
        ("advance", None, None): Decimal("1000.00"),
    }
    assert entries == 3


async def test_it_holds_the_pay_against_the_budget(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        roles = {r.code: r for r in await db.scalars(select(RoleType))}
        districts = {d.code: d for d in await db.scalars(select(District))}
        await budgets.save_budget(
            db, ACTOR, staffed.election.id, "roles", {f"role-{roles['clerk'].id}": "1000"}
        )
        stats = await election_statistics(db, staffed.election.id)
    by_role = {r.label: r for r in stats.pay_roles}
    clerks = by_role["Röstmottagare"]
    # The clerks' pay (accepted places, estimated from the rules) passes its 1 000 budget.
    assert clerks.pay > 0 and clerks.budget == Decimal("1000.00") and clerks.over
    assert clerks.left == clerks.budget - clerks.pay
    by_district = {r.key: r for r in stats.pay_districts}
    assert by_district[f"district-{districts['D1'].id}"].budget is None
    assert by_district[f"district-{districts['D1'].id}"].pay > 0


async def test_another_municipalitys_election_is_not_found(
    db: AsyncSession, other_tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(other_tenant.id):
        with pytest.raises(NotFound):
            await election_statistics(db, staffed.election.id)
        with pytest.raises(NotFound):
            await budgets.save_budget(db, ACTOR, staffed.election.id, "roles", {})


async def test_the_page_works_out_the_training_and_the_pay_places_once(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    """The page's slowest reads on a city: the places' training words (for the course
    completion and the funnel's trained step) and the pay per place (for the sums and
    the people computed one by one), each worked out in one statement."""
    from sqlalchemy import event

    await make_course(db, tenant, staffed.election, roles=("clerk",))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", count)
    try:
        with tenant_scope(tenant.id):
            stats = await election_statistics(db, staffed.election.id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert next(s for s in stats.funnel if s.step == "trained").people >= 0
    assert sum("course_requirements" in s for s in statements) == 1
    assert sum("pay_settlements" in s and "check_ins" in s for s in statements) == 1
