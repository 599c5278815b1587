"""Translated names of an incident's category, severity and state: for the pages, the
exports and the pushes that tell of an incident."""

from __future__ import annotations

from app.core.i18n import lazy_gettext

CATEGORY_LABELS = {
    "queue": lazy_gettext("Queue"),
    "material": lazy_gettext("Material"),
    "accessibility": lazy_gettext("Accessibility"),
    "security": lazy_gettext("Security"),
    "staffing": lazy_gettext("Staffing"),
    "voting_procedure": lazy_gettext("Voting procedure"),
    "other": lazy_gettext("Other"),
}
SEVERITY_LABELS = {
    "low": lazy_gettext("Low"),
    "medium": lazy_gettext("Medium"),
    "high": lazy_gettext("High"),
}
STATE_LABELS = {
    "open": lazy_gettext("New"),
    "acknowledged": lazy_gettext("Acknowledged"),
    "assigned": lazy_gettext("Assigned"),
    "resolved": lazy_gettext("Resolved"),
}
