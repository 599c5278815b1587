"""Translated names the application form and the applicant's data page show."""

from __future__ import annotations

from typing import Any

from app.domain.labels import (
    APPLICATION_STATUS,
    COUNTRY,
    EXPERIENCE,
    LANGUAGE,
    SPOKEN_LANGUAGES,
    WORK_KIND,
    choices,
)
from app.domain.registers.identity import format_phone


def apply_labels() -> dict[str, Any]:
    return {
        "country_choices": choices(COUNTRY),
        "language_choices": list(LANGUAGE.items()),
        "spoken_language_choices": choices(SPOKEN_LANGUAGES),
        "work_kind_labels": WORK_KIND,
        "experience_labels": EXPERIENCE,
        "status_labels": APPLICATION_STATUS,
        "spoken_language_names": {code: str(name) for code, name in SPOKEN_LANGUAGES.items()},
        "format_phone": format_phone,
    }
