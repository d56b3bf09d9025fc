"""A typed view of a :class:`Cache` that stores pydantic models (or any type pydantic knows)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from klaviyo_kit.infra._cache import Cache
    from klaviyo_kit.infra._json import JSONValue

T = TypeVar("T")


class TypedCache(Generic[T]):
    """Store values of one type in a :class:`Cache` as JSON, validated on the way out.

    Values go in through ``TypeAdapter.dump_python(mode="json")`` and come out through
    ``validate_python``, so any backend (memory, Redis) round-trips models, dates and enums. An
    entry that no longer validates (its model changed between releases) counts as a miss.

    Args:
        cache: The cache that holds the entries.
        type_: The value type, for example a pydantic model class or ``list[str]``.
        namespace: Prefix of this view's keys, so types never read each other's entries.
        ttl: Seconds an entry lives; ``None`` uses the cache's default.

    Example:
        >>> from klaviyo_kit.infra import MemoryCache
        >>> ids = TypedCache(MemoryCache(), dict[str, int], namespace="counts:")
        >>> ids.set("a", {"x": 1})
        >>> ids.get("a")
        {'x': 1}
    """

    def __init__(
        self,
        cache: Cache,
        type_: type[T] | TypeAdapter[T],
        *,
        namespace: str,
        ttl: float | None = None,
    ) -> None:
        """Create the view."""
        self._cache = cache
        self._adapter: TypeAdapter[T] = (
            type_ if isinstance(type_, TypeAdapter) else TypeAdapter(type_)
        )
        self._namespace = namespace
        self._ttl = ttl

    def _dump(self, value: T) -> JSONValue:
        dumped: JSONValue = self._adapter.dump_python(value, mode="json")
        return dumped

    def _load(self, raw: JSONValue | None) -> T | None:
        if raw is None:
            return None
        try:
            return self._adapter.validate_python(raw)
        except ValidationError:
            return None

    def get(self, key: str) -> T | None:
        """Return the value under ``key``, or ``None`` if missing, expired or outdated."""
        return self._load(self._cache.get(self._namespace + key))

    def set(self, key: str, value: T) -> None:
        """Store ``value`` under ``key``."""
        self._cache.set(self._namespace + key, self._dump(value), self._ttl)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._cache.delete(self._namespace + key)

    def get_or_set(self, key: str, compute: Callable[[], T]) -> T:
        """Return the cached value, or compute, store and return it."""
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        self.set(key, value)
        return value

    async def aget(self, key: str) -> T | None:
        """Return the value under ``key``, or ``None`` if missing, expired or outdated."""
        return self._load(await self._cache.aget(self._namespace + key))

    async def aset(self, key: str, value: T) -> None:
        """Store ``value`` under ``key``."""
        await self._cache.aset(self._namespace + key, self._dump(value), self._ttl)

    async def adelete(self, key: str) -> None:
        """Remove ``key`` if present."""
        await self._cache.adelete(self._namespace + key)

    async def aget_or_set(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """Return the cached value, or await ``compute``, store and return it."""
        found = await self.aget(key)
        if found is not None:
            return found
        value = await compute()
        await self.aset(key, value)
        return value
