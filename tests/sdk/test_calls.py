"""Calls through ``client.sdk.*`` reach httpx (mocked by respx), and every failure is ours."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
import respx

from klaviyo_kit import KlaviyoClient, KlaviyoSettings
from klaviyo_kit.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    KlaviyoError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)

KEY = "pk_" + "c3" * 17
BASE = "https://a.klaviyo.com"


def single_shot(**overrides: object) -> KlaviyoSettings:
    """Settings for tests about one exchange: no retries, no pacing."""
    base: dict[str, object] = {
        "private_key": KEY,
        "retry": {"attempts": 1},
        "rate_limit": {"enabled": False},
    }
    return KlaviyoSettings.model_validate(base | overrides)


@pytest.fixture
def client():
    with KlaviyoClient(single_shot()) as c:
        yield c


@pytest.fixture
def no_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def jsonapi_error(status: int, code: str, detail: str, **meta: object) -> dict[str, object]:
    return {
        "errors": [
            {
                "id": "err-1",
                "status": status,
                "code": code,
                "title": "t",
                "detail": detail,
                "source": {"pointer": "/data"},
                "meta": meta,
            }
        ]
    }


@respx.mock
def test_get_profiles_reaches_httpx_with_auth_and_revision(client, no_sockets):
    route = respx.get(f"{BASE}/api/profiles").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [{"type": "profile", "id": "01P", "attributes": {"email": "a@b.co"}}],
                "links": {"self": f"{BASE}/api/profiles", "next": None},
            },
        )
    )
    result = client.sdk.profiles.get_profiles(page_size=5, filter='equals(email,"a@b.co")')
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Klaviyo-API-Key {KEY}"
    assert request.headers["revision"] == "2026-10-15"
    assert request.headers["Accept"] == "application/vnd.api+json"
    assert "klaviyo-kit/" in request.headers["User-Agent"]
    assert request.url.params["page[size]"] == "5"
    assert request.url.params["filter"] == 'equals(email,"a@b.co")'
    assert isinstance(result, dict)
    assert result["data"][0]["attributes"]["email"] == "a@b.co"


@respx.mock
def test_post_sends_json_body_and_empty_202_reads_as_nothing(client):
    route = respx.post(f"{BASE}/api/events").mock(return_value=httpx.Response(202))
    body = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {"value": 1},
                "metric": {"data": {"type": "metric", "attributes": {"name": "Signed Up"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}},
                "unique_id": "u-1",
            },
        }
    }
    assert client.sdk.events.create_event(body) is None
    sent = json.loads(route.calls.last.request.content)
    assert sent["data"]["attributes"]["unique_id"] == "u-1"
    assert route.calls.last.request.headers["Content-Type"] == "application/vnd.api+json"


@respx.mock
def test_delete_with_204(client):
    respx.delete(f"{BASE}/api/lists/L1").mock(return_value=httpx.Response(204))
    assert client.sdk.lists.delete_list("L1") is None


@respx.mock
def test_revision_and_base_url_come_from_settings():
    settings = KlaviyoSettings(
        private_key=KEY, base_url="http://kl.test:8080", revision="2026-07-15"
    )
    route = respx.get("http://kl.test:8080/api/accounts").mock(
        return_value=httpx.Response(200, json={"data": [], "links": {"self": "x"}})
    )
    with KlaviyoClient(settings) as c:
        c.sdk.accounts.get_accounts()
    assert route.calls.last.request.headers["revision"] == "2026-07-15"


@pytest.mark.parametrize(
    ("status", "payload", "headers", "cls"),
    [
        (400, jsonapi_error(400, "invalid", "bad filter"), {}, BadRequestError),
        (401, jsonapi_error(401, "not_authenticated", "no key"), {}, AuthenticationError),
        (404, jsonapi_error(404, "not_found", "nope"), {}, NotFoundError),
        (
            409,
            jsonapi_error(409, "duplicate_profile", "dup", duplicate_profile_id="01D"),
            {},
            ConflictError,
        ),
        (
            429,
            jsonapi_error(429, "throttled", "Request was throttled."),
            {"Retry-After": "2"},
            RateLimitError,
        ),
        (
            429,
            jsonapi_error(429, "throttled", "Expected available in 4 seconds."),
            {},
            RateLimitError,
        ),
        (500, jsonapi_error(500, "error", "boom"), {}, ServerError),
        (502, None, {}, ServerError),
        (503, jsonapi_error(503, "unavailable", "later"), {}, ServerError),
        (504, None, {}, ServerError),
        (524, None, {}, ServerError),
    ],
)
@respx.mock
def test_error_statuses_become_kit_errors(client, status, payload, headers, cls):
    if payload is not None:
        response = httpx.Response(status, json=payload, headers=headers)
    else:
        response = httpx.Response(status, text="<html>gateway</html>", headers=headers)
    respx.get(f"{BASE}/api/profiles").mock(return_value=response)
    with pytest.raises(cls) as info:
        client.sdk.profiles.get_profiles()
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.operation == "get_profiles"
    assert type(err.__cause__).__module__.startswith("openapi_client")
    if status == 409:
        assert isinstance(err, ConflictError)
        assert err.duplicate_profile_id == "01D"
    if status == 429:
        assert isinstance(err, RateLimitError)
        assert err.retry_after == (2.0 if headers else 4.0)
    assert KEY not in str(err)


@respx.mock
def test_cloudflare_html_403(client):
    respx.get(f"{BASE}/api/profiles").mock(
        return_value=httpx.Response(
            403,
            text="<!DOCTYPE html><html><title>Just a moment...</title></html>",
            headers={"Content-Type": "text/html", "cf-mitigated": "challenge", "cf-ray": "abc"},
        )
    )
    with pytest.raises(PermissionDeniedError) as info:
        client.sdk.profiles.get_profiles()
    assert info.value.code is None
    assert "Cloudflare" in str(info.value)


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), ConnectError),
        (httpx.ConnectTimeout("slow"), ConnectError),
        (httpx.PoolTimeout("busy"), ConnectError),
        (httpx.ReadTimeout("slow"), RequestTimeoutError),
        (httpx.WriteTimeout("slow"), RequestTimeoutError),
        (httpx.RemoteProtocolError("dropped"), TransportError),
        (httpx.ReadError("reset"), TransportError),
    ],
)
@respx.mock
def test_transport_errors_become_kit_errors(client, exc, cls):
    respx.get(f"{BASE}/api/profiles").mock(side_effect=exc)
    with pytest.raises(cls) as info:
        client.sdk.profiles.get_profiles()
    assert type(info.value) is cls
    assert info.value.retryable
    assert info.value.__cause__ is exc
    assert "get_profiles" in str(info.value)


@respx.mock
def test_no_sdk_or_httpx_exception_escapes(client):
    responses = [
        httpx.Response(s, text="x") for s in (400, 401, 403, 404, 405, 409, 410, 415, 429, 500, 503)
    ]
    respx.get(f"{BASE}/api/metrics").mock(side_effect=responses)
    for _ in responses:
        with pytest.raises(KlaviyoError):
            client.sdk.metrics.get_metrics()


def test_caller_mistakes_stay_value_errors(client):
    with pytest.raises(ValueError, match="page_size"):
        client.sdk.profiles.get_profiles(page_size=1000)


@respx.mock
def test_per_call_timeout_is_passed_to_httpx(client):
    route = respx.get(f"{BASE}/api/accounts").mock(
        return_value=httpx.Response(200, json={"data": [], "links": {"self": "x"}})
    )
    client.sdk.accounts.get_accounts(_request_timeout=(1.5, 7.0))
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 1.5, "read": 7.0, "write": 7.0, "pool": 7.0}
    client.sdk.accounts.get_accounts()
    default = route.calls.last.request.extensions["timeout"]
    assert default == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}


@respx.mock
def test_page_cursor_accepts_full_next_url(client):
    route = respx.get(f"{BASE}/api/profiles").mock(
        return_value=httpx.Response(200, json={"data": [], "links": {"self": "x"}})
    )
    client.sdk.profiles.get_profiles(
        page_cursor=f"{BASE}/api/profiles?page%5Bcursor%5D=bmV4dA%3D%3D&page%5Bsize%5D=20"
    )
    assert route.calls.last.request.url.params["page[cursor]"] == "bmV4dA=="


@respx.mock
def test_a_garbled_response_body_becomes_a_kit_error(client):
    # A gzip header over a body that is not gzip: httpx raises DecodingError, no TransportError.
    respx.get(f"{BASE}/api/profiles").mock(
        return_value=httpx.Response(
            200,
            stream=httpx.ByteStream(b"not gzip"),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/vnd.api+json"},
        )
    )
    with pytest.raises(TransportError) as info:
        client.sdk.profiles.get_profiles()
    assert type(info.value) is TransportError  # sent and answered: not a ConnectError
    assert isinstance(info.value.__cause__, httpx.DecodingError)
    assert "get_profiles" in str(info.value)


@pytest.mark.parametrize(
    "reason",
    [
        "Failed to parse `2026-13-45` as datetime object",
        "Cannot prepare a request message for provided arguments.",
    ],
)
def test_sdk_status_0_errors_are_not_connect_errors(reason):
    # The SDK raises ApiException(status=0) after Klaviyo answered (a value it cannot parse)
    # or before anything is sent (a body it cannot encode): never "not sent, safe to retry".
    from openapi_client.exceptions import ApiException

    from klaviyo_kit.operations import operation
    from klaviyo_kit.resilience import CircuitBreaker, RetryPolicy
    from klaviyo_kit.sdk import translate_errors

    with pytest.raises(KlaviyoError) as info, translate_errors("create_profile"):
        raise ApiException(status=0, reason=reason)
    err = info.value
    assert not isinstance(err, TransportError)
    assert not err.retryable
    assert "create_profile" in str(err)
    assert reason.split("`")[0] in str(err)
    assert isinstance(err.__cause__, ApiException)
    assert not RetryPolicy().should_retry(err, operation("create_profile"))

    def fail() -> None:
        raise err

    breaker = CircuitBreaker(failure_threshold=1)
    with pytest.raises(KlaviyoError):
        breaker.call(fail)
    assert breaker.state == "closed"
