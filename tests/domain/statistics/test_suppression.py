"""Small groups kept out of the statistics: no group of 1 to 4 people is shown, and none
can be worked out by subtracting the groups shown from the total."""

from __future__ import annotations

import itertools

import pytest

from app.domain.statistics.suppression import SMALLEST_GROUP, suppress_small


def _candidates(shown: list[int | None], total: int | None) -> list[tuple[int, ...]]:
    """Every split of the total that agrees with what is shown, as a reader would try
    them: a hidden group holds 1 or more (0 too when everything is hidden, zeros with
    it); an unknown total anything up to 60 more than the groups shown."""
    hidden = [i for i, count in enumerate(shown) if count is None]
    known = sum(count for count in shown if count is not None)
    totals = [total] if total is not None else range(known, known + 60)
    least = 0 if total is None else 1
    found = []
    for each in totals:
        for values in itertools.product(range(least, each - known + 1), repeat=len(hidden)):
            if sum(values) == each - known:
                found.append(values)
    return found


def test_it_shows_groups_of_five_or_more_as_they_are() -> None:
    found = suppress_small([12, 5, 0, 40])
    assert found.counts == [12, 5, 0, 40] and found.total == 57


def test_it_hides_a_small_group_and_the_smallest_other_so_the_total_does_not_give_it_away() -> None:
    found = suppress_small([30, 3, 12, 0])
    # 3 alone would be 45 - 30 - 12: the 12 is hidden with it.
    assert found.counts == [30, None, None, 0]
    assert found.total == 45


def test_it_hides_more_until_the_hidden_groups_hold_five_together() -> None:
    found = suppress_small([1, 1, 2, 9, 30])
    assert found.counts == [None, None, None, None, 30]
    assert found.total == 43


def test_two_small_groups_that_hold_five_together_are_enough() -> None:
    found = suppress_small([2, 3, 20])
    assert found.counts == [None, None, 20]


def test_when_everyone_is_in_one_small_group_nothing_is_shown() -> None:
    # [3, 0, 0] with the total shown (or known from elsewhere) would say "all 3 are A".
    found = suppress_small([3, 0, 0])
    assert found.counts == [None, None, None] and found.total is None
    assert found.hidden == 3


def test_when_all_together_are_fewer_than_five_nothing_is_shown() -> None:
    found = suppress_small([2, 1, 0])
    assert found.counts == [None, None, None] and found.total is None


def test_nothing_to_hide_in_an_empty_population() -> None:
    found = suppress_small([0, 0, 0])
    assert found.counts == [0, 0, 0] and found.total == 0


@pytest.mark.parametrize(
    "counts",
    [
        [30, 3, 12, 0],
        [1, 1, 2, 9, 30],
        [2, 3, 20],
        [4, 4, 50, 7],
        [4, 100],
        [1, 4, 0, 0, 6],
        [3, 0, 0],
        [2, 1, 0],
        [0, 4, 5, 5, 5],
    ],
)
def test_no_small_group_can_be_worked_out_from_what_is_shown(counts: list[int]) -> None:
    found = suppress_small(counts)
    for index, count in enumerate(counts):
        if 0 < count < SMALLEST_GROUP:
            assert found.counts[index] is None
    hidden = [i for i, c in enumerate(found.counts) if c is None]
    if not hidden:
        return
    candidates = _candidates(found.counts, found.total)
    assert tuple(counts[i] for i in hidden) in candidates
    for position, index in enumerate(hidden):
        # Every hidden group could hold more than one value: none is pinned down.
        assert len({values[position] for values in candidates}) > 1, (counts, index)
