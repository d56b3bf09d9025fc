"""Health checks of a client: breaker, limiter backend, cache, and one real Klaviyo call."""

from __future__ import annotations

import os

import httpx
import pytest

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.health import CheckResult, HealthReport, check_cache, check_sender, run_checks
from klaviyo_kit.infra import MemoryCache, MemoryQueue
from klaviyo_kit.resilience import CircuitBreaker
from klaviyo_kit.sandbox import Sandbox

KEY = "pk_" + "h8" * 17
REDIS_URL = os.environ.get("KLAVIYO_KIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_a_fresh_client_is_healthy_without_touching_the_network():
    with KlaviyoClient(KlaviyoSettings(private_key=KEY, environment="staging")) as client:
        report = client.health()
    assert report.healthy
    assert [c.name for c in report.checks] == ["credentials", "breaker", "rate_limiter", "cache"]
    assert report.as_dict()["healthy"] is True


def test_probe_against_the_sandbox_and_a_rejected_key():
    sandbox = Sandbox(seed=3, api_key=KEY)
    with KlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport()) as good:
        report = good.health(probe_klaviyo=True)
    assert report.healthy
    assert report.checks[-1] == CheckResult(
        "klaviyo", healthy=True, detail="answered", latency=report.checks[-1].latency
    )
    other = "pk_" + "z9" * 17
    with KlaviyoClient(KlaviyoSettings(private_key=other), transport=sandbox.transport()) as bad:
        report = bad.health(probe_klaviyo=True)
    klaviyo = report.checks[-1]
    assert not report.healthy
    assert klaviyo.detail.startswith("key rejected")
    assert other not in klaviyo.detail
    assert other not in str(report.as_dict())


def test_an_open_breaker_is_unhealthy():
    t = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, cool_down=30, clock=lambda: t[0])
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    settings = KlaviyoSettings(private_key=KEY, retry={"attempts": 1})
    with KlaviyoClient(settings, transport=transport, breaker=breaker) as client:
        with pytest.raises(Exception, match="503"):
            client.sdk.metrics.get_metrics()
        report = client.health()
    (check,) = [c for c in report.checks if c.name == "breaker"]
    assert not check.healthy
    assert "open" in check.detail
    assert "half-opens in 30.0s" in check.detail


@pytest.mark.redis
def test_redis_backends_are_pinged_and_an_outage_is_reported():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    up = KlaviyoSettings(
        private_key=KEY,
        rate_limit={"backend": "redis", "redis_url": REDIS_URL},
        cache={"enabled": True, "backend": "redis", "redis_url": REDIS_URL},
    )
    with KlaviyoClient(up) as client:
        report = client.health()
    assert report.healthy, report
    assert {c.name: c.latency is not None for c in report.checks} == {
        "credentials": False,
        "breaker": False,
        "rate_limiter": True,
        "cache": True,
    }
    down_url = "redis://:s3cret@127.0.0.1:1/0"  # nothing listens on port 1
    down = KlaviyoSettings(
        private_key=KEY,
        rate_limit={"backend": "redis", "redis_url": down_url},
        cache={"enabled": True, "backend": "redis", "redis_url": down_url},
    )
    with KlaviyoClient(down) as client:
        report = client.health()
    failing = {c.name for c in report.checks if not c.healthy}
    assert failing == {"rate_limiter", "cache"}
    assert "s3cret" not in str(report.as_dict())


def test_a_cache_that_loses_entries_is_unhealthy():
    ticks = iter(range(0, 10_000, 60))  # each read of the clock is a minute later
    forgetful = MemoryCache(clock=lambda: float(next(ticks)))
    check = check_cache(forgetful)
    assert not check.healthy
    assert check.detail == "MemoryCache lost a probe entry"
    assert check_cache(MemoryCache()).healthy


def test_report_health_is_all_checks():
    ok = CheckResult("a", healthy=True, detail="")
    bad = CheckResult("b", healthy=False, detail="down")
    assert HealthReport((ok,)).healthy
    assert not HealthReport((ok, bad)).healthy
    assert run_checks(breaker=None, limiter=None, cache=MemoryCache()).healthy


@pytest.mark.anyio
async def test_async_client_health():
    sandbox = Sandbox(seed=4)
    async with AsyncKlaviyoClient(
        KlaviyoSettings(private_key=KEY), transport=sandbox.transport()
    ) as client:
        report = await client.health(probe_klaviyo=True)
    assert report.healthy
    assert [c.name for c in report.checks] == [
        "credentials",
        "breaker",
        "rate_limiter",
        "cache",
        "klaviyo",
    ]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_a_client_without_a_private_key_is_not_healthy_and_says_why(monkeypatch):
    monkeypatch.delenv("KLAVIYO_PRIVATE_KEY", raising=False)
    with KlaviyoClient(KlaviyoSettings(_env_file=None)) as client:
        report = client.health()
    assert not report.healthy
    (check,) = [c for c in report.checks if c.name == "credentials"]
    assert not check.healthy
    assert "KLAVIYO_PRIVATE_KEY" in check.detail
    assert "KLAVIYO_PRIVATE_KEY" in str(report.as_dict()["checks"])


def test_each_background_sender_reports_its_backlog_and_dead_letters():
    sandbox = Sandbox(seed=4, api_key=KEY)
    with KlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport()) as client:
        first = client.events.background(linger=0)
        second = client.events.background(MemoryQueue(), linger=0)
        first.track("Clicked", "ada@example.com")
        assert first.flush(10)
        second.queue.enqueue({"not": "an event"})  # dead-lettered by the sender
        assert second.flush(10)
        report = client.health()
        by_name = {c.name: c for c in report.checks}
        assert by_name["events_sender"].counts == {"backlog": 0, "dead_letters": 0}
        assert by_name["events_sender_2"].counts == {"backlog": 0, "dead_letters": 1}
        assert "1 dead letters" in by_name["events_sender_2"].detail
        assert report.healthy  # dead letters are counted, not a reason to pull the instance
        second.close()
        stopped = check_sender(second)
        assert not stopped.healthy
        assert stopped.detail.startswith("stopped")
    assert client.events.senders == ()


@pytest.mark.anyio
async def test_the_async_client_reports_its_senders_and_missing_key(monkeypatch):
    monkeypatch.delenv("KLAVIYO_PRIVATE_KEY", raising=False)
    sandbox = Sandbox(seed=5, api_key=KEY)
    client = AsyncKlaviyoClient(KlaviyoSettings(private_key=KEY), transport=sandbox.transport())
    sender = client.events.background(linger=0)
    await sender.track("Clicked", "ada@example.com")
    assert await sender.flush(10)
    report = await client.health()
    assert report.healthy
    assert {c.name: c.counts for c in report.checks}["events_sender"] == {
        "backlog": 0,
        "dead_letters": 0,
    }
    await client.aclose()
    async with AsyncKlaviyoClient(KlaviyoSettings(_env_file=None)) as keyless:
        assert not (await keyless.health()).healthy
