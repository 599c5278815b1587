"""Applications: validation, consent, applying again, approval into the register,
answers to the applicant, retention erasure and the applicant's own data."""

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stdnum import luhn

from app.core import ratelimit
from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.models import AuditEntry, OutboxMessage, Tenant
from app.core.ratelimit import RateLimited
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import (
    Application,
    ApplicationDay,
    Availability,
    ContactMessage,
    DistrictPreference,
    Person,
)
from app.domain.recruitment import applications, own_application
from app.domain.recruitment import review as application_review
from app.domain.site import webparts
from tests.factories import (
    application_data,
    make_application,
    make_open_election,
    make_person,
    make_user,
)

ACTOR = Actor.system("test")
TODAY = dt.date.today()


async def _submit(db: AsyncSession, tenant: Tenant, data: dict[str, Any], **kwargs: Any) -> Any:
    with tenant_scope(tenant.id):
        return await applications.submit_application(
            db, tenant, data, locale="sv", base_url="http://stemma.test", today=TODAY, **kwargs
        )


async def _count(db: AsyncSession, tenant: Tenant, model: Any) -> int:
    with tenant_scope(tenant.id):
        return await db.scalar(select(func.count()).select_from(model)) or 0


async def _mail(db: AsyncSession) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_it_stores_an_application_with_the_consented_privacy_notice_version(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await webparts.publish(db, ACTOR, "privacy", "sv", {"title": "Integritet", "body": "v1"})
        notice = await webparts.publish(
            db, ACTOR, "privacy", "sv", {"title": "Integritet", "body": "v2"}
        )
    submitted = await _submit(db, tenant, application_data(election))
    application = submitted.application
    assert application.status == "new"
    assert application.national_id == "199001010017"
    assert application.mobile == "+46701234567"
    assert application.privacy_version_id == notice.id
    assert application.privacy_version_number == 2
    assert application.consented_at is not None
    assert [day.day for day in application.days] == [election.election_day]
    mail = await _mail(owner_db)
    assert [m.recipient for m in mail] == ["sara.lind@example.se"]
    assert f"/lund/apply/mine?token={submitted.access_token}" in mail[0].body_text
    assert mail[0].sensitive


async def test_it_publishes_the_built_in_notice_when_the_office_has_none(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    application = (await _submit(db, tenant, application_data(election))).application
    with tenant_scope(tenant.id):
        shown = await webparts.shown(db, "privacy", "sv")
    assert shown.version is not None
    assert application.privacy_version_id == shown.version.id
    assert shown.body == webparts.default_text("privacy", "sv")[1]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"national_id": "19900101-0018"}, "national_id"),
        ({"national_id": ""}, "national_id"),
        ({"mobile": "12"}, "mobile"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"consent": False}, "consent"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"elections": []}, "elections"),
        ({"experience": "lots"}, "experience"),
    ],
)
async def test_it_refuses_bad_input_at_the_field_and_stores_nothing(
    db: AsyncSession, tenant: Tenant, fields: dict[str, Any], field: str, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    with pytest.raises(FieldErrors) as caught:
        await _submit(db, tenant, application_data(election, **fields))
    assert field in caught.value.errors
    assert await _count(db, tenant, Application) == 0
    assert await _mail(owner_db) == []


async def test_it_refuses_days_outside_the_election_and_work_without_a_fitting_day(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    day = election.election_day
    outside = {
        "election_id": election.id,
        "work_kinds": ["election_day"],
        "days": [str(day + dt.timedelta(days=1))],
    }
    with pytest.raises(FieldErrors) as caught:
        await _submit(db, tenant, application_data(election, elections=[outside]))
    assert "är ingen röstningsdag" in caught.value.errors[f"days_{election.id}"]
    advance_only_day = {
        "election_id": election.id,
        "work_kinds": ["counting"],
        "days": [str(election.advance_start)],
    }
    with pytest.raises(FieldErrors) as caught:
        await _submit(db, tenant, application_data(election, elections=[advance_only_day]))
    assert "kräver att du väljer valdagen" in caught.value.errors[f"days_{election.id}"]
    assert await _count(db, tenant, Application) == 0


async def test_it_refuses_a_district_of_another_election_and_a_closed_election(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    other = await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await db.refresh(other, ["districts"])
    foreign = {
        "election_id": election.id,
        "work_kinds": ["election_day"],
        "days": [str(election.election_day)],
        "district_ids": [other.districts[0].id],
    }
    with pytest.raises(FieldErrors) as caught:
        await _submit(db, tenant, application_data(election, elections=[foreign]))
    assert f"districts_{election.id}" in caught.value.errors
    with tenant_scope(tenant.id):
        election.status = "closed"
        await db.commit()
    with pytest.raises(FieldErrors) as caught:
        await _submit(db, tenant, application_data(election))
    assert "elections" in caught.value.errors


async def test_it_keeps_html_as_text(db: AsyncSession, tenant: Tenant) -> None:
    election = await make_open_election(db, tenant)
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    application = (
        await _submit(db, tenant, application_data(election, message=script, last_name="<b>Lind"))
    ).application
    assert application.message == script
    assert application.last_name == "<b>Lind"


async def test_it_updates_the_earlier_application_when_someone_applies_again(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    first = await _submit(db, tenant, application_data(election))
    again_days = {
        "election_id": election.id,
        "work_kinds": ["advance", "election_day"],
        "days": [str(election.advance_start), str(election.election_day)],
    }
    second = await _submit(
        db,
        tenant,
        application_data(election, national_id="900101-0017", city="Malmö", elections=[again_days]),
    )
    assert second.application.id == first.application.id
    assert await _count(db, tenant, Application) == 1
    assert await _count(db, tenant, ApplicationDay) == 2
    application = second.application
    assert application.city == "Malmö"
    assert application.times_submitted == 2
    # The first link stops working; the newest email holds the one that works.
    with tenant_scope(tenant.id):
        assert await own_application.application_for_token(db, first.access_token) is None
        assert await own_application.application_for_token(db, second.access_token) is not None
    # Both answers look the same: one confirmation email each, same template.
    mail = await _mail(owner_db)
    assert [m.subject for m in mail] == [mail[0].subject, mail[0].subject]


async def test_it_matches_a_corrected_id_number_by_email_and_name_but_not_a_shared_email(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    first = await _submit(db, tenant, application_data(election, national_id="19900101-0017"))
    corrected = await _submit(db, tenant, application_data(election, national_id="19850315-0008"))
    assert corrected.application.id == first.application.id
    assert corrected.application.national_id == "198503150008"
    family = await _submit(
        db,
        tenant,
        application_data(election, first_name="Olle", national_id="19900101-0017"),
    )
    assert family.application.id != first.application.id
    assert await _count(db, tenant, Application) == 2


async def test_it_tells_the_earlier_address_when_the_email_changes(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    await _submit(db, tenant, application_data(election))
    await _submit(db, tenant, application_data(election, email="new@example.se"))
    recipients = [m.recipient for m in await _mail(owner_db)]
    assert recipients == ["sara.lind@example.se", "new@example.se", "sara.lind@example.se"]
    with tenant_scope(tenant.id):
        entry = await db.scalar(
            select(AuditEntry)
            .where(AuditEntry.code == "applications.application.submitted")
            .order_by(AuditEntry.id.desc())
        )
    assert entry is not None
    assert entry.data["again"] is True and entry.data["email_changed"] is True
    assert "199001010017" not in str(entry.data)


async def test_it_limits_applications_per_address(db: AsyncSession, tenant: Tenant) -> None:
    election = await make_open_election(db, tenant)
    limit = applications.APPLY_LIMIT.max_events
    for number in range(limit):
        data = application_data(
            election, email=f"p{number}@example.se", national_id=_id_number(number)
        )
        await _submit(db, tenant, data, ip_address="203.0.113.5")
    with pytest.raises(RateLimited):
        await _submit(
            db,
            tenant,
            application_data(election, email="late@example.se", national_id=_id_number(99)),
            ip_address="203.0.113.5",
        )
    assert await _count(db, tenant, Application) == limit
    # Mistakes do not count: only stored applications use up the limit.
    await _submit(
        db,
        tenant,
        application_data(election, email="other@example.se", national_id=_id_number(98)),
        ip_address="203.0.113.6",
    )


def _id_number(number: int) -> str:
    body = f"700101{number:03d}"
    return f"19{body}{luhn.calc_check_digit(body)}"


# --- approval ---------------------------------------------------------------------------


async def test_it_approves_an_applicant_into_the_register_with_availability(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await db.refresh(election, ["districts"])
    choice = {
        "election_id": election.id,
        "work_kinds": ["advance", "election_day", "counting"],
        "days": [str(election.advance_start), str(election.election_day)],
        "district_ids": [election.districts[1].id],
    }
    application = (await make_application(db, tenant, election, elections=[choice])).application
    with tenant_scope(tenant.id):
        await application_review.approve_applications(db, ACTOR, tenant, [application.id])
        person = await db.scalar(select(Person))
        assert person is not None
        availability = sorted((a.day, a.work_kind) for a in await db.scalars(select(Availability)))
        wishes = [w.district_id for w in await db.scalars(select(DistrictPreference))]
        stored = await applications.get_application(db, application.id)
    assert person.status == "active"
    assert person.national_id == "199001010017"
    assert person.experience == "some"
    assert person.spoken_languages == ["sv", "ar"]
    assert availability == [
        (election.advance_start, "advance"),
        (election.election_day, "advance"),
        (election.election_day, "counting"),
        (election.election_day, "election_day"),
    ]
    assert wishes == [election.districts[1].id]
    assert stored.status == "approved" and stored.person_id == person.id
    assert (await _mail(owner_db))[-1].subject.startswith("Din ansökan har godkänts")


async def test_it_updates_the_person_already_in_the_register(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    existing = await make_person(
        db, tenant, national_id="19900101-0017", email="old@example.se", status="inactive"
    )
    application = (await make_application(db, tenant, election)).application
    with tenant_scope(tenant.id):
        await application_review.approve_applications(db, ACTOR, tenant, [application.id])
        people = list(await db.scalars(select(Person)))
    assert [p.id for p in people] == [existing.id]
    # The register's contact details stay unless the office takes the application's.
    assert people[0].email == "old@example.se"
    assert people[0].status == "active"


async def test_it_approves_all_or_nothing_and_says_why(db: AsyncSession, tenant: Tenant) -> None:
    election = await make_open_election(db, tenant)
    await make_person(db, tenant, national_id="19850315-0008", email="taken@example.se")
    good = (await make_application(db, tenant, election)).application
    clash = (
        await make_application(
            db, tenant, election, national_id=_id_number(7), email="taken@example.se"
        )
    ).application
    with tenant_scope(tenant.id), pytest.raises(application_review.ReviewError) as caught:
        await application_review.approve_applications(db, ACTOR, tenant, [good.id, clash.id])
    assert set(caught.value.problems) == {clash.id}
    assert await _count(db, tenant, Person) == 1
    assert await _count(db, tenant, Availability) == 0
    with tenant_scope(tenant.id):
        assert (await applications.get_application(db, good.id)).status == "new"


async def test_it_rejects_and_asks_for_more_with_the_message_emailed(
    db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    election = await make_open_election(db, tenant)
    first = (await make_application(db, tenant, election)).application
    second = (
        await make_application(
            db, tenant, election, national_id=_id_number(3), email="b@example.se"
        )
    ).application
    with tenant_scope(tenant.id):
        with pytest.raises(application_review.ReviewError):
            await application_review.reject_application(
                db, ACTOR, tenant, first.id, "  ", "http://stemma.test"
            )
        await application_review.reject_application(
            db, ACTOR, tenant, first.id, "Tyvärr inte den här gången.", "http://stemma.test"
        )
        await application_review.request_more_information(
            db, ACTOR, tenant, second.id, "Kan du räkna röster?", "http://stemma.test"
        )
        with pytest.raises(application_review.ReviewError):
            await application_review.approve_applications(db, ACTOR, tenant, [first.id])
    mail = await _mail(owner_db)
    assert "Tyvärr inte den här gången." in mail[-2].body_text
    assert "Kan du räkna röster?" in mail[-1].body_text
    assert "http://stemma.test/lund/apply" in mail[-1].body_text


# --- the applicant's own data, retention, isolation -------------------------------------


async def test_it_shows_and_erases_an_applicants_data_by_their_link(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    submitted = await make_application(db, tenant, election)
    with tenant_scope(tenant.id):
        application = await own_application.application_for_token(db, submitted.access_token)
        assert application is not None
        data = await own_application.application_data(db, application)
        assert data["national_id"] == "19900101-****"
        assert data["elections"][0]["days"] == [str(election.election_day)]
        assert await own_application.withdraw_application(db, submitted.access_token)
        assert not await own_application.withdraw_application(db, submitted.access_token)
    assert await _count(db, tenant, Application) == 0
    assert await _count(db, tenant, ApplicationDay) == 0


async def test_it_erases_rejected_and_untouched_applications_after_the_retention_period(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    untouched = (await make_application(db, tenant, election)).application
    rejected = (
        await make_application(db, tenant, election, national_id=_id_number(1), email="r@x.se")
    ).application
    approved = (
        await make_application(db, tenant, election, national_id=_id_number(2), email="a@x.se")
    ).application
    with tenant_scope(tenant.id):
        await application_review.reject_application(
            db, ACTOR, tenant, rejected.id, "Nej tack.", "http://stemma.test"
        )
        await application_review.approve_applications(db, ACTOR, tenant, [approved.id])
        db.add(ContactMessage(name="A", email="a@x.se", subject="S", message="M"))
        await db.commit()
        day = election.election_day
        # Within the period no application goes; contact messages count from receipt.
        assert await application_review.erase_expired(
            db, ACTOR, application_review.add_months(day, 12) - dt.timedelta(days=1)
        ) == (0, 1)
        erased = await application_review.erase_expired(
            db, ACTOR, application_review.add_months(day, 12)
        )
        assert erased == (2, 0)
        assert await application_review.erase_expired(
            db, ACTOR, application_review.add_months(day, 12)
        ) == (0, 0)
        remaining = [a.id for a in await db.scalars(select(Application))]
        codes = [
            e.object_id
            for e in await db.scalars(
                select(AuditEntry).where(AuditEntry.code == "applications.application.erased")
            )
        ]
    assert remaining == [approved.id]
    assert sorted(codes) == sorted([str(untouched.id), str(rejected.id)])


async def test_it_follows_the_tenants_retention_setting(db: AsyncSession, tenant: Tenant) -> None:
    election = await make_open_election(db, tenant)
    await make_application(db, tenant, election)
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"retention_months": "3"})
        three_months = application_review.add_months(election.election_day, 3)
        assert (await application_review.erase_expired(db, ACTOR, three_months))[0] == 1


async def test_it_keeps_each_tenants_applications_apart(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    application = (await make_application(db, tenant, election)).application
    with tenant_scope(other_tenant.id):
        with pytest.raises(NotFound):
            await applications.get_application(db, application.id)
        page = await applications.search_applications(db, applications.ApplicationFilters())
        assert page.total == 0
        with pytest.raises(application_review.ReviewError):
            await application_review.approve_applications(db, ACTOR, other_tenant, [application.id])
        # Another tenant applying with the same id number starts its own application.
        other_election = await make_open_election(db, other_tenant)
    other = await make_application(db, other_tenant, other_election)
    assert other.application.id != application.id


async def test_it_filters_the_inbox(db: AsyncSession, tenant: Tenant) -> None:
    election = await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await db.refresh(election, ["districts"])
    advance = {
        "election_id": election.id,
        "work_kinds": ["advance"],
        "days": [str(election.advance_start)],
        "district_ids": [election.districts[0].id],
    }
    await make_application(db, tenant, election)
    await make_application(
        db,
        tenant,
        election,
        national_id=_id_number(5),
        email="f@x.se",
        first_name="Fatima",
        spoken_languages=["so"],
        experience="much",
        elections=[advance],
    )

    async def names(**filters: Any) -> list[str]:
        with tenant_scope(tenant.id):
            page = await applications.search_applications(
                db, applications.ApplicationFilters(**filters)
            )
        return sorted(a.first_name for a in page.applications)

    assert await names() == ["Fatima", "Sara"]
    assert await names(work_kind="advance") == ["Fatima"]
    assert await names(day=election.election_day) == ["Sara"]
    assert await names(language="so") == ["Fatima"]
    assert await names(language="ar") == ["Sara"]
    assert await names(district_id=election.districts[0].id) == ["Fatima"]
    assert await names(experience="much") == ["Fatima"]
    assert await names(election_id=election.id, status="new") == ["Fatima", "Sara"]
    assert await names(query="fat") == ["Fatima"]
    assert await names(query="sara.lind@example.se") == ["Sara"]


async def test_it_keeps_the_offices_privacy_draft_on_top_when_the_built_in_notice_is_used(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await webparts.save_draft(db, ACTOR, "privacy", "sv", {"title": "Vår", "body": "utkast"})
    application = (await _submit(db, tenant, application_data(election))).application
    with tenant_scope(tenant.id):
        state = await webparts.part_state(db, "privacy", "sv")
    assert state.published is not None and state.published.id == application.privacy_version_id
    assert state.published.body == webparts.default_text("privacy", "sv")[1]
    assert state.has_draft and state.latest is not None and state.latest.body == "utkast"


async def test_it_refuses_applications_while_the_form_is_closed(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"applications_open": ""})
    with pytest.raises(FieldErrors) as caught:
        await _submit(db, tenant, application_data(election))
    assert "elections" in caught.value.errors
    assert await _count(db, tenant, Application) == 0


async def test_it_never_lets_an_application_change_how_a_clerk_signs_in(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    clerk_user = await make_user(db, tenant, "clerk")
    person = await make_person(
        db, tenant, national_id="19900101-0017", email="real@example.se", mobile="0701111111"
    )
    with tenant_scope(tenant.id):
        person.user_id = clerk_user.id
        await db.commit()
    # Someone who knows the id number applies with their own address and phone.
    forged = (
        await make_application(db, tenant, election, email="evil@example.se", mobile="0709999999")
    ).application
    with tenant_scope(tenant.id):
        await application_review.approve_applications(db, ACTOR, tenant, [forged.id])
        stored = await db.scalar(select(Person).where(Person.id == person.id))
    assert stored is not None
    assert (stored.email, stored.mobile) == ("real@example.se", "+46701111111")


async def test_it_counts_the_address_limit_per_municipality(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    other_election = await make_open_election(db, other_tenant)
    for number in range(applications.APPLY_LIMIT.max_events):
        data = application_data(
            election, email=f"p{number}@example.se", national_id=_id_number(number)
        )
        await _submit(db, tenant, data, ip_address="203.0.113.5")
    # The same network applying to another municipality is not stopped by the first.
    await _submit(
        db,
        other_tenant,
        application_data(other_election, email="late@example.se", national_id=_id_number(99)),
        ip_address="203.0.113.5",
    )
    assert await _count(db, other_tenant, Application) == 1


async def test_it_lets_only_one_of_two_applications_sent_at_once_pass_the_last_place(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    election = await make_open_election(db, tenant)
    # The first application publishes the built-in privacy notice; from another network.
    await _submit(db, tenant, application_data(election), ip_address="203.0.113.1")
    monkeypatch.setattr(
        applications, "APPLY_LIMIT", ratelimit.Limit("public.apply", 1, dt.timedelta(hours=1))
    )
    start = asyncio.Event()

    async def send(number: int) -> str:
        data = application_data(
            election, email=f"p{number}@example.se", national_id=_id_number(number)
        )
        with tenant_scope(tenant.id):
            async with session_factory() as session:
                await start.wait()
                try:
                    await applications.submit_application(
                        session,
                        tenant,
                        data,
                        locale="sv",
                        base_url="http://stemma.test",
                        today=TODAY,
                        ip_address="203.0.113.9",
                    )
                except RateLimited:
                    return "limited"
                return "stored"

    tasks = [asyncio.create_task(send(number)) for number in (1, 2)]
    await asyncio.sleep(0.05)
    start.set()
    assert sorted(await asyncio.gather(*tasks)) == ["limited", "stored"]
    assert await _count(db, tenant, Application) == 2
