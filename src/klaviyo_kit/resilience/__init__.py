"""Resilience: rate limiting, retries and a circuit breaker in front of Klaviyo.

Every Klaviyo call goes through the limiter (per account x operation, burst and steady
windows), the circuit breaker and the retry policy. Each stage reports through :class:`Hooks`.
"""

from __future__ import annotations

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
from klaviyo_kit.resilience._limiter import RateLimiter, Window, operation_limits
from klaviyo_kit.resilience._memory_limiter import MemoryRateLimiter
from klaviyo_kit.resilience._redis_limiter import RedisRateLimiter

__all__ = [
    "BaseHooks",
    "BreakerChange",
    "BreakerState",
    "Hooks",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "RequestEnd",
    "RequestStart",
    "RetryScheduled",
    "ThrottleWait",
    "Window",
    "combine_hooks",
    "operation_limits",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and _obj.__module__.startswith("klaviyo_kit.resilience."):
        _obj.__module__ = __name__
del _name, _obj
