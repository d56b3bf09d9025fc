"""Retries that honour Klaviyo: ``Retry-After`` first, capped exponential backoff otherwise."""

from __future__ import annotations

import asyncio
import random
import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple, TypeVar

import tenacity

from klaviyo_kit.config import RetrySettings
from klaviyo_kit.errors import (
    CloudflareChallengeError,
    ConnectError,
    KlaviyoError,
    RateLimitError,
    ServerError,
    TransportError,
)
from klaviyo_kit.resilience._hooks import Hooks, RetryScheduled, combine_hooks
from klaviyo_kit.resilience._idempotency import is_idempotent

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from klaviyo_kit.operations import Operation

__all__ = ["RetryPolicy"]

T = TypeVar("T")

_NO_KWARGS: Final[Mapping[str, object]] = MappingProxyType({})


def _full_jitter(cap: float) -> float:
    return random.uniform(0.0, cap)  # noqa: S311 - backoff spread, not security


class RetryPolicy:
    """Decide whether, when and how often a failed Klaviyo call is tried again.

    Retried: :class:`~klaviyo_kit.errors.RateLimitError` (429) and
    :class:`~klaviyo_kit.errors.ConnectError` (the request was never sent) for every operation;
    :class:`~klaviyo_kit.errors.ServerError` and other
    :class:`~klaviyo_kit.errors.TransportError` (such as a read timeout, after which Klaviyo may
    have acted) only for idempotent calls, see :func:`is_idempotent`. Anything else is raised at
    once.

    The wait before attempt ``n + 1`` is the error's ``retry_after`` when Klaviyo gave one, else
    ``jitter(min(wait_max, wait_initial * 2 ** (n - 1)))`` ("full jitter": uniform between 0 and
    that cap). Retrying stops after ``attempts`` attempts or when the next wait would end after
    ``timeout`` seconds from the first attempt, whichever comes first. The error raised is the
    last one, with ``attempts`` set to the number of attempts made.

    Args:
        attempts: Most attempts, the first included (1 turns retries off).
        timeout: Most seconds from the first attempt to the start of the last.
        wait_initial: Backoff cap after the first failure, in seconds.
        wait_max: Largest backoff cap, in seconds.
        clock: Monotonic seconds (default :func:`time.monotonic`).
        sleep: Blocking sleep (default :func:`time.sleep`).
        asleep: Async sleep (default :func:`asyncio.sleep`).
        jitter: Maps a backoff cap to the actual wait (default: uniform in ``[0, cap]``).
        idempotent: Decides whether a call is safe to repeat (default :func:`is_idempotent`).
        hooks: Told about every retry (``on_retry``).

    Raises:
        ValueError: If an option is out of range.

    Example:
        >>> from klaviyo_kit.operations import operation
        >>> from klaviyo_kit.resilience import RetryPolicy
        >>> policy = RetryPolicy(attempts=3)
        >>> policy.call(lambda: "ok", operation=operation("get_profiles"))
        'ok'
    """

    def __init__(
        self,
        *,
        attempts: int = 5,
        timeout: float = 120.0,
        wait_initial: float = 0.5,
        wait_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[float], float] = _full_jitter,
        idempotent: Callable[[Operation, tuple[object, ...], Mapping[str, object]], bool] = (
            is_idempotent
        ),
        hooks: Hooks | None = None,
    ) -> None:
        """Create a policy; see the class docstring for the meaning of each option."""
        checks = (
            ("attempts", attempts, attempts >= 1, ">= 1"),
            ("timeout", timeout, timeout > 0, "> 0"),
            ("wait_initial", wait_initial, wait_initial >= 0, ">= 0"),
            ("wait_max", wait_max, wait_max >= 0, ">= 0"),
        )
        for option, value, valid, rule in checks:  # "not >" also refuses nan
            if not valid:
                msg = f"{option} must be {rule}, got {value!r}"
                raise ValueError(msg)
        self.attempts = attempts
        self.timeout = timeout
        self.wait_initial = wait_initial
        self.wait_max = wait_max
        self._clock = clock
        self._sleep = sleep
        self._asleep = asleep
        self._jitter = jitter
        self._idempotent = idempotent
        self._hooks = combine_hooks(hooks)

    @classmethod
    def from_settings(
        cls,
        settings: RetrySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[float], float] = _full_jitter,
        hooks: Hooks | None = None,
    ) -> RetryPolicy:
        """Build a policy from :class:`~klaviyo_kit.config.RetrySettings`.

        Args:
            settings: The retry settings (``KLAVIYO_RETRY__*``); ``None`` uses the defaults.
            clock: Monotonic seconds.
            sleep: Blocking sleep.
            asleep: Async sleep.
            jitter: Maps a backoff cap to the actual wait.
            hooks: Told about every retry.

        Returns:
            The policy.
        """
        s = settings or RetrySettings()
        return cls(
            attempts=s.attempts,
            timeout=s.timeout,
            wait_initial=s.wait_initial,
            wait_max=s.wait_max,
            clock=clock,
            sleep=sleep,
            asleep=asleep,
            jitter=jitter,
            hooks=hooks,
        )

    def __repr__(self) -> str:
        """Show the limits of the policy."""
        return (
            f"RetryPolicy(attempts={self.attempts}, timeout={self.timeout}, "
            f"wait_initial={self.wait_initial}, wait_max={self.wait_max})"
        )

    def should_retry(
        self,
        error: BaseException,
        operation: Operation,
        args: tuple[object, ...] = (),
        kwargs: Mapping[str, object] = _NO_KWARGS,
    ) -> bool:
        """Return whether ``error`` from this call is worth another attempt.

        Args:
            error: What the attempt raised.
            operation: The SDK operation.
            args: The positional arguments of the SDK call.
            kwargs: The keyword arguments of the SDK call.

        Returns:
            ``True`` for a 429, a Cloudflare challenge or a connection failure (none of them
            reached Klaviyo's API), and for a 5xx or another transport error when the call is
            idempotent.
        """
        if isinstance(error, (RateLimitError, CloudflareChallengeError, ConnectError)):
            return True
        if isinstance(error, (ServerError, TransportError)):
            return self._idempotent(operation, args, kwargs)
        return False

    def backoff(self, attempt: int, error: BaseException | None = None) -> float:
        """Return the wait after failed attempt number ``attempt`` (1-based).

        Args:
            attempt: The attempt that just failed.
            error: Its error; a :class:`~klaviyo_kit.errors.RateLimitError` with
                ``retry_after`` sets the wait.

        Returns:
            Seconds to wait before the next attempt.
        """
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        cap = min(self.wait_max, self.wait_initial * 2 ** (attempt - 1))
        return max(0.0, self._jitter(cap))

    def call(
        self,
        fn: Callable[[], T],
        *,
        operation: Operation,
        args: tuple[object, ...] = (),
        kwargs: Mapping[str, object] = _NO_KWARGS,
    ) -> T:
        """Call ``fn`` until it succeeds or the policy gives up.

        Args:
            fn: One attempt of the call.
            operation: The SDK operation (its name is reported; it decides idempotency).
            args: The SDK call's positional arguments, to tell whether a write is idempotent.
            kwargs: The SDK call's keyword arguments.

        Returns:
            What ``fn`` returned.

        Raises:
            klaviyo_kit.errors.KlaviyoError: The last error, with ``attempts`` set, when the
                call was not retryable or the policy gave up.
        """
        started = self._clock()
        try:
            return fn()  # most calls succeed at once: no retry machinery is built for them
        except Exception as exc:
            if self._final(exc, operation, args, kwargs):
                raise
            first: BaseException = exc
        counter = _Counter(first)
        plan = self._plan(operation, args, kwargs, started)
        retrying = tenacity.Retrying(
            sleep=self._sleep,
            reraise=True,
            wait=plan.wait,
            stop=plan.stop,
            retry=plan.retry,
            before_sleep=plan.before_sleep,
        )
        try:
            return retrying(counter.wrap(fn))
        except KlaviyoError as exc:
            exc.attempts = counter.count
            raise

    async def acall(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        operation: Operation,
        args: tuple[object, ...] = (),
        kwargs: Mapping[str, object] = _NO_KWARGS,
    ) -> T:
        """Await ``fn`` until it succeeds or the policy gives up; otherwise like :meth:`call`.

        Raises:
            klaviyo_kit.errors.KlaviyoError: The last error, with ``attempts`` set.
        """
        started = self._clock()
        try:
            return await fn()  # most calls succeed at once: no retry machinery is built for them
        except Exception as exc:
            if self._final(exc, operation, args, kwargs):
                raise
            first: BaseException = exc
        counter = _Counter(first)
        plan = self._plan(operation, args, kwargs, started)
        retrying = tenacity.AsyncRetrying(
            sleep=self._asleep,
            reraise=True,
            wait=plan.wait,
            stop=plan.stop,
            retry=plan.retry,
            before_sleep=plan.before_sleep,
        )

        async def attempt() -> T:
            counter.replay()
            counter.count += 1
            return await fn()

        try:
            return await retrying(attempt)
        except KlaviyoError as exc:
            exc.attempts = counter.count
            raise

    def _final(
        self,
        error: Exception,
        operation: Operation,
        args: tuple[object, ...],
        kwargs: Mapping[str, object],
    ) -> bool:
        """Whether the first attempt's ``error`` ends the call (then it says one attempt)."""
        if self.attempts > 1 and self.should_retry(error, operation, args, kwargs):
            return False
        if isinstance(error, KlaviyoError):
            error.attempts = 1
        return True

    def _plan(
        self,
        operation: Operation,
        args: tuple[object, ...],
        kwargs: Mapping[str, object],
        started: float,
    ) -> _Plan:
        waits: dict[int, float] = {}

        def wait(state: tenacity.RetryCallState) -> float:
            number = state.attempt_number
            if number not in waits:
                error = state.outcome.exception() if state.outcome is not None else None
                waits[number] = self.backoff(number, error)
            return waits[number]

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self.attempts:
                return True
            return self._clock() - started + wait(state) > self.timeout

        def retry(state: tenacity.RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is None or not outcome.failed:
                return False
            error = outcome.exception()
            return error is not None and self.should_retry(error, operation, args, kwargs)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            self._hooks.on_retry(
                RetryScheduled(
                    operation=operation.name,
                    attempt=state.attempt_number,
                    wait=wait(state),
                    error=type(error).__name__,
                    status=getattr(error, "status", None),
                )
            )

        return _Plan(wait, stop, retry, before_sleep)


class _Plan(NamedTuple):
    """The tenacity strategies of one call (they share its start time and computed waits)."""

    wait: Callable[[tenacity.RetryCallState], float]
    stop: Callable[[tenacity.RetryCallState], bool]
    retry: Callable[[tenacity.RetryCallState], bool]
    before_sleep: Callable[[tenacity.RetryCallState], None]


class _Counter:
    """Counts attempts so the final error can say how many were made.

    The first attempt ran before tenacity was involved: tenacity's first "attempt" raises that
    attempt's error again (without calling the function), so its plan decides exactly as if
    it had made the call itself.
    """

    __slots__ = ("count", "first")

    def __init__(self, first: BaseException) -> None:
        self.count = 1
        self.first: BaseException | None = first

    def replay(self) -> None:
        """Raise the first attempt's error, once."""
        if self.first is not None:
            error, self.first = self.first, None
            raise error

    def wrap(self, fn: Callable[[], T]) -> Callable[[], T]:
        def attempt() -> T:
            self.replay()
            self.count += 1
            return fn()

        return attempt
