"""Everything the statistics page of an election shows, read in one go."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.elections.elections import get_election
from app.domain.models import Election
from app.domain.ops.access import local_today
from app.domain.pay.totals import pay_by_role_and_district
from app.domain.statistics.budgets import PayRow, pay_against_budget
from app.domain.statistics.demographics import Breakdown, demographics
from app.domain.statistics.history import FilledHistory, filled_history
from app.domain.statistics.people import (
    ExperienceRow,
    FunnelStep,
    LanguageRow,
    experience_per_role,
    languages_needed,
    recruitment_funnel,
)
from app.domain.statistics.readiness import (
    CourseRow,
    NoShows,
    course_completion,
    no_shows_per_district,
)
from app.domain.statistics.training import training_counts


@dataclass(frozen=True)
class ElectionStatistics:
    election: Election
    history: FilledHistory
    funnel: list[FunnelStep]
    experience: list[ExperienceRow]
    ages: Breakdown
    sexes: Breakdown
    languages: list[LanguageRow]
    courses: list[CourseRow]
    no_shows: NoShows
    pay_roles: list[PayRow]
    pay_districts: list[PayRow]


async def election_statistics(
    session: AsyncSession, election_id: int, now: dt.datetime | None = None
) -> ElectionStatistics:
    """Every chart's numbers for the election (404 for another municipality's)."""
    election = await get_election(session, election_id)
    now = now or utcnow()
    ages, sexes = await demographics(session, election)
    pay_roles, pay_districts = await election_pay(session, election, now)
    # Read once for both the funnel's trained step and the course completion.
    training = await training_counts(session, election)
    return ElectionStatistics(
        election=election,
        history=await filled_history(session, election, await local_today(session, now)),
        funnel=await recruitment_funnel(session, election, training),
        experience=await experience_per_role(session, election),
        ages=ages,
        sexes=sexes,
        languages=await languages_needed(session, election),
        courses=await course_completion(session, election, training),
        no_shows=await no_shows_per_district(session, election, now),
        pay_roles=pay_roles,
        pay_districts=pay_districts,
    )


async def election_pay(
    session: AsyncSession, election: Election, now: dt.datetime
) -> tuple[list[PayRow], list[PayRow]]:
    """Pay per role and per district (computed where shifts were worked, estimated for
    those to come: ``app.domain.pay.totals``) against the office's budget."""
    totals = await pay_by_role_and_district(session, election.id, now=now)
    return await pay_against_budget(session, election, totals)
