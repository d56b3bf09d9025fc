"""Infrastructure adapters: cache, job queue with dead letters, and the sync-state store.

Each concept is a :class:`typing.Protocol` with an embedded default that needs no server
(memory, SQLite) and a backend for real deployments (Redis, PostgreSQL). Backends needing an
extra (``redis``, ``sql``) import it only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaviyo_kit.infra._json import JSONValue
from klaviyo_kit.infra._memory_store import MemoryStateStore
from klaviyo_kit.infra._store import AuditEntry, Direction, RecordSync, StateStore

if TYPE_CHECKING:
    from klaviyo_kit.infra._sql_store import SQLStateStore

__all__ = [
    "AuditEntry",
    "Direction",
    "JSONValue",
    "MemoryStateStore",
    "RecordSync",
    "SQLStateStore",
    "StateStore",
]

_LAZY = {
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


for _value in (AuditEntry, MemoryStateStore, RecordSync, StateStore):
    _value.__module__ = __name__
del _value
