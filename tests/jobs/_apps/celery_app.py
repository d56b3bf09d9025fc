"""The Celery app the tests' worker subprocesses run: ``celery -A tests.jobs._apps.celery_app``.

Configured by the environment: ``KK_BROKER`` (broker URL), ``KK_CELERY_QUEUE`` (its queue),
``KK_SANDBOX_URL``, ``KK_REDIS_URL`` (limiter and event queue), ``KK_EVENTS_QUEUE``,
``KK_STATE`` (SQLite file of the state store), ``KK_BATCH`` (events per delivery).
"""

from __future__ import annotations

import os

from celery import Celery  # type: ignore[import-untyped]
from tests.jobs._apps.demo import TrackPagesJob, client_for, env

from klaviyo_kit import KlaviyoClient
from klaviyo_kit.infra import RedisQueue, SQLStateStore
from klaviyo_kit.jobs.celery import register_tasks

app = Celery("klaviyo_kit_tests", broker=env("KK_BROKER"))
app.conf.update(
    task_default_queue=env("KK_CELERY_QUEUE"),
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


def _client() -> KlaviyoClient:
    return client_for(
        env("KK_SANDBOX_URL"),
        rate_limit={
            "backend": os.environ.get("KK_LIMITER", "redis"),
            "redis_url": env("KK_REDIS_URL"),
            "max_wait": 0.5,
            # A permit is granted when the request leaves, Klaviyo counts it when it lands: keep
            # 10% of the burst window for the transit time of requests from many processes.
            "headroom": 0.9,
        },
    )


tasks = register_tasks(
    app,
    client_factory=_client,
    store_factory=lambda: SQLStateStore(f"sqlite:///{env('KK_STATE')}"),
    queue_factory=lambda: RedisQueue(env("KK_REDIS_URL"), name=env("KK_EVENTS_QUEUE")),
    jobs={
        "track_pages": lambda client, store: TrackPagesJob(client, store, pages=3),
        # A pass that would take over an hour: only a stop ends it early.
        "long_pages": lambda client, store: TrackPagesJob(
            client, store, name="long_pages", pages=100_000, page_delay=0.05, log=True
        ),
    },
    batch_size=int(os.environ.get("KK_BATCH", "1000")),
)
