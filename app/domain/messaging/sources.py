"""Where a message's source comes from: the office's newest saved version of it, or
the default file in ``templates/messages/``."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.tenancy import require_tenant_id
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


#: Where a session keeps the sources it has read: a dispatch renders one message for
#: thousands of people, and the newest version's query was most of each one's time.
_CACHE = "messaging.sources"
#: How long a session trusts a source it read; another process may save a new version.
CACHE_SECONDS = 30.0


def forget_sources(session: AsyncSession) -> None:
    """Drop the sources this session has read (a version was saved in it)."""
    session.info.pop(_CACHE, None)


async def current_source(
    session: AsyncSession, key: str, channel: str, locale: str
) -> tuple[str, str]:
    """The (subject, body) this municipality sends for ``key`` in ``channel`` and
    ``locale``: its newest saved version, unless that says "the default" or there is none.

    An own template (no default files) without a text in ``locale`` answers empty texts.
    """
    cache: dict[tuple[int, str, str, str], tuple[float, tuple[str, str]]]
    cache = session.info.setdefault(_CACHE, {})
    place = (require_tenant_id(), key, channel, locale)
    hit = cache.get(place)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    version = await newest_version(session, key, channel, locale)
    if version is not None and not version.is_default:
        source = version.as_source()
    elif has_default(key, channel, locale):
        source = default_source(key, channel, locale)
    else:
        source = ("", "")
    cache[place] = (time.monotonic(), source)
    return source
