"""Background mode: enqueue, flush, dead letters, close, pacing; memory and Redis queues."""

from __future__ import annotations

import inspect
import os
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import (
    BackendUnavailableError,
    BadRequestError,
    ErrorDetail,
    InvalidInputError,
    QueueFullError,
    ServerError,
)
from klaviyo_kit.infra import MemoryQueue
from klaviyo_kit.operations import Limits
from klaviyo_kit.resilience import CircuitBreaker
from klaviyo_kit.sandbox import FaultPlan, Sandbox
from klaviyo_kit.services import AsyncEvents, Events, EventSender
from klaviyo_kit.services._event_inputs import prepare_events

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "pk_" + "a" * 34
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
REDIS_URL = os.environ.get("KLAVIYO_KIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=1)


@pytest.fixture
def client(sandbox) -> Iterator[KlaviyoClient]:
    # One attempt per request: these tests are about the sender's own retries through the queue.
    settings = KlaviyoSettings(private_key=KEY, retry={"attempts": 1})
    with KlaviyoClient(settings, transport=sandbox.transport()) as c:
        yield c


def test_enqueue_then_flush_makes_events_visible(client, sandbox):
    sender = client.events.background()
    receipts = [sender.track("Clicked", f"u{i % 10}@example.com", {"n": i}) for i in range(25)]
    assert sender.flush(timeout=30)
    assert len(sandbox.account.events) == 25
    stored = {record.attributes["unique_id"] for record in sandbox.account.events.values()}
    assert stored == {receipt.unique_id for receipt in receipts}
    stats = sender.stats
    assert stats.enqueued == stats.sent == 25
    assert stats.requests >= 1
    assert sender.queue.size() == 0
    sender.close()


@pytest.mark.parametrize(("count", "requests"), [(999, 1), (1000, 1), (1001, 2)])
def test_background_batches_at_most_1000_events_per_request(client, sandbox, count, requests):
    queue = MemoryQueue()
    items = [
        {"metric": "Opened", "profile": f"u{i % 9}@example.com", "properties": {"n": i}}
        for i in range(count)
    ]
    # Fill the queue before the sender starts, so the batches are what the limits make them.
    for attributes in _prepared(items):
        queue.enqueue(attributes)
    sender = client.events.background(queue, linger=0)
    assert sender.flush(timeout=60)
    assert sender.stats.requests == requests
    assert sender.stats.sent == count
    assert len(sandbox.account.events) == count
    sender.close()


def _prepared(items: list[dict[str, Any]]) -> list[Any]:
    return [attributes for attributes, _ in prepare_events(items, datetime.now(timezone.utc))]


def test_track_purchase_and_track_many_in_background(client, sandbox):
    with client.events.background() as sender:
        sender.track_purchase(
            {
                "order_id": "o-1",
                "profile": "ada@example.com",
                "items": [{"product_id": "p", "name": "Book", "quantity": 3, "price": 2}],
            }
        )
        sender.track_many([{"metric": "M", "profile": "bob@example.com", "time": WHEN}] * 2)
        sender.track_event({"metric": "N", "profile": {"external_id": "x-1"}})
    placed = [r for r in sandbox.account.events.values() if r.attributes["unique_id"] == "o-1"]
    assert placed[0].attributes["properties"]["ItemCount"] == 3
    assert len(sandbox.account.events) == 3  # the two identical M events share a unique_id


def test_invalid_input_raises_before_anything_is_queued(client):
    sender = client.events.background()
    with pytest.raises(InvalidInputError) as caught:
        sender.track("M", "nope")
    assert caught.value.field == "profile.email"
    with pytest.raises(InvalidInputError) as caught:
        sender.track_many([{"metric": "M", "profile": "a@example.com"}, {"metric": ""}])
    assert caught.value.field == "events[1].metric"
    assert sender.stats.enqueued == 0
    sender.close()


def raw_event(email: str, metric: str = "Clicked", **attributes: Any) -> dict[str, Any]:
    """Prepared attributes as a producer queued them (possibly an older, laxer version)."""
    return {
        "properties": {},
        "metric": {"data": {"type": "metric", "attributes": {"name": metric}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
        "unique_id": f"raw-{email}-{metric}",
        **attributes,
    }


def test_an_event_klaviyo_rejects_lands_in_dead_letters_with_the_reason(client, sandbox):
    queue = MemoryQueue(max_attempts=5)
    for i in range(3):
        queue.enqueue(raw_event(f"u{i}@example.com"))
    queue.enqueue(raw_event("bad@example.com", metric=""))  # Klaviyo: 400 naming this event
    queue.enqueue(raw_event("u9@example.com"))
    sender = client.events.background(queue)
    assert sender.flush(timeout=30)
    [dead] = sender.dead_letters()
    assert dead.payload == raw_event("bad@example.com", metric="")
    assert "Klaviyo API 400" in dead.error
    assert "name" in dead.error
    assert dead.attempts == 1, "a permanent failure is buried at once, not retried"
    assert len(sandbox.account.events) == 4  # every other event got through
    assert sender.stats.dead_lettered == 1
    sender.close()


def test_a_queued_event_of_the_wrong_shape_lands_in_dead_letters_alone(client, sandbox):
    # A laxer producer queued a value that is not a number: Klaviyo's 400 points at it (the kit
    # sends its documents as built, without the SDK's models), and only that event is dead.
    queue = MemoryQueue(max_attempts=5)
    sender = client.events.background(queue)
    for i in range(3):
        sender.track("Clicked", f"u{i}@example.com")
    queue.enqueue(raw_event("bad@example.com", value="twelve"))
    sender.track("Clicked", "u9@example.com")
    assert sender.flush(timeout=30)
    [dead] = sender.dead_letters()
    assert dead.payload == raw_event("bad@example.com", value="twelve")
    assert "400" in dead.error
    assert "'value' must be a number" in dead.error
    assert dead.attempts == 1
    assert len(sandbox.account.events) == 4
    sender.close()


def test_an_unreadable_payload_is_dead_lettered(client):
    queue = MemoryQueue(max_attempts=5)
    sender = client.events.background(queue)
    queue.enqueue(["not", "an", "event"])
    assert sender.flush(timeout=30)
    [dead] = sender.dead_letters()
    assert "not prepared event attributes" in dead.error
    assert dead.attempts == 1
    sender.close()


def test_an_authentication_failure_dead_letters_the_batch_for_replay():
    sandbox = Sandbox(seed=1, api_key="pk_" + "b" * 34)
    with KlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport()) as client:
        sender = client.events.background(MemoryQueue(max_attempts=5))
        sender.track("Clicked", "ada@example.com")
        sender.track("Clicked", "bob@example.com")
        assert sender.flush(timeout=30)
        dead = sender.dead_letters()
        assert len(dead) == 2
        assert all("401" in letter.error for letter in dead)
        assert [letter.attempts for letter in dead] == [1, 1]
        assert sender.stats.requests == 1, "a permanent failure is not sent again"


def test_transient_failures_are_retried_until_they_succeed(client, sandbox):
    sandbox.set_faults(FaultPlan(seed=3, statuses={503: 1.0}))
    sender = client.events.background(MemoryQueue(retry_delay=0.01))
    sender.track("Clicked", "ada@example.com")
    deadline = time.monotonic() + 10
    while sender.stats.retried < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sender.stats.retried >= 2
    sandbox.set_faults(None)
    assert sender.flush(timeout=30)
    assert len(sandbox.account.events) == 1
    assert sender.dead_letters() == []
    sender.close()


class FakeClock:
    """Seconds that move only when something sleeps (thread-safe enough for one worker)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        self.slept += max(seconds, 0.0)
        time.sleep(0)  # let the test thread run


def test_a_batch_that_fails_while_others_succeed_dead_letters_after_max_attempts(sandbox):
    clock = FakeClock()
    queue = MemoryQueue(max_attempts=2, clock=clock, sleep=clock.sleep)
    bodies: list[str] = []

    def send(body: dict[str, Any]) -> None:
        text = str(body)
        bodies.append(text)
        if "poison" in text:
            raise ServerError(500, operation="bulk_create_events")

    sender = EventSender(send, queue, batch_size=1, linger=0, limits=None, sleep=clock.sleep)
    sender.track("Clicked", "p@example.com", {"poison": True})
    sender.track("Clicked", "g@example.com", {"n": 1})
    assert sender.flush(timeout=30)
    [dead] = sender.dead_letters()
    assert "ServerError" in dead.error
    assert dead.attempts == 2
    assert sum("poison" in b for b in bodies) == 2
    assert sender.stats.sent == 1
    sender.close()


def test_an_outage_uses_no_attempts_and_nothing_is_dead_lettered(sandbox):
    sandbox.set_faults(FaultPlan(seed=3, statuses={500: 1.0}))
    clock = FakeClock()
    queue = MemoryQueue(max_attempts=2, clock=clock, sleep=clock.sleep)
    settings = KlaviyoSettings(private_key=KEY, retry={"attempts": 1})
    breaker = CircuitBreaker(clock=clock)
    with KlaviyoClient(settings, transport=sandbox.transport(), breaker=breaker) as client:
        sender = client.events.background(queue, linger=0, sleep=clock.sleep)
        for n in range(50):
            sender.track("Clicked", "ada@example.com", {"n": n})
        deadline = time.monotonic() + 20
        while clock.slept < 600 and time.monotonic() < deadline:  # ten (fake) minutes down
            time.sleep(0.005)
        assert clock.slept >= 600
        assert sender.stats.requests >= 20  # many failed tries, far past max_attempts
        assert sender.stats.requests < 200  # it backed off instead of churning the backlog
        assert sender.dead_letters() == []
        assert queue.size() == 50  # the backlog is held
        sandbox.set_faults(None)
        assert sender.flush(timeout=30)
        assert len(sandbox.account.events) == 50  # each delivered once
        assert sender.dead_letters() == []


def test_a_429_pauses_the_sender_for_retry_after(client, sandbox):
    sandbox.set_faults(FaultPlan(seed=3, statuses={429: 1.0}))
    sender = client.events.background(MemoryQueue(max_attempts=50))
    sender.track("Clicked", "ada@example.com")
    deadline = time.monotonic() + 10
    while sender.stats.retried < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    sandbox.set_faults(None)
    assert sender.flush(timeout=30)
    assert len(sandbox.account.events) == 1
    sender.close()


def test_close_flushes_and_the_client_closes_its_senders(sandbox):
    client = KlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport())
    sender = client.events.background(linger=5.0)
    sender.track("Clicked", "ada@example.com")
    client.close()
    assert len(sandbox.account.events) == 1
    with pytest.raises(RuntimeError, match="closed"):
        sender.track("Clicked", "ada@example.com")
    sender.close()  # idempotent


def test_close_of_a_sender_as_context_manager_flushes(client, sandbox):
    with client.events.background(linger=5.0) as sender:
        for i in range(10):
            sender.track("Clicked", "ada@example.com", {"n": i})
    assert len(sandbox.account.events) == 10
    assert not sender._thread.is_alive()


def test_flush_says_false_when_time_runs_out_and_close_still_drains():
    release = threading.Event()
    bodies: list[object] = []

    def stuck(body: object) -> None:
        release.wait(5)
        bodies.append(body)

    queue = MemoryQueue()
    sender = EventSender(stuck, queue, linger=0)
    sender.track("Clicked", "ada@example.com")
    assert not sender.flush(timeout=0.05)
    assert queue.size() == 1
    release.set()
    sender.close(timeout=5)
    assert len(bodies) == 1
    assert queue.size() == 0


def _fail_when_marked(sent: list[int]) -> Any:
    """A Klaviyo stand-in answering 400 without a pointer when a marked event is in the body."""

    def send(body: Any) -> None:
        entries = body["data"]["attributes"]["events-bulk-create"]["data"]
        numbers = [
            event["attributes"]["properties"]["n"]
            for entry in entries
            for event in entry["attributes"]["events"]["data"]
        ]
        if any(n % 10 == 3 for n in numbers):
            raise BadRequestError(400, errors=(ErrorDetail(code="invalid", detail="bad n"),))
        sent.extend(numbers)

    return send


def test_a_400_that_names_no_event_is_isolated_by_halving():
    sent: list[int] = []
    queue = MemoryQueue(max_attempts=2)
    for n in range(16):
        queue.enqueue(_attributes(n))
    sender = EventSender(_fail_when_marked(sent), queue, linger=0, limits=None)
    assert sender.flush(timeout=30)
    assert sorted(sent) == [n for n in range(16) if n % 10 != 3]
    dead = sender.dead_letters()
    payloads: list[Any] = [d.payload for d in dead]
    assert sorted(p["properties"]["n"] for p in payloads) == [3, 13]
    assert all("bad n" in d.error for d in dead)
    sender.close()


def test_unknown_errors_are_retried_and_then_dead_lettered():
    def broken(body: object) -> None:
        raise RuntimeError("a bug in a custom send")  # not Klaviyo's outage: every try counts

    clock = FakeClock()
    queue = MemoryQueue(max_attempts=2, clock=clock, sleep=clock.sleep)
    sender = EventSender(broken, queue, linger=0, sleep=clock.sleep)
    sender.track("Clicked", "ada@example.com")
    assert sender.flush(timeout=30)
    assert len(sender.dead_letters()) == 1
    stats = sender.stats
    assert (stats.requests, stats.retried, stats.dead_lettered) == (2, 1, 1), (
        "the failure at the last attempt is a dead letter, not a retry"
    )
    sender.close()


def _attributes(n: int) -> dict[str, Any]:
    return {
        "properties": {"n": n},
        "metric": {"data": {"type": "metric", "attributes": {"name": "M"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": f"u{n}@example.com"}}},
        "unique_id": f"id-{n}",
    }


def test_options_are_checked():
    with pytest.raises(ValueError, match="batch_size"):
        EventSender(lambda body: None, batch_size=1001)
    with pytest.raises(ValueError, match="linger"):
        EventSender(lambda body: None, linger=-1)


def test_requests_are_paced_under_the_limits():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bodies: list[Any] = []
    queue = MemoryQueue()
    for n in range(5):
        queue.enqueue(_attributes(n))
    sender = EventSender(
        bodies.append,
        queue,
        batch_size=1,
        linger=0,
        limits=Limits(burst=2, steady=3),
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert sender.flush(timeout=30)
    assert len(bodies) == 5
    assert sender.stats.paced == pytest.approx(sum(slept))
    assert sum(slept) >= 60  # the 4th request waited for the 60 s window
    sender.close()


@pytest.fixture
def redis_queue() -> Iterator[Any]:
    redis = pytest.importorskip("redis")
    from klaviyo_kit.infra import RedisQueue

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    prefix = f"kk-events-test-{uuid.uuid4().hex}"
    queue = RedisQueue(REDIS_URL, prefix=prefix, max_attempts=5)
    yield queue
    queue.close()
    keys = list(connection.scan_iter(match=f"{{{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()


@pytest.mark.redis
def test_background_mode_over_a_redis_queue(client, sandbox, redis_queue):
    sender = client.events.background(redis_queue)
    for i in range(50):
        sender.track("Clicked", f"u{i % 5}@example.com", {"n": i})
    redis_queue.enqueue(raw_event("bad@example.com", metric=""))
    assert sender.flush(timeout=30)
    assert len(sandbox.account.events) == 50
    [dead] = sender.dead_letters()
    assert "'name' is a required field" in dead.error
    assert dead.attempts == 1, "buried at once by nack(dead=True), not after five attempts"
    sender.close()


def test_background_exposes_every_sender_option_with_the_same_defaults():
    sender_options = inspect.signature(EventSender).parameters
    for events in (Events, AsyncEvents):
        options = inspect.signature(events.background).parameters
        for name, parameter in sender_options.items():
            if name in {"send", "now"}:
                continue
            assert name in options, f"{events.__name__}.background lacks {name}"
            if name != "limits":  # a client's sender leaves pacing to the client's limiter
                assert options[name].default == parameter.default, name
    assert sender_options["visibility_timeout"].default <= 30  # crash recovery within 30 s


class RecordingQueue(MemoryQueue):
    """A real memory queue that remembers the visibility timeouts it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: set[float] = set()

    def reserve(self, *, visibility_timeout: float, max_items: int = 1, wait: float = 0) -> Any:
        self.timeouts.add(visibility_timeout)
        return super().reserve(
            visibility_timeout=visibility_timeout, max_items=max_items, wait=wait
        )


def test_background_passes_visibility_timeout_through(client, sandbox):
    queue = RecordingQueue()
    with client.events.background(queue, visibility_timeout=7.5, linger=0) as sender:
        sender.track("Clicked", "ada@example.com")
        assert sender.flush(timeout=30)
    assert queue.timeouts == {7.5}
    assert len(sandbox.account.events) == 1


def test_the_default_backlog_is_bounded_and_pushes_back_without_dropping():
    release = threading.Event()

    def slow(body: object) -> None:
        release.wait(10)

    sender = EventSender(slow, max_backlog=3, backlog_timeout=0.05, linger=0, limits=None)
    for n in range(3):  # one is in flight (not yet acknowledged, so it counts), two wait
        sender.track("Clicked", "ada@example.com", {"n": n})
        time.sleep(0.05)
    with pytest.raises(QueueFullError, match="not added"):
        sender.track("Clicked", "ada@example.com", {"n": 99})
    release.set()
    assert sender.flush(timeout=10)
    assert sender.stats.sent == 3
    sender.close()


class FailingAckQueue(MemoryQueue):
    """A queue whose third ack fails as a Redis outage would."""

    acks = 0

    def ack(self, receipt: str) -> bool:
        self.acks += 1
        if self.acks == 3:
            raise BackendUnavailableError("test queue", "connection refused")
        return super().ack(receipt)


def test_events_klaviyo_accepted_are_counted_even_when_an_ack_fails():
    sent: list[object] = []
    queue = FailingAckQueue()
    sender = EventSender(sent.append, queue, linger=0, limits=None, visibility_timeout=0.5)
    sender.track_many({"metric": "Clicked", "profile": f"u{n}@example.com"} for n in range(5))
    assert sender.flush(timeout=10)
    assert sender.stats.sent >= 5  # the unacked ones were resent (and counted) again
    sender.close()
