"""The applicant's own application, reached from the link in their confirmation
email: to read it, download it or withdraw it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.security import hash_token
from app.domain.models import Application
from app.domain.recruitment.applications import names_for
from app.domain.registers.identity import mask_national_id


async def application_for_token(session: AsyncSession, token: str) -> Application | None:
    """The application a confirmation email's link points at, or None."""
    if not token or len(token) > 100:
        return None
    application = await session.scalar(
        select(Application)
        .where(Application.access_token_hash == hash_token(token))
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
    )
    return application


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
