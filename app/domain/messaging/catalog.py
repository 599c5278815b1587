"""The messages the system sends: one key each, with its title, channels and fields.

A new message is one line here and its default files in ``templates/messages/``
(``<key>.email.<lang>.txt``: a ``Subject:`` line, a blank line, the body;
``<key>.sms.<lang>.txt``: the text), in sv, da and en.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.i18n import lazy_gettext as _l

CHANNELS = ("email", "sms")
LOCALES = ("sv", "da", "en")


@dataclass(frozen=True)
class MessageKind:
    """``fields`` names groups of ``fields.FIELD_GROUPS``; every message also offers
    the common ones (the person, the municipality, its contact, the portal)."""

    title: object  # a lazy translation
    channels: tuple[str, ...]
    fields: tuple[str, ...] = ()


EMAIL, SMS, BOTH = ("email",), ("sms",), ("email", "sms")

MESSAGES: dict[str, MessageKind] = {
    "staffing_offer": MessageKind(_l("Offer of a place"), BOTH, ("election", "place", "offer")),
}
MESSAGES.update(
    {
        # The reminders that run themselves (app.domain.reminders) and election day's news.
        "shift_reminder": MessageKind(_l("Reminder of a shift"), BOTH, ("election", "place")),
        "election_eve": MessageKind(
            _l("The evening before election day"), SMS, ("election", "place")
        ),
        "wake_up": MessageKind(_l("Wake-up on the day of the shift"), SMS, ("election", "place")),
        "offer_unanswered": MessageKind(
            _l("Reminder of an unanswered offer"), BOTH, ("election", "place", "offer")
        ),
        "reserve_sent": MessageKind(
            _l("Sent to a station on election day"), SMS, ("election", "place")
        ),
        "reserve_replaced": MessageKind(_l("Replaced on election day"), SMS, ("election", "place")),
    }
)
