"""The office's own text of each document, per language: every save is a version with
its author and time, the newest is the one used, and "reset to default" is a version
that says so (the default file is used again, as it is improved).

The versions are the messages' (``MessageTemplateVersion``) in the channel
``document``: one table and one row policy for every text the office writes.

A text is checked when it is saved, as a message is: it may only name the merge fields
its document offers, and it must render with their example values; a refusal names
the line and the field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.documents.catalog import DOCUMENTS, LOCALES, DocumentKind
from app.domain.messaging import MessagingError
from app.domain.messaging.fields import nest
from app.domain.messaging.render import check_source, render_source
from app.domain.models import MessageTemplateVersion as DocumentVersion

logger = logging.getLogger(__name__)

DOCUMENT_TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "documents"
MAX_TEXT = 20_000
#: The channel of the documents' versions beside the messages' "email" and "sms".
CHANNEL = "document"


def document_kind(key: str, locale: str | None = None) -> DocumentKind:
    """The document ``key`` (in ``locale``); 404 for an unknown one."""
    kind = DOCUMENTS.get(key)
    if kind is None or (locale is not None and locale not in LOCALES):
        raise NotFound(_("Not found."))
    return kind


@cache
def default_text(key: str, locale: str) -> str:
    """The text a document has until the office writes its own, from its file."""
    path = DOCUMENT_TEMPLATES / f"{key}.{locale}.txt"
    return path.read_text(encoding="utf-8").strip("\n") + "\n"


def example_fields(key: str) -> dict[str, Any]:
    """The merge fields of ``key`` filled with their examples, for the check and help."""
    return nest({field.name: field.example for field in document_kind(key).fields})


def render_text(source: str, fields: dict[str, Any]) -> str:
    """A document's text with the merge fields put in (in the sandbox)."""
    return render_source(source, fields, "body").strip("\n")


def render_in_use(key: str, locale: str, source: str, fields: dict[str, Any]) -> str:
    """The text in use (``source``) filled in for a reader. A text saved before a field
    left the catalogue no longer renders: the default is printed instead, and the
    office is told by a warning in the log rather than a reader by an error."""
    try:
        return render_text(source, fields)
    except MessagingError as error:
        logger.warning("document %s (%s) falls back to its default: %s", key, locale, error)
        return render_text(default_text(key, locale), fields)


@dataclass(frozen=True)
class DocumentState:
    """A document in one language: its newest version (None: never saved) and the text
    in use."""

    key: str
    locale: str
    latest: DocumentVersion | None
    text: str

    @property
    def is_default(self) -> bool:
        return self.latest is None or self.latest.is_default


async def latest_version(session: AsyncSession, key: str, locale: str) -> DocumentVersion | None:
    return await session.scalar(
        select(DocumentVersion)
        .where(
            DocumentVersion.key == key,
            DocumentVersion.channel == CHANNEL,
            DocumentVersion.locale == locale,
        )
        .order_by(DocumentVersion.number.desc())
        .limit(1)
    )


async def document_state(session: AsyncSession, key: str, locale: str) -> DocumentState:
    document_kind(key, locale)
    latest = await latest_version(session, key, locale)
    return DocumentState(key, locale, latest, _text_of(latest, key, locale))


def _text_of(version: DocumentVersion | None, key: str, locale: str) -> str:
    if version is None or version.is_default:
        return default_text(key, locale)
    return version.body


async def current_text(session: AsyncSession, key: str, locale: str) -> str:
    """The source of ``key`` in ``locale`` in use: the office's, else the default."""
    return (await document_state(session, key, locale)).text


async def current_texts(session: AsyncSession, key: str) -> dict[str, str]:
    """The source of ``key`` in every language, for a document printed for many readers."""
    return {locale: await current_text(session, key, locale) for locale in LOCALES}


async def overview(session: AsyncSession) -> list[DocumentState]:
    """Every document in every language with its newest version."""
    newest = (
        select(
            DocumentVersion.key,
            DocumentVersion.locale,
            func.max(DocumentVersion.number).label("top"),
        )
        .where(DocumentVersion.channel == CHANNEL)
        .group_by(DocumentVersion.key, DocumentVersion.locale)
        .subquery()
    )
    rows = await session.scalars(
        select(DocumentVersion).join(
            newest,
            (DocumentVersion.channel == CHANNEL)
            & (DocumentVersion.key == newest.c.key)
            & (DocumentVersion.locale == newest.c.locale)
            & (DocumentVersion.number == newest.c.top),
        )
    )
    latest = {(version.key, version.locale): version for version in rows}
    states = []
    for key in DOCUMENTS:
        for locale in LOCALES:
            version = latest.get((key, locale))
            states.append(DocumentState(key, locale, version, _text_of(version, key, locale)))
    return states


async def history(session: AsyncSession, key: str, locale: str) -> list[DocumentVersion]:
    document_kind(key, locale)
    rows = await session.scalars(
        select(DocumentVersion)
        .where(
            DocumentVersion.key == key,
            DocumentVersion.channel == CHANNEL,
            DocumentVersion.locale == locale,
        )
        .order_by(DocumentVersion.number.desc())
    )
    return list(rows)


def clean_text(key: str, data: Mapping[str, Any]) -> str:
    """The text from a form, checked: within bounds, only the document's merge fields,
    and it renders with their examples. A refusal names the line and the field."""
    kind = document_kind(key)
    cleaner = Cleaner(data)
    body = cleaner.text("body", MAX_TEXT, required=True).replace("\r\n", "\n")
    cleaner.done()
    check_source(body, kind.field_names, "body")
    render_text(body, example_fields(key))
    return body


async def _add_version(
    session: AsyncSession, actor: Actor, key: str, locale: str, body: str | None
) -> DocumentVersion:
    number = (
        await session.scalar(
            select(func.max(DocumentVersion.number)).where(
                DocumentVersion.key == key,
                DocumentVersion.channel == CHANNEL,
                DocumentVersion.locale == locale,
            )
        )
        or 0
    ) + 1
    version = DocumentVersion(
        key=key,
        channel=CHANNEL,
        locale=locale,
        number=number,
        subject="",
        body=body or "",
        is_default=body is None,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
    )
    session.add(version)
    await session.flush()
    code = "documents.text.saved" if body is not None else "documents.text.reset"
    await record(
        session, actor, code, version, data={"key": key, "locale": locale, "number": number}
    )
    return version


async def save_text(
    session: AsyncSession, actor: Actor, key: str, locale: str, data: Mapping[str, Any]
) -> DocumentVersion | None:
    """Save the office's text of a document as a new version. The same text as the one
    in use writes nothing (and returns the newest version, None for the default)."""
    document_kind(key, locale)
    body = clean_text(key, data)
    state = await document_state(session, key, locale)
    if body.strip("\n") == state.text.strip("\n"):
        return state.latest
    version = await _add_version(session, actor, key, locale, body)
    await session.commit()
    return version


async def reset_text(
    session: AsyncSession, actor: Actor, key: str, locale: str
) -> DocumentVersion | None:
    """Use the default text again, as a version of its own (the history keeps the
    office's texts); nothing is written when the default is already in use."""
    state = await document_state(session, key, locale)
    if state.is_default:
        return state.latest
    version = await _add_version(session, actor, key, locale, None)
    await session.commit()
    return version


async def restore_version(
    session: AsyncSession, actor: Actor, key: str, locale: str, version_id: int
) -> DocumentVersion | None:
    """Make an earlier version the one in use again, as a new version."""
    document_kind(key, locale)
    old = await session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.id == version_id,
            DocumentVersion.key == key,
            DocumentVersion.channel == CHANNEL,
            DocumentVersion.locale == locale,
        )
    )
    if old is None:
        raise NotFound(_("Not found."))
    if old.is_default:
        return await reset_text(session, actor, key, locale)
    return await save_text(session, actor, key, locale, {"body": old.body})
