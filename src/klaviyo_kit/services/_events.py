"""Events: track one, track a purchase, track many in bulk, or queue them for a background sender.

Every event carries a ``unique_id`` (given, the order id, or a content hash; see
``_event_inputs``), so a retried request never counts an event twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from klaviyo_kit.services._async_sender import AsyncEventSender
from klaviyo_kit.services._base import AsyncService, SyncService
from klaviyo_kit.services._event_batches import MAX_BULK_EVENTS, chunk_events
from klaviyo_kit.services._event_inputs import (
    EventInput,
    TrackedEvent,
    as_event,
    prepare_event,
    prepare_sized_events,
)
from klaviyo_kit.services._flow import Call, Flow
from klaviyo_kit.services._orders import Order, as_order, order_event
from klaviyo_kit.services._sender import (
    MAX_BACKLOG,
    VISIBILITY_TIMEOUT,
    EventSender,
    event_fields,
)
from klaviyo_kit.services._validate import json_bytes

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    from pydantic import JsonValue

    from klaviyo_kit.infra import JobQueue
    from klaviyo_kit.operations import Limits
    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services._base import AsyncRunner, Runner
    from klaviyo_kit.services._inputs import ProfileInput

__all__ = ["AsyncEvents", "Events", "TrackReport"]


@dataclass(frozen=True, slots=True)
class TrackReport:
    """The outcome of ``track_many``.

    Attributes:
        events: What was sent for each input event, in input order.
        requests: How many bulk create requests carried them.
    """

    events: tuple[TrackedEvent, ...]
    requests: int


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _bulk_flow(body: JsonDict) -> Flow[None]:
    # The kit's own validated document, sent as is: the SDK's request models would validate
    # and dump it again, most of the CPU of a bulk request (tests: the SDK's model accepts it).
    yield Call("events", "bulk_create_events", document=json_bytes(body))


class _EventsLogic:
    """The events service's logic, as flows shared by the sync and async services."""

    _now: Callable[[], datetime]

    def _track_flow(self, event: EventInput | Mapping[str, object]) -> Flow[TrackedEvent]:
        attributes, receipt = prepare_event(as_event(event, ""), self._now())
        body: JsonDict = {"data": {"type": "event", "attributes": attributes}}
        yield Call("events", "create_event", (body,))
        return receipt

    def _track_many_flow(
        self, events: Iterable[EventInput | Mapping[str, object]]
    ) -> Flow[TrackReport]:
        prepared = prepare_sized_events(events, self._now())
        requests = 0
        sized = ((i, attrs, size) for i, (attrs, _, size) in enumerate(prepared))
        for chunk in chunk_events(sized):
            yield from _bulk_flow(chunk.body())
            requests += 1
        return TrackReport(tuple(receipt for _, receipt, _ in prepared), requests)


class Events(_EventsLogic, SyncService):
    """``client.events``: track events one by one, in bulk, or from a background sender.

    Args:
        runner: The client that runs the calls.
        now: The current UTC time, given to events without one.
    """

    def __init__(self, runner: Runner, *, now: Callable[[], datetime] = _utcnow) -> None:
        """Bind the service to its client."""
        super().__init__(runner)
        self._now = now
        self._senders: list[EventSender] = []

    @property
    def senders(self) -> tuple[EventSender, ...]:
        """The background senders started by :meth:`background` and not yet closed."""
        return tuple(self._senders)

    def track(
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
        """Record that ``profile`` did ``metric`` (one ``create_event`` request).

        Args:
            metric: The metric's name, e.g. ``Viewed Product``.
            profile: Who: a :class:`ProfileInput`, a mapping of its fields, or an email.
            properties: Event properties (JSON values).
            value: A monetary value.
            value_currency: The value's ISO 4217 currency code.
            time: When it happened (timezone-aware); ``None`` means now.
            unique_id: Klaviyo's dedupe key; ``None`` derives one from the event's content
                and time, so a retried request is not counted twice.

        Returns:
            The event's metric, ``unique_id`` and time.

        Raises:
            InvalidInputError: Before any request: bad email, empty metric, a value that is not
                a number, a string over 100 KB, more than 300 properties.
            klaviyo_kit.errors.APIError: If Klaviyo refuses the event.

        Example:
            ```python
            client.events.track("Viewed Product", "ada@example.com", {"ProductID": "p1"})
            ```
        """
        fields = event_fields(metric, profile, properties, value, value_currency, time, unique_id)
        return self._run(self._track_flow(fields))

    def track_event(self, event: EventInput | Mapping[str, object]) -> TrackedEvent:
        """Track one :class:`EventInput` (or a mapping of its fields); see :meth:`track`."""
        return self._run(self._track_flow(event))

    def track_purchase(self, order: Order | Mapping[str, object]) -> TrackedEvent:
        """Track a "Placed Order" event with its items and item count.

        The order id is the event's ``unique_id``: tracking an order again records it once.

        Raises:
            InvalidInputError: Before any request, naming the field (``order.items.0.price``).
        """
        return self._run(self._track_flow(order_event(as_order(order))))

    def track_many(self, events: Iterable[EventInput | Mapping[str, object]]) -> TrackReport:
        """Track many events with bulk create requests (1,000 events and 5 MB at most each).

        Every event is validated before the first request; events of one profile share an
        entry of the request.

        Raises:
            InvalidInputError: For the first bad event, e.g. ``events[3].value: ...``.
            klaviyo_kit.errors.APIError: If Klaviyo refuses a request (earlier ones were sent;
                sending again is safe, each event keeps its ``unique_id``).
        """
        return self._run(self._track_many_flow(events))

    def background(
        self,
        queue: JobQueue | None = None,
        *,
        batch_size: int = MAX_BULK_EVENTS,
        linger: float = 0.2,
        limits: Limits | None = None,
        visibility_timeout: float = VISIBILITY_TIMEOUT,
        close_timeout: float = 30.0,
        max_backlog: int = MAX_BACKLOG,
        backlog_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> EventSender:
        """Start an :class:`EventSender` that queues events and sends them in bulk from a thread.

        ``client.close()`` closes (and flushes) every sender started here. Every option is the
        sender's own; see :class:`EventSender` for the trade-offs (crash recovery within
        ``visibility_timeout``, back-pressure at ``max_backlog``).

        Args:
            queue: Where events wait (default: a new in-memory queue of ``max_backlog``).
            batch_size: Most events per request.
            linger: Seconds to wait for a fuller batch.
            limits: Pace requests under these limits (``None``: leave it to the pipeline).
            visibility_timeout: Seconds before a crashed sender's events are sent again.
            close_timeout: Seconds ``close()`` waits for the queue to drain.
            max_backlog: Most events the default in-memory queue holds.
            backlog_timeout: Seconds ``track`` waits for room in a full default queue.
            clock: Monotonic seconds for pacing; inject a fake in tests.
            sleep: Waits for pacing and outage pauses; inject a fake in tests.

        Example:
            ```python
            sender = client.events.background()
            sender.track("Clicked", "ada@example.com")  # microseconds: only queued
            sender.flush()
            ```
        """
        sender = EventSender(
            lambda body: self._run(_bulk_flow(body)),
            queue,
            batch_size=batch_size,
            linger=linger,
            limits=limits,
            visibility_timeout=visibility_timeout,
            close_timeout=close_timeout,
            max_backlog=max_backlog,
            backlog_timeout=backlog_timeout,
            clock=clock,
            sleep=sleep,
            now=self._now,
        )
        self._senders.append(sender)
        return sender

    def close(self) -> None:
        """Close every background sender started by :meth:`background` (flushing each)."""
        senders, self._senders = self._senders, []
        for sender in senders:
            sender.close()


class AsyncEvents(_EventsLogic, AsyncService):
    """The async twin of :class:`Events` (same methods, awaited; the sender is a task)."""

    def __init__(self, runner: AsyncRunner, *, now: Callable[[], datetime] = _utcnow) -> None:
        """Bind the service to its async client."""
        super().__init__(runner)
        self._now = now
        self._senders: list[AsyncEventSender] = []

    @property
    def senders(self) -> tuple[AsyncEventSender, ...]:
        """The background senders started by :meth:`background` and not yet closed."""
        return tuple(self._senders)

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
        """Track one event; see :meth:`Events.track`."""
        fields = event_fields(metric, profile, properties, value, value_currency, time, unique_id)
        return await self._run(self._track_flow(fields))

    async def track_event(self, event: EventInput | Mapping[str, object]) -> TrackedEvent:
        """Track one :class:`EventInput`; see :meth:`Events.track_event`."""
        return await self._run(self._track_flow(event))

    async def track_purchase(self, order: Order | Mapping[str, object]) -> TrackedEvent:
        """Track a "Placed Order" event; see :meth:`Events.track_purchase`."""
        return await self._run(self._track_flow(order_event(as_order(order))))

    async def track_many(self, events: Iterable[EventInput | Mapping[str, object]]) -> TrackReport:
        """Track many events in bulk; see :meth:`Events.track_many`."""
        return await self._run(self._track_many_flow(events))

    def background(
        self,
        queue: JobQueue | None = None,
        *,
        batch_size: int = MAX_BULK_EVENTS,
        linger: float = 0.2,
        limits: Limits | None = None,
        visibility_timeout: float = VISIBILITY_TIMEOUT,
        close_timeout: float = 30.0,
        max_backlog: int = MAX_BACKLOG,
        backlog_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> AsyncEventSender:
        """Start an :class:`AsyncEventSender` on the running loop; see :meth:`Events.background`.

        Call it inside a coroutine. The task sends through this client on its own loop, and
        ``await sender.track(...)`` returns as soon as the event is queued. ``sleep`` is async.

        Raises:
            RuntimeError: If no event loop is running.
        """
        sender = AsyncEventSender(
            lambda body: self._run(_bulk_flow(body)),
            queue,
            batch_size=batch_size,
            linger=linger,
            limits=limits,
            visibility_timeout=visibility_timeout,
            close_timeout=close_timeout,
            max_backlog=max_backlog,
            backlog_timeout=backlog_timeout,
            clock=clock,
            sleep=sleep,
            now=self._now,
        )
        self._senders.append(sender)
        return sender

    async def aclose(self) -> None:
        """Close every background sender started by :meth:`background` (flushing each)."""
        senders, self._senders = self._senders, []
        for sender in senders:
            await sender.aclose()
