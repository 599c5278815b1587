"""Where a person on the board stands on a role's required courses for a shift's day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.domain.courses.qualifications import CourseNeed, training_state, unmet


@dataclass(frozen=True)
class Training:
    """Where a person stands on a role's required courses for a shift's day.

    ``state``: none (nothing required), qualified, booked (a seat before the day),
    late (a seat only on or after the day) or missing (neither held nor booked;
    ``waiting`` when on a waiting list). ``day`` is the last session day booked.
    """

    state: str
    day: dt.date | None = None
    waiting: bool = False

    @property
    def lacking(self) -> bool:
        """Breaks the course rule on that day."""
        return self.state in ("late", "missing")


NO_TRAINING = Training("none")


def training_for(needs: list[CourseNeed], day: dt.date) -> Training:
    if not needs:
        return NO_TRAINING
    booked = [n.session_day for n in needs if n.status == "booked" and n.session_day]
    last = max(booked) if booked else None
    if unmet(needs, day):
        late = training_state(needs) == "booked"
        waiting = any(n.status == "waiting" for n in needs)
        return Training("late" if late else "missing", last, waiting)
    return Training(training_state(needs), last)
