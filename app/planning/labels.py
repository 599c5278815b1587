"""Translated names for the register's fixed choices, shared by pages and exports."""

from __future__ import annotations

from collections.abc import Mapping

from app.core.i18n import lazy_gettext

PERSON_STATUS = {
    "applicant": lazy_gettext("Applicant"),
    "active": lazy_gettext("Active"),
    "inactive": lazy_gettext("Inactive"),
}
COUNTRY = {
    "SE": lazy_gettext("Sweden"),
    "DK": lazy_gettext("Denmark"),
    "NO": lazy_gettext("Norway"),
}
LANGUAGE = {"sv": "svenska", "da": "dansk", "en": "English"}
#: Languages a person may speak, each in its own name (sign language is translated).
SPOKEN_LANGUAGES = {
    "sv": "svenska", "da": "dansk", "en": "English", "fi": "suomi", "ar": "العربية",
    "so": "Soomaali", "fa": "فارسی", "ti": "ትግርኛ", "pl": "polski", "de": "Deutsch",
    "es": "español", "sgn": lazy_gettext("Sign language"),
}  # fmt: skip
ELECTION_KIND = {
    "parliament": lazy_gettext("Parliament"),
    "region": lazy_gettext("Region"),
    "municipal": lazy_gettext("Municipal council"),
    "eu": lazy_gettext("European Parliament"),
    "referendum": lazy_gettext("Referendum"),
    "church": lazy_gettext("Church"),
    "combined": lazy_gettext("Combined elections"),
}
ELECTION_STATUS = {
    "planning": lazy_gettext("Planning"),
    "active": lazy_gettext("Active"),
    "closed": lazy_gettext("Closed"),
    "archived": lazy_gettext("Archived"),
}
STATION_KIND = {
    "polling": lazy_gettext("Polling station"),
    "advance": lazy_gettext("Advance voting station"),
}
PAY_UNIT = {"day": lazy_gettext("per day"), "hour": lazy_gettext("per hour")}


def choices(mapping: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(key, str(value)) for key, value in mapping.items()]
