"""A durable :class:`JobQueue` on Redis: nothing is lost when a worker or producer dies."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from klaviyo_kit.infra import _redis_queue_lua as lua
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
from klaviyo_kit.infra._redis import RedisEndpoint, connect, unavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager

_BACKEND = "redis queue"
_PARTS = ("visible", "payload", "attempts", "token", "keyof", "keys", "dead", "error", "seq")


def _ms(seconds: float) -> int:
    return max(round(seconds * 1000), 0)


class RedisQueue:
    """A :class:`JobQueue` on Redis, shared by every process that uses the same name.

    Each transition (enqueue, reserve, ack, nack, replay, purge) is one Lua script timed by the
    Redis server's clock, so workers on different machines agree on visibility timeouts. A
    reserved item stays in Redis until it is acked: if its worker dies, the item becomes
    visible again when the timeout ends. Keys share the hash tag ``{prefix:name}``.

    When Redis is unreachable (refused or dropped connection, no reply within 5 s, any Redis
    error), every operation raises :class:`~klaviyo_kit.errors.BackendUnavailableError` with the
    ``redis`` error chained, at once or after that bounded wait. An enqueue that was refused
    added nothing; one whose reply timed out may have been applied, so enqueue again with the
    same ``key`` to be sure of one item. The message names the server as ``host:port/db``, never
    the password. The URL's ``socket_timeout`` and ``socket_connect_timeout`` query parameters
    set other waits.

    Args:
        url: The Redis URL.
        name: The queue's name; queues with different names are independent.
        prefix: Start of every Redis key, for example per application and environment.
        max_size: Most pending items; ``None`` is unbounded.
        block_timeout: When full, wait this long for room before ``QueueFullError``.
        max_attempts: Reservations before an item becomes a dead letter.
        retry_delay: Seconds before a nacked item is retried when ``nack`` gives no
            ``retry_in``: a constant or a function of the attempts so far.
        poll_interval: Seconds between polls while ``reserve`` waits or an enqueue blocks.
        clock: Local monotonic seconds, used only for those waits.
        sleep: Waits between polls; inject in tests.

    Raises:
        ImportError: If the ``redis`` extra is not installed.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        name: str = "default",
        prefix: str = "klaviyo_kit",
        max_size: int | None = None,
        block_timeout: float | None = None,
        max_attempts: int = 5,
        retry_delay: RetryDelay = 1.0,
        poll_interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Connect lazily to ``url``."""
        check_queue_args(max_size, block_timeout, max_attempts)
        self._client = connect(url)
        self._endpoint = RedisEndpoint(url, self._client)
        self._keys = [f"{{{prefix}:{name}}}:{part}" for part in _PARTS]
        self._max_size = max_size
        self._block_timeout = block_timeout
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._poll = poll_interval
        self._clock = clock
        self._sleep = sleep
        register = self._client.register_script
        self._enqueue, self._reserve = register(lua.ENQUEUE), register(lua.RESERVE)
        self._ack, self._nack = register(lua.ACK), register(lua.NACK)
        self._replay, self._purge = register(lua.REPLAY), register(lua.PURGE)
        self._release = register(lua.RELEASE)

    def __repr__(self) -> str:
        """Show the queue's keys, never the URL (it may hold a password)."""
        return f"RedisQueue({self._keys[0].rsplit(':', 1)[0]!r})"

    def _run(self, script: Any, *args: object) -> Any:
        return script(keys=self._keys, args=list(args))

    def _unavailable(self) -> AbstractContextManager[None]:
        return unavailable(_BACKEND, self._endpoint)

    @property
    def max_attempts(self) -> int:
        """Reservations after which a failing item becomes a dead letter."""
        return self._max_attempts

    def enqueue(self, payload: JSONValue, *, key: str | None = None, delay: float = 0) -> str:
        """Add a JSON ``payload`` (visible after ``delay`` s) and return its id.

        Raises:
            klaviyo_kit.errors.QueueFullError: If the queue stays full.
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable; the item was
                not added (unless Redis applied it and only the reply timed out).
            TypeError: If ``payload`` is not JSON data.
        """
        text = dumps(payload)
        deadline = self._clock() + (self._block_timeout or 0.0)
        with self._unavailable():
            while True:
                found = self._run(
                    self._enqueue, "", text, key or "", _ms(delay), self._max_size or 0
                )
                if found is not None:
                    return str(found)
                if self._clock() >= deadline:
                    raise queue_full(self._max_size or 0, self._block_timeout)
                self._sleep(self._poll)

    def reserve(
        self, *, visibility_timeout: float, max_items: int = 1, wait: float = 0
    ) -> list[Reserved]:
        """Take up to ``max_items`` visible items for ``visibility_timeout`` seconds.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable (also while
                waiting for an item).
            ValueError: If an argument is out of range.
        """
        check_reserve_args(visibility_timeout, max_items, wait)
        deadline = self._clock() + wait
        token = uuid.uuid4().hex
        timeout_ms = max(_ms(visibility_timeout), 1)
        with self._unavailable():
            while True:
                rows = self._run(self._reserve, timeout_ms, max_items, self._max_attempts, token)
                if rows or self._clock() >= deadline:
                    return [
                        Reserved(
                            str(item_id),
                            f"{item_id}.{tok}",
                            loads(payload),
                            int(n),
                            str(key) or None,
                        )
                        for item_id, tok, n, payload, key in rows
                    ]
                self._sleep(self._poll)

    def ack(self, receipt: str) -> bool:
        """Finish a reserved item; ``False`` if the receipt is stale.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable; the item
                stays reserved and comes back when its visibility timeout ends.
        """
        item_id, token = split_receipt(receipt)
        with self._unavailable():
            return bool(self._run(self._ack, item_id, token))

    def nack(
        self, receipt: str, *, error: str, retry_in: float | None = None, dead: bool = False
    ) -> bool:
        """Report a failure: retry later, or dead-letter the item (now if ``dead``).

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable; the item
                stays reserved and comes back when its visibility timeout ends.
            ValueError: If both ``retry_in`` and ``dead`` are given.
        """
        check_nack_args(retry_in, dead)
        item_id, token = split_receipt(receipt)
        with self._unavailable():
            if retry_in is None and not dead:
                attempts = self._client.hget(self._keys[2], item_id)
                retry_in = retry_delay_for(self._retry_delay, int(str(attempts or 0)))
            limit = 0 if dead else self._max_attempts  # NACK buries once attempts >= limit
            done = self._run(self._nack, item_id, token, error, _ms(retry_in or 0), limit)
        return bool(done)

    def release(self, receipt: str, *, delay: float = 0) -> bool:
        """Hand a reserved item back after ``delay`` s without using an attempt.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable; the item
                stays reserved and comes back when its visibility timeout ends.
        """
        item_id, token = split_receipt(receipt)
        with self._unavailable():
            return bool(self._run(self._release, item_id, token, _ms(max(delay, 0.0))))

    def dead_letters(self) -> list[DeadLetter]:
        """Return the dead letters, oldest first.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable.
        """
        with self._unavailable():
            dead: list[tuple[str, float]] = self._client.zrange(  # type: ignore[assignment]
                self._keys[6], 0, -1, withscores=True
            )
            if not dead:
                return []
            pipe = self._client.pipeline(transaction=False)
            for item_id, _ in dead:
                pipe.hget(self._keys[1], item_id)
                pipe.hget(self._keys[2], item_id)
                pipe.hget(self._keys[7], item_id)
                pipe.hget(self._keys[4], item_id)
            values = pipe.execute()
        out: list[DeadLetter] = []
        for n, (item_id, failed_ms) in enumerate(dead):
            payload, attempts, error, key = values[4 * n : 4 * n + 4]
            if payload is None:
                continue
            failed_at = datetime.fromtimestamp(failed_ms / 1000, tz=timezone.utc)
            out.append(
                DeadLetter(item_id, loads(payload), error or "", int(attempts), key, failed_at)
            )
        return out

    def replay_dead_letters(self, ids: Sequence[str] | None = None) -> int:
        """Queue dead letters again with zero attempts; return how many.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable; nothing was
                replayed.
        """
        if ids is not None and not ids:
            return 0
        with self._unavailable():
            return int(self._run(self._replay, *(ids or ())))

    def purge_dead_letters(self, ids: Sequence[str] | None = None) -> int:
        """Delete dead letters for good; return how many.

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable; nothing was
                purged.
        """
        if ids is not None and not ids:
            return 0
        with self._unavailable():
            return int(self._run(self._purge, *(ids or ())))

    def size(self) -> int:
        """Return how many items are pending (waiting, delayed or reserved).

        Raises:
            klaviyo_kit.errors.BackendUnavailableError: If Redis is unavailable.
        """
        with self._unavailable():
            return int(self._client.zcard(self._keys[0]))

    def close(self) -> None:
        """Close the Redis connection pool."""
        self._client.close()
