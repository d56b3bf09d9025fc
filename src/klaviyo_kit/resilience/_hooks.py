"""Observability hooks: what the resilience stages report, and how to listen.

Every stage reports through one small protocol, :class:`Hooks`, with one frozen event value per
kind of moment. Logging (:class:`LoggingHooks`) and OpenTelemetry (:class:`OpenTelemetryHooks`)
are two implementations; :func:`combine_hooks` fans one event out to several.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "BaseHooks",
    "BreakerChange",
    "BreakerState",
    "Hooks",
    "RequestEnd",
    "RequestStart",
    "RetryScheduled",
    "ThrottleWait",
    "combine_hooks",
]

BreakerState = Literal["closed", "open", "half_open"]
"""The three states of a :class:`~klaviyo_kit.resilience.CircuitBreaker`."""

_log = logging.getLogger("klaviyo_kit")


@dataclass(frozen=True, slots=True)
class RequestStart:
    """One attempt of a Klaviyo call is about to be sent.

    Attributes:
        call_id: Identifies the attempt; the matching :class:`RequestEnd` carries the same id.
        operation: The SDK operation name, e.g. ``get_profiles``.
        attempt: 1 for the first try, 2 for the first retry, and so on.
        throttle_wait: Seconds the rate limiter held this attempt back.
    """

    call_id: int
    operation: str
    attempt: int = 1
    throttle_wait: float = 0.0


@dataclass(frozen=True, slots=True)
class RequestEnd:
    """One attempt of a Klaviyo call finished, with a response or an error.

    Attributes:
        call_id: The id its :class:`RequestStart` carried.
        operation: The SDK operation name.
        attempt: The attempt number.
        status: The HTTP status, or ``None`` when no response arrived.
        duration: Seconds the attempt took.
        error: The class name of the error raised, or ``None`` on success.
    """

    call_id: int
    operation: str
    attempt: int
    status: int | None
    duration: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """An attempt failed and the retry policy will try again after ``wait`` seconds.

    Attributes:
        operation: The SDK operation name.
        attempt: The attempt that failed.
        wait: Seconds until the next attempt.
        error: The class name of the error that caused the retry.
        status: The HTTP status of the failed attempt, if it got a response.
    """

    operation: str
    attempt: int
    wait: float
    error: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class ThrottleWait:
    """The rate limiter made a call wait before it could go.

    Attributes:
        operation: The operation (rate-limit bucket) waited for.
        wait: Seconds waited.
        cost: How many permits the call took.
    """

    operation: str
    wait: float
    cost: int = 1


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """The circuit breaker changed state.

    Attributes:
        name: The breaker's name.
        old: The state before.
        new: The state after.
        failures: Consecutive failures counted when the change happened.
    """

    name: str
    old: BreakerState
    new: BreakerState
    failures: int


@runtime_checkable
class Hooks(Protocol):
    """Listener for what the call pipeline does; every method must return quickly.

    Subclass :class:`BaseHooks` to implement only the methods you need.
    """

    def on_request_start(self, event: RequestStart) -> None:
        """Receive the start of an attempt."""

    def on_request_end(self, event: RequestEnd) -> None:
        """Receive the end of an attempt."""

    def on_retry(self, event: RetryScheduled) -> None:
        """Receive a scheduled retry."""

    def on_throttle_wait(self, event: ThrottleWait) -> None:
        """Receive a rate-limit wait."""

    def on_breaker_change(self, event: BreakerChange) -> None:
        """Receive a circuit-breaker state change."""


class BaseHooks:
    """Hooks that do nothing; subclass and override the methods you care about."""

    def on_request_start(self, event: RequestStart) -> None:
        """Ignore the start of an attempt."""

    def on_request_end(self, event: RequestEnd) -> None:
        """Ignore the end of an attempt."""

    def on_retry(self, event: RetryScheduled) -> None:
        """Ignore a scheduled retry."""

    def on_throttle_wait(self, event: ThrottleWait) -> None:
        """Ignore a rate-limit wait."""

    def on_breaker_change(self, event: BreakerChange) -> None:
        """Ignore a circuit-breaker state change."""


class _HookSet(BaseHooks):
    """Several hooks as one; a failing hook is logged and never breaks the call."""

    __slots__ = ("_hooks",)

    def __init__(self, hooks: tuple[Hooks, ...]) -> None:
        self._hooks = hooks

    def __repr__(self) -> str:
        return f"combine_hooks({', '.join(type(h).__name__ for h in self._hooks)})"

    def _each(self, method: str, event: object) -> None:
        for hook in self._hooks:
            try:
                getattr(hook, method)(event)
            except Exception:  # noqa: BLE001, PERF203 - a broken hook must never fail a call
                _log.exception("klaviyo_kit hook %s.%s failed", type(hook).__name__, method)

    def on_request_start(self, event: RequestStart) -> None:
        self._each("on_request_start", event)

    def on_request_end(self, event: RequestEnd) -> None:
        self._each("on_request_end", event)

    def on_retry(self, event: RetryScheduled) -> None:
        self._each("on_retry", event)

    def on_throttle_wait(self, event: ThrottleWait) -> None:
        self._each("on_throttle_wait", event)

    def on_breaker_change(self, event: BreakerChange) -> None:
        self._each("on_breaker_change", event)


def combine_hooks(*hooks: Hooks | Iterable[Hooks] | None) -> Hooks:
    """Combine hooks into one that calls each in order.

    A hook that raises is logged on ``logging.getLogger("klaviyo_kit")`` and skipped, so
    observability can never fail a Klaviyo call. ``None`` entries are ignored and nested
    iterables are flattened.

    Args:
        *hooks: Hooks, iterables of hooks, or ``None``.

    Returns:
        One :class:`Hooks` (which does nothing when given nothing).

    Example:
        >>> from klaviyo_kit.resilience import LoggingHooks, combine_hooks
        >>> combine_hooks(LoggingHooks(), None)
        combine_hooks(LoggingHooks)
    """
    return _HookSet(tuple(_flatten(hooks)))


def _flatten(items: Iterable[Hooks | Iterable[Hooks] | None]) -> list[Hooks]:
    flat: list[Hooks] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, _HookSet):
            flat.extend(item._hooks)  # noqa: SLF001 - flattening our own type
        elif isinstance(item, Hooks):
            flat.append(item)
        else:
            flat.extend(_flatten(item))
    return flat
