"""Health checks: is the kit able to talk to Klaviyo right now, and is its infrastructure up?

Each check returns a :class:`CheckResult`; :func:`run_checks` gathers them into a
:class:`HealthReport` that a ``/healthz`` endpoint can serialise with :meth:`HealthReport.as_dict`.
``KlaviyoClient.health()`` runs them for the client's own breaker, limiter and cache, and, when
asked, one real Klaviyo call (``get_accounts``, 1/s and 15/min, so not on every probe).

Example:
    ```python
    report = client.health(probe_klaviyo=True)
    if not report.healthy:
        print([c for c in report.checks if not c.healthy])
    ```
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from klaviyo_kit import errors as _errors

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pydantic import JsonValue

    from klaviyo_kit.infra import Cache
    from klaviyo_kit.resilience import CircuitBreaker, RateLimiter

__all__ = [
    "CheckResult",
    "HealthReport",
    "Pingable",
    "acheck_klaviyo",
    "check_breaker",
    "check_cache",
    "check_klaviyo",
    "check_limiter",
    "run_checks",
]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: What was checked: ``breaker``, ``rate_limiter``, ``cache`` or ``klaviyo``.
        healthy: Whether it is usable.
        detail: One line saying what was seen (never a secret).
        latency: Seconds the check took, when it did I/O.
    """

    name: str
    healthy: bool
    detail: str
    latency: float | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check's result.

    Attributes:
        checks: The results, in the order they ran.
    """

    checks: tuple[CheckResult, ...]

    @property
    def healthy(self) -> bool:
        """Whether every check passed."""
        return all(check.healthy for check in self.checks)

    def as_dict(self) -> dict[str, JsonValue]:
        """Return a JSON-able summary, e.g. for a ``/healthz`` response body."""
        return {
            "healthy": self.healthy,
            "checks": {
                c.name: {"healthy": c.healthy, "detail": c.detail, "latency": c.latency}
                for c in self.checks
            },
        }


@runtime_checkable
class Pingable(Protocol):
    """A component backed by a server that can be asked whether it answers."""

    def ping(self) -> None:
        """Return if the server answers; raise otherwise."""


def _failure(exc: BaseException) -> str:
    return _errors.redact(f"{type(exc).__name__}: {exc}")[:200]


def check_breaker(breaker: CircuitBreaker | None) -> CheckResult:
    """Report the circuit breaker's state: healthy unless calls are failing fast."""
    if breaker is None:
        return CheckResult("breaker", healthy=True, detail="no circuit breaker configured")
    snap = breaker.snapshot()
    detail = f"{snap.state}, {snap.consecutive_failures}/{snap.failure_threshold} failures"
    if snap.state == "open":
        detail += f", half-opens in {snap.retry_in:.1f}s"
    return CheckResult("breaker", healthy=snap.state != "open", detail=detail)


def check_limiter(
    limiter: RateLimiter | None, *, clock: Callable[[], float] = time.perf_counter
) -> CheckResult:
    """Check that a shared limiter's backend answers (an in-memory limiter always does)."""
    if limiter is None:
        return CheckResult("rate_limiter", healthy=True, detail="rate limiting is off")
    if not isinstance(limiter, Pingable):
        return CheckResult("rate_limiter", healthy=True, detail=f"{type(limiter).__name__}")
    started = clock()
    try:
        limiter.ping()
    except Exception as exc:  # noqa: BLE001 - any failure makes the check unhealthy
        return CheckResult("rate_limiter", healthy=False, detail=_failure(exc))
    return CheckResult(
        "rate_limiter", healthy=True, detail=repr(limiter), latency=clock() - started
    )


def check_cache(cache: Cache, *, clock: Callable[[], float] = time.perf_counter) -> CheckResult:
    """Write, read and delete a probe entry in the cache."""
    key = f"health:{uuid.uuid4().hex}"
    started = clock()
    try:
        cache.set(key, "ok", ttl=10)
        seen = cache.get(key)
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001 - any failure makes the check unhealthy
        return CheckResult("cache", healthy=False, detail=_failure(exc))
    latency = clock() - started
    name = type(cache).__name__
    if seen != "ok" and name != "NullCache":
        return CheckResult("cache", healthy=False, detail=f"{name} lost a probe entry")
    return CheckResult("cache", healthy=True, detail=name, latency=latency)


def _klaviyo_failure(exc: BaseException) -> CheckResult:
    if isinstance(exc, (_errors.AuthenticationError, _errors.PermissionDeniedError)):
        return CheckResult("klaviyo", healthy=False, detail=f"key rejected: {_failure(exc)}")
    return CheckResult("klaviyo", healthy=False, detail=_failure(exc))


def check_klaviyo(
    probe: Callable[[], object], *, clock: Callable[[], float] = time.perf_counter
) -> CheckResult:
    """Make one real call (through the pipeline) and report whether Klaviyo accepted it.

    Args:
        probe: The call, e.g. ``client.sdk.accounts.get_accounts``.
        clock: Times the call.
    """
    started = clock()
    try:
        probe()
    except Exception as exc:  # noqa: BLE001 - any failure makes the check unhealthy
        return _klaviyo_failure(exc)
    return CheckResult("klaviyo", healthy=True, detail="answered", latency=clock() - started)


async def acheck_klaviyo(
    probe: Callable[[], Awaitable[object]], *, clock: Callable[[], float] = time.perf_counter
) -> CheckResult:
    """The async twin of :func:`check_klaviyo` (``probe`` is awaited)."""
    started = clock()
    try:
        await probe()
    except Exception as exc:  # noqa: BLE001 - any failure makes the check unhealthy
        return _klaviyo_failure(exc)
    return CheckResult("klaviyo", healthy=True, detail="answered", latency=clock() - started)


def run_checks(
    *,
    breaker: CircuitBreaker | None,
    limiter: RateLimiter | None,
    cache: Cache,
    probe: Callable[[], object] | None = None,
) -> HealthReport:
    """Run every check; the Klaviyo probe only when given.

    Args:
        breaker: The client's circuit breaker.
        limiter: The client's rate limiter.
        cache: The client's cache.
        probe: One Klaviyo call to make, or ``None`` to skip the network.

    Returns:
        The report.
    """
    checks = [check_breaker(breaker), check_limiter(limiter), check_cache(cache)]
    if probe is not None:
        checks.append(check_klaviyo(probe))
    return HealthReport(tuple(checks))
