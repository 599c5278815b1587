"""The public site's editable pages and text blocks: drafts, publishing, history,
Markdown rendering that is safe to show, and the site's look.

A page or block is identified by its key and language. Every save is a new
version; publishing marks one version as what the public sees.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import utcnow
from app.core.settings import SUPPORTED_LOCALES
from app.core.validation import Cleaner, FieldErrors
from app.domain.models import DEFAULT_BRAND_COLOR, SiteSettings, WebPartVersion
from app.domain.site import colours
from app.domain.site.defaults import DEFAULTS

#: Pages of the public site, in menu order.
PAGE_KEYS = ("start", "work", "faq", "pay", "privacy", "accessibility")
#: Pages linked from the footer, not the menu.
FOOTER_KEYS = ("privacy", "accessibility")
#: Text blocks shown around the forms and in the office's replies.
BLOCK_KEYS = (
    "apply_intro", "apply_done", "contact_intro", "reply_rejected", "reply_more_info",
    "what_to_bring",
)  # fmt: skip
KEYS = PAGE_KEYS + BLOCK_KEYS
MAX_BODY = 50_000
MAX_LOGO_BYTES = 300 * 1024

# Raw HTML is allowed in the Markdown (a municipality may paste a table); nh3 then
# keeps only these tags and attributes. Links keep only web, mail and phone schemes.
_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em",
    "h2", "h3", "h4", "hr", "i", "img", "li", "ol", "p", "pre", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align", "scope"},
    "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def render_markdown(text: str, link_base: str | None = None) -> Markup:
    """Markdown to HTML that can be shown as is: no scripts, no event handlers, no
    ``javascript:`` links, no styles; headings start at h2 (the page has the h1).

    ``link_base`` (the public site's address, ending in ``/``) makes relative links and
    images point where they do on the public site, for a preview shown elsewhere (the
    office writes ``[apply](apply)`` as the public page's neighbour)."""
    html = _markdown.render(text or "")
    html = re.sub(r"<(/?)h1\b", r"<\1h2", html)

    def rebase(tag: str, attribute: str, value: str) -> str:
        if attribute in ("href", "src") and link_base and _RELATIVE.match(value):
            return link_base + value
        return value

    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        attribute_filter=rebase if link_base else None,
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


#: A relative address: no scheme, not from the root, not only a fragment or a query.
_RELATIVE = re.compile(r"^(?![a-zA-Z][a-zA-Z0-9+.-]*:)(?![/#?])")


def default_text(key: str, locale: str) -> tuple[str, str]:
    texts = DEFAULTS.get(locale) or DEFAULTS["sv"]
    return texts[key]


def _check(key: str, locale: str) -> None:
    if key not in KEYS or locale not in SUPPORTED_LOCALES:
        raise NotFound(_("Not found."))


@dataclass(frozen=True)
class Shown:
    """What the public sees of a page or block: a published version or the built-in text."""

    key: str
    locale: str
    title: str
    body: str
    version: WebPartVersion | None

    @property
    def html(self) -> Markup:
        return render_markdown(self.body)

    def html_at(self, link_base: str) -> Markup:
        """The page as it reads on the public site, shown at another address."""
        return render_markdown(self.body, link_base)


async def latest_published(session: AsyncSession, key: str, locale: str) -> WebPartVersion | None:
    return await session.scalar(
        select(WebPartVersion)
        .where(
            WebPartVersion.key == key,
            WebPartVersion.locale == locale,
            WebPartVersion.published_at.is_not(None),
        )
        .order_by(WebPartVersion.number.desc())
        .limit(1)
    )


async def latest_version(session: AsyncSession, key: str, locale: str) -> WebPartVersion | None:
    return await session.scalar(
        select(WebPartVersion)
        .where(WebPartVersion.key == key, WebPartVersion.locale == locale)
        .order_by(WebPartVersion.number.desc())
        .limit(1)
    )


async def shown(session: AsyncSession, key: str, locale: str) -> Shown:
    """The text the public sees in ``locale``: the published version, else the built-in
    text. A language the office has not written falls back to the built-in text of
    that language, never to a draft."""
    _check(key, locale)
    version = await latest_published(session, key, locale)
    if version is not None:
        return Shown(key, locale, version.title, version.body, version)
    title, body = default_text(key, locale)
    return Shown(key, locale, title, body, None)


@dataclass(frozen=True)
class NewerVersion:
    """The page in the municipality's own language was published after the version a
    reader sees in theirs (or theirs was never written): it may say more."""

    locale: str
    published_at: dt.datetime


async def newer_in_own_language(
    session: AsyncSession, part: Shown, own_locale: str
) -> NewerVersion | None:
    """Whether the reader should be told that the municipality's own language has a
    newer version of ``part`` than the one shown (None when it has not, or when the
    reader reads the own language)."""
    if part.locale == own_locale or own_locale not in SUPPORTED_LOCALES:
        return None
    own = await latest_published(session, part.key, own_locale)
    if own is None or own.published_at is None:
        return None
    shown_at = part.version.published_at if part.version is not None else None
    if shown_at is not None and shown_at >= own.published_at:
        return None
    return NewerVersion(own_locale, own.published_at)


async def shown_many(session: AsyncSession, keys: tuple[str, ...], locale: str) -> dict[str, Shown]:
    return {key: await shown(session, key, locale) for key in keys}


@dataclass(frozen=True)
class PartState:
    key: str
    locale: str
    published: WebPartVersion | None
    latest: WebPartVersion | None

    @property
    def has_draft(self) -> bool:
        return self.latest is not None and self.latest.published_at is None

    @property
    def title(self) -> str:
        version = self.latest or self.published
        return version.title if version is not None else default_text(self.key, self.locale)[0]


async def _newest_versions(
    session: AsyncSession, published_only: bool
) -> dict[tuple[str, str], WebPartVersion]:
    """The newest version (or newest published one) of every page and block, by
    (key, locale), in one query."""
    newest = select(
        WebPartVersion.key, WebPartVersion.locale, func.max(WebPartVersion.number).label("top")
    ).group_by(WebPartVersion.key, WebPartVersion.locale)
    if published_only:
        newest = newest.where(WebPartVersion.published_at.is_not(None))
    top = newest.subquery()
    rows = await session.scalars(
        select(WebPartVersion).join(
            top,
            (WebPartVersion.key == top.c.key)
            & (WebPartVersion.locale == top.c.locale)
            & (WebPartVersion.number == top.c.top),
        )
    )
    return {(version.key, version.locale): version for version in rows}


async def overview(session: AsyncSession) -> list[PartState]:
    """Every page and block in every language with its published and newest version."""
    latest = await _newest_versions(session, published_only=False)
    published = await _newest_versions(session, published_only=True)
    return [
        PartState(key, locale, published.get((key, locale)), latest.get((key, locale)))
        for key in KEYS
        for locale in SUPPORTED_LOCALES
    ]


async def part_state(session: AsyncSession, key: str, locale: str) -> PartState:
    _check(key, locale)
    return PartState(
        key,
        locale,
        await latest_published(session, key, locale),
        await latest_version(session, key, locale),
    )


async def history(session: AsyncSession, key: str, locale: str) -> list[WebPartVersion]:
    _check(key, locale)
    rows = await session.scalars(
        select(WebPartVersion)
        .where(WebPartVersion.key == key, WebPartVersion.locale == locale)
        .order_by(WebPartVersion.number.desc())
    )
    return list(rows)


async def get_version(
    session: AsyncSession, key: str, locale: str, version_id: int
) -> WebPartVersion:
    version = await session.scalar(
        select(WebPartVersion).where(
            WebPartVersion.id == version_id,
            WebPartVersion.key == key,
            WebPartVersion.locale == locale,
        )
    )
    if version is None:
        raise NotFound(_("Not found."))
    return version


def clean_text(data: Mapping[str, Any], key: str) -> dict[str, str]:
    cleaner = Cleaner(data)
    values = {
        "title": cleaner.text("title", 200, required=key in PAGE_KEYS),
        "body": cleaner.text("body", MAX_BODY),
    }
    cleaner.done()
    return values


async def _new_version(
    session: AsyncSession, actor: Actor, key: str, locale: str, title: str, body: str
) -> WebPartVersion:
    number = (
        await session.scalar(
            select(func.max(WebPartVersion.number)).where(
                WebPartVersion.key == key, WebPartVersion.locale == locale
            )
        )
        or 0
    ) + 1
    version = WebPartVersion(
        key=key,
        locale=locale,
        number=number,
        title=title,
        body=body,
        created_by_id=actor.user_id,
        created_by_label=actor.label,
    )
    session.add(version)
    await session.flush()
    return version


async def save_draft(
    session: AsyncSession, actor: Actor, key: str, locale: str, data: Mapping[str, Any]
) -> WebPartVersion:
    """Save a new version of a page or block without publishing it.

    Saving the same text as the newest version writes nothing new.
    """
    _check(key, locale)
    values = clean_text(data, key)
    latest = await latest_version(session, key, locale)
    if (
        latest is not None
        and latest.published_at is None
        and (latest.title, latest.body) == (values["title"], values["body"])
    ):
        return latest
    version = await _new_version(session, actor, key, locale, values["title"], values["body"])
    await record(
        session,
        actor,
        "webparts.version.saved",
        version,
        data={"key": key, "locale": locale, "number": version.number},
    )
    await session.commit()
    return version


async def publish(
    session: AsyncSession, actor: Actor, key: str, locale: str, data: Mapping[str, Any] | None
) -> WebPartVersion:
    """Publish: with ``data``, save it as a new version first; without, publish the
    newest version (the draft)."""
    _check(key, locale)
    if data is not None:
        values = clean_text(data, key)
        latest = await latest_version(session, key, locale)
        if latest is None or (latest.title, latest.body) != (values["title"], values["body"]):
            latest = await _new_version(
                session, actor, key, locale, values["title"], values["body"]
            )
    else:
        latest = await latest_version(session, key, locale)
        if latest is None:
            raise FieldErrors({"body": _("There is nothing to publish yet.")})
    if latest.published_at is None:
        latest.published_at = utcnow()
        latest.published_by_label = actor.label
        await record(
            session,
            actor,
            "webparts.version.published",
            latest,
            data={"key": key, "locale": locale, "number": latest.number},
        )
    await session.commit()
    return latest


async def restore(
    session: AsyncSession, actor: Actor, key: str, locale: str, version_id: int
) -> WebPartVersion:
    """Make an earlier version the draft again (as a new version, so history stays)."""
    old = await get_version(session, key, locale, version_id)
    return await save_draft(session, actor, key, locale, {"title": old.title, "body": old.body})


async def privacy_notice_for_consent(
    session: AsyncSession, actor: Actor, locale: str
) -> WebPartVersion:
    """The privacy notice version an applicant consents to in ``locale``.

    When the office has not published one, the built-in notice the applicant was
    shown is published now, so every consent points at a stored text. A draft the
    office is writing stays the newest version (it is copied on top), so the editor
    still opens on it.
    """
    version = await latest_published(session, "privacy", locale)
    if version is not None:
        return version
    draft = await latest_version(session, "privacy", locale)
    title, body = default_text("privacy", locale)
    version = await _new_version(session, actor, "privacy", locale, title, body)
    version.published_at = utcnow()
    version.published_by_label = actor.label
    await record(
        session,
        actor,
        "webparts.version.published",
        version,
        data={"key": "privacy", "locale": locale, "number": version.number, "built_in": True},
    )
    if draft is not None:
        author = Actor(label=draft.created_by_label, user_id=draft.created_by_id)
        await _new_version(session, author, "privacy", locale, draft.title, draft.body)
    await session.flush()
    return version


# --- the site's look and settings ------------------------------------------------------

LOGO_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


def colour_refusal(colour: str) -> str:
    """Why the site's colour cannot be saved, naming the nearest one that can."""
    return _(
        "Text on %(colour)s would be hard to read: neither white nor dark text on it reaches "
        "the contrast 4.5:1 that accessibility rules (WCAG 2.1 AA) ask for. The nearest "
        "colour that does is %(suggestion)s; it is in the field now: save again to use it, "
        "or choose another.",
        colour=colour,
        suggestion=colours.nearest_carrying_text(colour),
    )


def logo_type(data: bytes) -> str | None:
    """The image type of an uploaded logo, judged by its first bytes (never its name).

    SVG is not accepted: it can carry scripts.
    """
    for signature, content_type in LOGO_TYPES.items():
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def site_settings(session: AsyncSession) -> SiteSettings:
    """The tenant's settings; defaults (not stored) when never saved."""
    settings = await session.scalar(select(SiteSettings))
    if settings is None:
        # Never saved: nobody is erased for inactivity until the office decides.
        settings = SiteSettings(
            brand_color=DEFAULT_BRAND_COLOR,
            applications_open=True,
            retention_months=12,
            inactive_retention_months=None,
            pay_retention_years=7,
            offer_answer_days=7,
        )
    return settings


def _people_retention(cleaner: Cleaner, data: Mapping[str, Any]) -> tuple[int | None, int] | None:
    """How long inactive people and erased people's pay data are kept, when the form
    has the fields (empty or 0 months: inactive people are kept)."""
    if "inactive_retention_months" not in data:
        return None
    months = cleaner.integer("inactive_retention_months", 0, 240, default=0)
    years = cleaner.integer("pay_retention_years", 1, 20, default=7)
    return (months or None), years


async def save_site_settings(
    session: AsyncSession,
    actor: Actor,
    data: Mapping[str, Any],
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> SiteSettings:
    """Change the site's colour, logo, office address and phone, how many days an offer
    gives to answer, whether applications are open, who the privacy notice names as
    responsible (and how to reach them and the data protection officer), how long
    unanswered or rejected applications are kept, and how long inactive people and
    erased people's pay data are kept."""
    cleaner = Cleaner(data)
    color = cleaner.raw("brand_color").lower() or DEFAULT_BRAND_COLOR
    if not colours.is_colour(color):
        cleaner.fail("brand_color", _("Enter a colour as #rrggbb."))
    elif not colours.carries_text(color):
        # Refused, not darkened behind the office's back: it sees the colour the public will.
        cleaner.fail("brand_color", colour_refusal(color))
    email = cleaner.raw("office_email").lower()
    if email and (len(email) > 254 or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email)):
        cleaner.fail("office_email", _("Enter a valid email address."))
    phone = " ".join(cleaner.raw("office_phone").split())
    if phone and (len(phone) > 20 or not re.match(r"^\+?[0-9][0-9 ()-]{4,}$", phone)):
        cleaner.fail("office_phone", _("Enter a phone number of digits, e.g. +46 8 123 456."))
    answer_days = cleaner.integer("offer_answer_days", 1, 60, default=7)
    retention = cleaner.integer("retention_months", 1, 120, default=12)
    controller = cleaner.text("controller_name", 200)
    controller_contact = cleaner.text("controller_contact", 1000)
    dpo_contact = cleaner.text("dpo_contact", 1000)
    people_retention = _people_retention(cleaner, data)
    content_type = None
    if logo:
        content_type = logo_type(logo)
        if len(logo) > MAX_LOGO_BYTES:
            cleaner.fail("logo", _("The logo may be at most 300 kB."))
        elif content_type is None:
            cleaner.fail("logo", _("Upload the logo as a PNG, JPEG or WebP image."))
    cleaner.done()
    settings = await session.scalar(select(SiteSettings))
    created = settings is None
    if settings is None:
        settings = SiteSettings()
        session.add(settings)
    settings.brand_color = color
    settings.office_email = email or None
    settings.office_phone = phone or None
    settings.offer_answer_days = answer_days
    settings.retention_months = retention
    settings.controller_name = controller or None
    settings.controller_contact = controller_contact or None
    settings.dpo_contact = dpo_contact or None
    if people_retention is not None:
        settings.inactive_retention_months, settings.pay_retention_years = people_retention
    settings.applications_open = cleaner.boolean("applications_open")
    if logo and content_type:
        settings.logo, settings.logo_content_type = logo, content_type
    elif remove_logo:
        settings.logo, settings.logo_content_type = None, None
    await session.flush()
    await record(
        session,
        actor,
        "webparts.settings.created" if created else "webparts.settings.updated",
        settings,
        data={"logo_changed": bool(logo) or remove_logo},
    )
    await session.commit()
    return settings
