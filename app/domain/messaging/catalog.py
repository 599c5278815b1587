"""The messages the system sends: one key each, with its title, channels and fields.

A new message is one line here and its default files in ``templates/messages/``
(``<key>.email.<lang>.txt``: a ``Subject:`` line, a blank line, the body;
``<key>.sms.<lang>.txt``: the text), in sv, da and en.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.i18n import lazy_gettext

CHANNELS = ("email", "sms")
LOCALES = ("sv", "da", "en")


@dataclass(frozen=True)
class MessageKind:
    """``fields`` names groups of ``fields.FIELD_GROUPS``; every message also offers
    the common ones (the person, the municipality, its contact, the portal)."""

    title: object  # a lazy translation
    channels: tuple[str, ...]
    fields: tuple[str, ...] = ()
    #: Fields the text must show as they are (a link the message is sent for): a
    #: template that leaves one out, or hides it in an "if" or a filter, is refused.
    required: tuple[str, ...] = ()


EMAIL, SMS, BOTH = ("email",), ("sms",), ("email", "sms")

MESSAGES: dict[str, MessageKind] = {
    "staffing_offer": MessageKind(
        lazy_gettext("Offer of a place"), BOTH, ("election", "place", "offer")
    ),
    "shift_changed": MessageKind(
        lazy_gettext("The time of a place changed"), BOTH, ("election", "place", "offer", "change")
    ),
    "staffing_withdrawn": MessageKind(
        lazy_gettext("Taken off a place"), BOTH, ("election", "place")
    ),
    "staffing_late_decline": MessageKind(
        lazy_gettext("To the office: a place declined shortly before"),
        EMAIL,
        ("election", "place", "decline"),
    ),
    "course_booked": MessageKind(lazy_gettext("Booked on a course"), EMAIL, ("course",)),
    "course_waiting": MessageKind(lazy_gettext("On a course's waiting list"), EMAIL, ("course",)),
    "course_moved_up": MessageKind(
        lazy_gettext("Moved up from a course's waiting list"), BOTH, ("course",)
    ),
    "course_reminder": MessageKind(lazy_gettext("Course reminder"), BOTH, ("course",)),
    "course_session_changed": MessageKind(
        lazy_gettext("A course session changed"), BOTH, ("course",)
    ),
    "course_session_cancelled": MessageKind(
        lazy_gettext("A course session cancelled"), BOTH, ("course", "course_cancelled")
    ),
    "application_received": MessageKind(
        lazy_gettext("Application received"), EMAIL, ("application",)
    ),
    "application_changed": MessageKind(
        lazy_gettext("Application sent again from another address"), EMAIL, ("application",)
    ),
    "application_link": MessageKind(
        lazy_gettext("New link to an application"), EMAIL, ("application",)
    ),
    "application_approved": MessageKind(
        lazy_gettext("Application approved"), EMAIL, ("application",)
    ),
    "application_more_info": MessageKind(
        lazy_gettext("A question about an application"), EMAIL, ("application_reply",)
    ),
    "application_rejected": MessageKind(
        lazy_gettext("Application rejected"), EMAIL, ("application_reply",)
    ),
    "person_contact_changed": MessageKind(
        lazy_gettext("Contact details changed from an application"), BOTH, ("details_changed",)
    ),
    "portal_removal_request": MessageKind(
        lazy_gettext("To the office: a request to be removed"), EMAIL, ("removal",)
    ),
    "removal_refused": MessageKind(
        lazy_gettext("A request to be removed refused"), EMAIL, ("office_message",)
    ),
    "contact_received": MessageKind(
        lazy_gettext("To the office: a message from the contact form"), EMAIL, ("contact_form",)
    ),
}

MESSAGES.update(
    {
        # The reminders that run themselves (app.domain.reminders) and election day's news.
        "shift_reminder": MessageKind(
            lazy_gettext("Reminder of a shift"), BOTH, ("election", "place")
        ),
        "election_eve": MessageKind(
            lazy_gettext("The evening before election day"), SMS, ("election", "place")
        ),
        "wake_up": MessageKind(
            lazy_gettext("Wake-up on the day of the shift"), SMS, ("election", "place")
        ),
        "offer_unanswered": MessageKind(
            lazy_gettext("Reminder of an unanswered offer"), BOTH, ("election", "place", "offer")
        ),
        "reserve_sent": MessageKind(
            lazy_gettext("Sent to a station on election day"), SMS, ("election", "place")
        ),
        "reserve_replaced": MessageKind(
            lazy_gettext("Replaced on election day"), SMS, ("election", "place")
        ),
    }
)

MESSAGES.update(
    {
        # The accounts' mail (app.core.accounts), made here through the renderer hook
        # (app.core.accounts.mail) when the account belongs to a municipality.
        "invitation": MessageKind(
            lazy_gettext("Account: invitation to choose a password"),
            EMAIL,
            ("account_link",),
            ("account.link",),
        ),
        "signin_link": MessageKind(
            lazy_gettext("Account: link to sign in"), EMAIL, ("account_link",), ("account.link",)
        ),
        "password_reset": MessageKind(
            lazy_gettext("Account: link to choose a new password"),
            EMAIL,
            ("account_link",),
            ("account.link",),
        ),
        "second_factor_reset": MessageKind(
            lazy_gettext("Account: second factor reset by an administrator"), EMAIL
        ),
    }
)
