"""The background sender's worker: reserve a batch, send it in bulk, sort the failures.

:class:`Triage` decides (without I/O) what each failure means for the queue, as
:class:`Settle` and :class:`Resend` steps; :class:`DeliveryWorker` is the thread's loop that
carries them out, and ``_async_delivery`` the event loop's twin.

Transient failures (429, 5xx, transport, a Cloudflare challenge, an open breaker) go back on
the queue with a delay; permanent ones (a 4xx, data the SDK or Klaviyo refuses) become dead
letters with the reason. A 400 that points at some events dead-letters those alone and resends
the rest (each event's ``unique_id`` makes resending safe); a 400 that names none is narrowed
down by halving.

Waiting is not a delivery attempt. A throttle (429, the local limiter's deadline) or an open
breaker *releases* the batch, which costs none of its queue's ``max_attempts``, and so does every
further failure of an outage: only the first transient failure after a success counts. The
worker then pauses before it reserves again (the breaker's ``retry_in``, Klaviyo's
``Retry-After``, else capped exponential backoff), so an outage of any length fills no dead
letters and does not churn through the backlog; a batch that fails while Klaviyo answers others
still reaches its ``max_attempts`` and is dead-lettered with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final, Literal

from pydantic import ValidationError

from klaviyo_kit.errors import (
    APIError,
    BackendUnavailableError,
    CircuitOpenError,
    InvalidInputError,
    KlaviyoError,
    RateLimitError,
    RateLimitTimeoutError,
)
from klaviyo_kit.services._event_batches import chunk_events

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from klaviyo_kit.infra import JobQueue, Reserved
    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services._event_batches import BulkChunk
    from klaviyo_kit.services._pacing import WindowPacer

__all__ = [
    "DeliveryWorker",
    "Resend",
    "Settle",
    "Triage",
    "ack_all",
    "blamed_ids",
    "chunks",
    "deliver",
    "screen",
    "settle",
]

POLL: Final = 0.05
"""Seconds a reserve waits for work before checking for a stop."""
MAX_PAUSE: Final = 30.0
"""Longest pause between tries while Klaviyo fails (backoff doubles from 1 s up to this)."""
_BAD_REQUEST: Final = 400
_log = logging.getLogger("klaviyo_kit")


def _validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"rejected by the SDK before sending: {where}: {first['msg']}"


def blamed_ids(items: list[Reserved], chunk: BulkChunk, pointers: Iterable[str]) -> set[str]:
    """The ids of the queue items that error ``pointers`` into ``chunk``'s body point at."""
    return {items[tag].id for tag in chunk.tags_blamed_by(pointers)}


@dataclass(frozen=True, slots=True)
class Settle:
    """Queue operations for a group of reserved items.

    Attributes:
        items: The reserved items.
        action: ``dead`` (dead-letter with ``reason``), ``release`` (back after ``delay``, no
            attempt used) or ``retry`` (back after ``delay``, one attempt used; the last
            attempt dead-letters).
        reason: Why, kept with dead letters and failed attempts.
        delay: Seconds before released or retried items are visible again.
    """

    items: list[Reserved]
    action: Literal["dead", "release", "retry"]
    reason: str = ""
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Resend:
    """Send these items again now, in a request of their own (isolating a bad event)."""

    items: list[Reserved]


Step = Settle | Resend


def settle(queue: JobQueue, step: Settle) -> dict[str, int]:
    """Carry out ``step`` on ``queue``; return the sender counters it adds to."""
    if step.action == "dead":
        for item in step.items:
            queue.nack(item.receipt, error=step.reason, dead=True)
        return {"dead_lettered": len(step.items)}
    if step.action == "release":
        for item in step.items:
            queue.release(item.receipt, delay=step.delay)
        return {"retried": len(step.items)}
    last = sum(1 for item in step.items if item.attempts >= queue.max_attempts)
    for item in step.items:
        queue.nack(item.receipt, error=step.reason, retry_in=step.delay)
    return {"retried": len(step.items) - last, "dead_lettered": last}


def ack_all(queue: JobQueue, items: list[Reserved]) -> None:
    """Acknowledge every item of a delivered group."""
    for item in items:
        queue.ack(item.receipt)


def screen(batch: list[Reserved]) -> tuple[list[Reserved], Settle | None]:
    """Split a batch into prepared events and a dead-letter step for anything else."""
    ready = [i for i in batch if isinstance(i.payload, dict) and "profile" in i.payload]
    bad = [i for i in batch if i not in ready]
    return ready, Settle(bad, "dead", "payload is not prepared event attributes") if bad else None


def chunks(items: list[Reserved]) -> Iterator[tuple[BulkChunk, list[Reserved]]]:
    """Split screened items into bulk request bodies, each with the items it carries."""
    payloads = [(i, item.payload) for i, item in enumerate(items)]
    for chunk in chunk_events(payloads):  # type: ignore[arg-type] # checked by screen()
        yield chunk, [items[i] for i in chunk.all_tags()]


class Triage:
    """Decide what each failed request means for its events; remember whether Klaviyo is down.

    Args:
        pacer: Paces the requests, paused by a 429's ``Retry-After``; or ``None``.
    """

    def __init__(self, pacer: WindowPacer | None) -> None:
        """Start with Klaviyo assumed up."""
        self._pacer = pacer
        self._failures = 0  # transient failures since the last success (0: Klaviyo is up)
        self._backend_failures = 0  # queue server failures since it last answered
        self.released = False
        """Whether a failure was released (a throttle, an open breaker, an outage) so far."""
        self._resume_at = 0.0

    def succeeded(self) -> None:
        """Note a delivered request: Klaviyo is up again."""
        self._failures = 0

    def backend_up(self) -> None:
        """Note that the queue's server answered; log the recovery after an outage."""
        if self._backend_failures:
            _log.warning("event sender: the queue is reachable again")
            self._backend_failures = 0

    def backend_down(self, exc: BackendUnavailableError) -> None:
        """Note that the queue's server failed: warn once per outage, back off before retrying.

        Nothing is lost: what the worker had reserved becomes visible again after the
        visibility timeout, and ``track`` raises the same error to its callers meanwhile.
        """
        if self._backend_failures == 0:
            _log.warning("event sender: %s; retrying with backoff", exc)
        self._backend_failures += 1
        delay = min(MAX_PAUSE, 2.0 ** (self._backend_failures - 1))
        self._resume_at = max(self._resume_at, delay)

    def take_pause(self) -> float:
        """Seconds the worker should pause before it reserves again (``0.0``: none), once."""
        delay, self._resume_at = self._resume_at, 0.0
        return delay

    def failed(
        self, group: list[Reserved], exc: Exception, blame: Callable[[Iterable[str]], set[str]]
    ) -> list[Step]:
        """Retry a failed request, dead-letter it, or isolate the events to blame.

        ``blame`` maps error pointers to the ids of the queue items they point at.
        """
        if isinstance(exc, InvalidInputError):
            return [Settle(group, "dead", str(exc))]
        if isinstance(exc, ValidationError):  # the SDK's own model refused the body
            locations = (".".join(str(p) for p in e["loc"]) for e in exc.errors())
            return self._isolate(group, blame(locations), _validation_reason(exc))
        if not isinstance(exc, APIError) or exc.retryable:
            return [self._retry(group, exc)]
        if exc.status != _BAD_REQUEST:
            return [Settle(group, "dead", str(exc))]
        pointers = (d.source.get("pointer", "") for d in exc.errors)
        return self._isolate(group, blame(pointers), str(exc))

    @staticmethod
    def _isolate(group: list[Reserved], blamed: set[str], reason: str) -> list[Step]:
        if len(group) == 1 or len(blamed) == len(group):
            return [Settle(group, "dead", reason)]
        if blamed:
            return [
                Settle([i for i in group if i.id in blamed], "dead", reason),
                Resend([i for i in group if i.id not in blamed]),
            ]
        half = len(group) // 2
        return [Resend(group[:half]), Resend(group[half:])]

    def _retry(self, group: list[Reserved], exc: Exception) -> Settle:
        """Put a transiently failed group back, counting the attempt only when it is to blame."""
        if isinstance(exc, (RateLimitError, RateLimitTimeoutError, CircuitOpenError)):
            delay = _hinted_delay(exc)
            if isinstance(exc, RateLimitError) and self._pacer is not None:
                self._pacer.pause(delay)
            counted = False
        else:
            if not isinstance(exc, KlaviyoError):
                _log.warning("event sender: %s: %s", type(exc).__name__, exc)
            self._failures += 1
            delay = min(MAX_PAUSE, 2.0 ** (self._failures - 1))
            counted = self._failures == 1 or not isinstance(exc, KlaviyoError)
        self._resume_at = max(self._resume_at, delay)
        self.released |= not counted
        error = f"{type(exc).__name__}: {exc}"
        return Settle(group, "retry" if counted else "release", error, delay)


class DeliveryWorker:
    """Drains a queue of prepared event attributes into bulk create requests, on a thread.

    Args:
        send: Sends one ``bulk_create_events`` body.
        queue: The queue to drain.
        batch_size: Most events per request.
        linger: Seconds to wait for a fuller batch.
        visibility_timeout: Seconds a reserved batch stays hidden.
        pacer: Paces the requests, or ``None``.
        count: Adds to the sender's counters (``sent=3``).
        pause: Waits between tries while Klaviyo fails; ``None`` waits on :attr:`stop`, so a
            stop ends the pause at once.
    """

    def __init__(
        self,
        send: Callable[[JsonDict], None],
        queue: JobQueue,
        *,
        batch_size: int,
        linger: float,
        visibility_timeout: float,
        pacer: WindowPacer | None,
        count: Callable[..., None],
        pause: Callable[[float], object] | None = None,
    ) -> None:
        """Create the worker; :meth:`run` is the thread's target."""
        self._send = send
        self._queue = queue
        self._batch_size = batch_size
        self._linger = linger
        self._visibility = visibility_timeout
        self._pacer = pacer
        self._count = count
        self._triage = Triage(pacer)
        self.hurry = threading.Event()
        self.stop = threading.Event()
        self._pause = pause or self.stop.wait

    def run(self) -> None:
        """Deliver batches until :attr:`stop` is set."""
        while not self.stop.is_set():
            try:
                if delay := self._triage.take_pause():
                    self._pause(delay)
                    continue
                batch = self._collect()
                self._triage.backend_up()
                ready, bad = screen(batch)
                if bad is not None:
                    self._count(**settle(self._queue, bad))
                if ready:
                    self._deliver(ready)
            except BackendUnavailableError as exc:  # the queue's server is down: wait
                self._triage.backend_down(exc)
            except Exception:  # noqa: BLE001 - the thread must outlive a broken queue
                _log.exception("event sender: unexpected error; retrying")
                self.stop.wait(1.0)

    def _collect(self) -> list[Reserved]:
        batch = self._queue.reserve(
            visibility_timeout=self._visibility, max_items=self._batch_size, wait=POLL
        )
        if not batch or self._linger <= 0:
            return batch
        deadline = time.monotonic() + self._linger
        while len(batch) < self._batch_size and not self.hurry.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.stop.is_set():
                break
            batch += self._queue.reserve(
                visibility_timeout=self._visibility,
                max_items=self._batch_size - len(batch),
                wait=min(left, POLL),
            )
        return batch

    def _deliver(self, items: list[Reserved]) -> None:
        pacer = self._pacer
        pace = None if pacer is None else (lambda: self._count(paced=pacer.acquire()))
        deliver(self._send, self._queue, self._triage, items, self._count, before_send=pace)


def deliver(
    send: Callable[[JsonDict], None],
    queue: JobQueue,
    triage: Triage,
    items: list[Reserved],
    count: Callable[..., None],
    *,
    before_send: Callable[[], None] | None = None,
) -> None:
    """Send screened items in bulk requests and settle every one through ``triage``.

    The thread's worker and the engines' delivery tasks share this loop; the event loop's
    twin (``_async_delivery``) awaits the same steps.

    Args:
        send: Sends one ``bulk_create_events`` body.
        queue: Where the items were reserved.
        triage: Decides what each failure means.
        items: Reserved, screened event attributes.
        count: Adds to counters (``requests``, ``sent``, ``retried``, ``dead_lettered``).
        before_send: Runs before each request (pacing), or ``None``.
    """
    for chunk, group in chunks(items):
        if before_send is not None:
            before_send()
        count(requests=1)
        try:
            send(chunk.body())
        except Exception as exc:  # noqa: BLE001 - every failure is sorted by the triage
            for step in triage.failed(group, exc, partial(blamed_ids, items, chunk)):
                if isinstance(step, Resend):
                    deliver(send, queue, triage, step.items, count, before_send=before_send)
                else:
                    count(**settle(queue, step))
        else:
            triage.succeeded()
            count(sent=len(group))  # Klaviyo accepted them, whatever the ack does
            ack_all(queue, group)


def _hinted_delay(exc: Exception) -> float:
    """The wait a throttle or an open breaker asks for (at least one poll)."""
    if isinstance(exc, RateLimitError):
        hint = exc.retry_after if exc.retry_after is not None else 1.0
    elif isinstance(exc, CircuitOpenError):
        hint = exc.retry_in
    else:
        hint = exc.wait if isinstance(exc, RateLimitTimeoutError) else 1.0
    return max(hint, POLL)
