"""The template file of each import: its columns named in the reader's language and one
example row, written as the import reads it back."""

from __future__ import annotations

from app.core.i18n import get_locale
from app.domain.labels import LANGUAGE, PERSON_STATUS, STATION_KIND

#: Each kind's columns: the field and its header in Swedish, Danish and English (each
#: one of the import's accepted names, ``imports.ALIASES``).
COLUMNS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "people": [
        ("first_name", {"sv": "förnamn", "da": "fornavn", "en": "first name"}),
        ("last_name", {"sv": "efternamn", "da": "efternavn", "en": "last name"}),
        ("national_id", {"sv": "personnummer", "da": "cpr", "en": "identity number"}),
        ("email", {"sv": "e-post", "da": "e-mail", "en": "email"}),
        ("mobile", {"sv": "mobil", "da": "mobil", "en": "mobile"}),
        ("street_address", {"sv": "adress", "da": "adresse", "en": "address"}),
        ("postal_code", {"sv": "postnummer", "da": "postnr", "en": "postal code"}),
        ("city", {"sv": "ort", "da": "by", "en": "city"}),
        ("preferred_language", {"sv": "språk", "da": "sprog", "en": "language"}),
        ("tags", {"sv": "taggar", "da": "etiketter", "en": "tags"}),
        ("status", {"sv": "status", "da": "status", "en": "status"}),
    ],
    "rooms": [
        ("building", {"sv": "byggnad", "da": "bygning", "en": "building"}),
        ("street_address", {"sv": "adress", "da": "adresse", "en": "address"}),
        ("postal_code", {"sv": "postnummer", "da": "postnr", "en": "postal code"}),
        ("city", {"sv": "ort", "da": "by", "en": "city"}),
        ("room", {"sv": "rum", "da": "lokale", "en": "room"}),
        ("capacity", {"sv": "kapacitet", "da": "kapacitet", "en": "capacity"}),
    ],
    "structure": [
        ("district_code", {"sv": "distriktskod", "da": "kode", "en": "district code"}),
        ("district_name", {"sv": "valdistrikt", "da": "afstemningsområde", "en": "district"}),
        ("eligible_voters", {"sv": "röstberättigade", "da": "vælgere", "en": "voters"}),
        ("station_name", {"sv": "vallokal", "da": "afstemningssted", "en": "station"}),
        ("station_kind", {"sv": "typ", "da": "type", "en": "type"}),
        ("building", {"sv": "byggnad", "da": "bygning", "en": "building"}),
        ("room", {"sv": "rum", "da": "lokale", "en": "room"}),
    ],
}

#: The example row's values by language: a made-up person, building or station, with no
#: identity number (a real-looking one might be someone's).
_EXAMPLES: dict[str, dict[str, dict[str, str]]] = {
    "people": {
        "sv": {"first_name": "Anna", "last_name": "Andersson", "email": "anna.andersson@example.se",
               "mobile": "070-123 45 67", "street_address": "Storgatan 1", "postal_code": "222 22",
               "city": "Lund", "tags": "erfaren"},
        "da": {"first_name": "Anne", "last_name": "Jensen", "email": "anne.jensen@example.dk",
               "mobile": "+45 20 12 34 56", "street_address": "Storegade 1", "postal_code": "8000",
               "city": "Aarhus", "tags": "erfaren"},
        "en": {"first_name": "Anna", "last_name": "Andersson",
               "email": "anna.andersson@example.org", "mobile": "+46 70 123 45 67",
               "street_address": "Storgatan 1", "postal_code": "222 22", "city": "Lund",
               "tags": "experienced"},
    },
    "rooms": {
        "sv": {"building": "Stadshuset", "street_address": "Stortorget 7", "postal_code": "222 23",
               "city": "Lund", "room": "Sal A", "capacity": "40"},
        "da": {"building": "Rådhuset", "street_address": "Rådhuspladsen 2",
               "postal_code": "8000", "city": "Aarhus", "room": "Sal A", "capacity": "40"},
        "en": {"building": "Town hall", "street_address": "Stortorget 7", "postal_code": "222 23",
               "city": "Lund", "room": "Hall A", "capacity": "40"},
    },
    "structure": {
        "sv": {"district_code": "0101", "district_name": "Centrum", "eligible_voters": "1500",
               "station_name": "Centrumskolan"},
        "da": {"district_code": "0101", "district_name": "Midtbyen", "eligible_voters": "1500",
               "station_name": "Midtbyens Skole"},
        "en": {"district_code": "0101", "district_name": "Centre", "eligible_voters": "1500",
               "station_name": "Centre school"},
    },
}  # fmt: skip


def _language(locale: str) -> str:
    return locale if locale in ("sv", "da") else "en"


def template_header(kind: str) -> list[str]:
    """The template's header row in the reader's language."""
    language = _language(get_locale())
    return [names[language] for _field, names in COLUMNS[kind]]


def template_row(kind: str) -> list[str]:
    """The template's example row in the reader's language; a fixed-list value is
    written by its name, as the import reads it."""
    language = _language(get_locale())
    example = dict(_EXAMPLES[kind][language])
    if kind == "people":
        example["preferred_language"] = LANGUAGE[language]
        example["status"] = str(PERSON_STATUS["active"])
    if kind == "structure":
        example["station_kind"] = str(STATION_KIND["polling"])
    return [example.get(field, "") for field, _names in COLUMNS[kind]]
