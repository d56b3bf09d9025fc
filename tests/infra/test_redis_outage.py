"""Redis going away and coming back: the cache misses, the queue raises BackendUnavailableError.

Each test runs its own ``redis-server`` (``tests/_redis_server.py``) and stops, freezes or
restarts it; the shared test Redis is never touched.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
import redis
from tests._redis_server import RedisServer

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import BackendUnavailableError, KlaviyoError
from klaviyo_kit.infra import RedisCache, RedisQueue
from klaviyo_kit.sandbox import Sandbox
from klaviyo_kit.services import EventSender

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests._redis_server import RedisServer as Server

LOGGER = "klaviyo_kit.infra"
PASSWORD = "hunter2/s3cret:pw"
KEY = "pk_" + "c4" * 17
FAST = "?socket_timeout=0.3&socket_connect_timeout=0.3"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def outage_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING
    ]


def infos_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO
    ]


def make_cache(server: Server, clock, suffix: str = "") -> RedisCache:
    return RedisCache(
        server.url + suffix,
        prefix="outage:",
        clock=clock,
        log_interval=60.0,
        retry_unavailable_after=5.0,
    )


# --- The cache: an outage is a miss ------------------------------------------------------------


def test_cache_misses_while_redis_is_down_and_logs_once_per_interval(
    redis_server, clock, outage_log
):
    cache = make_cache(redis_server, clock)
    cache.set("list:VIP", {"id": "L1"})
    assert cache.get("list:VIP") == {"id": "L1"}

    redis_server.stop()
    assert cache.get("list:VIP") is None
    cache.set("list:VIP", {"id": "L2"})  # skipped, not raised
    cache.delete("list:VIP")
    assert cache.get_or_set("list:VIP", lambda: "computed") == "computed"
    warnings = warnings_of(outage_log)
    assert len(warnings) == 1
    assert f"127.0.0.1:{redis_server.port}/0" in warnings[0]
    assert "ConnectionError" in warnings[0]

    for _ in range(8):  # Redis is tried again every 5 s and still fails: no new warning...
        clock.advance(6.0)
        assert cache.get("list:VIP") is None
    assert len(warnings_of(outage_log)) == 1
    clock.advance(13.0)  # ...until the 60 s interval has passed
    assert cache.get("list:VIP") is None
    assert len(warnings_of(outage_log)) == 2
    assert infos_of(outage_log) == []
    cache.close()


def test_cache_works_again_after_redis_restarts(redis_server, clock, outage_log):
    cache = make_cache(redis_server, clock)
    redis_server.stop()
    assert cache.get("k") is None

    redis_server.start()  # empty: the server keeps nothing on disk
    direct = redis.Redis.from_url(redis_server.url)
    direct.set("outage:k", '"from-redis"')
    assert cache.get("k") is None, "Redis is left alone for retry_unavailable_after seconds"
    clock.advance(5.0)
    assert cache.get("k") == "from-redis"
    cache.set("k2", [1, 2])
    assert cache.get("k2") == [1, 2]
    cache.delete("k2")
    assert direct.exists("outage:k2") == 0
    back = f"klaviyo_kit cache: Redis at 127.0.0.1:{redis_server.port}/0 is available again"
    assert infos_of(outage_log) == [back]
    assert cache.get("k") == "from-redis"
    assert len(infos_of(outage_log)) == 1, "the recovery is logged once"
    direct.close()
    cache.close()


@pytest.mark.anyio
async def test_async_cache_misses_while_redis_is_down_and_recovers(redis_server, clock, outage_log):
    cache = make_cache(redis_server, clock)
    await cache.aset("k", {"n": 1})
    assert await cache.aget("k") == {"n": 1}

    redis_server.stop()
    assert await cache.aget("k") is None
    await cache.aset("k", {"n": 2})
    await cache.adelete("k")

    async def compute() -> str:
        return "computed"

    assert await cache.aget_or_set("k", compute) == "computed"
    assert len(warnings_of(outage_log)) == 1

    redis_server.start()
    clock.advance(5.0)
    assert await cache.aget("k") is None  # the restarted server is empty
    await cache.aset("k", "back")
    assert await cache.aget("k") == "back"
    assert cache.get("k") == "back"
    assert len(warnings_of(outage_log)) == 1
    await cache.aclose()


def test_cache_timeout_is_an_outage(redis_server, clock, outage_log):
    cache = make_cache(redis_server, clock, FAST)
    cache.set("k", "v")
    redis_server.pause()
    started = time.monotonic()
    assert cache.get("k") is None
    cache.set("k", "w")  # within the retry window: not even tried
    assert time.monotonic() - started < 2.0
    warnings = warnings_of(outage_log)
    assert len(warnings) == 1
    assert "TimeoutError" in warnings[0]
    redis_server.resume()
    clock.advance(5.0)
    assert cache.get("k") == "v"
    cache.close()


def test_cache_and_queue_wait_a_bounded_time_by_default(redis_server):
    cache = RedisCache(redis_server.url)
    queue = RedisQueue(redis_server.url)
    for client in (cache._client, queue._client):
        options = client.connection_pool.connection_kwargs
        assert 0 < options["socket_timeout"] <= 5
        assert 0 < options["socket_connect_timeout"] <= 5
    cache.close()
    queue.close()


# --- The queue: an outage is BackendUnavailableError --------------------------------------------


def queue_operations(queue: RedisQueue, receipt: str) -> dict[str, Callable[[], Any]]:
    return {
        "enqueue": lambda: queue.enqueue({"n": 1}),
        "enqueue with key": lambda: queue.enqueue({"n": 1}, key="k-1"),
        "reserve": lambda: queue.reserve(visibility_timeout=30),
        "reserve with wait": lambda: queue.reserve(visibility_timeout=30, wait=10),
        "ack": lambda: queue.ack(receipt),
        "nack": lambda: queue.nack(receipt, error="boom"),
        "nack retry_in": lambda: queue.nack(receipt, error="boom", retry_in=1),
        "nack dead": lambda: queue.nack(receipt, error="boom", dead=True),
        "release": lambda: queue.release(receipt),
        "dead_letters": queue.dead_letters,
        "replay_dead_letters": queue.replay_dead_letters,
        "replay some": lambda: queue.replay_dead_letters(["1"]),
        "purge_dead_letters": queue.purge_dead_letters,
        "purge some": lambda: queue.purge_dead_letters(["1"]),
        "size": queue.size,
    }


def assert_unavailable(operation: Callable[[], Any], server: Server) -> BackendUnavailableError:
    with pytest.raises(KlaviyoError) as caught:
        operation()
    error = caught.value
    assert type(error) is BackendUnavailableError
    assert error.backend == "redis queue"
    assert isinstance(error.__cause__, redis.RedisError)
    assert f"127.0.0.1:{server.port}/0" in str(error)
    return error


def test_queue_raises_backend_unavailable_while_redis_is_down(redis_server):
    queue = RedisQueue(redis_server.url, name="outage", poll_interval=0.01)
    queue.enqueue({"n": 0})
    (item,) = queue.reserve(visibility_timeout=30)

    redis_server.stop()
    for name, operation in queue_operations(queue, item.receipt).items():
        started = time.monotonic()
        error = assert_unavailable(operation, redis_server)
        assert time.monotonic() - started < 2.0, name
        assert "ConnectionError" in str(error), name
    queue.close()


def test_queue_works_again_after_redis_restarts(redis_server):
    queue = RedisQueue(redis_server.url, name="outage", max_attempts=1)
    queue.enqueue({"n": 0})
    redis_server.stop()
    assert_unavailable(lambda: queue.enqueue({"n": 1}), redis_server)

    redis_server.start()  # what was queued is gone (--save ""): only recovery is tested
    assert queue.size() == 0
    item_id = queue.enqueue({"n": 2})
    (item,) = queue.reserve(visibility_timeout=30)
    assert (item.id, item.payload) == (item_id, {"n": 2})
    assert queue.nack(item.receipt, error="boom")
    assert [d.id for d in queue.dead_letters()] == [item_id]
    assert queue.replay_dead_letters() == 1
    (again,) = queue.reserve(visibility_timeout=30)
    assert queue.ack(again.receipt)
    assert queue.size() == 0
    queue.close()


def test_queue_timeout_is_an_outage(redis_server):
    queue = RedisQueue(redis_server.url + FAST, name="frozen")
    queue.enqueue({"n": 0})
    redis_server.pause()
    started = time.monotonic()
    error = assert_unavailable(lambda: queue.enqueue({"n": 1}), redis_server)
    assert "TimeoutError" in str(error)
    assert_unavailable(lambda: queue.reserve(visibility_timeout=30, wait=10), redis_server)
    assert time.monotonic() - started < 3.0
    redis_server.resume()
    assert queue.size() >= 1
    queue.close()


# --- Passwords stay out of messages and logs ------------------------------------------------------


def test_no_password_in_errors_or_logs(redis_server, clock, outage_log):
    with RedisServer(args=("--requirepass", PASSWORD)) as server:
        url = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{server.port}/0"
        cache = RedisCache(url, prefix="pw:", clock=clock)
        queue = RedisQueue(url, name="pw")
        cache.set("k", "v")
        assert cache.get("k") == "v"
        assert queue.enqueue({"n": 1})

        wrong = RedisQueue(url.replace("hunter2", "hunter3"), name="pw")
        refused = assert_unavailable(wrong.size, server)
        assert "AuthenticationError" in str(refused)

        server.stop()
        assert cache.get("k") is None
        error = assert_unavailable(lambda: queue.enqueue({"n": 2}), server)
        texts = [str(error), repr(error), str(refused), outage_log.text, repr(cache), repr(queue)]
        for text in texts:
            assert PASSWORD not in text
            assert quote(PASSWORD, safe="") not in text
            assert "hunter3" not in text
        cache.close()
        queue.close()
        wrong.close()


# --- What the services see -------------------------------------------------------------------------


def test_find_by_name_asks_klaviyo_while_the_cache_is_down(redis_server, clock, outage_log):
    cache = make_cache(redis_server, clock)
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})
    with KlaviyoClient(
        settings,
        transport=Sandbox(seed=3, rate_limits=False).transport(),
        cache=cache,
        sleep=lambda _: None,
    ) as client:
        created = client.lists.create("VIP")
        redis_server.stop()
        for _ in range(2):
            found = client.lists.find_by_name("VIP")
            assert found is not None
            assert found.id == created.id
        assert len(warnings_of(outage_log)) == 1


@pytest.mark.anyio
async def test_async_find_by_name_asks_klaviyo_while_the_cache_is_down(redis_server, clock):
    cache = make_cache(redis_server, clock)
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"enabled": False})

    async def no_sleep(_: float) -> None:
        return None

    async with AsyncKlaviyoClient(
        settings,
        transport=Sandbox(seed=3, rate_limits=False).transport(),
        cache=cache,
        sleep=no_sleep,
    ) as client:
        created = await client.lists.create("VIP")
        redis_server.stop()
        found = await client.lists.find_by_name("VIP")
        assert found is not None
        assert found.id == created.id


def test_event_sender_track_raises_backend_unavailable_and_recovers(redis_server):
    sent: list[Any] = []
    queue = RedisQueue(redis_server.url, name="events")
    sender = EventSender(sent.append, queue, linger=0, limits=None)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    try:
        redis_server.stop()
        with pytest.raises(BackendUnavailableError) as caught:
            sender.track("Viewed Product", "ada@example.com", {"sku": "A1"}, time=when)
        assert type(caught.value.__cause__).__module__.startswith("redis")
        redis_server.start()
        sender.track("Viewed Product", "ada@example.com", {"sku": "A2"}, time=when)
        assert sender.flush(timeout=10)
    finally:
        if not redis_server.running:
            redis_server.start()
        sender.close(timeout=10)
        queue.close()
    assert sent
