"""Where a message's source comes from: the office's newest saved version of it, or
the default file in ``templates/messages/``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import MessageTemplateVersion

MESSAGE_TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "messages"


@cache
def default_source(key: str, channel: str, locale: str) -> tuple[str, str]:
    """The default (subject, body) of a message from its file; SMS have no subject."""
    path = MESSAGE_TEMPLATES / f"{key}.{channel}.{locale}.txt"
    text = path.read_text(encoding="utf-8")
    if channel != "email":
        return "", text.strip("\n")
    first, _blank, body = text.partition("\n\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"{path.name} must start with a 'Subject:' line")
    return first.removeprefix("Subject:").strip(), body.strip("\n") + "\n"


def has_default(key: str, channel: str, locale: str) -> bool:
    return (MESSAGE_TEMPLATES / f"{key}.{channel}.{locale}.txt").is_file()


async def newest_version(
    session: AsyncSession, key: str, channel: str, locale: str
) -> MessageTemplateVersion | None:
    """The office's newest saved version of a message in one channel and language."""
    return await session.scalar(
        select(MessageTemplateVersion)
        .where(
            MessageTemplateVersion.key == key,
            MessageTemplateVersion.channel == channel,
            MessageTemplateVersion.locale == locale,
        )
        .order_by(MessageTemplateVersion.number.desc())
        .limit(1)
    )


async def current_source(
    session: AsyncSession, key: str, channel: str, locale: str
) -> tuple[str, str]:
    """The (subject, body) this municipality sends for ``key`` in ``channel`` and
    ``locale``: its newest saved version, unless that says "the default" or there is none.

    An own template (no default files) without a text in ``locale`` answers empty texts.
    """
    version = await newest_version(session, key, channel, locale)
    if version is not None and not version.is_default:
        return version.as_source()
    if has_default(key, channel, locale):
        return default_source(key, channel, locale)
    return "", ""
