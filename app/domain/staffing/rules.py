"""The rules every assignment must keep, as data both the service and the optimiser use.

Hard rules are never broken: overlapping shifts, age on election day, the role's
required course, the norm's maximum. Soft rules (availability, district wishes) may be
overridden by a planner, and the override is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.core.i18n import _
from app.domain.registers.identity import age_on

MINIMUM_AGE = 18
#: Polls close at 20:00; a shift running past it includes the count.
POLLS_CLOSE = dt.time(20, 0)


@dataclass(frozen=True)
class Broken:
    """A rule an assignment would break, with the reason a planner reads."""

    rule: str
    hard: bool
    message: str


def work_kinds_for(station_kind: str, ends_at: dt.time) -> tuple[str, ...]:
    """The kinds of work (as applicants state availability) a shift consists of."""
    if station_kind == "advance":
        return ("advance",)
    if ends_at > POLLS_CLOSE:
        return ("election_day", "counting")
    return ("election_day",)


def overlaps(
    day: dt.date, starts: dt.time, ends: dt.time, other: tuple[dt.date, dt.time, dt.time]
) -> bool:
    other_day, other_starts, other_ends = other
    return day == other_day and starts < other_ends and other_starts < ends


def age_rule(birth_date: dt.date | None, election_day: dt.date) -> Broken | None:
    if birth_date is None:
        return Broken(
            "age",
            True,
            _("The age is unknown: add the identity number or birth date first."),
        )
    if age_on(birth_date, election_day) < MINIMUM_AGE:
        return Broken("age", True, _("Must be %(age)s or older on election day.", age=MINIMUM_AGE))
    return None


def overlap_rule(
    day: dt.date,
    starts: dt.time,
    ends: dt.time,
    booked: list[tuple[dt.date, dt.time, dt.time, str]],
) -> Broken | None:
    """``booked`` holds (day, starts, ends, station name) of the person's other places."""
    for other_day, other_starts, other_ends, station in booked:
        if overlaps(day, starts, ends, (other_day, other_starts, other_ends)):
            return Broken(
                "overlap",
                True,
                _(
                    "Already works %(start)s–%(end)s that day at %(station)s.",
                    start=other_starts.strftime("%H:%M"),
                    end=other_ends.strftime("%H:%M"),
                    station=station,
                ),
            )
    return None


def course_rule(unmet_courses: list[str]) -> Broken | None:
    """A role's required courses: each must be held (valid on election day) or booked
    on a session before the shift's day. ``unmet_courses`` names those that are not."""
    if not unmet_courses:
        return None
    return Broken(
        "course",
        True,
        _(
            "Lacks the required course %(courses)s and has no seat on a session before the day.",
            courses=", ".join(unmet_courses),
        ),
    )


def role_may_work(role_kinds: list[str], shift_kinds: tuple[str, ...]) -> bool:
    """A role works only where the office said it may (election day, advance voting,
    counting): a shift none of whose kinds of work the role may do cannot have it."""
    return any(kind in role_kinds for kind in shift_kinds)


def role_work_rule(role_kinds: list[str], shift_kinds: tuple[str, ...]) -> Broken | None:
    if role_may_work(role_kinds, shift_kinds):
        return None
    return Broken("role_work", True, _("This role does not work at this kind of station or shift."))


def capacity_rule(filled: int, target: int, has_norm: bool) -> Broken | None:
    if not has_norm or target == 0:
        return Broken("norm", True, _("This shift has no place for this role."))
    if filled >= target:
        return Broken(
            "norm", True, _("The shift already has %(count)s of %(count)s.", count=target)
        )
    return None


def availability_rule(available_kinds: set[str], needed: tuple[str, ...]) -> Broken | None:
    missing = [kind for kind in needed if kind not in available_kinds]
    if not available_kinds:
        return Broken("availability", False, _("Has not said they can work that day."))
    if missing:
        return Broken(
            "availability", False, _("Has not said they can do this kind of work that day.")
        )
    return None


def district_rule(wished: set[int], district_id: int | None) -> Broken | None:
    if wished and district_id is not None and district_id not in wished:
        return Broken("district_preference", False, _("Wished to work in other districts."))
    return None


def kept_off_rule(reasons: list[str]) -> Broken | None:
    """A candidate in the election, or a person the municipality excluded: a hard rule.
    ``reasons`` come from ``staffing.kept_off`` with the match and its source."""
    if not reasons:
        return None
    return Broken("kept_off", True, " ".join(reasons))


def register_rule(died_on: dt.date | None, moved_out_on: dt.date | None) -> Broken | None:
    """What the population register says (``registers.population``): a person who has
    died is never placed (hard); one who moved out of the municipality is a warning."""
    if died_on is not None:
        return Broken("died", True, _("Deceased according to the population register."))
    if moved_out_on is not None:
        return Broken(
            "moved_out",
            False,
            _("Moved out of the municipality according to the population register."),
        )
    return None
