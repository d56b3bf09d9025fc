from datetime import datetime, timedelta, timezone
from typing import Any

from klaviyo_kit.health import CheckResult
from klaviyo_kit.infra import MemoryStateStore
from klaviyo_kit.jobs import JobReport, JobStatus, load_status, save_status
from klaviyo_kit.jobs._health import check_job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def report(
    minutes_ago: float,
    *,
    errors: tuple[str, ...] = (),
    complete: bool = True,
    watermark: datetime | None = None,
) -> JobReport:
    return JobReport(
        "sync",
        at(minutes_ago + 1),
        at(minutes_ago),
        complete=complete,
        errors=errors,
        watermark=watermark,
    )


def check(store: MemoryStateStore, **options: Any) -> CheckResult:
    return check_job(load_status(store, "sync"), now=lambda: NOW, **options)


def test_a_job_that_never_ran_is_unhealthy():
    result = check_job(JobStatus("sync"), max_age=60, now=lambda: NOW)
    assert result.name == "job_sync"
    assert not result.healthy
    assert result.detail == "never ran"


def test_a_recent_success_is_healthy_and_counts_ages():
    store = MemoryStateStore()
    save_status(store, report(5, watermark=at(20)))
    result = check(store, max_age=timedelta(minutes=10), max_lag=timedelta(hours=1))
    assert result.healthy
    assert result.counts == {
        "errors": 0,
        "since_run": 300,
        "since_success": 300,
        "watermark_lag": 1200,
    }
    assert result.detail == "last run 5m ago (ok), last success 5m ago, watermark 20m behind"


def test_an_old_success_or_a_lagging_watermark_is_unhealthy():
    store = MemoryStateStore()
    save_status(store, report(30, watermark=at(200)))
    assert not check(store, max_age=timedelta(minutes=10)).healthy
    assert check(store, max_age=timedelta(hours=1)).healthy
    assert not check(store, max_age=timedelta(hours=1), max_lag=timedelta(hours=1)).healthy


def test_a_failed_pass_after_a_recent_success_stays_healthy_until_max_age():
    store = MemoryStateStore()
    save_status(store, report(8))
    save_status(store, report(1, errors=("boom",), complete=False))
    result = check(store, max_age=600)
    assert result.healthy
    assert result.counts["errors"] == 1
    assert result.detail == "last run 60s ago (1 error(s)), last success 8m ago"
    assert not check(store, max_age=300).healthy


def test_a_job_that_never_succeeded_is_unhealthy():
    store = MemoryStateStore()
    save_status(store, report(1, complete=False))
    result = check(store, max_age=600)
    assert not result.healthy
    assert result.detail == "last run 60s ago (incomplete), never succeeded"


def test_the_jobs_report_holds_each_job_and_the_delivery_backlog():
    from datetime import datetime, timedelta, timezone

    from klaviyo_kit.infra import MemoryQueue, MemoryStateStore
    from klaviyo_kit.jobs import JobReport, jobs_health, save_status

    at = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    store = MemoryStateStore()
    save_status(store, JobReport("export", started=at, finished=at))
    queue = MemoryQueue()
    queue.enqueue({"profile": {}})
    report = jobs_health(
        store, {"export": 3600, "sync": 3600}, queue=queue, now=lambda: at + timedelta(minutes=5)
    )
    by_name = {c.name: c for c in report.checks}
    assert by_name["job_export"].healthy
    assert not by_name["job_sync"].healthy  # never ran
    assert by_name["event_delivery"].counts == {"backlog": 1, "dead_letters": 0}
    assert not report.healthy
