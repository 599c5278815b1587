"""The population register: an extract file read in either layout, row-level problems
that save nothing, and a refresh that changes names, addresses and flags, marks
protected identity, keeps the dead off the stations and audits every lookup and change
without an identity number, name or address in the log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from app.core.audit import Actor
from app.core.errors import DomainError
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.domain import autostaff
from app.domain.models import Person
from app.domain.registers.population import MemoryRegister, RegisterEntry
from app.domain.registers.population import refresh as population
from app.domain.registers.population.extract import FIXED_LAYOUT, read_rows
from app.domain.staffing import assignments, board
from app.domain.staffing.assignments import StaffingError
from tests.factories import make_clerk, make_person, make_staffed_station

ACTOR = Actor(label="planner@lund.test")
#: Any day far from midnight and from the elections the factories make.
TODAY = dt.date(2026, 3, 2)
HEADER = (
    "personnummer;förnamn;efternamn;utdelningsadress;postnummer;postort;skyddad;avliden;utflyttad\n"
)


def personnummer(born: dt.date, serial: int) -> str:
    body = f"{born:%y%m%d}{serial:03d}"
    return f"{born:%Y}{body[2:]}{luhn.calc_check_digit(body)}"


def fixed_line(**values: str) -> str:
    line = [" "] * 156
    for name, start, length in FIXED_LAYOUT:
        text = values.get(name, "")[:length]
        line[start : start + len(text)] = list(text)
    return "".join(line).rstrip()


def test_both_layouts_read_the_same_person() -> None:
    number = personnummer(dt.date(1980, 1, 1), 123)
    csv_rows = [
        {
            "personnummer": number, "förnamn": "Eva", "efternamn": "Ek",
            "utdelningsadress": "Storgatan 1", "postnummer": "22222", "postort": "Lund",
            "skyddad": "J", "avliden": "", "utflyttad": "20260115",
        }
    ]  # fmt: skip
    fixed_rows = [
        {
            "line": fixed_line(
                national_id=number, first_name="Eva", last_name="Ek",
                street_address="Storgatan 1", postal_code="22222", city="Lund",
                protected="J", moved_out_on="20260115",
            )
        }
    ]  # fmt: skip
    from_csv = read_rows(csv_rows, False, "SE")
    from_fixed = read_rows(fixed_rows, True, "SE")
    assert from_csv.ok and from_fixed.ok, (from_csv.problems, from_fixed.problems)
    assert [e for _r, e in from_csv.entries] == [e for _r, e in from_fixed.entries]
    entry = from_csv.entries[0][1]
    assert entry.protected and entry.moved_out_on == dt.date(2026, 1, 15)
    assert entry.birth_date == dt.date(1980, 1, 1)


def test_unknown_columns_and_unreadable_rows_are_problems_at_their_row() -> None:
    with locale_scope("en"):
        unknown = read_rows(
            [{"personnummer": "x", "förnamn": "A", "efternamn": "B", "skostorlek": "42"}],
            False,
            "SE",
        )
        rows = read_rows(
            [
                {"personnummer": "19800101-0000", "förnamn": "A", "efternamn": "B"},
                {"personnummer": personnummer(dt.date(1980, 1, 1), 1), "förnamn": "", "efternamn": "B"},
                {"personnummer": personnummer(dt.date(1980, 1, 1), 2), "förnamn": "A", "efternamn": "B", "skyddad": "kanske"},
                {"personnummer": personnummer(dt.date(1980, 1, 1), 3), "förnamn": "A", "efternamn": "B", "avliden": "igår"},
                {"personnummer": personnummer(dt.date(1980, 1, 1), 4), "förnamn": "A", "efternamn": "B"},
                {"personnummer": personnummer(dt.date(1980, 1, 1), 4), "förnamn": "A", "efternamn": "B"},
            ],
            False,
            "SE",
        )  # fmt: skip
        fixed = read_rows([{"line": "x" * 200}], True, "SE")
    assert unknown.problems == [(1, "skostorlek", "Unknown column skostorlek.")]
    assert [(row, column) for row, column, _m in rows.problems] == [
        (2, "national_id"), (3, "first_name"), (4, "protected"), (5, "died_on"), (7, "national_id"),
    ]  # fmt: skip
    assert fixed.problems[0][0] == 1 and "156" in fixed.problems[0][2]


async def _world(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    s = await make_staffed_station(db, tenant)
    election_day = s["election"].election_day
    s["renamed"] = await make_clerk(db, tenant, s["election"], first_name="Gun", last_name="Gift")
    s["dead"] = await make_clerk(db, tenant, s["election"], first_name="Dag", last_name="Död")
    s["moved"] = await make_clerk(db, tenant, s["election"], first_name="Flytt", last_name="Fors")
    s["hidden"] = await make_clerk(
        db, tenant, s["election"], first_name="Sara", last_name="Skydd",
        street_address="Hemliga vägen 7", postal_code="222 99", city="Lund",
    )  # fmt: skip
    s["young"] = await make_person(
        db, tenant, first_name="Ung", last_name="Ungsson",
        national_id=personnummer(election_day.replace(year=election_day.year - 17), 45),
    )  # fmt: skip
    s["absent"] = await make_clerk(db, tenant, s["election"], first_name="Ej", last_name="Med")
    with tenant_scope(tenant.id):
        s["hidden"].latitude, s["hidden"].longitude = 55.7, 13.2
        await db.commit()
    return s


def _entries(s: dict[str, Any]) -> list[RegisterEntry]:
    def entry(person: Any, **changes: Any) -> RegisterEntry:
        return RegisterEntry(
            national_id=person.national_id,
            first_name=changes.pop("first_name", person.first_name),
            last_name=changes.pop("last_name", person.last_name),
            birth_date=person.birth_date,
            street_address=changes.pop("street_address", person.street_address),
            postal_code=changes.pop("postal_code", person.postal_code),
            city=changes.pop("city", person.city),
            **changes,
        )

    return [
        entry(s["renamed"], last_name="Gran", street_address="Nya gatan 2", postal_code="223 50", city="Lund"),
        entry(s["dead"], died_on=dt.date(2026, 2, 1)),
        entry(s["moved"], moved_out_on=dt.date(2026, 1, 20)),
        entry(s["hidden"], protected=True, street_address="", postal_code="", city=""),
        entry(s["young"]),
    ]  # fmt: skip


async def test_a_refresh_writes_every_change_flags_people_and_audits_without_personal_data(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    register = MemoryRegister(_entries(s), source="SPAR (test)")
    with tenant_scope(tenant.id), locale_scope("en"):
        done = await population.refresh_people(db, ACTOR, register, "SE", TODAY)
        assert done.looked_up == 6 and done.found == 5
        by_person = {change.person_id: change for change in done.changes}
        assert by_person[s["renamed"].id].fields == ["name", "address"]
        assert by_person[s["dead"].id].fields == ["died"]
        assert by_person[s["moved"].id].fields == ["moved_out"]
        assert by_person[s["hidden"].id].fields == ["protected", "address"]
        assert by_person[s["young"].id].under_age and not by_person[s["young"].id].fields
        assert s["absent"].id not in by_person
        # Every number asked about was of this municipality's people, each once.
        assert sorted(register.asked) == sorted(
            p.national_id for p in (s["renamed"], s["dead"], s["moved"], s["hidden"], s["young"], s["absent"])
        )  # fmt: skip
        people = {
            p.id: p
            for p in await db.scalars(select(Person).execution_options(populate_existing=True))
        }
        renamed, hidden = people[s["renamed"].id], people[s["hidden"].id]
        assert (renamed.last_name, renamed.search_name, renamed.street_address) == (
            "Gran",
            "gun gran",
            "Nya gatan 2",
        )
        assert people[s["dead"].id].died_on == dt.date(2026, 2, 1)
        assert people[s["moved"].id].moved_out_on == dt.date(2026, 1, 20)
        assert hidden.address_protected
        assert (hidden.street_address, hidden.postal_code, hidden.city) == ("", "", "")
        assert hidden.latitude is None and hidden.longitude is None
        assert people[s["young"].id].register_checked_at is not None
        assert people[s["absent"].id].register_checked_at is None
        entries = list(await db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    codes = [entry.code for entry in entries]
    assert codes.count("people.person.register_refreshed") == 4
    assert codes[-1] == "people.register.refreshed"
    assert entries[-1].data == {"source": "SPAR (test)", "looked_up": 6, "found": 5, "changed": 4}
    logged = " ".join(str(entry.data) for entry in entries if "register" in entry.code)
    for secret in (s["hidden"].national_id, "Hemliga", "Gran", "Nya gatan", s["dead"].national_id):
        assert secret not in logged


async def test_the_dead_are_kept_off_and_the_moved_warned_about_on_the_board(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        # The one who moved was placed before the register said so.
        await assignments.assign_person(
            db, ACTOR, s["early"].id, s["roles"]["clerk"].id, s["moved"].id
        )
        await population.refresh_people(db, ACTOR, MemoryRegister(_entries(s)), "SE", TODAY)
        problem = await autostaff.load_problem(db, s["election"].id)
        ids = {candidate.id for candidate in problem.candidates}
        assert s["dead"].id not in ids and s["young"].id not in ids
        # (The one who moved holds a place that day already: not offered again.)
        assert s["renamed"].id in ids and s["hidden"].id in ids
        with pytest.raises(StaffingError) as refused:
            await assignments.assign_person(
                db, ACTOR, s["early"].id, s["roles"]["clerk"].id, s["dead"].id, override=True
            )
        assert [b.rule for b in refused.value.broken] == ["died"]
        drawn = await board.staffing_board(db, s["election"].id, board.BoardFilters())
    holders = [h for st in drawn.stations for sh in st.shifts for c in sh.cells for h in c.holders]
    assert [(h.person_id, h.register_flags) for h in holders] == [(s["moved"].id, ["moved_out"])]


async def test_the_register_never_lifts_protection_and_a_file_is_used_once(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    hidden = s["hidden"]
    with tenant_scope(tenant.id), locale_scope("en"):
        hidden.address_protected = True
        await db.commit()
        content = (
            HEADER + f"{hidden.national_id};Sara;Skydd;Öppna gatan 1;222 20;Lund;N;;\n"
        ).encode()
        staged = await population.stage_extract(db, ACTOR, "spar.csv", content, "SE", TODAY)
        assert staged.ok and staged.refresh is not None
        await population.commit_extract(db, ACTOR, staged.batch.id, "SE", TODAY)
        await db.refresh(hidden)
        assert hidden.address_protected
        assert "Öppna" not in hidden.street_address
        with pytest.raises(DomainError):
            await population.commit_extract(db, ACTOR, staged.batch.id, "SE", TODAY)
        codes = list(await db.scalars(select(AuditEntry.code).order_by(AuditEntry.id)))
    assert "people.register.looked_up" in codes and codes[-1] == "people.register.refreshed"


async def test_a_bad_extract_saves_nothing(db: AsyncSession, tenant: Tenant) -> None:
    s = await _world(db, tenant)
    dead = s["dead"]
    content = (
        HEADER.replace("\n", ";skonummer\n") + f"{dead.national_id};Dag;Död;;;;N;20260201;;42\n"
    ).encode()
    with tenant_scope(tenant.id), locale_scope("en"):
        staged = await population.stage_extract(db, ACTOR, "spar.csv", content, "SE", TODAY)
        assert not staged.ok and staged.refresh is None
        assert staged.reading.problems == [(1, "skonummer", "Unknown column skonummer.")]
        again = await population.commit_extract(db, ACTOR, staged.batch.id, "SE", TODAY)
        assert not again.ok
        await db.refresh(dead)
        assert dead.died_on is None and dead.register_checked_at is None


async def test_another_municipalitys_extract_is_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        staged = await population.stage_extract(
            db, ACTOR, "spar.csv", (HEADER + f"{personnummer(dt.date(1980, 1, 1), 5)};A;B;;;;;;\n").encode(), "SE", TODAY
        )  # fmt: skip
    with tenant_scope(other_tenant.id), pytest.raises(Exception) as missing:
        await population.preview_extract(db, staged.batch.id, "SE", TODAY)
    assert type(missing.value).__name__ == "NotFound"


async def test_a_dry_run_writes_only_its_lookup_to_the_audit_log(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    with tenant_scope(tenant.id):
        done = await population.look_up_people(
            db, ACTOR, MemoryRegister(_entries(s), source="dry"), "SE", TODAY
        )
        assert done.count("died") == 1
        await db.refresh(s["dead"])
        assert s["dead"].died_on is None
        entry = await db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry is not None and entry.code == "people.register.looked_up"
    assert entry.data == {"source": "dry", "looked_up": 6, "found": 5}
