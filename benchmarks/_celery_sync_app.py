"""The Celery app of ``benchmarks/jobs_celery.py``: the profile sync as a task (see there).

Configured by the environment: ``BENCH_BROKER``, ``BENCH_REDIS`` (the shared limiter and the
request counters), ``BENCH_SANDBOX``, ``BENCH_APP_DB`` and ``BENCH_STATE_DB`` (SQLite files),
``BENCH_SCALE`` (the sandbox's time scale; the limiter's windows are scaled the same way).
"""

from __future__ import annotations

import os

import redis
from celery import Celery  # type: ignore[import-untyped]

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import SQLStateStore
from klaviyo_kit.jobs import ProfileSyncJob, SQLProfileSource
from klaviyo_kit.jobs.celery import register_tasks
from klaviyo_kit.resilience import BaseHooks, RedisRateLimiter, RequestEnd

KEY = "pk_" + "j" * 34
SCALE = float(os.environ["BENCH_SCALE"])
COUNTS = "bench:jobs-celery:statuses"

app = Celery("bench_jobs_celery", broker=os.environ["BENCH_BROKER"])
app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1)


class StatusCounter(BaseHooks):
    """Counts every answer by status in Redis, across the worker's processes."""

    def __init__(self, url: str) -> None:
        """Connect to ``url``."""
        self._redis = redis.Redis.from_url(url)

    def on_request_end(self, event: RequestEnd) -> None:
        """Count one answer."""
        self._redis.hincrby(COUNTS, str(event.status), 1)


def _client() -> KlaviyoClient:
    settings = KlaviyoSettings(private_key=KEY, base_url=os.environ["BENCH_SANDBOX"])
    limiter = RedisRateLimiter(
        settings.account_fingerprint,
        url=os.environ["BENCH_REDIS"],
        burst_window=1 / SCALE,
        steady_window=60 / SCALE,
    )
    return KlaviyoClient(
        settings, limiter=limiter, hooks=(StatusCounter(os.environ["BENCH_REDIS"]),)
    )


def _sync(client: KlaviyoClient, store: SQLStateStore) -> ProfileSyncJob:
    return ProfileSyncJob(
        client,
        store,
        SQLProfileSource(f"sqlite:///{os.environ['BENCH_APP_DB']}", "users"),
        name="profile_sync",
        poll_interval=1 / SCALE,
        page_size=100,
        push_batch=10_000,
    )


tasks = register_tasks(
    app,
    client_factory=_client,
    store_factory=lambda: SQLStateStore(f"sqlite:///{os.environ['BENCH_STATE_DB']}"),
    jobs={"profile_sync": _sync},  # type: ignore[dict-item]
    lease_ttl=3600.0,
)
