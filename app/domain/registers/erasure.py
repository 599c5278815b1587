"""Erasing a person from the register (GDPR, article 17): one service for the office's
"erase", an approved removal request and the retention job.

The person's row stays, anonymous ("Raderad person #12"), so that the assignments and
check-ins of past elections keep their person and their pay; everything that says who
it was goes. The id number and the bank account are what paying the fee needs: when
the person was paid (or is owed pay) for a past election, both are kept until the end
of the municipality's pay-record period and then erased by the retention job
(``app.domain.registers.retention``). Audit entries carry ids and counts, never the
erased values, and earlier entries that named the person are scrubbed.

Every table that refers to people is handled in ``write_erasure``;
``HANDLED_PERSON_TABLES`` lists them, and a test fails when a new one is not in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.users import member_tenant_ids
from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, locale_scope
from app.core.models import AuditEntry, Membership, OutboxMessage, PushSubscription, Tenant, User
from app.core.models.base import Base, TenantScoped, utcnow
from app.core.tenancy import outside_tenants, require_tenant_id
from app.domain.models import (
    HOLDING_STATES,
    Application,
    Assignment,
    Availability,
    Candidate,
    CheckIn,
    ContactMessage,
    CourseBooking,
    CourseSession,
    DispatchRecipient,
    DistrictPreference,
    Election,
    IncomingSms,
    Person,
    PersonExclusion,
    ReminderSent,
    Reserve,
    SessionTeacher,
    UndertakingSignature,
)
from app.domain.registers.people import search_names
from app.domain.site.webparts import site_settings

#: Every table with a foreign key to ``people``, and what erasure does with its rows.
HANDLED_PERSON_TABLES = {
    "availabilities": "deleted",
    "district_preferences": "deleted",
    "applications": "deleted",
    "course_bookings": "future deleted, past kept anonymous",
    "session_teachers": "future deleted, past kept anonymous",
    "qualifications": "kept anonymous",
    "assignments": "open ones of coming elections deleted, past kept anonymous",
    "reserves": "past kept anonymous, note cleared",
    "check_ins": "kept anonymous",
    "incoming_sms": "deleted (and those from their mobile number)",
    "dispatch_recipients": "deleted",
    "reminders_sent": "deleted",
    "pay_entries": "kept with the pay records, the person anonymous",
    "pay_adjustments": "kept with the pay records, the person anonymous",
    "pay_settlements": "kept with the pay records, the person anonymous",
    "material_deliveries": "kept, the lead who confirmed anonymous",
    "undertaking_signatures": "deleted (with the browser and address they were given from)",
    "candidates": "deleted (the candidate rows matched to them: their name and birth date)",
    "person_exclusions": "deleted (the audit log keeps that it stood)",
    "material_handouts": "kept, the holder anonymous (no name is copied into a hand-out)",
    "person_merges": "kept (ids only: an old link to a merged-away record leads here)",
}
#: Statuses of an election that is over, whatever its day.
_OVER_STATUSES = ("closed", "archived")
REASONS = ("office", "request", "retention")


class ErasureError(DomainError):
    """A person cannot be erased now (a place in an election that is not over)."""


@dataclass
class ErasurePlan:
    """What erasing a person would do, for the confirmation page and the service."""

    person: Person
    #: Names of elections not yet over where the person holds a place: erasure waits.
    upcoming: list[str] = field(default_factory=list)
    #: The last year the person was paid for (or is owed pay for), if any.
    last_pay_year: int | None = None
    #: Until when the id number and bank account are kept for the pay records.
    pay_data_kept_until: dt.date | None = None
    #: Rows that go or stay, by table (for the page and the audit entry).
    counts: dict[str, int] = field(default_factory=dict)
    #: The linked portal account: "clerk" (deleted), "staff" (kept, unlinked) or None.
    account: str | None = None

    @property
    def blocked(self) -> bool:
        return bool(self.upcoming)


def tenant_today(tenant: Tenant) -> dt.date:
    """Today in the municipality (which elections are over is a local matter)."""
    return dt.datetime.now(ZoneInfo(tenant.timezone)).date()


async def _tenant(session: AsyncSession) -> Tenant:
    tenant = await session.get(Tenant, require_tenant_id())
    if tenant is None:  # pragma: no cover - the tenant gate found it a moment ago
        raise NotFound(_("Not found."))
    return tenant


def _not_over(today: dt.date) -> Any:
    return (Election.election_day >= today) & Election.status.not_in(_OVER_STATUSES)


def _over(today: dt.date) -> Any:
    return (Election.election_day < today) | Election.status.in_(_OVER_STATUSES)


async def _upcoming_places(session: AsyncSession, person_id: int, today: dt.date) -> list[str]:
    """Elections not yet over in which the person holds a place or is a reserve."""
    assigned = (
        select(Election.name)
        .join(Assignment, Assignment.election_id == Election.id)
        .where(Assignment.person_id == person_id, Assignment.state.in_(HOLDING_STATES))
        .where(_not_over(today))
    )
    reserved = (
        select(Election.name)
        .join(Reserve, Reserve.election_id == Election.id)
        .where(Reserve.person_id == person_id)
        .where(_not_over(today))
    )
    names = set(await session.scalars(assigned)) | set(await session.scalars(reserved))
    return sorted(names)


async def _last_pay_year(session: AsyncSession, person_id: int, today: dt.date) -> int | None:
    """The last year of an accepted place in an election that is over, or of a check-in:
    the pay records of that year need the person's id number (and bank account)."""
    worked = await session.scalar(
        select(func.max(Election.election_day))
        .join(Assignment, Assignment.election_id == Election.id)
        .where(Assignment.person_id == person_id, Assignment.state == "accepted")
        .where(_over(today))
    )
    checked = await session.scalar(
        select(func.max(CheckIn.checked_at)).where(CheckIn.person_id == person_id)
    )
    years = [value.year for value in (worked, checked) if value is not None]
    return max(years) if years else None


async def _count(session: AsyncSession, statement: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


def _future_sessions(today: dt.date) -> Any:
    return select(CourseSession.id).where(CourseSession.day >= today)


def _applications_of(person: Person) -> Any:
    """The person's applications: linked to them, or sent with their number or address."""
    conditions = [Application.person_id == person.id]
    if person.national_id:
        conditions.append(Application.national_id == person.national_id)
    if person.email:
        conditions.append(Application.email == person.email)
    return or_(*conditions)


async def _account_kind(session: AsyncSession, person: Person) -> str | None:
    if person.user_id is None:
        return None
    role = await session.scalar(select(Membership.role).where(Membership.user_id == person.user_id))
    return "clerk" if role in (None, "clerk") else "staff"


async def _plan_counts(session: AsyncSession, person: Person, today: dt.date) -> dict[str, int]:
    future = _future_sessions(today)
    mine = person.id
    statements = {
        "availabilities": select(Availability.id).where(Availability.person_id == mine),
        "district_preferences": select(DistrictPreference.id).where(
            DistrictPreference.person_id == mine
        ),
        "applications": select(Application.id).where(_applications_of(person)),
        "future_course_bookings": select(CourseBooking.id).where(
            CourseBooking.person_id == mine, CourseBooking.session_id.in_(future)
        ),
        "past_course_bookings": select(CourseBooking.id).where(
            CourseBooking.person_id == mine, CourseBooking.session_id.not_in(future)
        ),
        "past_assignments": select(Assignment.id)
        .join(Election, Election.id == Assignment.election_id)
        .where(Assignment.person_id == mine, _over(today)),
        "check_ins": select(CheckIn.id).where(CheckIn.person_id == mine),
    }
    return {name: await _count(session, statement) for name, statement in statements.items()}


async def plan_erasure(
    session: AsyncSession, person_id: int, today: dt.date | None = None
) -> ErasurePlan:
    """What erasing the person would erase and keep, and whether it must wait.

    Another municipality's person is not found (404).
    """
    person = await session.scalar(select(Person).where(Person.id == person_id))
    if person is None or person.erased_at is not None:
        raise NotFound(_("Not found."))
    today = today or tenant_today(await _tenant(session))
    plan = ErasurePlan(person=person, upcoming=await _upcoming_places(session, person.id, today))
    plan.last_pay_year = await _last_pay_year(session, person.id, today)
    if plan.last_pay_year is not None:
        years = (await site_settings(session)).pay_retention_years
        kept_until = dt.date(plan.last_pay_year + years, 12, 31)
        plan.pay_data_kept_until = kept_until if kept_until >= today else None
    plan.counts = await _plan_counts(session, person, today)
    plan.account = await _account_kind(session, person)
    return plan


# --- erasing ------------------------------------------------------------------------------


def placeholder_name(person_id: int) -> tuple[str, str]:
    """The stable name an erased person is shown by, in the current language."""
    return _("Erased person"), f"#{person_id}"


async def _identifiers(session: AsyncSession, person: Person) -> tuple[set[str], User | None]:
    """What the person may be named by in labels and outbox rows, and their account."""
    user = await session.get(User, person.user_id) if person.user_id else None
    names = {person.email, person.mobile, person.full_name}
    if user is not None:
        names |= {user.email, user.name}
    return {name for name in names if name}, user


async def _delete_rows(
    session: AsyncSession, person: Person, today: dt.date, counts: dict[str, int]
) -> None:
    """The rows that only describe the person, and their coming plans."""
    future = _future_sessions(today)
    statements = {
        "availabilities": delete(Availability).where(Availability.person_id == person.id),
        "district_preferences": delete(DistrictPreference).where(
            DistrictPreference.person_id == person.id
        ),
        "future_course_bookings": delete(CourseBooking).where(
            CourseBooking.person_id == person.id, CourseBooking.session_id.in_(future)
        ),
        "future_teaching": delete(SessionTeacher).where(
            SessionTeacher.person_id == person.id, SessionTeacher.session_id.in_(future)
        ),
        # The frozen lists of dispatches name them, with their address.
        "dispatch_recipients": delete(DispatchRecipient).where(
            DispatchRecipient.person_id == person.id
        ),
        # The claims that made each reminder once: no more reminders go to them.
        "reminders_sent": delete(ReminderSent).where(ReminderSent.person_id == person.id),
        # The signatures name the browser and address of the person: nothing to keep.
        "undertaking_signatures": delete(UndertakingSignature).where(
            UndertakingSignature.person_id == person.id
        ),
        # The candidate rows matched to them name them; their exclusions go too (the
        # audit log keeps that one stood).
        "candidates": delete(Candidate).where(Candidate.person_id == person.id),
        "person_exclusions": delete(PersonExclusion).where(PersonExclusion.person_id == person.id),
        # Declined or withdrawn places in coming elections say nothing about pay.
        "open_assignments": delete(Assignment).where(
            Assignment.person_id == person.id,
            Assignment.election_id.in_(select(Election.id).where(_not_over(today))),
        ),
    }
    for name, statement in statements.items():
        result = await session.execute(statement.execution_options(synchronize_session=False))
        counts[name] = int(getattr(result, "rowcount", 0) or 0)
    # Their SMS replies, by person or by their number (one not matched to them).
    sent_by_them = IncomingSms.person_id == person.id
    if person.mobile:
        sent_by_them = sent_by_them | (IncomingSms.from_number == person.mobile)
    result = await session.execute(
        delete(IncomingSms).where(sent_by_them).execution_options(synchronize_session=False)
    )
    counts["sms_replies"] = int(getattr(result, "rowcount", 0) or 0)
    if person.email:
        # What they wrote through the public site's contact form, found by the address.
        result = await session.execute(
            delete(ContactMessage)
            .where(ContactMessage.email == person.email)
            .execution_options(synchronize_session=False)
        )
        counts["contact_messages"] = int(getattr(result, "rowcount", 0) or 0)
    applications = list(await session.scalars(select(Application).where(_applications_of(person))))
    for application in applications:
        await session.delete(application)
    counts["applications"] = len(applications)
    # What stays is anonymous: the free text in it goes.
    await session.execute(
        update(Assignment)
        .where(Assignment.person_id == person.id)
        .values(decline_reason="", offer_token_hash=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Reserve)
        .where(Reserve.person_id == person.id)
        .values(note="")
        .execution_options(synchronize_session=False)
    )


async def _delete_account(
    session: AsyncSession, person: Person, user: User | None, tenant_id: int, counts: dict[str, int]
) -> bool:
    """The portal account: this municipality's membership and pushes; the whole account
    (sessions, sign-in links, devices) when it belongs nowhere else. A staff member's
    account is only unlinked. Returns whether the account was deleted entirely."""
    if user is None:
        return False
    membership = await session.scalar(select(Membership).where(Membership.user_id == user.id))
    if membership is not None and membership.role != "clerk":
        counts["account"] = 0
        return False
    subscriptions = list(
        await session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id))
    )
    for subscription in subscriptions:
        await session.delete(subscription)
    counts["push_subscriptions"] = len(subscriptions)
    if membership is not None:
        await session.delete(membership)
    # Other municipalities' memberships are theirs: asked through the one question
    # across municipalities the app may ask (ids only).
    elsewhere = any(other != tenant_id for other in await member_tenant_ids(session, user.id))
    counts["account"] = 1
    if elsewhere:
        return False
    # Sign-ins and resets are audited outside any municipality, under the address.
    await session.flush()
    with outside_tenants():
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.tenant_id.is_(None), AuditEntry.actor_user_id == user.id)
            .values(actor_label=person.full_name, ip_address=None)
            .execution_options(synchronize_session=False, all_tenants=True)
        )
    # The account's sessions, sign-in links, reset tokens and devices go with it (the
    # database cascades them).
    session.expunge(user)
    await session.execute(delete(User).where(User.id == user.id))
    return True


async def _scrub_labels(
    session: AsyncSession, names: set[str], placeholder: str, user_id: int | None
) -> None:
    """Every "who did it" label of this municipality that names the person, and the
    audit entries they made (their address too)."""
    if not names:
        return
    for mapper in Base.registry.mappers:
        model = mapper.class_
        if not issubclass(model, TenantScoped) or model is AuditEntry:
            continue
        for column in mapper.columns:
            if column.key.endswith("_label") and isinstance(column.type, String):
                await session.execute(
                    update(model)
                    .where(column.in_(names))
                    .values({column.key: placeholder})
                    .execution_options(synchronize_session=False)
                )
    made_by: Any = AuditEntry.actor_label.in_(names)
    if user_id is not None:
        made_by = made_by | (AuditEntry.actor_user_id == user_id)
    await session.execute(
        update(AuditEntry)
        .where(made_by)
        .values(actor_label=placeholder, ip_address=None)
        .execution_options(synchronize_session=False)
    )


async def _delete_outbox(
    session: AsyncSession,
    person: Person,
    names: set[str],
    subscription_ids: list[int],
    tenant_id: int,
    user_deleted: bool,
) -> int:
    """Messages to the person (waiting or delivered), and the office's copy of their
    removal request."""
    recipients = names | {f"push-subscription:{sid}" for sid in subscription_ids}
    mine = OutboxMessage.recipient.in_(recipients) | OutboxMessage.idempotency_key.startswith(
        f"removal-request:{person.id}:", autoescape=True
    )
    result = await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.tenant_id == tenant_id, mine)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if user_deleted:
        # Sign-in mail belongs to no municipality; it goes with the account.
        await session.flush()
        with outside_tenants():
            result = await session.execute(
                delete(OutboxMessage)
                .where(OutboxMessage.tenant_id.is_(None), OutboxMessage.recipient.in_(names))
                .execution_options(synchronize_session=False, all_tenants=True)
            )
        count += int(getattr(result, "rowcount", 0) or 0)
    return count


def _anonymise(person: Person, plan: ErasurePlan) -> None:
    first, last = placeholder_name(person.id)
    person.first_name, person.last_name = first, last
    for key, value in search_names(first, last).items():
        setattr(person, key, value)
    if plan.pay_data_kept_until is None:
        person.national_id = person.national_id_country = person.bank_account_encrypted = None
    person.pay_data_kept_until = plan.pay_data_kept_until
    person.birth_date = person.email = person.mobile = None
    person.street_address = person.postal_code = person.city = person.notes = ""
    person.spoken_languages, person.tags = [], []
    person.latitude = person.longitude = None
    person.died_on = person.moved_out_on = person.register_checked_at = None
    person.experience, person.status = "none", "inactive"
    person.calendar_token_hash = person.calendar_token_nonce = None
    person.removal_refusal_reason = ""
    person.user_id = None
    person.erased_at = utcnow()


async def write_erasure(
    session: AsyncSession, actor: Actor, plan: ErasurePlan, reason: str, today: dt.date
) -> dict[str, int]:
    """Erase the planned person; does not commit and does not audit (the callers do,
    one entry per person or one per run). Returns the counts of what went."""
    if plan.blocked:
        raise ErasureError(
            _(
                "%(name)s has a place in %(elections)s, which is not over yet. Remove the"
                " place on the staffing board first; then the person can be erased.",
                name=plan.person.full_name,
                elections=", ".join(plan.upcoming),
            ),
            "person",
        )
    person = plan.person
    tenant = await _tenant(session)
    tenant_id = tenant.id
    counts: dict[str, int] = {}
    names, user = await _identifiers(session, person)
    subscription_ids: list[int] = []
    if user is not None:
        subscription_ids = list(
            await session.scalars(
                select(PushSubscription.id).where(PushSubscription.user_id == user.id)
            )
        )
    await _delete_rows(session, person, today, counts)
    with locale_scope(tenant.locale):
        _anonymise(person, plan)
    await session.flush()
    # Before the account goes: its audit entries are found by its id.
    await _scrub_labels(session, names, person.full_name, user.id if user else None)
    user_deleted = await _delete_account(session, person, user, tenant_id, counts)
    counts["outbox_messages"] = await _delete_outbox(
        session, person, names, subscription_ids, tenant_id, user_deleted
    )
    return counts


async def erase_person(
    session: AsyncSession,
    actor: Actor,
    person_id: int,
    reason: str,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Erase a person now: the office's "erase", or an approved removal request.

    Refuses with an ErasureError while the person has a place in an election that is
    not over. The audit entry holds the person's id, the reason and counts only.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown erasure reason {reason!r}")
    today = today or tenant_today(await _tenant(session))
    plan = await plan_erasure(session, person_id, today)
    counts = await write_erasure(session, actor, plan, reason, today)
    await record(
        session,
        actor,
        "people.person.erased",
        plan.person,
        data={
            "reason": reason,
            "counts": counts,
            "pay_data_kept_until": (
                plan.pay_data_kept_until.isoformat() if plan.pay_data_kept_until else None
            ),
        },
    )
    await session.commit()
    return counts
