"""What the population register says of a person, as warnings on their page and the
board: died, moved out of the municipality, under 18 on the coming election day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import lazy_gettext
from app.domain.registers.identity import age_on
from app.domain.registers.population.refresh import MINIMUM_AGE, coming_election

#: Each flag's words, in the order a page lists them.
FLAG_LABELS: dict[str, Any] = {
    "died": lazy_gettext("Deceased according to the population register"),
    "moved_out": lazy_gettext("Moved out of the municipality according to the population register"),
    "under_age": lazy_gettext("Under 18 on the coming election day"),
    "protected": lazy_gettext("Protected identity"),
}


def flags_of(person: Any, election_day: dt.date | None) -> list[str]:
    """The flags of one person (``FLAG_LABELS``' keys), for an election on that day."""
    flags: list[str] = []
    if person.died_on is not None:
        flags.append("died")
    if person.moved_out_on is not None:
        flags.append("moved_out")
    if (
        election_day is not None
        and person.birth_date is not None
        and age_on(person.birth_date, election_day) < MINIMUM_AGE
    ):
        flags.append("under_age")
    if person.address_protected:
        flags.append("protected")
    return flags


async def person_flags(session: AsyncSession, person: Any, today: dt.date) -> list[str]:
    election = await coming_election(session, today)
    return flags_of(person, election.election_day if election else None)
