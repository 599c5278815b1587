"""The pay rules of an election, one per role; a role without its own rule is paid as
the role type says (its fee per day or per hour), so pay works from the first day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.elections.elections import get_election
from app.domain.models import PAY_BASES, PayRule, RoleType

MAX_AMOUNT = Decimal("1000000")
CENT = Decimal("0.01")
#: Where the evening rate starts unless the rule says otherwise.
DEFAULT_EVENING = dt.time(18, 0)


def rule_from_role(election_id: int, role: RoleType) -> PayRule:
    """The rule a role has until the office sets one: its fee per day or per hour."""
    return PayRule(
        election_id=election_id,
        role_type_id=role.id,
        basis="hour" if role.pay_unit == "hour" else "day",
        amount=role.pay_amount,
        evening_rate=None,
        weekend_rate=None,
        evening_from=_default_evening(),
        prorate_early_leave=True,
        day_supplement=Decimal("0"),
        counting_supplement=Decimal("0"),
        training_fee=Decimal("0"),
        training_only_if_served=True,
        travel_allowance=Decimal("0"),
    )


def _default_evening() -> dt.time:
    return DEFAULT_EVENING


async def rules_by_role(session: AsyncSession, election_id: int) -> dict[int, PayRule]:
    """Every role's rule in the election (stored or from the role type), by role id."""
    roles = list(await session.scalars(select(RoleType)))
    stored = {
        rule.role_type_id: rule
        for rule in await session.scalars(select(PayRule).where(PayRule.election_id == election_id))
    }
    return {role.id: stored.get(role.id) or rule_from_role(election_id, role) for role in roles}


def money(cleaner: Cleaner, field: str, required: bool = False) -> Decimal | None:
    """An amount of money from a form: not below zero, at most two decimals."""
    raw = cleaner.raw(field).replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not raw:
        if required:
            cleaner.fail(field, _("This field is required."))
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        cleaner.fail(field, _("Enter a number."))
        return None
    if not value.is_finite():
        cleaner.fail(field, _("Enter a number."))
        return None
    if value < 0:
        cleaner.fail(field, _("A rate or amount cannot be below zero."))
        return None
    if value > MAX_AMOUNT:
        cleaner.fail(field, _("Enter a number from %(min)s to %(max)s.", min=0, max=MAX_AMOUNT))
        return None
    return value.quantize(CENT)


def clean_rule(data: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's fields from a form, every error at its field."""
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "basis": cleaner.choice("basis", PAY_BASES, "day"),
        "amount": money(cleaner, "amount", required=True),
        "evening_rate": money(cleaner, "evening_rate"),
        "weekend_rate": money(cleaner, "weekend_rate"),
        "evening_from": cleaner.time("evening_from", required=False) or _default_evening(),
        "prorate_early_leave": cleaner.boolean("prorate_early_leave"),
        "day_supplement": money(cleaner, "day_supplement") or Decimal("0"),
        "counting_supplement": money(cleaner, "counting_supplement") or Decimal("0"),
        "training_fee": money(cleaner, "training_fee") or Decimal("0"),
        "training_only_if_served": cleaner.boolean("training_only_if_served"),
        "travel_allowance": money(cleaner, "travel_allowance") or Decimal("0"),
    }
    cleaner.done()
    return values


async def save_pay_rule(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    role_type_id: int,
    data: Mapping[str, Any],
) -> PayRule:
    """Set how a role is paid in an election. A change after a district was approved
    shows there as a correction to approve, never as a silent edit of approved pay."""
    election = await get_election(session, election_id)
    role = await session.scalar(select(RoleType).where(RoleType.id == role_type_id))
    if role is None:
        raise NotFound(_("Not found."))
    values = clean_rule(data)
    rule = await session.scalar(
        select(PayRule).where(PayRule.election_id == election.id, PayRule.role_type_id == role.id)
    )
    if rule is None:
        rule = PayRule(election_id=election.id, role_type_id=role.id)
        session.add(rule)
    for name, value in values.items():
        setattr(rule, name, value)
    await session.flush()
    changes = {
        name: (value.isoformat(timespec="minutes") if hasattr(value, "isoformat") else value)
        for name, value in values.items()
    }
    await record(
        session,
        actor,
        "pay.rule.saved",
        rule,
        data={"election": election.id, "role_type": role.id, **_plain(changes)},
    )
    await session.commit()
    return rule


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}


def write_rule_copies(session: AsyncSession, rules: list[PayRule], election_id: int) -> None:
    """Add copies of an election's stored rules to another election (not committed):
    the rollover carries the rates over with the structure."""
    columns = [c.key for c in PayRule.__table__.columns]
    skip = {"id", "tenant_id", "election_id", "updated_at"}
    for rule in rules:
        copy = PayRule(election_id=election_id)
        for name in columns:
            if name not in skip:
                setattr(copy, name, getattr(rule, name))
        session.add(copy)


async def rule_of_role(
    session: AsyncSession, election_id: int, role_type_id: int
) -> tuple[RoleType, PayRule]:
    """A role and its rule in an election (stored, or the one from the role type)."""
    election = await get_election(session, election_id)
    role = await session.scalar(select(RoleType).where(RoleType.id == role_type_id))
    if role is None:
        raise NotFound(_("Not found."))
    rule = await session.scalar(
        select(PayRule).where(PayRule.election_id == election.id, PayRule.role_type_id == role.id)
    )
    return role, rule or rule_from_role(election.id, role)
