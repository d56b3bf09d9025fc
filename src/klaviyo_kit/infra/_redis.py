"""The lazily imported ``redis`` package: clients with bounded waits, and what an outage looks like.

Every Redis failure the backends see (refused or dropped connections, timeouts, a server that
is loading or out of memory) is a ``redis.RedisError``; the cache turns it into a miss and the
queue into :class:`~klaviyo_kit.errors.BackendUnavailableError`, so no ``redis`` class ever
reaches the caller. Messages name the server as ``host:port/db``, never the URL (it may hold a
password).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

from klaviyo_kit.errors import BackendUnavailableError

try:
    import redis
    from redis import asyncio as redis_asyncio
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "redis is not installed: pip install 'klaviyo-kit[redis]'"
    raise ImportError(msg, name="redis") from exc

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "OUTAGE",
    "RedisEndpoint",
    "connect",
    "connect_async",
    "redis",
    "redis_asyncio",
    "unavailable",
]

OUTAGE: Final[tuple[type[Exception], ...]] = (redis.RedisError,)
"""What counts as Redis being unavailable: every ``redis`` error, timeouts included."""

DEFAULT_TIMEOUT: Final = 5.0
"""Seconds to connect, and to wait for a reply, unless the URL sets ``socket_timeout``."""


def connect(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> redis.Redis:
    """Return a client for ``url`` that decodes replies as UTF-8 text.

    Args:
        url: The Redis URL; its ``socket_timeout`` and ``socket_connect_timeout`` query
            parameters win over ``timeout``.
        timeout: Seconds to connect and to wait for each reply, so an unreachable or frozen
            server costs a bounded wait, never a hang.

    Returns:
        A client that connects on first use.
    """
    client: redis.Redis = redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return client


def connect_async(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> redis_asyncio.Redis:
    """Return an asyncio client for ``url``, decoding and timing out as :func:`connect` does."""
    client: redis_asyncio.Redis = redis_asyncio.Redis.from_url(
        url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return client


class RedisEndpoint:
    """Where a client connects, for messages: ``host:port/db``, with the URL's secrets known.

    Args:
        url: The Redis URL the client was made from.
        client: The client; its connection settings name the server.
    """

    __slots__ = ("_secrets", "where")

    def __init__(self, url: str, client: redis.Redis) -> None:
        """Describe ``client`` and remember the URL's password (only to scrub it out)."""
        kwargs = client.connection_pool.connection_kwargs
        if "path" in kwargs:
            self.where = f"unix:{kwargs['path']}/{kwargs.get('db', 0)}"
        else:
            self.where = (
                f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
            )
        parts = urlsplit(url)
        raw = {parts.password, kwargs.get("password")}
        self._secrets = tuple(
            sorted({s for p in raw if p for s in (p, unquote(p))}, key=len, reverse=True)
        )

    def describe(self, exc: BaseException) -> str:
        """Return ``"<where>: <ErrorClass>: <message>"`` without any password of the URL."""
        text = f"{self.where}: {type(exc).__name__}: {exc}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


@contextmanager
def unavailable(backend: str, endpoint: RedisEndpoint) -> Iterator[None]:
    """Raise :class:`BackendUnavailableError` for any Redis failure inside the block.

    Args:
        backend: What failed, e.g. ``"redis queue"``.
        endpoint: The server, for the message.

    Raises:
        klaviyo_kit.errors.BackendUnavailableError: If Redis failed; the ``redis`` error is
            chained as the cause.
    """
    try:
        yield
    except OUTAGE as exc:
        raise BackendUnavailableError(backend, endpoint.describe(exc)) from exc
