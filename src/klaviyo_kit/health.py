"""Health checks: is the kit able to talk to Klaviyo right now, and is its infrastructure up?

Each check returns a :class:`CheckResult`; :func:`run_checks` gathers them into a
:class:`HealthReport` that a ``/healthz`` endpoint can serialise with :meth:`HealthReport.as_dict`.
``KlaviyoClient.health()`` runs them for the client's credentials, its own breaker, limiter and
cache, each background event sender (its backlog and dead letters), and, when asked, one real
Klaviyo call (``get_accounts``, 1/s and 15/min, so not on every probe).

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from klaviyo_kit import errors as _errors

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from pydantic import JsonValue

    from klaviyo_kit.infra import Cache, JobQueue
    from klaviyo_kit.resilience import CircuitBreaker, RateLimiter

__all__ = [
    "BackgroundSender",
    "CheckResult",
    "HealthReport",
    "Pingable",
    "acheck_klaviyo",
    "check_breaker",
    "check_cache",
    "check_credentials",
    "check_klaviyo",
    "check_limiter",
    "check_sender",
    "run_checks",
]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: What was checked: ``credentials``, ``breaker``, ``rate_limiter``, ``cache``,
            ``events_sender`` (``events_sender_2``, … for further senders) or ``klaviyo``.
        healthy: Whether it is usable.
        detail: One line saying what was seen (never a secret).
        latency: Seconds the check took, when it did I/O.
        counts: Numbers the check read, e.g. a sender's ``backlog`` and ``dead_letters``.
    """

    name: str
    healthy: bool
    detail: str
    latency: float | None = None
    counts: dict[str, int] = field(default_factory=dict)


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
                c.name: {
                    "healthy": c.healthy,
                    "detail": c.detail,
                    "latency": c.latency,
                    **({"counts": dict(c.counts)} if c.counts else {}),
                }
                for c in self.checks
            },
        }


@runtime_checkable
class Pingable(Protocol):
    """A component backed by a server that can be asked whether it answers."""

    def ping(self) -> None:
        """Return if the server answers; raise otherwise."""


@runtime_checkable
class BackgroundSender(Protocol):
    """What a health check reads of a background event sender."""

    @property
    def queue(self) -> JobQueue:
        """The queue the sender drains."""

    @property
    def running(self) -> bool:
        """Whether the sender's thread or task is still delivering."""


def _failure(exc: BaseException) -> str:
    return _errors.redact(f"{type(exc).__name__}: {exc}")[:200]


def check_credentials(*, private_key: bool) -> CheckResult:
    """Report whether the client has a key to call Klaviyo with (never the key itself).

    Args:
        private_key: Whether a private API key is configured.
    """
    if not private_key:
        detail = "no private API key: set KLAVIYO_PRIVATE_KEY or pass private_key="
        return CheckResult("credentials", healthy=False, detail=detail)
    return CheckResult("credentials", healthy=True, detail="private API key configured")


def check_sender(
    sender: BackgroundSender,
    name: str = "events_sender",
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> CheckResult:
    """Report a background sender's backlog and dead letters; unhealthy if it stopped.

    Dead letters do not make the sender unhealthy (it still delivers); they are counted so an
    alert can watch them.

    Args:
        sender: The sender.
        name: The check's name.
        clock: Times the queue reads.
    """
    started = clock()
    try:
        backlog = sender.queue.size()
        dead = len(sender.queue.dead_letters())
    except Exception as exc:  # noqa: BLE001 - any failure makes the check unhealthy
        return CheckResult(name, healthy=False, detail=f"queue unreadable: {_failure(exc)}")
    counts = {"backlog": backlog, "dead_letters": dead}
    detail = f"{backlog} queued, {dead} dead letters"
    latency = clock() - started
    if not sender.running:
        return CheckResult(name, healthy=False, detail=f"stopped with {detail}", counts=counts)
    return CheckResult(name, healthy=True, detail=detail, latency=latency, counts=counts)


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
    private_key: bool = True,
    senders: Sequence[BackgroundSender] = (),
) -> HealthReport:
    """Run every check; the Klaviyo probe only when given.

    Args:
        breaker: The client's circuit breaker.
        limiter: The client's rate limiter.
        cache: The client's cache.
        probe: One Klaviyo call to make, or ``None`` to skip the network.
        private_key: Whether the client has a private API key.
        senders: The client's background event senders.

    Returns:
        The report.
    """
    checks = [
        check_credentials(private_key=private_key),
        check_breaker(breaker),
        check_limiter(limiter),
        check_cache(cache),
    ]
    checks += [
        check_sender(sender, "events_sender" if i == 1 else f"events_sender_{i}")
        for i, sender in enumerate(senders, start=1)
    ]
    if probe is not None:
        checks.append(check_klaviyo(probe))
    return HealthReport(tuple(checks))
