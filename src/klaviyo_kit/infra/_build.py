"""Build the cache a client uses from :class:`~klaviyo_kit.KlaviyoSettings`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.infra._cache import Cache, NullCache
from klaviyo_kit.infra._memory_cache import MemoryCache

if TYPE_CHECKING:
    from klaviyo_kit.config import KlaviyoSettings


def cache_prefix(settings: KlaviyoSettings) -> str:
    """Return the key prefix for the settings' account and environment.

    The account appears only as :attr:`~klaviyo_kit.KlaviyoSettings.account_fingerprint`, never as
    the key itself.
    """
    return f"klaviyo_kit:{settings.environment.value}:{settings.account_fingerprint}:cache:"


def build_cache(settings: KlaviyoSettings) -> Cache:
    """Return the cache the settings ask for.

    A :class:`NullCache` when :attr:`~klaviyo_kit.KlaviyoSettings.cache_enabled` is false (the
    default in development), else a :class:`MemoryCache` or a :class:`RedisCache` (backend
    ``redis``) whose entries live :attr:`~klaviyo_kit.KlaviyoSettings.cache_ttl` seconds.

    Args:
        settings: The client's settings.

    Returns:
        A ready cache.

    Raises:
        ImportError: If the ``redis`` backend is chosen without the ``redis`` extra.

    Example:
        >>> from klaviyo_kit import KlaviyoSettings
        >>> type(build_cache(KlaviyoSettings(environment="production"))).__name__
        'MemoryCache'
        >>> type(build_cache(KlaviyoSettings(environment="development"))).__name__
        'NullCache'
    """
    if not settings.cache_enabled:
        return NullCache()
    if settings.cache.backend == "redis":
        from klaviyo_kit.infra._redis_cache import RedisCache  # noqa: PLC0415 - optional extra

        return RedisCache(
            settings.cache.redis_url, prefix=cache_prefix(settings), default_ttl=settings.cache_ttl
        )
    return MemoryCache(max_size=settings.cache.max_size, default_ttl=settings.cache_ttl)
