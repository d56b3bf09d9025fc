"""What dispatching a delivery did to each of its events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from klaviyo_kit.errors import redact


class EventStatus(str, Enum):
    """The outcome of one event of a delivery."""

    PROCESSED = "processed"
    """Every matching handler ran without raising."""
    DEFERRED = "deferred"
    """Claimed and handed to the job queue; a worker runs the handlers."""
    DUPLICATE = "duplicate"
    """Already claimed by an earlier delivery: not processed again."""
    UNHANDLED = "unhandled"
    """No handler matches the topic."""
    FAILED = "failed"
    """A handler (or the ledger) raised; the claim is released so a redelivery retries it."""


@dataclass(frozen=True, slots=True, repr=False)
class EventResult:
    """One event's outcome.

    The ``repr`` shows :attr:`message`, never the raw exception, so logging a result or a
    report cannot leak a key a handler's exception happened to carry.

    Attributes:
        index: The event's position in the delivery.
        topic: The event's topic.
        external_id: The event's id.
        status: What happened.
        error: The first exception raised for it, when ``status`` is ``FAILED``.
    """

    index: int
    topic: str
    external_id: str
    status: EventStatus
    error: Exception | None = None

    @property
    def message(self) -> str | None:
        """A short, redacted description of ``error`` for logs and responses."""
        if self.error is None:
            return None
        return redact(f"{type(self.error).__name__}: {self.error}")[:200]

    def __repr__(self) -> str:
        """Show the outcome, with the redacted :attr:`message` in place of the exception."""
        failure = "" if self.message is None else f", message={self.message!r}"
        return (
            f"EventResult(index={self.index}, topic={self.topic!r}, "
            f"external_id={self.external_id!r}, status={self.status!s}{failure})"
        )


# Unhandled events are not claimed: nothing about them is recorded, and a redelivery is harmless.
_RECORDED = frozenset({EventStatus.PROCESSED, EventStatus.DEFERRED})


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """Every event's outcome for one delivery, in delivery order.

    Attributes:
        delivery_id: The delivery's id.
        results: One :class:`EventResult` per event.
    """

    delivery_id: str
    results: tuple[EventResult, ...]

    def count(self, status: EventStatus) -> int:
        """Return how many events ended with ``status``."""
        return sum(1 for result in self.results if result.status is status)

    @property
    def failures(self) -> tuple[EventResult, ...]:
        """The events that failed (a handler, the ledger or the queue raised).

        Any failure makes the receiver answer 500 so the sender redelivers; these events'
        claims were released, so only they run again.
        """
        return tuple(r for r in self.results if r.status is EventStatus.FAILED)

    @property
    def recorded(self) -> bool:
        """Whether any event was processed or deferred (unhandled events record nothing)."""
        return any(result.status in _RECORDED for result in self.results)

    @property
    def replayed(self) -> bool:
        """Whether the delivery had events and every one of them was a duplicate."""
        return bool(self.results) and all(
            result.status is EventStatus.DUPLICATE for result in self.results
        )
