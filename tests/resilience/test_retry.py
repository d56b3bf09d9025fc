from __future__ import annotations

import asyncio

import pytest

from klaviyo_kit.config import RetrySettings
from klaviyo_kit.errors import (
    BadRequestError,
    CloudflareChallengeError,
    ConnectError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    error_from_response,
)
from klaviyo_kit.operations import operation
from klaviyo_kit.resilience import BaseHooks, RetryPolicy, RetryScheduled

THROTTLED = (
    '{"errors":[{"id":"x","status":429,"code":"throttled","title":"Request was throttled.",'
    '"detail":"Request was throttled. Expected available in 7 seconds."}]}'
)


def policy(clock, **kwargs) -> RetryPolicy:
    kwargs.setdefault("jitter", lambda cap: cap)
    return RetryPolicy(clock=clock, sleep=clock.sleep, asleep=clock.asleep, **kwargs)


def failing(*errors: Exception, result: str = "ok"):
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return fn, calls


def throttled(retry_after: str | None = "2") -> RateLimitError:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    error = error_from_response(429, body=THROTTLED, headers=headers, operation="create_profile")
    assert isinstance(error, RateLimitError)
    return error


def server_error(status: int = 503) -> ServerError:
    error = error_from_response(status, body=None, operation="x")
    assert isinstance(error, ServerError)
    return error


def test_a_429_with_retry_after_waits_that_long_before_the_next_try(clock):
    fn, calls = failing(throttled("2"))
    assert policy(clock).call(fn, operation=operation("create_profile")) == "ok"
    assert len(calls) == 2
    assert clock.sleeps == [2.0]


def test_a_429_without_header_uses_the_body_hint_then_backoff(clock):
    fn, _ = failing(throttled(None), throttled(None))
    policy(clock).call(fn, operation=operation("get_profiles"))
    assert clock.sleeps == [7.0, 7.0]
    bare = error_from_response(429, body=None, operation="get_profiles")
    fn, _ = failing(bare)
    clock.sleeps.clear()
    policy(clock, wait_initial=0.25).call(fn, operation=operation("get_profiles"))
    assert clock.sleeps == [0.25]


def test_503_then_200_succeeds_for_a_read(clock):
    fn, calls = failing(server_error(503))
    assert policy(clock).call(fn, operation=operation("get_profiles")) == "ok"
    assert len(calls) == 2


def test_backoff_is_capped_exponential_with_jitter(clock):
    fn, _ = failing(*(server_error() for _ in range(6)))
    policy(clock, attempts=7, wait_initial=1.0, wait_max=8.0).call(
        fn, operation=operation("get_profiles")
    )
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    halves = RetryPolicy(wait_initial=1.0, wait_max=8.0, jitter=lambda cap: cap / 2)
    assert [halves.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    spread = RetryPolicy(wait_initial=1.0, wait_max=8.0)
    assert all(0 <= spread.backoff(4) <= 8.0 for _ in range(50))


@pytest.mark.parametrize(
    "name", ["create_profile", "create_list", "create_campaign", "send_campaign"]
)
def test_an_unsafe_write_is_not_retried_after_a_5xx_or_timeout(clock, name):
    for error in (server_error(500), RequestTimeoutError("read timed out")):
        fn, calls = failing(error)
        with pytest.raises(type(error)) as info:
            policy(clock).call(fn, operation=operation(name))
        assert len(calls) == 1
        assert info.value.attempts == 1
    assert clock.sleeps == []


def test_a_429_and_a_connect_error_are_retried_even_for_unsafe_writes(clock):
    fn, calls = failing(throttled("1"), ConnectError("refused"))
    assert policy(clock).call(fn, operation=operation("create_profile")) == "ok"
    assert len(calls) == 3


CHALLENGE = "<!DOCTYPE html><html><title>Just a moment...</title></html>"


def test_a_cloudflare_challenge_is_retried_with_backoff_even_for_unsafe_writes(clock):
    challenge = error_from_response(403, body=CHALLENGE, headers={"cf-ray": "r1"}, operation="x")
    fn, calls = failing(challenge, challenge)
    assert policy(clock).call(fn, operation=operation("create_profile")) == "ok"
    assert len(calls) == 3
    assert clock.sleeps == [policy(clock).backoff(1), policy(clock).backoff(2)]


def test_a_json_403_missing_scope_stays_permanent_and_cloudflare_gives_up_bounded(clock):
    scope = error_from_response(
        403, body='{"errors":[{"status":403,"code":"permission_denied","detail":"no scope"}]}'
    )
    fn, calls = failing(scope)
    with pytest.raises(PermissionDeniedError):
        policy(clock).call(fn, operation=operation("get_profiles"))
    assert len(calls) == 1
    challenge = error_from_response(403, body=CHALLENGE)
    fn, calls = failing(*[challenge] * 10)
    with pytest.raises(CloudflareChallengeError) as info:
        policy(clock, attempts=3).call(fn, operation=operation("get_profiles"))
    assert len(calls) == 3
    assert info.value.attempts == 3


def test_an_event_with_unique_id_is_retried_one_without_is_not(clock):
    event = {"data": {"type": "event", "attributes": {"unique_id": "o-1", "properties": {}}}}
    fn, calls = failing(server_error())
    policy(clock).call(fn, operation=operation("create_event"), args=(event,))
    assert len(calls) == 2
    bare = {"data": {"type": "event", "attributes": {"properties": {}}}}
    fn, calls = failing(server_error())
    with pytest.raises(ServerError):
        policy(clock).call(fn, operation=operation("create_event"), kwargs={"body": bare})
    assert len(calls) == 1


def test_non_retryable_errors_are_raised_at_once(clock):
    fn, calls = failing(BadRequestError(400), ValueError("bug"))
    with pytest.raises(BadRequestError):
        policy(clock).call(fn, operation=operation("get_profiles"))
    with pytest.raises(ValueError, match="bug"):
        policy(clock).call(fn, operation=operation("get_profiles"))
    assert len(calls) == 2


def test_gives_up_after_attempts_with_the_kits_error_and_attempt_count(clock):
    fn, calls = failing(*(server_error() for _ in range(10)))
    with pytest.raises(ServerError) as info:
        policy(clock, attempts=3).call(fn, operation=operation("get_profiles"))
    assert len(calls) == 3
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)


def test_gives_up_when_the_next_wait_would_pass_the_total_timeout(clock):
    fn, calls = failing(throttled("2"), throttled("30"), throttled("1"))
    with pytest.raises(RateLimitError) as info:
        policy(clock, timeout=10).call(fn, operation=operation("get_profiles"))
    assert len(calls) == 2
    assert info.value.attempts == 2
    assert clock.sleeps == [2.0]


def test_from_settings_and_retries_are_reported(clock):
    seen: list[RetryScheduled] = []

    class Recorder(BaseHooks):
        def on_retry(self, event: RetryScheduled) -> None:
            seen.append(event)

    retry = RetryPolicy.from_settings(
        RetrySettings(attempts=2, wait_initial=0.1),
        clock=clock,
        sleep=clock.sleep,
        asleep=clock.asleep,
        jitter=lambda cap: cap,
        hooks=Recorder(),
    )
    assert retry.attempts == 2
    assert "attempts=2" in repr(retry)
    fn, _ = failing(server_error(502))
    retry.call(fn, operation=operation("get_lists"))
    assert seen == [RetryScheduled("get_lists", 1, 0.1, "ServerError", 502)]


def test_async_call_retries_with_the_async_sleep(clock):
    fn, calls = failing(throttled("2"), server_error())

    async def attempt() -> str:
        return str(fn())

    result = asyncio.run(policy(clock).acall(attempt, operation=operation("get_profiles")))
    assert result == "ok"
    assert len(calls) == 3
    assert clock.sleeps == [2.0, 1.0]

    fn, calls = failing(*(server_error() for _ in range(5)))
    with pytest.raises(ServerError) as info:
        asyncio.run(policy(clock, attempts=2).acall(attempt, operation=operation("get_lists")))
    assert info.value.attempts == 2


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("attempts", 0, "attempts must be >= 1, got 0"),
        ("timeout", 0.0, "timeout must be > 0, got 0.0"),
        ("timeout", float("nan"), "timeout must be > 0, got nan"),
        ("wait_initial", -1.0, "wait_initial must be >= 0, got -1.0"),
        ("wait_max", -0.5, "wait_max must be >= 0, got -0.5"),
    ],
)
def test_bad_options_are_refused_by_name(option, value, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        RetryPolicy(**{option: value})


def test_time_spent_inside_attempts_counts_against_the_total_timeout(clock):
    # Slow attempts (a long read, a rate-limit wait) use up the deadline as much as backoff.
    calls: list[float] = []

    def slow_failure() -> str:
        calls.append(clock())
        clock.advance(6)
        raise server_error()

    with pytest.raises(ServerError) as info:
        policy(clock, timeout=10, wait_initial=1).call(
            slow_failure, operation=operation("get_profiles")
        )
    # Attempt 1 ends at 6 s; 6 + 1 s backoff <= 10, so attempt 2 starts at 7 s and ends at
    # 13 s; 13 + 2 s > 10: no third attempt.
    assert calls == [1000.0, 1007.0]
    assert info.value.attempts == 2
    assert clock.sleeps == [1.0]
