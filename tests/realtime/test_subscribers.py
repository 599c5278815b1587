"""A socket's bounded queue, and the recent ids it remembers."""

from __future__ import annotations

import asyncio

from app.realtime.subscribers import Delivery, RecentIds, Replay, Subscriber


async def test_a_subscriber_queues_until_full_then_drops_and_its_sender_stops() -> None:
    subscriber = Subscriber(tenant_id=1, queue_size=2)
    sender = asyncio.create_task(subscriber.next())
    await asyncio.sleep(0)
    assert not sender.done()  # nothing queued: the sender waits
    first = Delivery((1,), "one")
    assert subscriber.offer(first)
    assert await sender is first
    assert subscriber.offer(Delivery((2,), "two"))
    assert subscriber.offer(Delivery((3,), "three"))
    assert not subscriber.offer(Delivery((4,), "four"))  # the third waiting: too many
    assert subscriber.ended.done() and subscriber.fell_behind
    # What it did not send is forgotten, and its sender is told to stop.
    assert await subscriber.next() is None
    assert not subscriber.offer(Delivery((5,), "five"))


async def test_a_subscriber_puts_items_ahead_of_those_queued_later_within_its_bound() -> None:
    subscriber = Subscriber(tenant_id=1, queue_size=4)
    subscriber.offer(error := Delivery((), "error"))
    mark = subscriber.queued
    subscriber.offer(live := Delivery((7,), "live"))
    answer, replay = Delivery((), "subscribed"), Replay(frozenset({"t"}), 5)
    assert subscriber.put_at(mark, answer, replay)
    assert [await subscriber.next() for _ in range(4)] == [error, answer, replay, live]
    assert subscriber.queued == 0
    subscriber.offer(live)
    subscriber.offer(live)
    assert not subscriber.put_at(0, answer, replay, answer)  # five would wait: too many
    assert subscriber.fell_behind and await subscriber.next() is None


async def test_a_subscriber_ended_by_its_connection_has_not_fallen_behind() -> None:
    subscriber = Subscriber(tenant_id=1)
    sender = asyncio.create_task(subscriber.next())
    await asyncio.sleep(0)
    subscriber.end()
    assert await sender is None
    assert subscriber.ended.done() and not subscriber.fell_behind


def test_recent_ids_forget_the_oldest_beyond_their_size() -> None:
    recent = RecentIds(8)
    for event_id in [*range(1, 11), 5]:
        recent.add(event_id)
    assert all(event_id in recent for event_id in range(1, 11))  # within a quarter more
    recent.add(11)
    assert len(recent) == 8
    assert [event_id for event_id in range(1, 12) if event_id in recent] == list(range(4, 12))
