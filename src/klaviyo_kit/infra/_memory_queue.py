"""An in-process :class:`JobQueue` for tests, scripts and single-process workers."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from klaviyo_kit.infra._json import JSONValue, dumps, loads
from klaviyo_kit.infra._queue import (
    DeadLetter,
    Reserved,
    RetryDelay,
    check_nack_args,
    check_queue_args,
    check_reserve_args,
    queue_full,
    retry_delay_for,
    split_receipt,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_POLL = 0.01
_COMPACT_AT = 4096


@dataclass(slots=True)
class _Item:
    id: str
    payload: str
    key: str | None
    attempts: int = 0
    visible_at: float = 0.0
    token: str = ""
    error: str = ""
    failed_at: float = 0.0


class MemoryQueue:
    """A :class:`JobQueue` in this process's memory: thread-safe, lost when the process ends.

    Args:
        max_size: Most pending items; ``None`` is unbounded.
        block_timeout: When full, wait this long for room before ``QueueFullError``; ``None``
            or ``0`` raises at once.
        max_attempts: Reservations before an item becomes a dead letter.
        retry_delay: Seconds before a nacked item is retried when ``nack`` gives no
            ``retry_in``: a constant or a function of the attempts so far.
        clock: Seconds since the epoch; inject a fake in tests.
        sleep: Waits while polling (``reserve(wait=...)``, ``block_timeout``); inject in tests.

    Example:
        >>> queue = MemoryQueue()
        >>> _ = queue.enqueue({"profile": "p1"})
        >>> [item] = queue.reserve(visibility_timeout=30)
        >>> item.payload, queue.ack(item.receipt), queue.size()
        ({'profile': 'p1'}, True, 0)
    """

    def __init__(
        self,
        *,
        max_size: int | None = None,
        block_timeout: float | None = None,
        max_attempts: int = 5,
        retry_delay: RetryDelay = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create an empty queue."""
        check_queue_args(max_size, block_timeout, max_attempts)
        self._max_size = max_size
        self._block_timeout = block_timeout
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._items: dict[str, _Item] = {}
        self._keys: dict[str, str] = {}
        self._dead: dict[str, _Item] = {}
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)

    def _schedule(self, item: _Item, visible_at: float, token: str = "") -> None:
        item.visible_at, item.token = visible_at, token
        heapq.heappush(self._heap, (visible_at, next(self._seq), item.id, token))

    def _free_key(self, item: _Item) -> None:
        if item.key is not None and self._keys.get(item.key) == item.id:
            del self._keys[item.key]

    def _bury(self, item: _Item, error: str, now: float) -> None:
        del self._items[item.id]
        self._free_key(item)
        item.error, item.failed_at, item.token = error, now, ""
        self._dead[item.id] = item

    @property
    def max_attempts(self) -> int:
        """Reservations after which a failing item becomes a dead letter."""
        return self._max_attempts

    def enqueue(self, payload: JSONValue, *, key: str | None = None, delay: float = 0) -> str:
        """Add a JSON ``payload`` (visible after ``delay`` s) and return its id.

        Raises:
            klaviyo_kit.errors.QueueFullError: If the queue stays full.
            TypeError: If ``payload`` is not JSON data.
        """
        text = dumps(payload)
        deadline = self._clock() + (self._block_timeout or 0.0)
        while True:
            with self._lock:
                if key is not None and key in self._keys:
                    return self._keys[key]
                if self._max_size is None or len(self._items) < self._max_size:
                    item = _Item(f"{next(self._ids):016x}", text, key)
                    self._items[item.id] = item
                    if key is not None:
                        self._keys[key] = item.id
                    self._schedule(item, self._clock() + max(delay, 0.0))
                    return item.id
            if self._clock() >= deadline:
                raise queue_full(self._max_size or 0, self._block_timeout)
            self._sleep(_POLL)

    def reserve(
        self, *, visibility_timeout: float, max_items: int = 1, wait: float = 0
    ) -> list[Reserved]:
        """Take up to ``max_items`` visible items for ``visibility_timeout`` seconds.

        Raises:
            ValueError: If an argument is out of range.
        """
        check_reserve_args(visibility_timeout, max_items, wait)
        deadline = self._clock() + wait
        while True:
            taken = self._take(visibility_timeout, max_items)
            if taken or self._clock() >= deadline:
                return taken
            self._sleep(_POLL)

    def _take(self, visibility_timeout: float, max_items: int) -> list[Reserved]:
        out: list[Reserved] = []
        with self._lock:
            now = self._clock()
            while self._heap and len(out) < max_items and self._heap[0][0] <= now:
                visible_at, _, item_id, token = heapq.heappop(self._heap)
                item = self._items.get(item_id)
                if item is None or item.token != token or item.visible_at != visible_at:
                    continue
                if item.attempts >= self._max_attempts:
                    error = f"visibility timeout expired after {item.attempts} attempts"
                    self._bury(item, error, now)
                    continue
                item.attempts += 1
                self._schedule(item, now + visibility_timeout, uuid.uuid4().hex)
                receipt = f"{item.id}.{item.token}"
                out.append(Reserved(item.id, receipt, loads(item.payload), item.attempts, item.key))
        return out

    def _reserved(self, receipt: str) -> _Item | None:
        item_id, token = split_receipt(receipt)
        item = self._items.get(item_id)
        return item if item is not None and token and item.token == token else None

    def ack(self, receipt: str) -> bool:
        """Finish a reserved item; ``False`` if the receipt is stale."""
        with self._lock:
            item = self._reserved(receipt)
            if item is None:
                return False
            del self._items[item.id]
            self._free_key(item)
            if len(self._heap) > _COMPACT_AT + 4 * len(self._items):
                self._compact()
            return True

    def _compact(self) -> None:
        # Acked items leave stale heap entries until they come due; drop them in one pass.
        live = [(it.visible_at, next(self._seq), it.id, it.token) for it in self._items.values()]
        heapq.heapify(live)
        self._heap = live

    def nack(
        self, receipt: str, *, error: str, retry_in: float | None = None, dead: bool = False
    ) -> bool:
        """Report a failure: retry later, or dead-letter the item (now if ``dead``).

        Raises:
            ValueError: If both ``retry_in`` and ``dead`` are given.
        """
        check_nack_args(retry_in, dead)
        with self._lock:
            item = self._reserved(receipt)
            if item is None:
                return False
            now = self._clock()
            if dead or item.attempts >= self._max_attempts:
                self._bury(item, error, now)
                return True
            delay = (
                retry_delay_for(self._retry_delay, item.attempts) if retry_in is None else retry_in
            )
            item.error = error
            self._schedule(item, now + max(delay, 0.0))
            return True

    def release(self, receipt: str, *, delay: float = 0) -> bool:
        """Hand a reserved item back after ``delay`` s without using an attempt."""
        with self._lock:
            item = self._reserved(receipt)
            if item is None:
                return False
            item.attempts = max(item.attempts - 1, 0)
            self._schedule(item, self._clock() + max(delay, 0.0))
            return True

    def dead_letters(self) -> list[DeadLetter]:
        """Return the dead letters, oldest first."""
        with self._lock:
            dead = list(self._dead.values())
        return [
            DeadLetter(
                d.id,
                loads(d.payload),
                d.error,
                d.attempts,
                d.key,
                datetime.fromtimestamp(d.failed_at, tz=timezone.utc),
            )
            for d in dead
        ]

    def replay_dead_letters(self, ids: Sequence[str] | None = None) -> int:
        """Queue dead letters again with zero attempts; return how many."""
        with self._lock:
            chosen = list(self._dead) if ids is None else [i for i in ids if i in self._dead]
            now = self._clock()
            for item_id in chosen:
                item = self._dead.pop(item_id)
                item.attempts, item.error = 0, ""
                if item.key is not None:
                    if item.key in self._keys:
                        item.key = None
                    else:
                        self._keys[item.key] = item.id
                self._items[item.id] = item
                self._schedule(item, now)
            return len(chosen)

    def purge_dead_letters(self, ids: Sequence[str] | None = None) -> int:
        """Delete dead letters for good; return how many."""
        with self._lock:
            chosen = list(self._dead) if ids is None else [i for i in ids if i in self._dead]
            for item_id in chosen:
                del self._dead[item_id]
            return len(chosen)

    def size(self) -> int:
        """Return how many items are pending (waiting, delayed or reserved)."""
        with self._lock:
            return len(self._items)

    def close(self) -> None:
        """Do nothing: a memory queue holds no connections."""
