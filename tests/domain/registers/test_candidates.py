"""Candidates kept off: the import checks every row and saves all or nothing, matches
the register, and a matched person (or one the municipality excluded) is refused on
the board and left out by the optimiser."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain import autostaff
from app.domain.models import Candidate, CandidateList, PersonExclusion
from app.domain.registers import candidates, erasure, exclusions
from app.domain.staffing import assignments, board
from app.domain.staffing.assignments import StaffingError
from tests.factories import make_clerk, make_staffed_station

ACTOR = Actor(label="planner@lund.test")


def _file(*rows: str) -> bytes:
    return ("förnamn;efternamn;personnummer;födelsedatum;parti;lista\n" + "".join(rows)).encode()


async def _world(db: AsyncSession, tenant: Tenant) -> dict:
    s = await make_staffed_station(db, tenant)
    s["candidate"] = await make_clerk(
        db, tenant, s["election"], first_name="Karin", last_name="Kandidat"
    )
    s["twin"] = await make_clerk(
        db, tenant, s["election"], first_name="Nils", last_name="Namnsson", national_id=""
    )
    s["fits"] = await make_clerk(db, tenant, s["election"], first_name="Fri", last_name="Fransson")
    return s


async def _import(db: AsyncSession, tenant: Tenant, s: dict, content: bytes) -> object:
    with tenant_scope(tenant.id), locale_scope("en"):
        staged = await candidates.stage_candidates(
            db, ACTOR, s["election"].id, "kandidater.csv", content
        )
        if not staged.ok:
            return staged
        return await candidates.commit_candidates(db, ACTOR, staged.batch.id)


async def test_it_imports_a_list_matches_the_register_and_the_board_refuses_the_candidate(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    person = s["candidate"]
    content = _file(
        f"Karin;Kandidat;{person.national_id};;Gröna partiet;Kommunlistan\n",
        "Nils;Namnsson;;1980-01-01;Blå partiet;\n",  # birth date only: a likely match
        "Okänd;Person;;1970-05-05;Röda partiet;\n",  # no one in the register
    )
    # The twin has no identity number: give the birth date the row names.
    with tenant_scope(tenant.id):
        s["twin"].birth_date = dt.date(1980, 1, 1)
        await db.commit()
    preview = await _import(db, tenant, s, content)
    assert preview.ok, preview.problems
    assert [(m.row, m.person_id, m.matched_by) for m in preview.matches] == [
        (2, person.id, "national_id"),
        (3, s["twin"].id, "name_birth_date"),
    ]
    assert preview.unmatched == 1
    with tenant_scope(tenant.id), locale_scope("en"):
        assert await db.scalar(select(func.count(Candidate.id))) == 3
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "elections.candidates.imported")
        )
        assert entry is not None and entry.data["matched_people"] == sorted(
            [person.id, s["twin"].id]
        )
        # The identity number is in no audit entry.
        assert person.national_id not in str(entry.data)
        with pytest.raises(StaffingError) as refused:
            await assignments.assign_person(
                db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id, override=True
            )
        assert [b.rule for b in refused.value.broken] == ["kept_off"]
        assert not refused.value.overridable
        message = refused.value.broken[0].message
        assert "Gröna partiet" in message and "kandidater.csv, row 2" in message
        assert "matched by identity number" in message
        _slot, listed = await board.candidates(db, s["early"].id, s["roles"]["clerk"].id, "Kand")
        assert listed[0].blocked and listed[0].broken[0].rule == "kept_off"
        # Someone not on the list is placed as before.
        await assignments.assign_person(
            db, ACTOR, s["early"].id, s["roles"]["clerk"].id, s["fits"].id
        )


async def test_the_optimiser_leaves_candidates_and_excluded_people_out(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    await _import(db, tenant, s, _file(f"Karin;Kandidat;{s['candidate'].national_id};;P;\n"))
    with tenant_scope(tenant.id), locale_scope("en"):
        await exclusions.exclude_person(db, ACTOR, s["twin"].id, "Threatened voters in 2022")
        problem = await autostaff.load_problem(db, s["election"].id)
    ids = {candidate.id for candidate in problem.candidates}
    assert s["fits"].id in ids
    assert s["candidate"].id not in ids and s["twin"].id not in ids


async def test_a_bad_file_gives_row_errors_and_saves_nothing(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    content = (
        "förnamn;efternamn;personnummer;födelsedatum;parti;skostorlek\n"
        "Karin;Kandidat;19800101-0000;;P;42\n"  # a wrong check digit
        ";;;1980-01-01;P;41\n"  # no name
        "Bo;Berg;;1 maj;P;40\n"  # a birth date that is no date
        "Cecilia;Dahl;;;P;39\n"  # neither number nor birth date
    ).encode()
    preview = await _import(db, tenant, s, content)
    assert not preview.ok
    rows = sorted({(row, column) for row, column, _message in preview.problems})
    assert rows == [
        (1, "skostorlek"),
        (2, "national_id"),
        (3, "name"),
        (4, "birth_date"),
        (5, "birth_date"),
    ]
    with tenant_scope(tenant.id), locale_scope("en"):
        assert await db.scalar(select(func.count(Candidate.id))) == 0
        assert await db.scalar(select(func.count(CandidateList.id))) == 0
        # Confirming the same file again saves nothing either.
        again = await candidates.commit_candidates(db, ACTOR, preview.batch.id)
        assert not again.ok
        assert await db.scalar(select(func.count(Candidate.id))) == 0


async def test_an_exclusion_blocks_is_audited_and_can_be_lifted(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    person = s["fits"]
    with tenant_scope(tenant.id), locale_scope("en"):
        with pytest.raises(FieldErrors) as empty:
            await exclusions.exclude_person(db, ACTOR, person.id, "   ")
        assert "reason" in empty.value.errors
        exclusion = await exclusions.exclude_person(db, ACTOR, person.id, "Works for a party")
        with pytest.raises(StaffingError) as refused:
            await assignments.assign_person(
                db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id, override=True
            )
        message = refused.value.broken[0].message
        assert "Excluded by the municipality: Works for a party (planner@lund.test" in message
        await exclusions.lift_exclusion(db, ACTOR, person.id, exclusion.id)
        codes = list(
            await db.scalars(
                select(AuditEntry.code)
                .where(AuditEntry.code.like("people.exclusion.%"))
                .order_by(AuditEntry.id)
            )
        )
        assert codes == ["people.exclusion.added", "people.exclusion.lifted"]
        await assignments.assign_person(db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id)


async def test_another_municipalitys_list_and_person_are_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    preview = await _import(db, tenant, s, _file(f"K;K;{s['candidate'].national_id};;P;\n"))
    other = await make_staffed_station(db, other_tenant)
    with tenant_scope(other_tenant.id), locale_scope("en"):
        with pytest.raises(NotFound):
            await candidates.get_candidate_list(db, other["election"].id, preview.list_id)
        with pytest.raises(NotFound):
            await candidates.preview_candidates(db, preview.batch.id)
        with pytest.raises(NotFound):
            await exclusions.exclude_person(db, ACTOR, s["fits"].id, "No")
    with tenant_scope(tenant.id):
        kept, rows = await candidates.get_candidate_list(db, s["election"].id, preview.list_id)
        assert kept.filename == "kandidater.csv" and rows[0][1].id == s["candidate"].id


async def test_erasure_deletes_the_candidate_rows_and_exclusions_of_the_person(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    person = s["candidate"]
    await _import(db, tenant, s, _file(f"Karin;Kandidat;{person.national_id};;P;\n"))
    with tenant_scope(tenant.id), locale_scope("en"):
        await exclusions.exclude_person(db, ACTOR, person.id, "Asked not to be called")
        await erasure.erase_person(db, ACTOR, person.id, "request")
        assert await db.scalar(select(func.count(Candidate.id))) == 0
        assert await db.scalar(select(func.count(PersonExclusion.id))) == 0


async def test_retention_deletes_the_lists_of_elections_long_past(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _world(db, tenant)
    await _import(db, tenant, s, _file(f"Karin;Kandidat;{s['candidate'].national_id};;P;\n"))
    day = s["election"].election_day
    with tenant_scope(tenant.id):
        kept = await candidates.erase_past_candidate_lists(db, ACTOR, day + dt.timedelta(days=90))
        assert kept == 0
        assert await db.scalar(select(func.count(Candidate.id))) == 1
        gone = await candidates.erase_past_candidate_lists(db, ACTOR, day + dt.timedelta(days=91))
        assert gone == 1
        assert await db.scalar(select(func.count(Candidate.id))) == 0
