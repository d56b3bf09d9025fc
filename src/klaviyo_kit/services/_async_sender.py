"""The async background event sender: a task on the caller's event loop.

The twin of :class:`~klaviyo_kit.services.EventSender` for ``AsyncKlaviyoClient``: ``await
sender.track(...)`` validates and queues (it waits only while a bounded queue is full), a task on
the same loop sends bulk requests through the async client, and ``await sender.aclose()`` flushes
and stops it. Nothing blocks the loop: a network queue is called from worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from klaviyo_kit.errors import BackendUnavailableError, QueueFullError
from klaviyo_kit.infra import MemoryQueue
from klaviyo_kit.services._async_delivery import AsyncDeliveryWorker, QueueCalls
from klaviyo_kit.services._delivery import POLL
from klaviyo_kit.services._event_batches import MAX_BULK_EVENTS
from klaviyo_kit.services._event_inputs import (
    EventInput,
    TrackedEvent,
    as_event,
    prepare_event,
    prepare_events,
)
from klaviyo_kit.services._orders import Order, as_order, order_event
from klaviyo_kit.services._pacing import WindowPacer
from klaviyo_kit.services._sender import (
    BULK_LIMITS,
    MAX_BACKLOG,
    VISIBILITY_TIMEOUT,
    Tally,
    check_sender_args,
    event_fields,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping
    from datetime import datetime
    from types import TracebackType

    from pydantic import JsonValue
    from typing_extensions import Self

    from klaviyo_kit.infra import DeadLetter, JobQueue
    from klaviyo_kit.operations import Limits
    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services._inputs import ProfileInput
    from klaviyo_kit.services._sender import SenderStats

__all__ = ["AsyncEventSender"]

_log = logging.getLogger("klaviyo_kit")


class AsyncEventSender:
    """Queue events and deliver them from a task on the running loop in paced bulk requests.

    Get one from ``async_client.events.background()`` (inside a coroutine); it is an async
    context manager, and the client's ``aclose()`` closes it too. Close it before the loop ends:
    unlike the thread of :class:`~klaviyo_kit.services.EventSender`, a task cannot run at
    interpreter exit, so events still in the default in-memory queue would be lost.

    Args:
        send: Sends one ``bulk_create_events`` body through the async client (awaited).
        queue: Where events wait; ``None`` creates a :class:`~klaviyo_kit.infra.MemoryQueue`
            bounded by ``max_backlog``, whose events a crash of this process loses. A
            :class:`~klaviyo_kit.infra.RedisQueue` keeps them across restarts and machines.
        batch_size: Most events per request (1 to 1,000).
        linger: Seconds to wait for a fuller batch before sending a partial one.
        limits: Pace requests under these limits; ``None`` leaves pacing to the pipeline.
        visibility_timeout: Seconds a reserved batch stays hidden from other workers; see
            :class:`~klaviyo_kit.services.EventSender` for the trade-off.
        close_timeout: Seconds ``aclose()`` waits for the queue to drain by default.
        max_backlog: Most events the default in-memory queue holds; ``track`` then waits up to
            ``backlog_timeout`` seconds for room and raises ``QueueFullError``.
        backlog_timeout: Seconds ``track`` waits for room in a full default queue.
        clock: Monotonic seconds for pacing; inject a fake in tests.
        sleep: Async waits for pacing and for the pauses while Klaviyo fails; inject a fake in
            tests. ``None`` waits in real time, and ``aclose()`` cuts a pause short.
        now: The current UTC time, given to events without one.

    Raises:
        ValueError: If ``batch_size``, ``linger`` or ``max_backlog`` is out of range.
        RuntimeError: If no event loop is running (create it inside a coroutine).
    """

    def __init__(
        self,
        send: Callable[[JsonDict], Awaitable[None]],
        queue: JobQueue | None = None,
        *,
        batch_size: int = MAX_BULK_EVENTS,
        linger: float = 0.2,
        limits: Limits | None = BULK_LIMITS,
        visibility_timeout: float = VISIBILITY_TIMEOUT,
        close_timeout: float = 30.0,
        max_backlog: int = MAX_BACKLOG,
        backlog_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        """Start the sender's task on the running loop."""
        check_sender_args(batch_size, linger, max_backlog)
        loop = asyncio.get_running_loop()  # RuntimeError outside a coroutine, before any work
        self._owns_queue = queue is None
        # The own queue never blocks the loop: when full, ``track`` waits here, asynchronously.
        self.queue: JobQueue = queue if queue is not None else MemoryQueue(max_size=max_backlog)
        self._calls = QueueCalls(self.queue)
        self._backlog_timeout = backlog_timeout
        self._visibility = visibility_timeout
        self._close_timeout = close_timeout
        self._now = now
        self._tally = Tally()
        self._closed = False
        self._worker = AsyncDeliveryWorker(
            send,
            self.queue,
            batch_size=batch_size,
            linger=linger,
            visibility_timeout=visibility_timeout,
            pacer=WindowPacer(limits, clock=clock) if limits else None,
            count=self._tally.add,
            asleep=sleep,
        )
        self._task = loop.create_task(self._worker.run(), name="klaviyo-kit-events")

    @property
    def stats(self) -> SenderStats:
        """The sender's counters so far."""
        return self._tally.stats()

    @property
    def running(self) -> bool:
        """Whether the sender's task is still delivering (``False`` once closed)."""
        return not self._task.done()

    async def track(
        self,
        metric: str,
        profile: ProfileInput | Mapping[str, object] | str,
        properties: Mapping[str, JsonValue] | None = None,
        *,
        value: float | None = None,
        value_currency: str | None = None,
        time: datetime | None = None,
        unique_id: str | None = None,
    ) -> TrackedEvent:
        """Validate an event and queue it; see :meth:`klaviyo_kit.services.Events.track`.

        Raises:
            InvalidInputError: Before queueing, naming the offending field.
            RuntimeError: If the sender is closed.
            klaviyo_kit.errors.QueueFullError: If a bounded queue stays full.
        """
        fields = event_fields(metric, profile, properties, value, value_currency, time, unique_id)
        return await self.track_event(as_event(fields, ""))

    async def track_event(self, event: EventInput | Mapping[str, object]) -> TrackedEvent:
        """Validate one :class:`EventInput` (or mapping of its fields) and queue it."""
        attributes, receipt = prepare_event(as_event(event), self._now())
        await self._enqueue(attributes)
        return receipt

    async def track_purchase(self, order: Order | Mapping[str, object]) -> TrackedEvent:
        """Queue a "Placed Order" event; see :meth:`klaviyo_kit.services.Events.track_purchase`."""
        return await self.track_event(order_event(as_order(order)))

    async def track_many(
        self, events: Iterable[EventInput | Mapping[str, object]]
    ) -> list[TrackedEvent]:
        """Validate every event first (``events[i].field`` names a bad one), then queue them."""
        prepared = prepare_events(events, self._now())
        for attributes, _ in prepared:
            await self._enqueue(attributes)
        return [receipt for _, receipt in prepared]

    async def _enqueue(self, attributes: JsonDict) -> None:
        if self._closed:
            raise RuntimeError("this AsyncEventSender is closed; create a new one")
        if not self._owns_queue:
            await self._calls(self.queue.enqueue, attributes)
        else:
            deadline = time.monotonic() + self._backlog_timeout
            while True:
                try:
                    self.queue.enqueue(attributes)
                    break
                except QueueFullError:
                    if time.monotonic() >= deadline:
                        raise
                    await asyncio.sleep(POLL)
        self._tally.add(enqueued=1)
        self._worker.wake.set()

    async def dead_letters(self) -> list[DeadLetter]:
        """Return the queue's dead letters (events that failed permanently, with the reason)."""
        return await self._calls(self.queue.dead_letters)

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was sent or dead-lettered.

        Args:
            timeout: Most seconds to wait; ``None`` waits as long as ``close_timeout``.

        Returns:
            ``True`` if the queue drained, ``False`` if time ran out first.
        """
        limit = self._close_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        self._worker.hurry.set()
        self._worker.wake.set()
        try:
            while await self._calls(self.queue.size) > 0:
                if self._task.done() or time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(min(POLL / 5, max(deadline - time.monotonic(), 0.0)))
            return True
        finally:
            self._worker.hurry.clear()

    async def aclose(self, timeout: float | None = None) -> None:
        """Flush (up to ``timeout`` s, default ``close_timeout``), stop the task; idempotent.

        Events still queued stay in a durable queue for the next sender; with the default
        in-memory queue they are lost and a warning says how many. If the queue's server is
        unreachable, a warning says so instead of an error.
        """
        if self._closed:
            return
        self._closed = True
        try:
            drained = await self.flush(timeout)
        except BackendUnavailableError as exc:
            _log.warning("event sender closed without draining its queue: %s", exc)
            drained = True  # nothing more can be said about the queue
        self._worker.stop.set()
        self._worker.wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._visibility)
        except asyncio.TimeoutError:
            self._task.cancel()
        if not drained:
            left = await self._calls(self.queue.size)
            _log.warning("event sender closed with %d events still queued", left)
        if self._owns_queue:
            self.queue.close()

    async def __aenter__(self) -> Self:
        """Use the sender as an async context manager that closes (and flushes) it on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the sender."""
        await self.aclose()
