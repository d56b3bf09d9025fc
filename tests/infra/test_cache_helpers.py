"""NullCache, TypedCache (pydantic models through any backend) and build_cache from settings."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import BaseModel, TypeAdapter

from klaviyo_kit import KlaviyoSettings
from klaviyo_kit.config import CacheSettings
from klaviyo_kit.infra import (
    Cache,
    JSONValue,
    MemoryCache,
    NullCache,
    TypedCache,
    build_cache,
    cache_prefix,
)

KEY = "pk_" + "a" * 34


class Metric(BaseModel):
    id: str
    name: str
    created: datetime


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_null_cache_stores_nothing():
    cache = NullCache()
    assert isinstance(cache, Cache)
    cache.set("k", 1)
    assert cache.get("k") is None
    cache.delete("k")
    assert cache.get_or_set("k", lambda: 2) == 2


@pytest.mark.anyio
async def test_null_cache_async():
    cache = NullCache()
    await cache.aset("k", 1)
    await cache.adelete("k")
    assert await cache.aget("k") is None

    async def compute() -> JSONValue:
        return 3

    assert await cache.aget_or_set("k", compute) == 3


def test_typed_cache_round_trips_models(clock):
    backing = MemoryCache(clock=clock)
    metrics = TypedCache(backing, Metric, namespace="metric:", ttl=30)
    placed = Metric(
        id="Y6Hmxn", name="Placed Order", created=datetime(2026, 1, 1, tzinfo=timezone.utc)
    )
    metrics.set("Placed Order", placed)
    assert backing.get("metric:Placed Order") == {
        "id": "Y6Hmxn",
        "name": "Placed Order",
        "created": "2026-01-01T00:00:00Z",
    }
    got = metrics.get("Placed Order")
    assert got == placed
    assert isinstance(got, Metric)
    assert metrics.get_or_set("Placed Order", pytest.fail) == placed
    metrics.delete("Placed Order")
    assert metrics.get("Placed Order") is None
    assert metrics.get_or_set("Placed Order", lambda: placed) == placed
    clock.advance(30)
    assert metrics.get("Placed Order") is None


def test_typed_cache_treats_outdated_entries_as_missing(clock):
    backing = MemoryCache(clock=clock)
    backing.set("metric:x", {"id": "only-id"})
    assert TypedCache(backing, Metric, namespace="metric:").get("x") is None


def test_typed_cache_accepts_a_type_adapter_and_keeps_namespaces_apart():
    backing = MemoryCache()
    ids = TypedCache(backing, TypeAdapter(list[str]), namespace="lists:")
    members = TypedCache(backing, bool, namespace="member:")
    ids.set("x", ["a", "b"])
    members.set("x", True)
    assert ids.get("x") == ["a", "b"]
    assert members.get("x") is True


@pytest.mark.anyio
async def test_typed_cache_async():
    metrics = TypedCache(MemoryCache(), Metric, namespace="m:")
    placed = Metric(id="1", name="n", created=datetime(2026, 1, 1, tzinfo=timezone.utc))

    async def compute() -> Metric:
        return placed

    assert await metrics.aget_or_set("k", compute) == placed
    assert await metrics.aget("k") == placed
    assert await metrics.aget_or_set("k", compute) == placed
    await metrics.adelete("k")
    assert await metrics.aget("k") is None
    await metrics.aset("k", placed)
    assert await metrics.aget("k") == placed


def test_build_cache_follows_the_environment():
    assert isinstance(build_cache(KlaviyoSettings(environment="development")), NullCache)
    cache = build_cache(KlaviyoSettings(environment="production"))
    assert isinstance(cache, MemoryCache)
    explicit = KlaviyoSettings(environment="development", cache=CacheSettings(enabled=True))
    assert isinstance(build_cache(explicit), MemoryCache)
    off = KlaviyoSettings(environment="production", cache=CacheSettings(enabled=False))
    assert isinstance(build_cache(off), NullCache)


def test_memory_cache_from_settings_uses_the_environment_ttl(clock):
    settings = KlaviyoSettings(environment="staging", cache=CacheSettings(max_size=5))
    assert settings.cache_ttl == 60.0
    cache = build_cache(settings)
    assert isinstance(cache, MemoryCache)
    for n in range(10):
        cache.set(str(n), n)
    assert len(cache) == 5


def test_cache_prefix_scopes_account_and_environment_without_the_key():
    prod = KlaviyoSettings(private_key=KEY, environment="production")
    staging = KlaviyoSettings(private_key=KEY, environment="staging")
    other = KlaviyoSettings(private_key="pk_" + "b" * 34, environment="production")
    assert len({cache_prefix(prod), cache_prefix(staging), cache_prefix(other)}) == 3
    assert prod.account_fingerprint in cache_prefix(prod)
    assert KEY not in cache_prefix(prod)


@pytest.mark.redis
def test_build_cache_redis_backend(redis_url, unique, redis_cleanup):
    from klaviyo_kit.infra import RedisCache

    settings = KlaviyoSettings(
        private_key=KEY,
        environment="production",
        cache=CacheSettings(backend="redis", redis_url=redis_url, ttl=30),
    )
    redis_cleanup(cache_prefix(settings))
    cache = build_cache(settings)
    assert isinstance(cache, RedisCache)
    cache.set(unique, "v")
    import redis

    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    key = cache_prefix(settings) + unique
    assert raw.get(key) == '"v"'
    assert 0 < raw.pttl(key) <= 30_000
    assert KEY not in repr(cache)
    raw.delete(key)
    raw.close()
    cache.close()
