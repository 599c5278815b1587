"""Elections: their name, kind, dates and status, and the list of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner, FieldErrors
from app.domain.elections.voting_days import allowed_days, days_outside
from app.domain.models import ELECTION_KINDS, ELECTION_STATUSES, District, Election, Station
from app.domain.saving import store

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_ADVANCE_DAYS = 60


def clean_election(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "name": cleaner.text("name", 200, required=True),
        "kind": cleaner.choice("kind", ELECTION_KINDS),
        "election_day": cleaner.date("election_day", required=True),
        "advance_start": cleaner.date("advance_start"),
        "advance_end": cleaner.date("advance_end"),
        "status": cleaner.choice("status", ELECTION_STATUSES, "planning"),
    }
    start, end, day = values["advance_start"], values["advance_end"], values["election_day"]
    for name in ("election_day", "advance_start", "advance_end"):
        if values[name] and not FIRST_YEAR <= values[name].year <= LAST_YEAR:
            cleaner.fail(
                name,
                _("Choose a date from %(first)s to %(last)s.", first=FIRST_YEAR, last=LAST_YEAR),
            )
            values[name] = None
    start, end, day = values["advance_start"], values["advance_end"], values["election_day"]
    if (start is None) != (end is None):
        cleaner.fail("advance_end", _("Give both the first and the last day of advance voting."))
    elif start and end and start > end:
        cleaner.fail("advance_end", _("Advance voting cannot end before it starts."))
    elif end and day and end > day:
        cleaner.fail("advance_end", _("Advance voting cannot go on after election day."))
    elif start and end and (end - start).days > MAX_ADVANCE_DAYS:
        cleaner.fail(
            "advance_start",
            _("Advance voting can last at most %(days)s days.", days=MAX_ADVANCE_DAYS),
        )
    cleaner.done()
    return values


async def save_election(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], election_id: int | None = None
) -> Election:
    values = clean_election(data)
    election = Election() if election_id is None else await get_election(session, election_id)
    if election_id is not None:
        stranded = await days_outside(session, election.id, allowed_days(values))
        if stranded:
            raise FieldErrors(
                {
                    "election_day": _(
                        "%(count)s shifts or opening days fall outside the new dates; "
                        "move or remove them first.",
                        count=stranded,
                    )
                }
            )
    return await store(
        session,
        actor,
        election,
        values,
        "elections.election",
        election_id is None,
        {"name": values["name"]},
    )


async def get_election(session: AsyncSession, election_id: int) -> Election:
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if election is None:
        raise NotFound(_("Not found."))
    return election


async def list_elections(session: AsyncSession) -> list[tuple[Election, int, int]]:
    """Every election, newest first, with its number of districts and stations."""
    districts = (
        select(func.count(District.id)).where(District.election_id == Election.id).scalar_subquery()
    )
    stations = (
        select(func.count(Station.id)).where(Station.election_id == Election.id).scalar_subquery()
    )
    rows = await session.execute(
        select(Election, districts, stations).order_by(Election.election_day.desc(), Election.id)
    )
    return [
        (election, district_count, station_count)
        for election, district_count, station_count in rows
    ]
