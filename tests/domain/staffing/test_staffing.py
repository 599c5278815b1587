"""Assignments and their rules, reserves, last election's team, offers and the board."""

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.models import AuditEntry, OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment
from app.domain.staffing import assignments, board, offers, overview
from app.domain.staffing.assignments import StaffingError
from tests.factories import make_clerk, make_person, make_staffed_station

ACTOR = Actor(label="planner@lund.test")


async def _assign(
    db: AsyncSession, tenant: Tenant, shift: Any, role: Any, person: Any, **kwargs: Any
) -> Assignment:
    with tenant_scope(tenant.id):
        return await assignments.assign_person(db, ACTOR, shift.id, role.id, person.id, **kwargs)


async def _refused(
    db: AsyncSession, tenant: Tenant, shift: Any, role: Any, person: Any, **kwargs: Any
) -> StaffingError:
    with pytest.raises(StaffingError) as caught:
        await _assign(db, tenant, shift, role, person, **kwargs)
    return caught.value


async def test_it_proposes_a_person_who_keeps_every_rule(db: AsyncSession, tenant: Tenant) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    assignment = await _assign(db, tenant, s["early"], s["roles"]["clerk"], person)
    assert (assignment.state, assignment.source, assignment.overrides) == (
        "proposed",
        "manual",
        [],
    )
    with tenant_scope(tenant.id):
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "staffing.assignment.created")
        )
    assert entry is not None and entry.data["role"] == "clerk"


async def test_it_refuses_overlapping_shifts_even_with_an_override(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, s["election"], name="Biblioteket")
    person = await make_clerk(db, tenant, s["election"])
    await _assign(db, tenant, s["early"], s["roles"]["clerk"], person)
    error = await _refused(db, tenant, other["late"], s["roles"]["clerk"], person, override=True)
    assert [b.rule for b in error.broken] == ["overlap"]
    assert not error.overridable
    assert "Hamnskolan" in error.message
    # The same shift twice is refused too.
    again = await _refused(db, tenant, s["early"], s["roles"]["chair"], person, override=True)
    assert not again.overridable


async def test_it_refuses_someone_under_18_or_of_unknown_age(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    day = s["election"].election_day
    young_birth = day - dt.timedelta(days=365 * 17)
    from stdnum import luhn

    body = f"{young_birth:%y%m%d}123"
    young = await make_clerk(
        db,
        tenant,
        s["election"],
        national_id=f"{young_birth:%Y}{body[2:]}{luhn.calc_check_digit(body)}",
    )
    error = await _refused(db, tenant, s["early"], s["roles"]["clerk"], young, override=True)
    assert [b.rule for b in error.broken] == ["age"]
    unknown = await make_person(db, tenant, first_name="Okänd")
    error = await _refused(db, tenant, s["early"], s["roles"]["clerk"], unknown, override=True)
    assert "age" in [b.rule for b in error.broken]


async def test_it_refuses_more_than_the_norm_and_roles_without_a_norm(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    chair = s["roles"]["chair"]
    await _assign(db, tenant, s["early"], chair, await make_clerk(db, tenant, s["election"]))
    error = await _refused(
        db, tenant, s["early"], chair, await make_clerk(db, tenant, s["election"]), override=True
    )
    assert [b.rule for b in error.broken] == ["norm"]
    error = await _refused(
        db, tenant, s["late"], chair, await make_clerk(db, tenant, s["election"]), override=True
    )
    assert [b.rule for b in error.broken] == ["norm"]


async def test_it_lets_a_planner_override_availability_and_wishes_and_audits_it(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    clerk = s["roles"]["clerk"]
    unavailable = await make_clerk(db, tenant, s["election"], kinds=())
    error = await _refused(db, tenant, s["early"], clerk, unavailable)
    assert error.overridable and [b.rule for b in error.broken] == ["availability"]
    no_counting = await make_clerk(db, tenant, s["election"], kinds=("election_day",))
    error = await _refused(db, tenant, s["late"], clerk, no_counting)
    assert [b.rule for b in error.broken] == ["availability"]  # the late shift counts
    assignment = await _assign(db, tenant, s["early"], clerk, unavailable, override=True)
    assert assignment.overrides == ["availability"]
    with tenant_scope(tenant.id):
        entry = await db.scalar(
            select(AuditEntry)
            .where(AuditEntry.code == "staffing.assignment.created")
            .order_by(AuditEntry.id.desc())
        )
    assert entry is not None and entry.data["overrides"] == ["availability"]


async def test_it_treats_a_district_wish_as_a_soft_rule(db: AsyncSession, tenant: Tenant) -> None:
    from app.domain.models import District, DistrictPreference

    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        other = await db.scalar(
            select(District).where(
                District.election_id == s["election"].id, District.id != s["district"].id
            )
        )
        assert other is not None
        db.add(DistrictPreference(person_id=person.id, district_id=other.id))
        await db.commit()
    error = await _refused(db, tenant, s["early"], s["roles"]["clerk"], person)
    assert error.overridable and [b.rule for b in error.broken] == ["district_preference"]


async def test_it_withdraws_and_frees_the_place(db: AsyncSession, tenant: Tenant) -> None:
    s = await make_staffed_station(db, tenant)
    chair = s["roles"]["chair"]
    first = await _assign(
        db, tenant, s["early"], chair, await make_clerk(db, tenant, s["election"])
    )
    with tenant_scope(tenant.id):
        await assignments.withdraw_assignment(db, ACTOR, first.id)
        with pytest.raises(StaffingError):
            await assignments.withdraw_assignment(db, ACTOR, first.id)
    await _assign(db, tenant, s["early"], chair, await make_clerk(db, tenant, s["election"]))


async def test_it_shows_what_is_missing_on_the_board(db: AsyncSession, tenant: Tenant) -> None:
    s = await make_staffed_station(db, tenant)
    await _assign(
        db, tenant, s["early"], s["roles"]["clerk"], await make_clerk(db, tenant, s["election"])
    )
    with tenant_scope(tenant.id):
        result = await board.staffing_board(db, s["election"].id, board.BoardFilters())
        summaries = await overview.district_summaries(db, s["election"].id)
    (row,) = result.stations
    early, late = row.shifts
    cells = {cell.role_code: cell for cell in early.cells}
    assert (cells["clerk"].filled, cells["clerk"].status) == (1, "missing")
    assert early.lacks_lead and late.lacks_lead
    assert row.status == "missing"
    assert result.totals == {"places": 7, "filled": 1, "missing_minimum": 3, "stations_missing": 1}
    summary = next(x for x in summaries if x.district_id == s["district"].id)
    assert (summary.places, summary.filled, summary.missing_minimum) == (7, 1, 3)
    with tenant_scope(tenant.id):
        full_only = await board.staffing_board(
            db, s["election"].id, board.BoardFilters(unfilled_only=True, day=dt.date(2000, 1, 1))
        )
    assert full_only.stations == []


async def test_it_suggests_available_people_with_their_reasons(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    fits = await make_clerk(db, tenant, s["election"], first_name="Passar")
    await make_clerk(db, tenant, s["election"], kinds=(), first_name="Borta")
    busy = await make_clerk(db, tenant, s["election"], first_name="Upptagen")
    await _assign(db, tenant, s["early"], s["roles"]["clerk"], busy)
    with tenant_scope(tenant.id):
        _slot, suggested = await board.candidates(db, s["late"].id, s["roles"]["clerk"].id)
        _slot, searched = await board.candidates(db, s["late"].id, s["roles"]["clerk"].id, "Upp")
    assert [c.person.id for c in suggested] == [fits.id]
    assert suggested[0].broken == []
    assert searched[0].blocked and searched[0].broken[0].rule == "overlap"


async def test_it_offers_and_takes_the_answer_from_the_link(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    one = await _assign(
        db, tenant, s["early"], s["roles"]["clerk"], await make_clerk(db, tenant, s["election"])
    )
    two = await _assign(
        db, tenant, s["early"], s["roles"]["clerk"], await make_clerk(db, tenant, s["election"])
    )
    with tenant_scope(tenant.id):
        sent = await offers.send_offers(db, ACTOR, tenant, [one.id, two.id], "http://x.test")
    assert sent == 2
    mails = list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    tokens = [m.body_text.split("/lund/offer?token=")[1].split()[0] for m in mails]
    with tenant_scope(tenant.id):
        accepted = await offers.answer_offer(db, tokens[0], True)
        declined = await offers.answer_offer(db, tokens[1], False, "Sjuk")
        with pytest.raises(StaffingError):
            await offers.answer_offer(db, tokens[0], False)
        result = await board.staffing_board(db, s["election"].id, board.BoardFilters())
    assert accepted.assignment.state == "accepted"
    assert declined.assignment.state == "declined"
    assert declined.assignment.decline_reason == "Sjuk"
    cells = {c.role_code: c for c in result.stations[0].shifts[0].cells}
    assert [h.state for h in cells["clerk"].holders] == ["accepted"]  # the decline freed it


async def test_it_keeps_reserves_and_refuses_the_same_person_twice(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        reserve = await assignments.add_reserve(
            db, ACTOR, s["election"].id, person.id, s["district"].id
        )
        with pytest.raises(StaffingError):
            await assignments.add_reserve(db, ACTOR, s["election"].id, person.id)
        pool = await assignments.reserve_pool(db, s["election"].id)
        assert [(r.id, p.id) for r, p, _d in pool] == [(reserve.id, person.id)]
        await assignments.remove_reserve(db, ACTOR, s["election"].id, reserve.id)
        assert await assignments.reserve_pool(db, s["election"].id) == []


async def test_it_proposes_last_elections_team_again(db: AsyncSession, tenant: Tenant) -> None:
    from app.domain.elections.rollover import roll_over

    s = await make_staffed_station(db, tenant)
    chair = await make_clerk(db, tenant, s["election"])
    clerk = await make_clerk(db, tenant, s["election"])
    clerk_name = clerk.full_name
    for shift, role, person in ((s["early"], "chair", chair), (s["early"], "clerk", clerk)):
        assignment = await _assign(db, tenant, shift, s["roles"][role], person)
        with tenant_scope(tenant.id):
            assignment.state = "accepted"
            await db.commit()
    next_day = s["election"].election_day + dt.timedelta(days=364)
    with tenant_scope(tenant.id):
        following = await roll_over(
            db,
            ACTOR,
            s["election"].id,
            {"name": "Nästa val", "kind": "municipal", "election_day": next_day.isoformat()},
        )
        from app.domain.models import Availability, Station

        db.add_all(
            Availability(
                person_id=p.id, election_id=following.id, day=next_day, work_kind="election_day"
            )
            for p in (chair,)
        )
        await db.commit()
        station = await db.scalar(select(Station).where(Station.election_id == following.id))
        assert station is not None
        result = await assignments.propose_last_team(db, ACTOR, station.id)
    assert result.proposed == 1
    # The clerk has not said they can work the next election yet.
    assert [name for name, _reason in result.skipped] == [clerk_name]


async def test_it_keeps_each_tenants_staffing_apart(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    assignment = await _assign(db, tenant, s["early"], s["roles"]["clerk"], person)
    with tenant_scope(other_tenant.id):
        with pytest.raises(NotFound):
            await assignments.withdraw_assignment(db, ACTOR, assignment.id)
        with pytest.raises(NotFound):
            await assignments.assign_person(
                db, ACTOR, s["late"].id, s["roles"]["clerk"].id, person.id
            )
        with pytest.raises(NotFound):
            await board.staffing_board(db, s["election"].id, board.BoardFilters())


async def test_it_offers_only_what_is_still_proposed_and_removes_reserves_of_its_election(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, name="Annat val")
    proposal = await _assign(
        db, tenant, s["early"], s["roles"]["clerk"], await make_clerk(db, tenant, s["election"])
    )
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        await assignments.withdraw_assignment(db, ACTOR, proposal.id)
        assert await offers.send_offers(db, ACTOR, tenant, [proposal.id], "http://x.test") == 0
        reserve = await assignments.add_reserve(db, ACTOR, s["election"].id, person.id)
        with pytest.raises(NotFound):
            await assignments.remove_reserve(db, ACTOR, other["election"].id, reserve.id)


async def test_it_texts_the_offer_too_without_the_secret_link(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], mobile="0701234567")
    proposal = await _assign(db, tenant, s["early"], s["roles"]["clerk"], person)
    with tenant_scope(tenant.id):
        await offers.send_offers(db, ACTOR, tenant, [proposal.id], "http://x.test")
    rows = {m.channel: m for m in await owner_db.scalars(select(OutboxMessage))}
    assert set(rows) == {"email", "sms"}
    assert rows["sms"].recipient == "+46701234567"
    assert "offer?token=" not in rows["sms"].body_text and "Lunds kommun" in rows["sms"].body_text
