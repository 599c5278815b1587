"""The accounts' mail in the municipality's words: the renderer ``create_app`` registers
with ``app.core.accounts.mail``, so core sends the office's edited invitation, sign-in
link, password reset and second factor reset without importing the domain."""

from __future__ import annotations

from babel.dates import format_timedelta
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.mail import AccountMail
from app.core.i18n import format_locale, locale_scope
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.render import render_message


def valid_for_text(mail: AccountMail) -> str:
    """How long the link works, in the reader's words ("15 minuter", "1 week")."""
    if mail.valid_for is None:
        return ""
    with locale_scope(mail.locale):
        return format_timedelta(mail.valid_for, threshold=1, locale=format_locale())


async def render_account_mail(session: AsyncSession, mail: AccountMail) -> tuple[str, str, str]:
    """The mail as the current municipality words it: its saved text, else the default."""
    name = mail.name.strip()
    extra = {
        "person.name": name,
        "person.first_name": name.split()[0] if name else "",
        "account.link": mail.link,
        "account.valid_for": valid_for_text(mail),
    }
    fields = await merge_fields(session, extra=extra, locale=mail.locale, base_url=mail.base_url)
    rendered = await render_message(session, mail.key, "email", mail.locale, fields)
    return rendered.subject, rendered.text, rendered.html
