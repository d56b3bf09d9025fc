"""The async client's background sender is a task on the caller's loop and never blocks it."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import CircuitOpenError, QueueFullError, ServerError
from klaviyo_kit.infra import MemoryQueue
from klaviyo_kit.sandbox import FaultPlan, Sandbox
from klaviyo_kit.services import AsyncEventSender, EventSender

pytestmark = pytest.mark.anyio
KEY = "pk_" + "a" * 34


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_sender_is_a_task_on_the_callers_loop_and_the_client_closes_it():
    sandbox = Sandbox(seed=1)
    client = AsyncKlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport())
    sender = client.events.background()
    assert isinstance(sender, AsyncEventSender)
    assert sender._task.get_loop() is asyncio.get_running_loop()
    assert "klaviyo-kit-events" not in {t.name for t in threading.enumerate()}  # no thread
    await client.events.track("Direct", "ada@example.com")
    for i in range(30):
        await sender.track("Clicked", f"u{i % 4}@example.com", {"n": i})
    assert await sender.flush(30)
    assert len(sandbox.account.events) == 31
    await sender.track("Late", "ada@example.com")
    await client.aclose()  # flushes and stops the sender
    assert len(sandbox.account.events) == 32
    assert sender._task.done()
    with pytest.raises(RuntimeError, match="closed"):
        await sender.track("After", "ada@example.com")


def test_the_sender_needs_a_running_loop():
    async def send(body: dict[str, Any]) -> None:
        return None

    with pytest.raises(RuntimeError, match="no running event loop"):
        AsyncEventSender(send)


async def test_a_full_backlog_waits_without_blocking_the_loop_then_pushes_back():
    release = asyncio.Event()

    async def send(body: dict[str, Any]) -> None:
        await release.wait()

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    beat = asyncio.get_running_loop().create_task(ticker())
    async with AsyncEventSender(
        send, max_backlog=2, backlog_timeout=0.2, linger=0, limits=None
    ) as sender:
        for n in range(2):
            await sender.track("Clicked", "ada@example.com", {"n": n})
        before = ticks
        with pytest.raises(QueueFullError, match="not added"):
            await sender.track("Clicked", "ada@example.com", {"n": 99})
        assert ticks - before >= 10  # the loop ran while track waited for room
        release.set()
        assert await sender.flush(10)
    beat.cancel()
    assert sender.stats.sent == sender.stats.enqueued == 2


async def test_an_outage_uses_no_attempts_and_delivers_everything_once_after():
    now = [1_800_000_000.0]  # fake seconds, moved only by the sender's pauses
    down = True
    delivered: list[int] = []

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    async def send(body: dict[str, Any]) -> None:
        if down:
            if int(now[0]) % 3 == 0:
                raise CircuitOpenError("bulk_create_events", retry_in=30.0)
            raise ServerError(503, operation="bulk_create_events")
        for group in body["data"]["attributes"]["events-bulk-create"]["data"]:
            events = group["attributes"]["events"]["data"]
            delivered.extend(e["attributes"]["properties"]["n"] for e in events)

    queue = MemoryQueue(max_attempts=2, clock=lambda: now[0])
    sender = AsyncEventSender(send, queue, linger=0, limits=None, sleep=fake_sleep)
    for n in range(40):
        await sender.track("Clicked", "ada@example.com", {"n": n})
    start = now[0]
    while now[0] - start < 600:  # ten (fake) minutes of outage  # noqa: ASYNC110 - fake time
        await asyncio.sleep(0)
    assert sender.stats.requests >= 20
    assert await sender.dead_letters() == []
    assert queue.size() == 40  # the backlog is held
    down = False
    assert await sender.flush(10)
    await sender.aclose()
    assert sorted(delivered) == list(range(40))  # each delivered once
    assert await sender.dead_letters() == []


async def test_a_network_queue_is_called_off_the_loop():
    sandbox = Sandbox(seed=2)
    queue = _NotInProcess(MemoryQueue())
    async with AsyncKlaviyoClient(
        KlaviyoSettings(private_key=KEY), transport=sandbox.transport()
    ) as client:
        sender = client.events.background(queue, linger=0)
        for n in range(5):
            await sender.track("Clicked", "ada@example.com", {"n": n})
        assert await sender.flush(10)
    assert len(sandbox.account.events) == 5
    assert {"enqueue", "reserve", "ack", "size"} <= set(queue.calls)
    assert threading.get_ident() not in set().union(*queue.calls.values())


class _NotInProcess:
    """Forwards to a queue without being a ``MemoryQueue`` (as a Redis queue would be)."""

    def __init__(self, queue: MemoryQueue) -> None:
        self._queue = queue
        self.calls: dict[str, set[int]] = {}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._queue, name)
        if not callable(attribute):
            return attribute

        def noted(*args: Any, **kwargs: Any) -> Any:
            self.calls.setdefault(name, set()).add(threading.get_ident())
            return attribute(*args, **kwargs)

        return noted


def test_the_async_sender_twins_the_thread_sender():
    def public(cls: type) -> set[str]:
        names = {n for n in dir(cls) if not n.startswith("_")}
        return {"close" if n == "aclose" else n for n in names}

    assert public(EventSender) == public(AsyncEventSender)
    for name in public(EventSender) - {"stats", "running"}:
        twin = getattr(AsyncEventSender, "aclose" if name == "close" else name)
        assert inspect.iscoroutinefunction(twin), name
        sync = inspect.signature(getattr(EventSender, name)).parameters
        assert list(sync) == list(inspect.signature(twin).parameters), name
    sync_options = inspect.signature(EventSender).parameters
    async_options = inspect.signature(AsyncEventSender).parameters
    assert [(p.name, p.default) for p in sync_options.values()] == [
        (p.name, p.default) for p in async_options.values()
    ]


async def test_faults_through_the_async_client_end_with_every_event_stored_once():
    sandbox = Sandbox(
        seed=5, faults=FaultPlan(seed=5, statuses={500: 0.1, 503: 0.1}, cloudflare=0.05)
    )

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    settings = KlaviyoSettings(private_key=KEY, retry={"attempts": 1})
    async with AsyncKlaviyoClient(settings, transport=sandbox.transport(), sleep=no_sleep) as c:
        sender = c.events.background(MemoryQueue(max_attempts=50), batch_size=10, sleep=no_sleep)
        for n in range(200):
            await sender.track("Clicked", f"u{n % 7}@example.com", {"n": n})
        assert await sender.flush(30)
        assert await sender.dead_letters() == []
    numbers = sorted(e.attributes["properties"]["n"] for e in sandbox.account.events.values())
    assert numbers == list(range(200))
