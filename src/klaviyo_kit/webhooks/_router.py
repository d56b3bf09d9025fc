"""``WebhookRouter``: topics to handlers, each event once, one event's failure kept to itself."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Final, TypeAlias, TypeVar

import anyio
import anyio.to_thread

from klaviyo_kit.errors import JobError
from klaviyo_kit.infra import MemoryStateStore
from klaviyo_kit.webhooks._delivery import WebhookEvent
from klaviyo_kit.webhooks._results import DispatchReport, EventResult, EventStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from klaviyo_kit.webhooks._delivery import WebhookDelivery
    from klaviyo_kit.webhooks._ports import DeliveryLedger, EventQueue

WebhookHandler: TypeAlias = Callable[[WebhookEvent], object]
"""A handler: called with one event; may be a coroutine function. Its return value is ignored."""

_H = TypeVar("_H", bound=WebhookHandler)

logger = logging.getLogger("klaviyo_kit.webhooks")

DEFAULT_DEDUPE_TTL: Final = 3 * 24 * 3600.0
DEFAULT_PROCESSING_TIMEOUT: Final = 300.0
_PATTERN_CHARS: Final = frozenset("*?[")


def _is_async(handler: WebhookHandler) -> bool:
    while isinstance(handler, functools.partial):
        handler = handler.func
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


async def _await(awaitable: Awaitable[object]) -> None:
    await awaitable


@dataclass(slots=True)
class _Claims:
    """A delivery's claims: those taken, and what becomes of them when the delivery is done."""

    claimed: set[str] = field(default_factory=set)
    error: Exception | None = None
    """The ledger failed to claim: every handled event of the delivery fails with this."""
    taken: set[str] = field(default_factory=set)
    kept: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)


class WebhookRouter:
    """Route each event of a delivery to the handlers registered for its topic.

    Handlers are registered for an exact topic (``event:klaviyo.opened_email``) or a pattern
    (``event:klaviyo.*``, ``*``) and may be sync or async; every matching handler runs, in
    registration order. Events are dispatched in delivery order. Each event is claimed once in
    the ledger under ``delivery id + external_id``, so a replayed delivery is not processed
    again; when a handler raises, the exception is reported for that event only, the claim is
    released so a redelivery can retry it, and the other events carry on.

    A delivery's events are claimed in one ledger call (each claim atomic), first for
    ``processing_timeout`` seconds; when the delivery is done the processed events' claims are
    kept for ``dedupe_ttl`` and the failed ones released, again in one call each. A process
    that dies mid-delivery leaves short claims: a redelivery after ``processing_timeout``
    handles the events it had not finished.

    Args:
        ledger: Remembers claimed events; a ``StateStore`` fits. When ``None``, a
            ``MemoryStateStore``, which dedupes within this process only.
        queue: When given, claimed events are queued (``JobQueue``) instead of handled at
            once, and a worker passes each reserved payload to :meth:`run_job`.
        dedupe_ttl: Seconds a processed event's claim is remembered.
        processing_timeout: Seconds a claim holds while its delivery is being handled (longer
            than the slowest delivery takes; at most ``dedupe_ttl``).

    Example:
        >>> router = WebhookRouter(store)  # doctest: +SKIP
        >>> @router.on("event:klaviyo.opened_email")
        ... def opened(event: WebhookEvent) -> None:
        ...     print(event.profile_id)
    """

    def __init__(
        self,
        ledger: DeliveryLedger | None = None,
        *,
        queue: EventQueue | None = None,
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
        processing_timeout: float = DEFAULT_PROCESSING_TIMEOUT,
    ) -> None:
        """Create an empty router; see the class docstring for the arguments."""
        if dedupe_ttl <= 0:
            raise ValueError("dedupe_ttl must be positive")
        if processing_timeout <= 0:
            raise ValueError("processing_timeout must be positive")
        self._ledger: DeliveryLedger = ledger if ledger is not None else MemoryStateStore()
        self._queue = queue
        self._ttl = dedupe_ttl
        self._lease = min(processing_timeout, dedupe_ttl)
        self._routes: list[tuple[str, WebhookHandler]] = []
        self._resolved: dict[str, tuple[WebhookHandler, ...]] = {}

    def add(self, topic: str, handler: WebhookHandler) -> None:
        """Register ``handler`` for an exact topic or a ``*`` pattern.

        Raises:
            ValueError: ``topic`` is empty.
            TypeError: ``handler`` is not callable.
        """
        if not topic:
            raise ValueError("a topic or pattern is required, e.g. 'event:klaviyo.*'")
        if not callable(handler):
            raise TypeError("a handler must be callable")
        self._routes.append((topic, handler))
        self._resolved.clear()

    def on(self, topic: str) -> Callable[[_H], _H]:
        """Register the decorated function for ``topic`` (see :meth:`add`)."""

        def register(handler: _H) -> _H:
            self.add(topic, handler)
            return handler

        return register

    def handlers_for(self, topic: str) -> tuple[WebhookHandler, ...]:
        """Return the handlers that run for ``topic``, in registration order."""
        found = self._resolved.get(topic)
        if found is None:
            found = tuple(
                handler
                for pattern, handler in self._routes
                if pattern == topic
                or (not _PATTERN_CHARS.isdisjoint(pattern) and fnmatchcase(topic, pattern))
            )
            self._resolved[topic] = found
        return found

    def dispatch(self, delivery: WebhookDelivery) -> DispatchReport:
        """Process a delivery's events in order, from synchronous code.

        Async handlers are run to completion on a fresh event loop; from async code use
        :meth:`adispatch`.

        Returns:
            One result per event; handler exceptions are in it, never raised.
        """
        claims = self._claim_all(delivery)
        try:
            results = tuple(self._process(event, claims) for event in delivery.events)
        finally:
            self._finish(claims)
        return DispatchReport(delivery.delivery_id, results)

    async def adispatch(self, delivery: WebhookDelivery) -> DispatchReport:
        """Process a delivery's events in order, from async code.

        Blocking work (the ledger, sync handlers) runs in worker threads.

        Returns:
            One result per event; handler exceptions are in it, never raised.
        """
        if not any(map(_is_async, self._all_handlers(delivery))):
            return await anyio.to_thread.run_sync(self.dispatch, delivery)
        claims = await anyio.to_thread.run_sync(self._claim_all, delivery)
        try:
            results = [await self._aprocess(event, claims) for event in delivery.events]
        finally:
            await anyio.to_thread.run_sync(self._finish, claims)
        return DispatchReport(delivery.delivery_id, tuple(results))

    def run_job(self, job: object) -> EventResult:
        """Run the handlers for an event queued by a router built with ``queue=``.

        Returns:
            The event's result.

        Raises:
            JobError: A handler raised, so the queue retries or dead-letters the job.
            ValueError: ``job`` is not a queued webhook event.
        """
        event = WebhookEvent.from_job(job)
        error = self._run_handlers(event)
        if error is not None:
            raise JobError(f"webhook event {event.external_id} ({event.topic}) failed") from error
        return self._result(event, EventStatus.PROCESSED)

    def _all_handlers(self, delivery: WebhookDelivery) -> set[WebhookHandler]:
        return {h for topic in {e.topic for e in delivery.events} for h in self.handlers_for(topic)}

    @staticmethod
    def _result(
        event: WebhookEvent, status: EventStatus, error: Exception | None = None
    ) -> EventResult:
        return EventResult(event.index, event.topic, event.external_id, status, error)

    def _claim_all(self, delivery: WebhookDelivery) -> _Claims:
        """Claim the delivery's handled events in one ledger call, for the processing lease."""
        keys = [e.dedupe_key for e in delivery.events if self.handlers_for(e.topic)]
        if not keys:
            return _Claims()
        try:
            return _Claims(self._ledger.claim_deliveries(keys, ttl=self._lease))
        except Exception as exc:  # noqa: BLE001 - the ledger failing is each event's failure
            return _Claims(error=exc)

    def _finish(self, claims: _Claims) -> None:
        """Keep the processed events' claims for the dedupe TTL; release the failed ones."""
        if claims.kept:
            try:
                self._ledger.keep_deliveries(claims.kept, ttl=self._ttl)
            except Exception:
                # Their short claims expire: a redelivery then handles them again.
                logger.exception("could not keep the claims on %d webhook events", len(claims.kept))
        if claims.released:
            try:
                self._ledger.release_deliveries(claims.released)
            except Exception:
                logger.exception(
                    "could not release the claims on webhook events %s", ", ".join(claims.released)
                )

    def _process(self, event: WebhookEvent, claims: _Claims) -> EventResult:
        early = self._claimed(event, claims)
        if early is not None:
            return early
        return self._settle(event, self._run_handlers(event), claims)

    async def _aprocess(self, event: WebhookEvent, claims: _Claims) -> EventResult:
        if self._queue is not None:  # queueing is blocking I/O
            early = await anyio.to_thread.run_sync(self._claimed, event, claims)
        else:
            early = self._claimed(event, claims)
        if early is not None:
            return early
        error: Exception | None = None
        for handler in self.handlers_for(event.topic):
            try:
                if _is_async(handler):
                    result = handler(event)
                else:
                    result = await anyio.to_thread.run_sync(handler, event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001, PERF203 - a handler's failure belongs to its event
                # Log every failure; the report keeps the first.
                error = error or exc
                self._log_failure(event, exc)
        return self._settle(event, error, claims)

    def _claimed(self, event: WebhookEvent, claims: _Claims) -> EventResult | None:
        """Return the event's final result, or ``None`` when its handlers should run now."""
        if not self.handlers_for(event.topic):
            return self._result(event, EventStatus.UNHANDLED)
        if claims.error is not None:
            return self._result(event, EventStatus.FAILED, self._log_failure(event, claims.error))
        key = event.dedupe_key
        if key not in claims.claimed or key in claims.taken:
            return self._result(event, EventStatus.DUPLICATE)
        claims.taken.add(key)
        if self._queue is None:
            return None
        try:
            self._queue.enqueue(event.to_job(), key=key)
        except Exception as exc:  # noqa: BLE001 - not queued: release and report
            return self._settle(event, self._log_failure(event, exc), claims)
        claims.kept.append(key)
        return self._result(event, EventStatus.DEFERRED)

    def _run_handlers(self, event: WebhookEvent) -> Exception | None:
        error: Exception | None = None
        for handler in self.handlers_for(event.topic):
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    anyio.run(_await, result)
            except Exception as exc:  # noqa: BLE001, PERF203 - a handler's failure belongs to its event
                # Log every failure; the report keeps the first.
                error = error or exc
                self._log_failure(event, exc)
        return error

    def _settle(self, event: WebhookEvent, error: Exception | None, claims: _Claims) -> EventResult:
        if error is None:
            claims.kept.append(event.dedupe_key)
            return self._result(event, EventStatus.PROCESSED)
        claims.released.append(event.dedupe_key)
        return self._result(event, EventStatus.FAILED, error)

    @staticmethod
    def _log_failure(event: WebhookEvent, exc: Exception) -> Exception:
        logger.warning(
            "webhook event %s #%d (%s) failed: %s",
            event.external_id,
            event.index,
            event.topic,
            type(exc).__name__,
            exc_info=exc,
        )
        return exc
