"""The election office's side of applications: approve into the register, reject, ask
for more, and erase what the retention period no longer allows us to keep."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.models import OutboxMessage, Tenant, utcnow
from app.core.tenancy import require_tenant_id
from app.domain.messaging.queue import applicant, queue_with_fields
from app.domain.models import (
    EXPERIENCE_LEVELS,
    OPEN_STATUSES,
    Application,
    ApplicationElection,
    Availability,
    ContactMessage,
    District,
    DistrictPreference,
    Election,
    Person,
)
from app.domain.recruitment.application_form import offer_for
from app.domain.recruitment.applications import elections_by_id, get_application
from app.domain.recruitment.register_match import (
    MatchDecision,
    RegisterMatch,
    compare,
    refused_choice,
    register_people_for,
    take_chosen_fields,
)
from app.domain.registers.people import search_names
from app.domain.site.webparts import site_settings


class ReviewError(DomainError):
    """An application cannot be handled as asked; ``problems`` maps application ids to why."""

    def __init__(self, message: str, problems: dict[int, str] | None = None) -> None:
        super().__init__(message, "message")
        self.problems = problems or {}


# --- approving --------------------------------------------------------------------------


@dataclass
class _Plan:
    application: Application
    person: Person | None
    #: The register person matched, and both sets of details; None for a new person.
    match: RegisterMatch | None = None


async def _plan(
    session: AsyncSession, applications: Sequence[Application]
) -> tuple[list[_Plan], dict[int, str]]:
    """Who each application becomes in the register, and why any cannot be approved."""
    plans: list[_Plan] = []
    problems: dict[int, str] = {}
    emails_in_batch: dict[str, int] = {}
    for application in applications:
        if application.status not in OPEN_STATUSES:
            problems[application.id] = _("This application has already been handled.")
            continue
        by_id, by_email = await register_people_for(session, application)
        if by_email is not None and by_id is not None and by_email.id != by_id.id:
            problems[application.id] = _("Another person in the register has this email address.")
            continue
        if by_id is None and by_email is not None and by_email.national_id:
            problems[application.id] = _("Another person in the register has this email address.")
            continue
        other = emails_in_batch.get(application.email)
        if other is not None and other != application.id:
            problems[application.id] = _(
                "Two of the chosen applications have the same email address; approve one at a time."
            )
            continue
        emails_in_batch[application.email] = application.id
        person = by_id or by_email
        match = None
        if person is not None:
            match = compare(person, application, "national_id" if by_id else "email")
        plans.append(_Plan(application, person, match))
    return plans, problems


def _more_experience(current: str, new: str) -> str:
    return max(current, new, key=EXPERIENCE_LEVELS.index)


@dataclass(frozen=True)
class Approval:
    applications: list[Application]
    #: People to invite to the portal now: those new to the register, and a matched
    #: person only when the office chose it on the application's page.
    to_invite: list[int]


async def approve_applications(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    application_ids: Sequence[int],
    decisions: Mapping[int, MatchDecision] | None = None,
) -> Approval:
    """Approve applications: each applicant becomes an active person in the register, or
    is linked to the person already there, with the availability and district wishes of
    the application.

    A person already in the register keeps their name and contact details except the
    fields ``decisions[application id].take`` names (chosen on the application's page,
    seeing both side by side); their old address is told of a change. All or nothing:
    when any cannot be approved, none is, and ``ReviewError.problems`` says why for each.
    """
    decisions = decisions or {}
    applications = list(
        await session.scalars(
            select(Application)
            .where(Application.id.in_(application_ids))
            .options(
                selectinload(Application.choices),
                selectinload(Application.days),
                selectinload(Application.districts),
            )
            .order_by(Application.id)
        )
    )
    if not applications:
        raise ReviewError(_("Choose at least one application."))
    plans, problems = await _plan(session, applications)
    for plan in plans:
        problem = _refused_decision(plan, decisions.get(plan.application.id))
        if problem:
            problems[plan.application.id] = problem
    if problems:
        raise ReviewError(
            _("Nothing was approved. Some applications need attention first."), problems
        )
    election_ids = {c.election_id for a in applications for c in a.choices}
    elections = await elections_by_id(session, election_ids)
    to_invite: list[int] = []
    for plan in plans:
        decision = decisions.get(plan.application.id) or MatchDecision()
        person, created = await _person_from(session, plan)
        if plan.match is not None:
            await take_chosen_fields(
                session, actor, tenant, plan.match, plan.application, decision.take
            )
            for key, value in search_names(person.first_name, person.last_name).items():
                setattr(person, key, value)
            await session.flush()
        if created or decision.invite:
            to_invite.append(person.id)
        await _record_availability(session, plan.application, person, elections)
        application = plan.application
        application.status = "approved"
        application.person_id = person.id
        application.decided_at = utcnow()
        application.decided_by_label = actor.label
        await record(
            session,
            actor,
            "people.person.created" if created else "people.person.updated",
            person,
            data={"source": "application", "application": application.id},
        )
        await record(
            session,
            actor,
            "applications.application.approved",
            application,
            data={
                "person": person.id,
                "new_person": created,
                "matched_by": plan.match.by if plan.match is not None else None,
                "fields_taken": sorted(decision.take) if plan.match is not None else [],
                "invite": created or decision.invite,
            },
        )
        await queue_with_fields(
            session,
            key="application_approved",
            channel="email",
            # A matched person hears at the register's address, never only at one an
            # application gave.
            to=person.email or application.email if plan.match is not None else application.email,
            locale=application.preferred_language,
            idempotency_key=f"application-approved:{application.id}:{application.times_submitted}",
            extra={
                **applicant(application),
                "application.elections": "\n".join(
                    f"- {elections[c.election_id].name}" for c in application.choices
                ),
            },
        )
    await session.commit()
    return Approval(applications, to_invite)


def _refused_decision(plan: _Plan, decision: MatchDecision | None) -> str | None:
    if decision is None:
        return None
    application = plan.application
    if (
        decision.seen_submission is not None
        and decision.seen_submission != application.times_submitted
    ):
        return str(
            _(
                "The application was sent again while you were looking at it. Look at it "
                "again before you decide."
            )
        )
    if plan.match is None:
        return None
    email_after = plan.match.person.email or "email" in decision.take
    if decision.invite and (plan.match.has_account or not email_after):
        return str(_("This person cannot be invited to the portal from here."))
    return refused_choice(plan.match, decision.take)


async def _person_from(session: AsyncSession, plan: _Plan) -> tuple[Person, bool]:
    """The person the application becomes: a new one with its details, or the person
    already in the register, whose name and contact details stay as they are (the
    office's choices are applied by ``take_chosen_fields``)."""
    application = plan.application
    person = plan.person
    created = person is None
    if person is None:
        person = Person(tags=[], notes="")
        session.add(person)
    if person.national_id is None:
        person.national_id_country = application.national_id_country
        person.national_id = application.national_id
    if person.birth_date is None:
        person.birth_date = application.birth_date
    if created:
        person.first_name = application.first_name
        person.last_name = application.last_name
        person.email = application.email
        person.mobile = application.mobile
        person.street_address = application.street_address
        person.postal_code = application.postal_code
        person.city = application.city
        person.preferred_language = application.preferred_language
    known = list(person.spoken_languages or [])
    person.spoken_languages = known + [
        code for code in application.spoken_languages if code not in known
    ]
    person.experience = _more_experience(person.experience or "none", application.experience)
    person.status = "active"
    for key, value in search_names(person.first_name, person.last_name).items():
        setattr(person, key, value)
    await session.flush()
    return person, created


async def _record_availability(
    session: AsyncSession,
    application: Application,
    person: Person,
    elections: dict[int, Election],
) -> None:
    """The application's days and kinds of work replace what the register held for
    those elections; so do its district wishes."""
    for choice in application.choices:
        election = elections[choice.election_id]
        await session.execute(
            delete(Availability).where(
                Availability.person_id == person.id, Availability.election_id == election.id
            )
        )
        option = offer_for(election, [])
        chosen = [d.day for d in application.days if d.election_id == election.id]
        session.add_all(
            Availability(person_id=person.id, election_id=election.id, day=day, work_kind=kind)
            for day in chosen
            for kind in choice.work_kinds
            if option.fits(kind, day)
        )
        district_ids = select(District.id).where(District.election_id == election.id)
        await session.execute(
            delete(DistrictPreference).where(
                DistrictPreference.person_id == person.id,
                DistrictPreference.district_id.in_(district_ids),
            )
        )
    session.add_all(
        DistrictPreference(person_id=person.id, district_id=d.district_id)
        for d in application.districts
    )
    await session.flush()


# --- rejecting and asking for more ------------------------------------------------------


async def _answer(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    application_id: int,
    message: str,
    status: str,
    base_url: str,
) -> Application:
    application = await get_application(session, application_id)
    if application.status not in OPEN_STATUSES:
        raise ReviewError(_("This application has already been handled."))
    message = message.strip()
    if not message:
        raise ReviewError(_("Write the message to the applicant."))
    if len(message) > 5000:
        raise ReviewError(_("At most %(count)s characters.", count=5000))
    application.status = status
    application.office_message = message
    application.decided_at = utcnow()
    application.decided_by_label = actor.label
    template = "application_rejected" if status == "rejected" else "application_more_info"
    await queue_with_fields(
        session,
        key=template,
        channel="email",
        to=application.email,
        locale=application.preferred_language,
        idempotency_key=f"{template}:{application.id}:{utcnow().isoformat()}",
        sensitive=True,
        extra={
            **applicant(application),
            "message.text": message,
            "application.form_link": f"{base_url}/{tenant.slug}/apply",
        },
    )
    # The message itself may hold personal details; the audit entry only says it was sent.
    await record(session, actor, f"applications.application.{status}", application)
    await session.commit()
    return application


async def reject_application(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    application_id: int,
    message: str,
    base_url: str,
) -> Application:
    """Say no, with a message (from the office's template) emailed to the applicant."""
    return await _answer(session, actor, tenant, application_id, message, "rejected", base_url)


async def request_more_information(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    application_id: int,
    message: str,
    base_url: str,
) -> Application:
    """Ask the applicant a question by email; they answer by replying or applying again."""
    return await _answer(session, actor, tenant, application_id, message, "more_info", base_url)


# --- retention --------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def erase_expired(session: AsyncSession, actor: Actor, today: dt.date) -> tuple[int, int]:
    """Erase this tenant's rejected and never-handled applications whose last election
    lies more than the retention period back (applications naming no election count
    from when they were sent), and contact messages older than the period.

    Returns (applications erased, contact messages erased). Each erased application
    leaves an audit entry without personal data.
    """
    settings = await site_settings(session)
    months = settings.retention_months
    last_election = (
        select(
            ApplicationElection.application_id,
            func.max(Election.election_day).label("last_day"),
        )
        .join(Election, Election.id == ApplicationElection.election_id)
        .group_by(ApplicationElection.application_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Application.id, Application.status, Application.submitted_at, last_election.c.last_day
        )
        .outerjoin(last_election, last_election.c.application_id == Application.id)
        .where(Application.status.in_((*OPEN_STATUSES, "rejected")))
    )
    expired = []
    for application_id, status, submitted_at, last_day in rows:
        start = last_day or submitted_at.date()
        if add_months(start, months) <= today:
            expired.append((application_id, status))
    for application_id, status in expired:
        application = await session.get(Application, application_id)
        if application is None:
            continue
        await record(
            session,
            actor,
            "applications.application.erased",
            application,
            data={"reason": "retention", "status": status, "months": months},
        )
        await session.delete(application)
    cutoff = dt.datetime.combine(add_months(today, -months), dt.time(), tzinfo=dt.UTC)
    result = await session.execute(
        delete(ContactMessage).where(ContactMessage.received_at < cutoff)
    )
    # Delivered mail keeps names and messages; it goes after the same period.
    tenant_id = require_tenant_id()
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.status == "sent",
            OutboxMessage.created_at < cutoff,
        )
    )
    messages = int(getattr(result, "rowcount", 0) or 0)
    if messages:
        await record(
            session,
            actor,
            "contact.messages.erased",
            data={"reason": "retention", "count": messages, "months": months},
        )
    await session.commit()
    return len(expired), messages
