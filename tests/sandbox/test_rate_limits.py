"""Klaviyo's burst and steady windows, per operation, with a clock the test moves."""

from __future__ import annotations

import httpx
import pytest

from klaviyo_kit.operations import operation
from klaviyo_kit.sandbox import Sandbox

HEADERS = {"Authorization": "Klaviyo-API-Key pk_" + "x" * 34, "revision": "2026-10-15"}
START = 1_789_999_980.0  # a multiple of 60: windows start on it


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def client_for(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(transport=sandbox.transport(), base_url="http://s", headers=HEADERS)


def test_burst_limit_answers_429_with_retry_after_and_throttled_body():
    clock = Clock()
    client = client_for(Sandbox(clock=clock))
    burst = operation("get_profiles").limits.burst
    statuses = [client.get("/api/profiles").status_code for _ in range(burst + 3)]
    assert statuses == [200] * burst + [429] * 3
    throttled = client.get("/api/profiles")
    assert throttled.headers["Retry-After"] == "1"
    assert "RateLimit-Remaining" not in throttled.headers
    error = throttled.json()["errors"][0]
    assert error["code"] == "throttled"
    assert error["title"] == "Request was throttled."
    assert error["detail"] == "Request was throttled. Expected available in 1 second."
    assert error["source"] == {"pointer": "/data"}
    clock.now += 1
    assert client.get("/api/profiles").status_code == 200


def test_limits_are_per_operation_bucket():
    client = client_for(Sandbox(clock=Clock()))
    assert client.get("/api/accounts").status_code == 200
    assert client.get("/api/accounts").status_code == 429
    assert client.get("/api/profiles").status_code == 200


def test_steady_window_is_enforced_and_reported():
    clock = Clock()
    client = client_for(Sandbox(clock=clock))
    limits = operation("get_accounts").limits  # 1/s, 15/m
    for sent in range(limits.steady):
        response = client.get("/api/accounts")
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == str(limits.steady)
        assert response.headers["RateLimit-Remaining"] == str(limits.steady - sent - 1)
        assert response.headers["RateLimit-Reset"] == str(60 - sent)
        clock.now += 1
    throttled = client.get("/api/accounts")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == str(60 - limits.steady)
    clock.now = START + 60
    assert client.get("/api/accounts").status_code == 200


def test_time_scale_divides_both_windows():
    clock = Clock()
    client = client_for(Sandbox(clock=clock, time_scale=60))
    assert client.get("/api/accounts").status_code == 200
    throttled = client.get("/api/accounts")
    assert throttled.status_code == 429
    assert float(throttled.headers["Retry-After"]) == pytest.approx(1 / 60, abs=0.001)
    tick = 1 / 60 + 1e-6  # one scaled second, clear of float rounding at window edges
    for _ in range(14):
        clock.now += tick
        assert client.get("/api/accounts").status_code == 200
    clock.now += tick
    steady = client.get("/api/accounts")
    assert steady.status_code == 429
    assert float(steady.headers["Retry-After"]) == pytest.approx(0.75, abs=0.002)
    clock.now = START + 1
    assert client.get("/api/accounts").status_code == 200


def test_conditional_limits_count_as_well():
    clock = Clock()
    client = client_for(Sandbox(clock=clock))
    made = client.post(
        "/api/profiles",
        json={"data": {"type": "profile", "attributes": {"email": "a@example.com"}}},
    )
    profile_id = made.json()["data"]["id"]
    first = client.get(f"/api/profiles/{profile_id}", params={"include": "lists"})
    assert first.status_code == 200
    limited = client.get(f"/api/profiles/{profile_id}", params={"include": "lists"})
    assert limited.status_code == 429
    assert client.get(f"/api/profiles/{profile_id}").status_code == 200


def test_rate_limits_can_be_switched_off():
    client = client_for(Sandbox(rate_limits=False))
    assert {client.get("/api/accounts").status_code for _ in range(20)} == {200}


def test_time_scale_must_be_positive():
    with pytest.raises(ValueError, match="time_scale"):
        Sandbox(time_scale=0)
