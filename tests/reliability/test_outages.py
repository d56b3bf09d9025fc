"""Redis crashes and Klaviyo goes down mid-run: every event tracked is stored once, none is lost.

A producer thread keeps tracking events through an ``EventSender`` on a ``RedisQueue`` while
the test first SIGKILLs Redis and starts it again, then takes the sandbox's HTTP server away
for several circuit-breaker cool-downs and serves it again on the same port. The producer
retries what ``track`` refused with a documented error (``BackendUnavailableError`` while Redis
is down, ``QueueFullError`` while Klaviyo is down and the bounded queue fills), so every event
it was handed is queued in the end; it stops once both outages are over.

Redis runs with an append-only file. Every write reaches that file before Redis replies (with
``--appendfsync no`` only the fsync is left to the OS, and ``always`` would cost a disk flush per
enqueue, ack and release), so whatever Redis acknowledged survives its process being killed:
"nothing lost" is a claim about the kit, not luck. (A power loss is not simulated.)
The sandbox keeps its account in this process; only its server stops, as Klaviyo's data
outlives an outage of its API.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from tests._redis_server import RedisServer, find_redis_server

from klaviyo_kit import KlaviyoClient, KlaviyoSettings, errors
from klaviyo_kit.errors import BackendUnavailableError, KlaviyoError, QueueFullError
from klaviyo_kit.infra import RedisQueue
from klaviyo_kit.resilience import BaseHooks, CircuitBreaker
from klaviyo_kit.sandbox import FaultPlan, Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from klaviyo_kit.resilience import BreakerChange, RequestEnd, RetryScheduled
    from klaviyo_kit.sandbox import SandboxServer
    from klaviyo_kit.services import EventSender

pytestmark = pytest.mark.redis

KEY = "pk_" + "o5" * 17
DURABLE = ("--appendonly", "yes", "--appendfsync", "no")
MAX_PENDING = 500
"""The queue's bound: reached within a second or two of Klaviyo being down."""
COOL_DOWN = 0.5
KLAVIYO_DOWN = 3.0
"""Seconds the sandbox's server stays down at least: six cool-downs."""
REDIS_DOWN = 1.0
VISIBILITY = 3.0
"""Outlasts one bulk request with its retries, as ``EventSender`` requires: refused and dropped
connections fail at once, so 3 attempts 0.1 s and 0.2 s apart take about 0.3 s (only a hang,
none injected here, would wait for the 2 s timeout)."""
ALL_DROPPED = FaultPlan(drop=1.0)
"""While Klaviyo is down: ``SandboxServer.close()`` stops accepting connections, but requests on
a kept-alive connection are still answered, so those get their connection closed instead."""
PACE = 0.002
"""Seconds between two events the producer tracks (a few hundred events a second)."""
DEADLINE = 30.0
"""Seconds any single wait may take before the test fails."""
SETTINGS = KlaviyoSettings(
    private_key=KEY,
    timeout=2.0,
    retry={"attempts": 3, "wait_initial": 0.1, "wait_max": 0.2},
    rate_limit={"enabled": False},
)  # the sandbox here enforces no rate limits either: this test is about outages


@pytest.fixture
def durable_redis() -> Iterator[RedisServer]:
    """A private ``redis-server`` that keeps its data across a crash (see the module docs)."""
    if find_redis_server() is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("redis-server is required under CI=true (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    with RedisServer(args=DURABLE) as server:
        yield server


class Recorder(BaseHooks):
    """What the client's pipeline reports: the errors of attempts, and breaker changes."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.opened = 0

    def on_request_end(self, event: RequestEnd) -> None:
        if event.error is not None:
            self.errors.append(event.error)

    def on_retry(self, event: RetryScheduled) -> None:
        self.errors.append(event.error)

    def on_breaker_change(self, event: BreakerChange) -> None:
        self.opened += event.new == "open"


class Producer:
    """Track numbered events until told to stop, retrying each one ``track`` refused."""

    def __init__(self, sender: EventSender) -> None:
        self.sender = sender
        self.tracked = 0
        self.refused: list[Exception] = []
        self.unexpected: list[Exception] = []
        self.enough = threading.Event()  # finish the event at hand, then stop
        self.abandon = threading.Event()  # stop now (the test failed)
        self.thread = threading.Thread(target=self._run, name="producer", daemon=True)

    def refused_by(self, kind: type[Exception]) -> bool:
        return any(isinstance(exc, kind) for exc in self.refused)

    def _run(self) -> None:
        while not self.enough.is_set():
            self._track(self.tracked)
            self.tracked += 1
            time.sleep(PACE)

    def _track(self, n: int) -> None:
        while not self.abandon.is_set():
            try:
                # A fixed unique_id: an enqueue retried after a lost reply is the same event.
                self.sender.track("Outage", f"p{n % 40}@example.com", {"n": n}, unique_id=f"o{n}")
            except (BackendUnavailableError, QueueFullError) as exc:
                self.refused.append(exc)
            except Exception as exc:  # noqa: BLE001 - collected, and the test fails on it
                self.unexpected.append(exc)
            else:
                return
            time.sleep(0.05)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE} s: {what}"
        time.sleep(0.02)


def not_kit_errors(records: list[logging.LogRecord]) -> list[object]:
    """Exceptions the kit logged (with a traceback or as an argument) outside its own tree."""
    found: list[object] = []
    for record in records:
        if record.exc_info is not None:
            found.append(record.exc_info[1])
        found.extend(arg for arg in record.args or () if isinstance(arg, BaseException))
    return [exc for exc in found if not isinstance(exc, KlaviyoError)]


def crash_redis(redis: RedisServer, producer: Producer, sandbox: Sandbox) -> None:
    """SIGKILL Redis, keep it down a while, start it again; return once all works again."""
    redis.stop(kill=True)
    wait_for(lambda: producer.refused_by(BackendUnavailableError), "refused: Redis is down")
    time.sleep(REDIS_DOWN)  # the outage's length, not an assertion
    redis.start()
    tracked, delivered = producer.tracked, len(sandbox.account.events)
    wait_for(lambda: producer.tracked > tracked + 100, "tracking again after Redis is back")
    wait_for(
        lambda: len(sandbox.account.events) > delivered + 100,
        "delivering again after Redis is back",
    )


def take_klaviyo_down(
    sandbox: Sandbox,
    server: SandboxServer,
    producer: Producer,
    recorder: Recorder,
    jobs: RedisQueue,
) -> SandboxServer:
    """Stop the sandbox's server for several cool-downs, serve it again on the same port."""
    # The producer can only go on tracking during the outage if the queue has room when it
    # starts: the backlog of the Redis outage must have drained first.
    wait_for(lambda: jobs.size() < MAX_PENDING // 2, "room in the queue before Klaviyo goes down")
    server.close()  # new connections are refused; kept-alive ones would still be answered,
    sandbox.set_faults(ALL_DROPPED)  # so they are closed on their next request
    down_at, tracked = time.monotonic(), producer.tracked
    wait_for(
        lambda: recorder.opened >= 2 and time.monotonic() - down_at >= KLAVIYO_DOWN,
        "the breaker opened, half-opened and opened again while Klaviyo is down",
    )
    sandbox.set_faults(None)
    again = sandbox.serve(port=server.port)
    assert producer.tracked > tracked, "the producer kept tracking while Klaviyo was down"
    delivered = len(sandbox.account.events)
    wait_for(
        lambda: len(sandbox.account.events) > delivered + 100,
        "delivering again after Klaviyo is back",
    )
    return again


def assert_only_kit_errors(
    producer: Producer,
    recorder: Recorder,
    records: list[logging.LogRecord],
    crashed: list[threading.ExceptHookArgs],
) -> None:
    """Nothing the producer, the pipeline, the sender's logs or a thread saw was foreign."""
    assert producer.unexpected == []
    kinds = {type(exc) for exc in producer.refused}
    assert kinds == {BackendUnavailableError, QueueFullError}, producer.refused[:5]
    kit_names = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    assert set(recorder.errors) <= kit_names, set(recorder.errors) - kit_names
    assert all(issubclass(getattr(errors, name), KlaviyoError) for name in recorder.errors)
    ours = [record for record in records if record.name.startswith("klaviyo_kit")]
    assert not_kit_errors(ours) == []
    assert [r.getMessage() for r in ours if "unexpected" in r.getMessage()] == []
    assert crashed == []


def test_events_survive_a_redis_crash_and_a_klaviyo_outage(
    durable_redis: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    crashed: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", crashed.append)
    caplog.set_level(logging.WARNING, logger="klaviyo_kit")
    sandbox = Sandbox(seed=5, api_key=KEY, rate_limits=False)
    server = sandbox.serve()
    stored = sandbox.account.events
    recorder = Recorder()
    breaker = CircuitBreaker(cool_down=COOL_DOWN, hooks=recorder)
    settings = SETTINGS.model_copy(update={"base_url": server.url})
    jobs = RedisQueue(
        durable_redis.url,
        name=f"outage-{uuid.uuid4().hex}",
        max_size=MAX_PENDING,
        block_timeout=0.05,
    )
    client = KlaviyoClient(settings, breaker=breaker, hooks=[recorder])
    producer = Producer(client.events.background(jobs, visibility_timeout=VISIBILITY))
    try:
        producer.thread.start()
        wait_for(lambda: len(stored) >= 200, "events delivered before the outages")
        crash_redis(durable_redis, producer, sandbox)
        server = take_klaviyo_down(sandbox, server, producer, recorder, jobs)
        producer.enough.set()
        producer.thread.join(timeout=DEADLINE)
        assert not producer.thread.is_alive()
        assert producer.sender.flush(timeout=DEADLINE), f"{jobs.size()} events still queued"
        stats = producer.sender.stats
        dead = producer.sender.dead_letters()
    finally:
        producer.abandon.set()
        client.close()
        server.close()
        jobs.close()

    counts = Counter(record.attributes["properties"]["n"] for record in list(stored.values()))
    expected = range(producer.tracked)
    assert sorted(counts) == list(expected), f"lost: {sorted(set(expected) - set(counts))[:10]}"
    assert [n for n, k in counts.items() if k > 1] == [], "stored twice"
    assert producer.tracked >= 500
    assert dead == []
    assert stats.dead_lettered == 0
    assert stats.retried > 0, "deliveries failed while Klaviyo was down"
    assert breaker.state == "closed"
    assert_only_kit_errors(producer, recorder, caplog.records, crashed)
