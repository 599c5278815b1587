"""An election's districts: the areas its polling stations serve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner, FieldErrors
from app.domain.elections.elections import get_election
from app.domain.models import District, Station
from app.domain.saving import is_taken, store


async def save_district(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    data: Mapping[str, Any],
    district_id: int | None = None,
) -> District:
    election = await get_election(session, election_id)
    cleaner = Cleaner(data)
    values = {
        "code": cleaner.text("code", 20, required=True),
        "name": cleaner.text("name", 200, required=True),
        "eligible_voters": cleaner.integer("eligible_voters", 0, 10_000_000),
    }
    cleaner.done()
    same_code = select(District.id).where(
        District.election_id == election.id, District.code == values["code"]
    )
    if await is_taken(session, same_code, District.id, district_id):
        raise FieldErrors({"code": _("Another district of this election has this code.")})
    district = (
        District(election_id=election.id)
        if district_id is None
        else await get_district(session, district_id, election.id)
    )
    return await store(
        session,
        actor,
        district,
        values,
        "elections.district",
        district_id is None,
        {"code": values["code"]},
    )


async def get_district(session: AsyncSession, district_id: int, election_id: int) -> District:
    district = await session.scalar(
        select(District).where(District.id == district_id, District.election_id == election_id)
    )
    if district is None:
        raise NotFound(_("Not found."))
    return district


async def districts_of(session: AsyncSession, election_id: int) -> list[District]:
    return list(
        await session.scalars(
            select(District).where(District.election_id == election_id).order_by(District.code)
        )
    )


async def count_districts(session: AsyncSession, election_id: int) -> int:
    return (
        await session.scalar(
            select(func.count(District.id)).where(District.election_id == election_id)
        )
        or 0
    )


async def delete_district(
    session: AsyncSession, actor: Actor, election_id: int, district_id: int
) -> None:
    """Remove a district. Refused while polling stations still serve it."""
    district = await get_district(session, district_id, election_id)
    if await session.scalar(select(Station.id).where(Station.district_id == district.id).limit(1)):
        raise FieldErrors({"district": _("Move or remove the district's polling stations first.")})
    await record(
        session, actor, "elections.district.deleted", district, data={"code": district.code}
    )
    await session.delete(district)
    await session.commit()
