"""The accounts' mail (an invitation, a sign-in link, a password reset, a second factor
reset) in the words of the account's municipality.

The texts the office edits live in the domain (``app.domain.messaging``), which core
must not import: core calls the renderer registered here (``create_app`` registers the
domain's), inside the municipality's scope, and falls back to the fixed templates in
``templates/emails/`` when no municipality is known (an account of no municipality, an
instance administrator) or no renderer is registered (a command run without the app).
A text that cannot be rendered never stops a sign-in: the fixed template is sent then.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError
from app.core.models import User
from app.core.outbox.mail import queue_email
from app.core.outbox.rows import add_outbox_message
from app.core.settings import SUPPORTED_LOCALES
from app.core.tenancy import tenant_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountMail:
    """What an account's mail says: ``key`` is its message (and fixed template) name."""

    key: str
    name: str
    locale: str
    link: str = ""
    valid_for: timedelta | None = None
    base_url: str = ""


#: Renders an account's mail as (subject, text, html) in the current municipality.
AccountMailRenderer = Callable[[AsyncSession, AccountMail], Awaitable[tuple[str, str, str]]]

_renderers: list[AccountMailRenderer] = []


def use_account_mail_renderer(renderer: AccountMailRenderer | None) -> None:
    """Register the renderer of the municipalities' own texts (None: the fixed ones)."""
    _renderers.clear()
    if renderer is not None:
        _renderers.append(renderer)


def _fixed_context(mail: AccountMail, municipality: str) -> dict[str, Any]:
    seconds = int(mail.valid_for.total_seconds()) if mail.valid_for else 0
    return {
        "name": mail.name,
        "link": mail.link,
        "hours": max(1, seconds // 3600),
        "minutes": seconds // 60,
        "municipality": municipality,
    }


async def queue_account_email(
    session: AsyncSession,
    *,
    user: User,
    mail: AccountMail,
    idempotency_key: str,
    tenant_id: int | None,
    municipality: str = "",
    sensitive: bool = False,
) -> None:
    """Add the account's mail to the outbox in the caller's transaction, as ``tenant_id``'s
    (its text and its sender) when given, else the instance's fixed text.

    The row is flushed inside the municipality's scope: its row policy checks it there.
    """
    locale = mail.locale if mail.locale in SUPPORTED_LOCALES else SUPPORTED_LOCALES[0]
    mail = AccountMail(mail.key, mail.name, locale, mail.link, mail.valid_for, mail.base_url)
    if tenant_id is not None and _renderers:
        with tenant_scope(tenant_id):
            try:
                subject, text, html = await _renderers[0](session, mail)
            except DomainError:
                log.warning(
                    "the %s text of municipality %s cannot be rendered", mail.key, tenant_id
                )
            else:
                add_outbox_message(
                    session,
                    tenant_id=tenant_id,
                    channel="email",
                    recipient=user.email,
                    subject=subject,
                    body_text=text,
                    body_html=html or None,
                    idempotency_key=idempotency_key,
                    sensitive=sensitive,
                )
                await session.flush()
                return
    context = _fixed_context(mail, municipality)
    if tenant_id is None:
        queue_email(
            session,
            to=user.email,
            template=mail.key,
            locale=locale,
            idempotency_key=idempotency_key,
            sensitive=sensitive,
            **context,
        )
        return
    with tenant_scope(tenant_id):
        queue_email(
            session,
            to=user.email,
            template=mail.key,
            locale=locale,
            idempotency_key=idempotency_key,
            tenant_id=tenant_id,
            sensitive=sensitive,
            **context,
        )
        await session.flush()
