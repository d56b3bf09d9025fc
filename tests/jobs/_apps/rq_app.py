"""The RQKit the tests' RQ workers use (``tests.jobs._apps.rq_app:kit``); see celery_app."""

from __future__ import annotations

import os

from tests.jobs._apps.demo import TrackPagesJob, client_for, env

from klaviyo_kit import KlaviyoClient
from klaviyo_kit.infra import RedisQueue, SQLStateStore
from klaviyo_kit.jobs.rq import RQKit


def _client() -> KlaviyoClient:
    return client_for(
        env("KK_SANDBOX_URL"),
        rate_limit={
            "backend": "redis",
            "redis_url": env("KK_REDIS_URL"),
            "max_wait": 0.5,
            # A permit is granted when the request leaves, Klaviyo counts it when it lands: keep
            # 10% of the burst window for the transit time of requests from many processes.
            "headroom": 0.9,
        },
    )


kit = RQKit(
    "tests.jobs._apps.rq_app:kit",
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
