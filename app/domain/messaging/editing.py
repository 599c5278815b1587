"""The office writes its messages: every save is a version with its author and time;
an older one can be restored, and a system message can go back to its default.

The office also makes its own templates (a name, its channels) for dispatches; their
texts are versions like the system messages', with no default behind them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.messaging import MessagingError
from app.domain.messaging.catalog import CHANNELS, LOCALES, MESSAGES, MessageKind
from app.domain.messaging.fields import example_fields, field_names
from app.domain.messaging.render import check_required, check_source, render_source
from app.domain.messaging.sources import (
    default_source,
    forget_sources,
    has_default,
    newest_version,
)
from app.domain.models import MessageTemplate, MessageTemplateVersion

#: The groups of fields an own template offers (a dispatch may be about a place).
OWN_FIELDS = ("election", "place")
OWN_PREFIX = "own_"
MAX_SUBJECT = 300
MAX_BODY = {"email": 20_000, "sms": 1_600}


@dataclass(frozen=True)
class Kind:
    """A message the office can edit: a system message or one of its own."""

    key: str
    title: str
    channels: tuple[str, ...]
    fields: tuple[str, ...]
    own: MessageTemplate | None = None
    #: Fields the text must show as they are (``MessageKind.required``).
    required: tuple[str, ...] = ()

    @property
    def is_own(self) -> bool:
        return self.own is not None


def _system(key: str, kind: MessageKind) -> Kind:
    return Kind(key, str(kind.title), kind.channels, kind.fields, required=kind.required)


def _own(template: MessageTemplate) -> Kind:
    channels = tuple(channel for channel in CHANNELS if channel in template.channels)
    return Kind(template.key, template.name, channels, OWN_FIELDS, template)


async def kind_of(session: AsyncSession, key: str) -> Kind:
    """The message ``key`` of this municipality; 404 for a key it does not have."""
    if key in MESSAGES:
        return _system(key, MESSAGES[key])
    if key.startswith(OWN_PREFIX):
        template = await session.scalar(
            select(MessageTemplate).where(
                MessageTemplate.key == key, MessageTemplate.archived_at.is_(None)
            )
        )
        if template is not None:
            return _own(template)
    raise NotFound(_("Not found."))


async def all_kinds(session: AsyncSession) -> list[Kind]:
    """The system messages in the catalogue's order, then the office's own by name."""
    own = await session.scalars(
        select(MessageTemplate)
        .where(MessageTemplate.archived_at.is_(None))
        .order_by(MessageTemplate.name, MessageTemplate.id)
    )
    return [_system(key, kind) for key, kind in MESSAGES.items()] + [_own(t) for t in own]


def _checked_place(kind: Kind, channel: str, locale: str) -> None:
    if channel not in kind.channels or locale not in LOCALES:
        raise NotFound(_("Not found."))


@dataclass(frozen=True)
class TextState:
    """One channel and language of a message: what is sent now."""

    key: str
    channel: str
    locale: str
    latest: MessageTemplateVersion | None
    has_default: bool

    @property
    def edited(self) -> bool:
        return self.latest is not None and not self.latest.is_default

    @property
    def missing(self) -> bool:
        """Nothing would be sent: an own template with no text in this language."""
        return not self.edited and not self.has_default


async def text_state(session: AsyncSession, kind: Kind, channel: str, locale: str) -> TextState:
    _checked_place(kind, channel, locale)
    latest = await newest_version(session, kind.key, channel, locale)
    return TextState(kind.key, channel, locale, latest, has_default(kind.key, channel, locale))


async def overview(session: AsyncSession) -> list[tuple[Kind, list[TextState]]]:
    """Every message with the state of each of its channels and languages (one query)."""
    newest: dict[tuple[str, str, str], MessageTemplateVersion] = {}
    for version in await session.scalars(
        select(MessageTemplateVersion).order_by(MessageTemplateVersion.number)
    ):
        newest[(version.key, version.channel, version.locale)] = version
    rows = []
    for kind in await all_kinds(session):
        states = [
            TextState(
                kind.key,
                channel,
                locale,
                newest.get((kind.key, channel, locale)),
                has_default(kind.key, channel, locale),
            )
            for channel in kind.channels
            for locale in LOCALES
        ]
        rows.append((kind, states))
    return rows


async def current_text(
    session: AsyncSession, kind: Kind, channel: str, locale: str
) -> dict[str, str]:
    """The subject and body the editor opens with: the newest saved, else the default."""
    state = await text_state(session, kind, channel, locale)
    if state.edited and state.latest is not None:
        return {"subject": state.latest.subject, "body": state.latest.body}
    if state.has_default:
        subject, body = default_source(kind.key, channel, locale)
        return {"subject": subject, "body": body}
    return {"subject": "", "body": ""}


def clean_source(kind: Kind, channel: str, data: Mapping[str, Any]) -> dict[str, str]:
    """Read and check a template from a form: lengths, then the sandbox's rules (an
    unknown field or a syntax error is refused with its line), then a render with the
    example fields. Raises with the message at the field."""
    cleaner = Cleaner(data)
    subject = ""
    if channel == "email":
        subject = cleaner.text("subject", MAX_SUBJECT, required=True)
        if "\n" in subject:
            cleaner.fail("subject", _("The subject is one line."))
    body = str(data.get("body") or "").replace("\r\n", "\n").strip("\n")
    if not body.strip():
        cleaner.fail("body", _("This field is required."))
    elif len(body) > MAX_BODY[channel]:
        cleaner.fail("body", _("At most %(count)s characters.", count=MAX_BODY[channel]))
    cleaner.done()
    allowed = field_names(kind.fields)
    examples = example_fields(kind.fields)
    for field, text in (("subject", subject), ("body", body)):
        check_source(text, allowed, field)
        render_source(text, examples, field)
    check_required(body, kind.required)
    return {"subject": subject, "body": body + ("\n" if channel == "email" else "")}


async def _add_version(
    session: AsyncSession,
    actor: Actor,
    kind: Kind,
    channel: str,
    locale: str,
    values: dict[str, str],
    is_default: bool = False,
) -> MessageTemplateVersion:
    number = (
        await session.scalar(
            select(func.max(MessageTemplateVersion.number)).where(
                MessageTemplateVersion.key == kind.key,
                MessageTemplateVersion.channel == channel,
                MessageTemplateVersion.locale == locale,
            )
        )
        or 0
    ) + 1
    version = MessageTemplateVersion(
        key=kind.key,
        channel=channel,
        locale=locale,
        number=number,
        subject=values["subject"],
        body=values["body"],
        is_default=is_default,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
    )
    session.add(version)
    await session.flush()
    forget_sources(session)
    await record(
        session,
        actor,
        "messaging.template.reset" if is_default else "messaging.template.saved",
        version,
        data={"key": kind.key, "channel": channel, "locale": locale, "number": number},
    )
    return version


async def save_text(
    session: AsyncSession,
    actor: Actor,
    key: str,
    channel: str,
    locale: str,
    data: Mapping[str, Any],
) -> MessageTemplateVersion | None:
    """Save the office's text of a message as a new version; the next message sent
    uses it. Saving what is sent already writes nothing (and answers None)."""
    kind = await kind_of(session, key)
    _checked_place(kind, channel, locale)
    values = clean_source(kind, channel, data)
    if values == await current_text(session, kind, channel, locale):
        return None
    version = await _add_version(session, actor, kind, channel, locale, values)
    await session.commit()
    return version


async def reset_to_default(
    session: AsyncSession, actor: Actor, key: str, channel: str, locale: str
) -> MessageTemplateVersion:
    """Send the default text again (a version that says so, so the history shows it)."""
    kind = await kind_of(session, key)
    state = await text_state(session, kind, channel, locale)
    if not state.has_default:
        raise MessagingError(_("This message has no default text."), "body")
    if not state.edited and state.latest is not None:
        return state.latest
    version = await _add_version(
        session, actor, kind, channel, locale, {"subject": "", "body": ""}, is_default=True
    )
    await session.commit()
    return version


async def history(
    session: AsyncSession, key: str, channel: str, locale: str
) -> list[MessageTemplateVersion]:
    kind = await kind_of(session, key)
    _checked_place(kind, channel, locale)
    return list(
        await session.scalars(
            select(MessageTemplateVersion)
            .where(
                MessageTemplateVersion.key == key,
                MessageTemplateVersion.channel == channel,
                MessageTemplateVersion.locale == locale,
            )
            .order_by(MessageTemplateVersion.number.desc())
        )
    )


async def restore(
    session: AsyncSession, actor: Actor, key: str, channel: str, locale: str, version_id: int
) -> MessageTemplateVersion | None:
    """Send an older version again, saved as the newest (the history stays whole).

    The old text is checked again: a field since removed from the catalogue refuses it.
    """
    kind = await kind_of(session, key)
    _checked_place(kind, channel, locale)
    old = await session.get(MessageTemplateVersion, version_id)
    if old is None or (old.key, old.channel, old.locale) != (key, channel, locale):
        raise NotFound(_("Not found."))
    if old.is_default:
        return await reset_to_default(session, actor, key, channel, locale)
    return await save_text(
        session, actor, key, channel, locale, {"subject": old.subject, "body": old.body}
    )


def _clean_own(data: Mapping[str, Any]) -> tuple[str, list[str]]:
    cleaner = Cleaner(data)
    name = cleaner.text("name", 200, required=True)
    raw = data.get("channels")
    chosen = raw if isinstance(raw, list | tuple) else ([raw] if raw else [])
    channels = [channel for channel in CHANNELS if channel in chosen]
    if not channels or len(channels) != len(set(map(str, chosen))):
        cleaner.fail("channels", _("Choose e-mail, SMS or both."))
    cleaner.done()
    return name, channels


async def create_own(session: AsyncSession, actor: Actor, data: Mapping[str, Any]) -> Kind:
    """A template of the office's own, for dispatches: a name and its channels."""
    name, channels = _clean_own(data)
    duplicate = await session.scalar(
        select(MessageTemplate.id).where(
            func.lower(MessageTemplate.name) == name.lower(), MessageTemplate.archived_at.is_(None)
        )
    )
    if duplicate is not None:
        raise MessagingError(_("There is already a template with this name."), "name")
    template = MessageTemplate(
        key=f"{OWN_PREFIX}new_{secrets.token_hex(8)}",
        name=name,
        channels=channels,
        created_by_label=actor.label,
    )
    session.add(template)
    await session.flush()
    template.key = f"{OWN_PREFIX}{template.id}"
    await record(
        session, actor, "messaging.template.created", template, data={"channels": channels}
    )
    await session.commit()
    return _own(template)
