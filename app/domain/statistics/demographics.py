"""Age groups and legal sex of the people holding a place in an election, as recorded in
their national identity numbers: counts per group only, never a person, and no group
of fewer than five shown or left to be worked out (``suppression``).

Age is on election day, from the recorded birth date (which the identity number gives).
Legal sex is the one the number records: in a Swedish personnummer or samordningsnummer
and a Norwegian fødselsnummer the third digit of the individual number (odd for men,
even for women), in a Danish CPR number the last digit. People without a number are
counted as "not recorded".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import HOLDING_STATES, Assignment, Election, Person
from app.domain.registers.identity import age_on
from app.domain.statistics.suppression import Suppressed, suppress_small

#: Age groups by their first year; the last is open-ended.
AGE_GROUPS = (
    ("18-24", 18), ("25-34", 25), ("35-44", 35), ("45-54", 45), ("55-64", 55), ("65-74", 65),
    ("75+", 75),
)  # fmt: skip
UNDER_18 = "under_18"
NOT_RECORDED = "not_recorded"
SEXES = ("female", "male")


@dataclass(frozen=True)
class Breakdown:
    """Groups in their order and what may be shown of each (None: suppressed)."""

    groups: list[str]
    shown: Suppressed


def age_group(birth_date: dt.date | None, day: dt.date) -> str:
    if birth_date is None:
        return NOT_RECORDED
    age = age_on(birth_date, day)
    if age < AGE_GROUPS[0][1]:
        return UNDER_18
    return next(name for name, first in reversed(AGE_GROUPS) if age >= first)


def legal_sex(country: str | None, number: str | None) -> str:
    """ "female", "male" or "not_recorded", from a stored (normalised) number."""
    if not country or not number or not number.isdigit():
        return NOT_RECORDED
    digit = {"SE": -2, "NO": 8, "DK": -1}.get(country)
    if digit is None or len(number) < 10:
        return NOT_RECORDED
    return "male" if int(number[digit]) % 2 else "female"


async def demographics(session: AsyncSession, election: Election) -> tuple[Breakdown, Breakdown]:
    """(age groups, legal sex) of the people holding a place, suppressed as above."""
    placed = (
        select(Assignment.person_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .distinct()
    )
    people = (
        await session.execute(
            select(Person.birth_date, Person.national_id_country, Person.national_id).where(
                Person.id.in_(placed)
            )
        )
    ).all()
    ages = [name for name, _first in AGE_GROUPS]
    age_counts = dict.fromkeys([UNDER_18, *ages, NOT_RECORDED], 0)
    sex_counts = dict.fromkeys([*SEXES, NOT_RECORDED], 0)
    for birth_date, country, number in people:
        age_counts[age_group(birth_date, election.election_day)] += 1
        sex_counts[legal_sex(country, number)] += 1
    if not age_counts[UNDER_18]:
        del age_counts[UNDER_18]  # not a group unless someone is in it
    return (
        Breakdown(list(age_counts), suppress_small(list(age_counts.values()))),
        Breakdown(list(sex_counts), suppress_small(list(sex_counts.values()))),
    )
