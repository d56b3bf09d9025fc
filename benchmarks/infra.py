"""Throughput of each infra backend: cache get/set, enqueue+reserve+ack, state-store upsert.

Run: python -m benchmarks.infra [--seconds 1.0]. Redis and PostgreSQL come from
KLAVIYO_KIT_TEST_REDIS_URL / KLAVIYO_KIT_TEST_POSTGRES_URL (defaults: the local servers); a
backend whose server is down is reported and skipped. Each line prints ops/s and the ratio to the
in-memory backend measured in the same run, so numbers compare across machines.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from klaviyo_kit.infra import (
    Cache,
    JobQueue,
    JSONValue,
    MemoryCache,
    MemoryQueue,
    MemoryStateStore,
    StateStore,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REDIS_URL = os.environ.get("KLAVIYO_KIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "KLAVIYO_KIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PREFIX = f"kkbench_{uuid.uuid4().hex[:8]}_"
BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rate(op: Callable[[int], None], seconds: float) -> float:
    """Run ``op(i)`` for about ``seconds`` and return operations per second."""
    for i in range(20):
        op(i)
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            op(count)
            count += 1
    return count / (time.perf_counter() - start)


def report(group: str, name: str, ops: float, baseline: float) -> None:
    """Print one result line."""
    print(f"{group:<22} {name:<10} {ops:>12,.0f} ops/s   {ops / baseline:>7.3f}x memory")


def cache_ops(cache: Cache) -> tuple[Callable[[int], None], Callable[[int], None]]:
    """Return (set, get) operations on ``cache``."""
    value: JSONValue = {"id": "Y6Hmxn", "name": "Placed Order", "list": ["a", "b"]}

    def do_set(i: int) -> None:
        cache.set(f"k{i % 1000}", value)

    def do_get(i: int) -> None:
        cache.get(f"k{i % 1000}")

    return do_set, do_get


def queue_op(queue: JobQueue) -> Callable[[int], None]:
    """Return one enqueue + reserve + ack cycle on ``queue``."""

    def cycle(i: int) -> None:
        queue.enqueue({"n": i})
        for item in queue.reserve(visibility_timeout=30):
            queue.ack(item.receipt)

    return cycle


def store_op(store: StateStore) -> Callable[[int], None]:
    """Return one last-write-wins upsert on ``store``."""

    def upsert(i: int) -> None:
        store.record_sync(
            "profile", f"p{i % 500}", updated_at=BASE + timedelta(seconds=i), source="b"
        )

    return upsert


@contextmanager
def backends() -> Iterator[dict[str, tuple[Cache | None, JobQueue | None, StateStore | None]]]:
    """Build every reachable backend, and clean up afterwards."""
    found: dict[str, tuple[Cache | None, JobQueue | None, StateStore | None]] = {
        "memory": (MemoryCache(), MemoryQueue(), MemoryStateStore()),
    }
    cleanups: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        from klaviyo_kit.infra import SQLStateStore  # noqa: PLC0415

        found["sqlite"] = (None, None, SQLStateStore(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"))
        try:
            from klaviyo_kit.infra import RedisCache, RedisQueue  # noqa: PLC0415

            cache = RedisCache(REDIS_URL, prefix=PREFIX)
            cache.get("ping")
            found["redis"] = (cache, RedisQueue(REDIS_URL, prefix=PREFIX), None)
            cleanups.append(lambda: _drop_redis(REDIS_URL))
        except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
            print(f"redis skipped: {type(exc).__name__}")
        try:
            postgres = SQLStateStore(POSTGRES_URL, table_prefix=PREFIX)
            postgres.ensure_schema()
            found["postgres"] = (None, None, postgres)
            cleanups.append(lambda: postgres.metadata.drop_all(postgres.engine))
        except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
            print(f"postgres skipped: {type(exc).__name__}")
        try:
            yield found
        finally:
            for cleanup in cleanups:
                cleanup()
            for _, _, store in found.values():
                if store is not None:
                    store.close()


def _drop_redis(url: str) -> None:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(url)
    for pattern in (f"{PREFIX}*", f"{{{PREFIX}*"):
        for key in client.scan_iter(match=pattern, count=500):
            client.delete(key)
    client.close()


def main() -> None:
    """Measure and print every backend."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    seconds = parser.parse_args().seconds
    with backends() as found:
        base: dict[str, float] = {}
        for name, (cache, queue, store) in found.items():
            if cache is not None:
                do_set, do_get = cache_ops(cache)
                for label, op in (("cache set", do_set), ("cache get", do_get)):
                    ops = rate(op, seconds)
                    base.setdefault(label, ops)
                    report(label, name, ops, base[label])
            if queue is not None:
                ops = rate(queue_op(queue), seconds)
                base.setdefault("enqueue+reserve+ack", ops)
                report("enqueue+reserve+ack", name, ops, base["enqueue+reserve+ack"])
            if store is not None:
                ops = rate(store_op(store), seconds)
                base.setdefault("store upsert", ops)
                report("store upsert", name, ops, base["store upsert"])


if __name__ == "__main__":
    main()
