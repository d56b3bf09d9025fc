"""One contract suite for every Cache backend, sync and async: memory and the real Redis."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from klaviyo_kit.infra import Cache, JSONValue, MemoryCache

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TTL = 0.2


@dataclass
class Backend:
    make: Callable[..., Cache]
    advance: Callable[[float], None]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, clock, unique) -> Iterator[Backend]:
    if request.param == "memory":

        def make_memory(**options: Any) -> Cache:
            return MemoryCache(clock=clock, **options)

        yield Backend(make_memory, clock.advance)
        return
    from klaviyo_kit.infra import RedisCache

    url = request.getfixturevalue("redis_url")
    request.getfixturevalue("redis_cleanup")(unique)
    made: list[RedisCache] = []

    def make_redis(**options: Any) -> Cache:
        options.pop("max_size", None)
        cache = RedisCache(url, prefix=unique, **options)
        made.append(cache)
        return cache

    yield Backend(make_redis, lambda seconds: time.sleep(seconds + 0.02))
    for cache in made:
        cache.close()


def test_is_a_cache(backend):
    assert isinstance(backend.make(), Cache)


def test_set_get_delete(backend):
    cache = backend.make()
    value: JSONValue = {"id": "Y6Hmxn", "n": 2**60, "f": 0.5, "ok": True, "tags": ["a", None]}
    assert cache.get("metric") is None
    cache.set("metric", value)
    assert cache.get("metric") == value
    cache.set("metric", "replaced")
    assert cache.get("metric") == "replaced"
    cache.delete("metric")
    cache.delete("never-set")
    assert cache.get("metric") is None


def test_values_are_copies(backend):
    cache = backend.make()
    value: list[JSONValue] = [1, 2]
    cache.set("k", value)
    value.append(3)
    got = cache.get("k")
    assert got == [1, 2]
    assert isinstance(got, list)
    got.append(4)
    assert cache.get("k") == [1, 2]


def test_none_is_never_stored(backend):
    cache = backend.make()
    cache.set("k", "v")
    cache.set("k", None)
    assert cache.get("k") is None


def test_non_json_values_are_refused(backend):
    cache = backend.make()
    bad: Any = {"when": object()}
    with pytest.raises(TypeError):
        cache.set("k", bad)


def test_entries_expire_after_their_ttl(backend):
    cache = backend.make(default_ttl=TTL)
    cache.set("default", 1)
    cache.set("longer", 2, ttl=60)
    backend.advance(TTL)
    assert cache.get("default") is None
    assert cache.get("longer") == 2


def test_ttl_must_be_positive(backend):
    cache = backend.make()
    with pytest.raises(ValueError, match="ttl"):
        cache.set("k", 1, ttl=0)
    with pytest.raises(ValueError, match="ttl"):
        backend.make(default_ttl=-1)


def test_get_or_set_computes_once(backend):
    cache = backend.make()
    calls: list[int] = []

    def compute() -> JSONValue:
        calls.append(1)
        return ["list-id"]

    assert cache.get_or_set("lists", compute) == ["list-id"]
    assert cache.get_or_set("lists", compute) == ["list-id"]
    assert len(calls) == 1


def test_get_or_set_recomputes_none(backend):
    cache = backend.make()
    calls: list[int] = []

    def compute() -> JSONValue:
        calls.append(1)
        return None

    assert cache.get_or_set("k", compute) is None
    assert cache.get_or_set("k", compute) is None
    assert len(calls) == 2


def test_threads_share_one_cache(backend):
    cache = backend.make()

    def work(n: int) -> None:
        for i in range(50):
            cache.set(f"t{n}:{i}", i)
            assert cache.get(f"t{n}:{i}") == i

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("t7:49") == 49


@pytest.mark.anyio
async def test_async_twins(backend):
    cache = backend.make(default_ttl=TTL)
    assert await cache.aget("k") is None
    await cache.aset("k", {"a": [1]}, ttl=60)
    assert await cache.aget("k") == {"a": [1]}
    assert cache.get("k") == {"a": [1]}, "sync and async see the same entries"
    await cache.adelete("k")
    assert await cache.aget("k") is None
    await cache.aset("gone", 1)
    await cache.aset("none", None)
    assert await cache.aget("none") is None
    calls: list[int] = []

    async def compute() -> JSONValue:
        calls.append(1)
        return "computed"

    assert await cache.aget_or_set("c", compute) == "computed"
    assert await cache.aget_or_set("c", compute) == "computed"
    assert len(calls) == 1
    backend.advance(TTL)
    assert await cache.aget("gone") is None
    close = getattr(cache, "aclose", None)
    if close is not None:
        await close()


def test_memory_cache_is_bounded(clock):
    cache = MemoryCache(max_size=2, clock=clock)
    for key in ("a", "b", "c"):
        cache.set(key, key)
    assert len(cache) == 2
    assert cache.get("a") is None
    assert cache.get("c") == "c"
    with pytest.raises(ValueError, match="max_size"):
        MemoryCache(max_size=0)
