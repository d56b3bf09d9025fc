"""Run jobs and deliver queued events on Celery workers (the ``celery`` extra).

::

    app = Celery("shop", broker="redis://127.0.0.1:6379/0")
    tasks = register_tasks(
        app,
        client_factory=lambda: KlaviyoClient(KlaviyoSettings(rate_limit={"backend": "redis"})),
        store_factory=lambda: SQLStateStore("postgresql+psycopg://..."),
        queue_factory=lambda: RedisQueue("redis://127.0.0.1:6379/0", name="events"),
        jobs={"profile_sync": lambda client, store: ProfileSyncJob(client, store)},
    )
    app.conf.beat_schedule = beat_schedule({"profile_sync": 300}, deliver_every=10)

Each job gets a task named ``klaviyo_kit.jobs.<name>`` that makes one pass under the job's
lease (a second worker that picks the same job up while it runs skips it) and records the
report in the state store. A warm shutdown of the worker (``SIGTERM``) asks the passes in
flight to stop: each finishes its page, checkpoints and returns, so the worker exits in
seconds instead of waiting out a long pass (the next pass resumes from the checkpoint).

The delivery task ``klaviyo_kit.deliver_events`` sends one batch of queued events in bulk and
re-queues itself: at once while events wait, with ``self.retry(countdown=...)`` when Klaviyo
throttles (a 429, the shared limiter's deadline, an open breaker), never sleeping in a worker
slot. Permanent failures become the queue's dead
letters with their reason. Workers share one account budget through the Redis limiter
(``KlaviyoSettings(rate_limit={"backend": "redis", "max_wait": 1.0})``: ``max_wait`` turns a
long wait for a permit into a countdown).
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

try:
    import celery  # type: ignore[import-untyped]  # noqa: TC002 - fail at import without the extra
except ImportError as exc:
    raise ImportError(
        "klaviyo_kit.jobs.celery needs Celery: pip install 'klaviyo-kit[celery]'"
    ) from exc

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
    from klaviyo_kit.jobs._job import Job
    from klaviyo_kit.jobs._lease import Lease

__all__ = [
    "DELIVER_TASK",
    "KitTasks",
    "beat_schedule",
    "job_task_name",
    "register_tasks",
]

DELIVER_TASK: Final = "klaviyo_kit.deliver_events"
"""The name of the event-delivery task."""


def job_task_name(name: str) -> str:
    """The Celery task name of job ``name``."""
    return f"klaviyo_kit.jobs.{name}"


@dataclass(frozen=True, slots=True)
class KitTasks:
    """The tasks :func:`register_tasks` registered.

    Attributes:
        jobs: Each job's task, by job name.
        deliver: The event-delivery task, or ``None`` without a ``queue_factory``.
        resources: The worker process's client, store and queue.
    """

    jobs: Mapping[str, celery.Task[Any, Any]]
    deliver: celery.Task[Any, Any] | None
    resources: Resources

    def run_job(self, name: str, **options: Any) -> celery.result.AsyncResult[Any]:
        """Queue a pass of job ``name`` (``apply_async`` options pass through).

        Raises:
            KeyError: If no job of that name was registered.
        """
        return self.jobs[name].apply_async(**options)

    def deliver_events(self, *, tasks: int = 1) -> list[celery.result.AsyncResult[Any]]:
        """Start ``tasks`` delivery tasks (each re-queues itself until the queue is empty).

        Raises:
            RuntimeError: If no ``queue_factory`` was given.
        """
        if self.deliver is None:
            raise RuntimeError("register_tasks was given no queue_factory")
        return [self.deliver.apply_async() for _ in range(tasks)]


def register_tasks(
    app: celery.Celery,
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
) -> KitTasks:
    """Register a task per job and, given a ``queue_factory``, the event-delivery task.

    Args:
        app: The Celery app.
        client_factory: Builds a worker process's client (once per process).
        store_factory: Builds a worker process's state store (checkpoints, leases, status).
        jobs: Job factories by job name; each is called with the client and the store.
        queue_factory: Builds the queue web processes put events on (see
            :func:`~klaviyo_kit.jobs.enqueue_events`); ``None`` registers no delivery task.
        batch_size: Most events one delivery task sends.
        visibility_timeout: Seconds a reserved batch stays hidden from other workers.
        lease_ttl: Seconds a job's lease lasts (longer than one pass).
        lease_factory: Builds job ``name``'s lease (say a renewable
            :class:`~klaviyo_kit.jobs.RedisLease`); ``None`` claims it in the state store
            for ``lease_ttl`` seconds, which then bounds a pass.
        max_runtime: Ask a pass to checkpoint and stop after this many seconds (a warm
            shutdown of the worker waits for the pass in flight).

    Returns:
        The registered tasks.
    """
    resources = Resources(client_factory, store_factory, queue_factory)
    shutting_down = _shutdown_flag()
    registered = {
        name: _job_task(
            app,
            name,
            factory=factory,
            resources=resources,
            lease_ttl=lease_ttl,
            lease_factory=lease_factory,
            max_runtime=max_runtime,
            stop_when=shutting_down.is_set,
        )
        for name, factory in jobs.items()
    }
    deliver = (
        _deliver_task(app, resources, batch_size, visibility_timeout)
        if queue_factory is not None
        else None
    )
    return KitTasks(registered, deliver, resources)


def _shutdown_flag() -> Any:
    """An event set when this worker begins to shut down, seen by its pool's processes.

    Celery sends ``worker_shutting_down`` in the worker's main process; a prefork pool's
    processes are forked after the app is imported, so they share this event (a semaphore).
    """
    from celery import signals  # noqa: PLC0415 - Celery's lazy module

    flag = multiprocessing.Event()

    def on_shutdown(**_: object) -> None:
        flag.set()

    signals.worker_shutting_down.connect(on_shutdown, weak=False)
    return flag


def _job_task(
    app: celery.Celery,
    name: str,
    *,
    factory: Callable[[KlaviyoClient, StateStore], Job],
    resources: Resources,
    lease_ttl: float,
    lease_factory: Callable[[str], Lease] | None,
    max_runtime: float | None,
    stop_when: Callable[[], bool],
) -> celery.Task[Any, Any]:
    def run_job() -> dict[str, object]:
        store = resources.store()
        job = factory(resources.client(), store)
        runner = JobRunner(
            job,
            store,
            lease=lease_factory(name) if lease_factory is not None else None,
            lease_ttl=lease_ttl,
            max_runtime=max_runtime,
            handle_signals=False,
            stop_when=stop_when,
        )
        return report_dict(runner.run_once())

    run_job.__doc__ = f"Make one pass of job {name!r} under its lease and record the report."
    task: celery.Task[Any, Any] = app.task(name=job_task_name(name))(run_job)
    return task


def _deliver_task(
    app: celery.Celery, resources: Resources, batch_size: int, visibility_timeout: float
) -> celery.Task[Any, Any]:
    def deliver_events(self: celery.Task[Any, Any]) -> dict[str, object]:
        try:
            outcome = deliver_batch(
                client_sender(resources.client()),
                resources.queue(),
                batch_size=batch_size,
                visibility_timeout=visibility_timeout,
            )
        except BackendUnavailableError as exc:
            raise self.retry(countdown=BACKEND_RETRY, exc=exc) from exc
        if outcome.countdown is not None and outcome.countdown > 0:
            raise self.retry(countdown=outcome.countdown)
        if outcome.countdown is not None:
            self.apply_async()  # more events wait: another batch now, in any worker
        return outcome.as_dict()

    deliver_events.__doc__ = "Deliver one batch of queued events; re-queue while events wait."
    task: celery.Task[Any, Any] = app.task(name=DELIVER_TASK, bind=True, max_retries=None)(
        deliver_events
    )
    return task


def beat_schedule(
    jobs: Mapping[str, float | timedelta | Any],
    *,
    deliver_every: float | timedelta | None = None,
) -> dict[str, dict[str, Any]]:
    """Build a ``beat_schedule`` running each job on its schedule.

    Args:
        jobs: Each job's schedule by name: seconds, a ``timedelta`` or a Celery ``crontab``.
        deliver_every: Also start an event delivery this often (it drains the queue and
            stops), or ``None``.

    Returns:
        A dict for ``app.conf.beat_schedule``.

    Example:
        ```python
        app.conf.beat_schedule = beat_schedule(
            {"profile_sync": 300, "list_cleanup": crontab(hour=3, minute=0)},
            deliver_every=10,
        )
        ```
    """
    schedule: dict[str, dict[str, Any]] = {
        f"klaviyo-kit-{name}": {"task": job_task_name(name), "schedule": _every(every)}
        for name, every in jobs.items()
    }
    if deliver_every is not None:
        schedule["klaviyo-kit-deliver-events"] = {
            "task": DELIVER_TASK,
            "schedule": _every(deliver_every),
        }
    return schedule


def _every(every: float | timedelta | Any) -> Any:
    if isinstance(every, (int, float)):
        return timedelta(seconds=every)
    return every
