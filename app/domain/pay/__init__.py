"""Pay: the rules per election and role, each person's pay computed from what happened
on election day, approval per district, the payroll file and the pay statement."""

from __future__ import annotations

from app.core.errors import DomainError


class PayError(DomainError):
    """A pay rule, adjustment, approval or payroll layout that breaks a rule."""
