"""Every ``client.sdk.*`` call gets pacing, retries, the breaker and hooks (respx plays Klaviyo)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest
import respx

from klaviyo_kit import AsyncKlaviyoClient, KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import CircuitOpenError, ConnectError, RateLimitError, ServerError
from klaviyo_kit.operations import Limits, operation
from klaviyo_kit.resilience import (
    BaseHooks,
    CircuitBreaker,
    MemoryRateLimiter,
    RequestEnd,
    RequestStart,
    RetryPolicy,
    RetryScheduled,
)

KEY = "pk_" + "a7" * 17
BASE = "https://a.klaviyo.com"
OK = {"data": [], "links": {"self": "x"}}


@dataclass
class FakeTime:
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass
class Recording(BaseHooks):
    events: list[object] = field(default_factory=list)

    def on_request_start(self, event: RequestStart) -> None:
        self.events.append(event)

    def on_request_end(self, event: RequestEnd) -> None:
        self.events.append(event)

    def on_retry(self, event: RetryScheduled) -> None:
        self.events.append(event)


def make_client(
    t: FakeTime, *, threshold: int = 5, hooks: tuple[BaseHooks, ...] = ()
) -> KlaviyoClient:
    settings = KlaviyoSettings(private_key=KEY)
    return KlaviyoClient(
        settings,
        limiter=MemoryRateLimiter(
            settings.account_fingerprint, clock=t.clock, sleep=t.sleep, asleep=t.asleep
        ),
        # Injected components report to their own hooks; the client's hooks see requests.
        retry=RetryPolicy(
            attempts=4,
            clock=t.clock,
            sleep=t.sleep,
            jitter=lambda x: x,
            hooks=hooks[0] if hooks else None,
        ),
        breaker=CircuitBreaker(failure_threshold=threshold, cool_down=30, clock=t.clock),
        hooks=hooks,
        sleep=t.sleep,
    )


def throttled(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {
        "errors": [
            {
                "id": "t",
                "status": 429,
                "code": "throttled",
                "title": "Request was throttled.",
                "detail": "Request was throttled. Expected available in 1 second.",
            }
        ]
    }
    return httpx.Response(429, json=body, headers=headers)


@respx.mock
def test_429_with_retry_after_waits_before_the_next_try():
    t = FakeTime()
    route = respx.get(f"{BASE}/api/profiles").mock(
        side_effect=[throttled("2"), httpx.Response(200, json=OK)]
    )
    with make_client(t) as client:
        assert client.sdk.profiles.get_profiles() == OK
    assert route.call_count == 2
    assert sum(t.slept) >= 2.0


@respx.mock
def test_429_without_header_uses_the_detail_text():
    t = FakeTime()
    respx.get(f"{BASE}/api/profiles").mock(
        side_effect=[throttled(None), httpx.Response(200, json=OK)]
    )
    with make_client(t) as client:
        client.sdk.profiles.get_profiles()
    assert sum(t.slept) >= 1.0


@respx.mock
def test_503_then_200_succeeds():
    t = FakeTime()
    route = respx.get(f"{BASE}/api/metrics").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=OK)]
    )
    with make_client(t) as client:
        assert client.sdk.metrics.get_metrics() == OK
    assert route.call_count == 2


@respx.mock
def test_unsafe_write_is_not_retried_but_a_keyed_event_is():
    t = FakeTime()
    create = respx.post(f"{BASE}/api/profiles").mock(return_value=httpx.Response(503))
    event = respx.post(f"{BASE}/api/events").mock(
        side_effect=[httpx.Response(503), httpx.Response(202)]
    )
    with make_client(t) as client:
        profile: Any = {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}}
        with pytest.raises(ServerError) as info:
            client.sdk.profiles.create_profile(profile)
        assert info.value.attempts == 1
        body: Any = {
            "data": {
                "type": "event",
                "attributes": {
                    "properties": {},
                    "metric": {"data": {"type": "metric", "attributes": {"name": "X"}}},
                    "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}},
                    "unique_id": "order-1",
                },
            }
        }
        assert client.sdk.events.create_event(body) is None
    assert create.call_count == 1
    assert event.call_count == 2


@respx.mock
def test_gives_up_with_the_kits_error_and_the_attempt_count():
    t = FakeTime()
    respx.get(f"{BASE}/api/lists").mock(return_value=throttled("1"))
    with make_client(t) as client, pytest.raises(RateLimitError) as info:
        client.sdk.lists.get_lists()
    assert info.value.attempts == 4
    assert "after 4 attempts" in str(info.value)


@respx.mock
def test_breaker_opens_fails_fast_half_opens_and_closes():
    t = FakeTime()
    route = respx.get(f"{BASE}/api/accounts").mock(side_effect=httpx.ConnectError("down"))
    with make_client(t, threshold=2) as client:
        client.resilience.retry.attempts = 1  # one attempt per call, to count failures exactly
        for _ in range(2):
            with pytest.raises(ConnectError):
                client.sdk.accounts.get_accounts()
        breaker = client.resilience.breaker
        assert breaker is not None
        assert breaker.state == "open"
        with pytest.raises(CircuitOpenError):
            client.sdk.accounts.get_accounts()
        assert route.call_count == 2  # failed fast: nothing sent
        t.now += 31
        route.side_effect = None
        route.return_value = httpx.Response(200, json=OK)
        assert client.sdk.accounts.get_accounts() == OK
        assert breaker.snapshot().state == "closed"


@respx.mock
def test_limiter_paces_calls_so_no_429_is_earned():
    t = FakeTime()
    route = respx.get(f"{BASE}/api/accounts").mock(return_value=httpx.Response(200, json=OK))
    with make_client(t) as client:
        for _ in range(3):
            client.sdk.accounts.get_accounts()  # 1/s burst
    assert route.call_count == 3
    assert sum(t.slept) >= 2.0 - 1e-9


@respx.mock
def test_hooks_see_every_attempt():
    t = FakeTime()
    hooks = Recording()
    respx.get(f"{BASE}/api/metrics").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=OK)]
    )
    with make_client(t, hooks=(hooks,)) as client:
        client.sdk.metrics.get_metrics()
    starts = [e for e in hooks.events if isinstance(e, RequestStart)]
    ends = [e for e in hooks.events if isinstance(e, RequestEnd)]
    retries = [e for e in hooks.events if isinstance(e, RetryScheduled)]
    assert [s.attempt for s in starts] == [1, 2]
    assert [(e.attempt, e.status, e.error) for e in ends] == [
        (1, 503, "ServerError"),
        (2, 200, None),
    ]
    assert starts[0].call_id == ends[0].call_id
    assert len(retries) == 1


@pytest.mark.anyio
@respx.mock
async def test_async_client_gets_the_same_pipeline():
    t = FakeTime()
    settings = KlaviyoSettings(private_key=KEY)
    route = respx.get(f"{BASE}/api/metrics").mock(
        side_effect=[throttled("2"), httpx.Response(200, json=OK)]
    )
    async with AsyncKlaviyoClient(
        settings,
        limiter=MemoryRateLimiter(
            settings.account_fingerprint, clock=t.clock, sleep=t.sleep, asleep=t.asleep
        ),
        retry=RetryPolicy(attempts=3, clock=t.clock, asleep=t.asleep, jitter=lambda x: x),
        sleep=t.asleep,
    ) as client:
        from klaviyo_kit.services import Call

        assert await client.aexecute(Call("metrics", "get_metrics")) == OK
    assert route.call_count == 2
    assert sum(t.slept) >= 2.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class RecordingLimiter:
    """A RateLimiter that grants at once and records what each response taught it."""

    observed: list[tuple[str, int, str | None]] = field(default_factory=list)

    def acquire(
        self,
        operation: str,
        cost: int = 1,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> float:
        return 0.0

    async def aacquire(
        self,
        operation: str,
        cost: int = 1,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> float:
        return 0.0

    def observe(
        self,
        operation: str,
        status: int,
        headers: Mapping[str, str],
        *,
        retry_after: float | None = None,
    ) -> None:
        self.observed.append((operation, status, headers.get("ratelimit-remaining")))


@pytest.mark.anyio
async def test_concurrent_async_calls_record_their_own_responses():
    # Both SDK calls are in worker threads at the same moment (the barrier holds each until
    # the other arrives): each response must land on its own call, not on the other's.
    from klaviyo_kit.services import Call

    both_in_flight = threading.Barrier(2, timeout=10)
    answers = {
        "/api/accounts": httpx.Response(200, json=OK, headers={"RateLimit-Remaining": "1"}),
        "/api/metrics": httpx.Response(203, json=OK, headers={"RateLimit-Remaining": "2"}),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        both_in_flight.wait()
        return answers[request.url.path]

    hooks = Recording()
    limiter = RecordingLimiter()
    async with (
        AsyncKlaviyoClient(
            KlaviyoSettings(private_key=KEY),
            transport=httpx.MockTransport(handler),
            limiter=limiter,
            hooks=(hooks,),
        ) as client,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(client.aexecute, Call("accounts", "get_accounts"))
        tg.start_soon(client.aexecute, Call("metrics", "get_metrics"))
    ends = {e.operation: e.status for e in hooks.events if isinstance(e, RequestEnd)}
    assert ends == {"get_accounts": 200, "get_metrics": 203}
    assert sorted(limiter.observed) == [("get_accounts", 200, "1"), ("get_metrics", 203, "2")]


@respx.mock
def test_max_wait_bounds_the_whole_wait_of_a_call_with_two_buckets():
    # predictive_analytics counts against get_profiles and its own 10/s + 150/m bucket; the
    # call's wait across both must stay within max_wait, not max_wait per bucket.
    from klaviyo_kit.errors import RateLimitTimeoutError
    from klaviyo_kit.resilience import rate_limit_buckets

    t = FakeTime()
    settings = KlaviyoSettings(private_key=KEY, rate_limit={"max_wait": 1.5})
    limiter = MemoryRateLimiter(
        settings.account_fingerprint, settings.rate_limit, clock=t.clock, sleep=t.sleep
    )
    wanted = {"additional_fields_profile": ["predictive_analytics"]}
    own, extra = rate_limit_buckets(operation("get_profiles"), wanted)
    start = t.now
    for _ in range(150):  # the extra bucket's steady window: full until start + 60
        limiter.acquire(extra.bucket, limits=extra.limits)
    t.now = start + 57.6  # its next permit: 2.4 s away
    for _ in range(75):  # the call's own burst window: full for 1 s
        limiter.acquire(own.bucket)
    route = respx.get(f"{BASE}/api/profiles").mock(return_value=httpx.Response(200, json=OK))
    client = KlaviyoClient(settings, limiter=limiter, sleep=t.sleep)
    with client, pytest.raises(RateLimitTimeoutError):
        client.sdk.profiles.get_profiles(additional_fields_profile=["predictive_analytics"])
    assert route.call_count == 0


@pytest.mark.parametrize("threads", [0, -1])
def test_async_client_refuses_a_thread_pool_that_could_run_nothing(threads):
    # max_threads=0 used to be accepted, and every call then waited forever for a thread.
    with pytest.raises(ValueError, match=r"max_threads must be at least 1, got -?\d"):
        AsyncKlaviyoClient(KlaviyoSettings(private_key=KEY), max_threads=threads)


@respx.mock
def test_responses_teach_the_limiter_a_429_pause_and_a_low_remaining_count():
    t = FakeTime()
    route = respx.get(f"{BASE}/api/profiles").mock(
        side_effect=[
            throttled("5"),
            httpx.Response(
                200, json=OK, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "20"}
            ),
            httpx.Response(200, json=OK),
        ]
    )
    with make_client(t) as client:
        client.resilience.retry.attempts = 1  # the next call, not a retry, must meet the pause
        with pytest.raises(RateLimitError):
            client.sdk.profiles.get_profiles()
        assert t.slept == []
        client.sdk.profiles.get_profiles()  # held back by the 429's pause, then told "0 left"
        assert sum(t.slept) == pytest.approx(5.0, abs=1e-3)
        client.sdk.profiles.get_profiles()  # held back until the window resets
        assert sum(t.slept) == pytest.approx(25.0, abs=1e-3)
    assert route.call_count == 3


@pytest.mark.anyio
@respx.mock
async def test_async_client_sdk_getters_are_awaited_through_the_pipeline():
    t = FakeTime()
    settings = KlaviyoSettings(private_key=KEY)
    route = respx.get(f"{BASE}/api/lists").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=OK)]
    )
    async with AsyncKlaviyoClient(
        settings,
        retry=RetryPolicy(attempts=3, clock=t.clock, asleep=t.asleep, jitter=lambda x: x),
        sleep=t.asleep,
    ) as client:
        assert client.sdk.lists is client.sdk.lists
        assert await client.sdk.lists.get_lists(page_size=5) == OK
    assert route.call_count == 2
    assert route.calls.last.request.url.params["page[size]"] == "5"
