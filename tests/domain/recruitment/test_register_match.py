"""An application whose identity number is already a person in the register: it never
re-keys the person or opens an account without the office's shown decision."""

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import AuditEntry, OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Person
from app.domain.recruitment import register_match
from app.domain.recruitment import review as application_review
from app.domain.recruitment.register_match import MatchDecision
from tests.factories import make_application, make_open_election, make_person, make_user

ACTOR = Actor.system("test")
TODAY = dt.date.today()


async def _victim(db: AsyncSession, tenant: Tenant, **fields: Any) -> Person:
    return await make_person(  # type: ignore[no-any-return]
        db,
        tenant,
        first_name="Sara",
        last_name="Lind",
        national_id="19900101-0017",
        email="sara@example.se",
        mobile="0701111111",
        street_address="Storgatan 1",
        postal_code="22222",
        city="Lund",
        preferred_language="da",
        **fields,
    )


async def _forged(db: AsyncSession, tenant: Tenant, election: Any) -> Any:
    """An application in the person's name with someone else's contact details."""
    return (
        await make_application(
            db,
            tenant,
            election,
            email="evil@example.se",
            mobile="0709999999",
            street_address="Annan väg 9",
            postal_code="11111",
            city="Malmö",
        )
    ).application


async def _person(db: AsyncSession, tenant: Tenant, person_id: int) -> Person:
    with tenant_scope(tenant.id):
        person = await db.scalar(
            select(Person).where(Person.id == person_id).execution_options(populate_existing=True)
        )
    assert person is not None
    return person


async def _mail(db: AsyncSession) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_it_links_a_matched_application_and_keeps_the_registers_details(
    db: AsyncSession, owner_db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    person = await _victim(db, tenant)
    forged = await _forged(db, tenant, election)
    sent_before = len(await _mail(owner_db))
    with tenant_scope(tenant.id):
        await application_review.approve_applications(db, ACTOR, tenant, [forged.id])
    stored = await _person(db, tenant, person.id)
    assert (stored.email, stored.mobile) == ("sara@example.se", "+46701111111")
    assert (stored.street_address, stored.postal_code, stored.city) == (
        "Storgatan 1",
        "22222",
        "Lund",
    )
    assert stored.preferred_language == "da"
    # Nothing more reaches the application's address: the approval goes to the register's.
    new_mail = (await _mail(owner_db))[sent_before:]
    assert [m.recipient for m in new_mail] == ["sara@example.se"]


async def test_it_never_invites_a_match_to_the_portal_unless_chosen(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    await _victim(db, tenant)
    forged = await _forged(db, tenant, election)
    newcomer = (
        await make_application(
            db, tenant, election, national_id="19850315-0008", email="ny@example.se"
        )
    ).application
    with tenant_scope(tenant.id):
        approval = await application_review.approve_applications(
            db, ACTOR, tenant, [forged.id, newcomer.id]
        )
        newcomer_person = await db.scalar(select(Person).where(Person.email == "ny@example.se"))
    assert newcomer_person is not None
    assert approval.to_invite == [newcomer_person.id]


async def test_it_shows_both_sets_of_details_with_the_differences(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    person = await _victim(db, tenant)
    forged = await _forged(db, tenant, election)
    with tenant_scope(tenant.id):
        match = await register_match.register_match(db, forged)
    assert match is not None and match.person.id == person.id and match.by == "national_id"
    differing = {f.name: (f.in_register, f.in_application) for f in match.differences}
    assert differing == {
        "email": ("sara@example.se", "evil@example.se"),
        "mobile": ("+46701111111", "+46709999999"),
        "street_address": ("Storgatan 1", "Annan väg 9"),
        "postal_code": ("22222", "11111"),
        "city": ("Lund", "Malmö"),
        "preferred_language": ("da", "sv"),
    }
    assert all(f.takeable for f in match.differences)


async def test_it_takes_only_the_chosen_fields_audits_them_and_tells_the_old_address(
    db: AsyncSession, owner_db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    person = await _victim(db, tenant)
    forged = await _forged(db, tenant, election)
    decision = MatchDecision(
        take=frozenset({"email", "mobile"}), invite=True, seen_submission=forged.times_submitted
    )
    with tenant_scope(tenant.id):
        approval = await application_review.approve_applications(
            db, ACTOR, tenant, [forged.id], {forged.id: decision}
        )
        entry = await db.scalar(
            select(AuditEntry).where(
                AuditEntry.code == "people.person.contact_taken_from_application"
            )
        )
    stored = await _person(db, tenant, person.id)
    assert (stored.email, stored.mobile) == ("evil@example.se", "+46709999999")
    assert stored.city == "Lund"  # not chosen, kept
    assert approval.to_invite == [person.id]
    assert entry is not None and entry.data["fields"] == ["email", "mobile"]
    assert "evil" not in str(entry.data) and "0709" not in str(entry.data)
    mail = await _mail(owner_db)
    told = [m for m in mail if m.recipient == "sara@example.se"]
    # The old address hears in the person's language (Danish).
    assert told and "kontaktoplysninger" in told[-1].subject
    sms = [m for m in mail if m.channel == "sms"]
    assert [m.recipient for m in sms] == ["+46701111111"]


async def test_it_refuses_to_change_how_an_account_holder_signs_in_or_a_stale_decision(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    person = await _victim(db, tenant)
    clerk_user = await make_user(db, tenant, "clerk")
    with tenant_scope(tenant.id):
        stored = await _person(db, tenant, person.id)
        stored.user_id = clerk_user.id
        await db.commit()
    forged = await _forged(db, tenant, election)
    with tenant_scope(tenant.id):
        match = await register_match.register_match(db, forged)
    assert match is not None and match.has_account and not match.can_invite
    assert {f.name for f in match.differences if not f.takeable} == {"email", "mobile"}
    for decision in (
        MatchDecision(take=frozenset({"email"})),
        MatchDecision(invite=True),
        MatchDecision(take=frozenset({"city"}), seen_submission=forged.times_submitted - 1),
        MatchDecision(take=frozenset({"national_id"})),
    ):
        with tenant_scope(tenant.id), pytest.raises(application_review.ReviewError) as caught:
            await application_review.approve_applications(
                db, ACTOR, tenant, [forged.id], {forged.id: decision}
            )
        assert set(caught.value.problems) == {forged.id}
    stored = await _person(db, tenant, person.id)
    assert (stored.email, stored.city) == ("sara@example.se", "Lund")
