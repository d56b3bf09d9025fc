"""Run jobs and deliver queued events on RQ workers (the ``rq`` extra).

RQ enqueues functions by their import path, so the kit's configuration lives in an
:class:`RQKit` at module level in your code, named by its own ``"module:attribute"`` path::

    # shop/rq_jobs.py
    kit = RQKit(
        "shop.rq_jobs:kit",
        client_factory=lambda: KlaviyoClient(KlaviyoSettings(rate_limit={"backend": "redis"})),
        store_factory=lambda: SQLStateStore("postgresql+psycopg://..."),
        queue_factory=lambda: RedisQueue("redis://127.0.0.1:6379/0", name="events"),
        jobs={"profile_sync": lambda client, store: ProfileSyncJob(client, store)},
    )

    kit.enqueue_job(Queue(connection=redis), "profile_sync", every=300)
    kit.deliver_events(Queue(connection=redis))

Run workers with the scheduler (``rq worker --with-scheduler``): countdowns are
``enqueue_in``. :func:`run_job` makes one pass under the job's lease and records the report
(failures are retried with RQ's :class:`~rq.Retry`); given ``every`` it enqueues its next
pass that much later. A warm shutdown of the worker (``SIGTERM``) asks the pass in its work
horse to stop: it finishes its page, checkpoints and returns. :func:`deliver_events` sends
one batch of queued events in bulk and enqueues itself again: at once while events wait, after
the countdown when Klaviyo throttles, never sleeping in the work horse. Permanent failures
become the queue's dead letters.
"""

from __future__ import annotations

import importlib
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

try:
    import rq
except ImportError as exc:
    raise ImportError("klaviyo_kit.jobs.rq needs RQ: pip install 'klaviyo-kit[rq]'") from exc

from klaviyo_kit.errors import BackendUnavailableError
from klaviyo_kit.jobs._delivery_task import (
    BACKEND_RETRY,
    VISIBILITY_TIMEOUT,
    client_sender,
    deliver_batch,
)
from klaviyo_kit.jobs._runner import JobRunner, Resources, report_dict
from klaviyo_kit.services._event_batches import MAX_BULK_EVENTS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from klaviyo_kit.client import KlaviyoClient
    from klaviyo_kit.infra import JobQueue, StateStore
    from klaviyo_kit.jobs._delivery_task import DeliveryOutcome
    from klaviyo_kit.jobs._job import Job
    from klaviyo_kit.jobs._lease import Lease

__all__ = ["DEFAULT_RETRY", "RQKit", "deliver_events", "run_job"]

DEFAULT_RETRY = rq.Retry(max=3, interval=[10, 30, 60])
"""How a failed pass is retried by default: three more times, after 10, 30 and 60 s."""


class RQKit:
    """Jobs and event delivery for RQ, found by workers through ``path``.

    Args:
        path: Where this object lives, as ``"module:attribute"`` (workers import it).
        client_factory: Builds a work horse's client.
        store_factory: Builds a work horse's state store (checkpoints, leases, status).
        jobs: Job factories by job name; each is called with the client and the store.
        queue_factory: Builds the queue web processes put events on, or ``None``.
        batch_size: Most events one delivery sends.
        visibility_timeout: Seconds a reserved batch stays hidden from other workers.
        lease_ttl: Seconds a job's lease lasts (longer than one pass).
        lease_factory: Builds job ``name``'s lease (say a renewable
            :class:`~klaviyo_kit.jobs.RedisLease`); ``None`` claims it in the state store
            for ``lease_ttl`` seconds, which then bounds a pass.
        max_runtime: Ask a pass to checkpoint and stop after this many seconds.
        retry: How RQ retries a pass that raised; ``None`` never retries.

    Raises:
        ValueError: If ``path`` is not ``"module:attribute"``.
    """

    def __init__(
        self,
        path: str,
        *,
        client_factory: Callable[[], KlaviyoClient],
        store_factory: Callable[[], StateStore],
        jobs: Mapping[str, Callable[[KlaviyoClient, StateStore], Job]],
        queue_factory: Callable[[], JobQueue] | None = None,
        batch_size: int = MAX_BULK_EVENTS,
        visibility_timeout: float = VISIBILITY_TIMEOUT,
        lease_ttl: float = 300.0,
        lease_factory: Callable[[str], Lease] | None = None,
        max_runtime: float | None = None,
        retry: rq.Retry | None = DEFAULT_RETRY,
    ) -> None:
        """Configure the kit; nothing connects until a worker runs a task."""
        if ":" not in path:
            raise ValueError(f"path must look like 'module:attribute', got {path!r}")
        self.path = path
        self.resources = Resources(client_factory, store_factory, queue_factory)
        self.jobs = dict(jobs)
        self._has_queue = queue_factory is not None
        self._batch_size = batch_size
        self._visibility = visibility_timeout
        self._lease_ttl = lease_ttl
        self._lease_factory = lease_factory
        self._max_runtime = max_runtime
        self._retry = retry

    def enqueue_job(
        self, queue: rq.Queue, name: str, *, every: float | None = None, delay: float = 0
    ) -> rq.job.Job:
        """Enqueue a pass of job ``name`` (after ``delay`` s), repeating every ``every`` s.

        Raises:
            KeyError: If no job of that name is configured.
        """
        if name not in self.jobs:
            raise KeyError(name)
        kwargs: dict[str, Any] = {"every": every}
        if delay > 0:
            return queue.enqueue_in(
                timedelta(seconds=delay), run_job, self.path, name, retry=self._retry, **kwargs
            )
        return queue.enqueue(run_job, self.path, name, retry=self._retry, **kwargs)

    def deliver_events(self, queue: rq.Queue, *, tasks: int = 1) -> list[rq.job.Job]:
        """Start ``tasks`` deliveries (each enqueues itself again until the queue is empty).

        Raises:
            RuntimeError: If no ``queue_factory`` was given.
        """
        if not self._has_queue:
            raise RuntimeError("RQKit was given no queue_factory")
        return [queue.enqueue(deliver_events, self.path) for _ in range(tasks)]

    def run(self, name: str) -> dict[str, object]:
        """Make one pass of job ``name`` in this process, under its lease; return the report."""
        store = self.resources.store()
        job = self.jobs[name](self.resources.client(), store)
        runner = JobRunner(
            job,
            store,
            lease=self._lease_factory(name) if self._lease_factory is not None else None,
            lease_ttl=self._lease_ttl,
            max_runtime=self._max_runtime,
            handle_signals=False,
            stop_when=_WorkerShutdown(),
        )
        return report_dict(runner.run_once())

    def deliver(self) -> DeliveryOutcome:
        """Deliver one batch of queued events in this process."""
        return deliver_batch(
            client_sender(self.resources.client()),
            self.resources.queue(),
            batch_size=self._batch_size,
            visibility_timeout=self._visibility,
        )


class _WorkerShutdown:
    """Whether the RQ worker running this work horse was asked for a warm shutdown.

    RQ's worker waits for its work horse on ``SIGTERM`` and tells it nothing, but records
    ``shutdown_requested_date`` in its Redis hash; the horse reads it (at most every half
    second), so a long pass checkpoints and returns instead of being waited out. Outside a
    worker it is never true.
    """

    def __init__(self, interval: float = 0.5) -> None:
        job = rq.get_current_job()
        self._connection = job.connection if job is not None and job.worker_name else None
        self._key = f"{rq.Worker.redis_worker_namespace_prefix}{job.worker_name}" if job else ""
        self._interval = interval
        self._checked = -interval
        self._asked = False

    def __call__(self) -> bool:
        if self._connection is None or self._asked:
            return self._asked
        now = time.monotonic()
        if now - self._checked >= self._interval:
            self._checked = now
            self._asked = bool(self._connection.hexists(self._key, "shutdown_requested_date"))
        return self._asked


_KITS: dict[str, RQKit] = {}


def _kit(path: str) -> RQKit:
    kit = _KITS.get(path)
    if kit is None:
        module, _, attribute = path.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        if not isinstance(found, RQKit):
            raise TypeError(f"{path} is a {type(found).__name__}, not an RQKit")
        kit = _KITS[path] = found
    return kit


def _current_queue() -> rq.Queue:
    job = rq.get_current_job()
    if job is None:
        raise RuntimeError("this function runs inside an RQ worker")
    return rq.Queue(job.origin, connection=job.connection)


def run_job(kit: str, name: str, *, every: float | None = None) -> dict[str, object]:
    """RQ task: make one pass of job ``name`` of the kit at ``kit``; repeat after ``every`` s.

    The next pass is enqueued before this one runs, so a failing pass does not end the
    schedule; two overlapping passes never run at once (the lease).
    """
    configured = _kit(kit)
    if every is not None:
        configured.enqueue_job(_current_queue(), name, every=every, delay=every)
    return configured.run(name)


def deliver_events(kit: str) -> dict[str, object]:
    """RQ task: deliver one batch of queued events, then enqueue itself again if needed.

    At once while events wait, after the countdown when Klaviyo throttles or fails, after
    :data:`~klaviyo_kit.jobs._delivery_task.BACKEND_RETRY` seconds when the queue's server is
    unreachable; not at all once the queue is empty.
    """
    configured = _kit(kit)
    queue = _current_queue()
    try:
        outcome = configured.deliver()
    except BackendUnavailableError:
        queue.enqueue_in(timedelta(seconds=BACKEND_RETRY), deliver_events, kit)
        return {"backend_unavailable": True}
    if outcome.countdown is not None and outcome.countdown > 0:
        queue.enqueue_in(timedelta(seconds=outcome.countdown), deliver_events, kit)
    elif outcome.countdown is not None:
        queue.enqueue(deliver_events, kit)
    return outcome.as_dict()
