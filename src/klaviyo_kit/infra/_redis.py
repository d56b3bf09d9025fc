"""The lazily imported ``redis`` package, with an error that names the extra to install."""

from __future__ import annotations

try:
    import redis
    from redis import asyncio as redis_asyncio
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "redis is not installed: pip install 'klaviyo-kit[redis]'"
    raise ImportError(msg, name="redis") from exc

__all__ = ["connect", "redis", "redis_asyncio"]


def connect(url: str) -> redis.Redis:
    """Return a client for ``url`` that decodes replies as UTF-8 text."""
    client: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
    return client
