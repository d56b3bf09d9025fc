"""Infrastructure adapters: cache, job queue with dead letters, and the sync-state store.

Each concept is a :class:`typing.Protocol` with an embedded default that needs no server
(memory, SQLite) and a backend for real deployments (Redis, PostgreSQL). Backends needing an
extra (``redis``, ``sql``) import it only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.infra._build import build_cache, cache_prefix
from klaviyo_kit.infra._cache import AsyncCompute, Cache, Compute, NullCache
from klaviyo_kit.infra._json import JSONValue
from klaviyo_kit.infra._memory_cache import MemoryCache
from klaviyo_kit.infra._memory_queue import MemoryQueue
from klaviyo_kit.infra._memory_store import MemoryStateStore
from klaviyo_kit.infra._queue import DeadLetter, JobQueue, Reserved, RetryDelay
from klaviyo_kit.infra._store import AuditEntry, Direction, RecordSync, StateStore
from klaviyo_kit.infra._typed_cache import TypedCache

if TYPE_CHECKING:
    from klaviyo_kit.infra._redis_cache import RedisCache
    from klaviyo_kit.infra._redis_queue import RedisQueue
    from klaviyo_kit.infra._sql_store import SQLStateStore

__all__ = [
    "AsyncCompute",
    "AuditEntry",
    "Cache",
    "Compute",
    "DeadLetter",
    "Direction",
    "JSONValue",
    "JobQueue",
    "MemoryCache",
    "MemoryQueue",
    "MemoryStateStore",
    "NullCache",
    "RecordSync",
    "RedisCache",
    "RedisQueue",
    "Reserved",
    "RetryDelay",
    "SQLStateStore",
    "StateStore",
    "TypedCache",
    "build_cache",
    "cache_prefix",
]

_LAZY = {
    "RedisCache": "klaviyo_kit.infra._redis_cache",
    "RedisQueue": "klaviyo_kit.infra._redis_queue",
    "SQLStateStore": "klaviyo_kit.infra._sql_store",
}


def __getattr__(name: str) -> object:
    """Import backends that need an optional dependency on first access."""
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib  # noqa: PLC0415 - lazy by design

    value: object = getattr(importlib.import_module(module_name), name)
    value.__module__ = __name__
    globals()[name] = value
    return value


for _value in (
    AuditEntry,
    Cache,
    DeadLetter,
    JobQueue,
    MemoryCache,
    MemoryQueue,
    MemoryStateStore,
    NullCache,
    RecordSync,
    Reserved,
    StateStore,
    TypedCache,
    build_cache,
    cache_prefix,
):
    _value.__module__ = __name__
del _value
