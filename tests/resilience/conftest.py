"""Shared fakes: a clock whose sleeps move time forward instantly."""

from __future__ import annotations

import os
import uuid

import pytest
import redis


class FakeClock:
    """Monotonic time that advances only when someone sleeps (or the test says so)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def max_in_window(times: list[tuple[float, int]], length: float) -> int:
    """Return the most permits any half-open interval ``[t, t + length)`` holds."""
    best = 0
    ordered = sorted(times)
    for i, (start, _) in enumerate(ordered):
        total = 0
        for when, cost in ordered[i:]:
            if when >= start + length:
                break
            total += cost
        best = max(best, total)
    return best


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def window_max():
    return max_in_window


_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis; skips locally when it is down, fails under CI=true."""

    url = os.environ.get("KLAVIYO_KIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        if _CI:
            pytest.fail(f"Redis at {url} is required under CI=true: {exc}")
        pytest.skip(f"Redis at {url} is not running")
    finally:
        client.close()
    return url


@pytest.fixture
def key_prefix(redis_url):
    """A key prefix unique to this test; every key under it is deleted afterwards."""

    prefix = f"kk-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
