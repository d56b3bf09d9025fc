"""A job's finished passes are remembered in the state store, for health checks and resumes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from klaviyo_kit.infra import MemoryStateStore
from klaviyo_kit.jobs import JobReport, load_status, save_status

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def report(minutes: int, **fields: object) -> JobReport:
    at = T0 + timedelta(minutes=minutes)
    return JobReport("sync", started=at - timedelta(seconds=5), finished=at, **fields)  # type: ignore[arg-type]


def test_a_job_that_never_ran_has_an_empty_status():
    status = load_status(MemoryStateStore(), "sync")
    assert (status.last_run, status.last_success, status.watermark) == (None, None, None)


def test_a_failed_pass_keeps_the_last_success_and_the_watermark():
    store = MemoryStateStore()
    save_status(store, report(0, counts={"pulled": 3}, watermark=T0))
    status = save_status(store, report(10, complete=False, errors=("ServerError: 503",)))
    assert status.last_run == T0 + timedelta(minutes=10)
    assert status.last_success == T0
    assert status.watermark == T0
    assert status.last_report["errors"] == ["ServerError: 503"]
    assert not report(10, complete=False).ok
    assert report(0).ok
