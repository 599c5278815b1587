"""Roles and the fixed list of what each may do.

Routes declare what they need with ``@requires("audit.view")``; services re-check
object access (a clerk sees only their own stations). ``station_lead`` is derived
from an assignment as chair and added by the staffing domain, not stored here.
"""

from __future__ import annotations

from app.core.i18n import lazy_gettext

ROLES = ("admin", "planner", "coordinator", "logistics", "clerk")

ROLE_LABELS = {
    "admin": lazy_gettext("Administrator"),
    "planner": lazy_gettext("Planner"),
    "coordinator": lazy_gettext("Coordinator"),
    "logistics": lazy_gettext("Logistics"),
    "clerk": lazy_gettext("Poll clerk"),
}

_BACK_OFFICE_READ = {
    "planning.view",
    "registers.view",
    "staffing.view",
    "courses.view",
    "materials.view",
}
_PLANNING = _BACK_OFFICE_READ | {
    "registers.edit",
    "people.reveal",
    "staffing.edit",
    "courses.edit",
    "materials.edit",
    "messaging.send",
    "public_pages.edit",
    "applications.review",
    "reports.view",
    "ops.view",
    "pay.edit",
}
_COORDINATION = _BACK_OFFICE_READ | {"ops.view", "ops.coordinate", "reports.view"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        _PLANNING
        | _COORDINATION
        # The payroll file holds full id numbers and bank accounts: administrators
        # only by default.
        | {"audit.view", "users.manage", "tokens.manage", "tenant.manage", "pay.export"}
    ),
    "planner": frozenset(_PLANNING),
    "coordinator": frozenset(_COORDINATION),
    # The depot: materials and equipment, and of people no more than the pages of
    # materials show (a station lead's name and phone, a holder's name).
    "logistics": frozenset({"materials.view", "materials.edit"}),
    "clerk": frozenset({"portal.use"}),
}

ALL_PERMISSIONS = frozenset().union(*PERMISSIONS.values())


def role_has(role: str | None, permission: str) -> bool:
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return role is not None and permission in PERMISSIONS.get(role, frozenset())


def home_face(role: str) -> str:
    """Where a user of this role lands after signing in."""
    return "portal" if role == "clerk" else "planning"
