"""The documents the office edits: one key each, its title, what it is for and the
merge fields it offers. The default text of each is a file,
``templates/documents/<key>.<lang>.txt``, in sv, da and en."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.i18n import lazy_gettext as _l
from app.domain.messaging.fields import FIELD_GROUPS, Field

LOCALES = ("sv", "da", "en")


def _group(*fields: tuple[str, object, str]) -> tuple[Field, ...]:
    return tuple(Field(name, description, example) for name, description, example in fields)


#: Fields only documents have, beside the messages' groups: the office's own (a staff
#: list is written to no one), and the appointment's.
DOCUMENT_FIELDS: dict[str, tuple[Field, ...]] = {
    "person": tuple(field for field in FIELD_GROUPS["common"] if field.name.startswith("person.")),
    "office": tuple(
        field
        for field in FIELD_GROUPS["common"]
        if field.name in ("municipality.name", "contact.email", "contact.phone")
    ),
    "appointment": _group(
        ("person.born", _l("The recipient's date of birth"), "1 januari 1990"),
        (
            "places",
            _l("The places the person is appointed to, one line each"),
            "– Röstmottagare i Vallokal Centrum, Storgatan 1, 123 45 Exempelby, "
            "söndagen den 13 september 2026 kl. 07:00–14:00",
        ),
        (
            "fees",
            _l("The fee of each role, one line each"),
            "Arvode som röstmottagare: 2 400 kr per dag.",
        ),
    ),
}


@dataclass(frozen=True)
class DocumentKind:
    title: object  # a lazy translation
    description: object
    #: Groups of ``messaging.fields.FIELD_GROUPS`` or of ``DOCUMENT_FIELDS``.
    groups: tuple[str, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(
            field
            for name in self.groups
            for field in (FIELD_GROUPS.get(name) or DOCUMENT_FIELDS[name])
        )

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(field.name for field in self.fields)


DOCUMENTS: dict[str, DocumentKind] = {
    "appointment_letter": DocumentKind(
        _l("Appointment letter"),
        _l(
            "The text of the appointment (förordnande) under its heading. The letterhead "
            "with the logo and contact, the address for a window envelope and the lines "
            "for the signature are drawn around it."
        ),
        ("person", "office", "election", "appointment"),
    ),
    "offer_intro": DocumentKind(
        _l("Offer page introduction"),
        _l(
            "The introduction above the place on the page where a person accepts or "
            "declines an offer."
        ),
        ("person", "office", "election", "place", "offer"),
    ),
    "confidentiality_undertaking": DocumentKind(
        _l("Confidentiality undertaking"),
        _l(
            "The undertaking (tystnadsförbindelse) a clerk reads and signs in the portal "
            "before their first shift, when the office requires it (Working time and "
            "undertaking)."
        ),
        ("person", "office"),
    ),
    "staff_list_header": DocumentKind(
        _l("Staff list header"),
        _l("The text printed under the title of the staff list per station."),
        ("office", "election"),
    ),
}
