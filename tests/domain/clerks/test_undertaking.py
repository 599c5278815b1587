"""The confidentiality undertaking: required by the office, signed by the clerk, asked
again only when the office says so, marked on the board, and blocking check-in unless
a coordinator gives a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.clerks import undertaking
from app.domain.clerks.undertaking import UndertakingError
from app.domain.documents import texts
from app.domain.models import CheckIn, Person, UndertakingSignature
from app.domain.ops import OpsError
from app.domain.staffing import board
from app.domain.staffing.board import BoardFilters
from tests.domain.ops.test_checkins import _check_in, count, link_user, ops_day

OFFICE = Actor(label="planner@lund.test")


async def _require(db: AsyncSession, tenant: Tenant) -> None:
    with tenant_scope(tenant.id):
        await undertaking.set_required(db, OFFICE, True)


async def _person(db: AsyncSession, tenant: Tenant, person_id: int) -> Person:
    with tenant_scope(tenant.id):
        person = await db.scalar(select(Person).where(Person.id == person_id))
    assert person is not None
    return person


async def _sign(
    db: AsyncSession, tenant: Tenant, person: Person, **form: str
) -> UndertakingSignature:
    with tenant_scope(tenant.id), locale_scope("en"):
        shown = await undertaking.undertaking_text(db, person, form.get("locale", "sv"))
        data = {"locale": shown.locale, "digest": shown.digest, "agree": "1", **form}
        return await undertaking.sign_undertaking(
            db, Actor(label="clerk"), person, data, ip_address="192.0.2.7", user_agent="Phone"
        )


async def test_nobody_must_sign_until_the_office_requires_it(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    person = await _person(db, tenant, day.clerk_ids[0])
    with tenant_scope(tenant.id):
        assert not await undertaking.must_sign(db, person)
        assert await undertaking.unsigned_among(db, day.clerk_ids) == set()
    # Check-in works as before.
    done, _ = await _check_in(db, tenant, day, person.id, "k1")
    assert done.kind == "arrived"


async def test_a_clerk_signs_the_text_in_their_language_with_version_and_time(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    await _require(db, tenant)
    person = await _person(db, tenant, day.clerk_ids[0])
    with tenant_scope(tenant.id):
        assert await undertaking.must_sign(db, person)
        shown = await undertaking.undertaking_text(db, person, "sv")
    assert person.full_name in shown.text and "Tystnadsförbindelse" in shown.text

    # Not ticked, or a text changed since it was shown: refused, nothing written.
    with pytest.raises(UndertakingError) as refused:
        await _sign(db, tenant, person, agree="")
    assert "agree" in refused.value.errors
    with pytest.raises(UndertakingError):
        await _sign(db, tenant, person, digest="0" * 64)
    with tenant_scope(tenant.id):
        assert await db.scalar(select(UndertakingSignature.id)) is None

    signature = await _sign(db, tenant, person, locale="da")
    assert (signature.locale, signature.version_number, signature.version_id) == ("da", 0, None)
    assert (signature.ip_address, signature.user_agent) == ("192.0.2.7", "Phone")
    assert signature.signed_at.tzinfo is not None
    with tenant_scope(tenant.id):
        assert not await undertaking.must_sign(db, person)
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "clerks.undertaking.signed")
        )
    assert entry is not None and entry.data == {"person": person.id, "locale": "da", "version": 0}


async def test_a_new_version_asks_for_new_signatures_only_when_the_office_says_so(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    await _require(db, tenant)
    person = await _person(db, tenant, day.clerk_ids[0])
    await _sign(db, tenant, person)
    with tenant_scope(tenant.id), locale_scope("en"):
        version = await texts.save_text(
            db,
            OFFICE,
            undertaking.KEY,
            "sv",
            {"body": "Jag, {{ person.name }}, lovar tystnad i {{ municipality.name }}.\n"},
        )
        assert version is not None
        assert not await undertaking.must_sign(db, person)
        await undertaking.ask_to_sign_again(db, OFFICE)
        assert await undertaking.must_sign(db, person)
    again = await _sign(db, tenant, person)
    assert (again.version_number, again.version_id) == (1, version.id)
    with tenant_scope(tenant.id):
        assert not await undertaking.must_sign(db, person)
        status = await undertaking.undertaking_status(db)
    assert status.required and status.signed == 1 and status.unsigned == len(day.clerk_ids)


async def test_the_board_marks_who_has_not_signed(db: AsyncSession, tenant: Tenant) -> None:
    day = await ops_day(db, tenant)
    await _require(db, tenant)
    await _sign(db, tenant, await _person(db, tenant, day.chair_id))
    with tenant_scope(tenant.id), locale_scope("en"):
        shown = await board.staffing_board(db, day.election_id, BoardFilters())
    holders = {
        h.person_id: h.unsigned
        for row in shown.stations
        for shift_row in row.shifts
        for cell in shift_row.cells
        for h in cell.holders
    }
    assert holders == {day.chair_id: False, **{p: True for p in day.clerk_ids}}


async def test_check_in_is_refused_until_signed_unless_a_coordinator_gives_a_reason(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    day = await ops_day(db, tenant)
    await _require(db, tenant)
    mine, other = day.clerk_ids
    await link_user(db, tenant, mine, clerk)
    me = Actor.for_user(clerk)
    with locale_scope("en"), pytest.raises(OpsError) as refused:
        await _check_in(db, tenant, day, mine, "a", actor=me, source="portal")
    assert "has not signed the confidentiality undertaking" in refused.value.message
    # A clerk cannot override for themselves.
    with locale_scope("en"), pytest.raises(OpsError) as refused:
        await _check_in(
            db, tenant, day, mine, "b", actor=me, source="portal", override_reason="I forgot"
        )
    assert "Only a coordinator" in refused.value.message
    assert await count(db, tenant, CheckIn) == 0

    # Signed, they check in themselves.
    await _sign(db, tenant, await _person(db, tenant, mine))
    done, _ = await _check_in(db, tenant, day, mine, "c", actor=me, source="portal")
    assert done.kind == "arrived"

    # A coordinator checks in the unsigned one with a reason, audited.
    with locale_scope("en"), pytest.raises(OpsError):
        await _check_in(db, tenant, day, other, "d")
    done, _ = await _check_in(db, tenant, day, other, "e", override_reason="Signed on paper")
    assert done.person_id == other
    with tenant_scope(tenant.id):
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "ops.checkin.undertaking_overridden")
        )
    assert entry is not None and entry.data["override_reason"] == "Signed on paper"
    # Leaving needs no signature.
    left, _ = await _check_in(db, tenant, day, other, "f", kind="left", now=day.at(14, 0))
    assert left.kind == "left"
