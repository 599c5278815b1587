"""Translations: English source strings, Swedish first, Danish and English beside it.

Catalogues are read from the ``.po`` files at start (no compile step to forget).
The locale of the current request lives in a ContextVar; ``_()`` translates into it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations
from wtforms.i18n import get_translations

from app.core.settings import SUPPORTED_LOCALES

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "sv"

_current_locale: ContextVar[str] = ContextVar("stemma_locale", default=DEFAULT_LOCALE)
#: The language of the readers a live fragment is drawn for, when known (the hub draws
#: a topic's fragment once per language its sockets read).
_reader_locale: ContextVar[str | None] = ContextVar("stemma_reader_locale", default=None)


@cache
def translations_for(locale: str) -> NullTranslations:
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def get_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str) -> Any:
    return _current_locale.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)


@contextmanager
def locale_scope(locale: str) -> Iterator[None]:
    """Render a block (an email to a person) in another language."""
    token = set_locale(locale)
    try:
        yield
    finally:
        _current_locale.reset(token)


@contextmanager
def reader_scope(locale: str) -> Iterator[None]:
    """Draw for readers of ``locale`` (nothing changes for "": readers unknown)."""
    if locale not in SUPPORTED_LOCALES:
        yield
        return
    token = _reader_locale.set(locale)
    try:
        with locale_scope(locale):
            yield
    finally:
        _reader_locale.reset(token)


def reader_locale() -> str | None:
    """The readers' language ``reader_scope`` set, if any."""
    return _reader_locale.get()


def raw_gettext(message: str) -> str:
    """Translation without formatting, for Jinja (which formats itself)."""
    return translations_for(get_locale()).ugettext(message)


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(get_locale()).ungettext(singular, plural, n)


def gettext(message: str, **variables: Any) -> str:
    text = raw_gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    return raw_ngettext(singular, plural, n) % variables


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """A string translated when it is shown, for labels defined at import time."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext


def language_name(locale: str) -> str:
    """The language's own name for itself ("svenska", "dansk", "English")."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[0].upper() + name[1:] if locale == "en" else name


#: The conventions numbers and dates are written in, per language: English pages follow
#: British usage (day before month, a 24-hour clock), as the office's other languages do.
_FORMAT_LOCALES = {"en": "en_GB"}


def format_locale(locale: str | None = None) -> str:
    """The locale Babel formats dates and numbers with for a language (default: the
    reader's)."""
    language = locale or get_locale()
    return _FORMAT_LOCALES.get(language, language)


def local_name(name: str, names: Mapping[str, Any] | None, locale: str | None = None) -> str:
    """A name the office gives per language (a role, a shift) in the reader's language:
    ``name`` is the municipality's own language's, ``names`` the others' where given."""
    translated = (names or {}).get(locale or get_locale())
    return translated if isinstance(translated, str) and translated.strip() else name


def has_local_name(item: Any, locale: str | None = None) -> bool:
    """Whether the office gave ``item`` (a role type, a shift) a name in the reader's
    language; without one, ``named`` shows the municipality's own language's."""
    names = getattr(item, "names", None) or {}
    translated = names.get(locale or get_locale())
    return isinstance(translated, str) and bool(translated.strip())


def named(item: Any, locale: str | None = None) -> str:
    """``local_name`` of an object with ``name`` and ``names`` (a role type, a shift)."""
    if item is None:
        return ""
    return local_name(item.name, getattr(item, "names", None), locale)


def language_in_reader(code: str) -> str:
    """A language's name in the reader's language ("Swedish", "svensk", "svenska")."""
    return str(Locale.parse(format_locale()).languages.get(code, code))


def pick_locale(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return DEFAULT_LOCALE


class WTFormsTranslations:
    """WTForms' own messages ("This field is required.") in the request's language."""

    def gettext(self, string: str) -> str:
        return _wtforms_translations(get_locale()).gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_translations(get_locale()).ngettext(singular, plural, n)


@cache
def _wtforms_translations(locale: str) -> Any:
    return get_translations([locale, "en"])


_NORDIC_ORDER = {
    # The characters after 'z' in code order, in each language's own order of its last
    # letters; the neighbour language's letters sort with their twins.
    "sv": {"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}"},
    "da": {"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}"},
}


def collation_key(text: str, locale: str) -> str:
    """A sort key that puts Å, Ä, Ö (Swedish) or Æ, Ø, Å (Danish) after Z, as readers
    expect; other accents sort with their base letter."""
    letters = _NORDIC_ORDER.get(locale, {})
    key = []
    for char in text.lower():
        if char in letters:
            key.append(letters[char])
        else:
            key.append(
                "".join(
                    c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
                )
            )
    return "".join(key)
