"""The job queue contract: at-least-once delivery with visibility timeouts and dead letters.

A worker reserves items for a visibility timeout, then acks each one it finished or nacks it with
the error. An item whose worker died comes back when its visibility timeout ends. After
``max_attempts`` reservations, or at once when a nack says ``dead=True``, an item becomes a
dead letter that keeps its payload, last error and attempt count until it is replayed or purged.
A worker that could not even try (the destination is throttled or down) releases the item
instead: it comes back after a delay and the reservation does not count as an attempt.

A queue on a server (:class:`RedisQueue`) raises
:class:`~klaviyo_kit.errors.BackendUnavailableError` from any operation while the server cannot
be reached, at once or after a bounded wait, never the driver's own exception. An ``enqueue``
that was refused added nothing (one whose reply timed out may have been applied: enqueue again
with the same ``key``), and a reserved item whose ``ack`` or ``nack`` failed comes back when its
visibility timeout ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from klaviyo_kit.errors import QueueFullError

if TYPE_CHECKING:
    from datetime import datetime

    from klaviyo_kit.infra._json import JSONValue

RetryDelay = float | Callable[[int], float]
"""Seconds before a nacked item is retried: a constant, or a function of the attempts so far."""


@dataclass(frozen=True, slots=True)
class Reserved:
    """An item handed to a worker until its visibility timeout ends.

    Attributes:
        id: The item's id, stable across retries and replays.
        receipt: Proof of this reservation, passed to ``ack``/``nack``; a later reservation of
            the same item gets a new receipt and makes this one stale.
        payload: The JSON payload given to ``enqueue``.
        attempts: How many times the item has been reserved, this time included.
        key: The idempotency key given to ``enqueue``, if any.
    """

    id: str
    receipt: str
    payload: JSONValue
    attempts: int
    key: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An item that failed ``max_attempts`` times, kept for inspection and replay.

    Attributes:
        id: The item's id.
        payload: The JSON payload given to ``enqueue``.
        error: The last error reported by ``nack`` (or the visibility timeout expiring).
        attempts: How many times the item was reserved.
        key: The idempotency key given to ``enqueue``, if any.
        failed_at: When the item became a dead letter (UTC).
    """

    id: str
    payload: JSONValue
    error: str
    attempts: int
    key: str | None
    failed_at: datetime


@runtime_checkable
class JobQueue(Protocol):
    """An at-least-once work queue with dead letters; see the module docs for the life cycle."""

    @property
    def max_attempts(self) -> int:
        """Reservations after which a failing item becomes a dead letter."""

    def enqueue(self, payload: JSONValue, *, key: str | None = None, delay: float = 0) -> str:
        """Add a JSON ``payload``, visible after ``delay`` seconds, and return its id.

        While an item with the same idempotency ``key`` is pending (waiting or reserved), no
        new item is added and the pending item's id is returned.

        Raises:
            klaviyo_kit.errors.QueueFullError: If the queue is at its ``max_size`` (after
                waiting ``block_timeout`` seconds for room, when one is set).
        """

    def reserve(
        self, *, visibility_timeout: float, max_items: int = 1, wait: float = 0
    ) -> list[Reserved]:
        """Take up to ``max_items`` visible items for ``visibility_timeout`` seconds.

        Waits up to ``wait`` seconds for the first item; returns an empty list if none came.
        """

    def ack(self, receipt: str) -> bool:
        """Finish a reserved item; ``False`` if the receipt is stale (nothing changes)."""

    def nack(
        self, receipt: str, *, error: str, retry_in: float | None = None, dead: bool = False
    ) -> bool:
        """Report a failure: retry after ``retry_in`` seconds, or dead-letter the item.

        The item becomes a dead letter with ``error`` at once when ``dead`` is true (a failure
        that no retry can fix), else when this was its ``max_attempts``-th reservation.

        Returns:
            ``False`` if the receipt is stale (nothing changes), else ``True``.

        Raises:
            ValueError: If both ``retry_in`` and ``dead`` are given.
        """

    def release(self, receipt: str, *, delay: float = 0) -> bool:
        """Hand a reserved item back, visible after ``delay`` s, without using an attempt.

        For waits that are not the item's fault (a rate limit, an open circuit breaker, an
        outage): the reservation is not counted against ``max_attempts``.

        Returns:
            ``False`` if the receipt is stale (nothing changes), else ``True``.
        """

    def dead_letters(self) -> list[DeadLetter]:
        """Return the dead letters, oldest first."""

    def replay_dead_letters(self, ids: Sequence[str] | None = None) -> int:
        """Queue dead letters again with zero attempts (all when ``ids`` is ``None``).

        Returns:
            How many dead letters were replayed.
        """

    def purge_dead_letters(self, ids: Sequence[str] | None = None) -> int:
        """Delete dead letters for good (all when ``ids`` is ``None``); return how many."""

    def size(self) -> int:
        """Return how many items are pending (waiting, delayed or reserved)."""

    def close(self) -> None:
        """Release connections; the queue must not be used afterwards."""


def retry_delay_for(policy: RetryDelay, attempts: int) -> float:
    """Return the delay ``policy`` gives after ``attempts`` attempts, never negative."""
    delay = policy(attempts) if callable(policy) else policy
    return max(float(delay), 0.0)


def check_reserve_args(visibility_timeout: float, max_items: int, wait: float) -> None:
    """Reject reserve arguments that cannot work.

    Raises:
        ValueError: If the timeout is not positive, ``max_items`` < 1 or ``wait`` < 0.
    """
    if visibility_timeout <= 0:
        raise ValueError(f"visibility_timeout must be positive, got {visibility_timeout!r}")
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items!r}")
    if wait < 0:
        raise ValueError(f"wait must not be negative, got {wait!r}")


def check_queue_args(max_size: int | None, block_timeout: float | None, max_attempts: int) -> None:
    """Reject queue options that cannot work.

    Raises:
        ValueError: If ``max_size`` < 1, ``block_timeout`` < 0 or ``max_attempts`` < 1.
    """
    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size must be at least 1, got {max_size!r}")
    if block_timeout is not None and block_timeout < 0:
        raise ValueError(f"block_timeout must not be negative, got {block_timeout!r}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")


def check_nack_args(retry_in: float | None, dead: bool) -> None:  # noqa: FBT001
    """Reject a nack that asks for a retry and a dead letter at once.

    Raises:
        ValueError: If ``retry_in`` is given with ``dead=True``.
    """
    if dead and retry_in is not None:
        raise ValueError("retry_in and dead=True exclude each other: a dead letter is not retried")


def split_receipt(receipt: str) -> tuple[str, str]:
    """Split a receipt into the item id and the reservation token ("" if malformed)."""
    item_id, _, token = receipt.partition(".")
    return item_id, token


def queue_full(max_size: int, block_timeout: float | None) -> QueueFullError:
    """Build the error raised when an enqueue finds no room."""
    waited = f" after waiting {block_timeout:g} s" if block_timeout else ""
    return QueueFullError(
        f"queue is full ({max_size} pending items){waited}; the item was not added"
    )
