"""The background event sender: enqueue in microseconds, deliver in paced bulk requests.

``track`` validates and prepares the event (time and ``unique_id`` fixed), then puts it on a
:class:`~klaviyo_kit.infra.JobQueue`. A daemon thread (``_delivery``) reserves up to 1,000
queued events, sends them with one bulk create request paced under the operation's burst and
steady limits, and acks them; failures are retried or dead-lettered with the reason.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

from klaviyo_kit.errors import BackendUnavailableError
from klaviyo_kit.infra import MemoryQueue
from klaviyo_kit.operations import Limits, operation_limits
from klaviyo_kit.services._delivery import POLL, DeliveryWorker
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

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from types import TracebackType

    from pydantic import JsonValue
    from typing_extensions import Self

    from klaviyo_kit.infra import DeadLetter, JobQueue
    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services._inputs import ProfileInput

__all__ = [
    "BULK_LIMITS",
    "MAX_BACKLOG",
    "VISIBILITY_TIMEOUT",
    "EventSender",
    "SenderStats",
    "Tally",
    "check_sender_args",
    "event_fields",
    "utcnow",
]

BULK_LIMITS: Final = operation_limits("bulk_create_events")
"""The bulk create operation's limits: 10 requests per second, 150 per minute."""
VISIBILITY_TIMEOUT: Final = 30.0
"""Default seconds before a crashed sender's reserved events are delivered again."""
MAX_BACKLOG: Final = 100_000
"""Default bound of a sender's own in-memory queue (about 100 MB of queued events at most)."""
_log = logging.getLogger("klaviyo_kit")


@dataclass(frozen=True, slots=True)
class SenderStats:
    """Counters of a sender since it started.

    Attributes:
        enqueued: Events put on the queue by this sender.
        sent: Events Klaviyo accepted (an event resent after a lost ack counts again).
        requests: Bulk create requests made (failed ones included).
        retried: Events put back on the queue after a transient failure.
        dead_lettered: Events that became dead letters: failing permanently, or transiently at
            their queue's ``max_attempts``-th attempt.
        paced: Seconds spent waiting for the rate limits.
    """

    enqueued: int = 0
    sent: int = 0
    requests: int = 0
    retried: int = 0
    dead_lettered: int = 0
    paced: float = 0.0


class Tally:
    """A sender's counters, added to from its worker and read as :class:`SenderStats`."""

    def __init__(self) -> None:
        """Start every counter at zero."""
        self._counts = dict.fromkeys(SenderStats.__slots__, 0.0)
        self._lock = threading.Lock()

    def add(self, **deltas: float) -> None:
        """Add to counters by name (``sent=3``)."""
        with self._lock:
            for name, delta in deltas.items():
                self._counts[name] += delta

    def stats(self) -> SenderStats:
        """The counters so far."""
        with self._lock:
            counts = dict(self._counts)
        paced = counts.pop("paced")
        return SenderStats(**{k: int(v) for k, v in counts.items()}, paced=paced)


def check_sender_args(batch_size: int, linger: float, max_backlog: int) -> None:
    """Refuse sender options out of range, naming the option.

    Raises:
        ValueError: If ``batch_size``, ``linger`` or ``max_backlog`` is out of range.
    """
    if not 1 <= batch_size <= MAX_BULK_EVENTS:
        raise ValueError(f"batch_size must be 1 to {MAX_BULK_EVENTS}, got {batch_size!r}")
    if linger < 0:
        raise ValueError(f"linger must not be negative, got {linger!r}")
    if max_backlog < 1:
        raise ValueError(f"max_backlog must be at least 1, got {max_backlog!r}")


def event_fields(  # noqa: PLR0917 - mirrors track's signature
    metric: str,
    profile: ProfileInput | Mapping[str, object] | str,
    properties: Mapping[str, JsonValue] | None,
    value: float | None,
    value_currency: str | None,
    time: datetime | None,
    unique_id: str | None,
) -> dict[str, object]:
    """The fields of ``track``'s arguments, as :class:`EventInput` reads them."""
    return {
        "metric": metric,
        "profile": profile,
        "properties": dict(properties or {}),
        "value": value,
        "value_currency": value_currency,
        "time": time,
        "unique_id": unique_id,
    }


def utcnow() -> datetime:
    """The current UTC time (what events without a time are given)."""
    return datetime.now(timezone.utc)


class EventSender:
    """Queue events and deliver them from a background thread in paced bulk requests.

    Get one from ``client.events.background()``; it is a context manager, and ``close()`` also
    runs at interpreter exit.

    Args:
        send: Sends one ``bulk_create_events`` body (through the client's pipeline).
        queue: Where events wait; ``None`` creates a :class:`~klaviyo_kit.infra.MemoryQueue`
            bounded by ``max_backlog``, whose events a crash of this process loses. A
            :class:`~klaviyo_kit.infra.RedisQueue` keeps them across restarts and machines.
        batch_size: Most events per request (1 to 1,000).
        linger: Seconds to wait for a fuller batch before sending a partial one.
        limits: Pace requests under these limits; ``None`` leaves pacing to the pipeline.
        visibility_timeout: Seconds a reserved batch stays hidden from other workers; after a
            crash its events are delivered again that much later. The default, 30 s, must
            outlast one batch's request with its retries: a batch still in flight when it ends
            is sent twice, which Klaviyo absorbs (each event's ``unique_id``) at the cost of a
            request. Lower it for faster crash recovery, raise it for slow retry policies.
        close_timeout: Seconds ``close()`` waits for the queue to drain by default.
        max_backlog: Most events the default in-memory queue holds; ``track`` then waits up to
            ``backlog_timeout`` seconds for room and raises ``QueueFullError`` (back-pressure:
            nothing is dropped). Ignored when ``queue`` is given (bound that queue instead).
        backlog_timeout: Seconds ``track`` waits for room in a full default queue.
        clock: Monotonic seconds for pacing; inject a fake in tests.
        sleep: Waits for pacing and for the pauses while Klaviyo fails; inject a fake in tests.
            ``None`` waits in real time, and ``close()`` cuts a pause short.
        now: The current UTC time, given to events without one.

    Raises:
        ValueError: If ``batch_size``, ``linger`` or ``max_backlog`` is out of range.
    """

    def __init__(
        self,
        send: Callable[[JsonDict], None],
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
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        """Start the sender thread."""
        check_sender_args(batch_size, linger, max_backlog)
        self._owns_queue = queue is None
        self.queue: JobQueue = (
            queue
            if queue is not None
            else MemoryQueue(max_size=max_backlog, block_timeout=backlog_timeout)
        )
        self._visibility = visibility_timeout
        self._close_timeout = close_timeout
        self._now = now
        self._tally = Tally()
        self._closed = False
        self._worker = DeliveryWorker(
            send,
            self.queue,
            batch_size=batch_size,
            linger=linger,
            visibility_timeout=visibility_timeout,
            pacer=WindowPacer(limits, clock=clock, sleep=sleep or time.sleep) if limits else None,
            count=self._tally.add,
            pause=sleep,
        )
        self._thread = threading.Thread(
            target=self._worker.run, name="klaviyo-kit-events", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    @property
    def stats(self) -> SenderStats:
        """The sender's counters so far."""
        return self._tally.stats()

    @property
    def running(self) -> bool:
        """Whether the sender's thread is still delivering (``False`` once closed)."""
        return self._thread.is_alive()

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
        """Validate an event and queue it; see :meth:`klaviyo_kit.services.Events.track`.

        Raises:
            InvalidInputError: Before queueing, naming the offending field.
            RuntimeError: If the sender is closed.
            klaviyo_kit.errors.QueueFullError: If a bounded queue stays full.
        """
        fields = event_fields(metric, profile, properties, value, value_currency, time, unique_id)
        return self.track_event(as_event(fields, ""))

    def track_event(self, event: EventInput | Mapping[str, object]) -> TrackedEvent:
        """Validate one :class:`EventInput` (or mapping of its fields) and queue it."""
        attributes, receipt = prepare_event(as_event(event), self._now())
        self._enqueue(attributes)
        return receipt

    def track_purchase(self, order: Order | Mapping[str, object]) -> TrackedEvent:
        """Queue a "Placed Order" event; see :meth:`klaviyo_kit.services.Events.track_purchase`."""
        return self.track_event(order_event(as_order(order)))

    def track_many(self, events: Iterable[EventInput | Mapping[str, object]]) -> list[TrackedEvent]:
        """Validate every event first (``events[i].field`` names a bad one), then queue them."""
        prepared = prepare_events(events, self._now())
        for attributes, _ in prepared:
            self._enqueue(attributes)
        return [receipt for _, receipt in prepared]

    def _enqueue(self, attributes: JsonDict) -> None:
        if self._closed:
            raise RuntimeError("this EventSender is closed; create a new one")
        self.queue.enqueue(attributes)
        self._tally.add(enqueued=1)

    def dead_letters(self) -> list[DeadLetter]:
        """Return the queue's dead letters (events that failed permanently, with the reason)."""
        return self.queue.dead_letters()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every queued event was sent or dead-lettered.

        Args:
            timeout: Most seconds to wait; ``None`` waits as long as ``close_timeout``.

        Returns:
            ``True`` if the queue drained, ``False`` if time ran out first.
        """
        limit = self._close_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        self._worker.hurry.set()
        try:
            while self.queue.size() > 0:
                if not self._thread.is_alive() or time.monotonic() >= deadline:
                    return False
                time.sleep(min(POLL / 5, max(deadline - time.monotonic(), 0.0)))
            return True
        finally:
            self._worker.hurry.clear()

    def close(self, timeout: float | None = None) -> None:
        """Flush (up to ``timeout`` s, default ``close_timeout``), stop the thread; idempotent.

        Events still queued stay in a durable queue for the next sender; with the default
        in-memory queue they are lost and a warning says how many. If the queue's server is
        unreachable, a warning says so (nothing is raised: this also runs at exit).
        """
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            drained = self.flush(timeout)
        except BackendUnavailableError as exc:  # at exit too: a warning, never a traceback
            _log.warning("event sender closed without draining its queue: %s", exc)
            drained = True  # nothing more can be said about the queue
        self._worker.stop.set()
        self._thread.join(timeout=self._visibility)
        if not drained:
            _log.warning("event sender closed with %d events still queued", self.queue.size())
        if self._owns_queue:
            self.queue.close()

    def __enter__(self) -> Self:
        """Use the sender as a context manager that closes (and flushes) it on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the sender."""
        self.close()
