"""The background sender's worker loop: reserve a batch, send it in bulk, sort the failures.

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
from functools import partial
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from klaviyo_kit.errors import (
    APIError,
    CircuitOpenError,
    InvalidInputError,
    KlaviyoError,
    RateLimitError,
    RateLimitTimeoutError,
)
from klaviyo_kit.services._event_batches import chunk_events

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from klaviyo_kit.infra import JobQueue, Reserved
    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services._event_batches import BulkChunk
    from klaviyo_kit.services._pacing import WindowPacer

__all__ = ["DeliveryWorker"]

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


def _blamed_ids(items: list[Reserved], chunk: BulkChunk, pointers: Iterable[str]) -> set[str]:
    return {items[tag].id for tag in chunk.tags_blamed_by(pointers)}


class DeliveryWorker:
    """Drains a queue of prepared event attributes into bulk create requests.

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
        self.hurry = threading.Event()
        self.stop = threading.Event()
        self._pause = pause or self.stop.wait
        self._failures = 0  # transient failures since the last success (0: Klaviyo is up)
        self._resume_at = 0.0

    def run(self) -> None:
        """Deliver batches until :attr:`stop` is set."""
        while not self.stop.is_set():
            try:
                if self._resume_at:
                    delay, self._resume_at = self._resume_at, 0.0
                    self._pause(delay)
                    continue
                batch = self._collect()
                if batch:
                    self._process(batch)
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

    def _process(self, batch: list[Reserved]) -> None:
        ready: list[Reserved] = []
        for item in batch:
            if not isinstance(item.payload, dict) or "profile" not in item.payload:
                self._dead_letter([item], "payload is not prepared event attributes")
            else:
                ready.append(item)
        if ready:
            self._deliver(ready)

    def _dead_letter(self, items: list[Reserved], reason: str) -> None:
        for item in items:
            self._queue.nack(item.receipt, error=reason, dead=True)
        self._count(dead_lettered=len(items))

    def _deliver(self, items: list[Reserved]) -> None:
        payloads = [(i, item.payload) for i, item in enumerate(items)]
        for chunk in chunk_events(payloads):  # type: ignore[arg-type] # checked in _process
            group = [items[i] for i in chunk.all_tags()]
            if self._pacer is not None:
                self._count(paced=self._pacer.acquire())
            self._count(requests=1)
            try:
                self._send(chunk.body())
            except Exception as exc:  # noqa: BLE001 - every failure is sorted in _failed
                self._failed(group, exc, partial(_blamed_ids, items, chunk))
            else:
                self._failures = 0
                for item in group:
                    self._queue.ack(item.receipt)
                self._count(sent=len(group))

    def _failed(
        self, group: list[Reserved], exc: Exception, blame: Callable[[Iterable[str]], set[str]]
    ) -> None:
        """Retry a failed request, dead-letter it, or isolate the events to blame.

        ``blame`` maps error pointers to the ids of the queue items they point at.
        """
        if isinstance(exc, InvalidInputError):
            self._dead_letter(group, str(exc))
        elif isinstance(exc, ValidationError):  # the SDK's own model refused the body
            locations = (".".join(str(p) for p in e["loc"]) for e in exc.errors())
            self._isolate(group, blame(locations), _validation_reason(exc))
        elif not isinstance(exc, APIError) or exc.retryable:
            self._retry(group, exc)
        elif exc.status != _BAD_REQUEST:
            self._dead_letter(group, str(exc))
        else:
            pointers = (d.source.get("pointer", "") for d in exc.errors)
            self._isolate(group, blame(pointers), str(exc))

    def _isolate(self, group: list[Reserved], blamed: set[str], reason: str) -> None:
        if len(group) == 1 or len(blamed) == len(group):
            self._dead_letter(group, reason)
            return
        if blamed:
            self._dead_letter([i for i in group if i.id in blamed], reason)
            self._deliver([i for i in group if i.id not in blamed])
            return
        half = len(group) // 2
        self._deliver(group[:half])
        self._deliver(group[half:])

    def _retry(self, group: list[Reserved], exc: Exception) -> None:
        """Put a transiently failed group back, counting the attempt only when it is to blame."""
        error = f"{type(exc).__name__}: {exc}"
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
        if not counted:
            for item in group:
                self._queue.release(item.receipt, delay=delay)
            self._count(retried=len(group))
            return
        last = sum(1 for item in group if item.attempts >= self._queue.max_attempts)
        for item in group:
            self._queue.nack(item.receipt, error=error, retry_in=delay)
        self._count(retried=len(group) - last, dead_lettered=last)


def _hinted_delay(exc: Exception) -> float:
    """The wait a throttle or an open breaker asks for (at least one poll)."""
    if isinstance(exc, RateLimitError):
        hint = exc.retry_after if exc.retry_after is not None else 1.0
    elif isinstance(exc, CircuitOpenError):
        hint = exc.retry_in
    else:
        hint = exc.wait if isinstance(exc, RateLimitTimeoutError) else 1.0
    return max(hint, POLL)
