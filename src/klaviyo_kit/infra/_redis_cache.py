"""A :class:`Cache` on Redis, shared by every process of an account and environment."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, TypeVar

from klaviyo_kit.infra._cache import AsyncCompute, Compute, resolve_ttl
from klaviyo_kit.infra._json import JSONValue, dumps, loads
from klaviyo_kit.infra._redis import OUTAGE, RedisEndpoint, connect, connect_async, redis_asyncio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

_log = logging.getLogger("klaviyo_kit.infra")
_TIMEOUT = 2.0
"""Seconds a cache operation may wait for Redis: a cache must cost less than what it saves."""

T = TypeVar("T")


class _Outage:
    """The cache's view of Redis being down: when to try again, when to log again."""

    __slots__ = (
        "_announced",
        "_clock",
        "_down_until",
        "_endpoint",
        "_lock",
        "_next_log",
        "log_interval",
        "retry_after",
    )

    def __init__(
        self,
        endpoint: RedisEndpoint,
        clock: Callable[[], float],
        log_interval: float,
        retry_after: float,
    ) -> None:
        self.log_interval = log_interval
        self.retry_after = retry_after
        self._endpoint = endpoint
        self._clock = clock
        self._down_until = float("-inf")
        self._next_log = float("-inf")
        self._announced = False
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """Whether Redis failed so recently that it is not tried yet."""
        return self._clock() < self._down_until

    def failed(self, exc: BaseException) -> None:
        """Note a failure; log it unless one was logged less than ``log_interval`` s ago."""
        with self._lock:
            now = self._clock()
            self._down_until = now + self.retry_after
            if now < self._next_log:
                return
            self._next_log = now + self.log_interval
            self._announced = True
        _log.warning(
            "klaviyo_kit cache: Redis is unavailable (%s); lookups miss and writes are skipped, "
            "Redis is tried again after %g s (logged at most every %g s)",
            self._endpoint.describe(exc),
            self.retry_after,
            self.log_interval,
        )

    def succeeded(self) -> None:
        """Note a success; log once that Redis is back after a logged outage."""
        if self._announced and self._take_announcement():
            _log.info("klaviyo_kit cache: Redis at %s is available again", self._endpoint.where)

    def _take_announcement(self) -> bool:
        """Clear the logged-outage flag; ``True`` for the one caller that cleared it."""
        with self._lock:
            announced, self._announced = self._announced, False
        return announced


class RedisCache:
    """A :class:`Cache` in Redis: JSON values under ``prefix + key`` with a TTL each.

    The sync methods use one client; the async methods use a ``redis.asyncio`` client created on
    first use in the running event loop. :func:`build_cache` scopes the prefix to the account
    fingerprint and environment, so two accounts (or staging and production) never share entries.

    A cache is an optimisation, so a Redis outage (refused or dropped connection, a timeout, any
    Redis error) never fails the caller: a lookup misses (``get_or_set`` computes), and ``set``
    and ``delete`` are skipped (an entry whose delete was skipped lives until its TTL ends). The
    first failure is logged as a warning on the ``klaviyo_kit.infra`` logger, then at most once
    every ``log_interval`` seconds, naming the server as ``host:port/db``, never the password.
    After a failure Redis is left alone for ``retry_unavailable_after`` seconds, so an
    unreachable server does not cost a timeout on every lookup. Each operation waits at most
    2 s for Redis (the URL's ``socket_timeout`` query parameter overrides that).

    Args:
        url: The Redis URL.
        prefix: Start of every key, for example ``"klaviyo_kit:production:<fingerprint>:cache:"``.
        default_ttl: Seconds an entry lives when ``set`` gives no ``ttl``.
        log_interval: Least seconds between two warnings about an outage.
        retry_unavailable_after: Seconds to answer from nothing (miss, skip) after a failure,
            before Redis is tried again.
        clock: Monotonic seconds for those two intervals; inject a fake in tests.

    Raises:
        ImportError: If the ``redis`` extra is not installed.
        ValueError: If ``default_ttl`` is not positive, or an interval is negative.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "klaviyo_kit:cache:",
        default_ttl: float = 60.0,
        log_interval: float = 60.0,
        retry_unavailable_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Connect lazily to ``url``."""
        if log_interval < 0 or retry_unavailable_after < 0:
            msg = (
                "log_interval and retry_unavailable_after must not be negative, got "
                f"{log_interval!r} and {retry_unavailable_after!r}"
            )
            raise ValueError(msg)
        self._url = url
        self._prefix = prefix
        self._default_ttl = resolve_ttl(default_ttl, default_ttl)
        self._client = connect(url, timeout=_TIMEOUT)
        self._async: redis_asyncio.Redis | None = None
        endpoint = RedisEndpoint(url, self._client)
        self._outage = _Outage(endpoint, clock, log_interval, retry_unavailable_after)

    def __repr__(self) -> str:
        """Show the prefix, never the URL (it may hold a password)."""
        return f"RedisCache(prefix={self._prefix!r})"

    def _aclient(self) -> redis_asyncio.Redis:
        if self._async is None:
            self._async = connect_async(self._url, timeout=_TIMEOUT)
        return self._async

    def _call(self, operation: Callable[[], T], fallback: T) -> T:
        """Run one Redis operation, or return ``fallback`` while Redis is unavailable."""
        if self._outage.down:
            return fallback
        try:
            result = operation()
        except OUTAGE as exc:
            self._outage.failed(exc)
            return fallback
        self._outage.succeeded()
        return result

    async def _acall(self, operation: Callable[[], Awaitable[T]], fallback: T) -> T:
        """Await one Redis operation, or return ``fallback`` while Redis is unavailable."""
        if self._outage.down:
            return fallback
        try:
            result = await operation()
        except OUTAGE as exc:
            self._outage.failed(exc)
            return fallback
        self._outage.succeeded()
        return result

    def _millis(self, ttl: float | None) -> int:
        return max(round(resolve_ttl(ttl, self._default_ttl) * 1000), 1)

    def get(self, key: str) -> JSONValue | None:
        """Return the value under ``key``, or ``None`` if missing, expired or Redis is down."""
        text = self._call(lambda: self._client.get(self._prefix + key), None)
        return None if text is None else loads(str(text))

    def set(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (default when ``None``); skipped if Redis is down.

        Raises:
            TypeError: If ``value`` is not JSON data.
            ValueError: If ``ttl`` is not positive.
        """
        millis = self._millis(ttl)
        if value is None:
            self.delete(key)
            return
        text = dumps(value)
        self._call(lambda: self._client.set(self._prefix + key, text, px=millis), None)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present; skipped if Redis is down."""
        self._call(lambda: self._client.delete(self._prefix + key), None)

    def get_or_set(self, key: str, compute: Compute, ttl: float | None = None) -> JSONValue:
        """Return the cached value, or compute, store and return it (computes if Redis is down)."""
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        self.set(key, value, ttl)
        return value

    async def aget(self, key: str) -> JSONValue | None:
        """Return the value under ``key``, or ``None`` if missing, expired or Redis is down."""
        text = await self._acall(lambda: self._aclient().get(self._prefix + key), None)
        return None if text is None else loads(str(text))

    async def aset(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (default when ``None``); skipped if Redis is down.

        Raises:
            TypeError: If ``value`` is not JSON data.
            ValueError: If ``ttl`` is not positive.
        """
        millis = self._millis(ttl)
        if value is None:
            await self.adelete(key)
            return
        text = dumps(value)
        await self._acall(lambda: self._aclient().set(self._prefix + key, text, px=millis), None)

    async def adelete(self, key: str) -> None:
        """Remove ``key`` if present; skipped if Redis is down."""
        await self._acall(lambda: self._aclient().delete(self._prefix + key), None)

    async def aget_or_set(
        self, key: str, compute: AsyncCompute, ttl: float | None = None
    ) -> JSONValue:
        """Return the cached value, or await ``compute``, store and return it."""
        found = await self.aget(key)
        if found is not None:
            return found
        value = await compute()
        await self.aset(key, value, ttl)
        return value

    def close(self) -> None:
        """Close the sync client's connections (call :meth:`aclose` for the async one)."""
        self._client.close()

    async def aclose(self) -> None:
        """Close both clients' connections."""
        self._client.close()
        if self._async is not None:
            await self._async.aclose()
            self._async = None
