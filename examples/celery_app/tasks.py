"""The Celery app: a task per job and the bulk event-delivery task, sharing one rate budget.

Run a worker: ``celery -A examples.celery_app.tasks worker --pool=prefork -c 4``
and beat:     ``celery -A examples.celery_app.tasks beat``

Configured by the environment (defaults: this machine's Redis, the sandbox on port 8787):
``BROKER_URL`` (``redis://...`` or ``amqp://guest:guest@127.0.0.1:5672//``), ``KIT_REDIS_URL``
(the shared rate limiter and the event queue), ``STATE_URL`` (the state store),
``KLAVIYO_PRIVATE_KEY`` and ``KLAVIYO_BASE_URL``.
"""

from __future__ import annotations

import os

from celery import Celery  # type: ignore[import-untyped]
from examples.celery_app.jobs import HeartbeatJob

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.infra import RedisQueue, SQLStateStore
from klaviyo_kit.jobs.celery import beat_schedule, register_tasks

BROKER_URL = os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/5")
KIT_REDIS_URL = os.environ.get("KIT_REDIS_URL", "redis://127.0.0.1:6379/6")
STATE_URL = os.environ.get("STATE_URL", "sqlite:///celery_example_state.sqlite3")
EVENTS_QUEUE = "events"

app = Celery("klaviyo_kit_example", broker=BROKER_URL)
app.conf.update(
    task_acks_late=True,  # a worker that dies mid-pass gives the task back
    worker_prefetch_multiplier=1,  # a countdown task does not sit in a busy worker's buffer
    broker_connection_retry_on_startup=True,
)


def make_client() -> KlaviyoClient:
    """This worker process's client: the Redis limiter shares one budget with every worker."""
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
    """The queue web processes put events on (see ``web.py``)."""
    return RedisQueue(KIT_REDIS_URL, name=EVENTS_QUEUE)


tasks = register_tasks(
    app,
    client_factory=make_client,
    store_factory=lambda: SQLStateStore(STATE_URL),
    queue_factory=make_queue,
    # Any Job: ProfileSyncJob, ListCleanupJob, MetricsExportJob are registered the same way.
    jobs={"heartbeat": HeartbeatJob},
)
app.conf.beat_schedule = beat_schedule({"heartbeat": 60}, deliver_every=10)
