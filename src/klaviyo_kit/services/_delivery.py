"""The background sender's worker loop: reserve a batch, send it in bulk, sort the failures.

Transient failures (429, 5xx, transport, an open breaker) go back on the queue with a delay;
permanent ones (a 4xx, data the SDK or Klaviyo refuses) become dead letters with the reason. A
400 that points at some events dead-letters those alone and resends the rest (each event's
``unique_id`` makes resending safe); a 400 that names none is narrowed down by halving.
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

    def run(self) -> None:
        """Deliver batches until :attr:`stop` is set."""
        while not self.stop.is_set():
            try:
                batch = self._collect()
                if batch:
                    self._process(batch)
            except Exception:  # noqa: BLE001, PERF203 - the thread must outlive a broken queue
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
        delay: float | None = None
        if isinstance(exc, RateLimitError):
            delay = exc.retry_after if exc.retry_after is not None else 1.0
            if self._pacer is not None:
                self._pacer.pause(delay)
        elif isinstance(exc, CircuitOpenError):
            delay = exc.retry_in
        elif not isinstance(exc, KlaviyoError):
            _log.warning("event sender: %s: %s", type(exc).__name__, exc)
        last = sum(1 for item in group if item.attempts >= self._queue.max_attempts)
        for item in group:
            self._queue.nack(item.receipt, error=f"{type(exc).__name__}: {exc}", retry_in=delay)
        self._count(retried=len(group) - last, dead_lettered=last)
