"""The in-process rate limiter: exact sliding windows, shared by every thread and task."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from klaviyo_kit.config import RateLimitSettings
from klaviyo_kit.resilience._feedback import Feedback
from klaviyo_kit.resilience._hooks import Hooks, ThrottleWait, combine_hooks
from klaviyo_kit.resilience._limiter import BucketResolver, async_wait_loop, wait_loop
from klaviyo_kit.resilience._windows import BucketTable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from klaviyo_kit.operations import Limits

__all__ = ["MemoryRateLimiter"]


class MemoryRateLimiter:
    """Rate limiter for one account inside one process; thread-safe and asyncio-safe.

    Each account x operation bucket keeps an exact log of the permits granted in its burst and
    steady windows, so no interval of a window's length ever holds more calls than its limit,
    and a saturated stream reaches the limit. Responses correct it: a 429 pauses the bucket for
    every caller (``Retry-After``, else the body's "Expected available in N seconds", else 1 s),
    and a ``RateLimit-Remaining`` below the burst limit caps the bucket until ``RateLimit-Reset``.

    Args:
        account: The account the budget belongs to (``KlaviyoSettings.account_fingerprint``),
            never the key itself.
        settings: Overrides, headroom and the default ``max_wait``.
        clock: Monotonic seconds (default :func:`time.monotonic`).
        sleep: Blocking sleep (default :func:`time.sleep`).
        asleep: Async sleep (default :func:`asyncio.sleep`).
        burst_window: Length of the burst window in seconds. Klaviyo's is 1.0; a little more
            (say 1.05) absorbs network jitter, much less is for tests only.
        steady_window: Length of the steady window in seconds (Klaviyo's is 60.0).
        hooks: Told about every wait (``on_throttle_wait``).

    Raises:
        ValueError: If a window length is not positive.

    Example:
        >>> from klaviyo_kit.resilience import MemoryRateLimiter
        >>> limiter = MemoryRateLimiter(account="abc123")
        >>> limiter.acquire("get_profiles")
        0.0
    """

    def __init__(
        self,
        account: str = "default",
        settings: RateLimitSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        asleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        burst_window: float = 1.0,
        steady_window: float = 60.0,
        hooks: Hooks | None = None,
    ) -> None:
        """Create an empty limiter for ``account``."""
        self.account = account
        self.settings = settings or RateLimitSettings()
        self._resolver = BucketResolver(self.settings, burst_window, steady_window)
        self._clock = clock
        self._sleep = sleep
        self._asleep = asleep
        self._hooks = combine_hooks(hooks)
        self._table = BucketTable()

    def __repr__(self) -> str:
        """Show the account and how many buckets are tracked."""
        return f"MemoryRateLimiter(account={self.account!r}, buckets={len(self._table)})"

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
            ValueError: If ``cost`` exceeds a window's limit (it could never be granted).
            KeyError: If ``operation`` is unknown and no ``limits`` are given.
        """
        bucket, windows = self._resolver.resolve(operation, cost, limits)
        waited = wait_loop(
            operation,
            lambda: self._table.take(bucket, windows, self._clock, cost),
            clock=self._clock,
            sleep=self._sleep,
            deadline=self.settings.max_wait if deadline is None else deadline,
        )
        self._report(bucket, waited, cost)
        return waited

    async def aacquire(
        self,
        operation: str,
        cost: int = 1,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> float:
        """Wait without blocking the event loop; otherwise like :meth:`acquire`.

        Raises:
            klaviyo_kit.errors.RateLimitTimeoutError: If the wait would pass the deadline.
            ValueError: If ``cost`` exceeds a window's limit.
            KeyError: If ``operation`` is unknown and no ``limits`` are given.
        """
        bucket, windows = self._resolver.resolve(operation, cost, limits)

        async def take() -> float:
            return self._table.take(bucket, windows, self._clock, cost)

        waited = await async_wait_loop(
            operation,
            take,
            clock=self._clock,
            sleep=self._asleep,
            deadline=self.settings.max_wait if deadline is None else deadline,
        )
        self._report(bucket, waited, cost)
        return waited

    def observe(
        self,
        operation: str,
        status: int,
        headers: Mapping[str, str],
        *,
        retry_after: float | None = None,
    ) -> None:
        """Learn from a response: a 429 pauses the bucket, a low remaining count caps it.

        Args:
            operation: The operation the response belongs to.
            status: The HTTP status.
            headers: The response headers (looked up case-insensitively).
            retry_after: Seconds Klaviyo asked to wait on a 429, if already parsed.
        """
        feedback = Feedback.from_response(status, headers, retry_after)
        bucket, windows = self._resolver.known(operation)
        if feedback.pause is not None and windows is not None:
            self._table.pause(bucket, windows, self._clock(), feedback.pause)
        elif feedback.remaining is not None and feedback.reset is not None:
            self._table.cap(bucket, self._clock(), feedback.remaining, feedback.reset)

    def _report(self, bucket: str, waited: float, cost: int) -> None:
        if waited > 0:
            self._hooks.on_throttle_wait(ThrottleWait(bucket, waited, cost))
