"""deliver_batch, the engines' shared delivery step, in process against the sandbox."""

from typing import Any

from tests.jobs._apps.demo import KEY
from tests.jobs._apps.engines import BAD_EVENT

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import MemoryQueue
from klaviyo_kit.jobs._delivery_task import client_sender, deliver_batch, enqueue_events
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.sandbox._faults import FaultPlan


def events(count: int, tag: str = "t") -> list[dict[str, object]]:
    return [
        {"metric": "Delivered", "profile": f"d{i}@example.com", "properties": {"tag": tag}}
        for i in range(count)
    ]


def client(sandbox: Sandbox, **settings: Any) -> KlaviyoClient:
    return KlaviyoClient(
        KlaviyoSettings(private_key=KEY, **settings), transport=sandbox.transport()
    )


def test_a_batch_is_sent_in_bulk_acked_and_the_countdown_says_more_wait():
    sandbox = Sandbox(seed=1)
    queue = MemoryQueue()
    receipts = enqueue_events(queue, events(5))
    assert len(receipts) == 5
    with client(sandbox) as c:
        first = deliver_batch(client_sender(c), queue, batch_size=3)
        assert (first.reserved, first.sent, first.requests, first.countdown) == (3, 3, 1, 0.0)
        second = deliver_batch(client_sender(c), queue, batch_size=3)
        assert (second.sent, second.countdown) == (2, None)  # empty: nothing to schedule
        assert deliver_batch(client_sender(c), queue).reserved == 0
    assert queue.size() == 0


def test_permanent_failures_become_dead_letters_with_the_reason():
    sandbox = Sandbox(seed=1)
    queue = MemoryQueue()
    enqueue_events(queue, events(2))
    queue.enqueue(BAD_EVENT)
    queue.enqueue("not an event")
    with client(sandbox) as c:
        outcome = deliver_batch(client_sender(c), queue)
    assert outcome.sent == 2
    assert outcome.dead_lettered == 2
    reasons = {str(d.payload): d.error for d in queue.dead_letters()}
    assert reasons["not an event"] == "payload is not prepared event attributes"
    assert "time" in reasons[str(BAD_EVENT)]


def test_the_limiter_deadline_releases_the_batch_with_a_countdown():
    sandbox = Sandbox(seed=1)
    queue = MemoryQueue(max_attempts=1)
    enqueue_events(queue, events(4))
    rate_limit = {"overrides": {"bulk_create_events": "1/s,60/m"}, "max_wait": 0.01}
    with client(sandbox, rate_limit=rate_limit) as c:
        assert deliver_batch(client_sender(c), queue, batch_size=2).sent == 2
        throttled = deliver_batch(client_sender(c), queue, batch_size=2)
    assert throttled.throttled
    assert throttled.sent == 0
    assert throttled.retried == 2
    assert throttled.countdown is not None
    assert 0.5 < throttled.countdown <= 1.0
    assert queue.dead_letters() == []  # released: no attempt used, even at max_attempts=1
    assert queue.size() == 2


def test_a_429_releases_the_batch_with_klaviyos_retry_after():
    sandbox = Sandbox(seed=1, faults=FaultPlan(seed=1, statuses={429: 1.0}))
    queue = MemoryQueue(max_attempts=1)
    enqueue_events(queue, events(3))
    with client(sandbox, retry={"attempts": 1}) as c:
        outcome = deliver_batch(client_sender(c), queue)
    assert outcome.throttled
    assert outcome.retried == 3
    assert outcome.countdown is not None
    assert outcome.countdown > 0
    assert queue.dead_letters() == []
