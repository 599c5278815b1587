"""A likely candidate match (name and birth date) the office finds to be someone else is
dismissed with a reason: audited, and the person is no longer kept off; a certain match
cannot be, a reason is required, another list's row is not found, and a new file of the
same name keeps the decision."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import DomainError, NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Candidate, CandidateList
from app.domain.registers import candidates
from app.domain.staffing import assignments
from app.domain.staffing.kept_off import kept_off, kept_off_people
from tests.factories import make_clerk, make_staffed_station

ACTOR = Actor(label="planner@lund.test")
FILE = (
    "förnamn;efternamn;personnummer;födelsedatum;parti;lista\n"
    "Karin;Kandidat;{number};;Gröna partiet;\n"
    "Nils;Namnsson;;1980-01-01;Blå partiet;\n"
)


async def _imported(db: AsyncSession, tenant: Tenant) -> dict:
    s = await make_staffed_station(db, tenant)
    s["tenant_id"] = tenant.id
    s["certain"] = await make_clerk(
        db, tenant, s["election"], first_name="Karin", last_name="Kandidat"
    )
    s["likely"] = await make_clerk(
        db, tenant, s["election"], first_name="Nils", last_name="Namnsson", national_id=""
    )
    with tenant_scope(tenant.id):
        s["likely"].birth_date = dt.date(1980, 1, 1)
        await db.commit()
    s["number"], s["election_id"] = s["certain"].national_id, s["election"].id
    await _import(db, tenant, s)
    return s


async def _import(db: AsyncSession, tenant: Tenant, s: dict) -> None:
    content = FILE.format(number=s["number"]).encode()
    with tenant_scope(s["tenant_id"]), locale_scope("en"):
        staged = await candidates.stage_candidates(
            db, ACTOR, s["election_id"], "kandidater.csv", content
        )
        assert staged.ok, staged.problems
        saved = await candidates.commit_candidates(db, ACTOR, staged.batch.id)
        s["list_id"] = saved.list_id
        rows = list(await db.scalars(select(Candidate).where(Candidate.list_id == saved.list_id)))
        s["rows"] = {row.person_id: row for row in rows}


async def test_a_dismissed_likely_match_no_longer_keeps_the_person_off(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _imported(db, tenant)
    election, likely = s["election"], s["likely"]
    row = s["rows"][likely.id]
    with tenant_scope(tenant.id), locale_scope("en"):
        assert likely.id in await kept_off_people(db, election.id)
        await candidates.dismiss_match(
            db, ACTOR, election.id, s["list_id"], row.id, "  Born in Malmö,   not the candidate "
        )
        assert likely.id not in await kept_off_people(db, election.id)
        assert await kept_off(db, [likely.id], election.id) == {}
        # The certain one is still kept off.
        assert s["certain"].id in await kept_off_people(db, election.id)
        await assignments.assign_person(db, ACTOR, s["early"].id, s["roles"]["clerk"].id, likely.id)
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "elections.candidates.match_dismissed")
        )
        assert entry is not None and entry.object_id == str(row.id)
        assert entry.data["person"] == likely.id
        assert entry.data["reason"] == "Born in Malmö, not the candidate"
        kept = await db.get(Candidate, row.id)
        assert kept is not None and kept.dismissed_by_label == "planner@lund.test"


@pytest.mark.parametrize(
    ("which", "reason", "message"),
    [
        ("certain", "Not him", "A match by identity number is certain: it cannot be dismissed."),
        ("likely", "   ", "Say why the match is someone else."),
        ("likely", "x" * 501, "At most 500 characters."),
    ],
)
async def test_a_dismissal_is_refused_with_a_message_and_nothing_changes(
    db: AsyncSession, tenant: Tenant, which: str, reason: str, message: str
) -> None:
    s = await _imported(db, tenant)
    person_id, election_id, list_id = s[which].id, s["election"].id, s["list_id"]
    row_id, tenant_id = s["rows"][person_id].id, tenant.id
    with tenant_scope(tenant_id), locale_scope("en"):
        with pytest.raises(DomainError) as refused:
            await candidates.dismiss_match(db, ACTOR, election_id, list_id, row_id, reason)
        assert refused.value.message == message and refused.value.field == "reason"
        await db.rollback()
        assert person_id in await kept_off_people(db, election_id)
    with tenant_scope(tenant_id), locale_scope("sv"):
        with pytest.raises(DomainError) as swedish:
            await candidates.dismiss_match(db, ACTOR, election_id, list_id, row_id, reason)
        assert swedish.value.message != message


async def test_a_second_dismissal_is_refused_and_a_new_file_keeps_the_decision(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await _imported(db, tenant)
    likely_id, election_id, list_id = s["likely"].id, s["election"].id, s["list_id"]
    row_id, tenant_id = s["rows"][likely_id].id, tenant.id
    with tenant_scope(tenant_id), locale_scope("en"):
        await candidates.dismiss_match(db, ACTOR, election_id, list_id, row_id, "Other")
        with pytest.raises(DomainError, match="already been dismissed"):
            await candidates.dismiss_match(db, ACTOR, election_id, list_id, row_id, "Other")
        await db.rollback()
    # The rows this test holds would be stale once the list is replaced.
    db.expunge_all()
    await _import(db, tenant, s)
    with tenant_scope(tenant_id):
        assert await db.scalar(select(func.count(CandidateList.id))) == 1
        again = s["rows"][likely_id]
        assert again.list_id == s["list_id"] and again.dismissed_at is not None
        assert again.dismissal_reason == "Other"
        assert likely_id not in await kept_off_people(db, election_id)


async def test_another_municipalitys_or_lists_row_is_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    s = await _imported(db, tenant)
    row = s["rows"][s["likely"].id]
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await candidates.dismiss_match(db, ACTOR, s["election"].id, s["list_id"], row.id, "x")
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await candidates.dismiss_match(db, ACTOR, s["election"].id, s["list_id"] + 99, row.id, "x")
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await candidates.dismiss_match(db, ACTOR, s["election"].id, s["list_id"], row.id + 99, "x")
