"""Backends for the infra contract suites: memory, SQLite, and the real Redis and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REDIS_URL = os.environ.get("KLAVIYO_KIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class FakeClock:
    """A clock that moves only when told to; ``sleep`` advances it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def unique() -> str:
    """A name no other test run (or engineer) on this machine uses."""
    return f"kkt_{uuid.uuid4().hex[:10]}_"


@pytest.fixture
def redis_cleanup(redis_url: str) -> Iterator[Callable[[str], None]]:
    """Register key prefixes to delete from Redis after the test."""
    import redis

    prefixes: list[str] = []
    yield prefixes.append
    client = redis.Redis.from_url(redis_url)
    for prefix in prefixes:
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
    client.close()
