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
WORK_KIND = {
    "election_day": lazy_gettext("Election day"),
    "advance": lazy_gettext("Advance voting"),
    "counting": lazy_gettext("Counting"),
}
EXPERIENCE = {
    "none": lazy_gettext("No earlier elections"),
    "some": lazy_gettext("One or two earlier elections"),
    "much": lazy_gettext("Three or more earlier elections"),
}
APPLICATION_STATUS = {
    "new": lazy_gettext("New"),
    "more_info": lazy_gettext("Waiting for more information"),
    "approved": lazy_gettext("Approved"),
    "rejected": lazy_gettext("Rejected"),
}
WEB_PART = {
    "start": lazy_gettext("Start page"),
    "work": lazy_gettext("About the work"),
    "faq": lazy_gettext("Questions and answers"),
    "pay": lazy_gettext("Pay and training"),
    "privacy": lazy_gettext("Privacy notice"),
    "accessibility": lazy_gettext("Accessibility statement"),
    "apply_intro": lazy_gettext("Above the application form"),
    "apply_done": lazy_gettext("After an application is sent"),
    "contact_intro": lazy_gettext("Above the contact form"),
    "reply_rejected": lazy_gettext("Reply when an application is rejected"),
    "reply_more_info": lazy_gettext("Reply asking for more information"),
    "what_to_bring": lazy_gettext("What clerks bring on the day (in the portal)"),
}
ASSIGNMENT_STATE = {
    "proposed": lazy_gettext("proposed"),
    "offered": lazy_gettext("offered"),
    "accepted": lazy_gettext("accepted"),
    "declined": lazy_gettext("declined"),
    "withdrawn": lazy_gettext("withdrawn"),
}
#: A course session's status; "full" is shown for an open session with no seat left.
SESSION_STATUS = {
    "open": lazy_gettext("Open"),
    "full": lazy_gettext("Full"),
    "cancelled": lazy_gettext("Cancelled"),
}
BOOKING_STATE = {
    "booked": lazy_gettext("Booked for a session"),
    "waiting": lazy_gettext("Waiting list"),
    "attended": lazy_gettext("Attended"),
    "no_show": lazy_gettext("Did not come"),
    "cancelled": lazy_gettext("Cancelled"),
}
QUALIFICATION_SOURCE = {
    "attendance": lazy_gettext("Attended"),
    "import": lazy_gettext("Imported"),
    "manual": lazy_gettext("Recorded by hand"),
}
COST_PART = {
    "unfilled_minimum": lazy_gettext("Places missing below the minimum"),
    "unfilled_target": lazy_gettext("Places missing below the target"),
    "travel": lazy_gettext("Travel"),
    "team": lazy_gettext("Teams broken up"),
    "language": lazy_gettext("Language needs not met"),
    "experience": lazy_gettext("Shifts without an experienced clerk"),
    "spread": lazy_gettext("Uneven spread of shifts"),
    "total": lazy_gettext("Total"),
}
RUN_STATUS = {
    "pending": lazy_gettext("Waiting for review"),
    "applied": lazy_gettext("Accepted"),
    "discarded": lazy_gettext("Discarded"),
}
PAY_UNIT = {"day": lazy_gettext("per day"), "hour": lazy_gettext("per hour")}
COURSE_KIND = {
    "classroom": lazy_gettext("Classroom course"),
    "online": lazy_gettext("Online course"),
    "test": lazy_gettext("Knowledge test"),
}


def choices(mapping: Mapping[str, object]) -> list[tuple[str, str]]:
    return [(key, str(value)) for key, value in mapping.items()]


#: What the audit log calls the object of an entry (the model's class name).
OBJECT_TYPE = {
    "ApiToken": lazy_gettext("API token"),
    "Application": lazy_gettext("Application"),
    "Assignment": lazy_gettext("Place"),
    "AuthSession": lazy_gettext("Sign-in session"),
    "AutostaffRun": lazy_gettext("Optimiser proposal"),
    "Availability": lazy_gettext("Availability"),
    "Building": lazy_gettext("Building"),
    "CheckIn": lazy_gettext("Check-in"),
    "ContactMessage": lazy_gettext("Contact message"),
    "Course": lazy_gettext("Course"),
    "CourseBooking": lazy_gettext("Course booking"),
    "CourseSession": lazy_gettext("Course session"),
    "District": lazy_gettext("District"),
    "Election": lazy_gettext("Election"),
    "ImportBatch": lazy_gettext("Import"),
    "Incident": lazy_gettext("Incident"),
    "Membership": lazy_gettext("Membership"),
    "NormTemplate": lazy_gettext("Staffing template"),
    "Person": lazy_gettext("Person"),
    "PushSubscription": lazy_gettext("Push subscription"),
    "Qualification": lazy_gettext("Qualification"),
    "RecoveryCode": lazy_gettext("Recovery code"),
    "RememberedDevice": lazy_gettext("Remembered device"),
    "ReminderSettings": lazy_gettext("Reminder settings"),
    "Reserve": lazy_gettext("Reserve"),
    "RoleType": lazy_gettext("Role"),
    "Room": lazy_gettext("Room"),
    "SecondFactor": lazy_gettext("Second factor"),
    "Shift": lazy_gettext("Shift"),
    "SiteSettings": lazy_gettext("Site settings"),
    "StaffingNorm": lazy_gettext("Staffing norm"),
    "Station": lazy_gettext("Station"),
    "StationOpening": lazy_gettext("Opening hours"),
    "StationStatus": lazy_gettext("Station status"),
    "Tenant": lazy_gettext("Municipality"),
    "TurnoutReport": lazy_gettext("Turnout report"),
    "User": lazy_gettext("User"),
    "WebPartVersion": lazy_gettext("Page version"),
}

#: The reminders an election sends by itself (``app.domain.reminders``).
REMINDER_OCCASION = {
    "offer_unanswered": lazy_gettext("Offer not answered"),
    "shift_reminder": lazy_gettext("Shift reminder"),
    "election_eve": lazy_gettext("Evening before election day"),
    "wake_up": lazy_gettext("Wake-up on the day"),
}
