"""MemoryQueue specifics: its heap of schedules stays small under steady traffic."""

from __future__ import annotations

from klaviyo_kit.infra import MemoryQueue


def test_acked_items_do_not_pile_up_in_the_schedule(clock):
    queue = MemoryQueue(clock=clock, sleep=clock.sleep)
    waiting = [queue.enqueue(f"w{n}", delay=3600) for n in range(3)]
    for n in range(20_000):
        queue.enqueue(n)
        [item] = queue.reserve(visibility_timeout=30)
        assert item.payload == n
        assert queue.ack(item.receipt)
    assert len(queue._heap) < 10_000
    clock.advance(3600)
    got = queue.reserve(visibility_timeout=30, max_items=10)
    assert [i.id for i in got] == waiting
