"""Role types at a station and their defaults for a new municipality."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.local_names import clean_other_names, own_language
from app.domain.models import PAY_UNITS, RoleType

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
        )
        for index, (code, names, leads, pay, unit) in enumerate(DEFAULT_ROLE_TYPES)
    ]


async def list_role_types(session: AsyncSession) -> list[RoleType]:
    return list(
        await session.scalars(select(RoleType).order_by(RoleType.sort_order, RoleType.name))
    )


async def update_role_type(
    session: AsyncSession, actor: Actor, role_type_id: int, data: Mapping[str, Any]
) -> RoleType:
    """Rename a role (in the municipality's language, and optionally in the others)
    or change its pay."""
    role = await session.scalar(select(RoleType).where(RoleType.id == role_type_id))
    if role is None:
        raise NotFound(_("Not found."))
    cleaner = Cleaner(data)
    name = cleaner.text("name", 100, required=True)
    names = clean_other_names(cleaner, await own_language(session))
    amount = cleaner.decimal_number("pay_amount", 0, 1_000_000)
    unit = cleaner.choice("pay_unit", PAY_UNITS, "day")
    cleaner.done()
    changes = {"name": name, "names": names, "pay_amount": str(amount or 0), "pay_unit": unit}
    role.name, role.pay_amount, role.pay_unit = name, Decimal(str(amount or 0)), unit
    if names is not None:
        role.names = names
    await record(session, actor, "elections.role_type.updated", role, data=changes)
    await session.commit()
    return role
