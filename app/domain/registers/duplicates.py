"""People likely entered twice: the pairs the register itself points at.

Two records are likely one person when they share a name and a birth date, a mobile
number, or an email address written differently. (Two records cannot share an identity
number: the database refuses a second one, and an application with a number already in
the register is approved into that person, see ``recruitment.register_match``.) The
office looks at each pair side by side and merges it (``merging``) or leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import lazy_gettext
from app.domain.models import Person

#: Why two records are shown as a likely pair, in the order the page names them.
REASONS = {
    "name_birth_date": lazy_gettext("Same name and birth date"),
    "mobile": lazy_gettext("Same mobile number"),
    "email": lazy_gettext("Same email address"),
}
#: At most this many records alike on one key make pairs (a shared switchboard number
#: on a hundred records is no sign of anything).
MAX_GROUP = 6
#: At most this many pairs are listed at once.
MAX_PAIRS = 200


@dataclass
class LikelyPair:
    first: Person
    second: Person
    reasons: list[str] = field(default_factory=list)


async def _groups(session: AsyncSession, *keys: Any) -> list[list[int]]:
    """Ids of the people (not erased) who share the value of ``keys``, per value."""
    live = Person.erased_at.is_(None)
    alike = (
        select(*(key.label(f"k{i}") for i, key in enumerate(keys)))
        .where(live, *(key.is_not(None) for key in keys))
        .group_by(*keys)
        .having(func.count(Person.id) > 1)
        .having(func.count(Person.id) <= MAX_GROUP)
        .subquery()
    )
    columns = [alike.c[f"k{i}"] for i in range(len(keys))]
    rows = await session.execute(
        select(Person.id, *columns)
        .join(alike, and_(*(key == column for key, column in zip(keys, columns, strict=True))))
        .where(live)
        .order_by(Person.id)
    )
    groups: dict[tuple[object, ...], list[int]] = {}
    for person_id, *values in rows:
        groups.setdefault(tuple(values), []).append(person_id)
    return list(groups.values())


async def likely_pairs(session: AsyncSession) -> list[LikelyPair]:
    """The pairs of records that are likely one person, with why: the surest first,
    at most ``MAX_PAIRS``."""
    found: dict[tuple[int, int], list[str]] = {}
    keyed = {
        "name_birth_date": (Person.search_name, Person.birth_date),
        "mobile": (Person.mobile,),
        "email": (func.lower(Person.email),),
    }
    for reason, keys in keyed.items():
        for ids in await _groups(session, *keys):
            for pair in combinations(sorted(ids), 2):
                found.setdefault(pair, []).append(reason)
    # The surest first: a name and birth date alike, then more reasons than one.
    chosen = sorted(
        found, key=lambda pair: ("name_birth_date" not in found[pair], -len(found[pair]), pair)
    )[:MAX_PAIRS]
    wanted = {person_id for pair in chosen for person_id in pair}
    people = {
        person.id: person
        for person in await session.scalars(select(Person).where(Person.id.in_(wanted)))
    }
    return [
        LikelyPair(people[a], people[b], [str(REASONS[r]) for r in found[(a, b)]])
        for a, b in chosen
        if a in people and b in people
    ]
