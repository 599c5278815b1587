"""Required courses as bits: which of a shift's open roles each person-day may fill.

A person-day's *class* on a shift is the set of the shift's open roles they may fill.
Only the roles some candidate may not fill (for want of a course) get a bit; every
other role is "free". A class is full when nothing of the shift is barred, which is
always so without required courses. The solver sends a full class to the shift's node
and any other to a node of that class on the shift (see ``network``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import NDArray

from app.domain.autostaff.problem import Problem

#: Classes are bit sets in an int64: at most this many roles may require a course.
MAX_RESTRICTED_ROLES = 62


def restricted_roles(problem: Problem) -> list[int]:
    """The roles some candidate may not fill on some day, by id."""
    return sorted(
        {role for c in problem.candidates for barred in c.barred.values() for role in barred}
    )


class RoleClasses:
    """The roles some candidate may not fill (for want of a course), as bits.

    ``shift_bits[s]``: the restricted roles with open places on shift s; ``has_free[s]``:
    it also has places of roles anyone may fill; ``barred[i, d]``: the restricted roles
    candidate i may not fill on day d. A person-day's class on a shift is the shift's
    restricted bits minus its barred ones (plus every free role).
    """

    def __init__(self, problem: Problem, days: list[dt.date], restricted: list[int]) -> None:
        assert len(restricted) <= MAX_RESTRICTED_ROLES
        self.bit = {role: 1 << b for b, role in enumerate(restricted)}
        shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
        self.shift_bits: NDArray[np.int64] = np.zeros(len(problem.shifts), dtype=np.int64)
        self.has_free: NDArray[np.bool_] = np.zeros(len(problem.shifts), dtype=bool)
        for place in problem.places:
            s = shift_index[place.shift_id]
            if place.role_type_id in self.bit:
                self.shift_bits[s] |= self.bit[place.role_type_id]
            else:
                self.has_free[s] = True
        day_index = {day: d for d, day in enumerate(days)}
        self.barred: NDArray[np.int64] = np.zeros(
            (len(problem.candidates), max(1, len(days))), dtype=np.int64
        )
        for i, candidate in enumerate(problem.candidates):
            for day, roles in candidate.barred.items():
                if day in day_index:
                    self.barred[i, day_index[day]] = sum(self.bit[r] for r in roles)

    def fits(self, s: int, barred: int) -> bool:
        """The person-day may fill some open role of shift s."""
        return bool(self.has_free[s]) or bool(int(self.shift_bits[s]) & ~barred)

    def allows(self, bits: int, role_type_id: int) -> bool:
        """A class (``bits`` on shift s) may fill ``role_type_id``."""
        bit = self.bit.get(role_type_id)
        return bit is None or bool(bits & bit)
