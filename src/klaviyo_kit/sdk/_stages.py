"""The default pipeline stages, built from the resilience components.

Order, outermost first: retry → rate limiter → circuit breaker → hooks → the SDK call. Retry is
outside the limiter, so every attempt waits for its own permit; the breaker is inside, so calls
held back by the limiter do not count as failures; hooks see each attempt as it goes out.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, TypeVar

from klaviyo_kit.errors import APIError, KlaviyoError, RateLimitError
from klaviyo_kit.resilience import RequestEnd, RequestStart, rate_limit_buckets

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from klaviyo_kit.resilience import CircuitBreaker, Hooks, RateLimiter, RetryPolicy
    from klaviyo_kit.sdk._context import OperationCall

__all__ = [
    "AsyncBreakerStage",
    "AsyncHooksStage",
    "AsyncLimiterStage",
    "AsyncRetryStage",
    "BreakerStage",
    "HooksStage",
    "LimiterStage",
    "RetryStage",
]

R = TypeVar("R")
_ids = itertools.count(1)


class _RetryBase:
    def __init__(self, policy: RetryPolicy) -> None:
        """Use ``policy`` for every call."""
        self.policy = policy


class RetryStage(_RetryBase):
    """Retries the rest of the pipeline as the :class:`RetryPolicy` decides."""

    def __call__(self, call: OperationCall, proceed: Callable[[], R]) -> R:
        """Run ``proceed`` until it succeeds or the policy gives up."""
        attempts = itertools.count(1)

        def attempt() -> R:
            call.attempt = next(attempts)
            return proceed()

        return self.policy.call(
            attempt, operation=call.operation, args=call.args, kwargs=call.kwargs
        )


class AsyncRetryStage(_RetryBase):
    """The async twin of :class:`RetryStage`."""

    async def __call__(self, call: OperationCall, proceed: Callable[[], Awaitable[R]]) -> R:
        """Await ``proceed`` until it succeeds or the policy gives up."""
        attempts = itertools.count(1)

        async def attempt() -> R:
            call.attempt = next(attempts)
            return await proceed()

        return await self.policy.acall(
            attempt, operation=call.operation, args=call.args, kwargs=call.kwargs
        )


class _LimiterBase:
    """What both limiter stages share.

    Args:
        limiter: The rate limiter (per account and operation).
        max_wait: Longest a call waits for its permits, all buckets together, before
            ``RateLimitTimeoutError``; ``None`` leaves it to the limiter's settings.
    """

    def __init__(self, limiter: RateLimiter, *, max_wait: float | None = None) -> None:
        """Pace calls with ``limiter``."""
        self.limiter = limiter
        self.max_wait = max_wait

    def _deadline(self, waited: float) -> float | None:
        """What is left of ``max_wait`` after ``waited`` seconds on earlier buckets."""
        return None if self.max_wait is None else max(0.0, self.max_wait - waited)

    def _observe_error(self, call: OperationCall, exc: APIError) -> None:
        retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
        self.limiter.observe(call.name, exc.status, exc.headers, retry_after=retry_after)


class LimiterStage(_LimiterBase):
    """Waits for a permit in every bucket the call counts against, then reports the response."""

    def __call__(self, call: OperationCall, proceed: Callable[[], R]) -> R:
        """Acquire, run ``proceed``, and feed the response back to the limiter."""
        waited = 0.0
        for bucket in rate_limit_buckets(call.operation, call.kwargs):
            waited += self.limiter.acquire(
                bucket.bucket, limits=bucket.limits, deadline=self._deadline(waited)
            )
        call.throttle_wait = waited
        try:
            result = proceed()
        except APIError as exc:
            self._observe_error(call, exc)
            raise
        self.limiter.observe(call.name, call.status or 200, call.response_headers or {})
        return result


class AsyncLimiterStage(_LimiterBase):
    """The async twin of :class:`LimiterStage`."""

    async def __call__(self, call: OperationCall, proceed: Callable[[], Awaitable[R]]) -> R:
        """Acquire without blocking the loop, await ``proceed``, and report the response."""
        waited = 0.0
        for bucket in rate_limit_buckets(call.operation, call.kwargs):
            waited += await self.limiter.aacquire(
                bucket.bucket, limits=bucket.limits, deadline=self._deadline(waited)
            )
        call.throttle_wait = waited
        try:
            result = await proceed()
        except APIError as exc:
            self._observe_error(call, exc)
            raise
        self.limiter.observe(call.name, call.status or 200, call.response_headers or {})
        return result


class _BreakerBase:
    def __init__(self, breaker: CircuitBreaker) -> None:
        """Guard calls with ``breaker``."""
        self.breaker = breaker


class BreakerStage(_BreakerBase):
    """Fails fast while the circuit breaker is open; records each attempt's outcome."""

    def __call__(self, call: OperationCall, proceed: Callable[[], R]) -> R:  # noqa: ARG002
        """Run ``proceed`` through the breaker."""
        return self.breaker.call(proceed)


class AsyncBreakerStage(_BreakerBase):
    """The async twin of :class:`BreakerStage`."""

    async def __call__(
        self,
        call: OperationCall,  # noqa: ARG002 - the stage protocol's signature
        proceed: Callable[[], Awaitable[R]],
    ) -> R:
        """Await ``proceed`` through the breaker."""
        return await self.breaker.acall(proceed)


class _HooksBase:
    def __init__(self, hooks: Hooks, *, clock: Callable[[], float] = time.perf_counter) -> None:
        """Report to ``hooks``, timing with ``clock``."""
        self.hooks = hooks
        self.clock = clock

    def _start(self, call: OperationCall) -> tuple[int, float]:
        call_id = next(_ids)
        self.hooks.on_request_start(
            RequestStart(call_id, call.name, call.attempt, call.throttle_wait)
        )
        return call_id, self.clock()

    def _end(
        self, call: OperationCall, call_id: int, started: float, error: BaseException | None
    ) -> None:
        status = call.status
        if isinstance(error, APIError):
            status = error.status
        elif isinstance(error, KlaviyoError):
            status = None
        self.hooks.on_request_end(
            RequestEnd(
                call_id,
                call.name,
                call.attempt,
                status,
                self.clock() - started,
                type(error).__name__ if error is not None else None,
            )
        )


class HooksStage(_HooksBase):
    """Tells the hooks when each attempt starts and ends (with status, duration and error)."""

    def __call__(self, call: OperationCall, proceed: Callable[[], R]) -> R:
        """Run ``proceed`` between a start and an end event."""
        call.status = None
        call_id, started = self._start(call)
        try:
            result = proceed()
        except BaseException as exc:
            self._end(call, call_id, started, exc)
            raise
        self._end(call, call_id, started, None)
        return result


class AsyncHooksStage(_HooksBase):
    """The async twin of :class:`HooksStage`."""

    async def __call__(self, call: OperationCall, proceed: Callable[[], Awaitable[R]]) -> R:
        """Await ``proceed`` between a start and an end event."""
        call.status = None
        call_id, started = self._start(call)
        try:
            result = await proceed()
        except BaseException as exc:
            self._end(call, call_id, started, exc)
            raise
        self._end(call, call_id, started, None)
        return result
