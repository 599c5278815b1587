"""Drawing: which waiting events are drawn together, and how long a topic rests."""

from __future__ import annotations

from collections import deque

import pytest

from app.realtime import saturation
from app.realtime.drawing import (
    register_coalescing_renderer,
    register_renderer,
    rest_after,
    take_batch,
    unregister_renderer,
)
from app.realtime.live_event import LiveEvent


def _event(event_id: int, topic: str, type: str = "station.opened") -> LiveEvent:
    return LiveEvent(event_id, 1, topic, type, {})


def test_a_batch_takes_the_waiting_events_of_one_topic_and_keeps_every_topics_order() -> None:
    async def draw(events: list[LiveEvent]) -> str:
        return ""

    ops, station = "t:1:e:1:ops", "t:1:station:1"
    register_coalescing_renderer("station.opened", draw)
    try:
        waiting = deque(
            [
                _event(1, ops),
                _event(2, station, "test.happened"),
                _event(3, ops),
                _event(4, ops, "test.happened"),  # not drawn by the same renderer
                _event(5, ops),  # so this one must wait behind it
                _event(6, station, "test.happened"),
            ]
        )
        assert [e.id for e in take_batch(waiting)] == [1, 3]
        assert [e.id for e in waiting] == [2, 4, 5, 6]
        assert [e.id for e in take_batch(waiting)] == [2]  # JSON: one at a time
        assert [e.id for e in take_batch(waiting)] == [4]
        assert [e.id for e in take_batch(waiting)] == [5]
        assert [e.id for e in take_batch(waiting)] == [6]
        # A resting topic waits; the others go; nothing to take while all rest.
        waiting = deque([_event(9, ops), _event(10, station, "test.happened"), _event(11, ops)])
        assert [e.id for e in take_batch(waiting, {ops})] == [10]
        assert take_batch(waiting, {ops}) == []
        assert [e.id for e in waiting] == [9, 11]
        # A renderer that does not coalesce draws each event alone.
        register_renderer("station.opened", lambda event: draw([event]))
        waiting = deque([_event(7, ops), _event(8, ops)])
        assert [e.id for e in take_batch(waiting)] == [7]
    finally:
        unregister_renderer("station.opened")


def test_a_rest_is_in_proportion_to_the_drawing_and_bounded() -> None:
    async def draw(events: list[LiveEvent]) -> str:
        return ""

    register_coalescing_renderer("station.opened", draw, share=0.25, max_rest_seconds=0.5)
    try:
        batch = [_event(1, "t:1:e:1:ops")]
        assert rest_after(batch, 0.01) == pytest.approx(0.03)
        assert rest_after(batch, 1.0) == 0.5
        assert rest_after([_event(2, "t:1:e:1:ops", "test.happened")], 1.0) == 0.0
        # A saturated process rests its drawings longer; what goes as JSON never rests.
        assert rest_after(batch, 0.01, busy=True) == saturation.BUSY_REST_SECONDS
        assert rest_after([_event(2, "t:1:e:1:ops", "test.happened")], 1.0, busy=True) == 0.0
        with pytest.raises(ValueError):
            register_coalescing_renderer("station.opened", draw, share=0)
    finally:
        unregister_renderer("station.opened")
