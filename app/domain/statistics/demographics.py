"""Age groups and legal sex of the people holding a place in an election, as recorded in
their national identity numbers: counts per group only, never a person, and no group
of fewer than five shown or left to be worked out (``suppression``).

Age is on election day, from the recorded birth date (which the identity number gives).
Legal sex is the one the number records: in a Swedish personnummer or samordningsnummer
and a Norwegian fødselsnummer the third digit of the individual number (odd for men,
even for women), in a Danish CPR number the last digit. People without a number are
counted as "not recorded". The database counts the groups: no number or birth date is
read out of it for this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import HOLDING_STATES, Assignment, Election, Person
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


def years_before(day: dt.date, years: int) -> dt.date:
    """The last birth date of someone ``years`` old on ``day`` (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age_group(day: dt.date) -> Any:
    """The age group on ``day`` as the database works it out from the birth date."""
    whens: list[tuple[Any, str]] = [(Person.birth_date.is_(None), NOT_RECORDED)]
    for name, first in reversed(AGE_GROUPS):
        whens.append((Person.birth_date <= years_before(day, first), name))
    return case(*whens, else_=UNDER_18)


#: Where the legal sex is in each country's (normalised) number: the digit's position
#: from the start (1 is the first) or, below 1, from the end (0 the last).
SEX_DIGIT = {"SE": -1, "NO": 9, "DK": 0}


def _sex_digit() -> Any:
    number = Person.national_id
    return case(
        *(
            (
                Person.national_id_country == country,
                func.substr(
                    number, position if position > 0 else func.length(number) + position, 1
                ),
            )
            for country, position in SEX_DIGIT.items()
        ),
        else_=None,
    )


def legal_sex(digit: str | None) -> str:
    """ "female" (even), "male" (odd) or "not_recorded", from the number's sex digit."""
    if not digit or not digit.isdigit():
        return NOT_RECORDED
    return "male" if int(digit) % 2 else "female"


async def demographics(session: AsyncSession, election: Election) -> tuple[Breakdown, Breakdown]:
    """(age groups, legal sex) of the people holding a place, suppressed as above;
    counted by the database, so no birth date or number leaves it."""
    placed = (
        select(Assignment.person_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .scalar_subquery()
    )
    age, digit = _age_group(election.election_day), _sex_digit()
    rows = await session.execute(
        select(age, digit, func.count()).where(Person.id.in_(placed)).group_by(age, digit)
    )
    ages = [name for name, _first in AGE_GROUPS]
    age_counts = dict.fromkeys([UNDER_18, *ages, NOT_RECORDED], 0)
    sex_counts = dict.fromkeys([*SEXES, NOT_RECORDED], 0)
    for group, sex_digit, count in rows:
        age_counts[group] += count
        sex_counts[legal_sex(sex_digit)] += count
    if not age_counts[UNDER_18]:
        del age_counts[UNDER_18]  # not a group unless someone is in it
    return (
        Breakdown(list(age_counts), suppress_small(list(age_counts.values()))),
        Breakdown(list(sex_counts), suppress_small(list(sex_counts.values()))),
    )
