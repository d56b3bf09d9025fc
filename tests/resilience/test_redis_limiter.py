from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
import time

import pytest
import redis
from redis.crc import key_slot

from klaviyo_kit.config import RateLimitSettings
from klaviyo_kit.errors import ConnectError, RateLimitTimeoutError
from klaviyo_kit.operations import Limits
from klaviyo_kit.resilience import RedisRateLimiter

pytestmark = pytest.mark.redis


def make(redis_url, key_prefix, **kwargs) -> RedisRateLimiter:
    return RedisRateLimiter("acct", url=redis_url, key_prefix=key_prefix, **kwargs)


def test_permits_are_taken_atomically_per_bucket(redis_url, key_prefix):
    limiter = make(redis_url, key_prefix)
    limits = Limits(5, 100)
    assert limiter.acquire("op", 3, limits=limits) == 0
    assert limiter.acquire("op", 2, limits=limits) == 0
    with pytest.raises(RateLimitTimeoutError) as info:
        limiter.acquire("op", 1, limits=limits, deadline=0)
    assert 0.5 < info.value.wait < 1.05
    assert limiter.acquire("other", 5, limits=limits) == 0
    limiter.close()


def test_two_limiters_share_one_budget_and_aliases_share_buckets(redis_url, key_prefix):
    first = make(redis_url, key_prefix)
    second = make(redis_url, key_prefix)
    for _ in range(10):
        first.acquire("bulk_import_profiles", deadline=0)
    with pytest.raises(RateLimitTimeoutError):
        second.acquire("spawn_bulk_profile_import_job", deadline=0)
    other_account = RedisRateLimiter("other", url=redis_url, key_prefix=key_prefix)
    assert other_account.acquire("bulk_import_profiles", deadline=0) == 0


def test_keys_are_hash_tagged_onto_one_cluster_slot(redis_url, key_prefix):
    limiter = make(redis_url, key_prefix)
    limiter.acquire("get_profiles")
    limiter.observe("get_profiles", 429, {"Retry-After": "1"})
    client = redis.Redis.from_url(redis_url)
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{key_prefix}*"))
    client.close()
    assert keys == [
        f"{key_prefix}{{acct:get_profiles}}:burst",
        f"{key_prefix}{{acct:get_profiles}}:pause",
        f"{key_prefix}{{acct:get_profiles}}:steady",
    ]
    assert len({key_slot(k.encode()) for k in keys}) == 1


def test_a_429_pauses_the_bucket_in_every_process(redis_url, key_prefix):
    make(redis_url, key_prefix).observe("get_profiles", 429, {}, retry_after=5)
    with pytest.raises(RateLimitTimeoutError) as info:
        make(redis_url, key_prefix).acquire("get_profiles", deadline=1)
    assert 3.0 < info.value.wait < 4.05
    make(redis_url, key_prefix).observe("get_profiles", 429, {}, retry_after=1)
    with pytest.raises(RateLimitTimeoutError) as shorter:
        make(redis_url, key_prefix).acquire("get_profiles", deadline=0)
    assert shorter.value.wait > 3.0


def test_low_remaining_caps_the_bucket_for_everyone(redis_url, key_prefix):
    make(redis_url, key_prefix).observe(
        "get_profiles", 200, {"RateLimit-Remaining": "1", "RateLimit-Reset": "30"}
    )
    make(redis_url, key_prefix).observe(
        "get_profiles", 200, {"RateLimit-Remaining": "500", "RateLimit-Reset": "30"}
    )
    limiter = make(redis_url, key_prefix)
    assert limiter.acquire("get_profiles", deadline=0) == 0
    with pytest.raises(RateLimitTimeoutError) as info:
        limiter.acquire("get_profiles", deadline=0)
    assert 29 < info.value.wait < 30.05


def test_settings_apply_overrides_headroom_and_max_wait(redis_url, key_prefix):
    settings = RateLimitSettings(
        overrides={"get_profiles": "4/s,40/m"}, headroom=0.5, max_wait=0.01
    )
    limiter = make(redis_url, key_prefix, settings=settings)
    limiter.acquire("get_profiles")
    limiter.acquire("get_profiles")
    with pytest.raises(RateLimitTimeoutError):
        limiter.acquire("get_profiles")


def test_async_acquire_with_its_own_client_and_through_a_thread(redis_url, key_prefix):
    limits = Limits(2, 10)

    async def main() -> None:
        own = make(redis_url, key_prefix)
        assert await own.aacquire("op", limits=limits) == 0
        given = RedisRateLimiter(
            "acct", client=redis.Redis.from_url(redis_url), key_prefix=key_prefix
        )
        assert await given.aacquire("op", limits=limits) == 0
        with pytest.raises(RateLimitTimeoutError):
            await given.aacquire("op", limits=limits, deadline=0)
        await own.aclose()
        await given.aclose()

    asyncio.run(main())


def test_unreachable_redis_fails_open_to_local_pacing(caplog):
    limiter = RedisRateLimiter("acct", url="redis://127.0.0.1:1/0", retry_unavailable_after=60)
    with caplog.at_level(logging.WARNING, logger="klaviyo_kit"):
        assert limiter.acquire("op", limits=Limits(1, 10)) == 0
        with pytest.raises(RateLimitTimeoutError):
            limiter.acquire("op", limits=Limits(1, 10), deadline=0)
        limiter.observe("op2", 429, {"Retry-After": "9"})
    assert "unreachable" in caplog.text
    assert "127.0.0.1:1" in repr(limiter)
    with pytest.raises(RateLimitTimeoutError):
        asyncio.run(limiter.aacquire("op", limits=Limits(1, 10), deadline=0))


def test_unreachable_redis_fails_closed_with_connect_error():
    limiter = RedisRateLimiter("acct", url="redis://:secret@127.0.0.1:1/0", on_unavailable="closed")
    with pytest.raises(ConnectError, match="unreachable") as info:
        limiter.acquire("op", limits=Limits(1, 10))
    assert "secret" not in str(info.value)
    assert "secret" not in repr(limiter)


def test_bad_options_are_refused(redis_url):
    with pytest.raises(ValueError, match="braces"):
        RedisRateLimiter("a{b}", url=redis_url)
    with pytest.raises(ValueError, match="open"):
        RedisRateLimiter("a", url=redis_url, on_unavailable="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        RedisRateLimiter("a", url=redis_url, steady_window=0)


_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from klaviyo_kit.operations import Limits
    from klaviyo_kit.resilience import RedisRateLimiter

    url, prefix, start, duration, window = sys.argv[1:6]
    start, duration = float(start), float(duration)
    limiter = RedisRateLimiter(
        "acct", url=url, key_prefix=prefix, on_unavailable="closed", steady_window=float(window)
    )
    limits = Limits(10, 24)
    time.sleep(max(0.0, start - time.time()))
    grants = []
    while True:
        limiter.acquire("shared", limits=limits)
        now = time.time()
        if now >= start + duration:
            break
        grants.append(now)
    print(json.dumps(grants))
    """
)


@pytest.mark.slow
def test_four_processes_never_exceed_the_windows_and_reach_the_steady_limit(redis_url, key_prefix):
    window, windows, burst, steady = 3.0, 3, 10, 24
    start = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER,
                redis_url,
                key_prefix,
                str(start),
                str(window * windows),
                str(window),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    grants: list[float] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        grants.extend(json.loads(out))
    grants.sort()
    assert grants[0] >= start
    # Each time is read just after its grant, so it is late by at most `slack`: a sound check is
    # that no interval `slack` shorter than a window holds more than the window allows.
    slack = 0.1
    assert _most_in(grants, 1.0 - slack) <= burst
    assert _most_in(grants, window - slack) <= steady
    assert len(grants) >= 0.9 * steady * windows
    assert len(grants) <= steady * windows


def _most_in(times: list[float], length: float) -> int:
    best = 0
    j = 0
    for i, begin in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] < begin + length:
            j += 1
        best = max(best, j - i)
    return best


def test_feedback_about_a_custom_bucket_uses_the_limits_it_was_acquired_with(redis_url, key_prefix):
    limiter = make(redis_url, key_prefix)
    limiter.acquire("my_bucket", limits=Limits(5, 50))
    limiter.observe("my_bucket", 200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "20"})
    limiter.observe("unknown_bucket", 200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "9"})
    limiter.observe("my_bucket", 200, {})
    with pytest.raises(RateLimitTimeoutError) as info:
        limiter.acquire("my_bucket", limits=Limits(5, 50), deadline=0)
    assert 19 < info.value.wait < 20.05
    assert limiter.acquire("unknown_bucket", limits=Limits(5, 50), deadline=0) == 0
