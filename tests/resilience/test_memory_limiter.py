from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klaviyo_kit.config import RateLimitSettings
from klaviyo_kit.errors import RateLimitTimeoutError
from klaviyo_kit.operations import Limits, operation
from klaviyo_kit.resilience import (
    BaseHooks,
    BucketLimit,
    MemoryRateLimiter,
    ThrottleWait,
    operation_limits,
    rate_limit_buckets,
)


def make(clock, **kwargs) -> MemoryRateLimiter:
    return MemoryRateLimiter("acct", clock=clock, sleep=clock.sleep, asleep=clock.asleep, **kwargs)


@pytest.mark.parametrize(("burst", "steady"), [(10, 150), (75, 750), (1, 2)])
def test_saturated_stream_honours_both_windows_and_reaches_steady(clock, window_max, burst, steady):
    limiter = make(clock)
    limits = Limits(burst, steady)
    start = clock()
    minutes = 3
    grants: list[tuple[float, int]] = []
    while True:
        limiter.acquire("bucket", limits=limits)
        if clock() >= start + 60 * minutes:
            break
        grants.append((clock(), 1))
    assert window_max(grants, 1.0) <= burst
    assert window_max(grants, 60.0) <= steady
    assert len(grants) >= 0.99 * steady * minutes


@settings(max_examples=40, deadline=None)
@given(
    burst=st.integers(1, 8),
    steady_factor=st.integers(1, 6),
    calls=st.lists(
        st.tuples(st.floats(0, 3, allow_nan=False), st.integers(1, 3)), min_size=1, max_size=80
    ),
)
def test_random_arrivals_and_costs_never_overfill_a_window(burst, steady_factor, calls):
    clock = _Clock()
    limiter = MemoryRateLimiter("a", clock=clock, sleep=clock.sleep, steady_window=6.0)
    limits = Limits(burst, burst * steady_factor)
    grants: list[tuple[float, int]] = []
    for gap, wanted in calls:
        clock.now += gap
        cost = min(wanted, burst)
        limiter.acquire("op", cost, limits=limits)
        grants.append((clock.now, cost))
    assert _max_in(grants, 1.0) <= limits.burst
    assert _max_in(grants, 6.0) <= limits.steady


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _max_in(grants: list[tuple[float, int]], length: float) -> int:
    return max(sum(c for t, c in grants if start <= t < start + length) for start, _ in grants)


def test_cost_takes_several_permits(clock):
    limiter = make(clock)
    limits = Limits(10, 150)
    assert limiter.acquire("bulk", 5, limits=limits) == 0
    assert limiter.acquire("bulk", 5, limits=limits) == 0
    waited = limiter.acquire("bulk", 1, limits=limits)
    assert waited == pytest.approx(1.0, abs=1e-3)


def test_cost_above_a_limit_is_refused(clock):
    with pytest.raises(ValueError, match="exceeds"):
        make(clock).acquire("bulk", 11, limits=Limits(10, 150))
    with pytest.raises(ValueError, match="at least 1"):
        make(clock).acquire("bulk", 0, limits=Limits(10, 150))


def test_deadline_raises_instead_of_waiting(clock):
    limiter = make(clock)
    limiter.acquire("op", limits=Limits(1, 15))
    with pytest.raises(RateLimitTimeoutError) as info:
        limiter.acquire("op", limits=Limits(1, 15), deadline=0.5)
    assert info.value.operation == "op"
    assert info.value.wait == pytest.approx(0.5, abs=1e-3)
    assert clock.sleeps == []


def test_settings_max_wait_is_the_default_deadline(clock):
    limiter = make(clock, settings=RateLimitSettings(max_wait=0.1))
    limiter.acquire("get_accounts")
    with pytest.raises(RateLimitTimeoutError):
        limiter.acquire("get_accounts")


def test_limits_come_from_the_table_overrides_and_headroom(clock):
    assert operation_limits("get_profiles") == Limits(75, 750)
    tight = RateLimitSettings(overrides={"get_profiles": "2/s,4/m"}, headroom=0.5)
    assert operation_limits("get_profiles", tight) == Limits(1, 2)
    limiter = make(clock, settings=tight)
    assert limiter.acquire("get_profiles") == 0
    assert limiter.acquire("get_profiles") == pytest.approx(1.0, abs=1e-3)
    assert limiter.acquire("get_profiles") == pytest.approx(59.0, abs=1e-3)


def test_unknown_operation_needs_limits(clock):
    with pytest.raises(KeyError, match="limits="):
        make(clock).acquire("no_such_operation")


def test_aliases_share_the_canonical_bucket(clock):
    limiter = make(clock)
    for _ in range(10):
        limiter.acquire("bulk_import_profiles")
    waited = limiter.acquire("spawn_bulk_profile_import_job")
    assert waited == pytest.approx(1.0, abs=1e-3)


def test_a_429_pauses_the_bucket_for_everyone(clock):
    limiter = make(clock)
    limiter.acquire("get_profiles")
    limiter.observe("get_profiles", 429, {"Retry-After": "2"})
    assert limiter.acquire("get_profiles") >= 2.0
    limiter.observe("get_profiles", 429, {}, retry_after=3.0)
    assert limiter.acquire("get_profiles") >= 3.0
    limiter.observe("get_profiles", 429, {})
    assert limiter.acquire("get_profiles") >= 1.0
    assert limiter.acquire("get_lists") == 0


def test_a_429_on_a_bucket_never_used_still_pauses_it(clock):
    limiter = make(clock)
    limiter.observe("get_profiles", 429, {"retry-after": "4"})
    limiter.observe("no_such_operation", 429, {"retry-after": "4"})
    assert limiter.acquire("get_profiles") >= 4.0


def test_low_remaining_caps_the_bucket_until_reset(clock):
    limiter = make(clock)
    limiter.acquire("get_profiles")
    limiter.observe("get_profiles", 200, {"RateLimit-Remaining": "1", "RateLimit-Reset": "30"})
    assert limiter.acquire("get_profiles") == 0
    assert limiter.acquire("get_profiles") == pytest.approx(30.0, abs=1e-3)


def test_plenty_remaining_and_bad_headers_change_nothing(clock):
    limiter = make(clock)
    limiter.acquire("get_profiles")
    limiter.observe("get_profiles", 200, {"RateLimit-Remaining": "700", "RateLimit-Reset": "30"})
    limiter.observe("get_profiles", 200, {"RateLimit-Remaining": "x", "RateLimit-Reset": "30"})
    limiter.observe("get_profiles", 500, {"RateLimit-Remaining": "0", "RateLimit-Reset": "30"})
    limiter.observe("get_lists", 200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "30"})
    assert limiter.acquire("get_profiles") == 0


def test_threads_never_share_out_more_than_the_burst():
    frozen = _Clock()
    limiter = MemoryRateLimiter("a", clock=frozen, sleep=frozen.sleep)
    granted: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        try:
            limiter.acquire("op", limits=Limits(25, 100), deadline=0)
            granted.append(1)
        except RateLimitTimeoutError:
            refused.append(1)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            attempt()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 25
    assert len(refused) == 8 * 50 - 25


def test_async_tasks_share_one_budget(clock, window_max):
    limiter = make(clock)
    limits = Limits(3, 10)
    grants: list[tuple[float, int]] = []

    async def one() -> None:
        await limiter.aacquire("op", limits=limits)
        grants.append((clock(), 1))

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(25)))

    asyncio.run(main())
    assert len(grants) == 25
    assert window_max(grants, 1.0) <= 3
    assert window_max(grants, 60.0) <= 10


def test_async_deadline(clock):
    limiter = make(clock)
    limiter.acquire("op", limits=Limits(1, 2))
    with pytest.raises(RateLimitTimeoutError):
        asyncio.run(limiter.aacquire("op", limits=Limits(1, 2), deadline=0.2))


def test_waits_are_reported_to_hooks(clock):
    seen: list[ThrottleWait] = []

    class Recorder(BaseHooks):
        def on_throttle_wait(self, event: ThrottleWait) -> None:
            seen.append(event)

    limiter = make(clock, hooks=Recorder())
    limiter.acquire("spawn_bulk_profile_import_job", 10)
    limiter.acquire("spawn_bulk_profile_import_job", 2)
    assert len(seen) == 1
    assert seen[0].operation == "bulk_import_profiles"
    assert seen[0].cost == 2
    assert seen[0].wait == pytest.approx(1.0, abs=1e-3)


def test_changed_limits_apply_to_an_existing_bucket(clock):
    limiter = make(clock)
    limiter.acquire("op", limits=Limits(2, 10))
    limiter.acquire("op", limits=Limits(2, 10))
    assert limiter.acquire("op", limits=Limits(3, 10)) == 0
    assert "acct" in repr(limiter)


@pytest.mark.parametrize(
    ("option", "value"), [("burst_window", 0.0), ("steady_window", -60.0), ("burst_window", "nan")]
)
def test_window_lengths_must_be_positive(clock, option, value):
    length = float(value)
    with pytest.raises(ValueError, match=rf"^{option} must be positive seconds, got {length}$"):
        make(clock, **{option: length})


def test_headroom_scales_explicit_limits_too(clock):
    limiter = make(clock, settings=RateLimitSettings(headroom=0.5))
    limiter.acquire("op", limits=Limits(4, 100))
    limiter.acquire("op", limits=Limits(4, 100))
    assert limiter.acquire("op", limits=Limits(4, 100)) == pytest.approx(1.0, abs=1e-3)


def test_a_429_on_a_custom_bucket_pauses_it_once_it_is_known(clock):
    limiter = make(clock)
    limiter.acquire("my_bucket", limits=Limits(5, 50))
    limiter.observe("my_bucket", 429, {"Retry-After": "3"})
    assert limiter.acquire("my_bucket", limits=Limits(5, 50)) == pytest.approx(3.0, abs=1e-3)


def test_conditional_limits_are_counted_on_a_bucket_of_their_own(clock):
    op = operation("get_profile")
    assert rate_limit_buckets(op) == (BucketLimit("get_profile"),)
    buckets = rate_limit_buckets(op, {"include": ["list", "segment"], "fields": "x"})
    assert [b.bucket for b in buckets] == [
        "get_profile",
        "get_profile[include=list]",
        "get_profile[include=segment]",
    ]
    limiter = make(clock)

    def call() -> float:
        return sum(limiter.acquire(b.bucket, limits=b.limits) for b in buckets[:2])

    assert call() == 0
    assert call() == pytest.approx(1.0, abs=1e-3)
    assert limiter.acquire("get_profile") == 0
