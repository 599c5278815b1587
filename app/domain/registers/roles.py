"""Role types at a station and their defaults for a new municipality; the office adds
its own (team leader, counting clerk, ...), renames, orders, retires and deletes them.

A role used by an assignment or a norm is never deleted (the history refers to it),
only retired: a retired role is offered for no new norm but stays where it was used.
The special meanings stay with their flags and codes, never with a name: a role that
``leads_station`` leads it; the code ``reserve`` is the default reserve role.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.local_names import clean_other_names, own_language
from app.domain.models import (
    PAY_UNITS,
    ROLE_WORK_KINDS,
    Assignment,
    Course,
    CourseRequirement,
    RoleType,
    StaffingNorm,
)

#: code -> (name per locale, leads the station, pay, pay unit); pay from Swedish examples.
DEFAULT_ROLE_TYPES = (
    ("chair", {"sv": "Ordförande", "da": "Valgstyrer", "en": "Chair"}, True, "3700", "day"),
    (
        "vice_chair",
        {"sv": "Vice ordförande", "da": "Næstformand", "en": "Vice chair"},
        True,
        "2900",
        "day",
    ),
    (
        "clerk",
        {"sv": "Röstmottagare", "da": "Valgtilforordnet", "en": "Poll clerk"},
        False,
        "2400",
        "day",
    ),
    ("reserve", {"sv": "Reserv", "da": "Reserve", "en": "Reserve"}, False, "2400", "day"),
    ("host", {"sv": "Värd", "da": "Vært", "en": "Host"}, False, "170", "hour"),
)


def default_role_types(tenant_id: int, locale: str) -> list[RoleType]:
    return [
        RoleType(
            tenant_id=tenant_id,
            code=code,
            name=names.get(locale, names["en"]),
            names={code: name for code, name in names.items() if code != locale},
            leads_station=leads,
            pay_amount=Decimal(pay),
            pay_unit=unit,
            sort_order=index,
            counts_toward_minimum=code != "host",
            work_kinds=list(ROLE_WORK_KINDS),
        )
        for index, (code, names, leads, pay, unit) in enumerate(DEFAULT_ROLE_TYPES)
    ]


async def list_role_types(session: AsyncSession, *, active: bool = False) -> list[RoleType]:
    """Every role type in the office's order; ``active``: without the retired ones."""
    query = select(RoleType).order_by(RoleType.sort_order, RoleType.name)
    if active:
        query = query.where(RoleType.retired.is_(False))
    return list(await session.scalars(query))


async def get_role_type(session: AsyncSession, role_type_id: int) -> RoleType:
    role = await session.scalar(select(RoleType).where(RoleType.id == role_type_id))
    if role is None:
        raise NotFound(_("Not found."))
    return role


def _clean_settings(cleaner: Cleaner, changes: dict[str, Any]) -> None:
    """Where the role may work and whether it counts toward the legal minimum: read only
    when the form shows them (``work_kinds_shown``), so a form without them keeps them."""
    if "work_kinds_shown" not in cleaner.data:
        return
    kinds = [kind for kind in ROLE_WORK_KINDS if cleaner.boolean(f"work_{kind}")]
    if not kinds:
        cleaner.fail("work_kinds", _("Choose at least one kind of work the role may do."))
    changes["work_kinds"] = kinds
    changes["counts_toward_minimum"] = cleaner.boolean("counts_toward_minimum")


async def update_role_type(
    session: AsyncSession, actor: Actor, role_type_id: int, data: Mapping[str, Any]
) -> RoleType:
    """Rename a role (in the municipality's language, and optionally in the others),
    change its pay, where it may work and whether it counts toward the minimum."""
    role = await get_role_type(session, role_type_id)
    cleaner = Cleaner(data)
    name = cleaner.text("name", 100, required=True)
    names = clean_other_names(cleaner, await own_language(session))
    amount = cleaner.decimal_number("pay_amount", 0, 1_000_000)
    unit = cleaner.choice("pay_unit", PAY_UNITS, "day")
    changes: dict[str, Any] = {
        "name": name,
        "names": names,
        "pay_amount": str(amount or 0),
        "pay_unit": unit,
    }
    _clean_settings(cleaner, changes)
    if name and await _name_taken(session, name, role.id):
        cleaner.fail("name", _("Another role already has this name."))
    cleaner.done()
    role.name, role.pay_amount, role.pay_unit = name, Decimal(str(amount or 0)), unit
    if names is not None:
        role.names = names
    if "work_kinds" in changes:
        role.work_kinds = changes["work_kinds"]
        role.counts_toward_minimum = changes["counts_toward_minimum"]
    await record(session, actor, "elections.role_type.updated", role, data=changes)
    await session.commit()
    return role


async def create_role_type(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any]
) -> RoleType:
    """Add the office's own role, last in the order; with the course it requires
    (``course_id``, optional). It leads no station: the leading roles are the defaults'."""
    cleaner = Cleaner(data)
    name = cleaner.text("name", 100, required=True)
    names = clean_other_names(cleaner, await own_language(session)) or {}
    amount = cleaner.decimal_number("pay_amount", 0, 1_000_000)
    unit = cleaner.choice("pay_unit", PAY_UNITS, "day")
    course_id = cleaner.identifier("course_id")
    changes: dict[str, Any] = {"work_kinds": list(ROLE_WORK_KINDS), "counts_toward_minimum": True}
    _clean_settings(cleaner, changes)
    if name and await _name_taken(session, name, None):
        cleaner.fail("name", _("Another role already has this name."))
    course = None
    if course_id is not None:
        course = await session.scalar(select(Course).where(Course.id == course_id))
        if course is None:
            cleaner.fail("course_id", _("Choose one of the options."))
    cleaner.done()
    last = await session.scalar(select(func.max(RoleType.sort_order)))
    role = RoleType(
        code=await _free_code(session, name),
        name=name,
        names=names,
        leads_station=False,
        pay_amount=Decimal(str(amount or 0)),
        pay_unit=unit,
        sort_order=(last or 0) + 1,
        work_kinds=changes["work_kinds"],
        counts_toward_minimum=changes["counts_toward_minimum"],
    )
    session.add(role)
    await session.flush()
    if course is not None:
        session.add(CourseRequirement(course_id=course.id, role_type_id=role.id))
    await record(
        session,
        actor,
        "elections.role_type.created",
        role,
        data={
            "code": role.code,
            "name": name,
            "names": names,
            "pay_amount": str(role.pay_amount),
            "pay_unit": unit,
            "work_kinds": role.work_kinds,
            "counts_toward_minimum": role.counts_toward_minimum,
            "course": course.name if course is not None else None,
        },
    )
    await session.commit()
    return role


async def set_retired(
    session: AsyncSession, actor: Actor, role_type_id: int, retired: bool
) -> RoleType:
    """Retire a role (no new norms; its history stays) or take it back into use."""
    role = await get_role_type(session, role_type_id)
    if role.retired != retired:
        role.retired = retired
        code = "elections.role_type.retired" if retired else "elections.role_type.restored"
        await record(session, actor, code, role, data={"name": role.name})
        await session.commit()
    return role


async def delete_role_type(session: AsyncSession, actor: Actor, role_type_id: int) -> None:
    """Delete a role nothing uses; one used by assignments or norms is refused (retire
    it instead). Its pay rules and course requirements go with it."""
    role = await get_role_type(session, role_type_id)
    assignments = await session.scalar(
        select(func.count()).select_from(Assignment).where(Assignment.role_type_id == role.id)
    )
    if assignments:
        raise DomainError(
            _(
                "%(role)s has %(count)s assignments and cannot be deleted; retire it instead.",
                role=role.name,
                count=assignments,
            )
        )
    norms = await session.scalar(
        select(func.count()).select_from(StaffingNorm).where(StaffingNorm.role_type_id == role.id)
    )
    if norms:
        raise DomainError(
            _(
                "%(role)s is in the staffing norms of %(count)s shifts and cannot be deleted; "
                "retire it instead.",
                role=role.name,
                count=norms,
            )
        )
    await record(session, actor, "elections.role_type.deleted", role, data={"name": role.name})
    await session.delete(role)
    await session.commit()


async def move_role_type(
    session: AsyncSession, actor: Actor, role_type_id: int, direction: str
) -> None:
    """Move a role one step up or down in the order the pages list roles in."""
    if direction not in ("up", "down"):
        raise DomainError(_("Choose one of the options."))
    roles = await list_role_types(session)
    index = next((i for i, role in enumerate(roles) if role.id == role_type_id), None)
    if index is None:
        raise NotFound(_("Not found."))
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(roles):
        return
    roles[index], roles[other] = roles[other], roles[index]
    for order, role in enumerate(roles):
        role.sort_order = order
    await record(
        session, actor, "elections.role_type.moved", roles[other], data={"direction": direction}
    )
    await session.commit()


async def _name_taken(session: AsyncSession, name: str, own_id: int | None) -> bool:
    query = select(RoleType.id).where(func.lower(RoleType.name) == name.lower())
    if own_id is not None:
        query = query.where(RoleType.id != own_id)
    return await session.scalar(query.limit(1)) is not None


async def _free_code(session: AsyncSession, name: str) -> str:
    """A code for a new role from its name (ASCII, as the norm forms' field names),
    not yet used in the municipality."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:24] or "role"
    taken = set(await session.scalars(select(RoleType.code)))
    code, number = base, 2
    while code in taken:
        code, number = f"{base}_{number}", number + 1
    return code
