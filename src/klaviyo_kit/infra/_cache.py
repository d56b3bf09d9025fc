"""The cache contract, the :class:`NullCache` used when caching is off, and shared helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from klaviyo_kit.infra._json import JSONValue

Compute = Callable[[], JSONValue]
"""Builds a value on a cache miss."""

AsyncCompute = Callable[[], Awaitable[JSONValue]]
"""Builds a value on a cache miss, asynchronously."""


@runtime_checkable
class Cache(Protocol):
    """A key-value cache of JSON data with per-entry time to live, sync and async.

    ``None`` means "missing": it is never stored, so a compute that returns ``None`` runs again
    next time. Values come back as fresh JSON copies (tuples become lists). For pydantic models
    wrap a cache in :class:`TypedCache`.

    A cache never fails its caller because its backend is down: :class:`RedisCache` answers a
    miss and skips writes while Redis is unreachable, and logs that.
    """

    def get(self, key: str) -> JSONValue | None:
        """Return the value under ``key``, or ``None`` if missing or expired."""

    def set(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (the cache's default when ``None``)."""

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    def get_or_set(self, key: str, compute: Compute, ttl: float | None = None) -> JSONValue:
        """Return the cached value, or compute, store and return it."""

    async def aget(self, key: str) -> JSONValue | None:
        """Return the value under ``key``, or ``None`` if missing or expired."""

    async def aset(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (the cache's default when ``None``)."""

    async def adelete(self, key: str) -> None:
        """Remove ``key`` if present."""

    async def aget_or_set(
        self, key: str, compute: AsyncCompute, ttl: float | None = None
    ) -> JSONValue:
        """Return the cached value, or await ``compute``, store and return it."""


def resolve_ttl(ttl: float | None, default: float) -> float:
    """Return the entry lifetime to use.

    Raises:
        ValueError: If ``ttl`` is given and not positive.
    """
    if ttl is None:
        return default
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")
    return ttl


class NullCache:
    """A :class:`Cache` that stores nothing: every lookup misses and computes.

    Used when caching is off (``KLAVIYO_CACHE__ENABLED=false``, or in development by default).
    """

    def get(self, key: str) -> JSONValue | None:  # noqa: ARG002 - protocol signature
        """Return ``None``: nothing is cached."""
        return None

    def set(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Do nothing."""

    def delete(self, key: str) -> None:
        """Do nothing."""

    def get_or_set(self, key: str, compute: Compute, ttl: float | None = None) -> JSONValue:  # noqa: ARG002
        """Return ``compute()``."""
        return compute()

    async def aget(self, key: str) -> JSONValue | None:  # noqa: ARG002 - protocol signature
        """Return ``None``: nothing is cached."""
        return None

    async def aset(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Do nothing."""

    async def adelete(self, key: str) -> None:
        """Do nothing."""

    async def aget_or_set(
        self,
        key: str,  # noqa: ARG002 - protocol signature
        compute: AsyncCompute,
        ttl: float | None = None,  # noqa: ARG002 - protocol signature
    ) -> JSONValue:
        """Return ``await compute()``."""
        return await compute()
