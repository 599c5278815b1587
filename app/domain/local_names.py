"""Names the office gives per language (a role type, a shift).

A role's or a shift's name is the office's data, not a string of the program: ``name``
is the name in the municipality's own language (required), ``names`` holds the other
languages' (optional). Pages print ``named(item)`` (``{{ item | named }}``), which
falls back to ``name`` for a language without one of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import language_name
from app.core.models import Tenant
from app.core.settings import SUPPORTED_LOCALES
from app.core.tenancy import require_tenant_id
from app.core.validation import Cleaner

#: The form field of a name in another language: ``name_da``, ``name_en``...
NAME_FIELD = "name_{}"


def other_languages(own: str) -> tuple[str, ...]:
    return tuple(code for code in SUPPORTED_LOCALES if code != own)


async def own_language(session: AsyncSession) -> str:
    """The municipality's own language, in which every name is required."""
    tenant = await session.get(Tenant, require_tenant_id())
    return tenant.locale if tenant is not None else SUPPORTED_LOCALES[0]


def clean_other_names(
    cleaner: Cleaner, own: str, max_length: int = 100, field: str = NAME_FIELD
) -> dict[str, str] | None:
    """The optional names in the other languages, read from ``name_<language>``; None
    when the input has none of those fields (a form that does not show them leaves the
    names as they are)."""
    if not any(field.format(code) in cleaner.data for code in other_languages(own)):
        return None
    names: dict[str, str] = {}
    for code in other_languages(own):
        value = cleaner.text(field.format(code), max_length)
        if value:
            names[code] = value
    return names


def names_from(value: Any, own: str) -> dict[str, str]:
    """Names per language from stored or imported JSON, keeping only known languages
    other than the municipality's own, and only non-empty text."""
    if not isinstance(value, Mapping):
        return {}
    return {
        code: str(text).strip()[:100]
        for code, text in value.items()
        if code in other_languages(own) and isinstance(text, str) and text.strip()
    }


def name_languages(own: str) -> dict[str, Any]:
    """What a form with names per language shows: the own language's name, and the
    other languages (code, name) with a field each."""
    return {
        "own_language": language_name(own),
        "name_languages": [(code, language_name(code)) for code in other_languages(own)],
    }
