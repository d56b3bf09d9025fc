"""The in-process engine: run a job once or every interval, under a lease, stoppable by SIGTERM.

:class:`JobRunner` is for one box (a cron entry, a sidecar, a management command). Each pass
claims the job's lease first, so two runners on two machines never run the same job at once;
a thread renews the lease while the pass runs, and a lost lease stops the pass at its next
checkpoint. ``SIGTERM`` (and ``SIGINT``) ask the job to stop: it finishes the page in flight,
checkpoints, and the runner records the incomplete report and returns.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from klaviyo_kit.jobs._job import JobReport, save_status, utcnow
from klaviyo_kit.jobs._lease import StoreLease

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from klaviyo_kit.client import KlaviyoClient
    from klaviyo_kit.infra import JobQueue, StateStore
    from klaviyo_kit.jobs._job import Job
    from klaviyo_kit.jobs._lease import Lease

__all__ = ["JobRunner", "Resources", "report_dict"]

_log = logging.getLogger("klaviyo_kit")
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class JobRunner:
    """Run a :class:`~klaviyo_kit.jobs.Job` under a lease and record each report.

    Args:
        job: The job to run.
        store: Where each report is recorded (``save_status``) and, by default, the lease.
        lease: The lease that keeps other runners out; ``None`` uses a
            :class:`~klaviyo_kit.jobs.StoreLease` in ``store`` lasting ``lease_ttl``.
        lease_ttl: Seconds of the default lease (longer than one pass).
        max_runtime: Ask a pass to stop after this many seconds (``None``: no limit).
        handle_signals: Turn ``SIGTERM``/``SIGINT`` into a stop while running (main thread
            only; previous handlers are restored afterwards).
        stop_when: Also stop when this returns ``True`` (polled with the job's checkpoints),
            say a worker's shutdown flag set in another process.
        clock: Monotonic seconds.

    Example:
        ```python
        runner = JobRunner(ProfileSyncJob(client, store), store)
        runner.run_every(300)  # until SIGTERM
        ```
    """

    def __init__(
        self,
        job: Job,
        store: StateStore,
        *,
        lease: Lease | None = None,
        lease_ttl: float = 300.0,
        max_runtime: float | None = None,
        handle_signals: bool = True,
        stop_when: Callable[[], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the runner; nothing runs until :meth:`run_once` or :meth:`run_every`."""
        self.job = job
        self.store = store
        self.lease = lease if lease is not None else StoreLease(store, job.name, ttl=lease_ttl)
        self._max_runtime = max_runtime
        self._handle_signals = handle_signals
        self._stop_when = stop_when
        self._clock = clock
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._deadline: float | None = None

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for (``stop()`` or a signal)."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the running pass to checkpoint and return, and :meth:`run_every` to end."""
        self._stop.set()

    def should_stop(self) -> bool:
        """What the job polls: stop asked, lease lost, ``stop_when``, or ``max_runtime`` spent."""
        if self._stop.is_set() or self._lost.is_set():
            return True
        if self._stop_when is not None and self._stop_when():
            return True
        return self._deadline is not None and self._clock() >= self._deadline

    def run_once(self) -> JobReport | None:
        """Make one pass if the lease is free, record its report and return it.

        Returns:
            The pass's report, or ``None`` if another runner holds the lease.

        Raises:
            Exception: Whatever the job raised, after a failed report was recorded.
        """
        with self._signals():
            return self._pass()

    def run_every(self, interval: float, *, passes: int | None = None) -> list[JobReport]:
        """Run a pass every ``interval`` seconds until stopped (or ``passes`` were tried).

        A pass that raised is recorded and logged, and the loop goes on; a pass skipped because
        another runner held the lease is not recorded.

        Returns:
            The reports of the passes this runner made.
        """
        reports: list[JobReport] = []
        tried = 0
        with self._signals():
            while not self._stop.is_set() and (passes is None or tried < passes):
                tried += 1
                started = self._clock()
                try:
                    report = self._pass()
                except Exception:  # noqa: BLE001 - recorded; the schedule goes on
                    _log.exception("job %s failed; running again in %g s", self.job.name, interval)
                else:
                    if report is not None:
                        reports.append(report)
                if passes is not None and tried >= passes:
                    break
                self._stop.wait(max(0.0, interval - (self._clock() - started)))
        return reports

    def _pass(self) -> JobReport | None:
        if not self.lease.acquire():
            _log.info("job %s: lease held elsewhere; skipping this pass", self.job.name)
            return None
        self._lost.clear()
        self._deadline = None if self._max_runtime is None else self._clock() + self._max_runtime
        done = threading.Event()
        keeper = threading.Thread(
            target=self._keep, args=(done,), name=f"klaviyo-kit-lease-{self.job.name}", daemon=True
        )
        keeper.start()
        started = utcnow()
        try:
            report = self.job.run(should_stop=self.should_stop)
        except Exception as exc:
            failed = JobReport(
                self.job.name,
                started,
                utcnow(),
                complete=False,
                errors=(f"{type(exc).__name__}: {exc}",),
            )
            save_status(self.store, failed)
            raise
        finally:
            done.set()
            keeper.join()
            self.lease.release()
        save_status(self.store, report)
        return report

    def _keep(self, done: threading.Event) -> None:
        """Renew the lease every third of its ttl until the pass is done."""
        while not done.wait(self.lease.ttl / 3):
            try:
                kept = self.lease.renew()
            except Exception:  # noqa: BLE001 - a lease we cannot confirm is a lease lost
                _log.exception("job %s: renewing the lease failed", self.job.name)
                kept = False
            if not kept:
                _log.warning("job %s: lease lost; stopping at the next checkpoint", self.job.name)
                self._lost.set()
                return

    def _signals(self) -> _SignalScope:
        return _SignalScope(self._stop, enabled=self._handle_signals)


class _SignalScope:
    """Set ``stop`` on SIGTERM/SIGINT inside a ``with`` block (main thread only)."""

    def __init__(self, stop: threading.Event, *, enabled: bool) -> None:
        self._stop = stop
        self._enabled = enabled and threading.current_thread() is threading.main_thread()
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, _frame: FrameType | None) -> None:
        _log.warning("signal %d: stopping the job at its next checkpoint", signum)
        self._stop.set()

    def __enter__(self) -> None:
        if self._enabled:
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handler)

    def __exit__(self, *_exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()


def report_dict(report: JobReport | None) -> dict[str, object]:
    """A job report as a JSON-ready task result (``{"skipped": True}`` when the lease was held)."""
    if report is None:
        return {"skipped": True}
    return {
        "job": report.job,
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat(),
        "complete": report.complete,
        "ok": report.ok,
        "counts": dict(report.counts),
        "errors": list(report.errors),
        "watermark": report.watermark.isoformat() if report.watermark else None,
    }


class Resources:
    """The client, store and queue of one worker process, built on first use.

    Built again after a fork (prefork pools, RQ's work horses), so no connection is shared
    between processes.

    Args:
        client_factory: Builds the client.
        store_factory: Builds the state store.
        queue_factory: Builds the event queue, or ``None`` without event delivery.
    """

    def __init__(
        self,
        client_factory: Callable[[], KlaviyoClient],
        store_factory: Callable[[], StateStore],
        queue_factory: Callable[[], JobQueue] | None = None,
    ) -> None:
        """Remember the factories; nothing is built yet."""
        self._factories: dict[str, Callable[[], Any] | None] = {
            "client": client_factory,
            "store": store_factory,
            "queue": queue_factory,
        }
        self._built: dict[str, Any] = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _get(self, name: str) -> Any:
        with self._lock:
            if self._pid != os.getpid():
                self._built, self._pid = {}, os.getpid()
            if name not in self._built:
                factory = self._factories[name]
                if factory is None:
                    raise RuntimeError(f"no {name}_factory was given")
                self._built[name] = factory()
            return self._built[name]

    def client(self) -> KlaviyoClient:
        """This process's client."""
        client: KlaviyoClient = self._get("client")
        return client

    def store(self) -> StateStore:
        """This process's state store."""
        store: StateStore = self._get("store")
        return store

    def queue(self) -> JobQueue:
        """This process's event queue.

        Raises:
            RuntimeError: If no ``queue_factory`` was given.
        """
        queue: JobQueue = self._get("queue")
        return queue
