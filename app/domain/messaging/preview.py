"""A template as one real person of the register would receive it, before it is saved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _
from app.core.outbox.sms_length import SmsLength, sms_length
from app.domain.messaging.editing import Kind, clean_source
from app.domain.messaging.fields import fields_for, merge_flat, nest
from app.domain.messaging.render import Rendered, frame_html, render_source, text_to_html
from app.domain.models import Assignment, Person, Shift


@dataclass(frozen=True)
class Preview:
    rendered: Rendered
    person: Person | None
    #: The fields the person had nothing for, shown with their example value.
    examples_used: tuple[str, ...]
    length: SmsLength | None
    #: The e-mail's text as the HTML mail shows it (without the frame), for the page.
    body_html: Markup | None = None


async def _latest_assignment(session: AsyncSession, person: Person) -> Assignment | None:
    return await session.scalar(
        select(Assignment)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Assignment.person_id == person.id, Assignment.state != "declined")
        .order_by(Shift.day.desc(), Assignment.id.desc())
        .limit(1)
    )


async def person_fields(
    session: AsyncSession, kind: Kind, locale: str, person: Person | None, base_url: str
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The fields for ``person`` (with their newest place), examples for the rest."""
    examples = {field.name: field.example for field in fields_for(kind.fields)}
    if person is None:
        return nest(examples), tuple(examples)
    assignment = await _latest_assignment(session, person)
    real = await merge_flat(
        session, person=person, assignment=assignment, locale=locale, base_url=base_url
    )
    flat = {name: real.get(name) or example for name, example in examples.items()}
    return nest(flat), tuple(name for name in examples if not real.get(name))


async def preview(
    session: AsyncSession,
    kind: Kind,
    channel: str,
    locale: str,
    data: Mapping[str, Any],
    person_id: int | None,
    base_url: str = "",
) -> Preview:
    """Check the template as a save would (refusals at the field), then render it for
    the person; another municipality's person answers 404."""
    values = clean_source(kind, channel, data)
    person = None
    if person_id is not None:
        # A query, not session.get: the identity map would answer without the tenant gate.
        person = await session.scalar(
            select(Person).where(Person.id == person_id, Person.erased_at.is_(None))
        )
        if person is None:
            raise NotFound(_("Not found."))
    fields, examples_used = await person_fields(session, kind, locale, person, base_url)
    subject = " ".join(render_source(values["subject"], fields, "subject").split())
    text = render_source(values["body"], fields, "body")
    if channel == "email":
        rendered = Rendered(subject, text, frame_html(subject, text, locale, fields))
        return Preview(rendered, person, examples_used, None, text_to_html(text))
    text = text.strip()
    return Preview(Rendered("", text, ""), person, examples_used, sms_length(text))
