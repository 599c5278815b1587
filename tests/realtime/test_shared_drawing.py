"""Sockets that ask the hub for the same batch while it is being drawn share that one
drawing: every phone of a station replays the same gap at once after a process died
(bench --only costs: a station's fragment drawn for nearly every socket, not once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.realtime.broker import MemoryBroker
from app.realtime.drawing import register_coalescing_renderer, unregister_renderer
from app.realtime.hub import Hub
from app.realtime.live_event import LiveEvent

KIND = "test.shared"
TOPIC = "t:7:station:3"


def _events(*ids: int, tenant_id: int = 7, topic: str = TOPIC) -> list[LiveEvent]:
    return [LiveEvent(event_id, tenant_id, topic, KIND, {}) for event_id in ids]


class Renderer:
    """Draws the ids it was given, once let go; counts its drawings; may fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []
        self.go_on = asyncio.Event()
        self.fail = False

    async def __call__(self, events: list[LiveEvent]) -> str:
        self.calls.append(tuple(event.id for event in events))
        await self.go_on.wait()
        if self.fail:
            raise RuntimeError("drawing failed")
        return f"<div>{events[0].tenant_id}:{','.join(str(e.id) for e in events)}</div>"


@pytest.fixture
async def renderer() -> AsyncIterator[Renderer]:
    drawing = Renderer()
    register_coalescing_renderer(KIND, drawing)
    try:
        yield drawing
    finally:
        unregister_renderer(KIND)


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    broker = MemoryBroker()
    made = Hub(lambda: broker)
    try:
        yield made
    finally:
        await made.close()


async def _settled() -> None:
    for _turn in range(5):
        await asyncio.sleep(0)


async def test_sockets_asking_for_a_batch_being_drawn_share_its_drawing(
    hub: Hub, renderer: Renderer
) -> None:
    asked = [asyncio.create_task(hub.draw(_events(1, 2), "sv")) for _socket in range(10)]
    await _settled()
    renderer.go_on.set()
    answers = await asyncio.gather(*asked)
    assert renderer.calls == [(1, 2)]
    assert {answer[0].text for answer in answers} == {"<div>7:1,2</div>"}
    assert all(answer[0].event_ids == (1, 2) for answer in answers)


async def test_another_language_or_another_batch_is_drawn_apart(
    hub: Hub, renderer: Renderer
) -> None:
    asked = [
        asyncio.create_task(hub.draw(_events(1, 2), "sv")),
        asyncio.create_task(hub.draw(_events(1, 2), "da")),
        asyncio.create_task(hub.draw(_events(1), "sv")),
        asyncio.create_task(hub.draw(_events(5, tenant_id=8, topic="t:8:station:3"), "sv")),
    ]
    await _settled()
    renderer.go_on.set()
    answers = await asyncio.gather(*asked)
    assert sorted(renderer.calls) == [(1,), (1, 2), (1, 2), (5,)]
    assert answers[3][0].text == "<div>8:5</div>"


async def test_when_the_drawing_socket_leaves_the_others_draw_it_themselves(
    hub: Hub, renderer: Renderer
) -> None:
    first = asyncio.create_task(hub.draw(_events(1, 2), "sv"))
    await _settled()
    others = [asyncio.create_task(hub.draw(_events(1, 2), "sv")) for _socket in range(3)]
    await _settled()
    first.cancel()
    await _settled()
    renderer.go_on.set()
    answers = await asyncio.gather(*others)
    assert first.cancelled()
    # The first drawing was given up; one of the others drew it, once, for all three.
    assert renderer.calls == [(1, 2), (1, 2)]
    assert {answer[0].text for answer in answers} == {"<div>7:1,2</div>"}


@pytest.mark.allow_error_logs
async def test_a_failed_drawing_sends_each_event_as_json_to_all_that_waited(
    hub: Hub, renderer: Renderer
) -> None:
    renderer.fail = True
    asked = [asyncio.create_task(hub.draw(_events(1, 2), "sv")) for _socket in range(3)]
    await _settled()
    renderer.go_on.set()
    answers = await asyncio.gather(*asked)
    assert renderer.calls == [(1, 2)]
    for answer in answers:
        assert [delivery.event_ids for delivery in answer] == [(1,), (2,)]
        assert all(delivery.text.startswith("{") for delivery in answer)
