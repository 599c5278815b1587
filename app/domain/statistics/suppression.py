"""Small groups of people kept out of the statistics.

A count of people in a group of 1 to 4 (an age group, a legal sex) is not shown: with so
few, a reader who knows someone in the group learns something about them. Hiding the
small group alone is not enough when the total is known (shown beside it, or elsewhere
on the page): total minus the groups shown gives the hidden one back. So one more group
is hidden, the smallest shown, and more until at least two are hidden and together hold
at least as many as the threshold; then neither one hidden group nor their sum names a
group under it. When no such set exists (all the people are in one small group, or
all groups together are fewer than the threshold) every group and the total are hidden.
A group of 0 is shown otherwise: it tells nothing about anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The fewest people a shown group may hold.
SMALLEST_GROUP = 5


@dataclass(frozen=True)
class Suppressed:
    """Counts as they may be shown: None where hidden."""

    counts: list[int | None]
    total: int | None

    @property
    def hidden(self) -> int:
        return sum(count is None for count in self.counts)


def suppress_small(counts: Sequence[int], smallest: int = SMALLEST_GROUP) -> Suppressed:
    """``counts`` with every group under ``smallest`` (but 0) hidden, and as many more
    (the smallest first) as keep them from being worked out from the total."""
    hidden = {index for index, count in enumerate(counts) if 0 < count < smallest}
    while hidden and not (len(hidden) > 1 and sum(counts[i] for i in hidden) >= smallest):
        shown = [
            (count, index) for index, count in enumerate(counts) if index not in hidden and count
        ]
        if not shown:
            return Suppressed([None] * len(counts), None)
        hidden.add(min(shown)[1])
    return Suppressed(
        [None if index in hidden else count for index, count in enumerate(counts)], sum(counts)
    )
