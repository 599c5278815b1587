"""The pay budget the office sets for an election, per role and per district (and the
advance voting stations), and the pay held against it.

The budget is entered in two forms, one for the roles and one for the districts; each
is saved whole or not at all: one amount that is not a number, below zero or with more
than two decimals refuses the form with the message at that field, and nothing of it is
written. An empty field means no budget for that line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _, named
from app.core.validation import FieldErrors
from app.domain.elections.elections import get_election
from app.domain.models import District, Election, PayBudget
from app.domain.registers.roles import list_role_types

#: The largest amount one budget line may hold.
LARGEST = Decimal("1000000000")
BUDGET_PARTS = ("roles", "districts")
_NUMBER = re.compile(r"[0-9]+([.,][0-9]+)?")


def parse_amount(raw: str) -> tuple[Decimal | None, str | None]:
    """(amount, None) or (None, the message); an empty field is (None, None)."""
    text = raw.replace(" ", "").replace("\u00a0", "").replace("\u202f", "").strip()
    if not text:
        return None, None
    if text.startswith("-"):
        return None, _("A budget cannot be below zero.")
    if not _NUMBER.fullmatch(text):
        return None, _("Enter an amount, such as 125000 or 125000,50.")
    try:
        amount = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
        return None, _("Enter an amount, such as 125000 or 125000,50.")
    if amount != amount.quantize(Decimal("0.01")):
        return None, _("At most two decimals.")
    if amount > LARGEST:
        return None, _("At most %(max)s.", max=f"{LARGEST:,.0f}".replace(",", " "))
    return amount, None


@dataclass(frozen=True)
class BudgetLine:
    """One line of a budget form: its field name, what it is for, and its amount."""

    field: str
    label: str
    amount: Decimal | None


async def _existing(session: AsyncSession, election_id: int) -> dict[str, PayBudget]:
    rows = await session.scalars(select(PayBudget).where(PayBudget.election_id == election_id))
    return {_field(row.scope, row.role_type_id, row.district_id): row for row in rows}


def _field(scope: str, role_type_id: int | None, district_id: int | None) -> str:
    if scope == "role":
        return f"role-{role_type_id}"
    if scope == "district":
        return f"district-{district_id}"
    return "advance"


async def budget_lines(
    session: AsyncSession, election_id: int
) -> tuple[list[BudgetLine], list[BudgetLine]]:
    """The lines of the two forms, (roles, districts), with what is saved."""
    election = await get_election(session, election_id)
    # Columns, not objects: a city has a budget line for each of hundreds of districts.
    saved = {
        _field(scope, role_type_id, district_id): amount
        for scope, role_type_id, district_id, amount in await session.execute(
            select(
                PayBudget.scope, PayBudget.role_type_id, PayBudget.district_id, PayBudget.amount
            ).where(PayBudget.election_id == election.id)
        )
    }

    def amount(field: str) -> Decimal | None:
        return saved.get(field)

    roles = [
        BudgetLine(f"role-{role.id}", named(role), amount(f"role-{role.id}"))
        for role in await list_role_types(session)
    ]
    districts = [
        BudgetLine(f"district-{d.id}", f"{d.code} {d.name}", amount(f"district-{d.id}"))
        for d in await _districts(session, election.id)
    ]
    districts.append(BudgetLine("advance", _("Advance voting stations"), amount("advance")))
    return roles, districts


async def _districts(session: AsyncSession, election_id: int) -> Sequence[Any]:
    """(id, code, name) of the election's districts by code (columns, not objects: a
    city has hundreds)."""
    return (
        await session.execute(
            select(District.id, District.code, District.name)
            .where(District.election_id == election_id)
            .order_by(District.code)
        )
    ).all()


def _keys(field: str) -> tuple[str, int | None, int | None]:
    if field == "advance":
        return "advance", None, None
    scope, _dash, number = field.partition("-")
    return (
        scope,
        (int(number) if scope == "role" else None),
        (int(number) if scope == "district" else None),
    )


async def save_budget(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    part: str,
    form: Mapping[str, Any],
) -> int:
    """Save one form of the budget (``part``: "roles" or "districts") whole; returns how
    many lines changed. Refuses (nothing written) when any amount is wrong."""
    if part not in BUDGET_PARTS:
        raise FieldErrors({"form": _("Choose one of the options.")})
    roles, districts = await budget_lines(session, election_id)
    lines = roles if part == "roles" else districts
    amounts: dict[str, Decimal | None] = {}
    errors: dict[str, str] = {}
    for line in lines:
        amount, message = parse_amount(str(form.get(line.field) or ""))
        if message is not None:
            errors[line.field] = message
        amounts[line.field] = amount
    if errors:
        raise FieldErrors(errors)
    saved = await _existing(session, election_id)
    changed: dict[str, str | None] = {}
    for field, amount in amounts.items():
        row = saved.get(field)
        if amount is None and row is not None:
            await session.delete(row)
            changed[field] = None
        elif amount is not None and row is None:
            scope, role_type_id, district_id = _keys(field)
            session.add(
                PayBudget(
                    election_id=election_id,
                    scope=scope,
                    role_type_id=role_type_id,
                    district_id=district_id,
                    amount=amount,
                    updated_by_label=actor.label,
                )
            )
            changed[field] = str(amount)
        elif amount is not None and row is not None and row.amount != amount:
            row.amount, row.updated_by_label = amount, actor.label
            changed[field] = str(amount)
    if changed:
        election = await session.get(Election, election_id)
        await record(
            session,
            actor,
            "statistics.budget.saved",
            election,
            data={"part": part, "lines": changed},
        )
        await session.commit()
    return len(changed)


def write_budget_copies(
    session: AsyncSession,
    budgets: Sequence[PayBudget],
    election_id: int,
    districts: Mapping[int, int],
    label: str,
) -> int:
    """Add copies of an election's budget to another election (not committed), each
    district's line to its copy there (``districts``: old id to new id); a district
    not copied loses its line. The rollover's starting point: the office then sets this
    year's amounts. Returns how many lines were copied."""
    copied = 0
    for budget in budgets:
        district_id = None
        if budget.district_id is not None:
            if budget.district_id not in districts:
                continue
            district_id = districts[budget.district_id]
        session.add(
            PayBudget(
                election_id=election_id,
                scope=budget.scope,
                role_type_id=budget.role_type_id,
                district_id=district_id,
                amount=budget.amount,
                updated_by_label=label,
            )
        )
        copied += 1
    return copied


# --- pay against the budget ------------------------------------------------------------


class PayTotalLike(Protocol):
    """What pay has for one role in one district (``app.domain.pay.totals``)."""

    @property
    def role_type_id(self) -> int: ...
    @property
    def district_id(self) -> int | None: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def people(self) -> int: ...


@dataclass(frozen=True)
class PayRow:
    """Pay and budget of one role or one district (``key`` its budget field)."""

    key: str
    label: str
    pay: Decimal
    people: int
    budget: Decimal | None

    @property
    def left(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.pay

    @property
    def over(self) -> bool:
        return self.budget is not None and self.pay > self.budget


async def pay_against_budget(
    session: AsyncSession, election: Election, totals: Sequence[PayTotalLike]
) -> tuple[list[PayRow], list[PayRow]]:
    """(per role, per district) pay against budget: every role and district with pay or
    a budget, districts by code, advance voting last."""
    roles, districts = await budget_lines(session, election.id)
    pay: dict[str, Decimal] = {}
    people: dict[str, int] = {}
    for total in totals:
        for key in (
            f"role-{total.role_type_id}",
            "advance" if total.district_id is None else f"district-{total.district_id}",
        ):
            pay[key] = pay.get(key, Decimal(0)) + total.amount
            people[key] = people.get(key, 0) + total.people

    def rows(lines: list[BudgetLine]) -> list[PayRow]:
        return [
            PayRow(
                line.field,
                line.label,
                pay.get(line.field, Decimal(0)),
                people.get(line.field, 0),
                line.amount,
            )
            for line in lines
            if line.field in pay or line.amount is not None
        ]

    return rows(roles), rows(districts)
