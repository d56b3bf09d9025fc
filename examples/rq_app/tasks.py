"""The RQ kit: jobs and bulk event delivery as RQ functions, sharing one rate budget.

Run workers (with the scheduler: countdowns and repeats are ``enqueue_in``)::

    rq worker --with-scheduler -u redis://127.0.0.1:6379/7 klaviyo

Configured by the environment (defaults: this machine's Redis, the sandbox on port 8787):
``RQ_REDIS_URL`` (RQ's own Redis), ``KIT_REDIS_URL`` (the shared rate limiter and the event
queue), ``STATE_URL`` (the state store), ``KLAVIYO_PRIVATE_KEY`` and ``KLAVIYO_BASE_URL``.
"""

from __future__ import annotations

import os

import redis
from examples.celery_app.jobs import HeartbeatJob
from rq import Queue

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import RedisQueue, SQLStateStore
from klaviyo_kit.jobs.rq import RQKit

RQ_REDIS_URL = os.environ.get("RQ_REDIS_URL", "redis://127.0.0.1:6379/7")
KIT_REDIS_URL = os.environ.get("KIT_REDIS_URL", "redis://127.0.0.1:6379/8")
STATE_URL = os.environ.get("STATE_URL", "sqlite:///rq_example_state.sqlite3")
RQ_QUEUE = "klaviyo"


def make_client() -> KlaviyoClient:
    """A work horse's client: the Redis limiter shares one budget with every worker."""
    defaults = {"private_key": "pk_" + "example" * 5, "base_url": "http://127.0.0.1:8787"}
    settings = {k: v for k, v in defaults.items() if f"KLAVIYO_{k.upper()}" not in os.environ}
    return KlaviyoClient(
        KlaviyoSettings(
            **settings,  # type: ignore[arg-type]
            # max_wait: a long wait for a permit becomes a countdown, not a sleeping worker.
            rate_limit={
                "backend": "redis",
                "redis_url": KIT_REDIS_URL,
                "max_wait": 1.0,
                "headroom": 0.9,
            },
        )
    )


def make_queue() -> RedisQueue:
    """The queue web processes put events on."""
    return RedisQueue(KIT_REDIS_URL, name="events")


def rq_queue() -> Queue:
    """The RQ queue the workers listen on."""
    return Queue(RQ_QUEUE, connection=redis.Redis.from_url(RQ_REDIS_URL))


kit = RQKit(
    "examples.rq_app.tasks:kit",
    client_factory=make_client,
    store_factory=lambda: SQLStateStore(STATE_URL),
    queue_factory=make_queue,
    # Any Job: ProfileSyncJob, ListCleanupJob, MetricsExportJob are configured the same way.
    jobs={"heartbeat": HeartbeatJob},
)
