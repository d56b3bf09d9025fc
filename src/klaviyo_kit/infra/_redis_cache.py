"""A :class:`Cache` on Redis, shared by every process of an account and environment."""

from __future__ import annotations

from klaviyo_kit.infra._cache import AsyncCompute, Compute, resolve_ttl
from klaviyo_kit.infra._json import JSONValue, dumps, loads
from klaviyo_kit.infra._redis import connect, redis_asyncio


class RedisCache:
    """A :class:`Cache` in Redis: JSON values under ``prefix + key`` with a TTL each.

    The sync methods use one client; the async methods use a ``redis.asyncio`` client created on
    first use in the running event loop. :func:`build_cache` scopes the prefix to the account
    fingerprint and environment, so two accounts (or staging and production) never share entries.

    Args:
        url: The Redis URL.
        prefix: Start of every key, for example ``"klaviyo_kit:production:<fingerprint>:cache:"``.
        default_ttl: Seconds an entry lives when ``set`` gives no ``ttl``.

    Raises:
        ImportError: If the ``redis`` extra is not installed.
        ValueError: If ``default_ttl`` is not positive.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "klaviyo_kit:cache:",
        default_ttl: float = 60.0,
    ) -> None:
        """Connect lazily to ``url``."""
        self._url = url
        self._prefix = prefix
        self._default_ttl = resolve_ttl(default_ttl, default_ttl)
        self._client = connect(url)
        self._async: redis_asyncio.Redis | None = None

    def __repr__(self) -> str:
        """Show the prefix, never the URL (it may hold a password)."""
        return f"RedisCache(prefix={self._prefix!r})"

    def _aclient(self) -> redis_asyncio.Redis:
        if self._async is None:
            self._async = redis_asyncio.Redis.from_url(self._url, decode_responses=True)
        return self._async

    def get(self, key: str) -> JSONValue | None:
        """Return the value under ``key``, or ``None`` if missing or expired."""
        text = self._client.get(self._prefix + key)
        return None if text is None else loads(str(text))

    def set(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (the default when ``None``).

        Raises:
            TypeError: If ``value`` is not JSON data.
            ValueError: If ``ttl`` is not positive.
        """
        millis = max(round(resolve_ttl(ttl, self._default_ttl) * 1000), 1)
        if value is None:
            self.delete(key)
            return
        self._client.set(self._prefix + key, dumps(value), px=millis)

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._client.delete(self._prefix + key)

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
        text = await self._aclient().get(self._prefix + key)
        return None if text is None else loads(str(text))

    async def aset(self, key: str, value: JSONValue, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (the default when ``None``)."""
        millis = max(round(resolve_ttl(ttl, self._default_ttl) * 1000), 1)
        if value is None:
            await self.adelete(key)
            return
        await self._aclient().set(self._prefix + key, dumps(value), px=millis)

    async def adelete(self, key: str) -> None:
        """Remove ``key`` if present."""
        await self._aclient().delete(self._prefix + key)

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
