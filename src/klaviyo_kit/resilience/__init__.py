"""Resilience: rate limiting, retries and a circuit breaker in front of Klaviyo.

Every Klaviyo call goes through the limiter (per account x operation, burst and steady
windows), the circuit breaker and the retry policy. Each stage reports through :class:`Hooks`.
"""

from __future__ import annotations

from klaviyo_kit.resilience._breaker import BreakerSnapshot, CircuitBreaker
from klaviyo_kit.resilience._buckets import BucketLimit, rate_limit_buckets
from klaviyo_kit.resilience._hooks import (
    BaseHooks,
    BreakerChange,
    BreakerState,
    Hooks,
    RequestEnd,
    RequestStart,
    RetryScheduled,
    ThrottleWait,
    combine_hooks,
)
from klaviyo_kit.resilience._idempotency import is_idempotent
from klaviyo_kit.resilience._limiter import RateLimiter, Window, operation_limits
from klaviyo_kit.resilience._logging_hooks import LoggingHooks
from klaviyo_kit.resilience._memory_limiter import MemoryRateLimiter
from klaviyo_kit.resilience._otel_hooks import OpenTelemetryHooks
from klaviyo_kit.resilience._redis_limiter import RedisRateLimiter
from klaviyo_kit.resilience._retry import RetryPolicy

__all__ = [
    "BaseHooks",
    "BreakerChange",
    "BreakerSnapshot",
    "BreakerState",
    "BucketLimit",
    "CircuitBreaker",
    "Hooks",
    "LoggingHooks",
    "MemoryRateLimiter",
    "OpenTelemetryHooks",
    "RateLimiter",
    "RedisRateLimiter",
    "RequestEnd",
    "RequestStart",
    "RetryPolicy",
    "RetryScheduled",
    "ThrottleWait",
    "Window",
    "combine_hooks",
    "is_idempotent",
    "operation_limits",
    "rate_limit_buckets",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and _obj.__module__.startswith("klaviyo_kit.resilience."):
        _obj.__module__ = __name__
del _name, _obj
