"""A health check for a job: did it run lately, did it succeed lately, how far behind is it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from klaviyo_kit.health import CheckResult, HealthReport
from klaviyo_kit.jobs._job import load_status, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.infra import JobQueue, StateStore
    from klaviyo_kit.jobs._job import JobStatus

__all__ = ["check_delivery_queue", "check_job", "jobs_health"]


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _ago(seconds: float) -> str:
    if seconds < 120:  # noqa: PLR2004 - seconds read best up to two minutes
        return f"{seconds:.0f}s"
    if seconds < 7200:  # noqa: PLR2004 - minutes up to two hours
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def check_job(
    status: JobStatus,
    *,
    max_age: float | timedelta,
    max_lag: float | timedelta | None = None,
    now: Callable[[], datetime] = utcnow,
) -> CheckResult:
    """Report a job's last run, last success and watermark lag from its recorded status.

    The job is healthy when its last complete, error-free pass finished less than ``max_age``
    ago and, given ``max_lag``, its watermark is less than that far behind. A failed last pass
    after a recent success stays healthy (the detail says so, and ``counts["errors"]`` holds
    its error count), so one bad run alerts only once it lasts longer than ``max_age``.

    Args:
        status: The job's status (``load_status(store, name)``).
        max_age: Longest time since the last success (seconds or a ``timedelta``).
        max_lag: Longest time the watermark may trail now, or ``None`` not to check it.
        now: The current UTC time.

    Returns:
        A check named ``job_<name>``; ``counts`` has ``since_run``, ``since_success`` and
        ``watermark_lag`` in seconds (when known) and ``errors``.

    Example:
        ```python
        result = check_job(load_status(store, "profile_sync"), max_age=timedelta(minutes=30))
        ```
    """
    name = f"job_{status.name}"
    current = now()
    since_run = _age(current, status.last_run)
    since_success = _age(current, status.last_success)
    lag = _age(current, status.watermark)
    errors = status.last_report.get("errors")
    counts = {"errors": len(errors) if isinstance(errors, list) else 0}
    for key, value in (("since_run", since_run), ("since_success", since_success)):
        if value is not None:
            counts[key] = int(value)
    if lag is not None:
        counts["watermark_lag"] = int(lag)
    if since_run is None:
        return CheckResult(name, healthy=False, detail="never ran", counts=counts)
    last = "ok" if status.last_report.get("complete") and not counts["errors"] else "incomplete"
    if counts["errors"]:
        last = f"{counts['errors']} error(s)"
    parts = [f"last run {_ago(since_run)} ago ({last})"]
    parts.append(
        "never succeeded" if since_success is None else f"last success {_ago(since_success)} ago"
    )
    if lag is not None:
        parts.append(f"watermark {_ago(lag)} behind")
    healthy = since_success is not None and since_success <= _seconds(max_age)
    if max_lag is not None and lag is not None and lag > _seconds(max_lag):
        healthy = False
    return CheckResult(name, healthy=healthy, detail=", ".join(parts), counts=counts)


def check_delivery_queue(queue: JobQueue, name: str = "event_delivery") -> CheckResult:
    """Report the backlog and dead letters of the queue that workers deliver events from.

    Unhealthy only when the queue cannot be read; the numbers are for alerts to watch.

    Args:
        queue: The queue web processes enqueue into (``enqueue_events``).
        name: The check's name.
    """
    try:
        backlog = queue.size()
        dead = len(queue.dead_letters())
    except Exception as exc:  # noqa: BLE001 - any failure makes the check unhealthy
        detail = f"queue unreadable: {type(exc).__name__}"
        return CheckResult(name, healthy=False, detail=detail)
    counts = {"backlog": backlog, "dead_letters": dead}
    detail = f"{backlog} queued, {dead} dead letters"
    return CheckResult(name, healthy=True, detail=detail, counts=counts)


def jobs_health(
    store: StateStore,
    max_ages: Mapping[str, float | timedelta],
    *,
    queue: JobQueue | None = None,
    max_lag: float | timedelta | None = None,
    now: Callable[[], datetime] = utcnow,
) -> HealthReport:
    """The jobs' health report, beside ``client.health()``: one check per job, and the queue.

    Args:
        store: The state store the jobs record their status in.
        max_ages: Each job's name and the longest time allowed since its last success.
        queue: The event delivery queue, whose backlog and dead letters to report.
        max_lag: Longest time any job's watermark may trail now, or ``None``.
        now: The current UTC time.

    Returns:
        A :class:`~klaviyo_kit.health.HealthReport` (``report.as_dict()`` for ``/healthz``).

    Example:
        ```python
        report = jobs_health(store, {"profile-sync": 1800}, queue=RedisQueue(url))
        ```
    """
    checks = [
        check_job(load_status(store, name), max_age=age, max_lag=max_lag, now=now)
        for name, age in max_ages.items()
    ]
    if queue is not None:
        checks.append(check_delivery_queue(queue))
    return HealthReport(tuple(checks))
