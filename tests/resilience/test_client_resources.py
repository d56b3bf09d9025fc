"""A client closes the Redis connections it opened (limiter, cache), never those it was given."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
import redis

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.resilience import RedisRateLimiter

OK = {"data": [], "links": {"self": "x"}}


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=OK)


def connected(url: str, name: str) -> bool:
    """Whether Redis has a connection named ``name``."""
    checker = redis.Redis.from_url(url)
    try:
        return any(c.get("name") == name for c in checker.client_list())
    finally:
        checker.close()


def closed(url: str, name: str) -> bool:
    """Whether Redis lost every connection named ``name`` (it sees a close within moments)."""
    for _ in range(100):
        if not connected(url, name):
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def names(redis_url):
    """Two unique connection names and a key for an account no other test uses."""
    tag = uuid.uuid4().hex
    key = "pk_" + tag
    yield key, f"kk-limiter-{tag}", f"kk-cache-{tag}"
    client = redis.Redis.from_url(redis_url)
    settings = KlaviyoSettings(private_key=key)
    keys = list(client.scan_iter(match=f"klaviyo_kit:rl:{{{settings.account_fingerprint}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def redis_settings(redis_url: str, key: str, limiter_name: str, cache_name: str) -> KlaviyoSettings:
    return KlaviyoSettings(
        private_key=key,
        environment="production",
        rate_limit={"backend": "redis", "redis_url": f"{redis_url}?client_name={limiter_name}"},
        cache={"backend": "redis", "redis_url": f"{redis_url}?client_name={cache_name}"},
    )


def test_close_closes_the_limiter_and_cache_the_client_built(redis_url, names):
    key, limiter_name, cache_name = names
    settings = redis_settings(redis_url, key, limiter_name, cache_name)
    with KlaviyoClient(settings, transport=httpx.MockTransport(answer)) as client:
        assert client.sdk.accounts.get_accounts() == OK
        client.cache.set("probe", 1)
        assert connected(redis_url, limiter_name)
        assert connected(redis_url, cache_name)
    assert closed(redis_url, limiter_name)
    assert closed(redis_url, cache_name)


def test_close_leaves_an_injected_limiter_open(redis_url, names):
    key, limiter_name, _ = names
    settings = KlaviyoSettings(private_key=key)
    limiter = RedisRateLimiter(
        settings.account_fingerprint, url=f"{redis_url}?client_name={limiter_name}"
    )
    with KlaviyoClient(settings, transport=httpx.MockTransport(answer), limiter=limiter) as c:
        c.sdk.accounts.get_accounts()
    assert connected(redis_url, limiter_name)
    limiter.close()
    assert closed(redis_url, limiter_name)


@pytest.mark.anyio
async def test_aclose_closes_the_limiter_and_cache_the_client_built(redis_url, names):
    from klaviyo_kit.services import Call

    key, limiter_name, cache_name = names
    settings = redis_settings(redis_url, key, limiter_name, cache_name)
    async with AsyncKlaviyoClient(settings, transport=httpx.MockTransport(answer)) as client:
        assert await client.aexecute(Call("accounts", "get_accounts")) == OK
        await client.cache.aset("probe", 1)
        assert connected(redis_url, limiter_name)
        assert connected(redis_url, cache_name)
    assert closed(redis_url, limiter_name)
    assert closed(redis_url, cache_name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_the_default_limiter_honours_overrides_headroom_and_max_wait(redis_url, names, backend):
    from klaviyo_kit.errors import RateLimitTimeoutError
    from klaviyo_kit.resilience import MemoryRateLimiter

    key, limiter_name, _ = names
    sent: list[httpx.Request] = []

    def count(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=OK)

    # get_profiles is 75/s + 750/m; overridden to 2/s + 2/m, halved by headroom: 1 per minute.
    settings = KlaviyoSettings(
        private_key=key,
        rate_limit={
            "backend": backend,
            "redis_url": f"{redis_url}?client_name={limiter_name}",
            "overrides": {"get_profiles": "2/s,2/m"},
            "headroom": 0.5,
            "max_wait": 1.0,
        },
    )
    with KlaviyoClient(settings, transport=httpx.MockTransport(count)) as client:
        kind = RedisRateLimiter if backend == "redis" else MemoryRateLimiter
        assert isinstance(client.resilience.limiter, kind)
        client.sdk.profiles.get_profiles()
        with pytest.raises(RateLimitTimeoutError) as info:
            client.sdk.profiles.get_profiles()
    assert info.value.wait > 50  # the next permit is a minute away, far past max_wait
    assert len(sent) == 1


def test_settings_choose_whether_a_built_redis_limiter_fails_open_or_closed():
    from klaviyo_kit.errors import ConnectError

    sent: list[httpx.Request] = []

    def count(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=OK)

    def client(mode: str) -> KlaviyoClient:
        settings = KlaviyoSettings(
            private_key="pk_" + uuid.uuid4().hex,
            rate_limit={
                "backend": "redis",
                "redis_url": "redis://:pw@127.0.0.1:1/0",  # nothing listens on port 1
                "on_unavailable": mode,
            },
        )
        return KlaviyoClient(settings, transport=httpx.MockTransport(count), sleep=lambda _: None)

    with client("closed") as closed_client, pytest.raises(ConnectError) as info:
        closed_client.sdk.accounts.get_accounts()
    assert "unreachable" in str(info.value)
    assert "pw" not in str(info.value)
    assert sent == []
    with client("open") as open_client:
        assert open_client.sdk.accounts.get_accounts() == OK
    assert len(sent) == 1
