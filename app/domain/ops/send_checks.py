"""Before a coordinator sends someone: which rules each reserve (or clerk to move) would
break at the station's places, and the phone numbers to call them and the no-shows.

The drawer marks every person it offers with what sending them takes: nothing, a
reason (a soft rule or the training rule, ``reassign.overridable_on_the_day``), or
nothing will do (age, another place at the same time), so it never offers someone it
then refuses without saying why. Reads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import _
from app.domain.models import Person
from app.domain.ops.access import is_coordinator
from app.domain.ops.reassign import Candidate, overridable_on_the_day
from app.domain.staffing.assignments import broken_rules, slot_context


@dataclass(frozen=True)
class PlaceToFill:
    """A role on one of the station's shifts, as the drawer names it."""

    shift_id: int
    role_type_id: int
    label: str


@dataclass(frozen=True)
class RuleNote:
    """A rule sending a person would break."""

    rule: str
    #: True when no reason will do: the person cannot be sent there.
    refused: bool
    message: str
    #: The places it concerns (labels); empty when it concerns every place.
    places: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        """A few words for the person's line in the drawer's list."""
        labels = {
            "availability": _("has not said they can work then"),
            "district_preference": _("wished other districts"),
            "course": _("lacks the training"),
            "age": _("under 18 or age unknown"),
            "overlap": _("works elsewhere then"),
            "status": _("not active"),
        }
        text = str(labels.get(self.rule, self.message))
        return f"{text} ({', '.join(self.places)})" if self.places else text


@dataclass(frozen=True)
class Assessment:
    """What sending one person takes."""

    notes: tuple[RuleNote, ...] = ()

    @property
    def refused(self) -> bool:
        """No place at the station can be given to them."""
        return any(note.refused and not note.places for note in self.notes)

    @property
    def needs_reason(self) -> bool:
        return any(not note.refused for note in self.notes)

    @property
    def summary(self) -> str:
        """ "cannot be sent: ...", "needs a reason: ...", or "" when nothing is broken."""
        refused = [note.short for note in self.notes if note.refused]
        reasoned = [note.short for note in self.notes if not note.refused]
        parts = []
        if refused:
            label = _("cannot be sent") if self.refused else _("cannot be sent to")
            parts.append(f"{label}: {'; '.join(refused)}")
        if reasoned:
            parts.append(f"{_('needs a reason')}: {'; '.join(reasoned)}")
        return " · ".join(parts)


async def assess_candidates(
    session: AsyncSession, candidates: Sequence[Candidate], places: Sequence[PlaceToFill]
) -> dict[int, Assessment]:
    """For each candidate (by person id), the rules sending them to any of ``places``
    would break. A full place is left out: that is the place's, not the person's (a
    no-show's place is freed when the person is sent in it)."""
    if not candidates or not places:
        return {}
    people = list(
        await session.scalars(
            select(Person).where(Person.id.in_([c.person_id for c in candidates]))
        )
    )
    # A clerk moved gives up their place: it does not overlap the one they are sent to.
    moving = [c.assignment_id for c in candidates if c.assignment_id is not None]
    found: dict[int, dict[tuple[str, str], tuple[bool, list[str]]]] = {}
    for place in places:
        slot = await slot_context(session, place.shift_id, place.role_type_id)
        broken = await broken_rules(session, slot, people, excluding=moving)
        for person_id, rules in broken.items():
            notes = found.setdefault(person_id, {})
            for rule in rules:
                if rule.rule == "norm":
                    continue
                refused = not overridable_on_the_day(rule)
                entry = notes.setdefault((rule.rule, rule.message), (refused, []))
                entry[1].append(place.label)
    every = len(places)
    return {
        person_id: Assessment(
            tuple(
                RuleNote(
                    rule,
                    refused,
                    message,
                    () if len(labels) == every else tuple(labels),
                )
                for (rule, message), (refused, labels) in notes.items()
            )
        )
        for person_id, notes in found.items()
    }


async def phone_numbers(
    session: AsyncSession, actor: Actor, person_ids: Sequence[int]
) -> dict[int, str]:
    """The mobile numbers of these people, for a coordinator to call them on the day;
    nothing for anyone else (a planner watching the dashboard, a clerk)."""
    if not person_ids or not await is_coordinator(session, actor):
        return {}
    rows = await session.execute(
        select(Person.id, Person.mobile).where(
            Person.id.in_(list(person_ids)), Person.erased_at.is_(None)
        )
    )
    return {person_id: mobile for person_id, mobile in rows if mobile}
