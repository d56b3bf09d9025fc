"""The async sender's worker: the same triage as the thread's, as a task on the caller's loop.

Requests go through the async client on the loop that owns it. Queue calls of an in-process
:class:`~klaviyo_kit.infra.MemoryQueue` never block (they are made with ``wait=0``), so they run
on the loop; any other queue (Redis, a network round trip) is called from a worker thread, so a
slow backend never stalls the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Final, TypeVar

import anyio.to_thread

from klaviyo_kit.errors import BackendUnavailableError
from klaviyo_kit.infra import MemoryQueue
from klaviyo_kit.services._delivery import (
    POLL,
    Resend,
    Triage,
    ack_all,
    blamed_ids,
    chunks,
    screen,
    settle,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from klaviyo_kit.infra import JobQueue, Reserved
    from klaviyo_kit.sdk.types import JsonDict
    from klaviyo_kit.services._pacing import WindowPacer

__all__ = ["AsyncDeliveryWorker", "QueueCalls"]

_T = TypeVar("_T")
_ERROR_PAUSE: Final = 1.0
_log = logging.getLogger("klaviyo_kit")


class QueueCalls:
    """Call a queue from the loop without blocking it: inline if in-process, else on a thread.

    Args:
        queue: The queue.
    """

    def __init__(self, queue: JobQueue) -> None:
        """Decide once how ``queue`` is called."""
        self.queue = queue
        self.inline = isinstance(queue, MemoryQueue)

    async def __call__(self, function: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        """Run ``function(*args, **kwargs)`` (a queue operation) without blocking the loop."""
        if self.inline:
            return function(*args, **kwargs)
        return await anyio.to_thread.run_sync(partial(function, *args, **kwargs))


class AsyncDeliveryWorker:
    """Drains a queue of prepared event attributes into bulk create requests, as a task.

    Args:
        send: Sends one ``bulk_create_events`` body (awaited, on the caller's loop).
        queue: The queue to drain.
        batch_size: Most events per request.
        linger: Seconds to wait for a fuller batch.
        visibility_timeout: Seconds a reserved batch stays hidden.
        pacer: Paces the requests, or ``None``.
        count: Adds to the sender's counters (``sent=3``).
        asleep: Waits for pacing and between tries while Klaviyo fails; ``None`` waits on
            :attr:`stop` (for pauses) and ``asyncio.sleep`` (for pacing).
    """

    def __init__(
        self,
        send: Callable[[JsonDict], Awaitable[None]],
        queue: JobQueue,
        *,
        batch_size: int,
        linger: float,
        visibility_timeout: float,
        pacer: WindowPacer | None,
        count: Callable[..., None],
        asleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> None:
        """Create the worker; :meth:`run` is the task's coroutine."""
        self._send = send
        self._calls = QueueCalls(queue)
        self._queue = queue
        self._batch_size = batch_size
        self._linger = linger
        self._visibility = visibility_timeout
        self._pacer = pacer
        self._count = count
        self._asleep = asleep
        self._triage = Triage(pacer)
        self.hurry = asyncio.Event()
        self.stop = asyncio.Event()
        self.wake = asyncio.Event()  # set by track: work arrived, stop polling

    async def _pause(self, delay: float) -> None:
        if self._asleep is not None:
            await self._asleep(delay)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stop.wait(), delay)

    async def run(self) -> None:
        """Deliver batches until :attr:`stop` is set."""
        while not self.stop.is_set():
            try:
                if delay := self._triage.take_pause():
                    await self._pause(delay)
                    continue
                batch = await self._collect()
                self._triage.backend_up()
                ready, bad = screen(batch)
                if bad is not None:
                    self._count(**await self._calls(settle, self._queue, bad))
                if ready:
                    await self._deliver(ready)
            except BackendUnavailableError as exc:  # the queue's server is down: wait
                self._triage.backend_down(exc)
            except Exception:  # noqa: BLE001 - the task must outlive a broken queue
                _log.exception("event sender: unexpected error; retrying")
                await self._pause(_ERROR_PAUSE)

    async def _reserve(self, max_items: int, wait: float) -> list[Reserved]:
        if not self._calls.inline:
            return await self._calls(
                self._queue.reserve,
                visibility_timeout=self._visibility,
                max_items=max_items,
                wait=wait,
            )
        taken = self._queue.reserve(visibility_timeout=self._visibility, max_items=max_items)
        if not taken and wait > 0:
            self.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)
            taken = self._queue.reserve(visibility_timeout=self._visibility, max_items=max_items)
        return taken

    async def _collect(self) -> list[Reserved]:
        batch = await self._reserve(self._batch_size, POLL)
        if not batch or self._linger <= 0:
            return batch
        deadline = time.monotonic() + self._linger
        while len(batch) < self._batch_size and not self.hurry.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.stop.is_set():
                break
            batch += await self._reserve(self._batch_size - len(batch), min(left, POLL))
        return batch

    async def _acquire(self) -> None:
        if self._pacer is None:
            return
        waited = 0.0
        while (wait := self._pacer.try_acquire()) > 0:
            await (self._asleep or asyncio.sleep)(wait)
            waited += wait
        self._count(paced=waited)

    async def _deliver(self, items: list[Reserved]) -> None:
        for chunk, group in chunks(items):
            await self._acquire()
            self._count(requests=1)
            try:
                await self._send(chunk.body())
            except Exception as exc:  # noqa: BLE001 - every failure is sorted by the triage
                for step in self._triage.failed(group, exc, partial(blamed_ids, items, chunk)):
                    if isinstance(step, Resend):
                        await self._deliver(step.items)
                    else:
                        self._count(**await self._calls(settle, self._queue, step))
            else:
                self._triage.succeeded()
                self._count(sent=len(group))  # Klaviyo accepted them, whatever the ack does
                await self._calls(ack_all, self._queue, group)
