"""The municipality's own exclusions: a person it has decided may not work its
elections, with the reason, who decided and when. Each change is audited; while an
exclusion stands the person is kept off every station (see ``staffing.kept_off``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import FieldErrors
from app.domain.models import Person, PersonExclusion

REASON_LENGTH = 500


async def exclusions_of(session: AsyncSession, person_id: int) -> list[PersonExclusion]:
    return list(
        await session.scalars(
            select(PersonExclusion)
            .where(PersonExclusion.person_id == person_id)
            .order_by(PersonExclusion.created_at, PersonExclusion.id)
        )
    )


async def all_exclusions(session: AsyncSession) -> list[tuple[PersonExclusion, Person]]:
    rows = await session.execute(
        select(PersonExclusion, Person)
        .join(Person, Person.id == PersonExclusion.person_id)
        .order_by(Person.last_name, Person.first_name, PersonExclusion.id)
    )
    return [(exclusion, person) for exclusion, person in rows]


async def exclude_person(
    session: AsyncSession, actor: Actor, person_id: int, reason: str
) -> PersonExclusion:
    """Keep a person off the municipality's stations for ``reason``.

    The reason is required (the office must be able to say why); another
    municipality's person is not found."""
    person = await session.scalar(
        select(Person).where(Person.id == person_id, Person.erased_at.is_(None))
    )
    if person is None:
        raise NotFound(_("Not found."))
    text = " ".join(reason.split())
    if not text:
        raise FieldErrors({"reason": _("Write why the person is excluded.")})
    if len(text) > REASON_LENGTH:
        raise FieldErrors({"reason": _("At most %(count)s characters.", count=REASON_LENGTH)})
    exclusion = PersonExclusion(
        person_id=person.id,
        reason=text,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
    )
    session.add(exclusion)
    await session.flush()
    await record(
        session,
        actor,
        "people.exclusion.added",
        exclusion,
        data={"person": person.id, "reason": text},
    )
    await session.commit()
    return exclusion


async def lift_exclusion(
    session: AsyncSession, actor: Actor, person_id: int, exclusion_id: int
) -> None:
    """End an exclusion; the audit log keeps that it stood, and its reason."""
    exclusion = await session.scalar(
        select(PersonExclusion).where(
            PersonExclusion.id == exclusion_id, PersonExclusion.person_id == person_id
        )
    )
    if exclusion is None:
        raise NotFound(_("Not found."))
    await record(
        session,
        actor,
        "people.exclusion.lifted",
        exclusion,
        data={"person": person_id, "reason": exclusion.reason},
    )
    await session.delete(exclusion)
    await session.commit()
