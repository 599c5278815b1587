"""Who is kept off an election's stations, and why: a person matched to one of its
candidates (every station of an election receives votes in it), and a person the
municipality has excluded. Both are hard rules for the board and the optimiser."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Candidate,
    CandidateList,
    PersonExclusion,
)


def fills_its_place() -> ColumnElement[bool]:
    """An assignment that fills its place: it holds one (``HOLDING_STATES``) and its
    holder may work the election.

    A person found a candidate in the election (or excluded) after being placed still
    holds the assignment row until a planner acts, but the place needs someone else:
    every count of filled places (the board, the overview, the dashboards, the
    optimiser's open places) counts with this condition."""
    return Assignment.state.in_(HOLDING_STATES) & not_kept_off()


def not_kept_off() -> ColumnElement[bool]:
    """An assignment whose holder is neither a candidate in its election nor excluded."""
    candidate = exists().where(
        Candidate.person_id == Assignment.person_id,
        Candidate.election_id == Assignment.election_id,
        Candidate.dismissed_at.is_(None),
    )
    excluded = exists().where(PersonExclusion.person_id == Assignment.person_id)
    return ~candidate & ~excluded


async def kept_off(
    session: AsyncSession, person_ids: Sequence[int], election_id: int
) -> dict[int, list[str]]:
    """For each of the people kept off the election, the reasons as a planner reads
    them: the candidate match with its source (file, row, party), or the exclusion."""
    reasons: dict[int, list[str]] = {}
    ids = list(person_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await session.execute(
            select(Candidate, CandidateList.filename)
            .join(CandidateList, CandidateList.id == Candidate.list_id)
            .where(
                Candidate.election_id == election_id,
                Candidate.person_id.in_(chunk),
                Candidate.dismissed_at.is_(None),
            )
            .order_by(Candidate.id)
        )
        for candidate, filename in rows:
            assert candidate.person_id is not None
            reason = candidate_reason(candidate, filename)
            reasons.setdefault(candidate.person_id, []).append(reason)
        for exclusion in await session.scalars(
            select(PersonExclusion)
            .where(PersonExclusion.person_id.in_(chunk))
            .order_by(PersonExclusion.id)
        ):
            reasons.setdefault(exclusion.person_id, []).append(exclusion_reason(exclusion))
    return reasons


def candidate_reason(candidate: Candidate, filename: str) -> str:
    how = (
        _("matched by identity number")
        if candidate.matched_by == "national_id"
        else _("matched by name and birth date: check it")
    )
    return _(
        "A candidate in this election (%(party)s; %(file)s, row %(row)s; %(how)s).",
        party=candidate.party or "–",
        file=filename,
        row=candidate.row,
        how=how,
    )


def exclusion_reason(exclusion: PersonExclusion) -> str:
    return _(
        "Excluded by the municipality: %(reason)s (%(who)s, %(day)s).",
        reason=exclusion.reason,
        who=exclusion.created_by_label or "–",
        day=exclusion.created_at.date().isoformat(),
    )


async def kept_off_people(session: AsyncSession, election_id: int) -> set[int]:
    """Everyone kept off the election: for the optimiser, which never proposes them."""
    candidates = await session.scalars(
        select(Candidate.person_id).where(
            Candidate.election_id == election_id,
            Candidate.person_id.is_not(None),
            Candidate.dismissed_at.is_(None),
        )
    )
    excluded = await session.scalars(select(PersonExclusion.person_id).distinct())
    return {person_id for person_id in candidates if person_id is not None} | set(excluded)


async def mark_kept_off(session: AsyncSession, election_id: int, holders: list[Any]) -> None:
    """Set ``kept_off`` on each of the board's holders (with a ``person_id``) who was
    placed before being found a candidate in the election, or before being excluded."""
    if not holders:
        return
    reasons = await kept_off(session, sorted({h.person_id for h in holders}), election_id)
    for holder in holders:
        holder.kept_off = reasons.get(holder.person_id, [])
