"""One contract suite for every JobQueue backend: in-process memory and the real Redis."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from klaviyo_kit.errors import QueueFullError
from klaviyo_kit.infra import DeadLetter, JobQueue, MemoryQueue

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# Redis times visibility with the server clock, so its cases really wait; keep the waits short.
TICK = 0.3


@dataclass
class Backend:
    make: Callable[..., JobQueue]
    advance: Callable[[float], None]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, clock, unique) -> Iterator[Backend]:
    made: list[JobQueue] = []
    if request.param == "memory":

        def make_memory(**options: Any) -> JobQueue:
            options.setdefault("clock", clock)
            options.setdefault("sleep", clock.sleep)
            queue = MemoryQueue(**options)
            made.append(queue)
            return queue

        yield Backend(make_memory, clock.advance)
    else:
        from klaviyo_kit.infra import RedisQueue

        url = request.getfixturevalue("redis_url")
        request.getfixturevalue("redis_cleanup")(f"{{{unique}")

        def make_redis(**options: Any) -> JobQueue:
            options.pop("clock", None)
            queue = RedisQueue(url, prefix=unique, poll_interval=0.01, **options)
            made.append(queue)
            return queue

        yield Backend(make_redis, lambda seconds: time.sleep(seconds + 0.02))
    for queue in made:
        queue.close()


def test_is_a_job_queue(backend):
    assert isinstance(backend.make(), JobQueue)


def test_enqueue_reserve_ack_round_trips_json(backend):
    queue = backend.make()
    payload = {"profile": "p1", "n": 12345678901234567, "x": 0.1, "tags": ["a", None, True]}
    item_id = queue.enqueue(payload)
    assert queue.size() == 1
    [item] = queue.reserve(visibility_timeout=30)
    assert (item.id, item.payload, item.attempts, item.key) == (item_id, payload, 1, None)
    assert queue.size() == 1, "a reserved item is still pending until acked"
    assert queue.reserve(visibility_timeout=30) == []
    assert queue.ack(item.receipt)
    assert not queue.ack(item.receipt), "a second ack is refused"
    assert queue.size() == 0


def test_payload_must_be_json(backend):
    queue = backend.make()
    not_json: Any = {"when": object()}
    with pytest.raises(TypeError):
        queue.enqueue(not_json)
    assert queue.size() == 0


def test_reserve_takes_a_batch_in_fifo_order(backend):
    queue = backend.make()
    ids = [queue.enqueue(n) for n in range(5)]
    backend.advance(0.01)
    got = queue.reserve(visibility_timeout=30, max_items=3)
    assert [item.payload for item in got] == [0, 1, 2]
    assert [item.id for item in got] == ids[:3]
    assert len(queue.reserve(visibility_timeout=30, max_items=10)) == 2


def test_idempotency_key_dedupes_while_pending(backend):
    queue = backend.make()
    first = queue.enqueue({"v": 1}, key="sync:p1")
    assert queue.enqueue({"v": 2}, key="sync:p1") == first
    assert queue.size() == 1
    [item] = queue.reserve(visibility_timeout=30)
    assert item.key == "sync:p1"
    assert item.payload == {"v": 1}
    assert queue.enqueue({"v": 3}, key="sync:p1") == first, "still pending while reserved"
    assert queue.ack(item.receipt)
    second = queue.enqueue({"v": 4}, key="sync:p1")
    assert second != first


def test_delay_hides_an_item_until_due(backend):
    queue = backend.make()
    queue.enqueue("later", delay=TICK)
    assert queue.reserve(visibility_timeout=30) == []
    assert queue.size() == 1
    backend.advance(TICK)
    assert [i.payload for i in queue.reserve(visibility_timeout=30)] == ["later"]


def test_reserve_waits_for_an_item(backend):
    queue = backend.make()
    assert queue.reserve(visibility_timeout=30, wait=TICK / 2) == []
    queue.enqueue("soon", delay=TICK / 2)
    assert [i.payload for i in queue.reserve(visibility_timeout=30, wait=10)] == ["soon"]


def test_visibility_timeout_returns_an_unacked_item(backend):
    queue = backend.make()
    queue.enqueue("job")
    [first] = queue.reserve(visibility_timeout=TICK)
    assert queue.reserve(visibility_timeout=TICK) == []
    backend.advance(TICK)
    [second] = queue.reserve(visibility_timeout=30)
    assert (second.id, second.attempts) == (first.id, 2)
    assert not queue.ack(first.receipt), "the first worker's receipt is stale"
    assert not queue.nack(first.receipt, error="late")
    assert queue.ack(second.receipt)
    assert queue.size() == 0


def test_nack_retries_after_the_delay(backend):
    queue = backend.make(max_attempts=3)
    queue.enqueue("job")
    [item] = queue.reserve(visibility_timeout=30)
    assert queue.nack(item.receipt, error="HTTP 503", retry_in=TICK)
    assert not queue.ack(item.receipt), "a nacked receipt is spent"
    assert queue.reserve(visibility_timeout=30) == []
    backend.advance(TICK)
    [again] = queue.reserve(visibility_timeout=30)
    assert again.attempts == 2


def test_release_returns_an_item_without_using_an_attempt(backend):
    queue = backend.make(max_attempts=2)
    queue.enqueue({"n": 1})
    for _ in range(5):  # far more releases than max_attempts: none of them counts
        [item] = queue.reserve(visibility_timeout=30)
        assert item.attempts == 1
        assert queue.release(item.receipt, delay=TICK)
        assert not queue.release(item.receipt)  # the receipt is stale now
        assert queue.reserve(visibility_timeout=30) == []  # hidden for the delay
        backend.advance(TICK)
    [item] = queue.reserve(visibility_timeout=30)
    assert queue.nack(item.receipt, error="boom", retry_in=0)
    [item] = queue.reserve(visibility_timeout=30)
    assert item.attempts == 2
    assert queue.nack(item.receipt, error="boom again", retry_in=0)
    assert [d.error for d in queue.dead_letters()] == ["boom again"]


def test_default_retry_delay_is_a_function_of_attempts(backend):
    seen: list[int] = []

    def delay(attempts: int) -> float:
        seen.append(attempts)
        return 0.0

    queue = backend.make(retry_delay=delay)
    queue.enqueue("job")
    [item] = queue.reserve(visibility_timeout=30)
    queue.nack(item.receipt, error="boom")
    [again] = queue.reserve(visibility_timeout=30)
    assert seen == [1]
    assert again.attempts == 2


def test_max_attempts_moves_an_item_to_dead_letters(backend):
    queue = backend.make(max_attempts=2)
    item_id = queue.enqueue({"profile": "p9"}, key="k9")
    for attempt in (1, 2):
        [item] = queue.reserve(visibility_timeout=30)
        assert item.attempts == attempt
        assert queue.nack(item.receipt, error=f"failure {attempt}", retry_in=0)
    assert queue.size() == 0
    assert queue.reserve(visibility_timeout=30) == []
    [dead] = queue.dead_letters()
    assert isinstance(dead, DeadLetter)
    assert (dead.id, dead.payload, dead.error, dead.attempts, dead.key) == (
        item_id,
        {"profile": "p9"},
        "failure 2",
        2,
        "k9",
    )
    assert dead.failed_at.tzinfo is not None
    assert queue.enqueue("new", key="k9") != item_id, "a dead letter frees its key"


def test_max_attempts_is_readable(backend):
    assert backend.make(max_attempts=3).max_attempts == 3


def test_nack_dead_buries_at_once_with_the_reason(backend):
    queue = backend.make(max_attempts=5)
    item_id = queue.enqueue({"event": "bad"}, key="k-dead")
    keep = queue.enqueue("fine")
    [item, other] = queue.reserve(visibility_timeout=30, max_items=2)
    assert queue.nack(item.receipt, error="400: value is not a number", dead=True)
    assert not queue.nack(item.receipt, error="again", dead=True), "the receipt is spent"
    assert queue.size() == 1
    [dead] = queue.dead_letters()
    assert (dead.id, dead.payload, dead.error, dead.attempts, dead.key) == (
        item_id,
        {"event": "bad"},
        "400: value is not a number",
        1,
        "k-dead",
    )
    backend.advance(TICK)
    assert queue.reserve(visibility_timeout=30) == [], "a dead letter is never handed out"
    assert queue.enqueue("new", key="k-dead") != item_id, "a dead letter frees its key"
    assert queue.ack(other.receipt)
    assert other.id == keep
    assert queue.replay_dead_letters([item_id]) == 1
    [back] = [i for i in queue.reserve(visibility_timeout=30, max_items=5) if i.id == item_id]
    assert back.attempts == 1


def test_nack_refuses_a_retry_delay_for_a_dead_letter(backend):
    queue = backend.make()
    queue.enqueue("job")
    [item] = queue.reserve(visibility_timeout=30)
    with pytest.raises(ValueError, match="retry_in and dead"):
        queue.nack(item.receipt, error="e", retry_in=1, dead=True)
    assert queue.dead_letters() == []
    assert queue.ack(item.receipt), "the refused nack changed nothing"


def test_a_stale_dead_nack_changes_nothing(backend):
    queue = backend.make()
    queue.enqueue("job")
    [first] = queue.reserve(visibility_timeout=TICK)
    backend.advance(TICK)
    [second] = queue.reserve(visibility_timeout=30)
    assert not queue.nack(first.receipt, error="late", dead=True)
    assert queue.dead_letters() == []
    assert queue.ack(second.receipt)


def test_a_worker_that_never_answers_dead_letters_the_item(backend):
    queue = backend.make(max_attempts=1)
    queue.enqueue("poison")
    assert len(queue.reserve(visibility_timeout=TICK)) == 1
    backend.advance(TICK)
    assert queue.reserve(visibility_timeout=30) == []
    [dead] = queue.dead_letters()
    assert dead.attempts == 1
    assert "visibility timeout" in dead.error


def test_replay_and_purge_dead_letters(backend):
    queue = backend.make(max_attempts=1)
    ids = [queue.enqueue(n, key=f"k{n}") for n in range(3)]
    for item in queue.reserve(visibility_timeout=30, max_items=3):
        queue.nack(item.receipt, error="bad")
    assert [d.id for d in queue.dead_letters()] == ids
    assert queue.replay_dead_letters([ids[0], "unknown"]) == 1
    assert queue.replay_dead_letters([]) == 0
    [item] = queue.reserve(visibility_timeout=30)
    assert (item.id, item.attempts, item.key) == (ids[0], 1, "k0")
    assert queue.enqueue("dup", key="k0") == ids[0], "a replayed item holds its key again"
    assert queue.ack(item.receipt)
    assert queue.purge_dead_letters([ids[1]]) == 1
    assert [d.id for d in queue.dead_letters()] == [ids[2]]
    queue.enqueue("holder", key="k2")
    assert queue.replay_dead_letters() == 1
    assert queue.size() == 2
    assert queue.purge_dead_letters() == 0
    assert queue.dead_letters() == []


def test_a_full_queue_refuses_with_a_clear_error_and_loses_nothing(backend):
    queue = backend.make(max_size=3)
    ids = [queue.enqueue(n) for n in range(3)]
    with pytest.raises(QueueFullError, match="full"):
        queue.enqueue(3)
    assert queue.size() == 3
    [item] = queue.reserve(visibility_timeout=30)
    assert queue.ack(item.receipt)
    ids.append(queue.enqueue(3))
    got = queue.reserve(visibility_timeout=30, max_items=10)
    assert [i.payload for i in got] == [1, 2, 3]
    assert {item.id, *(i.id for i in got)} == set(ids)


def test_a_full_queue_with_block_timeout_waits_for_room(backend, clock):
    queue = backend.make(max_size=1, block_timeout=60, clock=time.monotonic, sleep=time.sleep)
    queue.enqueue("first")
    added: list[str] = []
    producer = threading.Thread(target=lambda: added.append(queue.enqueue("second")))
    producer.start()
    producer.join(TICK)
    assert producer.is_alive(), "the producer waits while the queue is full"
    assert added == []
    [item] = queue.reserve(visibility_timeout=30)
    assert queue.ack(item.receipt)
    producer.join(30)
    assert len(added) == 1
    assert [i.payload for i in queue.reserve(visibility_timeout=30)] == ["second"]


def test_block_timeout_ends_in_queue_full(backend):
    queue = backend.make(max_size=1, block_timeout=TICK)
    queue.enqueue("first")
    with pytest.raises(QueueFullError, match="after waiting"):
        queue.enqueue("second")
    assert queue.size() == 1


def test_malformed_receipts_are_refused(backend):
    queue = backend.make()
    queue.enqueue("job")
    assert not queue.ack("nonsense")
    assert not queue.ack("")
    assert not queue.nack("x.y", error="e")
    assert queue.size() == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"visibility_timeout": 0}, "visibility_timeout"),
        ({"visibility_timeout": 1, "max_items": 0}, "max_items"),
        ({"visibility_timeout": 1, "wait": -1}, "wait"),
    ],
)
def test_reserve_rejects_bad_arguments(backend, options, message):
    with pytest.raises(ValueError, match=message):
        backend.make().reserve(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_size": 0}, "max_size"),
        ({"block_timeout": -1}, "block_timeout"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_queue_rejects_bad_options(backend, options, message):
    with pytest.raises(ValueError, match=message):
        backend.make(**options)
