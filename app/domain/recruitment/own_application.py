"""The applicant's own application, reached from the link in their confirmation
email: to read it, download it or withdraw it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core import ratelimit
from app.core.accounts.users import normalise_email
from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.security import hash_token
from app.core.validation import EMAIL_PATTERN, FieldErrors
from app.domain.messaging.queue import queue_with_fields
from app.domain.models import Application
from app.domain.recruitment.applications import DATA_LINK_VALID, names_for, new_data_link
from app.domain.registers.identity import mask_national_id

#: Requests for a fresh link from one network to one municipality, and to one address.
LINKS_PER_ADDRESS = ratelimit.Limit("public.apply_link.address", 10, timedelta(hours=1))
LINKS_PER_EMAIL = ratelimit.Limit("public.apply_link.email", 3, timedelta(hours=1))


async def application_for_token(session: AsyncSession, token: str) -> Application | None:
    """The application a confirmation email's link points at, or None."""
    if not token or len(token) > 100:
        return None
    application = await session.scalar(
        select(Application)
        .where(
            Application.access_token_hash == hash_token(token),
            Application.access_token_expires_at > utcnow(),
        )
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
    )
    return application


async def mail_fresh_links(
    session: AsyncSession,
    tenant: Tenant,
    email: str,
    *,
    locale: str,
    base_url: str,
    ip_address: str,
) -> None:
    """Mail a fresh link to their data to every application with this email address.

    Answers the same whether or not there is one, so the form cannot tell who applied;
    an address asked for too often is simply not mailed again. Raises FieldErrors for
    something that is no email address, RateLimited when this network asked too often.
    """
    email = normalise_email(email or "")
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise FieldErrors({"email": _("Enter a valid email address.")})
    network = f"{tenant.id}:{ratelimit.address_key(ip_address)}"
    await ratelimit.check(session, LINKS_PER_ADDRESS, network)
    ratelimit.hit(session, LINKS_PER_ADDRESS, network)
    mailbox = f"{tenant.id}:{email}"
    too_often = await ratelimit.retry_after(session, LINKS_PER_EMAIL, mailbox)
    ratelimit.hit(session, LINKS_PER_EMAIL, mailbox)
    found = (
        []
        if too_often
        else list(
            await session.scalars(select(Application).where(func.lower(Application.email) == email))
        )
    )
    for application in found:
        _token, link = new_data_link(application, tenant, base_url)
        await queue_with_fields(
            session,
            key="application_link",
            channel="email",
            to=application.email,
            locale=application.preferred_language,
            idempotency_key=f"application-link:{application.id}:{utcnow().isoformat()}",
            sensitive=True,
            application=application,
            extra={
                "application.link": link,
                "application.link_days": str(DATA_LINK_VALID.days),
            },
        )
        await record(
            session, Actor.system("applicant"), "applications.application.link_sent", application
        )
    await session.commit()


async def application_data(session: AsyncSession, application: Application) -> dict[str, Any]:
    """Everything stored about an applicant, for them to read or download (GDPR)."""
    elections, districts = await names_for(session, [application])
    return {
        "first_name": application.first_name,
        "last_name": application.last_name,
        "national_id": mask_national_id(application.national_id_country, application.national_id),
        "email": application.email,
        "mobile": application.mobile,
        "street_address": application.street_address,
        "postal_code": application.postal_code,
        "city": application.city,
        "preferred_language": application.preferred_language,
        "spoken_languages": list(application.spoken_languages),
        "experience": application.experience,
        "experience_notes": application.experience_notes,
        "preferred_areas": application.preferred_areas,
        "message": application.message,
        "status": application.status,
        "submitted_at": application.submitted_at.isoformat(),
        "consented_at": application.consented_at.isoformat(),
        "declared_not_candidate": application.declared_not_candidate,
        "privacy_notice_version": application.privacy_version_number,
        "elections": [
            {
                "election": elections[choice.election_id].name
                if choice.election_id in elections
                else None,
                "work_kinds": list(choice.work_kinds),
                "days": [
                    day.day.isoformat()
                    for day in application.days
                    if day.election_id == choice.election_id
                ],
                "districts": [
                    districts[d.district_id].name
                    for d in application.districts
                    if d.district_id in districts
                    and districts[d.district_id].election_id == choice.election_id
                ],
            }
            for choice in application.choices
        ],
    }


async def withdraw_application(session: AsyncSession, token: str) -> bool:
    """The applicant erases their application from the link in their email.

    A person already approved stays in the register (they have an appointment to
    handle); only the application is erased.
    """
    application = await application_for_token(session, token)
    if application is None:
        return False
    await record(
        session,
        Actor.system("applicant"),
        "applications.application.withdrawn",
        application,
        data={"status": application.status},
    )
    await session.delete(application)
    await session.commit()
    return True
