"""The translated names of pay's fixed choices, shared by pages, the payroll file and
the pay statement."""

from __future__ import annotations

from app.core.i18n import lazy_gettext

PAY_BASIS = {
    "shift": lazy_gettext("Fee per shift"),
    "day": lazy_gettext("Fee per day"),
    "hour": lazy_gettext("Hourly rate"),
}
PAY_LINE_KIND = {
    "fee": lazy_gettext("Fee"),
    "hours_weekday": lazy_gettext("Hours, weekday"),
    "hours_evening": lazy_gettext("Hours, evening"),
    "hours_weekend": lazy_gettext("Hours, weekend"),
    "supplement": lazy_gettext("Supplement per day"),
    "counting": lazy_gettext("Counting supplement"),
    "training": lazy_gettext("Training fee"),
    "travel": lazy_gettext("Travel allowance"),
    "adjustment": lazy_gettext("Adjustment"),
}
PAY_CONFLICT = {
    "never_left": lazy_gettext("arrived but never left"),
    "never_arrived": lazy_gettext("left without arriving"),
    "no_place": lazy_gettext("checked in without an accepted place"),
}
