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
from quart import Quart, g, request, url_for

from app.core.auth import can, current_membership, current_user
from app.core.csrf import csrf_token
from app.core.i18n import (
    format_locale,
    get_locale,
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
