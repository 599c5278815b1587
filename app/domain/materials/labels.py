"""The words for a delivery's and a shortage's states, as every face shows them."""

from __future__ import annotations

from app.core.i18n import lazy_gettext

DELIVERY_LABELS = {
    "planned": lazy_gettext("Planned"),
    "packed": lazy_gettext("Packed"),
    "delivered": lazy_gettext("Delivered"),
    "returned": lazy_gettext("Returned"),
}
SHORTAGE_LABELS = {
    "reported": lazy_gettext("Reported"),
    "sent": lazy_gettext("On its way"),
    "delivered": lazy_gettext("Delivered"),
}
