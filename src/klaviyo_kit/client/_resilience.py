"""Build the default resilience stages from settings, or from what the caller injected."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from klaviyo_kit.resilience import (
    CircuitBreaker,
    LoggingHooks,
    MemoryRateLimiter,
    RedisRateLimiter,
    RetryPolicy,
    combine_hooks,
)
from klaviyo_kit.sdk import (
    AsyncBreakerStage,
    AsyncHooksStage,
    AsyncLimiterStage,
    AsyncRetryStage,
    BreakerStage,
    HooksStage,
    LimiterStage,
    RetryStage,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.resilience import Hooks, RateLimiter
    from klaviyo_kit.sdk import AsyncStage, Stage

__all__ = ["Resilience", "build_resilience"]


@dataclass(frozen=True, slots=True)
class Resilience:
    """The collaborators every call goes through (``None`` where switched off by settings).

    Attributes:
        limiter: Paces calls per account and operation.
        retry: Decides and waits for retries.
        breaker: Fails fast after repeated failures.
        hooks: Receives request, retry, throttle and breaker events.
        max_wait: Longest wait for a rate-limit permit.
    """

    limiter: RateLimiter | None
    retry: RetryPolicy
    breaker: CircuitBreaker | None
    hooks: Hooks
    max_wait: float | None

    def stages(self) -> list[Stage]:
        """Return the synchronous stages, outermost first."""
        stages: list[Stage] = [RetryStage(self.retry)]
        if self.limiter is not None:
            stages.append(LimiterStage(self.limiter, max_wait=self.max_wait))
        if self.breaker is not None:
            stages.append(BreakerStage(self.breaker))
        stages.append(HooksStage(self.hooks))
        return stages

    def async_stages(self) -> list[AsyncStage]:
        """Return the asynchronous stages, outermost first."""
        stages: list[AsyncStage] = [AsyncRetryStage(self.retry)]
        if self.limiter is not None:
            stages.append(AsyncLimiterStage(self.limiter, max_wait=self.max_wait))
        if self.breaker is not None:
            stages.append(AsyncBreakerStage(self.breaker))
        stages.append(AsyncHooksStage(self.hooks))
        return stages


def build_resilience(
    settings: KlaviyoSettings,
    *,
    limiter: RateLimiter | None,
    retry: RetryPolicy | None,
    breaker: CircuitBreaker | None,
    hooks: Iterable[Hooks],
    sleep: Callable[[float], None] = time.sleep,
    asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Resilience:
    """Use what was injected; build the rest from ``settings``.

    Logging hooks are always on (``logging.getLogger("klaviyo_kit")``, never configured here);
    the caller's hooks are added, and a failing hook never fails a call. ``sleep``/``asleep``
    drive retry backoff; a default limiter keeps the real clock and sleep (an injected no-op
    sleep must not turn pacing into a busy loop); inject a limiter to control its time too.
    """
    hook = combine_hooks(LoggingHooks(), *hooks)
    account = settings.account_fingerprint
    if limiter is None and settings.rate_limit.enabled:
        if settings.rate_limit.backend == "redis":
            limiter = RedisRateLimiter(
                account, settings.rate_limit, url=settings.rate_limit.redis_url, hooks=hook
            )
        else:
            limiter = MemoryRateLimiter(account, settings.rate_limit, hooks=hook)
    if retry is None:
        retry = RetryPolicy.from_settings(settings.retry, sleep=sleep, asleep=asleep, hooks=hook)
    if breaker is None and settings.breaker.enabled:
        breaker = CircuitBreaker.from_settings(settings.breaker, hooks=hook)
    return Resilience(limiter, retry, breaker, hook, settings.rate_limit.max_wait)
