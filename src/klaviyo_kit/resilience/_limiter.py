"""The rate-limiter protocol, the limits it enforces, and the wait loop both limiters share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from klaviyo_kit.errors import RateLimitTimeoutError
from klaviyo_kit.operations import Limits, all_operations

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from klaviyo_kit.config import RateLimitSettings

__all__ = ["BucketResolver", "RateLimiter", "Window", "operation_limits", "wait_loop"]


@runtime_checkable
class RateLimiter(Protocol):
    """Paces calls so that no Klaviyo window (1 s burst, 60 s steady) is ever exceeded.

    Limits are kept per account and per operation bucket (aliases share their canonical
    operation's bucket).
    """

    def acquire(
        self,
        operation: str,
        cost: int = 1,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> float:
        """Block until ``cost`` permits for ``operation`` are granted.

        Args:
            operation: An SDK operation name or a bucket name.
            cost: Permits the call takes (bulk calls may weigh more than 1).
            limits: Limits to enforce instead of the table's (and the settings' overrides).
            deadline: Most seconds to wait, from now; ``None`` uses the settings' ``max_wait``.

        Returns:
            Seconds waited.

        Raises:
            klaviyo_kit.errors.RateLimitTimeoutError: If the wait would pass the deadline.
        """

    async def aacquire(
        self,
        operation: str,
        cost: int = 1,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> float:
        """Wait without blocking the event loop; otherwise like :meth:`acquire`."""

    def observe(
        self,
        operation: str,
        status: int,
        headers: Mapping[str, str],
        *,
        retry_after: float | None = None,
    ) -> None:
        """Learn from a response: ``RateLimit-*`` headers on success, a pause on 429.

        Args:
            operation: The operation the response belongs to.
            status: The HTTP status.
            headers: The response headers (looked up case-insensitively).
            retry_after: Seconds Klaviyo asked to wait on a 429, if known.
        """


@dataclass(frozen=True, slots=True)
class Window:
    """One fixed-length window a bucket must honour.

    Attributes:
        length: Window length in seconds (1.0 for burst, 60.0 for steady).
        limit: Permits allowed in any interval of that length.
    """

    length: float
    limit: int


def operation_limits(name: str, settings: RateLimitSettings | None = None) -> Limits:
    """Return the limits a limiter enforces for an operation under these settings.

    The settings' override for the operation (or its canonical bucket) replaces the published
    table; then ``headroom`` scales both limits down (never below 1).

    Args:
        name: An SDK operation name (aliases included) or a bucket name.
        settings: Rate-limit settings; ``None`` uses the published limits as they are.

    Returns:
        The effective burst and steady limits.

    Raises:
        KeyError: If ``name`` is neither overridden nor in the operation table.

    Example:
        >>> from klaviyo_kit.config import RateLimitSettings
        >>> operation_limits("get_profiles", RateLimitSettings(headroom=0.5))
        Limits(burst=37, steady=375)
    """
    op = all_operations().get(name)
    bucket = op.bucket if op is not None else name
    limits = None
    if settings is not None:
        limits = settings.override_for(name) or settings.override_for(bucket)
    if limits is None:
        if op is None:
            msg = f"unknown Klaviyo operation {name!r}: pass limits= or add an override"
            raise KeyError(msg)
        limits = op.limits
    return scaled(limits, settings.headroom if settings is not None else 1.0)


def scaled(limits: Limits, headroom: float) -> Limits:
    """Return ``limits`` scaled by ``headroom`` (never below 1 per window)."""
    if headroom >= 1.0:
        return limits
    return Limits(
        max(1, math.floor(limits.burst * headroom)), max(1, math.floor(limits.steady * headroom))
    )


class BucketResolver:
    """Turn an operation (and optional explicit limits) into its bucket and windows.

    Explicit limits are scaled by the settings' headroom like the table's. The windows last
    used for each bucket are remembered, so feedback about a custom bucket finds its limits.
    """

    __slots__ = ("_burst_window", "_known", "_steady_window", "settings")

    def __init__(
        self, settings: RateLimitSettings, burst_window: float, steady_window: float
    ) -> None:
        """Resolve with these settings and window lengths (which must be positive)."""
        for option, length in (("burst_window", burst_window), ("steady_window", steady_window)):
            if not length > 0:  # "not >" also refuses nan
                msg = f"{option} must be positive seconds, got {length!r}"
                raise ValueError(msg)
        self.settings = settings
        self._burst_window = burst_window
        self._steady_window = steady_window
        self._known: dict[str, tuple[Window, ...]] = {}

    def resolve(
        self, operation: str, cost: int, limits: Limits | None
    ) -> tuple[str, tuple[Window, ...]]:
        """Return the bucket and windows for a call, checking that ``cost`` can ever fit.

        Raises:
            ValueError: If ``cost`` is below 1 or above a window's limit.
            KeyError: If ``operation`` is unknown and no ``limits`` are given.
        """
        bucket = bucket_name(operation)
        if limits is None:
            chosen = operation_limits(operation, self.settings)
        else:
            chosen = scaled(limits, self.settings.headroom)
        windows = bucket_windows(chosen, self._burst_window, self._steady_window)
        check_cost(operation, cost, windows)
        self._known[bucket] = windows
        return bucket, windows

    def known(self, operation: str) -> tuple[str, tuple[Window, ...] | None]:
        """Return the bucket and its last used (else table) windows, or ``None`` if unknown."""
        bucket = bucket_name(operation)
        windows = self._known.get(bucket)
        if windows is None:
            try:
                chosen = operation_limits(operation, self.settings)
            except KeyError:
                return bucket, None
            windows = bucket_windows(chosen, self._burst_window, self._steady_window)
        return bucket, windows


def bucket_name(operation: str) -> str:
    """Return the bucket an operation counts against (its canonical name)."""
    op = all_operations().get(operation)
    return op.bucket if op is not None else operation


def bucket_windows(limits: Limits, burst_window: float, steady_window: float) -> tuple[Window, ...]:
    """Return the two windows of ``limits`` with the given lengths.

    Args:
        limits: Burst and steady limits.
        burst_window: Length of the burst window in seconds (Klaviyo: 1.0).
        steady_window: Length of the steady window in seconds (Klaviyo: 60.0).

    Returns:
        The burst window and the steady window.
    """
    return (Window(burst_window, limits.burst), Window(steady_window, limits.steady))


def check_cost(operation: str, cost: int, windows: tuple[Window, ...]) -> None:
    """Reject a cost no window could ever grant (it would wait forever)."""
    if cost < 1:
        msg = f"cost must be at least 1, got {cost}"
        raise ValueError(msg)
    smallest = min(w.limit for w in windows)
    if cost > smallest:
        msg = f"cost {cost} for {operation} exceeds its smallest window limit {smallest}"
        raise ValueError(msg)


def wait_loop(
    operation: str,
    try_take: Callable[[], float],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], object],
    deadline: float | None,
) -> float:
    """Call ``try_take`` until it grants (returns 0), sleeping the waits it asks for.

    Returns:
        Seconds waited, by ``clock`` (0.0 when the first try was granted).

    Raises:
        klaviyo_kit.errors.RateLimitTimeoutError: When the next wait would pass ``deadline``.
    """
    start = clock()
    slept = False
    while True:
        wait = try_take()
        if wait <= 0:
            return clock() - start if slept else 0.0
        _check_deadline(operation, clock() - start, wait, deadline)
        sleep(wait)
        slept = True


async def async_wait_loop(
    operation: str,
    try_take: Callable[[], Awaitable[float]],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    deadline: float | None,
) -> float:
    """Async twin of :func:`wait_loop`."""
    start = clock()
    slept = False
    while True:
        wait = await try_take()
        if wait <= 0:
            return clock() - start if slept else 0.0
        _check_deadline(operation, clock() - start, wait, deadline)
        await sleep(wait)
        slept = True


def _check_deadline(operation: str, waited: float, wait: float, deadline: float | None) -> None:
    if deadline is not None and waited + wait > deadline:
        raise RateLimitTimeoutError(operation, waited + wait - deadline)
