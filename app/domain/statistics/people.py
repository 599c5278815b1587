"""Who the election has: the recruitment funnel, first-timers and experienced per role,
and the languages voters need against those the staff speak."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import named
from app.domain.models import (
    HOLDING_STATES,
    Application,
    ApplicationElection,
    Assignment,
    CheckIn,
    Election,
    Person,
    Station,
)
from app.domain.registers.roles import list_role_types
from app.domain.statistics.training import TrainingCounts, training_counts

FUNNEL_STEPS = ("applied", "approved", "offered", "accepted", "trained", "checked_in")


@dataclass(frozen=True)
class FunnelStep:
    step: str
    people: int


async def recruitment_funnel(
    session: AsyncSession, election: Election, training: TrainingCounts | None = None
) -> list[FunnelStep]:
    """People at each step, from applying to checking in on the day.

    Applied and approved count applications for this election; offered, accepted,
    trained and checked in count people with a place in it (the office may place
    someone from the register who never applied, so a step can outgrow the one before).
    Offered: ever offered a place (or given one accepted at once); trained: accepted and
    holding every course their roles require (a role that requires none needs none);
    checked in: accepted and arrived at a shift at least once. ``training``: the
    training counts if read already (``training_counts``).
    """
    # Two statements: the applications, and the people placed (each step a distinct
    # count of its own condition over the same rows, rather than a statement each).
    applied, approved = (
        await session.execute(
            select(
                func.count(distinct(Application.id)),
                func.count(distinct(case((Application.status == "approved", Application.id)))),
            )
            .join(ApplicationElection, ApplicationElection.application_id == Application.id)
            .where(ApplicationElection.election_id == election.id)
        )
    ).one()
    # The people who arrived at some shift, joined by hashing (not looked up per place).
    arrived = (
        select(CheckIn.person_id)
        .where(CheckIn.election_id == election.id, CheckIn.kind == "arrived")
        .distinct()
        .subquery("arrived")
    )
    came = arrived.c.person_id.is_not(None)
    accepted_place = Assignment.state == "accepted"
    offered, accepted, checked_in = (
        await session.execute(
            select(
                func.count(
                    distinct(
                        case(
                            (
                                or_(
                                    Assignment.offered_at.is_not(None),
                                    Assignment.state.in_(("offered", "accepted", "declined")),
                                ),
                                Assignment.person_id,
                            )
                        )
                    )
                ),
                func.count(distinct(case((accepted_place, Assignment.person_id)))),
                func.count(distinct(case((accepted_place & came, Assignment.person_id)))),
            )
            .outerjoin(arrived, arrived.c.person_id == Assignment.person_id)
            .where(Assignment.election_id == election.id)
        )
    ).one()
    counts = {
        "applied": applied,
        "approved": approved,
        "offered": offered,
        "accepted": accepted,
        "trained": (training or await training_counts(session, election)).trained,
        "checked_in": checked_in,
    }
    return [FunnelStep(step, counts[step]) for step in FUNNEL_STEPS]


# --- experience ----------------------------------------------------------------------

EXPERIENCE_GROUPS = ("first_time", "some", "much")


@dataclass(frozen=True)
class ExperienceRow:
    """People holding a place in one role, by how many elections they have worked."""

    role_type_id: int
    role: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def experience_per_role(session: AsyncSession, election: Election) -> list[ExperienceRow]:
    """First-timers and experienced among the people holding a place, role by role.

    Experience is what the register records (none, some: one or two elections, much:
    three or more); someone recorded as new who has an accepted place in an earlier
    election in Stemma has worked one, so counts as some.
    """
    earlier = (
        select(Assignment.person_id)
        .join(Election, Election.id == Assignment.election_id)
        .where(Assignment.state == "accepted", Election.election_day < election.election_day)
    )
    worked_before = Assignment.person_id.in_(earlier)
    # Counted by the database: one row per role and level, each person once in a role.
    rows = await session.execute(
        select(
            Assignment.role_type_id,
            Person.experience,
            worked_before,
            func.count(distinct(Assignment.person_id)),
        )
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .group_by(Assignment.role_type_id, Person.experience, worked_before)
    )
    seen: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(EXPERIENCE_GROUPS, 0))
    for role_id, experience, before, count in rows:
        group = "first_time" if experience not in ("some", "much") else experience
        if group == "first_time" and before:
            group = "some"
        seen[role_id][group] += count
    result = []
    for role in await list_role_types(session):
        if role.id not in seen:
            continue
        result.append(ExperienceRow(role.id, named(role), seen[role.id]))
    return result


# --- languages -----------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageRow:
    """Stations whose voters need a language, and of them those with someone holding a
    place there who speaks it (and someone accepted)."""

    language: str
    needed: int
    covered: int
    covered_accepted: int


async def languages_needed(session: AsyncSession, election: Election) -> list[LanguageRow]:
    """Each language some station needs, most needed first."""
    stations = (
        await session.execute(
            select(Station.id, Station.languages).where(Station.election_id == election.id)
        )
    ).all()
    needing = {station_id: set(codes) for station_id, codes in stations if codes}
    spoken: dict[int, set[str]] = defaultdict(set)
    spoken_accepted: dict[int, set[str]] = defaultdict(set)
    if needing:
        rows = await session.execute(
            select(Assignment.station_id, Assignment.state, Person.spoken_languages)
            .join(Person, Person.id == Assignment.person_id)
            .where(
                Assignment.election_id == election.id,
                Assignment.state.in_(HOLDING_STATES),
                Assignment.station_id.in_(list(needing)),
            )
        )
        for station_id, state, languages in rows:
            spoken[station_id].update(languages or ())
            if state == "accepted":
                spoken_accepted[station_id].update(languages or ())
    needed: dict[str, int] = defaultdict(int)
    covered: dict[str, int] = defaultdict(int)
    covered_accepted: dict[str, int] = defaultdict(int)
    for station_id, codes in needing.items():
        for code in codes:
            needed[code] += 1
            covered[code] += code in spoken[station_id]
            covered_accepted[code] += code in spoken_accepted[station_id]
    return [
        LanguageRow(code, needed[code], covered[code], covered_accepted[code])
        for code in sorted(needed, key=lambda c: (-needed[c], c))
    ]
