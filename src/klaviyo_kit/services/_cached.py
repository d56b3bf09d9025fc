"""Services whose lookups go through the client's cache (``Cache``; a ``NullCache`` when off).

A cache may be shared (one ``RedisCache`` for several clients, or one injected ``MemoryCache``),
so every key starts with the client's environment and account fingerprint: one account never
reads another's metric ids, lists or segment answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from klaviyo_kit.services._base import AsyncRunner, AsyncService, Runner, SyncService

if TYPE_CHECKING:
    from collections.abc import Callable

    from klaviyo_kit.config import KlaviyoSettings
    from klaviyo_kit.infra import Cache, JSONValue
    from klaviyo_kit.services._flow import Flow

__all__ = ["AsyncCachedService", "AsyncCachingRunner", "CachedService", "CachingRunner"]


def _scope(settings: KlaviyoSettings) -> str:
    return f"{settings.environment.value}:{settings.account_fingerprint}:"


class CachingRunner(Runner, Protocol):
    """A :class:`Runner` that also offers its cache (``KlaviyoClient``)."""

    cache: Cache


class AsyncCachingRunner(AsyncRunner, Protocol):
    """An :class:`AsyncRunner` that also offers its cache (``AsyncKlaviyoClient``)."""

    cache: Cache


class CachedService(SyncService):
    """A synchronous service that caches some lookups for ``settings.cache_ttl`` seconds."""

    def __init__(self, runner: CachingRunner) -> None:
        """Bind the service to the client that runs its calls and owns its cache."""
        super().__init__(runner)
        self._cache = runner.cache
        self._ttl = runner.settings.cache_ttl
        self._scope = _scope(runner.settings)

    def _cached(self, key: str, flow: Callable[[], Flow[JSONValue | None]]) -> JSONValue | None:
        """Return the cached value under ``key``, or run ``flow`` and cache what it returns.

        ``None`` (nothing found) is never cached, so a later lookup asks Klaviyo again.
        """
        scoped = self._scope + key
        hit = self._cache.get(scoped)
        if hit is not None:
            return hit
        value = self._run(flow())
        if value is not None:
            self._cache.set(scoped, value, self._ttl)
        return value


class AsyncCachedService(AsyncService):
    """The async twin of :class:`CachedService`."""

    def __init__(self, runner: AsyncCachingRunner) -> None:
        """Bind the service to the async client that runs its calls and owns its cache."""
        super().__init__(runner)
        self._cache = runner.cache
        self._ttl = runner.settings.cache_ttl
        self._scope = _scope(runner.settings)

    async def _cached(
        self, key: str, flow: Callable[[], Flow[JSONValue | None]]
    ) -> JSONValue | None:
        """Return the cached value under ``key``, or run ``flow`` and cache what it returns."""
        scoped = self._scope + key
        hit = await self._cache.aget(scoped)
        if hit is not None:
            return hit
        value = await self._run(flow())
        if value is not None:
            await self._cache.aset(scoped, value, self._ttl)
        return value
