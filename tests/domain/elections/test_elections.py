import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.elections import elections
from app.domain.elections.districts import save_district
from app.domain.elections.norm_templates import apply_template, list_templates, save_template
from app.domain.elections.norms import set_norms
from app.domain.elections.opening_hours import set_opening
from app.domain.elections.rollover import preview_rollover, roll_over
from app.domain.elections.shifts import save_shift
from app.domain.elections.stations import save_station, structure
from app.domain.models import District, Election, RoleType, Shift, StaffingNorm, Station
from tests.factories import make_election, make_room

ACTOR = Actor.system("test")


async def _structure(db: AsyncSession, tenant: Tenant) -> tuple[Election, Station, Station]:
    election = await make_election(db, tenant)
    room = await make_room(db, tenant)
    with tenant_scope(tenant.id):
        district = await save_district(
            db, ACTOR, election.id, {"code": "0101", "name": "Centrum", "eligible_voters": "1 800"}
        )
        polling = await save_station(
            db,
            ACTOR,
            election.id,
            {
                "name": "Centrumskolan",
                "kind": "polling",
                "district_id": str(district.id),
                "room_id": str(room.id),
            },
        )
        advance = await save_station(
            db, ACTOR, election.id, {"name": "Stadshuset förtid", "kind": "advance"}
        )
    return election, polling, advance


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"advance_start": "2026-09-01", "advance_end": "2026-08-30"}, "advance_end"),
        ({"advance_start": "2026-09-01", "advance_end": "2026-09-14"}, "advance_end"),
        ({"advance_start": "2026-09-01", "advance_end": ""}, "advance_end"),
        ({"election_day": "13/9/2026"}, "election_day"),
        ({"kind": "president"}, "kind"),
    ],
)
async def test_it_refuses_impossible_election_dates(
    db: AsyncSession, tenant: Tenant, fields: dict[str, str], field: str
) -> None:
    with pytest.raises(FieldErrors) as caught:
        await make_election(db, tenant, **fields)
    assert field in caught.value.errors
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Election.id))) == 0


async def test_it_builds_districts_stations_shifts_and_norms(
    db: AsyncSession, tenant: Tenant
) -> None:
    election, polling, _advance = await _structure(db, tenant)
    with tenant_scope(tenant.id):
        await set_opening(
            db,
            ACTOR,
            election.id,
            polling.id,
            {"day": "2026-09-13", "opens_at": "8:00", "closes_at": "20:00"},
        )
        shift = await save_shift(
            db,
            ACTOR,
            election.id,
            polling.id,
            {"name": "Förmiddag", "day": "2026-09-13", "starts_at": "07:30", "ends_at": "14:00"},
        )
        await set_norms(
            db,
            ACTOR,
            election.id,
            polling.id,
            shift.id,
            {"min_chair": "1", "target_chair": "1", "min_clerk": "3", "target_clerk": "5"},
        )
        _election, stations = await structure(db, election.id)
    centre = stations[0]
    assert centre.district is not None and centre.district.eligible_voters == 1800
    norms = {n.role_type.code: (n.minimum, n.target) for n in centre.shifts[0].norms}
    assert norms == {"chair": (1, 1), "clerk": (3, 5)}
    assert [s.kind for s in stations] == ["polling", "advance"]


async def test_it_refuses_bad_structure_input(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    election, polling, advance = await _structure(db, tenant)
    foreign_room = await make_room(db, other_tenant)
    with tenant_scope(tenant.id):
        with pytest.raises(FieldErrors) as duplicate:
            await save_district(db, ACTOR, election.id, {"code": "0101", "name": "Again"})
        assert "code" in duplicate.value.errors
        with pytest.raises(FieldErrors) as no_district:
            await save_station(db, ACTOR, election.id, {"name": "X", "kind": "polling"})
        assert "district_id" in no_district.value.errors
        with pytest.raises(FieldErrors) as foreign:
            await save_station(
                db,
                ACTOR,
                election.id,
                {"name": "Y", "kind": "advance", "room_id": str(foreign_room.id)},
            )
        assert "room_id" in foreign.value.errors
        with pytest.raises(FieldErrors) as backwards:
            await save_shift(
                db,
                ACTOR,
                election.id,
                polling.id,
                {"name": "Kväll", "day": "2026-09-13", "starts_at": "20:00", "ends_at": "14:00"},
            )
        assert "ends_at" in backwards.value.errors
        with pytest.raises(FieldErrors) as wrong_day:
            await save_shift(
                db,
                ACTOR,
                election.id,
                polling.id,
                {"name": "Tidig", "day": "2026-09-01", "starts_at": "08:00", "ends_at": "12:00"},
            )
        assert "day" in wrong_day.value.errors
        with pytest.raises(FieldErrors) as target_low:
            shift = await save_shift(
                db,
                ACTOR,
                election.id,
                polling.id,
                {"name": "Dag", "day": "2026-09-13", "starts_at": "08:00", "ends_at": "12:00"},
            )
            await set_norms(
                db,
                ACTOR,
                election.id,
                polling.id,
                shift.id,
                {"min_clerk": "4", "target_clerk": "2"},
            )
        assert "target_clerk" in target_low.value.errors
        # An advance station may open any day of the period.
        await set_opening(
            db,
            ACTOR,
            election.id,
            advance.id,
            {"day": "2026-09-01", "opens_at": "10:00", "closes_at": "18:00"},
        )


async def test_it_applies_a_template_to_many_stations(db: AsyncSession, tenant: Tenant) -> None:
    election, polling, advance = await _structure(db, tenant)
    with tenant_scope(tenant.id):
        templates = {t.name: t for t in await list_templates(db)}
        standard = templates["Standardvallokal"]
        count = await apply_template(
            db, ACTOR, election.id, standard.id, [polling.id], dt.date(2026, 9, 13)
        )
        again = await apply_template(
            db, ACTOR, election.id, standard.id, [polling.id], dt.date(2026, 9, 13)
        )
        shifts = (await db.scalars(select(Shift).where(Shift.station_id == polling.id))).all()
        with pytest.raises(FieldErrors):
            await apply_template(
                db, ACTOR, election.id, standard.id, [advance.id], dt.date(2026, 9, 13)
            )
    assert count == again == 2
    assert sorted(s.name for s in shifts) == ["Eftermiddag", "Förmiddag"]


async def test_it_rolls_over_to_the_next_election_and_keeps_the_old_one(
    db: AsyncSession, tenant: Tenant
) -> None:
    election, polling, advance = await _structure(db, tenant)
    with tenant_scope(tenant.id):
        await set_opening(
            db,
            ACTOR,
            election.id,
            advance.id,
            {"day": "2026-08-26", "opens_at": "10:00", "closes_at": "18:00"},
        )
        await set_opening(
            db,
            ACTOR,
            election.id,
            advance.id,
            {"day": "2026-09-12", "opens_at": "10:00", "closes_at": "18:00"},
        )
        shift = await save_shift(
            db,
            ACTOR,
            election.id,
            polling.id,
            {"name": "Dag", "day": "2026-09-13", "starts_at": "07:00", "ends_at": "14:00"},
        )
        await set_norms(
            db, ACTOR, election.id, polling.id, shift.id, {"min_clerk": "3", "target_clerk": "4"}
        )
        target = {
            "name": "Kyrkovalet 2029",
            "kind": "church",
            "election_day": "2029-09-16",
            "advance_start": "2029-09-03",
            "advance_end": "2029-09-16",
        }
        preview = await preview_rollover(db, election.id, target)
        assert (preview.districts, preview.polling_stations, preview.advance_stations) == (1, 1, 1)
        assert (preview.shifts, preview.norms, preview.openings, preview.dropped_days) == (
            1,
            1,
            1,
            1,
        )
        new = await roll_over(db, ACTOR, election.id, target)
        copied = (
            await db.scalars(select(Shift).join(Station).where(Station.election_id == new.id))
        ).all()
        assert [(s.day, s.name) for s in copied] == [(dt.date(2029, 9, 16), "Dag")]
        assert (
            await db.scalar(select(func.count(District.id)).where(District.election_id == new.id))
            == 1
        )
        assert (
            await db.scalar(
                select(func.count(Station.id)).where(Station.election_id == election.id)
            )
            == 2
        )
        assert await db.scalar(select(func.count(StaffingNorm.id))) == 2
        assert new.rolled_over_from_id == election.id and new.status == "planning"


async def test_it_gives_every_municipality_default_role_types(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        codes = (await db.scalars(select(RoleType.code).order_by(RoleType.sort_order))).all()
        names = (await db.scalars(select(RoleType.name).order_by(RoleType.sort_order))).all()
    assert codes == ["chair", "vice_chair", "clerk", "reserve", "host"]
    assert names[0] == "Ordförande"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"election_day": "9999-12-31", "advance_start": "", "advance_end": ""}, "election_day"),
        ({"advance_start": "2026-01-01", "advance_end": "2026-09-13"}, "advance_start"),
    ],
)
async def test_it_bounds_election_dates(
    db: AsyncSession, tenant: Tenant, fields: dict[str, str], field: str
) -> None:
    with pytest.raises(FieldErrors) as caught:
        await make_election(db, tenant, **fields)
    assert field in caught.value.errors


async def test_it_refuses_a_second_template_of_the_same_name(
    db: AsyncSession, tenant: Tenant
) -> None:
    shifts = [{"name": "Dag", "starts_at": "08:00", "ends_at": "12:00", "norms": {"clerk": [1, 2]}}]
    with tenant_scope(tenant.id):
        await save_template(
            db, ACTOR, {"name": "Liten", "station_kind": "polling", "shifts": shifts}
        )
        with pytest.raises(FieldErrors) as caught:
            await save_template(
                db, ACTOR, {"name": "liten", "station_kind": "polling", "shifts": shifts}
            )
    assert "name" in caught.value.errors


async def test_it_refuses_date_changes_that_strand_shifts(db: AsyncSession, tenant: Tenant) -> None:
    election, polling, advance = await _structure(db, tenant)
    with tenant_scope(tenant.id):
        await save_shift(
            db,
            ACTOR,
            election.id,
            polling.id,
            {"name": "Dag", "day": "2026-09-13", "starts_at": "8", "ends_at": "12"},
        )
        await set_opening(
            db,
            ACTOR,
            election.id,
            advance.id,
            {"day": "2026-08-27", "opens_at": "10", "closes_at": "18"},
        )
        moved = {
            "name": election.name,
            "kind": election.kind,
            "election_day": "2026-09-20",
            "advance_start": "2026-09-01",
            "advance_end": "2026-09-20",
        }
        with pytest.raises(FieldErrors) as caught:
            await elections.save_election(db, ACTOR, moved, election.id)
        assert "2" in caught.value.errors["election_day"]
        # Making the advance station a polling station would strand its opening day too.
        with pytest.raises(FieldErrors):
            await save_station(
                db,
                ACTOR,
                election.id,
                {"name": advance.name, "kind": "polling", "district_id": str(polling.district_id)},
                advance.id,
            )
        # Widening the advance period is fine.
        await elections.save_election(
            db,
            ACTOR,
            {
                **moved,
                "election_day": "2026-09-13",
                "advance_start": "2026-08-20",
                "advance_end": "2026-09-13",
            },
            election.id,
        )


async def test_it_rolls_over_a_large_structure_in_one_write(
    db: AsyncSession, tenant: Tenant
) -> None:
    election, _polling, _advance = await _structure(db, tenant)
    with tenant_scope(tenant.id):
        for number in range(30):
            station = await save_station(
                db, ACTOR, election.id, {"name": f"Förtid {number}", "kind": "advance"}
            )
            await save_shift(
                db,
                ACTOR,
                election.id,
                station.id,
                {"name": "Dag", "day": "2026-09-01", "starts_at": "9", "ends_at": "17"},
            )
        new = await roll_over(
            db,
            ACTOR,
            election.id,
            {
                "name": "Nästa",
                "kind": "parliament",
                "election_day": "2030-09-08",
                "advance_start": "2030-08-21",
                "advance_end": "2030-09-08",
            },
        )
        copied = await db.scalar(
            select(func.count(Shift.id)).join(Station).where(Station.election_id == new.id)
        )
    assert copied == 30
