"""Jinja setup shared by every face: translations, CSRF, permissions, languages."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from markupsafe import Markup, escape
from quart import Quart, g, request, url_for

from app.core.auth import can, current_membership, current_user
from app.core.csrf import csrf_token
from app.core.i18n import (
    format_locale,
    get_locale,
    has_local_name,
    language_name,
    named,
    raw_gettext,
    raw_ngettext,
)
from app.core.permissions import ROLE_LABELS, home_face
from app.core.phones import format_phone
from app.core.settings import SUPPORTED_LOCALES


def localtime(value: datetime | None, timezone: str, format: str = "short") -> str:
    """A UTC timestamp shown in the municipality's time zone and the reader's language.

    "short" (the default) is the one way a moment is written on every face: the day
    with its month's short name and the time on a 24-hour clock ("7 dec. 2026 01:15",
    "7 Dec 2026, 01:15"), never a numeric date a reader could take for another day."""
    if value is None:
        return ""
    locale = format_locale()
    if format == "short":
        pattern = _moment_pattern(locale)
    elif format == "day":
        # Only the day of the moment, in the municipality's time zone ("7. dec. 2026").
        pattern = Locale.parse(locale).date_formats["medium"].pattern
    else:
        pattern = format
    return format_datetime(value, format=pattern, tzinfo=ZoneInfo(timezone), locale=locale)


@cache
def _moment_pattern(locale: str) -> str:
    conventions = Locale.parse(locale)
    combined = str(conventions.datetime_formats["short"])
    day = conventions.date_formats["medium"].pattern
    time = conventions.time_formats["short"].pattern
    return combined.replace("{1}", day).replace("{0}", time)


def longdate(value: date | str | None, format: str = "full") -> str:
    """A date (or an ISO date string) written out in the reader's language
    ("lördag 12 september 2026")."""
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format=format, locale=format_locale())


def decimal(value: float | int | None, format: str = "0.0") -> str:
    """A number written the reader's way ("1,2" in Swedish and Danish, "1.2" in English)."""
    if value is None:
        return ""
    return format_decimal(value, format=format, locale=format_locale())


def labelled(codes: Any, labels: Mapping[str, Any]) -> str:
    """Codes shown by their translated names, comma separated (unknown codes as they are)."""
    return ", ".join(str(labels.get(code, code)) for code in codes or ())


def own_language(text: Any, translated: bool = False) -> Markup:
    """Data the office wrote in the municipality's own language (an election's name, a
    role's name without one in the reader's language) marked with that language when the
    page is in another, so that a screen reader reads it in the right voice (WCAG 3.1.2).
    ``translated`` says the text is already in the reader's language. Names of places
    (stations, buildings) are proper names and are left as they are."""
    if text is None or text == "":
        return Markup("")
    own = getattr(g.get("tenant"), "locale", None)
    if translated or not own or own == get_locale():
        return escape(text)
    return Markup('<span lang="{}">{}</span>').format(own, text)


def own_language_attribute() -> Markup:
    """The same rule for an element that cannot hold a span (an ``option``): its
    ``lang`` attribute, or nothing when the page is in the municipality's language."""
    own = getattr(g.get("tenant"), "locale", None)
    if not own or own == get_locale():
        return Markup("")
    return Markup(' lang="{}"').format(own)


def named_in_own_language(item: Any) -> Markup:
    """``named`` with its fallback to the municipality's own language marked as such."""
    return own_language(named(item), translated=item is None or has_local_name(item))


def configure_jinja(app: Quart) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        raw_gettext, raw_ngettext, newstyle=True
    )
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["longdate"] = longdate
    app.jinja_env.filters["labelled"] = labelled
    app.jinja_env.filters["decimal"] = decimal
    app.jinja_env.filters["phone"] = format_phone
    # A role's or shift's name in the reader's language: ``{{ role | named }}``.
    app.jinja_env.filters["named"] = named
    # The same in page text, its fallback marked with its language: ``{{ role | named_lang }}``;
    # other data in the municipality's language: ``{{ election.name | own_language }}``.
    app.jinja_env.filters["named_lang"] = named_in_own_language
    app.jinja_env.filters["own_language"] = own_language
    static_root = Path(app.static_folder or "static")

    @cache
    def static_version(filename: str) -> str:
        # A content hash in the URL lets browsers cache assets and still see new releases.
        return hashlib.sha256((static_root / filename).read_bytes()).hexdigest()[:10]

    def static_url(filename: str) -> str:
        version = static_version(filename) if not app.debug else "dev"
        return url_for("static", filename=filename, v=version)

    def query_args(**overrides: Any) -> dict[str, Any]:
        """The current query string for building links, without keys url_for treats
        specially (``_method``, ``_anchor``..., ``endpoint``) or the tenant. A link
        passes the route's own values as ``overrides``, so a query key of the same
        name cannot collide with them."""
        args = {
            key: value
            for key, value in request.args.items()
            if not key.startswith("_") and key not in ("tenant", "endpoint")
        }
        args.update(overrides)
        return args

    # Globals (not context) so imported macros see them too.
    app.jinja_env.globals.update(
        query_args=query_args,
        csrf_token=csrf_token,
        can=can,
        static_url=static_url,
        role_label=lambda role: str(ROLE_LABELS.get(role, role)),
        home_face=home_face,
        language_name=language_name,
        own_lang_attr=own_language_attribute,
    )

    @app.context_processor
    async def _request_context() -> dict[str, Any]:
        return {
            "current_user": current_user(),
            "membership": current_membership(),
            "tenant": g.get("tenant"),
            "locale": get_locale(),
            "languages": [(code, language_name(code)) for code in SUPPORTED_LOCALES],
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
