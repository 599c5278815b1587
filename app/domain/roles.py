"""Role types at a station and their defaults for a new municipality."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import RoleType

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
