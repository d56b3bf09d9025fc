"""An in-process :class:`Cache` on cachetools: per-entry TTL, bounded size, thread-safe."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from cachetools import TLRUCache

from klaviyo_kit.infra._cache import AsyncCompute, Compute, resolve_ttl
from klaviyo_kit.infra._json import JSONValue, dumps, loads

if TYPE_CHECKING:
    from collections.abc import Callable


def _expires(_key: str, entry: tuple[str, float], now: float) -> float:
    return now + entry[1]


class MemoryCache:
    """A :class:`Cache` in this process's memory.

    Entries live for their TTL; past ``max_size`` entries the least recently used goes first.
    Values are stored as JSON text, so callers never share mutable objects through the cache and
    behaviour matches :class:`RedisCache`.

    Args:
        max_size: Most entries kept.
        default_ttl: Seconds an entry lives when ``set`` gives no ``ttl``.
        clock: Monotonic seconds; inject a fake in tests.

    Raises:
        ValueError: If ``max_size`` < 1 or ``default_ttl`` is not positive.

    Example:
        >>> cache = MemoryCache(default_ttl=60)
        >>> cache.get_or_set("metric:Placed Order", lambda: "Y6Hmxn")
        'Y6Hmxn'
        >>> cache.get("metric:Placed Order")
        'Y6Hmxn'
    """

    def __init__(
        self,
        *,
        max_size: int = 10_000,
        default_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty cache."""
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size!r}")
        self._default_ttl = resolve_ttl(default_ttl, default_ttl)
        self._lock = threading.Lock()
        self._entries: TLRUCache[str, tuple[str, float]] = TLRUCache(
            maxsize=max_size, ttu=_expires, timer=clock
        )

    def get(self, key: str) -> JSONValue | None:
        """Return the value under ``key``, or ``None`` if missing or expired."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else loads(entry[0])

    def set(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (the default when ``None``).

        Raises:
            TypeError: If ``value`` is not JSON data.
            ValueError: If ``ttl`` is not positive.
        """
        seconds = resolve_ttl(ttl, self._default_ttl)
        if value is None:
            self.delete(key)
            return
        entry = (dumps(value), seconds)
        with self._lock:
            self._entries[key] = entry

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            self._entries.pop(key, None)

    def get_or_set(self, key: str, compute: Compute, ttl: float | None = None) -> JSONValue:
        """Return the cached value, or compute, store and return it."""
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        self.set(key, value, ttl)
        return value

    async def aget(self, key: str) -> JSONValue | None:
        """Return the value under ``key``, or ``None`` if missing or expired."""
        return self.get(key)

    async def aset(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (the default when ``None``)."""
        self.set(key, value, ttl)

    async def adelete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self.delete(key)

    async def aget_or_set(
        self, key: str, compute: AsyncCompute, ttl: float | None = None
    ) -> JSONValue:
        """Return the cached value, or await ``compute``, store and return it."""
        found = self.get(key)
        if found is not None:
            return found
        value = await compute()
        self.set(key, value, ttl)
        return value

    def __len__(self) -> int:
        """Return how many entries are held (expired ones may count until evicted)."""
        with self._lock:
            return len(self._entries)
