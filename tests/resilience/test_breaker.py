from __future__ import annotations

import asyncio

import pytest

from klaviyo_kit.config import BreakerSettings
from klaviyo_kit.errors import (
    CircuitOpenError,
    ConnectError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from klaviyo_kit.resilience import BaseHooks, BreakerChange, CircuitBreaker


def state(breaker: CircuitBreaker) -> str:
    """Read the state through a call, so mypy does not narrow it between assertions."""
    return breaker.state


def boom(error: Exception):
    def fn() -> None:
        raise error

    return fn


def test_opens_fails_fast_half_opens_and_closes(clock):
    changes: list[BreakerChange] = []

    class Recorder(BaseHooks):
        def on_breaker_change(self, event: BreakerChange) -> None:
            changes.append(event)

    breaker = CircuitBreaker(failure_threshold=3, cool_down=10, clock=clock, hooks=Recorder())
    for _ in range(2):
        with pytest.raises(ServerError):
            breaker.call(boom(ServerError(503)))
    assert state(breaker) == "closed"
    with pytest.raises(ConnectError):
        breaker.call(boom(ConnectError("refused")))
    assert state(breaker) == "open"

    ran: list[int] = []
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(lambda: ran.append(1))
    assert ran == []
    assert info.value.retry_in == 10
    snap = breaker.snapshot()
    assert (snap.state, snap.consecutive_failures, snap.healthy) == ("open", 3, False)

    clock.advance(10)
    assert state(breaker) == "half_open"
    assert breaker.call(lambda: "trial") == "trial"
    assert state(breaker) == "closed"
    assert breaker.snapshot().consecutive_failures == 0
    assert [(c.old, c.new) for c in changes] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]


def test_a_failed_trial_opens_the_circuit_again(clock):
    breaker = CircuitBreaker(failure_threshold=1, cool_down=5, clock=clock)
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(500)))
    clock.advance(5)
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(500)))
    assert state(breaker) == "open"
    assert breaker.snapshot().retry_in == 5


def test_only_one_trial_call_while_half_open(clock):
    breaker = CircuitBreaker(failure_threshold=1, cool_down=5, clock=clock)
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(500)))
    clock.advance(5)

    def trial() -> str:
        with pytest.raises(CircuitOpenError, match="half-open"):
            breaker.call(lambda: "second")
        return "first"

    assert breaker.call(trial) == "first"
    assert state(breaker) == "closed"


def test_answers_from_klaviyo_count_as_success(clock):
    breaker = CircuitBreaker(failure_threshold=2, clock=clock)
    for error in (ServerError(500), NotFoundError(404), ServerError(500), RateLimitError(429)):
        with pytest.raises(type(error)):
            breaker.call(boom(error))
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(500)))
    assert state(breaker) == "closed"


def test_cancellation_says_nothing_about_klaviyo(clock):
    breaker = CircuitBreaker(failure_threshold=1, cool_down=5, clock=clock)
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(500)))
    clock.advance(5)
    with pytest.raises(KeyboardInterrupt):
        breaker.call(boom(KeyboardInterrupt()))  # type: ignore[arg-type]
    assert state(breaker) == "half_open"
    breaker.reset()
    assert state(breaker) == "closed"


def test_async_calls_and_settings(clock):
    breaker = CircuitBreaker.from_settings(
        BreakerSettings(failure_threshold=1, cool_down=3), name="acct", clock=clock
    )
    assert "acct" in repr(breaker)

    async def fail() -> None:
        raise ServerError(502)

    async def ok() -> str:
        return "ok"

    async def main() -> None:
        with pytest.raises(ServerError):
            await breaker.acall(fail)
        with pytest.raises(CircuitOpenError):
            await breaker.acall(ok)
        clock.advance(3)
        assert await breaker.acall(ok) == "ok"

    asyncio.run(main())
    assert state(breaker) == "closed"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("failure_threshold", 0, "failure_threshold must be >= 1, got 0"),
        ("cool_down", 0.0, "cool_down must be > 0, got 0.0"),
        ("cool_down", float("nan"), "cool_down must be > 0, got nan"),
    ],
)
def test_bad_options_are_refused_by_name(option, value, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        CircuitBreaker(**{option: value})


def test_a_callers_bug_says_nothing_about_klaviyo(clock):
    # A ValueError (pydantic's ValidationError is one) is raised before anything is sent.
    breaker = CircuitBreaker(failure_threshold=2, cool_down=10, clock=clock)
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(503)))
    with pytest.raises(ValueError, match="page_size"):
        breaker.call(boom(ValueError("page_size must be <= 100")))
    assert breaker.snapshot().consecutive_failures == 1  # not reset: Klaviyo did not answer
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(503)))
    assert state(breaker) == "open"

    clock.advance(10)
    with pytest.raises(ValueError, match="page_size"):
        breaker.call(boom(ValueError("page_size must be <= 100")))
    assert state(breaker) == "half_open"  # the trial proved nothing: the next call is one
    with pytest.raises(ServerError):
        breaker.call(boom(ServerError(503)))
    assert state(breaker) == "open"
