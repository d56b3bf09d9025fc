"""Deliver one batch of queued events and say when to deliver again: the engines' shared logic.

Web processes put prepared events on a durable queue (:func:`enqueue_events`, microseconds, no
request to Klaviyo). A worker task calls :func:`deliver_batch`: it reserves up to
``batch_size`` events, sends them in bulk create requests through the client, acks what
Klaviyo accepted and sorts every failure with the background sender's own
:class:`~klaviyo_kit.services._delivery.Triage` (retry with a delay, release without using an
attempt, or dead-letter with the reason). The outcome's ``countdown`` tells the engine when to
run the task again: never asleep in a worker slot, always re-queued with a countdown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Final

from klaviyo_kit.jobs._job import utcnow
from klaviyo_kit.services._bulk_send import bulk_sender
from klaviyo_kit.services._delivery import Triage, deliver, screen, settle
from klaviyo_kit.services._event_batches import MAX_BULK_EVENTS
from klaviyo_kit.services._event_inputs import prepare_events

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime

    from klaviyo_kit.client import KlaviyoClient
    from klaviyo_kit.infra import JobQueue
    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services import EventInput, TrackedEvent

__all__ = [
    "BACKEND_RETRY",
    "DeliveryOutcome",
    "client_sender",
    "deliver_batch",
    "enqueue_events",
]

BACKEND_RETRY: Final = 5.0
"""Seconds before a delivery task runs again when the queue's server was unreachable."""
VISIBILITY_TIMEOUT: Final = 60.0
"""Seconds a reserved batch stays hidden (longer than one batch's requests with retries)."""


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one delivery task did, and when the engine should run it again.

    Attributes:
        reserved: Events taken from the queue.
        sent: Events Klaviyo accepted (acked).
        retried: Events put back on the queue (retried or released).
        dead_lettered: Events that became dead letters, with their reason.
        requests: Bulk create requests made.
        throttled: Whether a throttle or an open breaker put events back without an attempt.
        countdown: Seconds until the task should run again: ``0.0`` at once (more events
            wait), more when Klaviyo is throttling or failing, ``None`` when the queue is empty.
    """

    reserved: int = 0
    sent: int = 0
    retried: int = 0
    dead_lettered: int = 0
    requests: int = 0
    throttled: bool = False
    countdown: float | None = None

    def as_dict(self) -> dict[str, object]:
        """The outcome as a JSON-ready dict (a task's result)."""
        return asdict(self)


def client_sender(client: KlaviyoClient) -> Callable[[JsonDict], None]:
    """Send one bulk create body through ``client`` (its limiter, breaker and retries)."""
    return bulk_sender(client.events)


def enqueue_events(
    queue: JobQueue,
    events: Iterable[EventInput | Mapping[str, object]],
    *,
    now: Callable[[], datetime] = utcnow,
) -> list[TrackedEvent]:
    """Validate every event, fix its time and ``unique_id``, and put it on ``queue``.

    This is what a web process does instead of calling Klaviyo; a worker's delivery task sends
    the events in bulk later. Resending is safe: each event carries its ``unique_id``.

    Returns:
        A receipt per event, in order.

    Raises:
        klaviyo_kit.errors.InvalidInputError: Before anything is queued, naming the bad event.
        klaviyo_kit.errors.QueueFullError: If a bounded queue is full.
    """
    prepared = prepare_events(events, now())
    for attributes, _ in prepared:
        queue.enqueue(attributes)
    return [receipt for _, receipt in prepared]


class _Counts:
    def __init__(self) -> None:
        self.values = {"sent": 0, "retried": 0, "dead_lettered": 0, "requests": 0}

    def add(self, **deltas: int) -> None:
        for name, delta in deltas.items():
            self.values[name] += delta


def deliver_batch(
    send: Callable[[JsonDict], None],
    queue: JobQueue,
    *,
    batch_size: int = MAX_BULK_EVENTS,
    visibility_timeout: float = VISIBILITY_TIMEOUT,
) -> DeliveryOutcome:
    """Reserve up to ``batch_size`` events, send them in bulk, and settle every one.

    Args:
        send: Sends one ``bulk_create_events`` body (see :func:`client_sender`).
        queue: The queue web processes put events on.
        batch_size: Most events reserved (1 to 1,000 per request).
        visibility_timeout: Seconds the batch stays hidden from other workers; after a crash
            its events are delivered again that much later.

    Returns:
        What was done, and the countdown before the next delivery.

    Raises:
        klaviyo_kit.errors.BackendUnavailableError: If the queue's server is unreachable
            (run again after :data:`BACKEND_RETRY` seconds).
        ValueError: If ``batch_size`` is out of range.
    """
    if not 1 <= batch_size <= MAX_BULK_EVENTS:
        raise ValueError(f"batch_size must be 1 to {MAX_BULK_EVENTS}, got {batch_size!r}")
    batch = queue.reserve(visibility_timeout=visibility_timeout, max_items=batch_size)
    if not batch:
        return DeliveryOutcome()
    counts = _Counts()
    triage = Triage(None)
    ready, bad = screen(batch)
    if bad is not None:
        counts.add(**settle(queue, bad))
    deliver(send, queue, triage, ready, counts.add)
    pause = triage.take_pause()
    countdown = pause if pause > 0 else (0.0 if queue.size() > 0 else None)
    return DeliveryOutcome(
        reserved=len(batch), throttled=triage.released, countdown=countdown, **counts.values
    )
